/**
 * DCGAN-style generator and discriminator (Radford et al. 2016) for 28×28,
 * 32×32 and 64×64 images, as plain tfjs `LayersModel`s. The discriminator has
 * no batch normalisation (gradient penalties need per-sample critics) and can
 * wrap every conv and dense layer in {@link SpectralNorm} with a bound k.
 */
import { createRng, tf } from '../engine/core.js';
import { check } from '../errors.js';
import { spectralNorm } from './spectral-norm.js';

/** Image sizes the DCGAN nets support. */
export const GAN_IMAGE_SIZES = [28, 32, 64] as const;
export type GanImageSize = (typeof GAN_IMAGE_SIZES)[number];

/** Options of {@link dcganGenerator}. */
export interface GeneratorOptions {
  /** Side of the square output (28, 32 or 64; default 28). */
  imageSize?: GanImageSize;
  /** Output channels (default 1). */
  channels?: number;
  /** Latent size (default 64). */
  latentDim?: number;
  /** Filters of the last hidden block; earlier blocks double it (default 32). */
  width?: number;
  /** Seed of the initialisers (default 0). */
  seed?: number;
}

/** Spatial side of the first feature map and the number of ×2 upsamplings for an image side. */
function plan(imageSize: GanImageSize): { start: number; steps: number } {
  return imageSize === 28 ? { start: 7, steps: 2 } : { start: 4, steps: Math.log2(imageSize / 4) };
}

function checkCommon(o: { imageSize?: number; channels?: number; width?: number; seed?: number }): void {
  check(o.imageSize === undefined || (GAN_IMAGE_SIZES as readonly number[]).includes(o.imageSize), 'imageSize', o.imageSize, `one of ${GAN_IMAGE_SIZES.join(', ')}`);
  check(o.channels === undefined || (Number.isInteger(o.channels) && o.channels >= 1), 'channels', o.channels, 'an integer ≥ 1');
  check(o.width === undefined || (Number.isInteger(o.width) && o.width >= 1), 'width', o.width, 'an integer ≥ 1');
  check(o.seed === undefined || Number.isInteger(o.seed), 'seed', o.seed, 'an integer');
}

/**
 * z → dense → reshape to s₀×s₀×(width·2^(n−1)) → n × [conv2dTranspose 4×4
 * stride 2, batch norm, ReLU] with halving filters → conv 3×3 to `channels`,
 * tanh. s₀ = 7 for 28×28 (two upsamplings), 4 for 32 and 64. Outputs lie in [−1, 1].
 */
export function dcganGenerator(options: GeneratorOptions = {}): tf.LayersModel {
  checkCommon(options);
  const imageSize = options.imageSize ?? 28;
  const channels = options.channels ?? 1;
  const latentDim = options.latentDim ?? 64;
  const width = options.width ?? 32;
  check(Number.isInteger(latentDim) && latentDim >= 1, 'latentDim', latentDim, 'an integer ≥ 1');
  const rng = createRng(options.seed ?? 0);
  const init = () => tf.initializers.randomNormal({ mean: 0, stddev: 0.02, seed: rng.seedInt() });
  const { start, steps } = plan(imageSize);
  const top = width * 2 ** (steps - 1);
  const layers: tf.layers.Layer[] = [
    tf.layers.dense({ inputShape: [latentDim], units: start * start * top, useBias: false, kernelInitializer: init() }),
    tf.layers.batchNormalization({}),
    tf.layers.reLU(),
    tf.layers.reshape({ targetShape: [start, start, top] }),
  ];
  for (let i = 0; i < steps; i++) {
    layers.push(
      tf.layers.conv2dTranspose({ filters: width * 2 ** (steps - 1 - i), kernelSize: 4, strides: 2, padding: 'same', useBias: false, kernelInitializer: init() }),
      tf.layers.batchNormalization({}),
      tf.layers.reLU(),
    );
  }
  layers.push(tf.layers.conv2d({ filters: channels, kernelSize: 3, padding: 'same', activation: 'tanh', kernelInitializer: init() }));
  return tf.sequential({ layers });
}

/**
 * StyleGAN's minibatch standard deviation (Karras et al. 2018, ProGAN §3):
 * the batch is split into groups of `groupSize` (the largest size up to it that
 * divides the batch); per group, the standard deviation of every feature over
 * the group's images is averaged into one number, appended to each of its
 * images as a constant extra channel. The critic can then see a batch that
 * lacks variety, which stops a generator from drawing the same image for every z.
 */
