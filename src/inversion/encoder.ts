/**
 * Encoders from images to a style generator's W+ codes (In-Domain GAN
 * Inversion, Zhu et al., ECCV 2020):
 *
 * - the domain-guided encoder E, trained on real images x through the frozen
 *   generator G: L_E = mean((x − G(E(x)))²) + λ_feat·mean((F(x) − F(G(E(x))))²)
 *   + λ_adv·mean(softplus(−D(G(E(x))))), with a discriminator D trained jointly
 *   (non-saturating loss, R1 on reals with γ = 10), Adam(β 0.9, 0.99), one E
 *   step then one D step per iteration (the reference's `loss_encoder.py`);
 * - the "traditional" encoder of earlier work, trained on generated pairs to
 *   regress the code: L = mean((w − E(G(w)))²) with w = broadcast(mapping(z)).
 *
 * The architecture is residual blocks with batch norm after every convolution
 * (the maintainers' fix for encoders that do not learn) down to 4×4, then a
 * dense layer to numLayers × wDim whose bias starts at the generator's mean w,
 * so a fresh encoder maps every image to the mean code instead of to noise.
 * That dense layer has the equalised learning rate (its kernel is used scaled
 * by 1/√fanIn): at the encoder's lr 1e-3, Adam's first, sign-like steps on a
 * plain dense head moved every code by about lr·Σ|features| ≈ 1 per step, out
 * of W into codes where G draws one black image and every gradient vanishes
 * (the domain-guided encoder collapsed within 2 steps at batch 16).
 */
import { createRng, tf } from '../engine/core.js';
import { check, EccvkitInputError } from '../errors.js';
import { platformFiles } from '../platform.js';
import { dcganDiscriminator } from '../nn/gan-nets.js';
import { isUrl, loadModel, loadOptimizerState, loadWeightsInto, modelLocation, readSideFile, saveModel, saveOptimizerState } from '../nn/io.js';
import { EqualizedDense, type StyleGenerator } from '../nn/style-gan.js';
import { r1Penalty } from '../gan/penalties.js';
import type { GanProgress } from '../gan/train.js';
import type { PerceptualFeatures } from './perceptual.js';

/**
 * A fingerprint of a generator's architecture and weights (FNV-1a over the
 * float bits of every weight, with their shapes): an encoder records the one of
 * the generator it was trained for, and inversion refuses a mismatch.
 */
export function generatorFingerprint(generator: StyleGenerator): string {
  let h = 0x811c9dc5;
  const mix = (v: number) => {
    h ^= v;
    h = Math.imul(h, 0x01000193) >>> 0;
  };
  for (const w of generator.generator.weights) {
    for (const d of w.shape) mix(d as number);
    const bits = new Uint32Array((w.read().dataSync() as Float32Array).slice().buffer);
    for (let i = 0; i < bits.length; i++) mix(bits[i] as number);
  }
  return `${generator.numLayers}x${generator.wDim}-${h.toString(16).padStart(8, '0')}`;
}

/** How an encoder was trained. */
export type EncoderKind = 'domainGuided' | 'traditional';

/** What a saved encoder records next to its model (`encoder.json`). */
export interface EncoderMeta {
  kind: EncoderKind;
  /** {@link generatorFingerprint} of the generator it was trained for. */
  generator: string;
  numLayers: number;
  wDim: number;
  imageSize: number;
  channels: number;
  width: number;
}

/** Options of {@link encoderNetwork}. */
export interface EncoderNetworkOptions {
  /** Filters of the first block; each halving of the resolution doubles them up to 256 (default 16). */
  width?: number;
  seed?: number;
}

/**
 * The encoder network for `generator`: conv 3×3 → BN → leaky ReLU, then per
 * halving a residual block [conv 3×3 stride 2 → BN → lReLU → conv 3×3 → BN] +
 * [conv 1×1 stride 2 → BN] → lReLU, down to 4×4; flatten → dense to the W+ code
 * [numLayers, wDim] with its bias set to the generator's mean w on every layer.
 */
