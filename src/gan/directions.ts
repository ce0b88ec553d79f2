/**
 * Direction discovery in a frozen generator with the Hessian Penalty
 * (Peebles et al., ECCV 2020, §4.3 "Directions in a pretrained GAN"; the
 * reference is `biggan_discovery/discover.py`): learn a matrix A of latent
 * directions such that the generator's Hessian with respect to the coefficients
 * w of z' = z + w·Q, Q = GramSchmidt(A), is diagonal, so that each row of Q
 * moves one independent factor of the image. The generator's weights are not
 * touched; only A is optimised (Adam, lr 0.01). Plus {@link latentTraversal},
 * the image grid that shows what each direction does.
 */
import { createRng, tf, type Rng } from '../engine/core.js';
import { check, describeValue, EccvkitInputError } from '../errors.js';
import type { LatentGenerator } from './disentanglement.js';
import { hessianPenalty } from './hessian-penalty.js';

/** Initialisations of the direction matrix A in {@link discoverDirections}. */
export const DIRECTION_INITS = ['random', 'identity'] as const;
/** 'random' (He normal, the reference's default `--load_A random`) or 'identity' (`--load_A coords`). */
export type DirectionInit = (typeof DIRECTION_INITS)[number];

/** Rows shorter than this are left (near) zero by {@link gramSchmidt} instead of divided by ~0. */
const TINY_NORM = 1e-12;

/** Divides every row of `m` by its Euclidean norm (differentiable; a zero row stays zero). */
function normaliseRows(m: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => tf.div(m, tf.maximum(tf.norm(m, 'euclidean', 1, true), TINY_NORM)) as tf.Tensor2D);
}

/**
 * Gram–Schmidt orthonormalisation of the rows of `A` ([n, d], n ≤ d), in
 * order: row i of the result is row i of A minus its projections on the rows
 * before it, divided by its norm. So the result has orthonormal rows spanning
 * the same space as A's first rows, row by row (q₁ ∥ a₁, span(q₁..qᵢ) = span(a₁..aᵢ)).
 *
 * Classical Gram–Schmidt applied twice per row ("twice is enough", CGS2), which
 * is as accurate as the modified variant in float32 and costs two small
 * matrix products per row. Built from tf ops only, so gradients flow back to
 * `A` — the Hessian Penalty's direction discovery differentiates through it, as
 * the reference's `fast_gram_schmidt` (rows normalised to unit norm) is
 * differentiated by PyTorch. Rows must be linearly independent; a row that lies
 * in the span of the earlier ones comes out (near) zero instead of unit.
 *
 * @throws {@link EccvkitInputError} unless `A` is a 2-D float tensor with at most as many rows as columns
 */
export function gramSchmidt(A: tf.Tensor2D): tf.Tensor2D {
  check(A instanceof tf.Tensor && A.rank === 2 && A.dtype === 'float32', 'A', A, 'a 2-D float32 tensor [n, d] whose rows are orthonormalised');
  const [n, d] = A.shape;
  check(n >= 1 && n <= d, 'A', A, `at most as many rows as columns (${d}): more than ${d} orthonormal rows cannot exist in ${d} dimensions`);
  return tf.tidy(() => {
    const rows = tf.split(A, n, 0) as tf.Tensor2D[];
    const done: tf.Tensor2D[] = [];
    for (const a of rows) {
      let v = a;
      if (done.length > 0) {
        const Q = tf.concat(done, 0);
        for (let pass = 0; pass < 2; pass++) v = tf.sub(v, tf.matMul(tf.matMul(v, Q, false, true), Q));
      }
      done.push(normaliseRows(v));
    }
    return tf.concat(done, 0);
  });
}

/** Options of {@link discoverDirections}. */
export interface DiscoverDirectionsOptions {
  /** Size of G's latent code. */
  latentDim: number;
  /** Directions to learn: rows of A (≤ latentDim when `orthogonal`). The reference learns 120 in BigGAN's 120-d z. */
  directions: number;
  /** Adam steps on A (the reference: 50 epochs × 1000). */
  steps: number;
  /** Latent codes per step (default 32; the reference used 96 on 4 GPUs). */
  batchSize?: number;
  /** η: each code moves a distance ~ U[−pathSize, pathSize] along one direction (default 5, the reference's `path_size`). */
  pathSize?: number;
  /** Adam learning rate on A (default 0.01, the reference's `A_lr`). */
  learningRate?: number;
  /**
   * Orthonormalise A by Gram–Schmidt before every forward pass (default true). False is the
   * reference's `--no_ortho`: A is used as it is, unnormalised, in z + w·A (note that the penalty
   * then also falls by shrinking A, as it scales with ‖A‖⁴); only the returned rows are normalised.
   */
  orthogonal?: boolean;
  /** 'random' (default): He/Kaiming normal, N(0, 2/latentDim), the reference's `kaiming_normal_`; 'identity': the first rows of I (`--load_A coords`). */
  init?: DirectionInit;
  /** Seed of A's initialisation, the codes, directions, distances and Rademacher draws (default 0). */
  seed?: number;
  /** Rademacher directions of the Hessian Penalty (default 2, as the reference). */
  k?: number;
  /** Finite-difference step of the Hessian Penalty (default 0.1, as the reference). */
  epsilon?: number;
  /** Called after every step with the 1-based step number and that step's penalty. */
  onProgress?: (step: number, penalty: number) => void;
}

