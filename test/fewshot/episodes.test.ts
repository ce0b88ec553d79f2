import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createRng } from '../../src/engine/index.js';
import { evaluateEpisodes } from '../../src/fewshot/index.js';
import { meanConfidenceInterval } from '../../src/stats.js';
import { throwsInput } from '../helpers.js';

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