export function encoderNetwork(generator: StyleGenerator, options: EncoderNetworkOptions = {}): tf.LayersModel {
  const width = options.width ?? 16;
  check(Number.isInteger(width) && width >= 1, 'width', options.width, 'an integer ≥ 1');
  const rng = createRng(options.seed ?? 0);
  const init = () => tf.initializers.heNormal({ seed: rng.seedInt() });
  const { imageSize, channels, numLayers, wDim } = generator;
  const input = tf.input({ shape: [imageSize, imageSize, channels] });
  const bnAct = (x: tf.SymbolicTensor) => tf.layers.leakyReLU({ alpha: 0.2 }).apply(tf.layers.batchNormalization({}).apply(x)) as tf.SymbolicTensor;
  let x = bnAct(tf.layers.conv2d({ filters: width, kernelSize: 3, padding: 'same', useBias: false, kernelInitializer: init() }).apply(input) as tf.SymbolicTensor);
  let filters = width;
  for (let side = imageSize; side > 4; side /= 2) {
    filters = Math.min(256, filters * 2);
    let r = bnAct(tf.layers.conv2d({ filters, kernelSize: 3, strides: 2, padding: 'same', useBias: false, kernelInitializer: init() }).apply(x) as tf.SymbolicTensor);
    r = tf.layers.batchNormalization({}).apply(tf.layers.conv2d({ filters, kernelSize: 3, padding: 'same', useBias: false, kernelInitializer: init() }).apply(r)) as tf.SymbolicTensor;
    const shortcut = tf.layers.batchNormalization({}).apply(tf.layers.conv2d({ filters, kernelSize: 1, strides: 2, padding: 'same', useBias: false, kernelInitializer: init() }).apply(x)) as tf.SymbolicTensor;
    x = tf.layers.leakyReLU({ alpha: 0.2 }).apply(tf.layers.add().apply([r, shortcut])) as tf.SymbolicTensor;
  }
  const flat = tf.layers.flatten().apply(x) as tf.SymbolicTensor;
  const head = new EqualizedDense({ units: numLayers * wDim, seed: rng.seedInt() });
  const code = tf.layers.reshape({ targetShape: [numLayers, wDim] }).apply(head.apply(flat)) as tf.SymbolicTensor;
  const model = tf.model({ inputs: input, outputs: code });
  // The used kernel starts at N(0, 0.01²/fanIn), so a fresh encoder draws about the mean code.
  const [kernel, mean] = tf.tidy(() => [tf.mul(head.getWeights()[0]!, 0.01), tf.tile(generator.meanW(), [numLayers])]);
  head.setWeights([kernel!, mean!]);
  tf.dispose([kernel!, mean!]);
  return model;
}

/** An image → W+ encoder bound to the generator it was trained for. */
export class StyleEncoder {
  readonly model: tf.LayersModel;
  readonly meta: EncoderMeta;

  constructor(model: tf.LayersModel, meta: EncoderMeta) {
    this.model = model;
    this.meta = meta;
  }

  /** A fresh (untrained) encoder for `generator`. */
  static create(generator: StyleGenerator, kind: EncoderKind, options: EncoderNetworkOptions = {}): StyleEncoder {
    const model = encoderNetwork(generator, options);
    return new StyleEncoder(model, { kind, generator: generatorFingerprint(generator), numLayers: generator.numLayers, wDim: generator.wDim, imageSize: generator.imageSize, channels: generator.channels, width: options.width ?? 16 });
  }

  /** W+ codes [n, numLayers, wDim] of images in [−1, 1] (inference: batch norm uses its moving statistics). */
  encode(images: tf.Tensor4D, training = false): tf.Tensor3D {
    this.checkImages(images, 'images');
    return this.model.apply(images, { training }) as tf.Tensor3D;
  }