/** What {@link discoverDirections} returns. */
export interface DiscoveredDirections {
  /** [directions, latentDim], unit rows: Gram–Schmidt of the final A when orthogonal, A's rows normalised otherwise. The caller disposes it. */
  directions: tf.Tensor2D;
  /** The penalty of every step, in order (each from its own batch and Rademacher draws, so noisy). */
  penaltyHistory: number[];
}

function positiveInteger(v: unknown, argument: string): void {
  check(Number.isSafeInteger(v) && (v as number) >= 1, argument, v, 'a positive integer');
}

function positiveNumber(v: unknown, argument: string): void {
  check(typeof v === 'number' && Number.isFinite(v) && v > 0, argument, v, 'a positive finite number');
}

/** Calls G once on `batch` zero codes and checks it returns a tensor with that batch first; `what` describes the output needed. */
function probeGenerator(G: LatentGenerator, latentDim: number, batch: number, minRank: number, what: string): number[] {
  check(typeof G === 'function', 'G', G, 'a function mapping [batch, latentDim] codes to a tensor (e.g. a LayersModel’s apply)');
  let shape: number[] | undefined;
  let got: unknown;
  try {
    tf.tidy(() => {
      const out = G(tf.zeros([batch, latentDim]));
      got = out instanceof tf.Tensor ? out.shape : out;
      if (out instanceof tf.Tensor) shape = out.shape;
    });
  } catch (err) {
    if (err instanceof EccvkitInputError) throw err;
    throw new EccvkitInputError('G', G, `a function accepting [batch, ${latentDim}] codes (calling it on [${batch}, ${latentDim}] zeros threw: ${err instanceof Error ? err.message : String(err)})`);
  }
  if (shape === undefined || shape.length < minRank || shape[0] !== batch) throw new EccvkitInputError('G', `a function returning ${describeValue(got)} for [${batch}, ${latentDim}] codes`, what);
  return shape;
}

/** He (Kaiming) normal A: N(0, 2/fan_in) with fan_in = latentDim, as PyTorch's `kaiming_normal_` on an (ndirs, dim_z) matrix. */
function initialA(init: DirectionInit, directions: number, latentDim: number, rng: Rng): Float32Array {
  const values = new Float32Array(directions * latentDim);
  if (init === 'identity') for (let i = 0; i < directions; i++) values[i * latentDim + i] = 1;
  else {
    const std = Math.sqrt(2 / latentDim);
    for (let i = 0; i < values.length; i++) values[i] = rng.normal(0, std);
  }
  return values;
}

/**
 * Learns `directions` latent directions of a frozen generator `G` with the
 * Hessian Penalty, following the reference's BigGAN discovery recipe
 * (`biggan_discovery/discover.py`, paper §4.3):
 *
 * - a learnable A [directions, latentDim], He-normal (`init: 'random'`) or the
 *   first rows of the identity (`'identity'`);
 * - every step: z ~ N(0, I) [batchSize, latentDim]; w = one-hot on a random
 *   direction per code × a distance ~ U[−pathSize, pathSize];
 *   Q = GramSchmidt(A) (recomputed every step, differentiated through; A as it is
 *   when `orthogonal` is false, as `--no_ortho`);
 *   loss = HessianPenalty(w ↦ G(z + w·Q), w) with k = 2, ε = 0.1, mean reduction
 *   (the reference's default in that file), on G's output only, unbiased variance;
 * - Adam(learningRate) on A only: G's weights never change (they are not in the
 *   variable list, and G should run in inference mode — batch norm with its
 *   moving statistics, no dropout — because it is called 1 + 2k times per step
 *   and must be deterministic).
 *
 * The Hessian with respect to w is Q·H_z·Qᵀ, so the loss is small when each row
 * of Q moves the image along one factor that does not interact with the others.
 * Defaults follow the reference: batchSize 32 (96 there, on 4 GPUs), pathSize 5,
 * learningRate 0.01, orthogonal, random init, k 2, ε 0.1. Every draw comes from
 * `createRng(seed)`: same seed, same directions.
 *
 * @returns unit direction rows and the penalty of every step; the caller disposes `directions`
 * @throws {@link EccvkitInputError} naming the option when G is not a function returning a batch-first tensor,
 *   `directions` exceeds `latentDim` while orthogonal, a count or rate is not positive, or `init` is unknown
 */
