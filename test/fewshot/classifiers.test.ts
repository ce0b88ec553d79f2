import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createRng, tf } from '../../src/engine/index.js';
import {
  classifyEpisode,
  fitLogisticRegression,
  l2NormalizeRows,
  logisticObjective,
  predictLogistic,
  prototypes,
  toFeatureMatrix,
} from '../../src/fewshot/index.js';
import { SKLEARN_CASES, type SklearnCase } from './sklearn-fixture.js';
import { assertClose, throwsInput } from '../helpers.js';

const cases = SKLEARN_CASES;

function randomMatrix(rows: number, cols: number, seed: number): number[][] {
  const rng = createRng(seed);
  return Array.from({ length: rows }, () => Array.from({ length: cols }, () => rng.normal()));
}

test('logistic regression: the gradient is ~0 at the solution and the objective is below nearby points', () => {
  const x = l2NormalizeRows(toFeatureMatrix(randomMatrix(25, 16, 1)));
  const y = Int32Array.from({ length: 25 }, (_, i) => i % 5);
  const model = fitLogisticRegression(x, y, 5);
  assert.ok(model.converged, `not converged: ${model.gradientNorm}`);
  const theta = Float64Array.from([...model.weights, ...model.bias]);
  const grad = new Float64Array(theta.length);
  const f = logisticObjective(theta, x, y, 5, 1, grad);
  assert.ok(Math.max(...grad.map(Math.abs)) < 1e-6);
  assert.ok(Math.abs(f - model.objective) < 1e-12);
  const rng = createRng(2);
  for (let t = 0; t < 20; t++) {
    const moved = theta.map((v) => v + 1e-3 * rng.normal());
    assert.ok(logisticObjective(moved, x, y, 5, 1, new Float64Array(theta.length)) >= f);
  }
});

test('logistic regression with more features than rows (5-way 5-shot, 640-d): solved in the rows\' span, optimal in the full space', () => {
  const x = l2NormalizeRows(toFeatureMatrix(randomMatrix(25, 640, 5)));
  // Two duplicated rows: the span has rank 23, and the basis must skip the repeats.
  x.data.copyWithin(24 * 640, 3 * 640, 4 * 640);
  x.data.copyWithin(23 * 640, 7 * 640, 8 * 640);
  const y = Int32Array.from({ length: 25 }, (_, i) => i % 5);
  y[24] = y[3] as number;
  y[23] = y[7] as number;
  const model = fitLogisticRegression(x, y, 5);
  assert.ok(model.converged, `not converged: ${model.gradientNorm}`);
  const theta = Float64Array.from([...model.weights, ...model.bias]);
  const grad = new Float64Array(theta.length);
  const f = logisticObjective(theta, x, y, 5, 1, grad);
  assert.ok(Math.max(...grad.map(Math.abs)) <= 1e-6, `full-space gradient ${Math.max(...grad.map(Math.abs))}`);
  assert.ok(Math.abs(f - model.objective) < 1e-10);
  const rng = createRng(6);
  for (let t = 0; t < 20; t++) {
    const moved = theta.map((v) => v + 1e-3 * rng.normal());
    assert.ok(logisticObjective(moved, x, y, 5, 1, new Float64Array(theta.length)) >= f);
  }
});

test('logistic objective: the analytic gradient equals central finite differences', () => {
  const x = toFeatureMatrix(randomMatrix(7, 3, 3));
  const y = Int32Array.from([0, 1, 2, 0, 1, 2, 2]);
  const rng = createRng(4);
  const theta = Float64Array.from({ length: 12 }, () => rng.normal());
  const grad = new Float64Array(12);
  logisticObjective(theta, x, y, 3, 2.5, grad);
  const fd = theta.map((_, i) => {
    const h = 1e-6;
    const p = theta.slice();
    const m = theta.slice();
    p[i] = (p[i] as number) + h;
    m[i] = (m[i] as number) - h;
    const g = new Float64Array(12);
    return (logisticObjective(p, x, y, 3, 2.5, g) - logisticObjective(m, x, y, 3, 2.5, g)) / (2 * h);
  });
  assertClose(grad, fd, 1e-6, 'gradient');
});