  /** Throws unless the encoder was trained for `generator` (same fingerprint). */
  checkGenerator(generator: StyleGenerator, argument = 'encoder'): void {
    const id = generatorFingerprint(generator);
    if (id !== this.meta.generator) throw new EccvkitInputError(argument, `an encoder trained for generator ${this.meta.generator}`, `an encoder trained for this generator (${id}); train one with \`eccvkit inversion train-encoder\``);
  }

  /** Throws unless `images` is [n, imageSize, imageSize, channels]. */
  checkImages(images: tf.Tensor, argument: string): void {
    const { imageSize: s, channels: c } = this.meta;
    check(images instanceof tf.Tensor && images.rank === 4 && images.shape[1] === s && images.shape[2] === s && images.shape[3] === c, argument, images, `images of shape [n, ${s}, ${s}, ${c}] (the generator's)`);
  }

  dispose(): void {
    this.model.dispose();
  }
}

/** The file beside a saved encoder's model.json. */
export const ENCODER_META_FILE = 'encoder.json';

export async function saveEncoder(encoder: StyleEncoder, dir: string): Promise<void> {
  const files = platformFiles('saving an encoder to a folder');
  await saveModel(encoder.model, dir);
  files.writeFileAtomic(files.join(dir, ENCODER_META_FILE), JSON.stringify(encoder.meta, null, 1));
}

/**
 * Loads an encoder saved by {@link saveEncoder} (`inversion train-encoder` writes one in `--out/encoder`):
 * from its folder (or the folder above it), or from the folder's URL (`http://…/encoder/`, by fetch).
 */
export async function loadEncoder(dir: string, argument = 'encoder'): Promise<StyleEncoder> {
  const expected = `a folder holding an encoder (model.json and ${ENCODER_META_FILE}), as \`eccvkit inversion train-encoder --out\` writes`;
  let where = dir;
  if (!isUrl(dir)) {
    const files = platformFiles('loading an encoder from a folder');
    const nested = files.join(dir, 'encoder');
    where = files.exists(files.join(nested, ENCODER_META_FILE)) ? nested : dir;
  }
  const meta = JSON.parse(await readSideFile(where, ENCODER_META_FILE, argument, expected)) as EncoderMeta;
  return new StyleEncoder(await loadModel(modelLocation(where)), meta);
}

/**
 * The reference's encoder loss weights, rescaled to this scale. Its λ_vgg =
 * 5e-5 weighs VGG conv4_3 activations (values in the hundreds on 0–255 input)
 * against pixel MSE in [−1, 1]; our F is a small classifier's last conv on
 * [0, 1] input, whose squared differences are about 10⁴ times smaller, so
 * λ_feat = 0.5 keeps the perceptual term at the same share of the loss (about
 * a third at the start of training on digits). λ_adv = 0.08 is
 * `train_encoder.py`'s D_scale, and γ = 10 its R1 weight.
 */
export const ENCODER_DEFAULTS = { lambdaFeat: 0.5, lambdaAdv: 0.08, r1Gamma: 10, learningRate: 1e-4, batchSize: 16 } as const;

/** Options of {@link EncoderTrainer}. */
export interface EncoderTrainerOptions {
  generator: StyleGenerator;
  encoder: StyleEncoder;
  /** Real images [n, S, S, C] in [−1, 1] (domain-guided only; the traditional encoder samples G). */
  real?: tf.Tensor4D;
  /** F of the perceptual term (domain-guided; absent: no perceptual term). */
  perceptual?: PerceptualFeatures;
  lambdaFeat?: number;
  lambdaAdv?: number;
  /** R1 weight γ (the penalty is γ/2·E‖∇D(x)‖²). */
  r1Gamma?: number;
  /** The discriminator trained jointly (default: a fresh DCGAN critic of the image size; ignored with lambdaAdv 0). */
  discriminator?: tf.LayersModel;
  learningRate?: number;
  /** lr·0.8^(step/(steps/4)), the reference's continuous exponential decay over `steps` (absent: constant lr). */
  decaySteps?: number;
  batchSize?: number;
  seed?: number;
}

