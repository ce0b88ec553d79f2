/**
 * A style-based generator (Karras et al., StyleGAN, CVPR 2019; StyleGAN2, CVPR
 * 2020) at the scale of 32×32 digits, whose synthesis network takes one w per
 * layer (the W+ space the In-Domain GAN Inversion paper trains and inverts in):
 *
 *   z → pixel norm → mapping MLP (default 4 × dense + leaky ReLU 0.2) → w
 *   W+ code [layers, wDim] → learned 4×4 constant → per layer: modulated 3×3
 *   conv styled by wᵢ (demodulated), optional fixed noise, leaky ReLU; ×2
 *   nearest upsampling per resolution → modulated 1×1 conv to the image → tanh.
 *
 * Two style layers per resolution, so a 32×32 generator has 2·(log₂32 − 1) = 8
 * layers (the reference's 14 at 256×256). `generator` (z → image, the same w
 * repeated on every layer) trains with {@link GanTrainer}; `synthesis` (W+ →
 * image) and `mapping` (z → w) share its weights.
 *
 * `block: 'adain'` builds StyleGAN's conv → AdaIN layers instead. Measured here
 * (MNIST, non-saturating loss + R1, a DCGAN critic, Adam 2e-4): the AdaIN
 * generator collapses every z onto one image within 300 steps while its critic
 * stays at D ≡ 0; the modulated one, whose equalised learning rate slows the
 * generator's layers, lets the critic learn from the first steps, and its
 * samples become digit strokes by step 900–1000 (in one of two runs after a
 * phase of all-black and all-white squares around step 500).
 *
 * The mapping network has StyleGAN's equalised learning rate with its 0.01
 * multiplier and He gain √2 (without the multiplier the mapping collapses).
 * Left out at this scale: progressive growing, skip/residual outputs, path-length
 * and style-mixing regularisation; outputs are squashed by tanh so the existing
 * trainer and metrics see the DCGAN nets' [−1, 1] range.
 */
import { createRng, tf } from '../engine/core.js';
import { check, EccvkitInputError } from '../errors.js';
import { platformFiles } from '../platform.js';
import { isUrl, loadModel, modelLocation, readSideFile, saveModel } from './io.js';

type LayerArgs = NonNullable<ConstructorParameters<typeof tf.layers.Layer>[0]>;
const single = (inputs: tf.Tensor | tf.Tensor[]): tf.Tensor => (Array.isArray(inputs) ? inputs[0]! : inputs);

/** x / √(mean(x²) + ε) over the last axis: StyleGAN's normalisation of z before mapping. */
export class PixelNorm extends tf.layers.Layer {
  static className = 'PixelNorm';
  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = single(inputs);
      return tf.mul(x, tf.rsqrt(tf.add(tf.mean(tf.square(x), -1, true), 1e-8)));
    });
  }
}
tf.serialization.registerClass(PixelNorm);

/**
 * A dense layer with StyleGAN's equalised learning rate and learning-rate
 * multiplier: the stored kernel is N(0, 1/m²) and the layer uses
 * kernel·(m/√fanIn) and bias·m, so Adam (whose steps are about lr in the stored
 * weights) moves the used weights by about m·lr. StyleGAN's mapping network
 * uses m = 0.01; at full rate the mapping collapses every z onto one w within a
 * few hundred steps (every sample the same digit).
 */