test('logistic regression: hand-derived one-dimensional two-class optimum', () => {
  // x = ±1 with labels 0 / 1, C = 1. By symmetry b₀ = b₁ and w₁ = −w₀ = w; with
  // m = z₁ − z₀ = 2w·x, stationarity of ½(w₀² + w₁²) + Σ log(1 + e^{−2w}) gives
  // w = 2σ(−2w), i.e. w solves w = 2 / (1 + e^{2w}). Solve that scalar equation by bisection.
  let lo = 0;
  let hi = 2;
  for (let i = 0; i < 200; i++) {
    const mid = (lo + hi) / 2;
    if (mid - 2 / (1 + Math.exp(2 * mid)) < 0) lo = mid;
    else hi = mid;
  }
  const w = (lo + hi) / 2;
  const model = fitLogisticRegression({ data: Float64Array.from([-1, 1]), rows: 2, cols: 1 }, Int32Array.from([0, 1]), 2, { tolerance: 1e-10 });
  assertClose(model.weights, [-w, w], 1e-8, 'weights');
  assert.ok(Math.abs((model.bias[0] as number) - (model.bias[1] as number)) < 1e-8);
});

test('logistic regression matches scikit-learn (C=1, lbfgs, multinomial) on separable, overlapping and random episodes', () => {
  let agree = 0;
  let total = 0;
  for (const c of cases) {
    const result = classifyEpisode(c.support, c.supportLabels, c.query, { normalize: c.normalize, tolerance: 1e-9 });
    // Coefficients of the same objective, both solved tightly: equal up to the
    // bias's free constant shift, which softmax ignores, so compare probabilities.
    // sklearn's L-BFGS-B also stops on a relative objective change (ftol), so its
    // "tight" solution is good to ~1e-5; ours must be at least as low on the objective.
    (result.probabilities ?? []).forEach((p, i) => assertClose(p, c.tightProbabilities[i] as number[], 1e-4, `${c.name} query ${i}`));
    const x = toFeatureMatrix(c.support);
    const xs = c.normalize ? l2NormalizeRows(x) : x;
    const y = Int32Array.from(c.supportLabels);
    const model = fitLogisticRegression(xs, y, c.tightCoef.length === 1 ? 2 : c.tightCoef.length, { tolerance: 1e-9 });
    if (c.tightCoef.length > 1) {
      assertClose(model.weights, c.tightCoef.flat(), 1e-4, `${c.name} weights`);
      const theirs = Float64Array.from([...c.tightCoef.flat(), ...c.tightIntercept]);
      const g = new Float64Array(theirs.length);
      assert.ok(model.objective <= logisticObjective(theirs, xs, y, c.tightCoef.length, 1, g) + 1e-12, `${c.name}: our objective is above sklearn's`);
    }
    for (let i = 0; i < c.predictions.length; i++, total++) if (result.predictions[i] === c.predictions[i]) agree++;
    // With the library's default tolerance too.
    const def = classifyEpisode(c.support, c.supportLabels, c.query, { normalize: c.normalize });
    assert.deepEqual(Array.from(def.predictions), c.tightPredictions, c.name);
  }
  assert.ok(agree / total >= 0.99, `agreement ${agree}/${total}`);
});

test('two-class: sklearn\'s single coef row is class 1\'s row of our symmetric two-row solution', () => {
  const c = cases.find((k) => k.name === 'separable-2class') as SklearnCase;
  const model = fitLogisticRegression(toFeatureMatrix(c.support), Int32Array.from(c.supportLabels), 2, { tolerance: 1e-10 });
  // sklearn reports one row for binary problems even with multinomial: class 1's row
  // of the two-row solution, whose rows are opposite (the penalty makes w₀ = −w₁).
  assertClose(model.weights.slice(2), c.tightCoef[0] as number[], 1e-5, 'binary coefficients');
  assertClose(model.weights.slice(0, 2), (c.tightCoef[0] as number[]).map((v) => -v), 1e-5, 'opposite rows');
  assertClose([((model.bias[1] as number) - (model.bias[0] as number)) / 2], c.tightIntercept, 1e-5, 'binary intercept');
});

