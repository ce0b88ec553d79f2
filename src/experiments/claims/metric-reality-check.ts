/**
 * Dashboard row of `metric-reality-check`: how far the best loss's test MAP@R
 * (separated: each fold model alone, averaged) is above the better classic
 * loss (contrastive or triplet), each loss at its searched parameters, against
 * the paper's finding that 14 losses span about 3 MAP@R points with
 * contrastive within ~1. The intervals are over the reproductions (runs from
 * before the protocol: over seeds).
 */
import { registerClaims, storedCi, type Ci } from '../claims.js';

/** The paper's spread of MAP@R across its 14 losses (CUB validation folds: 0.418–0.448), in MAP@R units. */
const PAPER_SPREAD = 0.03;
const CLASSIC = ['contrastive', 'triplet'];

registerClaims('metric-reality-check', {
  headline: 'Newer metric losses are at most marginally better than contrastive and triplet under equal terms (MAP@R).',
  paperFigure: () => 'MAP@R spread ~3 pts, contrastive ~1 pt off best (CUB)',
  assess(run, store) {
    const m = store.finalMetrics(run.id);
    const losses = (run.config.losses as string[] | undefined) ?? [];
    const rows = losses.map((loss) => ({ loss, mapr: storedCi(m, `${loss}_mean_average_precision_at_r`), p1: storedCi(m, `${loss}_precision_at_1`) })).filter((r) => Number.isFinite(r.mapr.mean));
    if (rows.length < 2) throw new Error('fewer than two losses have a stored MAP@R');
    const best = rows.reduce((a, b) => (b.mapr.mean > a.mapr.mean ? b : a));
    const classics = rows.filter((r) => CLASSIC.includes(r.loss));
    const pts = (v: number) => (100 * v).toFixed(1);
    const ci = (c: Ci) => `${pts(c.mean)} ± ${pts(c.halfWidth)}`;
    if (classics.length === 0) return { measured: `best MAP@R ${best.loss} ${ci(best.mapr)}`, verdict: 'pipeline check only', why: 'neither contrastive nor triplet was run, so there is nothing classic to compare with' };
    const classic = classics.reduce((a, b) => (b.mapr.mean > a.mapr.mean ? b : a));
    const gap = best.mapr.mean - classic.mapr.mean;
    const overlap = classic.mapr.mean + classic.mapr.halfWidth >= best.mapr.mean - best.mapr.halfWidth;
    const resolution = Math.max(best.mapr.halfWidth, classic.mapr.halfWidth);
    const fine = Number.isFinite(resolution) && resolution < PAPER_SPREAD;
    const byP1 = rows.reduce((a, b) => (b.p1.mean > a.p1.mean ? b : a));
    const repeats = run.config.reproductions !== undefined ? `${run.config.reproductions as number} reproductions` : `${run.config.seeds ?? '?'} seeds`;
    const tuned = typeof run.config.trials === 'number' ? (run.config.trials > 0 ? `, each loss tuned by ${run.config.trials} search trials` : ', every loss at its library defaults') : '';
    const findings = [
      `Test MAP@R: best ${best.loss} ${ci(best.mapr)}, best classic ${classic.loss} ${ci(classic.mapr)} (points, 95% CI over ${repeats}${tuned}).`,
      byP1.loss === best.loss ? 'P@1 and MAP@R agree on the best loss.' : `P@1 ranks ${byP1.loss} first, MAP@R ranks ${best.loss} first: the metrics disagree, as the paper warns.`,
    ];
    const cat = rows.map((r) => ({ loss: r.loss, mapr: storedCi(m, `${r.loss}_concat_mean_average_precision_at_r`) })).filter((r) => Number.isFinite(r.mapr.mean));
    if (cat.length === rows.length) {
      const bestCat = cat.reduce((a, b) => (b.mapr.mean > a.mapr.mean ? b : a));
      const classicCat = cat.filter((r) => CLASSIC.includes(r.loss)).reduce((a, b) => (b.mapr.mean > a.mapr.mean ? b : a));
      findings.push(`Concatenated embeddings: best ${bestCat.loss} ${ci(bestCat.mapr)}, best classic ${classicCat.loss} ${ci(classicCat.mapr)}.`);
    }
    const measured = best === classic ? `${classic.loss} is best: MAP@R ${ci(classic.mapr)}` : `MAP@R ${best.loss} − ${classic.loss}: ${pts(gap)} pts (${ci(best.mapr)} vs ${ci(classic.mapr)})`;
    // Intervals wider than the paper's whole spread cannot tell "marginal" from "large".
    if (!fine && run.preset === 'quick') return { measured, verdict: 'pipeline check only', why: `quick run: intervals of ±${pts(resolution)} pts are wider than the paper's ${pts(PAPER_SPREAD)}-point spread`, findings };
    const marginal = gap <= 0 || overlap || gap <= PAPER_SPREAD;
    if (marginal && fine) return { measured, verdict: 'reproduced', why: gap <= 0 ? `a classic loss (${classic.loss}) is best` : `the best loss is ${pts(gap)} pts ahead of ${classic.loss}${overlap ? ', within the intervals' : ''}, inside the paper's ${pts(PAPER_SPREAD)}-point spread`, findings };
    if (marginal) return { measured, verdict: 'partly', why: `the gap (${pts(gap)} pts) is small, but the intervals (±${pts(resolution)}) are wider than the paper's ${pts(PAPER_SPREAD)}-point spread`, findings };
    return { measured, verdict: gap <= 2 * PAPER_SPREAD ? 'partly' : 'not reproduced', why: `${best.loss} is ${pts(gap)} MAP@R pts ahead of ${classic.loss}, beyond both intervals and the paper's ${pts(PAPER_SPREAD)}-point spread`, findings };
  },
});
