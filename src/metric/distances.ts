/**
 * Distances between embeddings, after pytorch-metric-learning's `distances`
 * module: each one computes a query × reference matrix and knows which
 * direction is "closer", so one loss formula serves distances and similarities
 * through {@link Distance.margin} (x − y for a distance, y − x for a similarity).
 */
import { tf } from '../engine/core.js';
import { check } from '../errors.js';

/** Options shared by every distance. */
export interface DistanceOptions {
  /** L2-normalise both sets of embeddings before comparing them; default true (as in pytorch-metric-learning). */
  normalizeEmbeddings?: boolean;
}

/**
 * A pairwise distance or similarity. `inverted` is true for similarities
 * (larger = closer).
 */
export abstract class Distance {
  readonly normalizeEmbeddings: boolean;
  /** True for similarities: larger values mean closer. */
  abstract readonly inverted: boolean;
  /** Name for messages and configs. */
  abstract readonly name: string;

  constructor(options: DistanceOptions = {}) {
    check(options !== null && typeof options === 'object', 'options', options, 'a distance options object');
    this.normalizeEmbeddings = options.normalizeEmbeddings ?? true;
    check(typeof this.normalizeEmbeddings === 'boolean', 'normalizeEmbeddings', options.normalizeEmbeddings, 'a boolean');
  }

  /** The `[Q, R]` matrix of values between every query row and every reference row (reference defaults to the query). */
  matrix(query: tf.Tensor2D, ref?: tf.Tensor2D): tf.Tensor2D {
    return tf.tidy(() => {
      const q = this.normalizeEmbeddings ? l2Normalize(query) : query;
      const r = ref === undefined ? q : this.normalizeEmbeddings ? l2Normalize(ref) : ref;
      return this.compute(q, r);
    });
  }

  /** Values between row i of `a` and row i of `b` (same shapes), after the same normalisation. */
  paired(a: tf.Tensor2D, b: tf.Tensor2D): tf.Tensor1D {
    return tf.tidy(() => {
      const x = this.normalizeEmbeddings ? l2Normalize(a) : a;
      const y = this.normalizeEmbeddings ? l2Normalize(b) : b;
      return this.computePaired(x, y);
    });
  }

  protected abstract compute(q: tf.Tensor2D, r: tf.Tensor2D): tf.Tensor2D;
  protected abstract computePaired(a: tf.Tensor2D, b: tf.Tensor2D): tf.Tensor1D;

  /** How far `x` is from being as close as `y`: x − y for distances, y − x for similarities. */
  margin(x: tf.Tensor | number, y: tf.Tensor | number): tf.Tensor {
    return this.inverted ? tf.sub(y, x) : tf.sub(x, y);
  }

  /** The closer of two values element-wise: min for distances, max for similarities. */
  closest(x: tf.Tensor, y: tf.Tensor): tf.Tensor {
    return this.inverted ? tf.maximum(x, y) : tf.minimum(x, y);
  }
}

const NORM_EPS = 1e-12;

/**
 * Rows divided by their L2 norm (clamped below at 1e-12, like
 * `torch.nn.functional.normalize`). The norm is √max(Σx², 1e-24), the same
 * value as max(‖x‖, 1e-12) without tf.norm's abs and pow (pow's kernel and
 * gradient were a tenth of a small loss step).
 */
export function l2Normalize(x: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => tf.div(x, tf.sqrt(tf.maximum(tf.sum(tf.square(x), 1, true), NORM_EPS * NORM_EPS))) as tf.Tensor2D);
}

/**
 * sqrt that is 0 with zero gradient at 0: tfjs's sqrt gradient is dy / (2√x),
 * which gives 0/0 = NaN on the diagonal of a distance matrix even when that
 * entry is unused, and the NaN then spreads through the matmul gradient.
 */
function safeSqrt(x: tf.Tensor): tf.Tensor {
  const positive = tf.greater(x, 0);
  return tf.where(positive, tf.sqrt(tf.where(positive, x, tf.onesLike(x))), tf.zerosLike(x));
}

/** Options of {@link LpDistance}. */
export interface LpDistanceOptions extends DistanceOptions {
  /** The p of the Lp norm; default 2. */
  p?: number;
  /** The distance is raised to this power; default 1 (2 gives squared Euclidean). */
  power?: number;
}

/**
 * Lp distance `(Σ_d |x_d − y_d|^p)^(power/p)`, by default on L2-normalised
 * embeddings with p = 2 and power 1 (pytorch-metric-learning's `LpDistance`).
 * p = 2 uses `‖x‖² + ‖y‖² − 2x·y` (matrix products, any size); other p build a
 * `[Q, R, D]` difference tensor, so keep those to batch-sized inputs.
 */
export class LpDistance extends Distance {
  readonly inverted = false;
  readonly name = 'lp';
  readonly p: number;
  readonly power: number;

  constructor(options: LpDistanceOptions = {}) {
    super(options);
    this.p = options.p ?? 2;
    this.power = options.power ?? 1;
    check(typeof this.p === 'number' && this.p > 0 && Number.isFinite(this.p), 'p', options.p, 'a finite number > 0');
    check(typeof this.power === 'number' && this.power > 0 && Number.isFinite(this.power), 'power', options.power, 'a finite number > 0');
  }

