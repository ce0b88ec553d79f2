/**
 * The fused metric losses (src/metric/fused.ts: one native kernel for a loss
 * and its gradients) against the composed tfjs ops they replace, on the native
 * backend: the loss and its gradients to the embeddings (and the proxies or
 * class weights) to 1e-5 relative, on odd shapes, uneven classes, miner
 * tuples, a batch with repeated rows (zero distances), one with no negatives
 * and one with no positives; configurations outside the kernel's fall back to
 * the composed ops; the miners' one-kernel distance matrix gives the composed
 * matrix and the same tuples. Every loss test in losses.test.ts also runs on native, so
 * the fused kernel meets their hand-computed values there too.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { initEngine, tf } from '../../src/engine/index.js';
import { CosineSimilarity, LpDistance } from '../../src/metric/distances.js';
import { fusedDistanceValues, fusedLossesAvailable, useFusedLosses } from '../../src/metric/fused.js';
import { ContrastiveLoss, MultiSimilarityLoss, NTXentLoss, SignalToNoiseRatioContrastiveLoss, TripletMarginLoss } from '../../src/metric/losses.js';
import type { MetricLoss } from '../../src/metric/loss-base.js';
import { MultiSimilarityMiner, PairMarginMiner, TripletMarginMiner } from '../../src/metric/miners.js';
import { MeanReducer } from '../../src/metric/reducers.js';
import type { IndicesTuple } from '../../src/metric/tuples.js';
import { ArcFaceLoss, ProxyAnchorLoss } from '../../src/metric/weight-losses.js';
import { assertClose, onBackend, randomValues, throwsInput } from '../helpers.js';

let nativeReason: string | undefined;
try {
  await initEngine({ backend: 'native' });
} catch (err) {
  nativeReason = err instanceof Error ? err.message : String(err);
}
const skip = nativeReason !== undefined && process.env.ECCVKIT_REQUIRE_NATIVE !== '1' ? `native backend unavailable: ${nativeReason}` : false;

const TOL = 1e-5;

/** Loss and gradients to the embeddings and the loss's weights, fused (when `fused`) or composed. */
function evaluate(loss: MetricLoss, emb: Float32Array, shape: [number, number], labels: Int32Array, tuple: IndicesTuple | undefined, fused: boolean): Float32Array[] {
  const before = useFusedLosses(fused);
  try {
    const initial = tf.tensor2d(emb, shape);
    const e = tf.variable(initial);
    initial.dispose();
    const weights = loss.trainableWeights;
    const { value, grads } = tf.variableGrads(() => loss.compute(e, labels, tuple), [e, ...weights]);
    const out = [Float32Array.from(value.dataSync()), ...[e, ...weights].map((w) => Float32Array.from(grads[w.name]!.dataSync()))];
    tf.dispose([e, value, ...Object.values(grads)]);
    return out;
  } finally {
    useFusedLosses(before);
  }
}

/** The fused loss on native against the composed ops on the cpu backend (a fresh loss each: same seed, same weights). */
async function compare(make: () => MetricLoss, n: number, d: number, labels: Int32Array, what: string, tuple?: (e: tf.Tensor2D) => IndicesTuple, seed = 5): Promise<void> {
  const emb = randomValues(n * d, seed);
  const run = (fused: boolean) => () => {
    const loss = make();
    try {
      const t = tuple ? tf.tidy(() => tuple(tf.tensor2d(emb, [n, d]))) : undefined;
      return evaluate(loss, emb, [n, d], labels, t, fused);
    } finally {
      loss.dispose();
    }
  };
  const fused = await onBackend('native', run(true));
  const composed = await onBackend('cpu', run(false));
  await initEngine({ backend: 'native' });
  assert.equal(fused.length, composed.length);
  assertClose(fused[0]!, composed[0]!, TOL, `${what}: loss`);
  assertClose(fused[1]!, composed[1]!, TOL, `${what}: gradient to the embeddings`);
  for (let i = 2; i < fused.length; i++) assertClose(fused[i]!, composed[i]!, TOL, `${what}: gradient to the loss's weights`);
}

/** Uneven classes: 0..k−1 cycling, then a tail of class 0. */
const unevenLabels = (n: number, k: number) => Int32Array.from({ length: n }, (_, i) => (i < n - 5 ? i % k : 0));