/** Losses of one encoder step. */
export interface EncoderStepLosses {
  total: number;
  mse: number;
  perceptual: number;
  adversarial: number;
  /** The code regression loss of the traditional encoder (0 for the domain-guided one). */
  code: number;
  discriminator: number;
}

const vars = (model: tf.LayersModel): tf.Variable[] => model.trainableWeights.map((w) => w.read() as tf.Variable);

/** Trains a {@link StyleEncoder} one step at a time, with checkpoints that resume. */
export class EncoderTrainer {
  readonly generator: StyleGenerator;
  readonly encoder: StyleEncoder;
  readonly kind: EncoderKind;
  readonly lambdaFeat: number;
  readonly lambdaAdv: number;
  readonly r1Gamma: number;
  readonly batchSize: number;
  readonly learningRate: number;
  readonly decaySteps: number | undefined;
  readonly seed: number;
  readonly discriminator: tf.LayersModel | undefined;
  step = 0;
  private readonly ownsDiscriminator: boolean;
  private readonly real: tf.Tensor4D | undefined;
  private readonly perceptual: PerceptualFeatures | undefined;
  private readonly eOpt: tf.AdamOptimizer;
  private readonly dOpt: tf.AdamOptimizer | undefined;

  constructor(options: EncoderTrainerOptions) {
    const { generator, encoder } = options;
    encoder.checkGenerator(generator, 'encoder');
    this.generator = generator;
    this.encoder = encoder;
    this.kind = encoder.meta.kind;
    this.lambdaFeat = options.lambdaFeat ?? (options.perceptual ? ENCODER_DEFAULTS.lambdaFeat : 0);
    this.lambdaAdv = options.lambdaAdv ?? ENCODER_DEFAULTS.lambdaAdv;
    this.r1Gamma = options.r1Gamma ?? ENCODER_DEFAULTS.r1Gamma;
    this.batchSize = options.batchSize ?? ENCODER_DEFAULTS.batchSize;
    this.learningRate = options.learningRate ?? ENCODER_DEFAULTS.learningRate;
    this.decaySteps = options.decaySteps;
    this.seed = options.seed ?? 0;
    for (const [name, v] of [['lambdaFeat', this.lambdaFeat], ['lambdaAdv', this.lambdaAdv], ['r1Gamma', this.r1Gamma]] as const) check(Number.isFinite(v) && v >= 0, name, v, 'a finite number ≥ 0');
    check(Number.isFinite(this.learningRate) && this.learningRate > 0, 'learningRate', this.learningRate, 'a positive number');
    check(this.decaySteps === undefined || (Number.isInteger(this.decaySteps) && this.decaySteps >= 1), 'decaySteps', this.decaySteps, 'an integer ≥ 1');
    check(this.lambdaFeat === 0 || options.perceptual !== undefined, 'perceptual', options.perceptual, 'a PerceptualFeatures when lambdaFeat > 0');
    if (this.kind === 'domainGuided') {
      const r = options.real;
      encoder.checkImages(r as tf.Tensor, 'real');
      check(r!.shape[0] >= this.batchSize, 'batchSize', this.batchSize, `at most the number of real images (${r!.shape[0]})`);
      this.real = r;
    }
    check(Number.isInteger(this.batchSize) && this.batchSize >= 2, 'batchSize', this.batchSize, 'an integer ≥ 2');
    options.perceptual?.checkImageShape([generator.imageSize, generator.imageSize, generator.channels], 'perceptual');
    this.perceptual = options.perceptual;
    const adversarial = this.kind === 'domainGuided' && this.lambdaAdv > 0;
    this.ownsDiscriminator = adversarial && options.discriminator === undefined;
    this.discriminator = adversarial ? (options.discriminator ?? dcganDiscriminator({ imageSize: generator.imageSize as 32, channels: generator.channels, width: 16, seed: this.seed + 1 })) : undefined;
    this.eOpt = tf.train.adam(this.learningRate, 0.9, 0.99, 1e-8) as tf.AdamOptimizer;
    this.dOpt = this.discriminator ? (tf.train.adam(this.learningRate, 0.9, 0.99, 1e-8) as tf.AdamOptimizer) : undefined;
  }