export class EqualizedDense extends tf.layers.Layer {
  static className = 'EqualizedDense';
  readonly units: number;
  readonly lrMultiplier: number;
  readonly gain: number;
  readonly seed: number;
  private kernel: tf.LayerVariable | undefined;
  private bias: tf.LayerVariable | undefined;
  constructor(args: LayerArgs & { units: number; lrMultiplier?: number; gain?: number; seed?: number }) {
    const { units, lrMultiplier, gain, seed, ...base } = args;
    super(base);
    this.units = units;
    this.lrMultiplier = lrMultiplier ?? 1;
    this.gain = gain ?? 1;
    this.seed = seed ?? 0;
  }
  override build(inputShape: tf.Shape | tf.Shape[]): void {
    const fanIn = (inputShape as tf.Shape)[1] as number;
    this.kernel = this.addWeight('kernel', [fanIn, this.units], 'float32', tf.initializers.randomNormal({ mean: 0, stddev: 1 / this.lrMultiplier, seed: this.seed }));
    this.bias = this.addWeight('bias', [this.units], 'float32', tf.initializers.zeros());
    this.built = true;
  }
  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    return [(inputShape as tf.Shape)[0]!, this.units];
  }
  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = single(inputs) as tf.Tensor2D;
      const fanIn = x.shape[1];
      const w = tf.mul(this.kernel!.read(), (this.gain * this.lrMultiplier) / Math.sqrt(fanIn)) as tf.Tensor2D;
      return tf.add(tf.matMul(x, w), tf.mul(this.bias!.read(), this.lrMultiplier));
    });
  }
  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), units: this.units, lrMultiplier: this.lrMultiplier, gain: this.gain, seed: this.seed };
  }
}
tf.serialization.registerClass(EqualizedDense);

/** Row `index` of a W+ code [batch, layers, wDim] → [batch, wDim]: the style of one synthesis layer. */
export class LatentRow extends tf.layers.Layer {
  static className = 'LatentRow';
  readonly index: number;
  constructor(args: LayerArgs & { index: number }) {
    const { index, ...base } = args;
    super(base);
    this.index = index;
  }
  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    const s = inputShape as tf.Shape;
    return [s[0]!, s[2]!];
  }
  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = single(inputs);
      return tf.reshape(tf.slice(x, [0, this.index, 0], [-1, 1, -1]), [x.shape[0]!, x.shape[2]!]);
    });
  }
  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), index: this.index };
  }
}
tf.serialization.registerClass(LatentRow);

/**
 * A learned [size, size, channels] tensor tiled over the batch of its input,
 * initialised N(0, 1) as StyleGAN2 does (StyleGAN's ones make the first
 * instance norms divide near-zero variances, which leaves a fresh generator
 * badly conditioned for inversion).
 */
export class ConstantInput extends tf.layers.Layer {
  static className = 'ConstantInput';
  readonly size: number;
  readonly channels: number;
  private constant: tf.LayerVariable | undefined;
  readonly seed: number;
  constructor(args: LayerArgs & { size: number; channels: number; seed?: number }) {
    const { size, channels, seed, ...base } = args;
    super(base);
    this.size = size;
    this.channels = channels;
    this.seed = seed ?? 0;
  }
  override build(): void {
    this.constant = this.addWeight('constant', [1, this.size, this.size, this.channels], 'float32', tf.initializers.randomNormal({ mean: 0, stddev: 1, seed: this.seed }));
    this.built = true;
  }
  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    return [(inputShape as tf.Shape)[0]!, this.size, this.size, this.channels];
  }
  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => tf.tile(this.constant!.read(), [single(inputs).shape[0]!, 1, 1, 1]));
  }
  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), size: this.size, channels: this.channels, seed: this.seed };
  }
}
tf.serialization.registerClass(ConstantInput);

/**
 * Adaptive instance normalisation: inputs [x, w]; each channel of x is
 * normalised over its pixels, then y = x̂·(1 + sᶜ) + bᶜ with [s, b] = A·w + a,
 * a learned affine map of the layer's style w (A ~ N(0, 1/wDim), a = 0, so a
 * fresh layer is plain instance norm).
 */