test('nearest neighbour, cosine nearest neighbour and prototypes on hand-worked points', () => {
  const support = [
    [0, 0],
    [4, 0],
    [10, 10],
    [0, 3],
  ];
  const labels = [0, 0, 1, 1];
  const query = [
    [0, 2], // nearest (0,3) → 1 for NN; prototypes (2,0) and (5,6.5): 2² + 2² = 8 vs 25 + 20.25 → 0
    [9, 9],
  ];
  assert.deepEqual(Array.from(classifyEpisode(support, labels, query, { classifier: 'nn', normalize: false }).predictions), [1, 1]);
  const proto = classifyEpisode(support, labels, query, { classifier: 'proto', normalize: false });
  assert.deepEqual(Array.from(proto.predictions), [0, 1]);
  // softmax(−8, −45.25) for the first query.
  const p0 = 1 / (1 + Math.exp(-45.25 + 8));
  assertClose(proto.probabilities?.[0] ?? [], [p0, 1 - p0], 1e-12, 'proto probabilities');
  assertClose(prototypes(toFeatureMatrix(support), Int32Array.from(labels), 2).data, [2, 0, 5, 6.5], 0, 'prototypes');
  // Cosine: (1, 0.1) points along (4, 0) and (0,0) has no direction (normalises to 0); (1, 1.2) is closer in angle to (10, 10).
  const cos = classifyEpisode([[4, 0], [10, 10], [0, 3]], [0, 1, 1], [[100, 10], [1, 1.2], [0.1, 5]], { classifier: 'cosine', normalize: false });
  assert.deepEqual(Array.from(cos.predictions), [0, 1, 1]);
});

test('L2 normalisation on by default changes what NN sees: direction, not scale', () => {
  // Raw: |(3,5)−(1,0)|² = 29 < |(3,5)−(0,40)|² = 1234 → class 0. Normalised: (0.51, 0.86) is nearer (0, 1) → class 1.
  const support = [[1, 0], [0, 40]];
  assert.deepEqual(Array.from(classifyEpisode(support, [0, 1], [[3, 5]], { classifier: 'nn', normalize: false }).predictions), [0]);
  assert.deepEqual(Array.from(classifyEpisode(support, [0, 1], [[3, 5]], { classifier: 'nn' }).predictions), [1]);
});

test('tensors and typed matrices are accepted; no tensors are left behind', () => {
  const before = tf.memory().numTensors;
  const s = tf.tensor2d([[1, 0], [0, 1]]);
  const q = tf.tensor2d([[2, 0.1]]);
  const r = classifyEpisode(s, Int32Array.from([0, 1]), q);
  tf.dispose([s, q]);
  assert.equal(tf.memory().numTensors, before);
  assert.deepEqual(Array.from(r.predictions), [0]);
  const m = predictLogistic(fitLogisticRegression({ data: Float32Array.from([1, 0, 0, 1]), rows: 2, cols: 2 } as never, Int32Array.from([0, 1]), 2), toFeatureMatrix({ data: [0, 3], rows: 1, cols: 2 }));
  assert.deepEqual(Array.from(m.predictions), [1]);
});

test('bad input: labels not covering 0..N−1, query of the wrong width, unknown classifier, non-finite values', () => {
  throwsInput(() => classifyEpisode([[1], [2], [3]], [0, 2, 2], [[1]]), 'supportLabels', 'no example of class 1');
  throwsInput(() => classifyEpisode([[1], [2]], [0, 0], [[1]]), 'supportLabels', 'at least two classes');
  throwsInput(() => classifyEpisode([[1], [2]], [0, 1, 1], [[1]]), 'supportLabels', 'one per support row');
  throwsInput(() => classifyEpisode([[1], [2]], [0, -1], [[1]]), 'supportLabels');
  throwsInput(() => classifyEpisode([[1, 2], [2, 3]], [0, 1], [[1, 2, 3]]), 'query', 'width 3', 'width 2');
  throwsInput(() => classifyEpisode([[1], [2]], [0, 1], [[1]], { classifier: 'svm' as never }), 'classifier', 'lr, nn, cosine, proto');
  throwsInput(() => classifyEpisode([[1], [Number.NaN]], [0, 1], [[1]]), 'support', 'finite');
  throwsInput(() => classifyEpisode([[1], [2]], [0, 1], [[1]], { C: 0 }), 'C', 'positive');
});
