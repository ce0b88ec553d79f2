/**
 * Every loss against the reference note's formulas: one hand-worked value, then
 * each loss on tiny embeddings placed by angle on the unit circle (as
 * pytorch-metric-learning's tests do) against the independent loop versions in
 * reference-losses.ts; finite gradients; training a tiny embedding lowers each loss.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { tf } from '../../src/engine/index.js';
import { CosineSimilarity, LpDistance } from '../../src/metric/distances.js';
import type { MetricLoss } from '../../src/metric/loss-base.js';
import {
  CircleLoss,
  ContrastiveLoss,
  FastAPLoss,
  LiftedStructureLoss,
  MarginLoss,
  MultiSimilarityLoss,
  NTXentLoss,
  SignalToNoiseRatioContrastiveLoss,
  SupConLoss,
  TripletMarginLoss,
} from '../../src/metric/losses.js';
import { MeanReducer } from '../../src/metric/reducers.js';
import { ArcFaceLoss, CosFaceLoss, NormalizedSoftmaxLoss, ProxyAnchorLoss, ProxyNCALoss, SoftTripleLoss, type WeightLoss } from '../../src/metric/weight-losses.js';
import { assertClose, availableBackends, onBackend, randomValues, throwsInput } from '../helpers.js';
import * as ref from './reference-losses.js';

const backends = await availableBackends();

function angles(degrees: number[]): number[][] {
  return degrees.map((a) => [Math.cos((a * Math.PI) / 180), Math.sin((a * Math.PI) / 180)]);
}
const EMB = angles([0, 15, 35, 55, 85]);
const LABELS = [0, 0, 1, 1, 2];
// A second batch off the unit circle (norms differ) and in 3-D, with an extra class.
const EMB3 = [
  [1, 0.2, -0.3],
  [0.8, 0.5, 0.1],
  [-0.4, 1.2, 0.3],
  [-0.2, 0.9, -0.6],
  [0.3, -0.7, 1.0],
  [0.7, 0.3, 0.4],
];
const LABELS3 = [0, 0, 1, 1, 2, 2];

function lossValue(loss: MetricLoss, emb: number[][], labels: number[]): number {
  const x = tf.tensor2d(emb);
  const l = loss.compute(x, labels);
  const v = l.dataSync()[0] as number;
  tf.dispose([x, l]);
  return v;
}

function weightRows(loss: WeightLoss): number[][] {
  return loss.weights.arraySync() as number[][];
}

type Case = { name: string; make: (dim: number) => MetricLoss; want: (loss: MetricLoss, b: { emb: number[][]; labels: number[] }) => number };
const CASES: Case[] = [
  { name: 'contrastive', make: () => new ContrastiveLoss(), want: (_, b) => ref.contrastive(b) },
  { name: 'contrastive, margins 0.1/0.7', make: () => new ContrastiveLoss({ posMargin: 0.1, negMargin: 0.7 }), want: (_, b) => ref.contrastive(b, 0.1, 0.7) },
  { name: 'contrastive on cosine (pos 1, neg 0)', make: () => new ContrastiveLoss({ distance: new CosineSimilarity(), posMargin: 1, negMargin: 0 }), want: (_, b) => ref.contrastiveCosine(b, 1, 0) },
  { name: 'contrastive, MeanReducer', make: () => new ContrastiveLoss({ reducer: new MeanReducer() }), want: (_, b) => ref.contrastiveWith(b, (x, y) => ref.euclid(ref.normalize(x), ref.normalize(y)), 'mean') },
  { name: 'contrastive, raw Euclidean, neg margin 2', make: () => new ContrastiveLoss({ distance: new LpDistance({ normalizeEmbeddings: false }), negMargin: 2 }), want: (_, b) => ref.contrastiveWith(b, ref.euclid, 'avg_non_zero', 0, 2) },
  { name: 'SNR contrastive', make: () => new SignalToNoiseRatioContrastiveLoss(), want: (_, b) => ref.contrastiveWith(b, ref.snrDistance, 'avg_non_zero') },
  { name: 'triplet', make: () => new TripletMarginLoss(), want: (_, b) => ref.triplet(b) },
  { name: 'triplet margin 0.3, smooth', make: () => new TripletMarginLoss({ margin: 0.3, smoothLoss: true }), want: (_, b) => ref.triplet(b, 0.3, { smooth: true }) },
  { name: 'triplet margin 0.3, swap', make: () => new TripletMarginLoss({ margin: 0.3, swap: true }), want: (_, b) => ref.triplet(b, 0.3, { swap: true }) },
  { name: 'multi-similarity', make: () => new MultiSimilarityLoss(), want: (_, b) => ref.multiSimilarity(b) },
  { name: 'multi-similarity α 3, β 20, λ 0.3', make: () => new MultiSimilarityLoss({ alpha: 3, beta: 20, base: 0.3 }), want: (_, b) => ref.multiSimilarity(b, 3, 20, 0.3) },
  { name: 'NT-Xent', make: () => new NTXentLoss(), want: (_, b) => ref.ntxent(b) },
  { name: 'NT-Xent τ 0.5', make: () => new NTXentLoss({ temperature: 0.5 }), want: (_, b) => ref.ntxent(b, 0.5) },
  { name: 'SupCon', make: () => new SupConLoss(), want: (_, b) => ref.supcon(b) },
  { name: 'lifted structure', make: () => new LiftedStructureLoss(), want: (_, b) => ref.liftedStructure(b) },
  { name: 'circle', make: () => new CircleLoss(), want: (_, b) => ref.circle(b) },
  { name: 'circle m 0.25, γ 16', make: () => new CircleLoss({ m: 0.25, gamma: 16 }), want: (_, b) => ref.circle(b, 0.25, 16) },
  { name: 'margin', make: () => new MarginLoss(), want: (_, b) => ref.marginLoss(b) },
  { name: 'margin α 0.1, β 0.5', make: () => new MarginLoss({ margin: 0.1, beta: 0.5 }), want: (_, b) => ref.marginLoss(b, 0.1, 0.5) },
  { name: 'FastAP', make: () => new FastAPLoss(), want: (_, b) => ref.fastAP(b) },
  { name: 'FastAP 4 bins', make: () => new FastAPLoss({ numBins: 4 }), want: (_, b) => ref.fastAP(b, 4) },
  { name: 'ProxyAnchor', make: (dim) => new ProxyAnchorLoss(3, dim, { seed: 1 }), want: (l, b) => ref.proxyAnchor(b, weightRows(l as WeightLoss)) },
  { name: 'ProxyNCA', make: (dim) => new ProxyNCALoss(3, dim, { seed: 2 }), want: (l, b) => ref.proxyNCA(b, weightRows(l as WeightLoss)) },
  { name: 'ProxyNCA scale 5', make: (dim) => new ProxyNCALoss(3, dim, { seed: 2, softmaxScale: 5 }), want: (l, b) => ref.proxyNCA(b, weightRows(l as WeightLoss), 5) },
  { name: 'normalized softmax', make: (dim) => new NormalizedSoftmaxLoss(3, dim, { seed: 3 }), want: (l, b) => ref.normalizedSoftmax(b, weightRows(l as WeightLoss)) },
  { name: 'CosFace', make: (dim) => new CosFaceLoss(3, dim, { seed: 4 }), want: (l, b) => ref.cosFace(b, weightRows(l as WeightLoss)) },
  { name: 'ArcFace', make: (dim) => new ArcFaceLoss(3, dim, { seed: 5 }), want: (l, b) => ref.arcFace(b, weightRows(l as WeightLoss)) },
  { name: 'ArcFace margin 80° (fallback branch)', make: (dim) => new ArcFaceLoss(3, dim, { seed: 5, margin: 80, scale: 8 }), want: (l, b) => ref.arcFace(b, weightRows(l as WeightLoss), 80, 8) },
  { name: 'SoftTriple', make: (dim) => new SoftTripleLoss(3, dim, { seed: 6, centersPerClass: 2 }), want: (l, b) => ref.softTriple(b, weightRows(l as WeightLoss), 3, 2) },
];

describe('a hand-worked value', () => {
  it('contrastive on angles 0,15,35,55,85°, labels 0,0,1,1,2', async () => {
    // Unit vectors, so d = 2·sin(Δθ/2). Positive pairs (each in both orders): Δ 15° (0-1) and Δ 20° (2-3);
    // every d > 0, so the non-zero mean is (2 sin 7.5° + 2 sin 10°) / 2.
    // Negative pairs: Δ 35, 55, 85 (0-2, 0-3, 0-4), 20, 40, 70 (1-2, 1-3, 1-4), 50 (2-4), 30 (3-4);
    // [1 − d]_+ > 0 exactly when Δ < 60°, six pairs (twelve ordered): their mean.
    const sin = (deg: number) => Math.sin((deg * Math.PI) / 180);
    const neg = [35, 55, 20, 40, 50, 30].map((delta) => 1 - 2 * sin(delta / 2));
    const want = (2 * sin(7.5) + 2 * sin(10)) / 2 + neg.reduce((a, b) => a + b, 0) / 6;
    const emb = angles([0, 15, 35, 55, 85]);
    for (const backend of backends) {
      const got = await onBackend(backend, () => lossValue(new ContrastiveLoss(), emb, LABELS));
      assertClose([got], [want], 1e-5, backend);
    }
  });
});

for (const backend of backends) {
  describe(`losses equal the reference formulas (${backend})`, () => {
    for (const c of CASES) {
      for (const [batchName, emb, labels] of [
        ['angles', EMB, LABELS],
        ['3-D batch', EMB3, LABELS3],
      ] as const) {
        it(`${c.name} — ${batchName}`, async () => {
          const [got, want] = await onBackend(backend, () => {
            const loss = c.make(emb[0]?.length as number);
            const value = lossValue(loss, emb as number[][], labels as unknown as number[]);
            const expected = c.want(loss, { emb: emb as number[][], labels: labels as unknown as number[] });
            loss.dispose();
            return [value, expected];
          });
          assert.ok(Number.isFinite(want) && want !== 0, `reference value ${want} should be finite and non-zero`);
          assertClose([got], [want], 1e-5, c.name);
        });
      }
    }

    it('no valid tuples: loss 0 (one embedding; one class only; all classes different)', async () => {
      const values = await onBackend(backend, () =>
        [new ContrastiveLoss(), new TripletMarginLoss(), new NTXentLoss(), new SupConLoss(), new LiftedStructureLoss(), new MarginLoss(), new CircleLoss()].flatMap((loss) => {
          // A single embedding has no pair at all; contrastive scores any pair, the others need both kinds.
          const out = [lossValue(loss, EMB.slice(0, 1), [0]), ...(loss instanceof ContrastiveLoss ? [] : [lossValue(loss, EMB.slice(0, 2), [0, 1]), lossValue(loss, EMB.slice(0, 2), [4, 4])])];
          loss.dispose();
          return out;
        }),
      );
      for (const v of values) assert.equal(v, 0);
    });

    it('NT-Xent with a mined tuple (repeated negatives count twice; an anchor without negatives adds 0): value and gradient of the [positives × negatives] form', async () => {
      // Pairs [a1, p, a2, n] over EMB3: anchor 4 has a positive but no negative; (0, 2) is listed twice.
      const tuple = [Int32Array.of(0, 1, 2, 4), Int32Array.of(1, 0, 3, 5), Int32Array.of(0, 0, 0, 1, 2, 3), Int32Array.of(2, 2, 4, 5, 0, 1)] as const;
      const t = 0.3;
      const [got, want] = await onBackend(backend, () => {
        const init = tf.tensor2d(EMB3);
        const x = tf.variable(init);
        init.dispose();
        const loss = new NTXentLoss({ temperature: t });
        const { value, grads } = tf.variableGrads(() => loss.compute(x, LABELS3, [...tuple]), [x]);
        // The dense form: row i holds pair i's positive and every negative pair of its anchor.
        const dense = tf.variableGrads(() => {
          const e = tf.div(x, tf.norm(x, 2, 1, true));
          const sim = tf.div(tf.matMul(e, e, false, true), t) as tf.Tensor2D;
          const rows = Array.from(tuple[0], (a, i) => {
            const terms = [tf.slice(sim, [a, tuple[1][i] as number], [1, 1]).reshape([1])];
            tuple[2].forEach((a2, j) => {
              if (a2 === a) terms.push(tf.slice(sim, [a, tuple[3][j] as number], [1, 1]).reshape([1]));
            });
            return tf.sub(tf.logSumExp(tf.concat(terms)), terms[0] as tf.Tensor);
          });
          return tf.mean(tf.stack(rows)) as tf.Scalar;
        }, [x]);
        const out = [[value.dataSync()[0] as number, ...grads[x.name]!.dataSync()], [dense.value.dataSync()[0] as number, ...dense.grads[x.name]!.dataSync()]];
        tf.dispose([x, value, dense.value, ...Object.values(grads), ...Object.values(dense.grads)]);
        return out;
      });
      assert.ok(want[0]! > 0);
      assertClose(got, want, 1e-5, 'NT-Xent value, then its gradient');
    });

    it('gradients are finite for every loss, including the loss weights', async () => {
      await onBackend(backend, () => {
        const init = tf.tensor2d(EMB3);
        const x = tf.variable(init);
        init.dispose();
        for (const c of CASES) {
          const loss = c.make(3);
          const { value, grads } = tf.variableGrads(() => loss.compute(x, LABELS3), [x, ...loss.trainableWeights]);
          for (const [name, g] of Object.entries(grads)) {
            const v = g.dataSync();
            assert.ok(v.every(Number.isFinite), `${c.name}: gradient of ${name} not finite`);
          }
          tf.dispose([value, ...Object.values(grads)]);
          loss.dispose();
        }
        x.dispose();
      });
    });
  });
}

/** Builds one loss of each kind for a batch of `classes` classes and `dim`-d embeddings. */
function everyLoss(classes: number, dim: number): MetricLoss[] {
  return [
    new ContrastiveLoss(),
    new TripletMarginLoss({ margin: 0.2 }),
    new MultiSimilarityLoss(),
    new NTXentLoss(),
    new SupConLoss(),
    new LiftedStructureLoss(),
    new CircleLoss(),
    new MarginLoss({ learnBeta: true, numClasses: classes }),
    new FastAPLoss(),
    new SignalToNoiseRatioContrastiveLoss(),
    new ProxyAnchorLoss(classes, dim),
    new ProxyNCALoss(classes, dim),
    new NormalizedSoftmaxLoss(classes, dim),
    new CosFaceLoss(classes, dim),
    new ArcFaceLoss(classes, dim),
    new SoftTripleLoss(classes, dim, { centersPerClass: 3 }),
  ];
}

