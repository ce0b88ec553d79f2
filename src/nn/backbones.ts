/**
 * Few-shot backbones as tfjs `LayersModel`s (save with `model.save()` or
 * `saveModel`, load with `tf.loadLayersModel`): Conv-4 and ResNet-12 as in RFS
 * (Tian et al., ECCV 2020, `models/convnet.py` and `models/resnet.py`). Both
 * end in a layer named `features` (the embedding) followed by a dense layer
 * named `logits` over the base classes; {@link featureExtractor} cuts the
 * model at `features`, sharing its weights.
 */
import { createRng, tf } from '../engine/core.js';
import { check } from '../errors.js';
import { DropBlock } from './dropblock.js';

/** The embedding layer's name in every backbone. */
export const FEATURES_LAYER = 'features';
/** The classifier head's name in every backbone. */
export const LOGITS_LAYER = 'logits';

/** Options shared by the backbones. */
export interface BackboneOptions {
  /** Input [height, width, channels]; default [28, 28, 1] (the glyphs). RFS uses [84, 84, 3]. */
  inputShape?: [number, number, number];
  /** Classes of the linear head (the base classes). */
  classes: number;
  /** Seed of every initialiser. */
  seed: number;
}

function checkBackbone(options: BackboneOptions): [number, number, number] {
  check(options !== null && typeof options === 'object', 'options', options, '{ classes, seed, inputShape? }');
  const { inputShape = [28, 28, 1], classes, seed } = options;
  check(Array.isArray(inputShape) && inputShape.length === 3 && inputShape.every((v) => Number.isInteger(v) && v >= 1), 'inputShape', inputShape, '[height, width, channels] positive integers');
  check(Number.isInteger(classes) && classes >= 2, 'classes', classes, 'an integer ≥ 2');
  check(Number.isInteger(seed) && seed >= 0, 'seed', seed, 'a non-negative integer');
  return inputShape;
}

/** Options of {@link conv4}. */
export interface Conv4Options extends BackboneOptions {
  /** Filters of every block; default 64 (RFS). */
  width?: number;
}

/**
 * Conv-4: four blocks of conv 3×3 (same padding) → batch norm → ReLU → max-pool 2×2,
 * then flatten as the embedding (64·5·5 = 1600-d for 84×84 inputs, `width`-d for 28×28),
 * then a linear head.
 */
export function conv4(options: Conv4Options): tf.LayersModel {
  const inputShape = checkBackbone(options);
  const { width = 64, classes, seed } = options;
  check(Number.isInteger(width) && width >= 1, 'width', width, 'a positive integer');
  const rng = createRng(seed);
  const input = tf.input({ shape: inputShape });
  let h: tf.SymbolicTensor = input;
  for (let b = 0; b < 4; b++) {
    h = tf.layers.conv2d({ filters: width, kernelSize: 3, padding: 'same', kernelInitializer: tf.initializers.heNormal({ seed: rng.seedInt() }), name: `block${b + 1}_conv` }).apply(h) as tf.SymbolicTensor;
    h = tf.layers.batchNormalization({ momentum: 0.9, epsilon: 1e-5, name: `block${b + 1}_bn` }).apply(h) as tf.SymbolicTensor;
    h = tf.layers.reLU({ name: `block${b + 1}_relu` }).apply(h) as tf.SymbolicTensor;
    h = tf.layers.maxPooling2d({ poolSize: 2, name: `block${b + 1}_pool` }).apply(h) as tf.SymbolicTensor;
  }
  const features = tf.layers.flatten({ name: FEATURES_LAYER }).apply(h) as tf.SymbolicTensor;
  const logits = tf.layers.dense({ units: classes, kernelInitializer: tf.initializers.glorotUniform({ seed: rng.seedInt() }), name: LOGITS_LAYER }).apply(features) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: logits, name: 'conv4' });
}

/** Options of {@link resnet12}. */
export interface ResNet12Options extends BackboneOptions {
  /** Channels of the four stages; default [32, 64, 128, 256] (RFS: [64, 160, 320, 640], too slow for a 2-core CPU). */
  widths?: [number, number, number, number];
  /** Drop rate after each stage's pool; default 0.1 (RFS's drop_rate): dropout in stages 1–2, DropBlock in stages 3–4. */
  dropRate?: number;
  /** DropBlock square side; default 5 (RFS on 84-pixel images; 2 on 32-pixel ones), clamped to the feature map. */
  dropBlockSize?: number;
  /** Training steps over which DropBlock's rate ramps up; default 40000 (RFS: 20 · 2000). */
  dropBlockRampSteps?: number;
}