export class AdaptiveInstanceNorm extends tf.layers.Layer {
  static className = 'AdaptiveInstanceNorm';
  readonly seed: number;
  private kernel: tf.LayerVariable | undefined;
  private bias: tf.LayerVariable | undefined;
  constructor(args: LayerArgs & { seed?: number }) {
    const { seed, ...base } = args;
    super(base);
    this.seed = seed ?? 0;
  }
  override build(inputShape: tf.Shape | tf.Shape[]): void {
    const [xShape, wShape] = inputShape as tf.Shape[];
    const channels = xShape![3] as number;
    const wDim = wShape![1] as number;
    this.kernel = this.addWeight('style_kernel', [wDim, 2 * channels], 'float32', tf.initializers.randomNormal({ mean: 0, stddev: 1 / Math.sqrt(wDim), seed: this.seed }));
    this.bias = this.addWeight('style_bias', [2 * channels], 'float32', tf.initializers.zeros());
    this.built = true;
  }
  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    return (inputShape as tf.Shape[])[0]!;
  }
  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const [x, w] = inputs as tf.Tensor[];
      const channels = x!.shape[3]!;
      const { mean, variance } = tf.moments(x!, [1, 2], true);
      const normalised = tf.mul(tf.sub(x!, mean), tf.rsqrt(tf.add(variance, 1e-8)));
      const style = tf.add(tf.matMul(w as tf.Tensor2D, this.kernel!.read() as tf.Tensor2D), this.bias!.read());
      const scale = tf.reshape(tf.slice(style, [0, 0], [-1, channels]), [-1, 1, 1, channels]);
      const shift = tf.reshape(tf.slice(style, [0, channels], [-1, channels]), [-1, 1, 1, channels]);
      return tf.add(tf.mul(normalised, tf.add(scale, 1)), shift);
    });
  }
  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), seed: this.seed };
  }
}
tf.serialization.registerClass(AdaptiveInstanceNorm);

/**
 * StyleGAN2's modulated convolution (Karras et al. 2020, eq. 1–3): inputs
 * [x, w]; the style s = A·w/√wDim + 1 scales the kernel's input channels, and
 * with `demodulate` each output channel is divided by the norm of its scaled
 * kernel, √(Σᵢₖ (sᵢ·wᵢⱼₖ)² + ε), so the output has about unit variance without
 * looking at the activations. Computed as StyleGAN2's non-fused form (scale x,
 * convolve with the shared kernel, scale the output), which is exact. Kernel
 * and style weights use the equalised learning rate (stored N(0, 1), scaled by
 * 1/√fanIn when used), so Adam's steps move every layer by the same relative amount.
 */
export class ModulatedConv2D extends tf.layers.Layer {
  static className = 'ModulatedConv2D';
  readonly filters: number;
  readonly kernelSize: number;
  readonly demodulate: boolean;
  readonly seed: number;
  private kernel: tf.LayerVariable | undefined;
  private styleKernel: tf.LayerVariable | undefined;
  private styleBias: tf.LayerVariable | undefined;
  private bias: tf.LayerVariable | undefined;
  constructor(args: LayerArgs & { filters: number; kernelSize: number; demodulate?: boolean; seed?: number }) {
    const { filters, kernelSize, demodulate, seed, ...base } = args;
    super(base);
    this.filters = filters;
    this.kernelSize = kernelSize;
    this.demodulate = demodulate ?? true;
    this.seed = seed ?? 0;
  }
  override build(inputShape: tf.Shape | tf.Shape[]): void {
    const [xShape, wShape] = inputShape as tf.Shape[];
    const channels = xShape![3] as number;
    const wDim = wShape![1] as number;
    const k = this.kernelSize;
    this.kernel = this.addWeight('kernel', [k, k, channels, this.filters], 'float32', tf.initializers.randomNormal({ mean: 0, stddev: 1, seed: this.seed }));
    this.styleKernel = this.addWeight('style_kernel', [wDim, channels], 'float32', tf.initializers.randomNormal({ mean: 0, stddev: 1, seed: this.seed + 1 }));
    this.styleBias = this.addWeight('style_bias', [channels], 'float32', tf.initializers.ones());
    this.bias = this.addWeight('bias', [this.filters], 'float32', tf.initializers.zeros());
    this.built = true;
  }
  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    const [xShape] = inputShape as tf.Shape[];
    return [xShape![0]!, xShape![1]!, xShape![2]!, this.filters];
  }
  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const [x, w] = inputs as [tf.Tensor4D, tf.Tensor2D];
      const channels = x.shape[3];
      const wDim = w.shape[1];
      const style = tf.add(tf.matMul(w, tf.mul(this.styleKernel!.read(), 1 / Math.sqrt(wDim)) as tf.Tensor2D), this.styleBias!.read()) as tf.Tensor2D;
      const kernel = tf.mul(this.kernel!.read(), 1 / Math.sqrt(this.kernelSize * this.kernelSize * channels)) as tf.Tensor4D;
      let y: tf.Tensor = tf.conv2d(tf.mul(x, tf.reshape(style, [-1, 1, 1, channels])) as tf.Tensor4D, kernel, 1, 'same');
      if (this.demodulate) {
        // Σₖ w²ᵢⱼₖ per (input, output) channel, then Σᵢ s²ᵢ·that per image and output channel.
        const energy = tf.sum(tf.square(kernel), [0, 1]) as tf.Tensor2D;
        const norm = tf.rsqrt(tf.add(tf.matMul(tf.square(style), energy), 1e-8));
        y = tf.mul(y, tf.reshape(norm, [-1, 1, 1, this.filters]));
      }
      return tf.add(y, this.bias!.read());
    });
  }
  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), filters: this.filters, kernelSize: this.kernelSize, demodulate: this.demodulate, seed: this.seed };
  }
}
tf.serialization.registerClass(ModulatedConv2D);