export function discoverDirections(G: LatentGenerator, options: DiscoverDirectionsOptions): DiscoveredDirections {
  check(options !== null && typeof options === 'object', 'options', options, 'an object { latentDim, directions, steps, … }');
  const { latentDim, directions, steps } = options;
  const batchSize = options.batchSize ?? 32;
  const pathSize = options.pathSize ?? 5;
  const learningRate = options.learningRate ?? 0.01;
  const orthogonal = options.orthogonal ?? true;
  const init = options.init ?? 'random';
  const seed = options.seed ?? 0;
  const k = options.k ?? 2;
  const epsilon = options.epsilon ?? 0.1;
  const onProgress = options.onProgress;
  positiveInteger(latentDim, 'latentDim');
  positiveInteger(directions, 'directions');
  if (orthogonal)
    check(directions <= latentDim, 'directions', directions, `at most latentDim = ${latentDim} when orthogonal (orthonormal rows cannot outnumber the dimension; pass orthogonal: false for more)`);
  positiveInteger(steps, 'steps');
  positiveInteger(batchSize, 'batchSize');
  positiveNumber(pathSize, 'pathSize');
  positiveNumber(learningRate, 'learningRate');
  check(typeof orthogonal === 'boolean', 'orthogonal', orthogonal, 'true or false');
  check((DIRECTION_INITS as readonly unknown[]).includes(init), 'init', init, `one of ${DIRECTION_INITS.map((s) => `'${s}'`).join(', ')}`);
  check(typeof seed === 'number' && Number.isFinite(seed), 'seed', seed, 'a finite number');
  check(Number.isInteger(k) && k >= 2, 'k', k, 'an integer ≥ 2 (a variance needs two directions)');
  positiveNumber(epsilon, 'epsilon');
  check(onProgress === undefined || typeof onProgress === 'function', 'onProgress', onProgress, 'a function (step, penalty) or nothing');
  probeGenerator(G, latentDim, 1, 1, 'a tensor with the batch first');

  const rng = createRng(seed);
  const initial = tf.tensor2d(initialA(init, directions, latentDim, rng), [directions, latentDim]);
  const A = tf.variable(initial, true, undefined, 'float32');
  initial.dispose();
  const optimizer = tf.train.adam(learningRate);
  const penaltyHistory: number[] = [];
  try {
    for (let step = 1; step <= steps; step++) {
      const z = tf.tensor2d(Float32Array.from({ length: batchSize * latentDim }, () => rng.normal()), [batchSize, latentDim]);
      const wValues = new Float32Array(batchSize * directions);
      for (let n = 0; n < batchSize; n++) wValues[n * directions + rng.int(directions)] = rng.uniform(-pathSize, pathSize);
      const w = tf.tensor2d(wValues, [batchSize, directions]);
      const hpSeed = rng.seedInt();
      try {
        const cost = optimizer.minimize(
          () => {
            const Q = orthogonal ? gramSchmidt(A) : A;
            return hessianPenalty((wi) => G(tf.add(z, tf.matMul(wi as tf.Tensor2D, Q))), w, { k, epsilon, reduction: 'mean', seed: hpSeed });
          },
          true,
          [A],
        );
        const penalty = cost!.dataSync()[0] as number;
        cost!.dispose();
        penaltyHistory.push(penalty);
        onProgress?.(step, penalty);
      } finally {
        tf.dispose([z, w]);
      }
    }
    return { directions: orthogonal ? gramSchmidt(A) : normaliseRows(A), penaltyHistory };
  } finally {
    optimizer.dispose();
    A.dispose();
  }
}

/** Options of {@link latentTraversal}. */
export interface LatentTraversalOptions {
  /** Size of G's latent code. */
  latentDim: number;
  /** Directions as rows [rows, latentDim], used as given (default: the coordinate axes, rows = latentDim). */
  directions?: tf.Tensor2D;
  /** Each row goes from t = −range to +range (default 2); the reference's step values × path size. */
  range?: number;
  /** Images per row, t = linspace(−range, range, steps) (default 7). */
  steps?: number;
  /** The base code [1, latentDim] (default: N(0, I) drawn from `seed` when a seed is given, else zeros). */
  z?: tf.Tensor2D;
  /** Seed of the base code when `z` is not given. */
  seed?: number;
  /**
   * Remove the base code's component along each direction first, z − (z·q / q·q)·q, so row q
   * passes through the projection of z at t = 0 and t is the position along q — the reference's
   * `batch_directions(subtract_projection=True)` (default false: every row starts from z itself).
   */
  subtractProjection?: boolean;
  /** Codes per call of G (default 64). */
  batchSize?: number;
}

