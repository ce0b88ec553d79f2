/**
 * Exact nearest-neighbour retrieval by blocked matrix products: a block of query
 * rows against the whole reference set at a time (`‖q‖² + ‖r‖² − 2qᵀr` on the
 * tensor backend), each row then ranked on the CPU. Memory is one
 * `blockRows × R` block, never the full query × reference matrix.
 *
 * On the native backend the ranking runs in the addon, one row per thread at a
 * time ({@link rankNeighbours}).
 *
 * Order among tied distances is by reference index (lowest first), which makes
 * results deterministic; pytorch-metric-learning leaves tie order to its kNN
 * backend.
 */
import { tf } from '../engine/core.js';
import { platform } from '../platform.js';
import { check } from '../errors.js';

/** Floats per distance block (64 MiB of float32). */
const BLOCK_FLOATS = 16 * 1024 * 1024;

/** Query rows per distance block against `refRows` references: `blockRows` when given (checked), else a 64 MiB block. */
function distanceBlockRows(refRows: number, blockRows: number | undefined): number {
  const rows = blockRows ?? Math.max(1, Math.min(4096, Math.floor(BLOCK_FLOATS / refRows)));
  check(Number.isInteger(rows) && rows > 0, 'blockRows', blockRows, 'a positive integer');
  return rows;
}

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
  const rows = distanceBlockRows(nr, blockRows);
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

/**
 * Ranks every query's neighbours: calls `visit(queryIndex, top, firstRelevantRank)`
 * with the `k[queryIndex]` nearest reference indices (nearest first, ties by
 * index) and the 1-based rank of the nearest reference with the query's label
 * (0 when none has it); queries with `k ≤ 0` are not visited. `top` is reused:
 * copy what you keep. On the native backend the rows of each block are
 * converted and ranked in the addon, spread over its threads; elsewhere by
 * {@link forEachDistanceRow} and {@link rankRow}. Both give the same numbers.
 */
