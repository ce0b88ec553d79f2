/**
 * Sample-quality metrics on classifier features (no Inception, no internet):
 * Fréchet distance (Heusel et al. 2017), kernel inception distance (Bińkowski
 * et al. 2018; unbiased MMD² with the cubic kernel) and improved precision and
 * recall (Kynkäänniemi et al. 2019; k-nearest-neighbour manifolds).
 */
import { createRng, tf } from '../engine/core.js';
import { check } from '../errors.js';
import { matMulSquare, meanAndCovariance, symmetricEigen, symmetricSqrt, type SquareMatrix } from './linalg.js';

/** Features, one row per sample: a 2-D tensor, or row-major numbers with their shape. */
export type Features = tf.Tensor2D | { values: ArrayLike<number>; rows: number; cols: number };

/** Row-major Float64 copy of `features` with its shape. */
function asRows(features: Features, name: string): { values: Float64Array; rows: number; cols: number } {
  if (features instanceof tf.Tensor) {
    check(features.rank === 2, name, features, 'a 2-D tensor [samples, features]');
    return { values: Float64Array.from(features.dataSync()), rows: features.shape[0], cols: features.shape[1] };
  }
  const { values, rows, cols } = features ?? {};
  check(Number.isInteger(rows) && Number.isInteger(cols) && rows >= 1 && cols >= 1 && values?.length === rows * cols, name, features, '{ values, rows, cols } with rows·cols values');
  return { values: Float64Array.from(values), rows, cols };
}

/**
 * Fréchet distance between Gaussians N(μ₁, Σ₁) and N(μ₂, Σ₂):
 * ‖μ₁ − μ₂‖² + Tr(Σ₁ + Σ₂ − 2(Σ₁Σ₂)^½). The trace term is computed as
 * Tr √(A Σ₂ A) with A = √Σ₁ (TF-GAN's `trace_sqrt_product`): both roots are of
 * symmetric PSD matrices, taken by a Jacobi eigen-decomposition in Float64, so
 * no complex parts or non-convergence arise (pytorch-fid's scipy `sqrtm` needs
 * an ε·I retry for singular products).
 */
export function frechetDistanceFromMoments(mean1: ArrayLike<number>, cov1: SquareMatrix, mean2: ArrayLike<number>, cov2: SquareMatrix): number {
  const d = mean1.length;
  check(mean2.length === d && cov1.n === d && cov2.n === d, 'moments', { d1: d, d2: mean2.length, n1: cov1.n, n2: cov2.n }, 'means and covariances of one dimension');
  let meanTerm = 0;
  for (let i = 0; i < d; i++) meanTerm += ((mean1[i] as number) - (mean2[i] as number)) ** 2;
  let trace = 0;
  for (let i = 0; i < d; i++) trace += (cov1.values[i * d + i] as number) + (cov2.values[i * d + i] as number);
  const a = symmetricSqrt(cov1);
  const middle = symmetricEigen(matMulSquare(matMulSquare(a, cov2), a)).eigenvalues;
  let traceSqrt = 0;
  for (const l of middle) traceSqrt += Math.sqrt(Math.max(l, 0));
  return meanTerm + trace - 2 * traceSqrt;
}

/**
 * Fréchet distance between two feature sets (FID when the features are
 * Inception's; here a classifier trained on the real data), from their means
 * and unbiased covariances (÷(N − 1), as `np.cov`). Needs at least 2 rows each.
 */
export function frechetDistance(features1: Features, features2: Features): number {
  const a = asRows(features1, 'features1');
  const b = asRows(features2, 'features2');
  check(a.cols === b.cols, 'features2', `${b.cols} columns`, `${a.cols} columns like features1`);
  check(a.rows >= 2, 'features1', `${a.rows} rows`, 'at least 2 samples');
  check(b.rows >= 2, 'features2', `${b.rows} rows`, 'at least 2 samples');
  const m1 = meanAndCovariance(a.values, a.rows, a.cols);
  const m2 = meanAndCovariance(b.values, b.rows, b.cols);
  return frechetDistanceFromMoments(m1.mean, m1.covariance, m2.mean, m2.covariance);
}