/**
 * StyleGAN's per-pixel noise with a learned per-channel strength (zeros at
 * first), except that the noise map is drawn once from `seed` and stored with
 * the model: inversion and editing need G to be a function of the code alone
 * (the reference inverts with `randomize_noise=False`).
 */
export class FixedNoise extends tf.layers.Layer {
  static className = 'FixedNoise';
  readonly seed: number;
  private noise: tf.LayerVariable | undefined;
  private strength: tf.LayerVariable | undefined;
  constructor(args: LayerArgs & { seed?: number }) {
    const { seed, ...base } = args;
    super(base);
    this.seed = seed ?? 0;
  }
  override build(inputShape: tf.Shape | tf.Shape[]): void {
    const s = inputShape as tf.Shape;
    this.noise = this.addWeight('noise', [1, s[1] as number, s[2] as number, 1], 'float32', tf.initializers.randomNormal({ mean: 0, stddev: 1, seed: this.seed }), undefined, false);
    this.strength = this.addWeight('strength', [s[3] as number], 'float32', tf.initializers.zeros());
    this.built = true;
  }
  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => tf.add(single(inputs), tf.mul(this.noise!.read(), this.strength!.read())));
  }
  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), seed: this.seed };
  }
}
tf.serialization.registerClass(FixedNoise);

/** The two ways a synthesis layer takes its style: see {@link StyleGeneratorOptions.block}. */
export const STYLE_BLOCKS = ['modulated', 'adain'] as const;
export type StyleBlock = (typeof STYLE_BLOCKS)[number];

/** Image sides the style generator supports (powers of two from 8). */
export const STYLE_IMAGE_SIZES = [8, 16, 32, 64] as const;

/** Options of {@link styleGenerator}. */
export interface StyleGeneratorOptions {
  /** Side of the square output (8, 16, 32 or 64; default 32; 28×28 data is padded to 32). */
  imageSize?: number;
  /** Output channels (default 1). */
  channels?: number;
  /** Size of z (default: wDim). */
  latentDim?: number;
  /** Size of w (default 128). */
  wDim?: number;
  /** Dense layers of the mapping network (default 4). */
  mappingLayers?: number;
  /** Learning-rate multiplier of the mapping network (default 0.01, StyleGAN's; see {@link EqualizedDense}). */
  mappingLrMultiplier?: number;
  /** Feature maps at the output resolution; each halving of the resolution doubles them up to `maxChannels` (default 16). */
  width?: number;
  /** Cap on the feature maps of any layer (default 128). */
  maxChannels?: number;
  /** Add fixed per-pixel noise with a learned strength before each AdaIN (default false). */
  noise?: boolean;
  /**
   * How each layer's w styles it: 'modulated' (default), StyleGAN2's modulated and
   * demodulated 3×3 convolutions with equalised learning rate and a modulated 1×1
   * to the image; 'adain', StyleGAN's conv → AdaIN.
   */
  block?: StyleBlock;
  /**
   * The image's last activation: 'tanh' (default), or 'linear' as StyleGAN (values outside
   * [−1, 1] are left to the loss; clip them for display).
   */
  output?: 'tanh' | 'linear';
  /** Seed of every initialiser and noise map (default 0). */
  seed?: number;
}

/** What a saved style generator records next to its model (`style.json`). */
export interface StyleGeneratorConfig extends Required<StyleGeneratorOptions> {
  kind: 'style-generator';
  numLayers: number;
}