  /** The learning rate at `step` (the reference's exponential decay, 0.8 per quarter of the run). */
  learningRateAt(step: number): number {
    return this.decaySteps === undefined ? this.learningRate : this.learningRate * 0.8 ** (step / Math.max(1, this.decaySteps / 4));
  }

  trainStep(): EncoderStepLosses {
    const rng = createRng(this.seed * 1_000_003 + this.step);
    const lr = this.learningRateAt(this.step);
    // tfjs's Adam reads its learning rate on every update, so the schedule sets it in place.
    (this.eOpt as unknown as { learningRate: number }).learningRate = lr;
    if (this.dOpt) (this.dOpt as unknown as { learningRate: number }).learningRate = lr;
    const G = this.generator;
    const E = this.encoder.model;
    const parts = { mse: 0, perceptual: 0, adversarial: 0, code: 0, discriminator: 0, total: 0 };
    const read = (t: tf.Tensor) => t.dataSync()[0] as number;
    if (this.kind === 'traditional') {
      const zSeed = rng.seedInt();
      const loss = tf.tidy(() => {
        const w = G.broadcast(G.mapping.predict(tf.randomNormal([this.batchSize, G.latentDim], 0, 1, 'float32', zSeed)) as tf.Tensor2D);
        const x = G.synthesis.predict(w) as tf.Tensor4D;
        return this.eOpt.minimize(() => tf.mean(tf.squaredDifference(E.apply(x, { training: true }) as tf.Tensor, w)) as tf.Scalar, true, vars(E))!;
      });
      parts.code = parts.total = read(loss);
      loss.dispose();
      this.step++;
      return parts;
    }
    const idx = Int32Array.from(rng.sample(this.real!.shape[0], this.batchSize));
    const real = tf.tidy(() => tf.gather(this.real!, tf.tensor1d(idx, 'int32')));
    try {
      const kept: tf.Tensor[] = [];
      const eLoss = tf.tidy(() =>
        this.eOpt.minimize(
          () => {
            const rec = G.synthesis.apply(E.apply(real, { training: true }), { training: false }) as tf.Tensor4D;
            const mse = tf.mean(tf.squaredDifference(rec, real)) as tf.Scalar;
            let total: tf.Scalar = mse;
            kept.push(tf.keep(mse));
            if (this.lambdaFeat > 0) {
              const p = tf.mean(this.perceptual!.distance(rec, real)) as tf.Scalar;
              kept.push(tf.keep(p));
              total = tf.add(total, tf.mul(this.lambdaFeat, p));
            } else kept.push(tf.keep(tf.scalar(0)));
            if (this.discriminator) {
              const adv = tf.mean(tf.softplus(tf.neg(this.discriminator.apply(rec, { training: true }) as tf.Tensor))) as tf.Scalar;
              kept.push(tf.keep(adv));
              total = tf.add(total, tf.mul(this.lambdaAdv, adv));
            } else kept.push(tf.keep(tf.scalar(0)));
            return total;
          },
          true,
          vars(E),
        )!,
      );
      parts.total = read(eLoss);
      [parts.mse, parts.perceptual, parts.adversarial] = kept.map(read) as [number, number, number];
      tf.dispose([eLoss, ...kept]);
      if (this.discriminator) {
        const D = this.discriminator;
        const dLoss = tf.tidy(() => {
          const fake = G.synthesis.predict(E.predict(real) as tf.Tensor) as tf.Tensor4D;
          return this.dOpt!.minimize(
            () => {
              const critic = (x: tf.Tensor) => D.apply(x, { training: true }) as tf.Tensor;
              const loss = tf.add(tf.mean(tf.softplus(critic(fake))), tf.mean(tf.softplus(tf.neg(critic(real)))));
              return tf.add(loss, tf.mul(this.r1Gamma / 2, r1Penalty(critic, real))) as tf.Scalar;
            },
            true,
            vars(D),
          )!;
        });
        parts.discriminator = read(dLoss);
        dLoss.dispose();
      }
    } finally {
      real.dispose();
    }
    this.step++;
    return parts;
  }

