import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createRng } from '../../src/engine/index.js';
import { studentT975 } from '../../src/experiments/gc-ablation.js';
import { evaluateEpisodes, meanConfidenceInterval, studentTCdf, studentTQuantile } from '../../src/fewshot/index.js';
import { assertClose, throwsInput } from '../helpers.js';

test('Student t quantiles equal SciPy\'s t.ppf (values printed by scipy 1.10 stats.t.ppf)', () => {
  const scipy975: Array<[number, number]> = [
    [1, 12.706204736432095],
    [2, 4.302652729911275],
    [5, 2.5705818366147395],
    [10, 2.2281388519649385],
    [30, 2.0422724563012373],
    [599, 1.963932248945269],
  ];
  for (const [df, t] of scipy975) assert.ok(Math.abs(studentTQuantile(0.975, df) - t) < 1e-9, `df ${df}: ${studentTQuantile(0.975, df)} vs ${t}`);
  assert.ok(Math.abs(studentTQuantile(0.995, 7) - 3.4994832973505026) < 1e-9);
  assert.ok(Math.abs(studentTCdf(1.5, 3.5) - 0.8910909064923275) < 1e-12);
  assert.ok(Math.abs(studentTQuantile(0.025, 10) + 2.2281388519649385) < 1e-9);
  // df = 1 is Cauchy: quantile tan(π(p − ½)); df = 2 has the closed form (2p−1)·√(2 / (4p(1−p))).
  assert.ok(Math.abs(studentTQuantile(0.9, 1) - Math.tan(Math.PI * 0.4)) < 1e-9);
  assert.ok(Math.abs(studentTQuantile(0.8, 2) - 0.6 * Math.sqrt(2 / (4 * 0.8 * 0.2))) < 1e-9);
  // The gc-ablation experiment's integer-df closed-form series agrees.
  for (const df of [3, 4, 17, 100]) assert.ok(Math.abs(studentTQuantile(0.975, df) - studentT975(df)) < 1e-6, `df ${df}`);
});

test('mean confidence interval: hand-computed on [0.2, 0.4, 0.6]', () => {
  // mean 0.4, s = 0.2, half = t(0.975, 2)·0.2/√3.
  const ci = meanConfidenceInterval([0.2, 0.4, 0.6]);
  assertClose([ci.mean, ci.std, ci.halfWidth], [0.4, 0.2, (4.302652729911275 * 0.2) / Math.sqrt(3)], 1e-9, 'ci');
  throwsInput(() => meanConfidenceInterval([1]), 'values', 'at least two');
});

/** Gaussian clusters: class c's rows are mean_c + noise·N(0, I). */
function clusters(classes: number, perClass: number, dim: number, noise: number, seed: number): { features: number[][]; labels: number[] } {
  const rng = createRng(seed);
  const means = Array.from({ length: classes }, () => Array.from({ length: dim }, () => rng.normal()));
  const features: number[][] = [];
  const labels: number[] = [];
  for (let c = 0; c < classes; c++) for (let i = 0; i < perClass; i++) {
    features.push((means[c] as number[]).map((m) => m + noise * rng.normal()));
    labels.push(c);
  }
  return { features, labels };
}

test('episodes: well-separated clusters are classified perfectly by every method; noise brings accuracy to chance', () => {
  const easy = clusters(12, 20, 8, 0.01, 1);
  const methods = (['lr', 'nn', 'cosine', 'proto'] as const).map((c) => ({ name: c, classifier: c }));
  const r = evaluateEpisodes(easy.features, easy.labels, { ways: 5, shots: 1, queries: 5, episodes: 20, methods });
  for (const m of methods) {
    assert.equal(r[m.name]?.mean, 1, m.name);
    assert.equal(r[m.name]?.ci95, 0, m.name);
  }
  // Labels independent of features: accuracy is 1/ways on average.
  const noise = clusters(10, 30, 6, 1, 2);
  const rng = createRng(3);
  const shuffled = rng.shuffle(noise.labels.slice());
  const chance = evaluateEpisodes(noise.features, shuffled, { ways: 5, shots: 5, queries: 10, episodes: 60, methods: [{ name: 'proto', classifier: 'proto' }] });
  const c = chance.proto as { mean: number; ci95: number };
  assert.ok(Math.abs(c.mean - 0.2) < c.ci95 + 0.03, `chance accuracy ${c.mean} ± ${c.ci95}`);
});

test('episodes: same seed same accuracies; the CI equals meanConfidenceInterval of the returned accuracies; 5-shot beats 1-shot', () => {
  const d = clusters(15, 25, 10, 1.2, 4);
  const a = evaluateEpisodes(d.features, d.labels, { shots: 1, episodes: 30, seed: 7 });
  const b = evaluateEpisodes(d.features, d.labels, { shots: 1, episodes: 30, seed: 7 });
  assert.deepEqual(a.lr?.accuracies, b.lr?.accuracies);
  const ci = meanConfidenceInterval(a.lr?.accuracies as Float64Array);
  assert.equal(a.lr?.ci95, ci.halfWidth);
  const five = evaluateEpisodes(d.features, d.labels, { shots: 5, episodes: 30, seed: 7 });
  assert.ok((five.lr?.mean as number) > (a.lr?.mean as number) + 0.05, `${five.lr?.mean} vs ${a.lr?.mean}`);
  // Each per-episode accuracy is a multiple of 1/(ways·queries).
  for (const v of a.lr?.accuracies ?? []) assert.ok(Math.abs(v * 75 - Math.round(v * 75)) < 1e-9);
});

test('episodes: support augmentation receives the support indices and its copies are used as the support', () => {
  const d = clusters(6, 10, 4, 0.5, 5);
  const seen: number[] = [];
  const r = evaluateEpisodes(d.features, d.labels, {
    ways: 3,
    shots: 2,
    queries: 3,
    episodes: 4,
    augmentSupport: {
      copies: 2,
      features(indices) {
        seen.push(...indices);
        // Copies of each support row: same features, so the classifier sees the support twice.
        return [...indices, ...indices].map((i) => d.features[i] as number[]);
      },
    },
  });
  assert.equal(seen.length, 4 * 3 * 2);
  assert.ok(Number.isFinite(r.lr?.mean));
  throwsInput(
    () => evaluateEpisodes(d.features, d.labels, { ways: 3, shots: 2, queries: 3, episodes: 2, augmentSupport: { copies: 2, features: (idx) => Array.from(idx, (i) => d.features[i] as number[]) } }),
    'augmentSupport.features',
  );
});

test('episodes: bad input names the argument', () => {
  const d = clusters(6, 10, 4, 0.5, 6);
  const small = d.labels.slice();
  small[59] = 6; // class 6 with one image
  throwsInput(() => evaluateEpisodes(d.features, small, { ways: 3, shots: 1, queries: 5 }), 'labels', 'class 6 with 1 images', 'shots + queries = 6');
  throwsInput(() => evaluateEpisodes(d.features, d.labels, { ways: 7, shots: 1, queries: 5 }), 'ways', 'at most 6');
  throwsInput(() => evaluateEpisodes(d.features, d.labels.slice(1)), 'labels', 'one per feature row');
  throwsInput(() => evaluateEpisodes(d.features, d.labels, { episodes: 1 }), 'episodes');
});