/** The number of W+ rows of a style generator of this side: two per resolution from 4×4. */
export function styleLayerCount(imageSize: number): number {
  return 2 * (Math.log2(imageSize) - 1);
}

function resolveOptions(options: StyleGeneratorOptions): Required<StyleGeneratorOptions> {
  const o = {
    imageSize: options.imageSize ?? 32,
    channels: options.channels ?? 1,
    wDim: options.wDim ?? 128,
    mappingLayers: options.mappingLayers ?? 4,
    mappingLrMultiplier: options.mappingLrMultiplier ?? 0.01,
    width: options.width ?? 16,
    maxChannels: options.maxChannels ?? 128,
    noise: options.noise ?? false,
    block: options.block ?? 'modulated',
    output: options.output ?? 'tanh',
    seed: options.seed ?? 0,
    latentDim: options.latentDim ?? options.wDim ?? 128,
  };
  check((STYLE_IMAGE_SIZES as readonly number[]).includes(o.imageSize), 'imageSize', options.imageSize, `one of ${STYLE_IMAGE_SIZES.join(', ')}`);
  for (const key of ['channels', 'wDim', 'mappingLayers', 'width', 'maxChannels', 'latentDim'] as const) check(Number.isInteger(o[key]) && o[key] >= 1, key, options[key], 'an integer ≥ 1');
  check(typeof o.noise === 'boolean', 'noise', options.noise, 'true or false');
  check(o.output === 'tanh' || o.output === 'linear', 'output', options.output, "'tanh' or 'linear'");
  check((STYLE_BLOCKS as readonly string[]).includes(o.block), 'block', options.block, `one of ${STYLE_BLOCKS.join(', ')}`);
  check(Number.isFinite(o.mappingLrMultiplier) && o.mappingLrMultiplier > 0, 'mappingLrMultiplier', options.mappingLrMultiplier, 'a positive number');
  check(Number.isInteger(o.seed), 'seed', options.seed, 'an integer');
  return o;
}

/**
 * A style-based generator: the three models share their layers, so training
 * `generator` moves `mapping` and `synthesis`. Free it with {@link dispose}.
 */
export class StyleGenerator {
  /** z [batch, latentDim] → image [batch, size, size, channels] in [−1, 1], w repeated on every layer: what a GAN trainer trains. */
  readonly generator: tf.LayersModel;
  /** z → w [batch, wDim]. */
  readonly mapping: tf.LayersModel;
  /** W+ code [batch, numLayers, wDim] → image. */
  readonly synthesis: tf.LayersModel;
  readonly config: StyleGeneratorConfig;
  private mean: tf.Tensor1D | undefined;

