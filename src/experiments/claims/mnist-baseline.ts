/** Dashboard row of `mnist-baseline`: held-out accuracy against the 95% target, with its Wilson interval. */
import { registerClaims } from '../claims.js';
import { wilsonInterval } from '../mnist-baseline.js';

/** The accuracy the baseline's claim promises. */
const TARGET = 0.95;

registerClaims('mnist-baseline', {
  headline: 'A small conv net classifies held-out embedded MNIST digits with accuracy above 95%.',
  paperFigure: () => 'no paper: target > 95%',
  assess(run, store) {
    const m = store.finalMetrics(run.id);
    const acc = Number(m.test_accuracy);
    const n = Number(m.test_size);
    if (!Number.isFinite(acc) || !(n > 0)) throw new Error('test_accuracy or test_size missing');
    const [lo, hi] = wilsonInterval(acc, n);
    const pct = (v: number) => (100 * v).toFixed(2);
    // The quick preset trains on all 8,000 digits: its accuracy is the real check, not a smoke test.
    const verdict = lo > TARGET ? 'reproduced' : acc > TARGET ? 'partly' : 'not reproduced';
    const why =
      verdict === 'reproduced'
        ? `the whole 95% interval (${pct(lo)}–${pct(hi)}%) is above the 95% target`
        : verdict === 'partly'
          ? `accuracy is above 95% but its interval reaches down to ${pct(lo)}%`
          : `accuracy ${pct(acc)}% is below the 95% target`;
    return { measured: `accuracy ${pct(acc)}% (${pct(lo)}–${pct(hi)}, n = ${n})`, verdict, why };
  },
});
