/**
 * Names of eccvkit's own kernels that library code above the engine calls
 * with `runKernel` and a backend may register (none of tfjs's backends has
 * them): a caller checks `tf.getKernel(name, backend)` and composes tfjs ops
 * where it is missing.
 */

/** A metric loss and its gradients in one call (src/metric/fused.ts; native/eccvkit_native.cc, metricLoss). */
export const METRIC_LOSS_KERNEL = 'EccvkitMetricLoss';

/** A miner's distance (or similarity) matrix of normalised rows in one call (src/metric/fused.ts; the addon's distanceMatrix). */
export const DISTANCE_MATRIX_KERNEL = 'EccvkitDistanceMatrix';