  constructor(options: StyleGeneratorOptions = {}) {
    const o = resolveOptions(options);
    const numLayers = styleLayerCount(o.imageSize);
    this.config = { kind: 'style-generator', ...o, numLayers };
    const rng = createRng(o.seed);
    const init = () => tf.initializers.heNormal({ seed: rng.seedInt() });

    const mappingLayers: tf.layers.Layer[] = [new PixelNorm({ name: 'pixel_norm' })];
    for (let i = 0; i < o.mappingLayers; i++) {
      mappingLayers.push(new EqualizedDense({ units: o.wDim, lrMultiplier: o.mappingLrMultiplier, gain: Math.SQRT2, seed: rng.seedInt(), name: `mapping_dense_${i}` }), tf.layers.leakyReLU({ alpha: 0.2, name: `mapping_lrelu_${i}` }));
    }
    const repeat = tf.layers.repeatVector({ n: numLayers, name: 'broadcast_w' });

    // Synthesis layers, created once and applied to both the W+ input and the repeated w.
    const channelsAt = (side: number) => Math.min(o.maxChannels, o.width * (o.imageSize / side));
    const constant = new ConstantInput({ size: 4, channels: channelsAt(4), seed: rng.seedInt(), name: 'constant' });
    const rows = Array.from({ length: numLayers }, (_, layer) => new LatentRow({ index: layer, name: `w_row_${layer}` }));
    const noise = Array.from({ length: numLayers }, (_, layer) => (o.noise ? new FixedNoise({ seed: rng.seedInt(), name: `noise_${layer}` }) : undefined));
    const upsample = (layer: number) => tf.layers.upSampling2d({ size: [2, 2], name: `upsample_${4 * 2 ** (layer / 2)}` });
    let synthesize: (wPlus: tf.SymbolicTensor) => tf.SymbolicTensor;
    if (o.block === 'adain') {
      type Stage = { upsample?: tf.layers.Layer; conv?: tf.layers.Layer; act?: tf.layers.Layer; adain: tf.layers.Layer };
      const stages: Stage[] = [];
      for (let layer = 0; layer < numLayers; layer++) {
        const side = 4 * 2 ** Math.floor(layer / 2);
        const stage: Stage = { adain: new AdaptiveInstanceNorm({ seed: rng.seedInt(), name: `adain_${layer}` }) };
        // The first layer styles the constant itself (StyleGAN's 4×4 block: const → AdaIN → conv → AdaIN).
        if (layer > 0) {
          if (layer % 2 === 0) stage.upsample = upsample(layer);
          stage.conv = tf.layers.conv2d({ filters: channelsAt(side), kernelSize: 3, padding: 'same', kernelInitializer: init(), name: `conv_${layer}` });
          stage.act = tf.layers.leakyReLU({ alpha: 0.2, name: `lrelu_${layer}` });
        }
        stages.push(stage);
      }
      const toImage = tf.layers.conv2d({ filters: o.channels, kernelSize: 1, activation: o.output, kernelInitializer: tf.initializers.glorotNormal({ seed: rng.seedInt() }), name: 'to_image' });
      synthesize = (wPlus) => {
        let x = constant.apply(wPlus) as tf.SymbolicTensor;
        stages.forEach((s, layer) => {
          if (s.upsample) x = s.upsample.apply(x) as tf.SymbolicTensor;
          if (s.conv) x = s.act!.apply(s.conv.apply(x)) as tf.SymbolicTensor;
          if (noise[layer]) x = noise[layer]!.apply(x) as tf.SymbolicTensor;
          x = s.adain.apply([x, rows[layer]!.apply(wPlus) as tf.SymbolicTensor]) as tf.SymbolicTensor;
        });
        return toImage.apply(x) as tf.SymbolicTensor;
      };
    } else {
      // StyleGAN2's layout: a modulated conv on the constant, then (upsample, conv), conv per resolution; noise after each conv.
      const convs = Array.from({ length: numLayers }, (_, layer) => new ModulatedConv2D({ filters: channelsAt(4 * 2 ** Math.floor(layer / 2)), kernelSize: 3, seed: rng.seedInt(), name: `modconv_${layer}` }));
      const ups = Array.from({ length: numLayers }, (_, layer) => (layer > 0 && layer % 2 === 0 ? upsample(layer) : undefined));
      const acts = Array.from({ length: numLayers }, (_, layer) => tf.layers.leakyReLU({ alpha: 0.2, name: `lrelu_${layer}` }));
      const toImage = new ModulatedConv2D({ filters: o.channels, kernelSize: 1, demodulate: false, seed: rng.seedInt(), name: 'to_image' });
      const squash = o.output === 'tanh' ? tf.layers.activation({ activation: 'tanh', name: 'to_image_tanh' }) : undefined;
      synthesize = (wPlus) => {
        let x = constant.apply(wPlus) as tf.SymbolicTensor;
        let row: tf.SymbolicTensor = x;
        for (let layer = 0; layer < numLayers; layer++) {
          if (ups[layer]) x = ups[layer]!.apply(x) as tf.SymbolicTensor;
          row = rows[layer]!.apply(wPlus) as tf.SymbolicTensor;
          x = convs[layer]!.apply([x, row]) as tf.SymbolicTensor;
          if (noise[layer]) x = noise[layer]!.apply(x) as tf.SymbolicTensor;
          x = acts[layer]!.apply(x) as tf.SymbolicTensor;
        }
        // The last layer's style also modulates the 1×1 to the image (StyleGAN2's toRGB shares its w).
        const image = toImage.apply([x, row]) as tf.SymbolicTensor;
        return squash ? (squash.apply(image) as tf.SymbolicTensor) : image;
      };
    }
    const map = (z: tf.SymbolicTensor): tf.SymbolicTensor => mappingLayers.reduce((x, l) => l.apply(x) as tf.SymbolicTensor, z);

    const z = tf.input({ shape: [o.latentDim], name: 'z' });
    const w = map(z);
    this.generator = tf.model({ inputs: z, outputs: synthesize(repeat.apply(w) as tf.SymbolicTensor), name: 'style_generator' });
    this.mapping = tf.model({ inputs: z, outputs: w, name: 'style_mapping' });
    const wPlus = tf.input({ shape: [numLayers, o.wDim], name: 'w_plus' });
    this.synthesis = tf.model({ inputs: wPlus, outputs: synthesize(wPlus), name: 'style_synthesis' });
  }

