import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BatchSampler, EpisodeSampler, MPerClassSampler, shuffledBatches } from '../../src/data/index.js';
import { throwsInput } from '../helpers.js';


/** `sizes[c]` samples of class c, class-major. */
function labelsOf(sizes: number[]): Int32Array {
  return Int32Array.from(sizes.flatMap((n, c) => new Array(n).fill(c)));
}

const asArrays = (batches: Iterable<Int32Array>): number[][] => Array.from(batches, (b) => Array.from(b));

describe('MPerClassSampler', () => {
  // Five classes; class 3 has only 2 samples, fewer than m = 4.
  const labels = labelsOf([10, 10, 10, 2, 10]);

  it('fills each batch with batchSize/m classes × m samples, with replacement only for small classes', () => {
    const s = new MPerClassSampler(labels, { m: 4, batchSize: 8, seed: 1, lengthBeforeNewIter: 203 });
    assert.equal(s.length, 200); // 203 rounded down to a multiple of 8
    assert.equal(s.numBatches, 25);
    const batches = asArrays(s.batches());
    assert.equal(batches.length, 25);
    let sawSmall = false;
    for (const b of batches) {
      assert.equal(b.length, 8);
      const blocks = [b.slice(0, 4), b.slice(4, 8)];
      const cls = blocks.map((blk) => {
        const cs = new Set(blk.map((i) => labels[i]));
        assert.equal(cs.size, 1, `block ${blk} mixes classes`);
        return [...cs][0]!;
      });
      assert.notEqual(cls[0], cls[1], 'two distinct classes per batch');
      blocks.forEach((blk, k) => {
        if (cls[k] === 3) {
          sawSmall = true;
          assert.ok(blk.every((i) => i === 30 || i === 31), 'class 3 has samples 30 and 31 only');
        } else assert.equal(new Set(blk).size, 4, 'no repeats in classes with ≥ m samples');
      });
    }
    assert.ok(sawSmall, 'class 3 drawn at least once in 25 batches');
  });

  it('defaults to 100000 samples per pass, like pytorch-metric-learning', () => {
    const s = new MPerClassSampler(labels, { m: 2, batchSize: 6, seed: 1 });
    assert.equal(s.length, 99996);
    assert.equal(s.numBatches, 16666);
  });

  it('is deterministic per seed; passes and seeds differ', () => {
    const opts = { m: 2, batchSize: 4, lengthBeforeNewIter: 40 };
    const a = new MPerClassSampler(labels, { ...opts, seed: 5 });
    const b = new MPerClassSampler(labels, { ...opts, seed: 5 });
    const a1 = asArrays(a.batches());
    assert.deepEqual(asArrays(b.batches()), a1);
    assert.deepEqual(asArrays(b.batches()), asArrays(a.batches()));
    assert.notDeepEqual(asArrays(a.batches()), a1, 'a new pass draws new batches');
    assert.notDeepEqual(asArrays(new MPerClassSampler(labels, { ...opts, seed: 6 }).batches()), a1);
  });

  it('rejects batch sizes not divisible by m or needing more classes than exist', () => {
    throwsInput(() => new MPerClassSampler(labels, { m: 4, batchSize: 10, seed: 1 }), 'batchSize', 'got 10', 'a multiple of m = 4');
    throwsInput(() => new MPerClassSampler(labels, { m: 4, batchSize: 24, seed: 1 }), 'batchSize', 'got 24', 'at most m × number of classes = 4 × 5 = 20');
    throwsInput(() => new MPerClassSampler(labels, { m: 0, batchSize: 4, seed: 1 }), 'm', 'positive integer');
    throwsInput(() => new MPerClassSampler(labels, { m: 2, batchSize: 8, seed: 1, lengthBeforeNewIter: 7 }), 'lengthBeforeNewIter', 'got 7', '≥ batchSize = 8');
    throwsInput(() => new MPerClassSampler([0, 1, -2], { m: 1, batchSize: 1, seed: 1 }), 'labels[2]');
  });
});

