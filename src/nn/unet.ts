/**
 * A small U-Net (Ronneberger et al., 2015) for the TopoGAN downstream check
 * (Wang et al., ECCV 2020, Table 2): segment membranes in grey micrographs.
 *
 * Two levels down, two up, with skip connections:
 *   enc1: 2 × (conv 3×3, f, ReLU)        → H × W × f
 *   pool 2 → enc2: 2 × (conv 3×3, 2f, ReLU) → H/2
 *   pool 2 → mid:  2 × (conv 3×3, 4f, ReLU) → H/4
 *   up (transposed conv 2×2, stride 2, 2f) ⧺ enc2 → 2 × (conv 3×3, 2f, ReLU)
 *   up (transposed conv 2×2, stride 2, f)  ⧺ enc1 → 2 × (conv 3×3, f, ReLU)
 *   conv 1×1, 1 channel, sigmoid: the probability that a pixel is membrane.
 * 'same' padding throughout, so H and W must be multiples of 4. Built from stock
 * tfjs layers, so `saveModel` / `loadModel` round-trip it. Kernels are
 * Glorot-uniform, seeded in layer order.
 *
 * {@link trainSegmenter} minimises binary cross-entropy plus the soft Dice loss
 * (1 − 2Σpt / (Σp + Σt)) with Adam; {@link diceScore} is the thresholded Dice.
 */
import { shuffledBatches } from '../data/samplers.js';
import { createRng, tf } from '../engine/core.js';
import { check } from '../errors.js';

/** Options of {@link unet}. */
export interface UNetOptions {
  /** Input [height, width, channels]; height and width multiples of 4. Default [64, 64, 1]. */
  inputShape?: [number, number, number];
  /** Filters of the first level (f; the others use 2f and 4f). Default 8. */
  filters?: number;
  seed?: number;
}

/** Builds the U-Net of the module comment. */
export function unet(options: UNetOptions = {}): tf.LayersModel {
  const [h, w, c] = options.inputShape ?? [64, 64, 1];
  check(Number.isInteger(h) && h >= 4 && h % 4 === 0, 'inputShape[0]', h, 'a height that is a positive multiple of 4');
  check(Number.isInteger(w) && w >= 4 && w % 4 === 0, 'inputShape[1]', w, 'a width that is a positive multiple of 4');
  check(Number.isInteger(c) && c >= 1, 'inputShape[2]', c, 'a channel count ≥ 1');
  const f = options.filters ?? 8;
  check(Number.isInteger(f) && f >= 1, 'filters', options.filters, 'an integer ≥ 1');
  const rng = createRng(options.seed ?? 0);
  const init = () => tf.initializers.glorotUniform({ seed: rng.seedInt() });
  const conv = (filters: number, name: string) => tf.layers.conv2d({ filters, kernelSize: 3, padding: 'same', activation: 'relu', kernelInitializer: init(), name });
  const block = (x: tf.SymbolicTensor, filters: number, name: string) => conv(filters, `${name}_b`).apply(conv(filters, `${name}_a`).apply(x)) as tf.SymbolicTensor;
  const up = (x: tf.SymbolicTensor, filters: number, name: string) =>
    tf.layers.conv2dTranspose({ filters, kernelSize: 2, strides: 2, padding: 'same', kernelInitializer: init(), name }).apply(x) as tf.SymbolicTensor;
  const input = tf.input({ shape: [h, w, c], name: 'image' });
  const e1 = block(input, f, 'enc1');
  const e2 = block(tf.layers.maxPooling2d({ poolSize: 2, name: 'pool1' }).apply(e1) as tf.SymbolicTensor, 2 * f, 'enc2');
  const mid = block(tf.layers.maxPooling2d({ poolSize: 2, name: 'pool2' }).apply(e2) as tf.SymbolicTensor, 4 * f, 'mid');
  const d2 = block(tf.layers.concatenate({ name: 'skip2' }).apply([up(mid, 2 * f, 'up2'), e2]) as tf.SymbolicTensor, 2 * f, 'dec2');
  const d1 = block(tf.layers.concatenate({ name: 'skip1' }).apply([up(d2, f, 'up1'), e1]) as tf.SymbolicTensor, f, 'dec1');
  const out = tf.layers.conv2d({ filters: 1, kernelSize: 1, activation: 'sigmoid', kernelInitializer: init(), name: 'mask' }).apply(d1) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: out, name: 'unet' });
}

/** BCE + soft Dice of probabilities `p` against targets `t` (same shape), a scalar. */
export function segmentationLoss(p: tf.Tensor, t: tf.Tensor): tf.Scalar {
  return tf.tidy(() => {
    const eps = 1e-6;
    const pc = tf.clipByValue(p, eps, 1 - eps);
    const bce = tf.neg(tf.mean(tf.add(tf.mul(t, tf.log(pc)), tf.mul(tf.sub(1, t), tf.log(tf.sub(1, pc))))));
    const dice = tf.sub(1, tf.div(tf.add(tf.mul(2, tf.sum(tf.mul(p, t))), 1), tf.add(tf.add(tf.sum(p), tf.sum(t)), 1)));
    return tf.add(bce, dice) as tf.Scalar;
  });
}

/** Options of {@link trainSegmenter}. */
export interface TrainSegmenterOptions {
  /** Passes over the pairs; default 5. */
  epochs?: number;
  /** Default 16. */
  batchSize?: number;
  /** Adam learning rate; default 5e-3 (2e-2 left a 4-filter net predicting all background on 16 membrane pairs; 1e-2 reached Dice 0.7 in 80 steps). */
  learningRate?: number;
  /** U-Net first-level filters; default 8. */
  filters?: number;
  seed?: number;
  /** Called after each batch with the epoch, the batch, the batches per epoch and the batch loss. */
  onBatch?(epoch: number, batch: number, batches: number, loss: number): void;
}

