import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { classDisjointSplit, groupByClass, kFoldClasses, partitionClasses, stratifiedSplit } from '../../src/data/index.js';
import { throwsInput } from '../helpers.js';


/** Labels with `sizes[c]` samples of class c, interleaved so indices are not grouped by class. */
function labelsOf(sizes: number[]): Int32Array {
  const out: number[] = [];
  const left = [...sizes];
  while (left.some((n) => n > 0)) left.forEach((n, c) => n > 0 && (out.push(c), (left[c] = n - 1)));
  return Int32Array.from(out);
}

function assertPartition(parts: Int32Array[], n: number): void {
  const seen = new Uint8Array(n);
  for (const p of parts) {
    for (let k = 0; k < p.length; k++) {
      if (k > 0) assert.ok(p[k - 1]! < p[k]!, 'ascending');
      assert.equal(seen[p[k]!], 0, `index ${p[k]} in two parts`);
      seen[p[k]!] = 1;
    }
  }
  assert.ok(seen.every((s) => s === 1), 'every index in some part');
}

const classesIn = (labels: Int32Array, idx: Int32Array): number[] => [...new Set(Array.from(idx, (i) => labels[i]!))].sort((a, b) => a - b);

describe('groupByClass', () => {
  it('groups indices by ascending label', () => {
    const g = groupByClass([2, 0, 2, 5]);
    assert.deepEqual([...g.keys()], [0, 2, 5]);
    assert.deepEqual(Array.from(g.get(2)!), [0, 2]);
    throwsInput(() => groupByClass([0, -1]), 'labels[1]', '-1', 'non-negative integer');
    throwsInput(() => groupByClass([0.5]), 'labels[0]', '0.5');
  });
});

describe('stratifiedSplit', () => {
  const labels = labelsOf([10, 5, 1, 2]);

  it('takes round(n_c · f) per class, at least one on each side, singletons to train', () => {
    const { train, test } = stratifiedSplit(labels, 0.2, 1);
    assertPartition([train, test], labels.length);
    const count = (idx: Int32Array, c: number): number => Array.from(idx).filter((i) => labels[i] === c).length;
    // Class sizes 10, 5, 1, 2 at 0.2: round → 2, 1, 0, 0; the 2-sample class is clamped up to 1.
    assert.deepEqual([0, 1, 2, 3].map((c) => count(test, c)), [2, 1, 0, 1]);
    assert.deepEqual([0, 1, 2, 3].map((c) => count(train, c)), [8, 4, 1, 1]);
  });

  it('is deterministic per seed and differs across seeds', () => {
    const a = stratifiedSplit(labels, 0.3, 7);
    assert.deepEqual(stratifiedSplit(labels, 0.3, 7), a);
    assert.notDeepEqual(stratifiedSplit(labels, 0.3, 8).test, a.test);
  });

  it('rejects fractions outside (0, 1)', () => {
    for (const f of [0, 1, -0.1, NaN]) throwsInput(() => stratifiedSplit(labels, f, 1), 'testFraction', 'a number in (0, 1)');
  });
});

describe('classDisjointSplit and partitionClasses', () => {
  const labels = labelsOf([3, 1, 4, 1, 5, 9, 2, 6, 5, 3]); // 10 classes

  it('splits 10 classes 5/3/2 for fractions [0.5, 0.25, 0.25] (largest remainder, ties to the earlier part)', () => {
    const classes = partitionClasses(labels, { fractions: [0.5, 0.25, 0.25], seed: 3 });
    assert.deepEqual(classes.map((c) => c.length), [5, 3, 2]);
    assert.deepEqual(classes.flat().sort((a, b) => a - b), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    const parts = classDisjointSplit(labels, { fractions: [0.5, 0.25, 0.25], seed: 3 });
    assertPartition(parts, labels.length);
    parts.forEach((p, k) => assert.deepEqual(classesIn(labels, p), classes[k]));
  });

  it('gives every part at least one class', () => {
    // Raw shares 9, 0.5, 0.5 → 9, 1, 1 = 11 → one taken back from the largest part.
    assert.deepEqual(partitionClasses(labels, { fractions: [0.9, 0.05, 0.05], seed: 1 }).map((c) => c.length), [8, 1, 1]);
  });

  it('uses counts exactly', () => {
    const parts = classDisjointSplit(labels, { counts: [6, 2, 2], seed: 5 });
    assert.deepEqual(parts.map((p) => classesIn(labels, p).length), [6, 2, 2]);
    assertPartition(parts, labels.length);
  });

  it('is deterministic per seed and differs across seeds', () => {
    const a = partitionClasses(labels, { counts: [5, 5], seed: 11 });
    assert.deepEqual(partitionClasses(labels, { counts: [5, 5], seed: 11 }), a);
    const others = [12, 13, 14].map((seed) => JSON.stringify(partitionClasses(labels, { counts: [5, 5], seed })));
    assert.ok(others.some((o) => o !== JSON.stringify(a)));
  });

  it('rejects bad fractions and counts', () => {
    throwsInput(() => classDisjointSplit(labels, { seed: 1 }), 'fractions/counts', 'exactly one');
    throwsInput(() => classDisjointSplit(labels, { fractions: [0.5, 0.5], counts: [5, 5], seed: 1 }), 'exactly one');
    throwsInput(() => classDisjointSplit(labels, { fractions: [0.5, 0.4], seed: 1 }), 'fractions', 'summing to 1');
    throwsInput(() => classDisjointSplit(labels, { fractions: [1, 0], seed: 1 }), 'fractions', 'positive');
    throwsInput(() => classDisjointSplit(labels, { fractions: new Array(11).fill(1 / 11), seed: 1 }), 'at most 10 parts');
    throwsInput(() => classDisjointSplit(labels, { counts: [5, 4], seed: 1 }), 'counts', '[5, 4]', 'summing to the number of classes, 10');
    throwsInput(() => classDisjointSplit(labels, { counts: [10, 0], seed: 1 }), 'counts', 'positive integers');
  });
});

describe('kFoldClasses', () => {
  const labels = labelsOf([3, 1, 4, 1, 5, 9, 2, 6, 5, 3]);

  it('deals 10 classes into 3 folds of 4, 3, 3, each validated once', () => {
    const folds = kFoldClasses(labels, 3, 2);
    assert.deepEqual(folds.map((f) => f.valClasses.length), [4, 3, 3]);
    assert.deepEqual(folds.flatMap((f) => f.valClasses).sort((a, b) => a - b), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    for (const f of folds) {
      assert.deepEqual([...f.trainClasses, ...f.valClasses].sort((a, b) => a - b), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
      assert.ok(f.valClasses.every((c) => !f.trainClasses.includes(c)));
      assertPartition([f.train, f.val], labels.length);
      assert.deepEqual(classesIn(labels, f.val), f.valClasses);
      assert.deepEqual(classesIn(labels, f.train), f.trainClasses);
    }
    assert.deepEqual(kFoldClasses(labels, 3, 2), folds);
    assert.notDeepEqual(kFoldClasses(labels, 3, 99).map((f) => f.valClasses), folds.map((f) => f.valClasses));
  });

  it('rejects k outside [2, classes]', () => {
    for (const k of [1, 11, 2.5]) throwsInput(() => kFoldClasses(labels, k, 1), 'k', String(k), 'an integer in [2, 10]');
  });
});