/**
 * ResNet-12 as RFS: four stages of one residual block each. Block: 3 × (conv 3×3,
 * no bias → batch norm) with LeakyReLU(0.1) after the first two; a 1×1 conv + batch
 * norm shortcut; add → LeakyReLU(0.1) → max-pool 2×2 → dropout (stages 1–2) or
 * {@link DropBlock} (stages 3–4). Global average pooling gives the `widths[3]`-d
 * embedding. Convolutions use Kaiming-normal (fan-out) initialisation, as RFS.
 */
export function resnet12(options: ResNet12Options): tf.LayersModel {
  const inputShape = checkBackbone(options);
  const { widths = [32, 64, 128, 256], dropRate = 0.1, dropBlockSize = 5, dropBlockRampSteps = 40000, classes, seed } = options;
  check(Array.isArray(widths) && widths.length === 4 && widths.every((w) => Number.isInteger(w) && w >= 1), 'widths', widths, 'four positive integers');
  check(typeof dropRate === 'number' && dropRate >= 0 && dropRate < 1, 'dropRate', dropRate, 'a number in [0, 1)');
  const rng = createRng(seed);
  const convInit = () => tf.initializers.varianceScaling({ scale: 2, mode: 'fanOut', distribution: 'normal', seed: rng.seedInt() });
  const conv = (filters: number, kernel: number, name: string) => tf.layers.conv2d({ filters, kernelSize: kernel, padding: 'same', useBias: false, kernelInitializer: convInit(), name });
  const bn = (name: string) => tf.layers.batchNormalization({ momentum: 0.9, epsilon: 1e-5, name });
  const input = tf.input({ shape: inputShape });
  let h: tf.SymbolicTensor = input;
  widths.forEach((w, s) => {
    const p = `stage${s + 1}`;
    let r = h;
    for (let c = 0; c < 3; c++) {
      r = conv(w, 3, `${p}_conv${c + 1}`).apply(r) as tf.SymbolicTensor;
      r = bn(`${p}_bn${c + 1}`).apply(r) as tf.SymbolicTensor;
      if (c < 2) r = tf.layers.leakyReLU({ alpha: 0.1, name: `${p}_relu${c + 1}` }).apply(r) as tf.SymbolicTensor;
    }
    let shortcut = conv(w, 1, `${p}_shortcut_conv`).apply(h) as tf.SymbolicTensor;
    shortcut = bn(`${p}_shortcut_bn`).apply(shortcut) as tf.SymbolicTensor;
    h = tf.layers.add({ name: `${p}_add` }).apply([r, shortcut]) as tf.SymbolicTensor;
    h = tf.layers.leakyReLU({ alpha: 0.1, name: `${p}_out` }).apply(h) as tf.SymbolicTensor;
    h = tf.layers.maxPooling2d({ poolSize: 2, name: `${p}_pool` }).apply(h) as tf.SymbolicTensor;
    if (dropRate > 0) {
      const drop = s < 2 ? tf.layers.dropout({ rate: dropRate, seed: rng.seedInt(), name: `${p}_dropout` }) : new DropBlock({ blockSize: dropBlockSize, dropRate, rampSteps: dropBlockRampSteps, seed: rng.seedInt(), name: `${p}_dropblock` });
      h = drop.apply(h) as tf.SymbolicTensor;
    }
  });
  const features = tf.layers.globalAveragePooling2d({ name: FEATURES_LAYER }).apply(h) as tf.SymbolicTensor;
  const logits = tf.layers.dense({ units: classes, kernelInitializer: tf.initializers.glorotUniform({ seed: rng.seedInt() }), name: LOGITS_LAYER }).apply(features) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: logits, name: 'resnet12' });
}

/** A model from `model`'s input to its `features` layer, sharing weights (no copy). */
export function featureExtractor(model: tf.LayersModel): tf.LayersModel {
  let layer: tf.layers.Layer;
  try {
    layer = model.getLayer(FEATURES_LAYER);
  } catch {
    check(false, 'model', model.name, `a model with a layer named '${FEATURES_LAYER}' (conv4, resnet12)`);
  }
  return tf.model({ inputs: model.inputs, outputs: layer.output as tf.SymbolicTensor, name: `${model.name}_features` });
}
