/**
 * The Hessian Penalty (Peebles et al., ECCV 2020): pushes the Hessian of a
 * generator's outputs with respect to its input towards a diagonal one, by
 * penalising the variance of second directional derivatives along random
 * Rademacher directions. For v with independent ±1 entries,
 * Var_v(vᵀHv) = 2·Σ_{i≠j} H_ij², zero exactly when H is diagonal.
 */
import { createRng, tf } from '../engine/core.js';
import { check } from '../errors.js';

/** A function of the latent input: one output tensor, or a list of activations whose penalties are summed. */
export type HessianTarget = (z: tf.Tensor) => tf.Tensor | tf.Tensor[];

/** Options of {@link hessianPenalty}. */
export interface HessianPenaltyOptions {
  /** Rademacher directions sampled (≥ 2; default 2, as the paper). */
  k?: number;
  /** Finite-difference step ε (default 0.1). The penalty scales as O(1/ε⁴) in λ terms: changing ε needs λ re-tuned. */
  epsilon?: number;
  /** How each activation's per-element variances become a scalar: 'max' over every element, batch included (default; the paper's ProGAN runs), or 'mean' (the BigGAN direction discovery). */
  reduction?: 'max' | 'mean';
  /**
   * Variance across the k samples: 'unbiased' (÷(k−1), default; PyTorch and NumPy reference code,
   * E = 2Σ_{i≠j}H_ij²) or 'biased' (÷k, `tf.nn.moments` as in the paper's TensorFlow/ProGAN code, for
   * which its λ = 0.1 / 0.025 were tuned; with k = 2 it is half the unbiased value).
   */
  variance?: 'unbiased' | 'biased';
  /** Seed of the Rademacher directions (default 0). */
  seed?: number;
  /** G(z) when the caller already has it (saves one forward pass). */
  gz?: tf.Tensor | tf.Tensor[];
}

function listify(x: tf.Tensor | tf.Tensor[]): tf.Tensor[] {
  return Array.isArray(x) ? x : [x];
}

/** Tensors of ±1 with z's shape, one per direction, drawn from `seed`. */
export function rademacher(shape: number[], count: number, seed: number): tf.Tensor[] {
  const rng = createRng(seed);
  const size = shape.reduce((a, b) => a * b, 1);
  return Array.from({ length: count }, () => tf.tensor(Float32Array.from({ length: size }, () => (rng.int(2) === 0 ? -1 : 1)), shape));
}

/**
 * Per-activation Hessian penalties of `G` at `z` (see {@link hessianPenalty}), in the order `G` returns its activations.
 */
export function hessianPenaltyPerLayer(G: HessianTarget, z: tf.Tensor, options: HessianPenaltyOptions = {}): tf.Scalar[] {
  const k = options.k ?? 2;
  const epsilon = options.epsilon ?? 0.1;
  const reduction = options.reduction ?? 'max';
  const variance = options.variance ?? 'unbiased';
  check(typeof G === 'function', 'G', G, 'a function of z returning a tensor or a list of tensors');
  check(z instanceof tf.Tensor && z.rank >= 1, 'z', z, 'a tensor (batch-first latent codes)');
  check(Number.isInteger(k) && k >= 2, 'k', k, 'an integer ≥ 2 (a variance needs two directions)');
  check(Number.isFinite(epsilon) && epsilon > 0, 'epsilon', epsilon, 'a positive finite-difference step');
  check(reduction === 'max' || reduction === 'mean', 'reduction', reduction, "'max' or 'mean'");
  check(variance === 'unbiased' || variance === 'biased', 'variance', variance, "'unbiased' or 'biased'");
  return tf.tidy(() => {
    const center = listify(options.gz ?? G(z));
    const directions = rademacher(z.shape, k, options.seed ?? 0);
    // d_i = (G(z + εv_i) − 2G(z) + G(z − εv_i)) / ε² ≈ v_iᵀ H v_i, per output element: 1 + 2k passes.
    const second: tf.Tensor[][] = center.map(() => []);
    for (const v of directions) {
      const step = tf.mul(v, epsilon);
      const plus = listify(G(tf.add(z, step)));
      const minus = listify(G(tf.sub(z, step)));
      check(plus.length === center.length && minus.length === center.length, 'G', `${plus.length} activations`, `the same number of activations on every call (${center.length})`);
      center.forEach((c, l) => {
        second[l]!.push(tf.div(tf.add(tf.sub(plus[l]!, tf.mul(2, c)), minus[l]!), epsilon * epsilon));
      });
    }
    return second.map((ds) => {
      const stack = tf.stack(ds);
      const mean = tf.mean(stack, 0);
      const perElement = tf.div(tf.sum(tf.square(tf.sub(stack, mean)), 0), variance === 'unbiased' ? k - 1 : k);
      return (reduction === 'max' ? tf.max(perElement) : tf.mean(perElement)) as tf.Scalar;
    });
  });
}

/**
 * The Hessian Penalty of `G` at `z` (Peebles et al. 2020, Eq. 5), estimated
 * with k Rademacher directions v_i and central finite differences:
 *
 *   d_i = (G(z + ε v_i) − 2 G(z) + G(z − ε v_i)) / ε²   (per output element, ≈ v_iᵀ H v_i)
 *   penalty = reduction(Var_i d_i)
 *
 * Defaults: k = 2, ε = 0.1, reduction 'max', unbiased variance (so for G = z₀·z₁
 * the expectation is 4). When `G` returns a list of activations, each gets its
 * own penalty and the penalties are summed. The result is differentiable with
 * respect to G's weights; any randomness in G must be the same on all 2k + 1 calls.
 */
export function hessianPenalty(G: HessianTarget, z: tf.Tensor, options: HessianPenaltyOptions = {}): tf.Scalar {
  return tf.tidy(() => tf.addN(hessianPenaltyPerLayer(G, z, options)) as tf.Scalar);
}