export function rankNeighbours(
  query: tf.Tensor2D,
  ref: tf.Tensor2D,
  selfIncluded: boolean,
  k: Int32Array,
  queryLabels: Int32Array,
  refLabels: Int32Array,
  visit: (queryIndex: number, top: Int32Array, firstRelevantRank: number) => void,
  blockRows?: number,
): void {
  const [nq] = query.shape;
  const [nr] = ref.shape;
  check(k.length === nq && queryLabels.length === nq, 'k', k.length, `one entry per query row (${nq}), as queryLabels`);
  check(refLabels.length === nr, 'refLabels', refLabels.length, `one label per reference row (${nr})`);
  const native = platform().rankRows?.();
  if (native === undefined) {
    const scratch = new Float32Array(nr);
    forEachDistanceRow(
      query,
      ref,
      selfIncluded,
      (row, i) => {
        const ki = k[i] as number;
        if (ki <= 0) return;
        const label = queryLabels[i] as number;
        const { top, firstRelevantRank } = rankRow(row, ki, scratch, (j) => refLabels[j] === label);
        visit(i, top, firstRelevantRank);
      },
      blockRows,
    );
    return;
  }
  const rows = distanceBlockRows(nr, blockRows);
  const refSq = squaredNorms(ref);
  const querySq = selfIncluded ? refSq : squaredNorms(query);
  const dim = query.shape[1];
  const queryValues = query.dataSync() as Float32Array;
  const refValues = selfIncluded ? queryValues : (ref.dataSync() as Float32Array);
  // One block buffer for the whole run: the addon writes the products and distances into it.
  const scratch = new Float32Array(Math.min(rows, nq) * nr);
  const first = new Int32Array(rows);
  for (let start = 0; start < nq; start += rows) {
    const size = Math.min(rows, nq - start);
    const kBlock = k.subarray(start, start + size);
    let kStride = 0;
    for (const ki of kBlock) kStride = Math.max(kStride, Math.min(ki, nr));
    if (kStride === 0) continue;
    const top = new Int32Array(size * kStride);
    native(
      queryValues.subarray(start * dim, (start + size) * dim),
      refValues,
      querySq.subarray(start, start + size),
      refSq,
      kBlock,
      queryLabels.subarray(start, start + size),
      refLabels,
      top,
      first,
      scratch,
      Int32Array.of(size, nr, dim, kStride, selfIncluded ? start : -1),
    );
    for (let i = 0; i < size; i++) {
      const ki = Math.min(kBlock[i] as number, nr);
      if (ki > 0) visit(start + i, top.subarray(i * kStride, i * kStride + ki), first[i] as number);
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

/**
 * Indices of the `k` smallest entries of `row` in ascending (distance, index)
 * order. Distances must be ≥ 0 (or +Infinity). `scratch` must hold `row.length` floats.
 */
export function kSmallestIndices(row: Float32Array, k: number, scratch: Float32Array): Int32Array {
  return rankRow(row, k, scratch).top;
}

/** What {@link rankRow} finds in one row. */
export interface RankedRow {
  /** The k nearest reference indices, nearest first, ties by index. */
  top: Int32Array;
  /** 1-based rank of the nearest entry flagged in `relevant` (0 when none is). */
  firstRelevantRank: number;
}

/**
 * The `k` nearest entries of a distance row and, when `relevant` flags some
 * entries (e.g. same label as the query), the exact rank of the nearest
 * flagged one, in (distance, index) order — three passes over the row.
 * Distances must be ≥ 0 (or +Infinity). `scratch` must hold `row.length` floats.
 */
export function rankRow(row: Float32Array, k: number, scratch: Float32Array, relevant?: (j: number) => boolean): RankedRow {
  const n = row.length;
  k = Math.min(Math.max(k, 0), n);
  // Pass 1: an upper bound for the k-th value from a strided sample, the values below it, and the nearest relevant entry.
  let bound = Infinity;
  if (n >= 8192 && k * 8 <= n) {
    const stride = Math.floor(n / 2048);
    let m = 0;
    for (let j = 0; j < n; j += stride) scratch[m++] = row[j] as number;
    bound = kthSmallest(scratch.subarray(0, m), Math.min(m, Math.ceil((k * m * 1.5) / n) + 16));
  }
  let below = 0;
  let best = Infinity;
  let bestIdx = -1;
  for (let j = 0; j < n; j++) {
    const v = row[j] as number;
    if (v <= bound) scratch[below++] = v;
    if (relevant !== undefined && v < best && relevant(j)) {
      best = v;
      bestIdx = j;
    }
  }
  if (bestIdx < 0 && relevant !== undefined) {
    // Relevant entries all at +Infinity (or none): the first flagged index, if any, ranks after every finite entry.
    for (let j = 0; j < n && bestIdx < 0; j++) if (relevant(j)) bestIdx = j;
  }
  let threshold = 0;
  if (k > 0) {
    if (below < k) {
      scratch.set(row);
      below = n;
    }
    threshold = kthSmallest(scratch.subarray(0, below), k);
  }
  // Pass 2: everything below the threshold (in index order), the indices at the threshold, and the
  // rank of the nearest relevant entry. Non-negative float32 values order like their bit patterns,
  // so a stable radix sort of the bits keeps index order among equal distances.
  const bits = new Uint32Array(row.buffer, row.byteOffset, n);
  const keyBits = new Uint32Array(k);
  const keyIdx = new Int32Array(k);
  let m = 0;
  const ties: number[] = [];
  let before = 0;
  for (let j = 0; j < n; j++) {
    const v = row[j] as number;
    if (v < threshold) {
      keyBits[m] = bits[j] as number;
      keyIdx[m++] = j;
    } else if (v === threshold && ties.length < k) ties.push(j);
    if (v < best || (v === best && j < bestIdx)) before++;
  }
  F32[0] = threshold;
  const thresholdBits = U32[0] as number;
  for (let t = 0; t < ties.length && m < k; t++) {
    keyBits[m] = thresholdBits;
    keyIdx[m++] = ties[t] as number;
  }
  return { top: radixOrder(keyBits.subarray(0, m), keyIdx.subarray(0, m)), firstRelevantRank: bestIdx >= 0 ? before + 1 : 0 };
}

/**
 * `idx` reordered by ascending `keys` (31-bit unsigned), stably: three LSD passes
 * of 11, 11 and 10 bits. Linear in the length, which matters when R is in the thousands.
 */
function radixOrder(keys: Uint32Array, idx: Int32Array): Int32Array {
  const m = keys.length;
  let kSrc = Uint32Array.from(keys);
  let iSrc = Int32Array.from(idx);
  let kDst = new Uint32Array(m);
  let iDst = new Int32Array(m);
  const counts = new Int32Array(2048);
  for (const [shift, width] of [
    [0, 11],
    [11, 11],
    [22, 10],
  ] as const) {
    const mask = (1 << width) - 1;
    counts.fill(0);
    for (let t = 0; t < m; t++) counts[((kSrc[t] as number) >>> shift) & mask]++;
    let sum = 0;
    for (let b = 0; b <= mask; b++) {
      const c = counts[b] as number;
      counts[b] = sum;
      sum += c;
    }
    for (let t = 0; t < m; t++) {
      const b = ((kSrc[t] as number) >>> shift) & mask;
      const at = counts[b] as number;
      counts[b] = at + 1;
      kDst[at] = kSrc[t] as number;
      iDst[at] = iSrc[t] as number;
    }
    [kSrc, kDst] = [kDst, kSrc];
    [iSrc, iDst] = [iDst, iSrc];
  }
  return iSrc;
}

