/**
 * Seeded train/test splits: stratified by class, class-disjoint (base / val /
 * novel classes for few-shot and metric learning), and k-fold over classes.
 * All returned index arrays are sorted ascending.
 */
import { createRng } from '../engine/rng.js';
import { check } from '../errors.js';
import { groupByClass } from './dataset.js';

function sortedIndices(parts: ArrayLike<number>[]): Int32Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Int32Array(n);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out.sort();
}

/**
 * Splits samples into train and test index sets with the class proportions kept
 * (stratified): in each class of `n_c` samples, a seeded random
 * `round(n_c · testFraction)` go to test, clamped to [1, n_c − 1] when `n_c ≥ 2`
 * so that every class with two or more samples appears on both sides (a class
 * with one sample goes to train). Same labels and seed, same split.
 *
 * @param testFraction in (0, 1), e.g. 0.2.
 * @returns ascending index arrays covering every sample exactly once.
 */
export function stratifiedSplit(labels: ArrayLike<number>, testFraction: number, seed: number): { train: Int32Array; test: Int32Array } {
  check(typeof testFraction === 'number' && testFraction > 0 && testFraction < 1, 'testFraction', testFraction, 'a number in (0, 1)');
  const byClass = groupByClass(labels);
  const rng = createRng(seed);
  const train: Int32Array[] = [];
  const test: Int32Array[] = [];
  for (const idx of byClass.values()) {
    const n = idx.length;
    let k = Math.round(n * testFraction);
    if (n >= 2) k = Math.min(Math.max(k, 1), n - 1);
    else k = 0;
    const perm = rng.permutation(n);
    const picked = perm.map((p) => idx[p] as number);
    test.push(picked.subarray(0, k));
    train.push(picked.subarray(k));
  }
  return { train: sortedIndices(train), test: sortedIndices(test) };
}

/** Options of {@link classDisjointSplit} and {@link partitionClasses}: exactly one of `fractions` and `counts`, and a seed. */
export interface ClassDisjointOptions {
  /** Share of the classes in each part, positive and summing to 1, e.g. [0.5, 0.25, 0.25]; each part gets at least one class. */
  fractions?: number[];
  /** Number of classes in each part, positive integers summing to the number of classes. */
  counts?: number[];
  seed: number;
}

function partCounts(numClasses: number, options: ClassDisjointOptions): number[] {
  const { fractions, counts } = options;
  check((fractions === undefined) !== (counts === undefined), 'fractions/counts', { fractions, counts }, 'exactly one of fractions and counts');
  if (counts !== undefined) {
    check(Array.isArray(counts) && counts.length > 0 && counts.every((c) => Number.isInteger(c) && c > 0), 'counts', counts, 'a non-empty list of positive integers');
    const total = counts.reduce((a, b) => a + b, 0);
    check(total === numClasses, 'counts', counts, `class counts summing to the number of classes, ${numClasses}`);
    return [...counts];
  }
  const fr = fractions as number[];
  check(Array.isArray(fr) && fr.length > 0 && fr.every((f) => typeof f === 'number' && f > 0), 'fractions', fr, 'a non-empty list of positive numbers');
  const sum = fr.reduce((a, b) => a + b, 0);
  check(Math.abs(sum - 1) < 1e-6, 'fractions', fr, 'fractions summing to 1');
  check(fr.length <= numClasses, 'fractions', fr, `at most ${numClasses} parts (one class each at least; there are ${numClasses} classes)`);
  // Largest remainder, with every part holding at least one class.
  const raw = fr.map((f) => (f / sum) * numClasses);
  const out = raw.map((r) => Math.max(1, Math.floor(r)));
  let left = numClasses - out.reduce((a, b) => a + b, 0);
  const order = raw.map((r, i) => ({ i, rem: r - Math.floor(r) })).sort((a, b) => b.rem - a.rem || a.i - b.i);
  for (let k = 0; left > 0; k = (k + 1) % order.length, left--) {
    const i = (order[k] as { i: number }).i;
    out[i] = (out[i] as number) + 1;
  }
  // Parts bumped up to one class may overshoot: take back from the largest parts.
  while (left < 0) {
    let big = 0;
    for (let i = 1; i < out.length; i++) if ((out[i] as number) > (out[big] as number)) big = i;
    out[big] = (out[big] as number) - 1;
    left++;
  }
  return out;
}