for (const backend of backends) {
  it(`training a free 12×4 embedding lowers every loss, with a flat tensor count (${backend})`, async () => {
    await onBackend(backend, () => {
      const labels = [0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3];
      for (const loss of everyLoss(4, 4)) {
        const init = tf.tensor2d(randomValues(48, 11), [12, 4]);
        const x = tf.variable(init);
        init.dispose();
        const optimizer = tf.train.adam(0.05);
        const vars = [x, ...loss.trainableWeights];
        const step = () => optimizer.minimize(() => loss.compute(x, labels), true, vars) as tf.Scalar;
        const first = step();
        const start = first.dataSync()[0] as number;
        first.dispose();
        const count = tf.memory().numTensors;
        let last = start;
        for (let i = 0; i < 25; i++) {
          const v = step();
          last = v.dataSync()[0] as number;
          v.dispose();
          assert.equal(tf.memory().numTensors, count, `${loss.name}: tensor count grew at step ${i}`);
        }
        assert.ok(Number.isFinite(last) && last < start, `${loss.name}: loss ${start} → ${last} did not fall`);
        optimizer.dispose();
        x.dispose();
        loss.dispose();
      }
    });
  });
}

it('weight losses weight each sample by how often a miner tuple names it', () => {
  const x = tf.tensor2d(EMB);
  const loss = new NormalizedSoftmaxLoss(3, 2, { seed: 3 });
  // Triplets (0,1,2) and (0,1,4): samples 0 and 1 twice, 2 and 4 once, 3 never → weights 1, 1, ½, 0, ½.
  const l = loss.compute(x, LABELS, [Int32Array.of(0, 0), Int32Array.of(1, 1), Int32Array.of(2, 4)]);
  const got = l.dataSync()[0] as number;
  const want = ref.normalizedSoftmax({ emb: EMB, labels: LABELS }, weightRows(loss), 0.05, [1, 1, 0.5, 0, 0.5]);
  tf.dispose([x, l]);
  loss.dispose();
  assertClose([got], [want], 1e-5);
});

