import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { createRng, initEngine, tf } from '../../src/engine/index.js';
import { hessianPenalty, hessianPenaltyPerLayer, rademacher } from '../../src/gan/hessian-penalty.js';
import { assertClose, throwsInput } from '../helpers.js';

/** The scalar value of a penalty, disposing it. */
function value(fn: () => tf.Scalar): number {
  const t = fn();
  const v = t.dataSync()[0] as number;
  t.dispose();
  return v;
}

/** Column i of a [n, d] latent batch. */
const col = (z: tf.Tensor, i: number) => tf.squeeze(tf.slice(z, [0, i], [-1, 1]), [1]);

describe('Hessian penalty', () => {
  let zs: tf.Tensor2D;
  before(async () => {
    await initEngine();
    const rng = createRng(1);
    zs = tf.tensor2d(Float32Array.from({ length: 4000 }, () => rng.normal()), [2000, 2]);
  });

  it('G = z₀·z₁: mean of the unbiased estimate is 4 (= 2·(H₀₁² + H₁₀²)); the biased one (÷k) is (k−1)/k of it', () => {
    const G = (z: tf.Tensor) => tf.mul(col(z, 0), col(z, 1));
    // Each element's estimate with k = 2 is (d₁ − d₂)²/2 ∈ {0, 8} with equal odds; 2000 elements: sd of the mean ≈ 0.09.
    const unbiased = value(() => hessianPenalty(G, zs, { reduction: 'mean', seed: 3 }));
    assert.ok(Math.abs(unbiased - 4) < 0.4, `unbiased ${unbiased}`);
    const biased = value(() => hessianPenalty(G, zs, { reduction: 'mean', seed: 3, variance: 'biased' }));
    assertClose([biased], [unbiased / 2], 1e-4, 'k = 2: biased = unbiased / 2');
    const k8 = value(() => hessianPenalty(G, zs, { k: 8, reduction: 'mean', seed: 4 }));
    const k8b = value(() => hessianPenalty(G, zs, { k: 8, reduction: 'mean', seed: 4, variance: 'biased' }));
    assert.ok(Math.abs(k8 - 4) < 0.15, `k = 8: ${k8}`);
    // float32 sums of 2000 elements differ in the last digits between backends.
    assertClose([k8b], [(k8 * 7) / 8], 1e-4, 'k = 8: biased = 7/8 unbiased');
    // Max reduction over a batch of k = 2 estimates: some element reaches the largest value, 8.
    assertClose([value(() => hessianPenalty(G, zs, { seed: 3 }))], [8], 1e-3, 'max');
  });

  it('a diagonal Hessian gives 0: separable G = Σ fᵢ(zᵢ), quadratic or not', () => {
    const G = (z: tf.Tensor) => tf.add(tf.add(tf.tanh(col(z, 0)), tf.pow(col(z, 1), 3)), tf.square(col(z, 0)));
    assert.ok(value(() => hessianPenalty(G, zs, { k: 4, seed: 5 })) < 1e-3, 'separable G has a non-zero penalty');
  });

  it('G = z₀²·z₁ gives 16·z₀² and 0.25·z₀²·z₁² gives (2·z₀·z₁)² (the reference tests), exact for k → many', () => {
    const z = tf.tensor2d(Array.from({ length: 400 }, (_, i) => (i % 2 === 0 ? 0.5 : 0.3)), [200, 2]);
    const cubic = value(() => hessianPenalty((x) => tf.mul(tf.square(col(x, 0)), col(x, 1)), z, { k: 32, reduction: 'mean', seed: 6 }));
    // vᵀHv = 2z₁ + 4z₀·v₀v₁: variance 16z₀² = 4 at z₀ = 0.5; 200 elements of k = 32 draws.
    assert.ok(Math.abs(cubic - 4) < 0.2, `z₀²z₁: ${cubic}`);
    const quartic = value(() => hessianPenalty((x) => tf.mul(0.25, tf.mul(tf.square(col(x, 0)), tf.square(col(x, 1)))), z, { k: 32, reduction: 'mean', seed: 7, epsilon: 0.01 }));
    const truth = (2 * 0.5 * 0.3) ** 2;
    assert.ok(Math.abs(quartic - truth) < 0.05 * truth + 1e-3, `0.25 z₀²z₁²: ${quartic} vs ${truth}`);
    z.dispose();
  });

  it('a quadratic form zᵀAz converges to 2·Σ_{i≠j} H_ij² (H = 2A) as samples grow', () => {
    const a = [
      [1, 0.5, -0.2],
      [0.5, -1, 0.3],
      [-0.2, 0.3, 2],
    ];
    let target = 0;
    for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) if (i !== j) target += 2 * (2 * a[i]![j]!) ** 2;
    const A = tf.tensor2d(a);
    const G = (z: tf.Tensor) => tf.sum(tf.mul(tf.matMul(z, A), z), 1);
    const rng = createRng(9);
    const z = tf.tensor2d(Float32Array.from({ length: 3 * 4000 }, () => rng.normal()), [4000, 3]);
    const errors = [2, 16].map((k) => Math.abs(value(() => hessianPenalty(G, z, { k, reduction: 'mean', seed: k })) - target) / target);
    assert.ok((errors[0] as number) < 0.15, `k = 2 relative error ${errors[0]}`);
    assert.ok((errors[1] as number) < 0.03, `k = 16 relative error ${errors[1]}`);
    tf.dispose([A, z]);
  });

  it('sums over a list of activations; a layer ×10 costs 100× (same directions)', () => {
    const G = (z: tf.Tensor) => tf.mul(col(z, 0), col(z, 1));
    const one = value(() => hessianPenalty(G, zs, { reduction: 'mean', seed: 2, k: 4 }));
    const layers = hessianPenaltyPerLayer((z) => [G(z), tf.mul(G(z), 10)], zs, { reduction: 'mean', seed: 2, k: 4 });
    assertClose(layers.map((t) => t.dataSync()[0]!), [one, 100 * one], 1e-4);
    tf.dispose(layers);
    assertClose([value(() => hessianPenalty((z) => [G(z), tf.mul(G(z), 10)], zs, { reduction: 'mean', seed: 2, k: 4 }))], [101 * one], 1e-4);
  });

  it('is differentiable in G\'s weights: for G = w·z₀z₁, ∂HP/∂w = 2·HP/w', () => {
    const w = tf.variable(tf.scalar(1.5));
    const z = zs.slice([0, 0], [64, 2]);
    const { value: hp, grads } = tf.variableGrads(() => hessianPenalty((x) => tf.mul(w, tf.mul(col(x, 0), col(x, 1))), z, { reduction: 'mean', seed: 1 }), [w]);
    assertClose([grads[w.name]!.dataSync()[0]!], [(2 * hp.dataSync()[0]!) / 1.5], 1e-4);
    tf.dispose([w, z, hp, ...Object.values(grads)]);
  });

  it('directions are ±1, seeded; the tensor count stays flat', () => {
    const r = rademacher([3, 5], 2, 4);
    assert.ok(r.every((t) => Array.from(t.dataSync()).every((v) => v === 1 || v === -1)), 'entries are ±1');
    const again = rademacher([3, 5], 2, 4);
    assert.deepEqual(Array.from(again[1]!.dataSync()), Array.from(r[1]!.dataSync()));
    tf.dispose([...r, ...again]);
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) value(() => hessianPenalty((z) => tf.square(z), zs, { seed: i }));
    assert.equal(tf.memory().numTensors, before);
  });

  it('rejects k < 2, ε ≤ 0 and unknown options', () => {
    const G = (z: tf.Tensor) => z;
    throwsInput(() => hessianPenalty(G, zs, { k: 1 }), 'k', '≥ 2');
    throwsInput(() => hessianPenalty(G, zs, { epsilon: 0 }), 'epsilon');
    throwsInput(() => hessianPenalty(G, zs, { reduction: 'sum' as never }), 'reduction');
    throwsInput(() => hessianPenalty(G, zs, { variance: 'population' as never }), 'variance');
  });
});
