/**
 * The Gradient Centralization operator (Yong, Huang, Hua and Zhang, "Gradient
 * Centralization: A New Optimization Technique for Deep Neural Networks",
 * ECCV 2020) for TensorFlow.js weight layouts.
 *
 * For the incoming weights w_i ∈ R^M of one output unit, GC replaces the
 * gradient g_i by g_i − mean(g_i), i.e. it projects it with P = I − e eᵀ,
 * e = 1/√M · 1. The reference code (PyTorch, out-first layout) averages over
 * every axis except the first. TF.js keeps the output axis last, so the rule
 * becomes "every axis except the last" for dense `[in, out]` and conv
 * `[k…, in, out]` kernels. Depthwise kernels `[kh, kw, in, mult]` are the
 * exception: each (in, mult) pair is its own output channel, so only the two
 * spatial axes are averaged (PyTorch's depthwise weight `(in·mult, 1, kh, kw)`
 * gives the same). One-dimensional parameters (biases, batch-norm scales and
 * offsets) are never centralised.
 */
import { tf } from '../engine/core.js';
import { check } from '../errors.js';

/**
 * The layout of a parameter as GC sees it.
 * - `dense`: `[in, out]`; averaged over axis 0.
 * - `conv`: `[k…, in, out]` (conv1d/2d/3d and conv2dTranspose); averaged over all axes but the last.
 * - `depthwise`: `[kh, kw, in, mult]` (depthwiseConv2d, separableConv2d's depthwise kernel); averaged over axes 0 and 1.
 * - `none`: left alone (biases, norm scales, embeddings).
 */
export type GcParameterKind = 'dense' | 'conv' | 'depthwise' | 'none';

/** {@link GcParameterKind} or `auto`: rank < 2 → `none`, otherwise all axes but the last. */
export type GcKind = GcParameterKind | 'auto';

/** Which parameters an optimizer centralises: none, conv kernels only (the paper's GCC), or conv and dense (GC). */
export type GcMode = 'off' | 'conv' | 'all';

export const GC_MODES: readonly GcMode[] = ['off', 'conv', 'all'];
export const GC_KINDS: readonly GcKind[] = ['auto', 'dense', 'conv', 'depthwise', 'none'];

/** Options of {@link centralizeGradient}. */
export interface CentralizeOptions {
  /** The parameter's layout; default `auto` (rank < 2 untouched, otherwise every axis but the last). */
  kind?: GcKind;
}

/**
 * The axes GC averages over for a parameter of `shape` and `kind`, or `null`
 * when the parameter is left alone.
 *
 * @throws {@link EccvkitInputError} when `kind` is unknown or does not fit the rank
 *   (`dense` needs rank 2, `conv` rank 3–5, `depthwise` rank 4).
 */
export function gcReduceAxes(shape: readonly number[], kind: GcKind = 'auto'): number[] | null {
  check(GC_KINDS.includes(kind), 'kind', kind, `one of ${GC_KINDS.join(', ')}`);
  const rank = shape.length;
  switch (kind) {
    case 'none':
      return null;
    case 'auto':
      return rank < 2 ? null : Array.from({ length: rank - 1 }, (_, i) => i);
    case 'dense':
      check(rank === 2, 'kind', `dense for shape [${shape.join(', ')}]`, 'a rank-2 [in, out] kernel for kind "dense"');
      return [0];
    case 'conv':
      check(rank >= 3 && rank <= 5, 'kind', `conv for shape [${shape.join(', ')}]`, 'a rank-3 to rank-5 [k…, in, out] kernel for kind "conv"');
      return Array.from({ length: rank - 1 }, (_, i) => i);
    case 'depthwise':
      check(rank === 4, 'kind', `depthwise for shape [${shape.join(', ')}]`, 'a rank-4 [kh, kw, in, mult] kernel for kind "depthwise"');
      return [0, 1];
  }
}

/**
 * Gradient Centralization of one gradient: `g − mean(g)` where the mean is
 * taken per output unit over the axes {@link gcReduceAxes} gives (Φ_GC in the
 * paper, Eq. 2). Returns a new tensor the caller owns; for a parameter that is
 * left alone it is a copy of `grad`.
 *
 * @example
 * const g = tf.tensor2d([[1, 2], [3, 6]]);   // [in = 2, out = 2]
 * centralizeGradient(g, { kind: 'dense' });   // [[-1, -2], [1, 2]]
 *
 * @throws {@link EccvkitInputError} when `grad` is not a float tensor or `kind` does not fit its rank.
 */
export function centralizeGradient<T extends tf.Tensor>(grad: T, options: CentralizeOptions = {}): T {
  check(grad instanceof tf.Tensor, 'grad', grad, 'a tf.Tensor');
  check(grad.dtype === 'float32', 'grad', grad, 'a float32 tensor');
  check(!grad.isDisposed, 'grad', 'a disposed tensor', 'a live tensor');
  const axes = gcReduceAxes(grad.shape, options.kind ?? 'auto');
  if (axes === null) return grad.clone();
  return tf.tidy(() => grad.sub(grad.mean(axes, true))) as T;
}

/**
 * The layout eccvkit's GC optimizers assume for a variable, from its name and
 * shape: rank < 2 → `none`; a name ending in `depthwise_kernel` (tfjs's
 * depthwiseConv2d and separableConv2d) → `depthwise`; a name ending in
 * `embeddings` → `none` (centring across a vocabulary is not GC); rank 2 →
 * `dense`; rank 3–5 → `conv`; anything else → `none`.
 */
export function defaultParameterKind(name: string, shape: readonly number[]): GcParameterKind {
  const rank = shape.length;
  if (rank < 2) return 'none';
  if (/(^|[/_])depthwise_kernel$/.test(name)) return rank === 4 ? 'depthwise' : 'none';
  if (/(^|\/)embeddings$/.test(name)) return 'none';
  if (rank === 2) return 'dense';
  if (rank <= 5) return 'conv';
  return 'none';
}

/**
 * Whether `mode` centralises a parameter of `kind` and `rank`. `all` (the
 * paper's GC) takes every dense, conv and depthwise kernel; `conv` (GCC)
 * takes kernels of rank ≥ 4 only, as the reference code's `ndim > 3` test
 * does, so conv1d kernels `[k, in, out]` are skipped there as in PyTorch.
 */
export function gcApplies(mode: GcMode, kind: GcParameterKind, rank: number): boolean {
  if (mode === 'off' || kind === 'none') return false;
  if (mode === 'all') return true;
  return kind === 'depthwise' || (kind === 'conv' && rank >= 4);
}
