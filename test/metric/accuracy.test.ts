/**
 * Accuracy metrics: pytorch-metric-learning's hand-computed fixture, tie and
 * self-match handling, lone labels, bad input, and agreement with a
 * straightforward float64 sort-everything implementation on random inputs.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createRng, tf } from '../../src/engine/index.js';
import { accuracy, scoreRetrieved } from '../../src/metric/accuracy.js';
import { kMeans, normalizedMutualInfo } from '../../src/metric/clustering.js';
import { forEachDistanceRow, kSmallestIndices, kthSmallest, rankNeighbours, rankRow } from '../../src/metric/knn.js';
import { assertClose, availableBackends, onBackend, throwsInput } from '../helpers.js';
import { bruteForceAccuracy } from './reference-accuracy.js';

const backends = await availableBackends();
const silent = { warn: () => {} };

function mean(xs: number[]): number {
  return xs.reduce((a, b) => a + b, 0) / xs.length;
}

describe('scoreRetrieved: the AccuracyCalculator fixture (reference §2.3)', () => {
  const queryLabels = [1, 1, 2, 3, 4, 0];
  const knn = [
    [0, 1, 1, 2, 2],
    [1, 0, 1, 1, 3],
    [4, 4, 4, 4, 2],
    [3, 1, 3, 1, 3],
    [0, 0, 4, 2, 2],
    [1, 2, 3, 4, 5],
  ];
  const counts = new Map([
    [0, 2],
    [1, 3],
    [2, 5],
    [3, 4],
    [4, 5],
  ]);
  const scores = queryLabels.map((l, i) => scoreRetrieved(l, knn[i] as number[], counts.get(l) as number));
  it('precision@1 = 2/6', () => assertClose([mean(scores.map((s) => s.precisionAt1))], [2 / 6], 1e-12));
  it('R-precision per query', () => assertClose(scores.map((s) => s.rPrecision), [2 / 3, 2 / 3, 1 / 5, 2 / 4, 1 / 5, 0], 1e-12));
  it('MAP@R per query', () =>
    assertClose(
      scores.map((s) => s.mapAtR),
      [(1 / 2 + 2 / 3) / 3, (1 + 2 / 3) / 3, 1 / 5 / 5, (1 + 2 / 3) / 4, 1 / 3 / 5, 0],
      1e-12,
    ));
  it('reciprocal rank per query', () => assertClose(scores.map((s) => s.reciprocalRank), [1 / 2, 1, 1 / 5, 1, 1 / 3, 0], 1e-12));
  it('the ref-includes-query variant: drop the first column, R − 1', () => {
    // Same fixture read as "reference includes the query": each row's first entry is the query itself.
    const s = queryLabels.map((l, i) => scoreRetrieved(l, (knn[i] as number[]).slice(1), (counts.get(l) as number) - 1));
    assertClose(
      s.map((x) => x.precisionAt1),
      [1, 0, 0, 0, 0, 0],
      1e-12,
    );
    // label 1, R = 2: [1, 1] → MAP@R = (1 + 1)/2; label 1, R = 2: [0, 1] → (1/2)/2.
    assertClose([s[0]?.mapAtR as number, s[1]?.mapAtR as number], [1, 1 / 4], 1e-12);
  });
});

describe('accuracy()', () => {
  for (const backend of backends) {
    it(`tied duplicates: self removed by index, not by dropping the first column (${backend})`, async () => {
      const r = await onBackend(backend, () => {
        const emb = tf.tensor2d([[10], [10], [20], [20]]);
        const out = accuracy(emb, [1, 0, 1, 0], undefined, undefined, { nmi: false });
        emb.dispose();
        return out;
      });
      assert.equal(r.precision_at_1, 0);
      assert.equal(r.queries, 4);
    });

    it(`hand-worked 1-D case, self included (${backend})`, async () => {
      // Points on a line: 0(a) 1(a) 3(b) 4(a) 10(b) 11(c lone).
      // q0 (a, R=2): 1a,3b,4a → top2 [a,b]: P@1 1, RP 1/2, MAP (1)/2, RR 1.
      // q1 (a, R=2): 0a(1), 3b(2) / 4a... dists 1,2,3 → [a,b]: P@1 1, RP 1/2, MAP 1/2, RR 1.
      // q2 (b, R=1): 4a(1), 1a(2), 0a(3), 10b(7) → [a]: 0, 0, 0, RR 1/4.
      // q3 (a, R=2): 3b(1), 1a(3), 0a(4) → [b,a]: 0, 1/2, (1/2)/2 = 1/4, RR 1/2.
      // q4 (b, R=1): 11c(1), 4a(6), 3b(7) → [c]: 0, 0, 0, RR 1/3.
      // q5 (c): lone, excluded.
      const r = await onBackend(backend, () => {
        const emb = tf.tensor2d([[0], [1], [3], [4], [10], [11]]);
        const out = accuracy(emb, [0, 0, 1, 0, 1, 2], undefined, undefined, { nmi: false, ...silent });
        emb.dispose();
        return out;
      });
      assert.equal(r.lone_queries, 1);
      assert.equal(r.queries, 5);
      assertClose([r.precision_at_1, r.r_precision, r.mean_average_precision_at_r, r.mean_reciprocal_rank], [2 / 5, (0.5 + 0.5 + 0 + 0.5 + 0) / 5, (0.5 + 0.5 + 0 + 0.25 + 0) / 5, (1 + 1 + 0.25 + 0.5 + 1 / 3) / 5], 1e-6);
    });

    it(`separate reference set, per-class averaging and lone warning (${backend})`, async () => {
      const warnings: string[] = [];
      const r = await onBackend(backend, () => {
        const q = tf.tensor2d([[0], [5], [9], [4.5]]);
        const ref = tf.tensor2d([[1], [4], [6], [8]]);
        // Reference labels [0, 1, 0, 1], so R = 2 for labels 0 and 1.
        // q0 (x 0, label 0): order 1(0), 4(1) → P@1 1, RP 1/2, MAP 1/2.
        // q1 (x 5, label 1): 4 and 6 tie at 1, index order puts 4(1) first, then 6(0) → 1, 1/2, 1/2.
        // q2 (label 7): not in the reference → lone.
        // q3 (x 4.5, label 0): 4(1) at .5, 6(0) at 1.5 → 0, 1/2, (1/2)/2.
        // Per class: label 0 → (1/2, 1/2, 3/8), label 1 → (1, 1/2, 1/2); mean of the two.
        const out = accuracy(q, [0, 1, 7, 0], ref, [0, 1, 0, 1], { nmi: false, averaging: 'per_class', warn: (m) => warnings.push(m) });
        q.dispose();
        ref.dispose();
        return out;
      });
      assert.equal(warnings.length, 1);
      assert.match(warnings[0] as string, /1 of 4 queries/);
      assertClose([r.precision_at_1, r.r_precision, r.mean_average_precision_at_r], [0.75, 0.5, (3 / 8 + 1 / 2) / 2], 1e-6);
    });

    it(`agrees with a float64 sort-everything implementation on random inputs (${backend})`, async () => {
      const n = 240;
      const d = 6;
      const rng = createRng(7);
      const x = Float32Array.from({ length: n * d }, () => rng.normal());
      const labels = Int32Array.from({ length: n }, () => rng.int(12));
      labels[0] = 99; // one lone label
      const got = await onBackend(backend, () => {
        const emb = tf.tensor2d(x, [n, d]);
        const out = accuracy(emb, labels, undefined, undefined, { nmi: false, blockRows: 37, ...silent });
        emb.dispose();
        return out;
      });
      const want = bruteForceAccuracy(x, labels, d);
      assertClose([got.precision_at_1, got.r_precision, got.mean_average_precision_at_r, got.mean_reciprocal_rank], want, 1e-5);
    });
  }

  it('normalize: the same as L2-normalising the rows first (the order of cosine similarity)', () => {
    const rng = createRng(5);
    const rows = Array.from({ length: 60 }, () => Array.from({ length: 4 }, () => rng.normal(0, 1 + rng.next() * 5)));
    const labels = Array.from({ length: 60 }, (_, i) => i % 6);
    const unit = rows.map((r) => r.map((v) => v / Math.hypot(...r)));
    const a = tf.tensor2d(rows);
    const b = tf.tensor2d(unit);
    const got = accuracy(a, labels, undefined, undefined, { normalize: true, nmi: false });
    const want = bruteForceAccuracy(Float32Array.from(unit.flat()), Int32Array.from(labels), 4);
    const raw = accuracy(b, labels, undefined, undefined, { nmi: false });
    tf.dispose([a, b]);
    assertClose([got.precision_at_1, got.r_precision, got.mean_average_precision_at_r, got.mean_reciprocal_rank], want, 1e-5);
    assertClose([raw.mean_average_precision_at_r], [got.mean_average_precision_at_r], 1e-6);
  });

  it('NaN metrics when every query is lone; errors on bad input', () => {
    const emb = tf.tensor2d([[0], [1]]);
    const r = accuracy(emb, [0, 1], undefined, undefined, { nmi: false, ...silent });
    assert.ok(Number.isNaN(r.precision_at_1) && Number.isNaN(r.mean_average_precision_at_r));
    throwsInput(() => accuracy(emb, [0, 1, 2]), 'queryLabels', '2 labels');
    throwsInput(() => accuracy(emb, [0, 0.5]), 'queryLabels[1]', 'whole-number');
    const ref = tf.tensor2d([[0], [1], [2]]);
    throwsInput(() => accuracy(emb, [5, 6], ref, [0, 1, 2]), 'queryLabels', 'occurs in refLabels');
    throwsInput(() => accuracy(emb, [0, 1], ref, [0, 1]), 'refLabels', '3 labels');
    throwsInput(() => accuracy(emb, [0, 1], ref), 'ref', 'given together');
    const wide = tf.tensor2d([[0, 1]]);
    throwsInput(() => accuracy(emb, [0, 1], wide, [0]), 'ref', '1 columns');
    const nan = tf.tensor2d([[0], [NaN]]);
    throwsInput(() => accuracy(nan, [0, 0]), 'query', 'finite');
    tf.dispose([emb, ref, wide, nan]);
  });

  it('NMI is 1 for well-separated clusters matching the labels', () => {
    const rng = createRng(3);
    const centres = [
      [0, 0],
      [10, 0],
      [0, 10],
    ];
    const rows: number[][] = [];
    const labels: number[] = [];
    for (let i = 0; i < 60; i++) {
      const c = centres[i % 3] as number[];
      rows.push([(c[0] as number) + rng.normal(0, 0.3), (c[1] as number) + rng.normal(0, 0.3)]);
      labels.push(i % 3);
    }
    const emb = tf.tensor2d(rows);
    const r = accuracy(emb, labels, undefined, undefined, { seed: 1 });
    emb.dispose();
    assertClose([r.NMI, r.precision_at_1, r.mean_average_precision_at_r], [1, 1, 1], 1e-9);
  });
});

describe('rankNeighbours', () => {
  // Coordinates on a coarse grid give many tied distances; 9,000 references take the sampled-bound path (≥ 8,192).
  const grid = (rows: number, seed: number) => {
    const rng = createRng(seed);
    return Float32Array.from({ length: rows * 3 }, () => Math.floor(rng.uniform() * 6) / 2);
  };
  for (const backend of backends) {
    for (const selfIncluded of [true, false]) {
      it(`equals the row-by-row ranking, ties by index (${backend}, ${selfIncluded ? 'leave-one-out' : 'query vs reference'})`, async () => {
        await onBackend(backend, () => {
          const nr = 9000;
          const nq = selfIncluded ? nr : 700;
          const ref = tf.tensor2d(grid(nr, 1), [nr, 3]);
          const query = selfIncluded ? ref : tf.tensor2d(grid(nq, 2), [nq, 3]);
          const rng = createRng(3);
          const refLabels = Int32Array.from({ length: nr }, () => Math.floor(rng.uniform() * 40));
          const queryLabels = selfIncluded ? refLabels : Int32Array.from({ length: nq }, () => Math.floor(rng.uniform() * 45));
          // Mostly small k, some 0 (skipped), some large enough to miss the sampled bound.
          const k = Int32Array.from({ length: nq }, (_, i) => (i % 11 === 0 ? 0 : i % 13 === 0 ? 2000 : 1 + (i % 300)));
          const got = new Map<number, [number[], number]>();
          rankNeighbours(query, ref, selfIncluded, k, queryLabels, refLabels, (i, top, first) => got.set(i, [Array.from(top), first]), 500);
          const scratch = new Float32Array(nr);
          let visited = 0;
          forEachDistanceRow(query, ref, selfIncluded, (row, i) => {
            if ((k[i] as number) <= 0) {
              assert.equal(got.has(i), false, `query ${i} has k = 0`);
              return;
            }
            const label = queryLabels[i] as number;
            const want = rankRow(row, k[i] as number, scratch, (j) => refLabels[j] === label);
            const [top, first] = got.get(i) ?? [[], -1];
            assert.deepEqual(top, Array.from(want.top), `top of query ${i}`);
            assert.equal(first, want.firstRelevantRank, `first relevant rank of query ${i}`);
            visited++;
          });
          assert.equal(got.size, visited);
          tf.dispose(selfIncluded ? [ref] : [ref, query]);
        });
      });
    }
  }
});

describe('k-means, NMI and selection helpers', () => {
  it('NMI by hand: identical 1, independent 0, and a worked 4-sample case', () => {
    assertClose([normalizedMutualInfo([0, 0, 1, 1], [5, 5, 7, 7])], [1], 1e-12);
    assertClose([normalizedMutualInfo([0, 0, 1, 1], [0, 1, 0, 1])], [0], 1e-12);
    // H(a) = ln 2, H(b) = −(¾ln¾ + ¼ln¼), MI = ½ln(4/3) + ¼ln(2/3) + ¼ln 2.
    const ha = Math.log(2);
    const hb = -(0.75 * Math.log(0.75) + 0.25 * Math.log(0.25));
    const mi = 0.5 * Math.log(4 / 3) + 0.25 * Math.log(2 / 3) + 0.25 * Math.log(2);
    assertClose([normalizedMutualInfo([0, 0, 1, 1], [0, 0, 0, 1])], [mi / ((ha + hb) / 2)], 1e-12);
  });

  it('k-means is seeded and finds separated clusters', () => {
    const x = tf.tensor2d([[0], [0.1], [0.2], [5], [5.1], [9.9], [10]]);
    const a = kMeans(x, { k: 3, seed: 4 });
    const b = kMeans(x, { k: 3, seed: 4 });
    x.dispose();
    assert.deepEqual(a, b);
    assert.ok(a[0] === a[1] && a[1] === a[2] && a[3] === a[4] && a[5] === a[6]);
    assert.equal(new Set(a).size, 3);
  });

  it('kthSmallest and kSmallestIndices (ties by index)', () => {
    const rng = createRng(9);
    for (let trial = 0; trial < 20; trial++) {
      const v = Float32Array.from({ length: 50 }, () => rng.int(10));
      const sorted = [...v].sort((p, q) => p - q);
      const k = 1 + rng.int(50);
      assert.equal(kthSmallest(Float32Array.from(v), k), sorted[k - 1]);
      const idx = kSmallestIndices(v, k, new Float32Array(50));
      const want = [...v.keys()].sort((p, q) => (v[p] as number) - (v[q] as number) || p - q).slice(0, k);
      assert.deepEqual([...idx], want);
    }
  });

  it('rankRow on long rows (the sampled bound) with many ties: top k and the first relevant rank', () => {
    const rng = createRng(12);
    const n = 12000;
    const row = Float32Array.from({ length: n }, () => rng.int(3000));
    const order = [...row.keys()].sort((p, q) => (row[p] as number) - (row[q] as number) || p - q);
    const relevant = (j: number) => j % 97 === 5;
    for (const k of [1, 40, 1400]) {
      const { top, firstRelevantRank } = rankRow(row, k, new Float32Array(n), relevant);
      assert.deepEqual([...top], order.slice(0, k));
      assert.equal(firstRelevantRank, order.findIndex(relevant) + 1);
    }
  });
});
