/**
 * Exact nearest-neighbour retrieval by blocked matrix products: a block of query
 * rows against the whole reference set at a time (`‖q‖² + ‖r‖² − 2qᵀr` on the
 * tensor backend), each row then ranked on the CPU. Memory is one
 * `blockRows × R` block, never the full query × reference matrix.
 *
 * Order among tied distances is by reference index (lowest first), which makes
 * results deterministic; pytorch-metric-learning leaves tie order to its kNN
 * backend.
 */
import { tf } from '../engine/index.js';
import { check } from '../errors.js';

/** Floats per distance block (64 MiB of float32). */
const BLOCK_FLOATS = 16 * 1024 * 1024;

/**
 * Calls `visit(row, queryIndex)` for every query with its squared Euclidean
 * distances to all reference rows (`row` is reused between calls: copy what
 * you keep). `selfIncluded`: the reference is the query set, and each query's
 * own entry is set to +Infinity, i.e. removed by index.
 */
export function forEachDistanceRow(
  query: tf.Tensor2D,
  ref: tf.Tensor2D,
  selfIncluded: boolean,
  visit: (row: Float32Array, queryIndex: number) => void,
  blockRows?: number,
): void {
  const [nq] = query.shape;
  const [nr] = ref.shape;
  const rows = blockRows ?? Math.max(1, Math.min(4096, Math.floor(BLOCK_FLOATS / nr)));
  check(Number.isInteger(rows) && rows > 0, 'blockRows', blockRows, 'a positive integer');
  // Only the products run on the backend; the norms are added on the CPU while each row is
  // visited anyway, which saves three elementwise passes over every block.
  const refSq = squaredNorms(ref);
  const querySq = selfIncluded ? refSq : squaredNorms(query);
  for (let start = 0; start < nq; start += rows) {
    const size = Math.min(rows, nq - start);
    const block = tf.tidy(() => tf.matMul(tf.slice(query, [start, 0], [size, -1]), ref, false, true));
    const values = block.dataSync() as Float32Array;
    block.dispose();
    for (let i = 0; i < size; i++) {
      const row = values.subarray(i * nr, (i + 1) * nr);
      const qs = querySq[start + i] as number;
      for (let j = 0; j < nr; j++) {
        const v = qs + (refSq[j] as number) - 2 * (row[j] as number);
        row[j] = v > 0 ? v : 0;
      }
      if (selfIncluded) row[start + i] = Infinity;
      visit(row, start + i);
    }
  }
}

function squaredNorms(x: tf.Tensor2D): Float32Array {
  const t = tf.tidy(() => tf.sum(tf.square(x), 1));
  const v = t.dataSync() as Float32Array;
  t.dispose();
  return v;
}

/**
 * The `k`-th smallest value of `values` (1-based), rearranging `values` in
 * place (Hoare quickselect with a median-of-three pivot).
 */
export function kthSmallest(values: Float32Array, k: number): number {
  let lo = 0;
  let hi = values.length - 1;
  const target = k - 1;
  while (hi > lo) {
    const mid = (lo + hi) >>> 1;
    const a = values[lo] as number;
    const b = values[mid] as number;
    const c = values[hi] as number;
    const pivot = a < b ? (b < c ? b : a < c ? c : a) : a < c ? a : b < c ? c : b;
    let i = lo;
    let j = hi;
    while (i <= j) {
      while ((values[i] as number) < pivot) i++;
      while ((values[j] as number) > pivot) j--;
      if (i <= j) {
        const t = values[i] as number;
        values[i] = values[j] as number;
        values[j] = t;
        i++;
        j--;
      }
    }
    if (target <= j) hi = j;
    else if (target >= i) lo = i;
    else return values[target] as number;
  }
  return values[target] as number;
}

const F32 = new Float32Array(1);
const U32 = new Uint32Array(F32.buffer);
/** Largest reference set whose indices fit beside a float32's bits in a float64 sort key. */
export const MAX_REFERENCE_ROWS = 2 ** 22;

/**
 * Indices of the `k` smallest entries of `row` in ascending (distance, index)
 * order. Distances must be ≥ 0 (or +Infinity). `scratch` must hold `row.length` floats.
 */
export function kSmallestIndices(row: Float32Array, k: number, scratch: Float32Array): Int32Array {
  const n = row.length;
  if (k <= 0) return new Int32Array(0);
  const threshold = kthValue(row, Math.min(k, n), scratch);
  // Everything below the threshold, then threshold ties in index order until k are taken.
  const keys = new Float64Array(Math.min(k, n));
  let m = 0;
  for (let j = 0; j < n; j++) if ((row[j] as number) < threshold) keys[m++] = key(row[j] as number, j);
  for (let j = 0; j < n && m < keys.length; j++) if (row[j] === threshold) keys[m++] = key(threshold, j);
  keys.sort();
  const out = new Int32Array(m);
  for (let t = 0; t < m; t++) out[t] = (keys[t] as number) % MAX_REFERENCE_ROWS;
  return out;
}

/**
 * The k-th smallest value of `row` without touching it. For long rows and small
 * k a strided sample gives an upper bound first, so the exact quickselect only
 * runs over the few values below it; otherwise (or when the bound falls short)
 * it runs over a copy of the whole row. Either way the result is exact.
 */
function kthValue(row: Float32Array, k: number, scratch: Float32Array): number {
  const n = row.length;
  if (n >= 8192 && k * 8 <= n) {
    const stride = Math.floor(n / 2048);
    let m = 0;
    for (let j = 0; j < n; j += stride) scratch[m++] = row[j] as number;
    const rank = Math.min(m, Math.ceil((k * m * 1.5) / n) + 16);
    const bound = kthSmallest(scratch.subarray(0, m), rank);
    let c = 0;
    for (let j = 0; j < n; j++) {
      const v = row[j] as number;
      if (v <= bound) scratch[c++] = v;
    }
    if (c >= k) return kthSmallest(scratch.subarray(0, c), k);
  }
  const work = scratch.subarray(0, n);
  work.set(row);
  return kthSmallest(work, k);
}

/** Sort key: the bits of a non-negative float32 (monotone as integers), then the index. */
function key(distance: number, index: number): number {
  F32[0] = distance;
  return (U32[0] as number) * MAX_REFERENCE_ROWS + index;
}
