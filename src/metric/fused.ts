/**
 * Fused metric losses: a loss's forward pass and its gradients in one backend
 * kernel, behind the same `loss.compute(...)`. A loss step composed of tfjs
 * ops runs about 300 kernels (distances, masks, gathers, log-sum-exps,
 * reductions and their gradients), and at a 128 × 64 batch their dispatch,
 * not their arithmetic, is the step: 2 ms of kernel time in a 7–8 ms step
 * on the native backend. Fused, the step is one kernel forward and one
 * multiply per input backward.
 *
 * Only a backend that registers {@link METRIC_LOSS_KERNEL} runs fused losses
 * (the native one does); elsewhere, and for any configuration outside the
 * ones each loss's `fusedSpec` accepts (non-default distance or reducer,
 * miner weights on weight losses…), the composed ops run as before. Both
 * give the same numbers to float rounding (test/metric/fused.test.ts).
 */
import { tf } from '../engine/core.js';
import { DISTANCE_MATRIX_KERNEL, METRIC_LOSS_KERNEL } from '../engine/kernel-names.js';
import { isDefaultCosine, isDefaultLp, type Distance } from './distances.js';

/** The kinds the kernel computes; the numbers are the addon's (native/eccvkit_native.cc, metricLoss). */
export const FUSED_LOSS_KINDS = { contrastive: 0, triplet: 1, multi_similarity: 2, ntxent: 3, proxy_anchor: 4, arcface: 5 } as const;

/** What a loss hands the kernel: its kind, its constants, and its index lists or labels. */
export interface FusedLossSpec {
  kind: keyof typeof FUSED_LOSS_KINDS;
  /** The loss's constants, in the order the kernel documents (at most 3). */
  constants: number[];
  /**
   * The index lists (pairs: a1, p, a2, n; triplets: a, p, n), or [labels]: for weight losses, and for pair
   * losses over every pair of the batch (lengths −1, −1; the kernel forms the pairs).
   */
  lists: Int32Array[];
  /** Lengths of the first and the last list (pairs: positives, negatives; triplets: triplets, 0), or −1, −1. */
  lengths: [number, number];
  /** A weight loss's matrix, and whether it is stored [D, C] (ArcFace) rather than [C, D] (proxies). */
  weights?: { variable: tf.Variable; layout: 'CD' | 'DC' };
}

let enabled = true;

/**
 * Turns fused losses on or off (default on), for comparing the two paths or
 * for ruling the fused one out when chasing a discrepancy.
 * @returns the previous setting
 */
export function useFusedLosses(on: boolean): boolean {
  const before = enabled;
  enabled = on;
  return before;
}

/** True when the current backend has the fused kernel and fused losses are on. */
export function fusedLossesAvailable(): boolean {
  return enabled && tf.getKernel(METRIC_LOSS_KERNEL, tf.getBackend()) !== undefined;
}

/** The loss of `spec` on `embeddings` as one kernel, with its gradients attached through `tf.customGrad`. */
export function fusedMetricLoss(spec: FusedLossSpec, embeddings: tf.Tensor2D): tf.Scalar {
  const [n, d] = embeddings.shape;
  const w = spec.weights;
  const classes = w === undefined ? n : w.layout === 'CD' ? w.variable.shape[0]! : w.variable.shape[1]!;
  const params = [FUSED_LOSS_KINDS[spec.kind], n, d, classes, w?.layout === 'DC' ? 1 : 0, spec.lengths[0], spec.lengths[1], ...spec.constants];
  const attrs = { params, lists: spec.lists } as unknown as tf.NamedAttrMap;
  // The fused kernel computes the gradients with the loss; the backward pass only scales them by dy.
  const backward = (dy: tf.Tensor, saved: tf.Tensor[]) => saved.map((g) => tf.mul(dy, g));
  if (w === undefined) {
    const run = tf.customGrad(((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
      const save = args[1] as tf.GradSaveFunc;
      const [loss, dE] = tf.engine().runKernel(METRIC_LOSS_KERNEL, { embeddings: args[0] as tf.Tensor2D }, attrs) as unknown as [tf.Scalar, tf.Tensor2D];
      save([dE]);
      return { value: loss, gradFunc: backward };
    }) as Parameters<typeof tf.customGrad>[0]);
    return run(embeddings) as tf.Scalar;
  }
  const run = tf.customGrad(((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const save = args[2] as tf.GradSaveFunc;
    const [loss, dE, dW] = tf.engine().runKernel(METRIC_LOSS_KERNEL, { embeddings: args[0] as tf.Tensor2D, weights: args[1] as tf.Tensor2D }, attrs) as unknown as [tf.Scalar, tf.Tensor2D, tf.Tensor2D];
    save([dE, dW]);
    return { value: loss, gradFunc: backward };
  }) as Parameters<typeof tf.customGrad>[0]);
  return run(embeddings, w.variable) as tf.Scalar;
}

/**
 * A miner's distance matrix values in one kernel, where the backend has it and `distance` is one the kernel
 * computes (normalised `LpDistance` with p 2 and power 1, or normalised `CosineSimilarity`); else undefined.
 * The kernel refuses NaN or ±Infinity with the same message as `checkEmbeddings`.
 */
export function fusedDistanceValues(distance: Distance, x: tf.Tensor2D): Float32Array | undefined {
  if (!enabled || tf.getKernel(DISTANCE_MATRIX_KERNEL, tf.getBackend()) === undefined) return undefined;
  const kind = isDefaultLp(distance) ? 0 : isDefaultCosine(distance) ? 1 : -1;
  if (kind < 0) return undefined;
  const m = tf.engine().runKernel(DISTANCE_MATRIX_KERNEL, { x }, { kind } as unknown as tf.NamedAttrMap) as tf.Tensor;
  const values = m.dataSync() as Float32Array;
  m.dispose();
  return values;
}
