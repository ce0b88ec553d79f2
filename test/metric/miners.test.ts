/**
 * Miners on hand-worked 1-D batches (raw Euclidean distances, so every
 * distance is an integer), reducers on hand-worked vectors, and losses
 * consuming miner output.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { tf } from '../../src/engine/index.js';
import { LpDistance } from '../../src/metric/distances.js';
import { ContrastiveLoss, TripletMarginLoss } from '../../src/metric/losses.js';
import { BatchHardMiner, MultiSimilarityMiner, PairMarginMiner, TripletMarginMiner } from '../../src/metric/miners.js';
import { AvgNonZeroReducer, DivisorReducer, MeanReducer, PerAnchorReducer, ThresholdReducer, reduceTerms, type LossTerm } from '../../src/metric/reducers.js';
import { toPairs, toTriplets } from '../../src/metric/tuples.js';
import { assertClose, availableBackends, onBackend, throwsInput } from '../helpers.js';

const backends = await availableBackends();
// Points 0, 3, 4, 5, 10 with labels 0, 0, 1, 1, 2.
const X = [[0], [3], [4], [5], [10]];
const LABELS = [0, 0, 1, 1, 2];
const raw = () => new LpDistance({ normalizeEmbeddings: false });

function triplets(t: Int32Array[]): string[] {
  return [...(t[0] as Int32Array)].map((a, k) => `${a}${t[1]?.[k]}${t[2]?.[k]}`).sort();
}
function pairs(a: Int32Array, b: Int32Array): string[] {
  return [...a].map((x, k) => `${x}${b[k]}`).sort();
}

describe('miners', () => {
  for (const backend of backends) {
    it(`triplet margin miner, margin 2: all / hard / semihard / easy (${backend})`, async () => {
      // gap = d_an − d_ap per triplet (a, p, n):
      // a0 p1 (3): n2 4 → 1, n3 5 → 2, n4 10 → 7;  a1 p0 (3): n2 1 → −2, n3 2 → −1, n4 7 → 4;
      // a2 p3 (1): n0 4 → 3, n1 1 → 0, n4 6 → 5;   a3 p2 (1): n0 5 → 4, n1 2 → 1, n4 5 → 4.
      const got = await onBackend(backend, () => {
        const x = tf.tensor2d(X);
        const out = (['all', 'hard', 'semihard', 'easy'] as const).map((type) => triplets(new TripletMarginMiner({ margin: 2, typeOfTriplets: type, distance: raw() }).mine(x, LABELS)));
        x.dispose();
        return out;
      });
      assert.deepEqual(got[0], ['012', '013', '102', '103', '231', '321']);
      assert.deepEqual(got[1], ['102', '103', '231']);
      assert.deepEqual(got[2], ['012', '013', '321']);
      assert.deepEqual(got[3], ['014', '104', '230', '234', '320', '324']);
    });

    it(`batch-hard, pair-margin and multi-similarity miners (${backend})`, async () => {
      const [hard, pm, ms] = await onBackend(backend, () => {
        const x = tf.tensor2d(X);
        const h = triplets(new BatchHardMiner({ distance: raw() }).mine(x, LABELS));
        const [a1, p, a2, n] = new PairMarginMiner({ posMargin: 2, negMargin: 3, distance: raw() }).mine(x, LABELS) as Int32Array[];
        const [b1, q, b2, m] = new MultiSimilarityMiner({ epsilon: 0.5, distance: raw() }).mine(x, LABELS) as Int32Array[];
        x.dispose();
        return [
          h,
          [pairs(a1 as Int32Array, p as Int32Array), pairs(a2 as Int32Array, n as Int32Array)],
          [pairs(b1 as Int32Array, q as Int32Array), pairs(b2 as Int32Array, m as Int32Array)],
        ];
      });
      // Farthest positive, closest negative; anchor 4 has no positive.
      assert.deepEqual(hard, ['012', '102', '231', '321']);
      // Positive pairs farther than 2; negative pairs closer than 3.
      assert.deepEqual(pm, [
        ['01', '10'],
        ['12', '13', '21', '31'],
      ]);
      // Keep a positive when d_ap + ε > the anchor's closest negative, a negative when d_an − ε < its farthest positive:
      // a1: positive 0 (3.5 > 1), negatives 2 (0.5 < 3), 3 (1.5 < 3); a2: positive 3 (1.5 > 1), negative 1 (0.5 < 1).
      assert.deepEqual(ms, [
        ['10', '23'],
        ['12', '13', '21'],
      ]);
    });

    it(`losses take miner output (${backend})`, async () => {
      const v = await onBackend(backend, () => {
        const x = tf.tensor2d(X);
        const mined = new TripletMarginMiner({ margin: 2, typeOfTriplets: 'hard', distance: raw() }).mine(x, LABELS);
        const l = new TripletMarginLoss({ margin: 2, distance: raw() }).compute(x, LABELS, mined);
        const value = l.dataSync()[0] as number;
        tf.dispose([x, l]);
        return value;
      });
      // Triplets 102: 3 − 1 + 2 = 4; 103: 3 − 2 + 2 = 3; 231: 1 − 1 + 2 = 2; mean of the non-zero = 3.
      assertClose([v], [3], 1e-6);
    });
  }

  it('pairs ↔ triplets conversion', () => {
    const labels = Int32Array.from(LABELS);
    const t: [Int32Array, Int32Array, Int32Array] = [Int32Array.of(0, 2), Int32Array.of(1, 3), Int32Array.of(4, 0)];
    assert.deepEqual(toPairs(t, labels), [t[0], t[1], t[0], t[2]]);
    const p: [Int32Array, Int32Array, Int32Array, Int32Array] = [Int32Array.of(0, 1), Int32Array.of(1, 0), Int32Array.of(0, 0, 3), Int32Array.of(2, 4, 0)];
    // Every positive pair combined with every negative pair of the same anchor: anchor 0 has 2 negatives, anchor 1 none.
    assert.deepEqual(triplets(toTriplets(p, labels)), ['012', '014']);
  });

  it('bad input', () => {
    const x = tf.tensor2d(X);
    throwsInput(() => new TripletMarginMiner().mine(x, [0, 1]), 'labels', '5 labels');
    throwsInput(() => new TripletMarginMiner({ typeOfTriplets: 'medium' as 'all' }), 'typeOfTriplets');
    throwsInput(() => new MultiSimilarityMiner({ epsilon: Number.NaN }), 'epsilon');
    x.dispose();
  });
});

describe('reducers', () => {
  const term = (values: number[], extra: Partial<LossTerm> = {}): LossTerm => ({ losses: tf.tensor1d(values), type: 'element', ...extra });
  const value = (s: tf.Scalar) => {
    const v = s.dataSync()[0] as number;
    s.dispose();
    return v;
  };
  it('mean, average of non-zero, threshold, divisor', () => {
    tf.tidy(() => {
      const v = [0, 2, 0, 4, 1];
      assertClose([value(new MeanReducer().reduce(term(v), 5))], [7 / 5], 1e-6);
      assertClose([value(new AvgNonZeroReducer().reduce(term(v), 5))], [7 / 3], 1e-6);
      assertClose([value(new ThresholdReducer({ low: 0.5, high: 3 }).reduce(term(v), 5))], [(2 + 1) / 2], 1e-6);
      assertClose([value(new ThresholdReducer({ low: 10 }).reduce(term(v), 5))], [0], 1e-6);
      assertClose([value(new DivisorReducer().reduce(term(v, { divisor: 2 }), 5))], [3.5], 1e-6);
      assertClose([value(new DivisorReducer().reduce(term(v, { divisor: 0 }), 5))], [0], 1e-6);
      assertClose([value(new MeanReducer().reduce(term([]), 5))], [0], 1e-6);
      assertClose([value(new AvgNonZeroReducer().reduce({ losses: tf.scalar(2.5), type: 'already_reduced' }, 5))], [2.5], 1e-6);
    });
  });
  it('per-anchor: average (or sum) per anchor, then the inner reducer', () => {
    tf.tidy(() => {
      const pairsTerm = () => term([0, 2, 0, 4, 1], { type: 'pos_pair', anchors: Int32Array.of(0, 0, 3, 3, 3) });
      // anchor 0: (0 + 2)/2 = 1, anchor 3: 5/3 → mean 4/3; sums 2 and 5 → 3.5.
      assertClose([value(new PerAnchorReducer().reduce(pairsTerm(), 5))], [4 / 3], 1e-6);
      assertClose([value(new PerAnchorReducer({ aggregation: 'sum' }).reduce(pairsTerm(), 5))], [3.5], 1e-6);
      const zeroAnchor = term([0, 0, 4, 0, 2], { type: 'triplet', anchors: Int32Array.of(0, 0, 1, 1, 1) });
      assertClose([value(new PerAnchorReducer({ inner: new AvgNonZeroReducer() }).reduce(zeroAnchor, 5))], [2], 1e-6);
    });
  });
  it('terms reduced separately and summed; a reducer per term name', () => {
    tf.tidy(() => {
      const terms = { pos_loss: term([0, 1, 3], { type: 'pos_pair' }), neg_loss: term([0, 0, 6], { type: 'neg_pair' }) };
      assertClose([value(reduceTerms(terms, new AvgNonZeroReducer(), 3))], [2 + 6], 1e-6);
      assertClose([value(reduceTerms(terms, { pos_loss: new MeanReducer(), default: new AvgNonZeroReducer() }, 3))], [4 / 3 + 6], 1e-6);
      throwsInput(() => reduceTerms(terms, { pos_loss: new MeanReducer() }, 3), 'reducer for neg_loss');
    });
  });
  it('contrastive with MeanReducer for positives and AvgNonZero for negatives', () => {
    const x = tf.tensor2d(X);
    const loss = new ContrastiveLoss({ distance: raw(), posMargin: 0, negMargin: 3, reducer: { pos_loss: new MeanReducer(), default: new AvgNonZeroReducer() } });
    const v = value(loss.compute(x, LABELS));
    x.dispose();
    // Positive pairs (both orders): d 3, 3, 1, 1 → mean 2. Negative [3 − d]_+: (1,2) 2, (1,3) 1 and reversed → non-zero mean 1.5.
    assertClose([v], [2 + 1.5], 1e-6);
  });
});