/** A trained U-Net and its per-batch losses. */
export interface Segmenter {
  model: tf.LayersModel;
  losses: number[];
}

/**
 * Trains a {@link unet} on `images` [n, H, W, C] in [0, 1] against binary
 * `masks` [n, H, W, 1] (the caller keeps ownership of both). Batches are
 * shuffled with the seed. Leaves no tensors behind but the returned model's.
 */
export function trainSegmenter(images: tf.Tensor4D, masks: tf.Tensor4D, options: TrainSegmenterOptions = {}): Segmenter {
  check(images instanceof tf.Tensor && images.rank === 4, 'images', images, 'a tensor [n, H, W, C]');
  check(masks instanceof tf.Tensor && masks.rank === 4 && masks.shape[3] === 1, 'masks', masks, 'a tensor [n, H, W, 1]');
  check(masks.shape[0] === images.shape[0] && masks.shape[1] === images.shape[1] && masks.shape[2] === images.shape[2], 'masks', `shape [${masks.shape}]`, `the images' [n, H, W] = [${images.shape.slice(0, 3)}] with one channel`);
  check(images.shape[0] >= 1, 'images', `${images.shape[0]} images`, 'at least one pair');
  const epochs = options.epochs ?? 5;
  check(Number.isInteger(epochs) && epochs >= 1, 'epochs', options.epochs, 'an integer ≥ 1');
  const batchSize = options.batchSize ?? 16;
  check(Number.isInteger(batchSize) && batchSize >= 1, 'batchSize', options.batchSize, 'an integer ≥ 1');
  const learningRate = options.learningRate ?? 5e-3;
  check(typeof learningRate === 'number' && learningRate > 0 && Number.isFinite(learningRate), 'learningRate', options.learningRate, 'a finite number > 0');
  const seed = options.seed ?? 0;
  const model = unet({ inputShape: images.shape.slice(1) as [number, number, number], filters: options.filters ?? 8, seed });
  const opt = tf.train.adam(learningRate);
  const losses: number[] = [];
  try {
    for (let epoch = 0; epoch < epochs; epoch++) {
      const batches = shuffledBatches(images.shape[0], batchSize, seed * 7919 + epoch);
      batches.forEach((b, i) => {
        const idx = tf.tensor1d(b, 'int32');
        try {
          const loss = opt.minimize(() => segmentationLoss(model.apply(tf.gather(images, idx), { training: true }) as tf.Tensor, tf.gather(masks, idx)), true) as tf.Scalar;
          const value = loss.dataSync()[0] as number;
          loss.dispose();
          losses.push(value);
          options.onBatch?.(epoch, i, batches.length, value);
        } finally {
          idx.dispose();
        }
      });
    }
  } catch (e) {
    model.dispose();
    throw e;
  } finally {
    opt.dispose();
  }
  return { model, losses };
}

/** Membrane probabilities of `model` on `images` [n, H, W, C], in batches, as N·H·W values. */
export function predictMasks(model: tf.LayersModel, images: tf.Tensor4D, batchSize = 64): Float32Array {
  check(images instanceof tf.Tensor && images.rank === 4, 'images', images, 'a tensor [n, H, W, C]');
  const [n, h, w] = images.shape;
  const out = new Float32Array(n * h * w);
  for (let s = 0; s < n; s += batchSize) {
    const e = Math.min(n, s + batchSize);
    const p = tf.tidy(() => model.predict(images.slice([s, 0, 0, 0], [e - s, h, w, images.shape[3]])) as tf.Tensor);
    out.set(p.dataSync(), s * h * w);
    p.dispose();
  }
  return out;
}

/**
 * Dice coefficient 2|P ∩ T| / (|P| + |T|) of the predictions {pred > threshold}
 * against the targets {truth > 0.5}, pooled over all pixels; 1 when both are
 * empty. With `pixelsPerImage`, the mean of the per-image Dice instead.
 */
export function diceScore(pred: ArrayLike<number>, truth: ArrayLike<number>, options: { threshold?: number; pixelsPerImage?: number } = {}): number {
  check(pred !== null && typeof pred === 'object' && typeof pred.length === 'number', 'pred', pred, 'an array of predicted probabilities');
  check(truth !== null && typeof truth === 'object' && truth.length === pred.length, 'truth', truth, `an array of ${pred.length} target values, as pred`);
  const threshold = options.threshold ?? 0.5;
  check(typeof threshold === 'number' && Number.isFinite(threshold), 'threshold', options.threshold, 'a finite number');
  const per = options.pixelsPerImage ?? pred.length;
  check(Number.isInteger(per) && per >= 1 && pred.length % per === 0, 'pixelsPerImage', options.pixelsPerImage, `a divisor of the ${pred.length} values`);
  const images = pred.length / per;
  let total = 0;
  for (let i = 0; i < images; i++) {
    let both = 0;
    let p = 0;
    let t = 0;
    for (let k = i * per; k < (i + 1) * per; k++) {
      const a = (pred[k] as number) > threshold;
      const b = (truth[k] as number) > 0.5;
      if (a) p++;
      if (b) t++;
      if (a && b) both++;
    }
    total += p + t === 0 ? 1 : (2 * both) / (p + t);
  }
  return total / images;
}