  get numLayers(): number {
    return this.config.numLayers;
  }
  get wDim(): number {
    return this.config.wDim;
  }
  get latentDim(): number {
    return this.config.latentDim;
  }
  get imageSize(): number {
    return this.config.imageSize;
  }
  get channels(): number {
    return this.config.channels;
  }

  /** w = mapping(z), [n, wDim]. */
  mapZ(z: tf.Tensor2D): tf.Tensor2D {
    this.checkZ(z, 'z');
    return this.mapping.predict(z) as tf.Tensor2D;
  }

  /** The same w on every layer: [n, wDim] → the W+ code [n, numLayers, wDim]. */
  broadcast(w: tf.Tensor2D): tf.Tensor3D {
    check(w instanceof tf.Tensor && w.rank === 2 && w.shape[1] === this.wDim, 'w', w, `a tensor [n, ${this.wDim}]`);
    return tf.tidy(() => tf.tile(tf.expandDims(w, 1), [1, this.numLayers, 1]) as tf.Tensor3D);
  }

  /**
   * Images G(z) in [−1, 1]. With `truncation` ψ < 1 every w is pulled towards
   * the mean w: w̄ + ψ·(w − w̄) (StyleGAN's truncation trick, here on all layers).
   */
  generate(z: tf.Tensor2D, options: { truncation?: number } = {}): tf.Tensor4D {
    this.checkZ(z, 'z');
    const psi = options.truncation ?? 1;
    check(Number.isFinite(psi) && psi >= 0, 'truncation', options.truncation, 'a number ≥ 0 (1: none)');
    if (psi === 1) return this.generator.predict(z) as tf.Tensor4D;
    const mean = this.meanW();
    return tf.tidy(() => {
      const w = this.mapping.predict(z) as tf.Tensor2D;
      return this.synthesize(this.broadcast(tf.add(mean, tf.mul(tf.sub(w, mean), psi)) as tf.Tensor2D));
    });
  }

  /** Images from W+ codes [n, numLayers, wDim] (inference: no layer is in training mode). */
  synthesize(wPlus: tf.Tensor3D): tf.Tensor4D {
    this.checkCodes(wPlus, 'wPlus');
    return this.synthesis.apply(wPlus, { training: false }) as tf.Tensor4D;
  }

  /** Throws unless `codes` is a W+ tensor [n, numLayers, wDim] for this generator. */
  checkCodes(codes: tf.Tensor, argument = 'codes'): void {
    check(codes instanceof tf.Tensor && codes.rank === 3 && codes.shape[1] === this.numLayers && codes.shape[2] === this.wDim, argument, codes, `W+ codes of shape [n, ${this.numLayers}, ${this.wDim}] (this generator's layers × w size)`);
  }

  private checkZ(z: tf.Tensor, argument: string): void {
    check(z instanceof tf.Tensor && z.rank === 2 && z.shape[1] === this.latentDim, argument, z, `latent codes of shape [n, ${this.latentDim}]`);
  }