describe('bad input', () => {
  it('names the argument, the value and what was expected', () => {
    const x = tf.tensor2d(EMB);
    const loss = new ContrastiveLoss();
    throwsInput(() => loss.compute(x, [0, 1]), 'labels', '5 labels');
    throwsInput(() => loss.compute(x, [0, 0, 1, 1.5, 2]), 'labels[3]', 'whole-number');
    throwsInput(() => loss.compute(x, LABELS, [Int32Array.of(0), Int32Array.of(9), Int32Array.of(1)]), 'indicesTuple', 'indices in [0, 5)');
    const nan = tf.tensor2d([[0, NaN]]);
    throwsInput(() => loss.compute(nan, [0]), 'embeddings', 'finite');
    const proxies = new ProxyAnchorLoss(2, 2);
    throwsInput(() => proxies.compute(x, LABELS), 'labels', 'class ids in [0, 2)');
    const wide = new CosFaceLoss(3, 7);
    throwsInput(() => wide.compute(x, LABELS), 'embeddings', '7 columns');
    throwsInput(() => new TripletMarginLoss({ margin: Number.NaN }), 'margin', 'finite');
    throwsInput(() => new CircleLoss({ distance: new LpDistance() }), 'distance', 'CosineSimilarity');
    throwsInput(() => new NTXentLoss({ temperature: 0 }), 'temperature', '> 0');
    throwsInput(() => new FastAPLoss({ numBins: 2.5 }), 'numBins');
    tf.dispose([x, nan]);
    proxies.dispose();
    wide.dispose();
    loss.dispose();
  });
});
