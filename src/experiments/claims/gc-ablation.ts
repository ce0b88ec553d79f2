/** Dashboard row of `gc-ablation`: GC − no-GC test accuracy, paired by seed, for SGD-momentum and Adam. */
import { combineVerdict, registerClaims, resolved, signedCi, storedCi } from '../claims.js';

const FAMILIES = [
  ['sgdm', 'SGD-M'],
  ['adam', 'Adam'],
] as const;

registerClaims('gc-ablation', {
  headline: 'Gradient Centralization raises test accuracy (SGD-momentum and Adam, paired seeds).',
  paperFigure: () => 'ImageNet top-1 +0.5 to +1.2 pts; fine-grained +1.2 to +2.1',
  assess(run, store) {
    const m = store.finalMetrics(run.id);
    const diffs = FAMILIES.map(([id, label]) => ({ id, label, ci: storedCi(m, `${id}_gc_diff_mean`, `${id}_gc_diff_ci95`), effect: String(m[`${id}_gc_effect`] ?? '') }));
    if (diffs.some((d) => !Number.isFinite(d.ci.mean))) throw new Error('the GC − no-GC differences are missing');
    const helped = diffs.filter((d) => d.effect === 'helped');
    const hurt = diffs.filter((d) => d.effect === 'hurt');
    // A quick run whose intervals all include 0 has not trained long enough to tell GC apart.
    const signal = run.preset !== 'quick' || diffs.some((d) => resolved(d.ci));
    const verdict = combineVerdict(diffs.map((d) => d.effect === 'helped'), signal);
    const list = (ds: typeof diffs) => ds.map((d) => d.label).join(' and ');
    const why = !signal
      ? `quick run (${m.seeds} seeds, ${m.train_size} images): every paired interval includes 0`
      : helped.length === diffs.length
        ? 'GC helped with both optimizers: both paired intervals are above 0'
        : helped.length > 0
          ? `GC helped with ${list(helped)} only${hurt.length ? `, hurt with ${list(hurt)}` : ''}`
          : hurt.length > 0
            ? `GC hurt with ${list(hurt)}; no interval above 0`
            : 'no difference detected: every paired interval includes 0';
    return {
      measured: `GC − no GC: ${diffs.map((d) => `${d.label} ${signedCi(d.ci, 2, 100)}`).join(', ')} pts`,
      verdict,
      why,
      findings: diffs.map((d) => `${d.label}: GC ${d.effect === 'none' ? 'made no detectable difference' : d.effect} (${signedCi(d.ci, 2, 100)} accuracy points, ${m.seeds} paired seeds).`),
    };
  },
});