/**
 * Partitions the classes present in `labels` into disjoint sets that cover them
 * all (e.g. base / validation / novel classes): the classes are shuffled with
 * `seed` and cut into parts of the sizes given by `counts`, or by `fractions`
 * (largest-remainder rounding, at least one class per part). Each part is sorted.
 */
export function partitionClasses(labels: ArrayLike<number>, options: ClassDisjointOptions): number[][] {
  check(options !== null && typeof options === 'object', 'options', options, '{ fractions | counts, seed }');
  const classes = [...groupByClass(labels).keys()];
  check(classes.length > 0, 'labels', labels, 'at least one sample');
  const sizes = partCounts(classes.length, options);
  const perm = createRng(options.seed).permutation(classes.length);
  const out: number[][] = [];
  let at = 0;
  for (const s of sizes) {
    out.push(Array.from(perm.subarray(at, at + s), (p) => classes[p] as number).sort((a, b) => a - b));
    at += s;
  }
  return out;
}

/**
 * Splits samples by class into parts whose class sets are disjoint and together
 * cover every class (see {@link partitionClasses}, which gives the class sets for
 * the same options): returns, per part, the ascending indices of its samples.
 */
export function classDisjointSplit(labels: ArrayLike<number>, options: ClassDisjointOptions): Int32Array[] {
  const parts = partitionClasses(labels, options);
  const byClass = groupByClass(labels);
  return parts.map((cls) => sortedIndices(cls.map((c) => byClass.get(c) as Int32Array)));
}

/** One fold of {@link kFoldClasses}. */
export interface ClassFold {
  /** Classes trained on (all but `valClasses`), ascending. */
  trainClasses: number[];
  /** Classes held out in this fold, ascending. */
  valClasses: number[];
  /** Ascending indices of the samples of `trainClasses`. */
  train: Int32Array;
  /** Ascending indices of the samples of `valClasses`. */
  val: Int32Array;
}

/**
 * K-fold cross-validation over classes (as in Musgrave et al. 2020, "A Metric
 * Learning Reality Check"): the classes are shuffled with `seed` and dealt into
 * `k` folds whose sizes differ by at most one; fold `i` validates on its classes
 * and trains on all others, so every class is validated on exactly once.
 * @param k an integer in [2, number of classes].
 */
export function kFoldClasses(labels: ArrayLike<number>, k: number, seed: number): ClassFold[] {
  const byClass = groupByClass(labels);
  const classes = [...byClass.keys()];
  check(Number.isInteger(k) && k >= 2 && k <= classes.length, 'k', k, `an integer in [2, ${classes.length}] (the number of classes)`);
  const perm = createRng(seed).permutation(classes.length);
  const base = Math.floor(classes.length / k);
  const extra = classes.length % k;
  const folds: number[][] = [];
  let at = 0;
  for (let f = 0; f < k; f++) {
    const s = base + (f < extra ? 1 : 0);
    folds.push(Array.from(perm.subarray(at, at + s), (p) => classes[p] as number).sort((a, b) => a - b));
    at += s;
  }
  return folds.map((valClasses) => {
    const held = new Set(valClasses);
    const trainClasses = classes.filter((c) => !held.has(c));
    const gather = (cls: number[]): Int32Array => sortedIndices(cls.map((c) => byClass.get(c) as Int32Array));
    return { trainClasses, valClasses, train: gather(trainClasses), val: gather(valClasses) };
  });
}