describe('EpisodeSampler', () => {
  // Classes 0..5 with 10 images, class 6 with 3 (too few for 1 shot + 3 queries).
  const labels = labelsOf([10, 10, 10, 10, 10, 10, 3]);

  it('draws N-way K-shot episodes with disjoint support and queries and remapped labels', () => {
    const s = new EpisodeSampler(labels, { ways: 5, shots: 1, queries: 3, seed: 4 });
    assert.deepEqual(s.eligibleClasses, [0, 1, 2, 3, 4, 5]);
    for (const ep of s.episodes(50)) {
      assert.equal(ep.classes.length, 5);
      assert.equal(new Set(ep.classes).size, 5);
      assert.ok(!ep.classes.includes(6), 'class 6 is not eligible');
      assert.equal(ep.supportIdx.length, 5);
      assert.equal(ep.queryIdx.length, 15);
      assert.deepEqual(Array.from(ep.supportLabels), [0, 1, 2, 3, 4]);
      assert.deepEqual(Array.from(ep.queryLabels), [0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4]);
      ep.supportIdx.forEach((i, k) => assert.equal(labels[i], ep.classes[ep.supportLabels[k]!]));
      ep.queryIdx.forEach((i, k) => assert.equal(labels[i], ep.classes[ep.queryLabels[k]!]));
      const all = [...ep.supportIdx, ...ep.queryIdx];
      assert.equal(new Set(all).size, all.length, 'support and queries are distinct images');
    }
  });

  it('is deterministic per seed and differs across seeds', () => {
    const run = (seed: number) => [...new EpisodeSampler(labels, { ways: 3, shots: 2, queries: 2, seed }).episodes(5)];
    assert.deepEqual(run(9), run(9));
    assert.notDeepEqual(run(10), run(9));
  });

  it('restricts draws to the given classes', () => {
    const s = new EpisodeSampler(labels, { ways: 3, shots: 5, queries: 5, seed: 1, classes: [4, 1, 2] });
    assert.deepEqual(s.eligibleClasses, [1, 2, 4]);
    for (const ep of s.episodes(10)) assert.deepEqual([...ep.classes].sort(), [1, 2, 4]);
  });

  it('errors when too few classes have shots + queries images', () => {
    throwsInput(() => new EpisodeSampler(labels, { ways: 7, shots: 1, queries: 3, seed: 1 }), 'ways', 'got 7', 'at most 6', 'shots + queries = 4', 'class 6 with 3');
    throwsInput(() => new EpisodeSampler(labels, { ways: 2, shots: 5, queries: 6, seed: 1 }), 'at most 0');
    throwsInput(() => new EpisodeSampler(labels, { ways: 2, shots: 0, queries: 1, seed: 1 }), 'shots', 'positive integer');
    throwsInput(() => new EpisodeSampler(labels, { ways: 2, shots: 1, queries: -1, seed: 1 }), 'queries');
    throwsInput(() => new EpisodeSampler(labels, { ways: 2, shots: 1, queries: 1, seed: 1, classes: [0, 9] }), 'classes', '9 is not');
  });
});

describe('BatchSampler and shuffledBatches', () => {
  it('covers 0..n-1 once per epoch in batches of batchSize, the last one smaller', () => {
    const batches = shuffledBatches(10, 4, 3);
    assert.deepEqual(batches.map((b) => b.length), [4, 4, 2]);
    assert.deepEqual(batches.flatMap((b) => Array.from(b)).sort((a, b) => a - b), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    assert.notDeepEqual(batches.flatMap((b) => Array.from(b)), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    assert.deepEqual(shuffledBatches(10, 4, 3, { dropLast: true }).map((b) => b.length), [4, 4]);
  });

  it('is deterministic per seed, epochs differ, shuffle: false keeps order', () => {
    assert.deepEqual(asArrays(shuffledBatches(20, 6, 1)), asArrays(shuffledBatches(20, 6, 1)));
    assert.notDeepEqual(asArrays(shuffledBatches(20, 6, 2)), asArrays(shuffledBatches(20, 6, 1)));
    const s = new BatchSampler(20, { batchSize: 6, seed: 1 });
    assert.equal(s.numBatches, 4);
    const e1 = asArrays(s.batches());
    assert.deepEqual(e1, asArrays(shuffledBatches(20, 6, 1)));
    assert.notDeepEqual(asArrays(s.batches()), e1);
    assert.deepEqual(asArrays(new BatchSampler(5, { batchSize: 2, seed: 1, shuffle: false }).batches()), [[0, 1], [2, 3], [4]]);
    assert.deepEqual(asArrays(shuffledBatches(0, 3, 1)), []);
  });

  it('rejects bad sizes', () => {
    throwsInput(() => shuffledBatches(10, 0, 1), 'batchSize', 'got 0', 'positive integer');
    throwsInput(() => shuffledBatches(-1, 2, 1), 'n', 'non-negative integer');
  });
});
