/**
 * The small conv net several experiments share (the mnist-baseline classifier,
 * the metric-learning glyph embedder, the engine benchmark's reference net):
 * conv(f1, 3×3, same) → relu → maxPool 2 → conv(f2, 3×3, same) → relu →
 * maxPool 2 → flatten → dense layers. Kernels are Glorot-uniform, seeded in
 * layer order from `seed`.
 */
import { createRng, tf } from '../engine/index.js';

/** Options of {@link smallConvNet}. */
export interface SmallConvNetOptions {
  /** Input [height, width, channels]; default [28, 28, 1]. */
  inputShape?: [number, number, number];
  /** Filters of the two conv layers. */
  filters: readonly [number, number];
  /** The dense layers after flatten, in order (no activation unless given). */
  dense: ReadonlyArray<{ units: number; activation?: 'relu' }>;
}

/** Builds the net described in the module doc as a `tf.Sequential`. */
export function smallConvNet(options: SmallConvNetOptions, seed: number): tf.Sequential {
  const rng = createRng(seed);
  const init = () => tf.initializers.glorotUniform({ seed: rng.seedInt() });
  const [f1, f2] = options.filters;
  return tf.sequential({
    layers: [
      tf.layers.conv2d({ inputShape: options.inputShape ?? [28, 28, 1], filters: f1, kernelSize: 3, padding: 'same', activation: 'relu', kernelInitializer: init() }),
      tf.layers.maxPooling2d({ poolSize: 2 }),
      tf.layers.conv2d({ filters: f2, kernelSize: 3, padding: 'same', activation: 'relu', kernelInitializer: init() }),
      tf.layers.maxPooling2d({ poolSize: 2 }),
      tf.layers.flatten(),
      ...options.dense.map((d) => tf.layers.dense({ units: d.units, ...(d.activation ? { activation: d.activation } : {}), kernelInitializer: init() })),
    ],
  });
}

/**
 * One supervised step: `optimizer` minimises the softmax cross-entropy of
 * `model(x[indices])` (in training mode) against the one-hot `targets[indices]`.
 * Returns the batch loss; leaves no tensors behind.
 */
export function classifierStep(model: tf.LayersModel, optimizer: tf.Optimizer, x: tf.Tensor, targets: tf.Tensor, indices: Int32Array): number {
  const idx = tf.tensor1d(indices, 'int32');
  try {
    const loss = optimizer.minimize(() => tf.losses.softmaxCrossEntropy(tf.gather(targets, idx), model.apply(tf.gather(x, idx), { training: true }) as tf.Tensor) as tf.Scalar, true) as tf.Scalar;
    const value = loss.dataSync()[0] as number;
    loss.dispose();
    return value;
  } finally {
    idx.dispose();
  }
}
