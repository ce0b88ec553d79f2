/**
 * Dashboard row of `hessian-penalty`: MIG and Hessian diagonal-ness of the
 * penalised arms against the baseline of the same seed, the FD cost of
 * fine-tuning against training from scratch, and discovered directions against
 * random ones, each from a paired 95% interval over seeds.
 */
import fs from 'node:fs';
import { combineVerdict, pairedBySeed, registerClaims, resolved, signedCi, storedNumber, type Ci } from '../claims.js';
import { intervalDirection } from '../intervals.js';

interface Arm {
  arm: string;
  seed: number;
  fd: number | null;
  mig: number | null;
  diagonalFraction: number | null;
}
interface Direction {
  method: string;
  seed: number;
  meanPurity: number | null;
}


/** a − b over the seeds both have, with its interval. */
registerClaims('hessian-penalty', {
  headline: 'The Hessian penalty makes latent coordinates control one factor each (higher MIG, more diagonal Hessian).',
  paperFigure: () => 'qualitative, CLEVR (Tables 1–2 not retrieved)',
  assess(run, store) {
    const artifact = store.artifacts(run.id).find((a) => a.name === 'results');
    if (!artifact || !fs.existsSync(artifact.path)) throw new Error('results.json is missing');
    const stored = JSON.parse(fs.readFileSync(artifact.path, 'utf8')) as { done?: { arms?: Arm[]; directions?: Direction[] } };
    const arms = stored.done?.arms ?? [];
    const directions = stored.done?.directions ?? [];
    const of = (name: string) => arms.filter((a) => a.arm === name);
    const baseline = of('baseline');
    if (baseline.length === 0) throw new Error('no baseline arm is stored');
    const seeds = new Set(arms.map((a) => a.seed)).size;
    const hp = ['hpFineTune', 'hpScratch'].filter((a) => of(a).length > 0);
    const mig = hp.map((a) => ({ arm: a, ci: pairedBySeed(of(a), baseline, (x) => storedNumber(x.mig)) }));
    const diag = hp.map((a) => ({ arm: a, ci: pairedBySeed(of(a), baseline, (x) => storedNumber(x.diagonalFraction)) }));
    const fdCost = of('hpScratch').length && of('hpFineTune').length ? pairedBySeed(of('hpScratch'), of('hpFineTune'), (x) => storedNumber(x.fd)) : undefined;
    const dirs = directions.filter((d) => d.method === 'discovered');
    const purity = dirs.length ? pairedBySeed(dirs, directions.filter((d) => d.method === 'random'), (x) => storedNumber(x.meanPurity)) : undefined;
    const up = (c: Ci | undefined) => c !== undefined && intervalDirection(c) === 'up';
    const parts = [mig.some((d) => up(d.ci)), diag.some((d) => up(d.ci))];
    if (fdCost) parts.push(up(fdCost));
    if (purity && Number.isFinite(purity.mean)) parts.push(up(purity));
    const all = [...mig.map((d) => d.ci), ...diag.map((d) => d.ci), ...(fdCost ? [fdCost] : []), ...(purity ? [purity] : [])];
    const signal = seeds >= 2 && (run.preset !== 'quick' || all.some(resolved));
    const verdict = hp.length === 0 ? 'pipeline check only' : combineVerdict(parts, signal);
    const label: Record<string, string> = { hpFineTune: 'HP fine-tuned', hpScratch: 'HP scratch' };
    const main = hp[0];
    const measured = main ? `${label[main]} − baseline: MIG ${signedCi(mig[0]!.ci, 3)}, diagonal fraction ${signedCi(diag[0]!.ci, 3)}` : 'no penalised arm';
    const why =
      seeds < 2
        ? `${seeds} seed: no interval, so no verdict (the quick preset checks the pipeline)`
        : !signal
          ? 'quick run: no paired interval excludes 0'
          : `MIG ${mig.some((d) => up(d.ci)) ? 'raised' : 'not clearly raised'}, diagonal fraction ${diag.some((d) => up(d.ci)) ? 'raised' : 'not clearly raised'}${fdCost ? `, fine-tuning ${up(fdCost) ? 'costs less FD' : 'not clearly cheaper'} than scratch` : ''}${purity ? `, discovered directions ${up(purity) ? 'purer' : 'not clearly purer'} than random` : ''}`;
    const findings = [
      ...mig.map((d) => `${label[d.arm]} − baseline MIG: ${signedCi(d.ci, 3)} (${d.ci.n} paired seeds).`),
      ...diag.map((d) => `${label[d.arm]} − baseline Hessian diagonal fraction: ${signedCi(d.ci, 3)}.`),
      ...(fdCost ? [`FD scratch − fine-tuned: ${signedCi(fdCost, 2)} (positive: fine-tuning costs less quality).`] : []),
      ...(purity ? [`Direction purity, discovered − random: ${signedCi(purity, 3)}.`] : []),
    ];
    return { measured, verdict, why, findings };
  },
});