describe('fused metric losses equal the composed ops on native', { skip }, () => {
  it('the native backend has the kernel, and the switch turns it off', () => {
    assert.equal(fusedLossesAvailable(), true);
    const before = useFusedLosses(false);
    assert.equal(fusedLossesAvailable(), false);
    useFusedLosses(before);
  });

  const pairLosses: Array<[string, () => MetricLoss]> = [
    ['contrastive', () => new ContrastiveLoss()],
    ['contrastive (margins 0.1, 0.7)', () => new ContrastiveLoss({ posMargin: 0.1, negMargin: 0.7 })],
    ['triplet', () => new TripletMarginLoss()],
    ['triplet (margin 0.4)', () => new TripletMarginLoss({ margin: 0.4 })],
    ['multi-similarity', () => new MultiSimilarityLoss()],
    ['multi-similarity (α 1, β 20, λ 0.2)', () => new MultiSimilarityLoss({ alpha: 1, beta: 20, base: 0.2 })],
    ['NT-Xent', () => new NTXentLoss()],
    ['NT-Xent (τ 0.5)', () => new NTXentLoss({ temperature: 0.5 })],
  ];
  for (const [name, make] of pairLosses) {
    it(`${name}: every tuple, odd shapes and uneven classes`, async () => {
      await compare(make, 37, 13, unevenLabels(37, 7), name);
      await compare(make, 5, 3, Int32Array.from([0, 1, 0, 2, 1]), `${name} (5 × 3)`, undefined, 9);
    });
    it(`${name}: miner tuples (pairs and triplets)`, async () => {
      const labels = unevenLabels(29, 5);
      const pairMiner = new PairMarginMiner({ posMargin: 0.6, negMargin: 1.2 });
      const tripletMiner = new TripletMarginMiner({ margin: 0.3 });
      const msMiner = new MultiSimilarityMiner();
      await compare(make, 29, 11, labels, `${name} with PairMarginMiner`, (e) => pairMiner.mine(e, labels));
      await compare(make, 29, 11, labels, `${name} with TripletMarginMiner`, (e) => tripletMiner.mine(e, labels));
      await compare(make, 29, 11, labels, `${name} with MultiSimilarityMiner`, (e) => msMiner.mine(e, labels));
    });
    it(`${name}: repeated rows, one class only, and all classes distinct`, () => {
      const n = 12;
      const d = 6;
      const base = randomValues(n * d, 3);
      // Rows 0-2 are the same vector (zero distances, and zero-gradient square roots).
      for (let r = 1; r < 3; r++) base.copyWithin(r * d, 0, d);
      const loss = make();
      try {
        for (const [labels, what] of [
          [Int32Array.from({ length: n }, (_, i) => i % 3), 'repeated rows'],
          [new Int32Array(n), 'one class (no negatives)'],
          [Int32Array.from({ length: n }, (_, i) => i), 'distinct classes (no positives)'],
        ] as const) {
          const fused = evaluate(loss, base, [n, d], labels, undefined, true);
          const composed = evaluate(loss, base, [n, d], labels, undefined, false);
          assertClose(fused[0]!, composed[0]!, TOL, `${name}, ${what}: loss`);
          assertClose(fused[1]!, composed[1]!, TOL, `${name}, ${what}: gradient`);
          assert.ok(fused[1]!.every(Number.isFinite), `${name}, ${what}: finite gradient`);
        }
      } finally {
        loss.dispose();
      }
    });
  }

  it('Proxy Anchor: loss and gradients to embeddings and proxies, classes missing from the batch', async () => {
    await compare(() => new ProxyAnchorLoss(9, 13, { seed: 2 }), 31, 13, unevenLabels(31, 6), 'proxy anchor');
    await compare(() => new ProxyAnchorLoss(4, 5, { seed: 3, margin: 0.2, alpha: 8 }), 7, 5, Int32Array.from([0, 0, 1, 1, 1, 3, 3]), 'proxy anchor (δ 0.2, α 8)');
  });

  it('ArcFace: loss and gradients to embeddings and [D, C] weights, targets past π − m', async () => {
    await compare(() => new ArcFaceLoss(9, 13, { seed: 2 }), 31, 13, unevenLabels(31, 9), 'arcface');
    await compare(() => new ArcFaceLoss(5, 4, { seed: 4, margin: 60, scale: 16 }), 11, 4, Int32Array.from({ length: 11 }, (_, i) => (i * 3) % 5), 'arcface (m 60°, s 16)');
    // Embeddings opposite their class weight put θ_y near π, where the target logit takes its linear branch.
    const loss = new ArcFaceLoss(3, 2, { seed: 1 });
    try {
      const w = loss.weights.dataSync();
      const emb = Float32Array.from([-w[0]!, -w[3]!, -w[1]!, -w[4]!, -w[2]!, -w[5]!]);
      const labels = Int32Array.from([0, 1, 2]);
      const fused = evaluate(loss, emb, [3, 2], labels, undefined, true);
      const composed = evaluate(loss, emb, [3, 2], labels, undefined, false);
      for (let i = 0; i < fused.length; i++) assertClose(fused[i]!, composed[i]!, TOL, `arcface at θ_y ≈ π: output ${i}`);
    } finally {
      loss.dispose();
    }
  });

  it('configurations outside the kernel fall back to the composed ops (same numbers)', async () => {
    await compare(() => new ContrastiveLoss({ distance: new LpDistance({ power: 2 }) }), 17, 5, unevenLabels(17, 4), 'contrastive on squared distances');
    await compare(() => new ContrastiveLoss({ reducer: new MeanReducer() }), 17, 5, unevenLabels(17, 4), 'contrastive with a mean reducer');
    await compare(() => new SignalToNoiseRatioContrastiveLoss(), 17, 5, unevenLabels(17, 4), 'SNR contrastive');
    await compare(() => new TripletMarginLoss({ swap: true }), 17, 5, unevenLabels(17, 4), 'triplet with swap');
    const labels = unevenLabels(17, 4);
    const miner = new TripletMarginMiner({ margin: 0.3 });
    await compare(() => new ProxyAnchorLoss(4, 5, { seed: 1 }), 17, 5, labels, 'proxy anchor with miner weights', (e) => miner.mine(e, labels));
  });

  it("miners' distance matrix in one kernel equals the composed one, and the miners mine the same tuples", async () => {
    const n = 23;
    const d = 9;
    const emb = randomValues(n * d, 12);
    const labels = unevenLabels(n, 4);
    for (const distance of [new LpDistance(), new CosineSimilarity()]) {
      const fused = await onBackend('native', () => tf.tidy(() => fusedDistanceValues(distance, tf.tensor2d(emb, [n, d]))));
      const composed = await onBackend('cpu', () => tf.tidy(() => distance.matrix(tf.tensor2d(emb, [n, d])).dataSync() as Float32Array));
      await initEngine({ backend: 'native' });
      assert.ok(fused !== undefined, `${distance.name}: the kernel ran`);
      // Off the diagonal to float rounding. On it the kernel's distance is exactly 0 (from the Gram matrix's own
      // diagonal) where the composed ‖q‖² + ‖r‖² − 2q·r leaves rounding noise of 1e-7, which the square root
      // lifts to 3e-4.
      const off = (m: Float32Array) => Float32Array.from(m).map((v, k) => (k % (n + 1) === 0 ? 0 : v));
      assertClose(off(fused), off(composed), TOL, `${distance.name} matrix`);
      if (distance instanceof LpDistance) for (let i = 0; i < n; i++) assert.equal(fused[i * (n + 1)], 0, `distance ${i} to itself`);
    }
    assert.equal(fusedDistanceValues(new LpDistance({ power: 2 }), tf.zeros([2, 2])), undefined, 'squared distances are not the kernel\'s');
    for (const miner of [new TripletMarginMiner({ margin: 0.3 }), new MultiSimilarityMiner(), new PairMarginMiner({ posMargin: 0.6, negMargin: 1.2 })]) {
      const mine = (fused: boolean) => () => {
        const before = useFusedLosses(fused);
        try {
          return tf.tidy(() => miner.mine(tf.tensor2d(emb, [n, d]), labels)).map((part) => Array.from(part));
        } finally {
          useFusedLosses(before);
        }
      };
      const a = await onBackend('native', mine(true));
      const b = await onBackend('cpu', mine(false));
      await initEngine({ backend: 'native' });
      assert.deepEqual(a, b, `${miner.name}: tuples`);
      assert.ok(a[0]!.length > 0, `${miner.name}: mined something`);
    }
  });

  it('NaN or ±Infinity in the embeddings: the fused kernel refuses them with the composed path\'s message', () => {
    const values = randomValues(8 * 3, 2);
    values[5] = Number.NaN;
    const labels = Int32Array.from({ length: 8 }, (_, i) => i % 2);
    for (const fused of [true, false]) {
      const before = useFusedLosses(fused);
      try {
        for (const loss of [new ContrastiveLoss(), new ProxyAnchorLoss(2, 3)]) {
          const e = tf.tensor2d(values, [8, 3]);
          throwsInput(() => loss.compute(e, labels), 'embeddings', 'finite values (found NaN or ±Infinity)');
          throwsInput(() => new TripletMarginMiner().mine(e, labels), 'embeddings', 'finite values (found NaN or ±Infinity)');
          e.dispose();
          loss.dispose();
        }
      } finally {
        useFusedLosses(before);
      }
    }
  });

  it('a training loop of each loss keeps the tensor count flat', () => {
    const n = 32;
    const d = 8;
    const labels = Int32Array.from({ length: n }, (_, i) => i % 8);
    for (const make of [() => new ContrastiveLoss(), () => new NTXentLoss(), () => new ProxyAnchorLoss(8, d, { seed: 1 }), () => new ArcFaceLoss(8, d, { seed: 1 })]) {
      const loss = make();
      const emb = tf.variable(tf.tensor2d(randomValues(n * d, 7), [n, d]));
      const optimizer = tf.train.adam(1e-2);
      const step = () => tf.dispose(optimizer.minimize(() => loss.compute(emb, labels), true, [emb, ...loss.trainableWeights]) as tf.Tensor);
      for (let i = 0; i < 3; i++) step();
      const before = tf.memory().numTensors;
      for (let i = 0; i < 30; i++) step();
      assert.equal(tf.memory().numTensors, before, `${loss.name}: tensors after 30 more steps`);
      // Outside minimize (no gradient tape) the loss leaves nothing behind either.
      tf.dispose(loss.compute(emb, labels) as tf.Tensor);
      assert.equal(tf.memory().numTensors, before, `${loss.name}: tensors after a compute outside minimize`);
      optimizer.dispose();
      loss.dispose();
      emb.dispose();
    }
  });
});