/** Options of {@link kernelInceptionDistance}. */
export interface KidOptions {
  /** Samples per subset (default 1000, capped at the smaller set). */
  subsetSize?: number;
  /** Subsets averaged (default 100; TF-GAN and gan-metrics-pytorch). */
  subsets?: number;
  /** Seed of the subset draws (default 0). */
  seed?: number;
}

/** Unbiased MMD² with k(x, y) = (xᵀy/d + 1)³ between rows `ia` of a and `ib` of b. */
function mmdUnbiased(a: Float64Array, ia: number[], b: Float64Array, ib: number[], d: number): number {
  const kernel = (x: Float64Array, i: number, y: Float64Array, j: number) => {
    let dot = 0;
    for (let c = 0; c < d; c++) dot += (x[i * d + c] as number) * (y[j * d + c] as number);
    return (dot / d + 1) ** 3;
  };
  const m = ia.length;
  const n = ib.length;
  let kaa = 0;
  for (let p = 0; p < m; p++) for (let q = p + 1; q < m; q++) kaa += 2 * kernel(a, ia[p]!, a, ia[q]!);
  let kbb = 0;
  for (let p = 0; p < n; p++) for (let q = p + 1; q < n; q++) kbb += 2 * kernel(b, ib[p]!, b, ib[q]!);
  let kab = 0;
  for (const p of ia) for (const q of ib) kab += kernel(a, p, b, q);
  return kaa / (m * (m - 1)) + kbb / (n * (n - 1)) - (2 * kab) / (m * n);
}

/**
 * Kernel inception distance: the unbiased MMD² between two feature sets with
 * the cubic polynomial kernel k(x, y) = (xᵀy/d + 1)³, i.e. mean off-diagonal
 * K_rr + mean off-diagonal K_gg − 2·mean K_rg, averaged over `subsets` random
 * subsets of `subsetSize` rows of each set (without replacement within a
 * subset). Returns the mean and the standard deviation over subsets. Unbiased,
 * so it can be slightly negative when the sets match.
 */
export function kernelInceptionDistance(real: Features, fake: Features, options: KidOptions = {}): { mean: number; std: number } {
  const a = asRows(real, 'real');
  const b = asRows(fake, 'fake');
  check(a.cols === b.cols, 'fake', `${b.cols} columns`, `${a.cols} columns like real`);
  const subsetSize = Math.min(options.subsetSize ?? 1000, a.rows, b.rows);
  const subsets = options.subsets ?? 100;
  check(subsetSize >= 2, 'subsetSize', subsetSize, 'at least 2 (and both sets need 2 rows)');
  check(Number.isInteger(subsets) && subsets >= 1, 'subsets', subsets, 'an integer ≥ 1');
  const rng = createRng(options.seed ?? 0);
  const values: number[] = [];
  for (let s = 0; s < subsets; s++) {
    const ia = subsetSize === a.rows ? Array.from({ length: a.rows }, (_, i) => i) : rng.sample(a.rows, subsetSize);
    const ib = subsetSize === b.rows ? Array.from({ length: b.rows }, (_, i) => i) : rng.sample(b.rows, subsetSize);
    values.push(mmdUnbiased(a.values, ia, b.values, ib, a.cols));
  }
  const mean = values.reduce((x, y) => x + y, 0) / values.length;
  const std = Math.sqrt(values.reduce((x, y) => x + (y - mean) ** 2, 0) / values.length);
  return { mean, std };
}

/** Squared distances from each row of `queries` to its k-th nearest row of `reference`, skipping the row itself when both are the same set. */
function kthNeighbourDistances(set: tf.Tensor2D, k: number, blockRows = 1024): Float32Array {
  const n = set.shape[0];
  check(k >= 1 && k < n, 'k', k, `an integer in [1, ${n - 1}] (fewer than the ${n} samples)`);
  const out = new Float32Array(n);
  const norms = tf.tidy(() => tf.sum(tf.square(set), 1) as tf.Tensor1D);
  for (let start = 0; start < n; start += blockRows) {
    const rows = Math.min(blockRows, n - start);
    const kth = tf.tidy(() => {
      const q = tf.slice(set, [start, 0], [rows, -1]);
      const d2 = squaredDistances(q, tf.slice(norms, [start], [rows]) as tf.Tensor1D, set, norms);
      // The k+1 smallest include the row itself at distance 0.
      const { values } = tf.topk(tf.neg(d2), k + 1);
      return tf.neg(tf.slice(values, [0, k], [-1, 1]));
    });
    out.set(kth.dataSync(), start);
    kth.dispose();
  }
  norms.dispose();
  return out;
}