  protected compute(q: tf.Tensor2D, r: tf.Tensor2D): tf.Tensor2D {
    if (this.p === 2) {
      const sq = tf.relu(tf.add(tf.sub(tf.sum(tf.square(q), 1, true), tf.mul(2, tf.matMul(q, r, false, true))), tf.transpose(tf.sum(tf.square(r), 1, true))));
      return this.fromSquared(sq) as tf.Tensor2D;
    }
    const diff = tf.abs(tf.sub(tf.expandDims(q, 1), tf.expandDims(r, 0)));
    return this.fromPowered(tf.sum(tf.pow(diff, this.p), 2)) as tf.Tensor2D;
  }

  protected computePaired(a: tf.Tensor2D, b: tf.Tensor2D): tf.Tensor1D {
    if (this.p === 2) return this.fromSquared(tf.sum(tf.square(tf.sub(a, b)), 1)) as tf.Tensor1D;
    return this.fromPowered(tf.sum(tf.pow(tf.abs(tf.sub(a, b)), this.p), 1)) as tf.Tensor1D;
  }

  private fromSquared(sq: tf.Tensor): tf.Tensor {
    if (this.power === 2) return sq;
    const d = safeSqrt(sq);
    return this.power === 1 ? d : tf.pow(d, this.power);
  }

  private fromPowered(s: tf.Tensor): tf.Tensor {
    // (Σ|·|^p)^(power/p), with the same zero guard as the square root.
    const positive = tf.greater(s, 0);
    return tf.where(positive, tf.pow(tf.where(positive, s, tf.onesLike(s)), this.power / this.p), tf.zerosLike(s));
  }
}

/** Dot product `x·y` (on L2-normalised embeddings by default, which makes it the cosine). */
export class DotProductSimilarity extends Distance {
  readonly inverted = true;
  readonly name: string = 'dot';

  protected compute(q: tf.Tensor2D, r: tf.Tensor2D): tf.Tensor2D {
    return tf.matMul(q, r, false, true);
  }

  protected computePaired(a: tf.Tensor2D, b: tf.Tensor2D): tf.Tensor1D {
    return tf.sum(tf.mul(a, b), 1);
  }
}

/** Cosine similarity: the dot product of L2-normalised embeddings (normalisation cannot be turned off). */
export class CosineSimilarity extends DotProductSimilarity {
  override readonly name = 'cosine';
  constructor(options: DistanceOptions = {}) {
    check(options?.normalizeEmbeddings !== false, 'normalizeEmbeddings', options?.normalizeEmbeddings, 'true (cosine similarity normalises by definition)');
    super({ ...options, normalizeEmbeddings: true });
  }
}

/**
 * Signal-to-noise-ratio distance (Yuan et al., CVPR 2019):
 * `var(x_i − x_j) / var(x_i)` for anchor (query) i, variances over the
 * embedding dimensions. On L2-normalised embeddings by default.
 */
export class SNRDistance extends Distance {
  readonly inverted = false;
  readonly name = 'snr';

  protected compute(q: tf.Tensor2D, r: tf.Tensor2D): tf.Tensor2D {
    const diffVar = tf.moments(tf.sub(tf.expandDims(q, 1), tf.expandDims(r, 0)), 2).variance;
    return tf.div(diffVar, tf.expandDims(tf.moments(q, 1).variance, 1)) as tf.Tensor2D;
  }

  protected computePaired(a: tf.Tensor2D, b: tf.Tensor2D): tf.Tensor1D {
    return tf.div(tf.moments(tf.sub(a, b), 1).variance, tf.moments(a, 1).variance) as tf.Tensor1D;
  }
}

/** Names accepted by {@link makeDistance} (the CLI and experiment configs use them). */
export const DISTANCE_NAMES = ['lp', 'cosine', 'dot', 'snr'] as const;
export type DistanceName = (typeof DISTANCE_NAMES)[number];

/** Builds a distance by name with its defaults. */
export function makeDistance(name: DistanceName, options: LpDistanceOptions = {}): Distance {
  switch (name) {
    case 'lp':
      return new LpDistance(options);
    case 'cosine':
      return new CosineSimilarity(options);
    case 'dot':
      return new DotProductSimilarity(options);
    case 'snr':
      return new SNRDistance(options);
    default:
      return check(false, 'distance', name, `one of ${DISTANCE_NAMES.join(', ')}`) as never;
  }
}

/** `LpDistance` exactly as the fused kernels compute it: p 2, power 1, on normalised embeddings (the losses' default). */
export function isDefaultLp(d: Distance): d is LpDistance {
  return d instanceof LpDistance && Object.getPrototypeOf(d) === LpDistance.prototype && d.p === 2 && d.power === 1 && d.normalizeEmbeddings;
}

/** `CosineSimilarity` on normalised embeddings, as the fused kernels compute it. */
export function isDefaultCosine(d: Distance): d is CosineSimilarity {
  return d instanceof CosineSimilarity && Object.getPrototypeOf(d) === CosineSimilarity.prototype && d.normalizeEmbeddings;
}