export class MinibatchStdDev extends tf.layers.Layer {
  static className = 'MinibatchStdDev';
  readonly groupSize: number;
  constructor(args: NonNullable<ConstructorParameters<typeof tf.layers.Layer>[0]> & { groupSize?: number }) {
    const { groupSize, ...base } = args;
    super(base);
    this.groupSize = groupSize ?? 4;
  }
  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    const s = inputShape as tf.Shape;
    return [s[0]!, s[1]!, s[2]!, (s[3] as number) + 1];
  }
  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = (Array.isArray(inputs) ? inputs[0]! : inputs) as tf.Tensor4D;
      const [b, h, w, c] = x.shape;
      let g = Math.min(this.groupSize, b);
      while (b % g !== 0) g--;
      const m = b / g;
      const y = tf.reshape(x, [g, m, h, w, c]);
      const centred = tf.sub(y, tf.mean(y, 0, true));
      const std = tf.sqrt(tf.add(tf.mean(tf.square(centred), 0), 1e-8));
      const perGroup = tf.mean(std, [1, 2, 3]);
      // Image i of the batch is member i / m of group i mod m (the reshape above); tfjs tiles up to rank 4 only.
      const channel = tf.reshape(tf.tile(tf.reshape(perGroup, [1, m, 1]), [g, 1, h * w]), [b, h, w, 1]);
      return tf.concat([x, channel], 3);
    });
  }
  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), groupSize: this.groupSize };
  }
}
tf.serialization.registerClass(MinibatchStdDev);

/** Options of {@link dcganDiscriminator}. */
export interface DiscriminatorOptions {
  imageSize?: GanImageSize;
  channels?: number;
  /** Filters of the first conv; each stride-2 conv doubles them (default 32). */
  width?: number;
  /** Wrap every conv and dense layer in SpectralNorm with this per-layer bound k (absent: no spectral norm). */
  spectralNormBound?: number;
  /** Append a {@link MinibatchStdDev} channel (groups of this size) before the critic head, as StyleGAN's critic (absent: none). */
  minibatchStdGroup?: number;
  seed?: number;
}

/**
 * n × [conv 4×4 stride 2, leaky ReLU 0.2] with doubling filters (n = 2 for 28,
 * 3 for 32, 4 for 64) → flatten → dense(1): the raw output d, no sigmoid (the
 * losses take d). With `spectralNormBound` = k every linear layer is k-Lipschitz,
 * so the network is at most k^(n+1)-Lipschitz.
 */
export function dcganDiscriminator(options: DiscriminatorOptions = {}): tf.LayersModel {
  const { layers } = discriminatorLayers(options);
  return tf.sequential({ layers: [...layers, wrapHead(options, tf.layers.dense({ units: 1, kernelInitializer: headInit(options, 0) }))] });
}

/** The conv trunk of {@link dcganDiscriminator} up to its flatten, validated. */
function discriminatorLayers(options: DiscriminatorOptions): { layers: tf.layers.Layer[] } {
  checkCommon(options);
  const imageSize = options.imageSize ?? 28;
  const channels = options.channels ?? 1;
  const width = options.width ?? 32;
  const bound = options.spectralNormBound;
  check(bound === undefined || (Number.isFinite(bound) && bound > 0), 'spectralNormBound', bound, 'a positive per-layer Lipschitz bound');
  const rng = createRng(options.seed ?? 0);
  const init = () => tf.initializers.randomNormal({ mean: 0, stddev: 0.02, seed: rng.seedInt() });
  const wrap = (layer: tf.layers.Layer) => (bound === undefined ? layer : spectralNorm(layer, { bound, seed: rng.seedInt() }));
  const { steps } = plan(imageSize);
  const layers: tf.layers.Layer[] = [];
  for (let i = 0; i < steps; i++) {
    layers.push(
      wrap(tf.layers.conv2d({ ...(i === 0 ? { inputShape: [imageSize, imageSize, channels] } : {}), filters: width * 2 ** i, kernelSize: 4, strides: 2, padding: 'same', kernelInitializer: init() })),
      tf.layers.leakyReLU({ alpha: 0.2 }),
    );
  }
  const group = options.minibatchStdGroup;
  check(group === undefined || (Number.isInteger(group) && group >= 2), 'minibatchStdGroup', group, 'an integer ≥ 2 (images per group)');
  if (group !== undefined) layers.push(new MinibatchStdDev({ groupSize: group }));
  layers.push(tf.layers.flatten());
  return { layers };
}

