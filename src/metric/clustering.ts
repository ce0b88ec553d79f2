/**
 * Seeded k-means and normalised mutual information, for the NMI accuracy metric
 * (pytorch-metric-learning clusters the query embeddings into as many clusters
 * as there are query labels, 20 iterations, and scores with scikit-learn's NMI).
 */
import { createRng } from '../engine/core.js';
import { tf } from '../engine/core.js';
import { check } from '../errors.js';

/** Options of {@link kMeans}. */
export interface KMeansOptions {
  /** Number of clusters. */
  k: number;
  /** Lloyd iterations after the k-means++ initialisation; default 20 (as faiss in pytorch-metric-learning). */
  iterations?: number;
  /** Seed of the k-means++ initialisation; default 0. */
  seed?: number;
}

/**
 * Lloyd's k-means with k-means++ initialisation (Arthur & Vassilvitskii 2007),
 * seeded. Assignments use blocked matrix products on the tensor backend; a
 * cluster that empties keeps its previous centre. Returns the cluster of each row.
 */
export function kMeans(x: tf.Tensor2D, options: KMeansOptions): Int32Array {
  const [n, d] = x.shape;
  const { k, iterations = 20, seed = 0 } = options;
  check(Number.isInteger(k) && k >= 1 && k <= n, 'k', k, `an integer in [1, ${n}] (the number of rows)`);
  check(Number.isInteger(iterations) && iterations >= 0, 'iterations', iterations, 'a non-negative integer');
  const data = x.dataSync() as Float32Array;
  const rng = createRng(seed);
  const centres = new Float32Array(k * d);
  // k-means++: each next centre drawn with probability ∝ squared distance to the nearest chosen one.
  const nearest = new Float64Array(n).fill(Infinity);
  let chosen = rng.int(n);
  for (let c = 0; c < k; c++) {
    centres.set(data.subarray(chosen * d, (chosen + 1) * d), c * d);
    let total = 0;
    for (let i = 0; i < n; i++) {
      let s = 0;
      for (let t = 0; t < d; t++) {
        const diff = (data[i * d + t] as number) - (centres[c * d + t] as number);
        s += diff * diff;
      }
      if (s < (nearest[i] as number)) nearest[i] = s;
      total += nearest[i] as number;
    }
    if (c + 1 === k) break;
    if (total <= 0) {
      chosen = rng.int(n);
      continue;
    }
    let u = rng.next() * total;
    chosen = n - 1;
    for (let i = 0; i < n; i++) {
      u -= nearest[i] as number;
      if (u < 0) {
        chosen = i;
        break;
      }
    }
  }
  let assign = assignClusters(x, centres, k);
  for (let it = 0; it < iterations; it++) {
    const sums = new Float64Array(k * d);
    const counts = new Int32Array(k);
    for (let i = 0; i < n; i++) {
      const c = assign[i] as number;
      counts[c]++;
      for (let t = 0; t < d; t++) sums[c * d + t] += data[i * d + t] as number;
    }
    for (let c = 0; c < k; c++) {
      const m = counts[c] as number;
      if (m > 0) for (let t = 0; t < d; t++) centres[c * d + t] = (sums[c * d + t] as number) / m;
    }
    const next = assignClusters(x, centres, k);
    let changed = false;
    for (let i = 0; i < n && !changed; i++) changed = next[i] !== assign[i];
    assign = next;
    if (!changed) break;
  }
  return assign;
}

function assignClusters(x: tf.Tensor2D, centres: Float32Array, k: number): Int32Array {
  const [n, d] = x.shape;
  const out = new Int32Array(n);
  const block = Math.max(1, Math.floor((4 * 1024 * 1024) / k));
  const c = tf.tensor2d(centres, [k, d]);
  const cSq = tf.tidy(() => tf.transpose(tf.sum(tf.square(c), 1, true)));
  try {
    for (let start = 0; start < n; start += block) {
      const size = Math.min(block, n - start);
      const idx = tf.tidy(() => tf.argMin(tf.sub(cSq, tf.mul(2, tf.matMul(tf.slice(x, [start, 0], [size, -1]), c, false, true))), 1));
      out.set(idx.dataSync() as Int32Array, start);
      idx.dispose();
    }
  } finally {
    c.dispose();
    cSq.dispose();
  }
  return out;
}

/**
 * Normalised mutual information between two labelings,
 * `MI(U, V) / mean(H(U), H(V))` (scikit-learn's default arithmetic
 * normalisation); 1 when both labelings have a single cluster.
 */
export function normalizedMutualInfo(a: ArrayLike<number>, b: ArrayLike<number>): number {
  check(a.length === b.length && a.length > 0, 'labelings', [a.length, b.length], 'two non-empty labelings of equal length');
  const n = a.length;
  const joint = new Map<string, number>();
  const ca = new Map<number, number>();
  const cb = new Map<number, number>();
  for (let i = 0; i < n; i++) {
    const x = a[i] as number;
    const y = b[i] as number;
    ca.set(x, (ca.get(x) ?? 0) + 1);
    cb.set(y, (cb.get(y) ?? 0) + 1);
    const key = `${x},${y}`;
    joint.set(key, (joint.get(key) ?? 0) + 1);
  }
  if (ca.size === 1 && cb.size === 1) return 1;
  const entropy = (counts: Map<number, number>) => {
    let h = 0;
    for (const c of counts.values()) h -= (c / n) * Math.log(c / n);
    return h;
  };
  let mi = 0;
  for (const [key, nij] of joint) {
    const [x, y] = key.split(',').map(Number) as [number, number];
    mi += (nij / n) * Math.log((n * nij) / ((ca.get(x) as number) * (cb.get(y) as number)));
  }
  const denom = (entropy(ca) + entropy(cb)) / 2;
  return denom > 0 ? Math.max(0, mi) / denom : 0;
}