  /** Writes the encoder, the discriminator and both optimizer states under `dir`. */
  async save(dir: string): Promise<void> {
    const files = platformFiles('saving an encoder checkpoint');
    await saveEncoder(this.encoder, files.join(dir, 'encoder'));
    await saveOptimizerState(this.eOpt, files.join(dir, 'encoder-optimizer'));
    if (this.discriminator) {
      await saveModel(this.discriminator, files.join(dir, 'discriminator'));
      await saveOptimizerState(this.dOpt!, files.join(dir, 'discriminator-optimizer'));
    }
  }

  /** Restores what {@link save} wrote, at generator step `step`. */
  async load(dir: string, step: number): Promise<void> {
    const files = platformFiles('loading an encoder checkpoint');
    const pairs: Array<[tf.LayersModel | undefined, string]> = [
      [this.encoder.model, 'encoder'],
      [this.discriminator, 'discriminator'],
    ];
    for (const [model, name] of pairs) if (model) await loadWeightsInto(model, files.join(dir, name));
    await loadOptimizerState(this.eOpt, files.join(dir, 'encoder-optimizer'));
    if (this.dOpt) await loadOptimizerState(this.dOpt, files.join(dir, 'discriminator-optimizer'));
    this.step = step;
  }

  /** Frees the optimizers and a discriminator the trainer created (the encoder and generator belong to the caller). */
  dispose(): void {
    this.eOpt.dispose();
    this.dOpt?.dispose();
    if (this.ownsDiscriminator) this.discriminator?.dispose();
  }
}

/** Options of {@link trainEncoder}. */
export interface TrainEncoderOptions {
  steps: number;
  progress?: GanProgress;
  label?: string;
  logEvery?: number;
  onLog?(step: number, values: Record<string, number>): void;
  checkpointEvery?: number;
  onCheckpoint?(step: number): Promise<void>;
}

/** Runs {@link EncoderTrainer.trainStep} until `steps`, with windowed means of the losses and checkpoint hooks. */
export async function trainEncoder(trainer: EncoderTrainer, options: TrainEncoderOptions): Promise<EncoderStepLosses> {
  check(Number.isInteger(options.steps) && options.steps >= 0, 'steps', options.steps, 'an integer ≥ 0');
  const logEvery = options.logEvery ?? 50;
  const checkpointEvery = options.checkpointEvery ?? 0;
  options.progress?.start(options.label ?? `encoder (${trainer.kind})`, options.steps);
  let sums: Record<string, number> = {};
  let count = 0;
  let last: EncoderStepLosses = { total: NaN, mse: NaN, perceptual: NaN, adversarial: NaN, code: NaN, discriminator: NaN };
  while (trainer.step < options.steps) {
    last = trainer.trainStep();
    const shown = trainer.kind === 'traditional' ? { code: last.code } : { mse: last.mse, perceptual: last.perceptual, adversarial: last.adversarial, d_loss: last.discriminator };
    for (const [k, v] of Object.entries(shown)) sums[k] = (sums[k] ?? 0) + v;
    count++;
    if (!Number.isFinite(last.total)) throw new EccvkitInputError('encoder training', `a non-finite loss at step ${trainer.step}`, 'finite losses; try a smaller learning rate');
    if (count === logEvery || trainer.step === options.steps) {
      const values = Object.fromEntries(Object.entries(sums).map(([k, v]) => [k, v / count]));
      options.onLog?.(trainer.step, values);
      options.progress?.update(trainer.step, values);
      sums = {};
      count = 0;
    }
    if (checkpointEvery > 0 && trainer.step % checkpointEvery === 0 && trainer.step < options.steps) await options.onCheckpoint?.(trainer.step);
  }
  options.progress?.stop();
  return last;
}
