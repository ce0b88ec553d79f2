/**
 * The small conv net several experiments share (the mnist-baseline classifier,
 * the metric-learning glyph embedder, the engine benchmark's reference net):
 * conv(f1, 3×3, same) → relu → maxPool 2 → conv(f2, 3×3, same) → relu →
 * maxPool 2 → flatten → dense layers. Kernels are Glorot-uniform, seeded in
 * layer order from `seed`.
 */
import { shuffledBatches } from '../data/samplers.js';
import { createRng, tf } from '../engine/core.js';
import { check } from '../errors.js';

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

/** Options of {@link trainImageClassifier}. */
export interface ImageClassifierOptions {
  /** Classes (default: max label + 1). */
  classes?: number;
  /** Passes over the data (default 3). */
  epochs?: number;
  /** Default 64. */
  batchSize?: number;
  /** Adam learning rate (default 1e-3). */
  learningRate?: number;
  /** Filters of the two convs (default [16, 32]) and units of the hidden dense layer (default 64). */
  filters?: readonly [number, number];
  hidden?: number;
  seed?: number;
  /** Called after each batch with the epoch, the batch and the batches per epoch. */
  onBatch?(epoch: number, batch: number, batches: number, loss: number): void;
}

/**
 * Trains the small conv net (two convs, hidden dense + ReLU, logits) on images
 * `x` [n, H, W, C] in [0, 1] with integer labels `y`: the feature network the
 * GAN experiments score FD with and the inversion losses take as their
 * perceptual F (its last conv; VGG16 is not available offline).
 */
export function trainImageClassifier(x: tf.Tensor4D, y: Int32Array, options: ImageClassifierOptions = {}): tf.Sequential {
  check(x instanceof tf.Tensor && x.rank === 4, 'x', x, 'images [n, H, W, C]');
  check(y.length === x.shape[0], 'y', `${y.length} labels`, `one per image (${x.shape[0]})`);
  const classes = options.classes ?? Math.max(...y) + 1;
  check(Number.isInteger(classes) && classes >= 2, 'classes', classes, 'an integer ≥ 2');
  const epochs = options.epochs ?? 3;
  check(Number.isInteger(epochs) && epochs >= 1, 'epochs', options.epochs, 'an integer ≥ 1');
  const batchSize = options.batchSize ?? 64;
  const seed = options.seed ?? 0;
  const net = smallConvNet({ inputShape: x.shape.slice(1) as [number, number, number], filters: options.filters ?? [16, 32], dense: [{ units: options.hidden ?? 64, activation: 'relu' }, { units: classes }] }, seed);
  const opt = tf.train.adam(options.learningRate ?? 1e-3);
  const targets = tf.tidy(() => tf.oneHot(tf.tensor1d(y, 'int32'), classes).toFloat());
  try {
    for (let epoch = 0; epoch < epochs; epoch++) {
      const batches = shuffledBatches(y.length, batchSize, seed * 7919 + epoch);
      batches.forEach((b, i) => {
        const loss = classifierStep(net, opt, x, targets, b);
        options.onBatch?.(epoch, i, batches.length, loss);
      });
    }
  } finally {
    targets.dispose();
    opt.dispose();
  }
  return net;
}