  /**
   * The mean w over `samples` draws of z ~ N(0, I) from `seed` (default 10 000 from 0),
   * computed once and kept: the truncation centre and the "mean" start of inversion.
   * Call {@link resetMeanW} after changing the weights.
   */
  meanW(samples = 10_000, seed = 0): tf.Tensor1D {
    if (this.mean) return this.mean;
    check(Number.isInteger(samples) && samples >= 1, 'samples', samples, 'an integer ≥ 1');
    this.mean = tf.tidy(() => {
      let sum: tf.Tensor = tf.zeros([this.wDim]);
      const rng = createRng(seed);
      for (let done = 0; done < samples; done += 1000) {
        const n = Math.min(1000, samples - done);
        sum = tf.add(sum, tf.sum(this.mapping.predict(tf.randomNormal([n, this.latentDim], 0, 1, 'float32', rng.seedInt())) as tf.Tensor, 0));
      }
      return tf.keep(tf.div(sum, samples) as tf.Tensor1D);
    });
    return this.mean;
  }

  /** Forgets the cached mean w (after training or loading new weights). */
  resetMeanW(): void {
    this.mean?.dispose();
    this.mean = undefined;
  }

  /**
   * Frees the weights. The synthesis layers are applied twice (to the repeated w
   * and to the W+ input), so tfjs counts two references to each; every shared
   * layer is released until its count reaches zero and its weights go.
   */
  dispose(): void {
    this.resetMeanW();
    const layers = new Set([...this.generator.layers, ...this.mapping.layers, ...this.synthesis.layers]);
    for (const layer of layers) {
      // Input layers are never applied, so tfjs has no count for them (null) and nothing to free.
      if ((layer as unknown as { _refCount: number | null })._refCount === null) continue;
      while (layer.dispose().refCountAfterDispose > 0);
    }
  }
}

/** Builds a {@link StyleGenerator}; see the module comment for the architecture. */
export function styleGenerator(options: StyleGeneratorOptions = {}): StyleGenerator {
  return new StyleGenerator(options);
}

/** The file beside a saved style generator's model.json that holds its options. */
export const STYLE_CONFIG_FILE = 'style.json';

/** Saves `generator`'s z → image model to `dir` (loadable as a plain LayersModel) and its options as `style.json`. */
export async function saveStyleGenerator(generator: StyleGenerator, dir: string): Promise<void> {
  const files = platformFiles('saving a style generator to a folder');
  await saveModel(generator.generator, dir);
  files.writeFileAtomic(files.join(dir, STYLE_CONFIG_FILE), JSON.stringify(generator.config, null, 1));
}

/** True when `dir` holds a generator saved by {@link saveStyleGenerator} (or `gan train --arch style`). */
export function isStyleGeneratorDir(dir: string): boolean {
  const files = platformFiles('reading a style generator folder');
  return files.exists(files.join(dir, STYLE_CONFIG_FILE)) && files.exists(files.join(dir, 'model.json'));
}

/**
 * Loads a style generator saved by {@link saveStyleGenerator}: rebuilt from `style.json`, weights from the
 * model. `dir`: the folder, or its URL (`http://…/generator/`, as a page loads one: both files by fetch).
 */
export async function loadStyleGenerator(dir: string, argument = 'dir'): Promise<StyleGenerator> {
  const expected = `a folder holding a style generator (model.json and ${STYLE_CONFIG_FILE}, as \`gan train --arch style\` writes in generator/)`;
  if (!isUrl(dir) && !isStyleGeneratorDir(dir)) throw new EccvkitInputError(argument, dir, expected);
  const config = JSON.parse(await readSideFile(dir, STYLE_CONFIG_FILE, argument, expected)) as StyleGeneratorConfig;
  if (config.kind !== 'style-generator') throw new EccvkitInputError(argument, `${dir} (${STYLE_CONFIG_FILE} of kind ${JSON.stringify(config.kind)})`, "a style generator's config");
  const { kind: _kind, numLayers: _layers, ...options } = config;
  const generator = new StyleGenerator(options);
  const loaded = await loadModel(modelLocation(dir));
  try {
    if (loaded.weights.length !== generator.generator.weights.length) throw new EccvkitInputError(argument, `${dir} (${loaded.weights.length} weights)`, `a model of the architecture in ${STYLE_CONFIG_FILE} (${generator.generator.weights.length} weights)`);
    generator.generator.setWeights(loaded.getWeights());
  } catch (err) {
    generator.dispose();
    throw err;
  } finally {
    loaded.dispose();
  }
  return generator;
}