/** What {@link latentTraversal} returns: a row-major grid of images. */
export interface LatentTraversal {
  /** rows × cols images, NHWC, row-major (row r = direction r, column c = step c), in [0, 1]. */
  images: Float32Array;
  rows: number;
  cols: number;
  height: number;
  width: number;
  channels: number;
}

/**
 * The images along latent directions: for each direction q (a row of
 * `directions`, default each coordinate axis) a row of G(z + t·q) for t in
 * linspace(−range, range, steps), with G's outputs mapped from [−1, 1] to
 * [0, 1] ((x + 1)/2, clipped) — ready for `imageGridPng` with `cols = steps`.
 * With `subtractProjection`, z first loses its component along q, as the
 * reference's `batch_directions` (direction_utils.py) does by default.
 * G is called in chunks of `batchSize` codes and must return [batch, H, W, C].
 *
 * @throws {@link EccvkitInputError} naming the option on a G that does not return [batch, H, W, C],
 *   directions of the wrong width, a non-positive range or steps, or a base code of the wrong shape
 */
export function latentTraversal(G: LatentGenerator, options: LatentTraversalOptions): LatentTraversal {
  check(options !== null && typeof options === 'object', 'options', options, 'an object { latentDim, … }');
  const { latentDim } = options;
  const range = options.range ?? 2;
  const steps = options.steps ?? 7;
  const batchSize = options.batchSize ?? 64;
  positiveInteger(latentDim, 'latentDim');
  positiveNumber(range, 'range');
  positiveInteger(steps, 'steps');
  positiveInteger(batchSize, 'batchSize');
  const dirs = options.directions;
  check(
    dirs === undefined || (dirs instanceof tf.Tensor && dirs.rank === 2 && dirs.shape[0] >= 1 && dirs.shape[1] === latentDim),
    'directions',
    dirs,
    `a 2-D tensor [rows ≥ 1, latentDim = ${latentDim}] of direction rows`,
  );
  check(options.z === undefined || (options.z instanceof tf.Tensor && options.z.rank === 2 && options.z.shape[0] === 1 && options.z.shape[1] === latentDim), 'z', options.z, `a tensor [1, ${latentDim}]`);
  check(options.seed === undefined || (typeof options.seed === 'number' && Number.isFinite(options.seed)), 'seed', options.seed, 'a finite number');
  const shape = probeGenerator(G, latentDim, 1, 4, 'a function returning images [batch, H, W, C]');
  check(shape.length === 4, 'G', `a function returning [${shape.join(', ')}]`, 'images [batch, H, W, C]');
  const [, height, width, channels] = shape as [number, number, number, number];
  const rows = dirs === undefined ? latentDim : dirs.shape[0];
  const perImage = height * width * channels;
  const images = new Float32Array(rows * steps * perImage);

  const codes = tf.tidy(() => {
    const Qm = dirs ?? tf.eye(latentDim);
    let base: tf.Tensor2D;
    if (options.z !== undefined) base = options.z;
    else if (options.seed !== undefined) {
      const rng = createRng(options.seed);
      base = tf.tensor2d(Float32Array.from({ length: latentDim }, () => rng.normal()), [1, latentDim]);
    } else base = tf.zeros([1, latentDim]);
    // Per row: the base code (minus its projection on q when asked), [rows, latentDim].
    let starts: tf.Tensor2D = tf.tile(base, [rows, 1]);
    if (options.subtractProjection) {
      const coef = tf.div(tf.matMul(Qm, base, false, true), tf.maximum(tf.sum(tf.square(Qm), 1, true), TINY_NORM));
      starts = tf.sub(starts, tf.mul(coef, Qm));
    }
    const ts = tf.linspace(-range, range, steps);
    // codes[r, c] = starts[r] + t_c · q_r, flattened row-major to [rows·steps, latentDim].
    const moved = tf.add(tf.expandDims(starts, 1), tf.mul(tf.reshape(ts, [1, steps, 1]), tf.expandDims(Qm, 1)));
    return tf.reshape(moved, [rows * steps, latentDim]) as tf.Tensor2D;
  });
  try {
    const total = rows * steps;
    for (let start = 0; start < total; start += batchSize) {
      const count = Math.min(batchSize, total - start);
      const chunk = tf.tidy(() => {
        const out = G(tf.slice(codes, [start, 0], [count, latentDim]));
        check(out instanceof tf.Tensor && out.size === count * perImage, 'G', out, `images [${count}, ${height}, ${width}, ${channels}] for ${count} codes`);
        return tf.clipByValue(tf.div(tf.add(out, 1), 2), 0, 1);
      });
      images.set(chunk.dataSync(), start * perImage);
      chunk.dispose();
    }
  } finally {
    codes.dispose();
  }
  return { images, rows, cols: steps, height, width, channels };
}