/**
 * The n-th seed of the trunk's seed stream after its convs: the critic head takes
 * the first (its kernel) and second (its spectral-norm u) as dcganDiscriminator always
 * did, and a Q head those after, so adding Q leaves D's weights as they were.
 */
function headSeed(options: DiscriminatorOptions, n: number): number {
  const rng = createRng(options.seed ?? 0);
  const perConv = options.spectralNormBound === undefined ? 1 : 2;
  for (let i = 0; i < plan(options.imageSize ?? 28).steps * perConv + n; i++) rng.seedInt();
  return rng.seedInt();
}

function headInit(options: DiscriminatorOptions, n: number): ReturnType<typeof tf.initializers.randomNormal> {
  return tf.initializers.randomNormal({ mean: 0, stddev: 0.02, seed: headSeed(options, n) });
}

function wrapHead(options: DiscriminatorOptions, layer: tf.layers.Layer): tf.layers.Layer {
  if (options.spectralNormBound === undefined) return layer;
  return spectralNorm(layer, { bound: options.spectralNormBound, seed: headSeed(options, 1) });
}

/** Options of {@link dcganDiscriminatorWithQ}. */
export interface DiscriminatorWithQOptions extends DiscriminatorOptions {
  /** Latent coordinates the Q head estimates (InfoGAN's structured codes: the first `codes` entries of z). */
  codes: number;
  /** Units of the Q head's hidden layer (default max(32, 2·codes)). */
  hidden?: number;
}

/**
 * The InfoGAN baseline's critic (Chen et al. 2016, as the Hessian Penalty paper's
 * comparison): {@link dcganDiscriminator}'s conv trunk shared by two heads, the critic
 * output d (dense 1) and Q (dense hidden → leaky ReLU 0.2 → dense `codes`), which
 * estimates the first `codes` latent coordinates of a generated image. Both models
 * share the trunk's layers, so training either moves the trunk; free them with the
 * returned `dispose()` (disposing both models would free the trunk twice).
 */
export function dcganDiscriminatorWithQ(options: DiscriminatorWithQOptions): { discriminator: tf.LayersModel; q: tf.LayersModel; dispose(): void } {
  check(Number.isInteger(options.codes) && options.codes >= 1, 'codes', options.codes, 'an integer ≥ 1 (latent coordinates for Q to estimate)');
  const hidden = options.hidden ?? Math.max(32, 2 * options.codes);
  check(Number.isInteger(hidden) && hidden >= 1, 'hidden', options.hidden, 'an integer ≥ 1');
  const { layers } = discriminatorLayers(options);
  const size = options.imageSize ?? 28;
  const input = tf.input({ shape: [size, size, options.channels ?? 1] });
  let x: tf.SymbolicTensor = input;
  for (const layer of layers) x = layer.apply(x) as tf.SymbolicTensor;
  const d = wrapHead(options, tf.layers.dense({ units: 1, kernelInitializer: headInit(options, 0) })).apply(x) as tf.SymbolicTensor;
  let q = tf.layers.dense({ units: hidden, kernelInitializer: headInit(options, 2) }).apply(x) as tf.SymbolicTensor;
  q = tf.layers.leakyReLU({ alpha: 0.2 }).apply(q) as tf.SymbolicTensor;
  q = tf.layers.dense({ units: options.codes, kernelInitializer: headInit(options, 3) }).apply(q) as tf.SymbolicTensor;
  const discriminator = tf.model({ inputs: input, outputs: d });
  const qModel = tf.model({ inputs: input, outputs: q });
  return {
    discriminator,
    q: qModel,
    /** Frees both models: Q's own head, then D with the shared trunk (disposing both models would free the trunk twice). */
    dispose() {
      const shared = new Set(discriminator.layers);
      for (const layer of qModel.layers) if (!shared.has(layer)) layer.dispose();
      discriminator.dispose();
    },
  };
}