function squaredDistances(q: tf.Tensor2D, qNorms: tf.Tensor1D, r: tf.Tensor2D, rNorms: tf.Tensor1D): tf.Tensor2D {
  return tf.relu(tf.add(tf.sub(tf.expandDims(qNorms, 1), tf.mul(2, tf.matMul(q, r, false, true))), tf.expandDims(rNorms, 0))) as tf.Tensor2D;
}

/** Fraction of rows of `queries` inside some ball B(r_j, radius_j) of `reference`. */
function fractionInside(queries: tf.Tensor2D, reference: tf.Tensor2D, radii: Float32Array, blockRows = 1024): number {
  const n = queries.shape[0];
  let inside = 0;
  const rad = tf.tensor1d(radii);
  const rNorms = tf.tidy(() => tf.sum(tf.square(reference), 1) as tf.Tensor1D);
  for (let start = 0; start < n; start += blockRows) {
    const rows = Math.min(blockRows, n - start);
    const count = tf.tidy(() => {
      const q = tf.slice(queries, [start, 0], [rows, -1]);
      const d2 = squaredDistances(q, tf.sum(tf.square(q), 1) as tf.Tensor1D, reference, rNorms);
      return tf.sum(tf.cast(tf.any(tf.lessEqual(d2, tf.expandDims(rad, 0)), 1), 'int32'));
    });
    inside += count.dataSync()[0] as number;
    count.dispose();
  }
  tf.dispose([rad, rNorms]);
  return inside / n;
}

/**
 * Improved precision and recall (Kynkäänniemi et al. 2019): each set spans a
 * manifold, the union of balls around its samples with radius the (squared
 * Euclidean) distance to the sample's k-th nearest neighbour in the same set
 * (k = 3 by default). Precision is the fraction of generated samples inside
 * the real manifold; recall the fraction of real samples inside the generated one.
 */
export function precisionRecall(real: Features, fake: Features, options: { k?: number } = {}): { precision: number; recall: number } {
  const k = options.k ?? 3;
  check(Number.isInteger(k) && k >= 1, 'k', k, 'an integer ≥ 1');
  const a = asRows(real, 'real');
  const b = asRows(fake, 'fake');
  check(a.cols === b.cols, 'fake', `${b.cols} columns`, `${a.cols} columns like real`);
  const r = tf.tensor2d(Float32Array.from(a.values), [a.rows, a.cols]);
  const f = tf.tensor2d(Float32Array.from(b.values), [b.rows, b.cols]);
  try {
    const realRadii = kthNeighbourDistances(r, k);
    const fakeRadii = kthNeighbourDistances(f, k);
    return { precision: fractionInside(f, r, realRadii), recall: fractionInside(r, f, fakeRadii) };
  } finally {
    tf.dispose([r, f]);
  }
}

/** A model's outputs [N, D] for images, in batches of `batch`, as a plain row-major matrix (for FD, KID and the like). */
export function modelFeatures(model: tf.LayersModel, images: tf.Tensor4D, batch = 500): { values: Float32Array; rows: number; cols: number } {
  const n = images.shape[0];
  const parts: Float32Array[] = [];
  let cols = 0;
  for (let s = 0; s < n; s += batch) {
    const f = tf.tidy(() => model.predict(tf.slice(images, [s, 0, 0, 0], [Math.min(batch, n - s), -1, -1, -1])) as tf.Tensor2D);
    cols = f.shape[1];
    parts.push(Float32Array.from(f.dataSync()));
    f.dispose();
  }
  const values = new Float32Array(n * cols);
  let o = 0;
  for (const p of parts) {
    values.set(p, o);
    o += p.length;
  }
  return { values, rows: n, cols };
}
