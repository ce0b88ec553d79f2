/**
 * `eccvkit gan train|sample|score`: train a DCGAN with any of the GAN losses,
 * domain scaling and a Lipschitz regulariser on MNIST, Fashion-MNIST, an image
 * folder or a `.npy` stack; draw samples from what it saved; score stored
 * features with Fréchet distance, KID and precision/recall. Thin wrappers over
 * `GanTrainer`, `trainGan` and the metrics in src/gan.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Command, Option } from 'commander';
import {
  FASHION_MNIST_DEFAULT_DIR,
  generateMasks,
  generateShapes,
  loadMaskFolder,
  MASK_KINDS,
  loadFashionMnist,
  loadImageFolder,
  loadMnistDigits,
  npyArray,
  npyToFloat32,
  padImages,
  readNpy,
  SHAPES_VARIANTS,
  writeNpy,
  type ImageDataset,
  type MaskKind,
  type ShapesDataset,
  type ShapesVariant,
} from '../data/index.js';
import { initEngine, tf, type BackendName } from '../engine/index.js';
import { check, EccvkitError, EccvkitInputError } from '../errors.js';
import { writeDirAtomic, writeFileAtomic } from '../node/fs.js';
import { GAN_LOSSES, ganLoss, type GanLossName } from '../gan/losses.js';
import { frechetDistance, kernelInceptionDistance, precisionRecall } from '../gan/metrics.js';
import { GanTrainer, lossesDiverged, trainGan, type CriticRegulariser } from '../gan/train.js';
import { TopoGanTerm } from '../topology/topogan.js';
import { dcganDiscriminator, dcganDiscriminatorWithQ, dcganGenerator, GAN_IMAGE_SIZES, type GanImageSize } from '../nn/gan-nets.js';
import { loadModel, saveModel } from '../nn/io.js';
import { saveStyleGenerator, STYLE_BLOCKS, STYLE_IMAGE_SIZES, styleGenerator, type StyleBlock, type StyleGenerator } from '../nn/style-gan.js';
import { imageGridPng } from '../report/index.js';
import { registerDirectionCommands } from './gan-directions.js';
import { registerDisentanglementCommand } from './gan-disentanglement.js';
import { createProgress } from './progress.js';
import { backendOption, integerOption, positiveOption } from './options.js';
import { COMMAND_DESCRIPTIONS } from './groups.js';

const REGULARISER_NAMES = ['none', 'sn', 'gp', 'r1', 'clip'] as const;
const GAN_ARCHS = ['dcgan', 'style'] as const;
type GanArch = (typeof GAN_ARCHS)[number];
/** Each architecture's loss and regulariser when none is given: the DCGAN runs' hinge + spectral norm, StyleGAN's non-saturating loss + R1. */
const ARCH_DEFAULTS: Record<GanArch, { loss: GanLossName; regulariser: RegulariserName; penaltyWeight: number | null }> = {
  dcgan: { loss: 'hinge', regulariser: 'sn', penaltyWeight: null },
  // StyleGAN's γ = 10 is weight γ/2 = 5 in the trainer's R1 convention.
  style: { loss: 'nonSaturating', regulariser: 'r1', penaltyWeight: 5 },
};
type RegulariserName = (typeof REGULARISER_NAMES)[number];

/** What `gan train` records in `--out/config.json`; a resume must agree on everything but the schedule. */
interface GanTrainConfig {
  data: string;
  /** 'dcgan' or 'style' (a StyleGAN-like generator whose synthesis takes W+ codes). */
  arch: GanArch;
  /** The style generator's w size, mapping depth, fixed noise and layer kind (null for a DCGAN). */
  style: { wDim: number; mappingLayers: number; noise: boolean; block: StyleBlock } | null;
  imageSize: GanImageSize;
  channels: 1 | 3;
  loss: GanLossName;
  alpha: number;
  regulariser: RegulariserName;
  snBound: number;
  penaltyWeight: number | null;
  clip: number;
  criticSteps: number;
  batchSize: number;
  width: number;
  latentDim: number;
  lr: number;
  emaDecay: number;
  seed: number;
  /** λ of the Hessian penalty on G's loss (0: off). */
  hessianWeight: number;
  hessianLayers: 'output' | 'all';
  hessianFrom: number;
  hessianRamp: number;
  /** Codes per batch the penalty is estimated on (null: the whole batch). */
  hessianSubset: number | null;
  /** λ of the InfoGAN term (0: off) and the codes Q estimates. */
  infoWeight: number;
  infoCodes: number;
  /** λ_topo of TopoGAN's term on G's loss (0: off), its homology dimension and pd_subset_rate. */
  topoWeight: number;
  topoDim: 0 | 1;
  topoSubset: number;
}

/** What a config written before these options existed held for them: the penalty and InfoGAN off. */
const CONFIG_DEFAULTS: Partial<GanTrainConfig> = { arch: 'dcgan', style: null, hessianWeight: 0, hessianLayers: 'output', hessianFrom: 0, hessianRamp: 0, hessianSubset: null, infoWeight: 0, topoWeight: 0, topoDim: 1, topoSubset: 0.1 };

/** Options that may change on a resume when the penalty starts at or after the checkpoint (fine-tuning a trained G). */
const HESSIAN_KEYS = new Set(['hessianWeight', 'hessianLayers', 'hessianFrom', 'hessianRamp', 'hessianSubset']);

/** Generated data with known factors that `--data` accepts by name. */
const SHAPES_SPECS = new Set<string>(SHAPES_VARIANTS);

/** Generated topological masks (TopoGAN's data) that `--data` accepts by name. */
const MASK_SPECS = new Set<string>(MASK_KINDS);

/** Options that may change between a run and its resume. */
const SCHEDULE_KEYS = new Set(['steps', 'sampleEvery', 'checkpointEvery']);



/**
 * Training images in [0, 1] from `spec`: `mnist` (the embedded digits),
 * `fashion-mnist` (its training split from `dataDir`), `shapes`, `shapes2` or
 * `shapes1` (`count` seeded images with known factors, grey unless `channels` is 3; see
 * `generateShapes`), `membranes`, `vessels` or `roads` (`count` seeded binary
 * masks, side `imageSize` or 64; see `generateMasks`), a folder of class
 * sub-folders (resized to `imageSize`; with `maskThreshold`, any folder of mask
 * images binarised there, see `loadMaskFolder`), or a `.npy` of shape [N, H, W] or
 * [N, H, W, C] holding floats in [0, 1] or uint8 in 0–255.
 */
export function loadGanImages(spec: string, o: { imageSize?: number; channels?: 1 | 3; dataDir?: string; count?: number; seed?: number; maskThreshold?: number }): ImageDataset {
  if (spec === 'mnist') return loadMnistDigits();
  if (MASK_SPECS.has(spec)) {
    check(o.channels === undefined || o.channels === 1, '--channels', o.channels, `1 (or nothing) for ${spec} masks`);
    return generateMasks({ kind: spec as MaskKind, count: o.count ?? 20000, seed: o.seed ?? 0, size: o.imageSize ?? 64 });
  }
  if (SHAPES_SPECS.has(spec)) return generateShapes({ variant: spec as ShapesVariant, count: o.count ?? 20000, seed: o.seed ?? 0, channels: o.channels ?? 1, size: o.imageSize ?? 32 });
  if (spec === 'fashion-mnist') return loadFashionMnist(o.dataDir === undefined ? {} : { dataDir: o.dataDir }).train;
  const isDir = fs.existsSync(spec) && fs.statSync(spec).isDirectory();
  if (isDir && o.maskThreshold !== undefined) return loadMaskFolder(spec, { threshold: o.maskThreshold, size: o.imageSize ?? 64 });
  if (isDir) {
    const size = o.imageSize ?? 64;
    return loadImageFolder(spec, { size: [size, size], channels: o.channels ?? 3 });
  }
  check(spec.endsWith('.npy'), '--data', spec, "'mnist', 'fashion-mnist', 'shapes' | 'shapes2' | 'shapes1', 'membranes' | 'vessels' | 'roads', a folder of class sub-folders of images, or a .npy file");
  const arr = readNpy(spec, '--data');
  check(arr.shape.length === 3 || arr.shape.length === 4, '--data', `${spec} with shape [${arr.shape.join(', ')}]`, 'images of shape [N, H, W] or [N, H, W, C]');
  const [n, h, w, c = 1] = arr.shape as [number, number, number, number?];
  check(n >= 2 && (c === 1 || c === 3), '--data', `${spec} with shape [${arr.shape.join(', ')}]`, 'at least 2 images with 1 or 3 channels');
  const values = npyToFloat32(arr);
  if (arr.dtype === 'uint8') for (let i = 0; i < values.length; i++) values[i] = (values[i] as number) / 255;
  else {
    let lo = Infinity;
    let hi = -Infinity;
    for (const v of values) {
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    if (!(lo >= 0 && hi <= 1)) throw new EccvkitInputError('--data', `${spec} with ${arr.dtype} values in [${lo}, ${hi}]`, 'float images in [0, 1] or uint8 images in 0–255');
  }
  return { name: path.basename(spec), images: values, labels: new Int32Array(n), shape: [h, w, c], numClasses: 1, classNames: ['0'] };
}

/** `--mask-threshold`: a grey level in [0, 1]. */
function maskThresholdOption(text: string): number {
  const t = Number(text);
  check(text.trim() !== '' && Number.isFinite(t) && t >= 0 && t <= 1, '--mask-threshold', text, 'a grey level in [0, 1]');
  return t;
}

function criticRegulariser(config: GanTrainConfig): CriticRegulariser {
  switch (config.regulariser) {
    case 'gp':
      return { kind: 'gradientPenalty', ...(config.penaltyWeight === null ? {} : { weight: config.penaltyWeight }) };
    case 'r1':
      return { kind: 'r1', ...(config.penaltyWeight === null ? {} : { weight: config.penaltyWeight }) };
    case 'clip':
      return { kind: 'clip', clip: config.clip };
    default:
      return { kind: 'none' };
  }
}

function buildTrainer(config: GanTrainConfig, real: tf.Tensor4D, ds?: ImageDataset): { trainer: GanTrainer; emaStyle: StyleGenerator | undefined; dispose(): void } {
  const netOptions = { imageSize: config.imageSize, channels: config.channels, latentDim: config.latentDim, width: config.width };
  const styleNets = config.style ? [0, 1].map(() => styleGenerator({ ...netOptions, ...config.style, seed: config.seed })) : undefined;
  const generator = styleNets ? styleNets[0]!.generator : dcganGenerator({ ...netOptions, seed: config.seed });
  const ema = styleNets ? styleNets[1]!.generator : dcganGenerator({ ...netOptions, seed: config.seed });
  const dOptions = {
    imageSize: config.imageSize,
    channels: config.channels,
    width: config.width,
    seed: config.seed + 1,
    ...(config.regulariser === 'sn' ? { spectralNormBound: config.snBound } : {}),
  };
  const withQ = config.infoWeight > 0 ? dcganDiscriminatorWithQ({ ...dOptions, codes: config.infoCodes }) : undefined;
  const discriminator = withQ?.discriminator ?? dcganDiscriminator(dOptions);
  const dispose = () => {
    if (styleNets) for (const s of styleNets) s.dispose();
    else {
      generator.dispose();
      ema.dispose();
    }
    if (withQ) withQ.dispose();
    else discriminator.dispose();
  };
  try {
    const trainer = new GanTrainer({
      generator,
      discriminator,
      ema,
      real,
      loss: ganLoss(config.loss, config.alpha),
      regulariser: criticRegulariser(config),
      batchSize: config.batchSize,
      criticSteps: config.criticSteps,
      emaDecay: config.emaDecay,
      seed: config.seed,
      // β₂ 0.99 for the style generator, as StyleGAN.
      generatorOptimizer: tf.train.adam(config.lr, 0.5, config.style ? 0.99 : 0.999),
      discriminatorOptimizer: tf.train.adam(config.lr, 0.5, config.style ? 0.99 : 0.999),
      ...(config.hessianWeight > 0
        ? {
            hessianPenalty: {
              weight: config.hessianWeight,
              layers: config.hessianLayers,
              fromStep: config.hessianFrom,
              rampSteps: config.hessianRamp,
              ...(config.hessianSubset === null ? {} : { batchSubset: config.hessianSubset }),
            },
          }
        : {}),
      ...(withQ ? { infoGan: { q: withQ.q, weight: config.infoWeight } } : {}),
      ...(config.topoWeight > 0 && ds
        ? { topology: new TopoGanTerm(ds.images, [ds.labels.length, ...ds.shape], { weight: config.topoWeight, dim: config.topoDim, subsetRate: config.topoSubset, seed: config.seed }) }
        : {}),
    });
    return { trainer, emaStyle: styleNets?.[1], dispose };
  } catch (err) {
    dispose();
    throw err;
  }
}

function writeGrid(file: string, images: Float32Array, count: number, size: number, channels: 1 | 3): void {
  writeFileAtomic(file, imageGridPng(images, { count, height: size, width: size, channels, cols: Math.ceil(Math.sqrt(count)) }));
}

/** A generator loaded by {@link loadGenerator}, with its latent size and image shape. */
export interface LoadedGenerator {
  generator: tf.LayersModel;
  latentDim: number;
  height: number;
  width: number;
  channels: number;
}

/**
 * Loads the generator of a `gan train --out` folder (its EMA `generator/`) or
 * any folder holding a tfjs `model.json` whose model maps [batch, latentDim]
 * codes to [batch, H, W, C] images in [−1, 1]. `argument` names the option in errors.
 */
export async function loadGenerator(spec: string, argument = '--model'): Promise<LoadedGenerator> {
  const dir = fs.existsSync(path.join(spec, 'generator', 'model.json')) ? path.join(spec, 'generator') : spec;
  check(fs.existsSync(path.join(dir, 'model.json')), argument, spec, 'a `gan train` output folder or a folder holding model.json');
  const generator = await loadModel(dir);
  const zShape = generator.inputs[0]!.shape;
  const outShape = generator.outputs[0]!.shape;
  if (!(generator.inputs.length === 1 && zShape.length === 2 && typeof zShape[1] === 'number' && outShape.length === 4)) {
    generator.dispose();
    throw new EccvkitInputError(argument, `${spec} (input [${zShape.join(', ')}], output [${outShape.join(', ')}])`, 'a generator with a [batch, latentDim] input and a [batch, H, W, C] output');
  }
  const [, height, width, channels] = outShape as [null, number, number, number];
  return { generator, latentDim: zShape[1] as number, height, width, channels };
}


/** Adds the `gan` command group. */
export function registerGanCommands(cli: Command): void {
  const group = cli.command('gan').description(COMMAND_DESCRIPTIONS.gan);

  group
    .command('train')
    .description('train a DCGAN or a style-based generator (--arch style); --out gets config.json, sample grids, checkpoint/ (a rerun with the same --out resumes) and generator/ (the EMA generator)')
    .requiredOption('--out <dir>', 'output folder')
    .option(
      '--data <spec>',
      "'mnist' (embedded digits), 'fashion-mnist', 'shapes' | 'shapes2' | 'shapes1' (generated, with known factors), 'membranes' | 'vessels' | 'roads' (generated binary masks with known Betti numbers), a folder of class sub-folders of images (with --mask-threshold: any folder of mask images), or a .npy [N, H, W(, C)] in [0, 1] or uint8",
      'mnist',
    )
    .option('--mask-threshold <t>', 'read the --data folder as mask images (sub-folders included), binarised: 1 above this grey level in [0, 1]')
    .option('--data-dir <dir>', 'Fashion-MNIST folder', FASHION_MNIST_DEFAULT_DIR)
    .option('--data-count <n>', 'images generated for shapes or mask data', '20000')
    .option('--image-size <n>', `side of the square images, one of ${GAN_IMAGE_SIZES.join(', ')} (default: the data's; folders are resized, default 64; shapes 32)`)
    .addOption(new Option('--channels <n>', 'channels of an image folder (default 3) or of shapes data (default 1; 3 draws hues)').choices(['1', '3']))
    .addOption(new Option('--arch <name>', "generator: 'dcgan', or 'style' (mapping MLP z → w, learned 4×4 constant, AdaIN per layer, one w per layer in W+; 28×28 data padded to 32; the generator inversion works with)").choices([...GAN_ARCHS]).default('dcgan'))
    .option('--w-dim <n>', 'style generator: size of w', '128')
    .option('--mapping-layers <n>', 'style generator: dense layers of the mapping network', '4')
    .option('--noise', 'style generator: fixed per-pixel noise with learned strengths after each conv', false)
    .addOption(new Option('--style-block <kind>', "style generator: 'modulated' (StyleGAN2's modulated convolutions) or 'adain' (StyleGAN's conv → AdaIN, which collapses here)").choices([...STYLE_BLOCKS]).default('modulated'))
    .addOption(new Option('--loss <name>', 'GAN loss on the critic output (default: hinge for dcgan, nonSaturating for style)').choices([...GAN_LOSSES]))
    .option('--alpha <x>', 'domain scale: the loss sees α·D(x)', '1')
    .addOption(
      new Option('--regulariser <name>', 'sn: spectral norm on every critic layer; gp: WGAN-GP; r1: R1 on reals; clip: weight clipping (default: sn for dcgan, r1 with weight 5 = StyleGAN γ 10 for style)').choices([...REGULARISER_NAMES]),
    )
    .option('--sn-bound <k>', 'per-layer Lipschitz bound of spectral norm (W·k/σ)', '1')
    .option('--penalty-weight <w>', 'weight of gp (default 10) or r1 (default 1)')
    .option('--clip <c>', 'weight clipping bound', '0.01')
    .option('--critic-steps <n>', 'critic updates per generator update', '1')
    .option('--steps <n>', 'generator steps to reach', '2000')
    .option('--batch-size <n>', 'batch size', '64')
    .option('--width <n>', 'filters of the last generator block / first critic conv', '16')
    .option('--latent-dim <n>', 'latent size (default 32; for shapes data, its number of factors, as the Hessian Penalty paper; for style, --w-dim)')
    .option('--lr <x>', 'Adam learning rate (β₁ 0.5, β₂ 0.999) for both nets', '2e-4')
    .option('--ema-decay <x>', 'EMA decay of the generator weights', '0.999')
    .option('--seed <n>', 'seed of the weights, batches and noise', '0')
    .option('--sample-every <n>', 'write a sample grid every n steps (0: only at the end)', '500')
    .option('--checkpoint-every <n>', 'save a checkpoint every n steps (0: only at the end)', '500')
    .option('--hessian-weight <λ>', "Hessian penalty on G's loss, weight λ (0: off; the paper: 0.1, k = 2, ε = 0.1, max over elements, its biased estimator)", '0')
    .addOption(new Option('--hessian-layers <which>', 'penalise the image only, or every normalisation output of G and the image').choices(['output', 'all']).default('output'))
    .option('--hessian-from <step>', 'first step with the penalty; on a resume, a penalty starting at or after the checkpoint may be switched on (fine-tuning)', '0')
    .option('--hessian-ramp <steps>', 'ramp λ linearly over this many steps from --hessian-from (the reference ramps when fine-tuning)', '0')
    .option('--hessian-subset <n>', 'codes of each batch the penalty is estimated on (default: the whole batch)')
    .option('--infogan-weight <λ>', 'InfoGAN baseline: a Q head on D estimates the first codes of z; λ of its MSE in both losses (0: off; the reference: 1)', '0')
    .option('--infogan-codes <n>', 'latent codes Q estimates (default: all of them)')
    .option('--topo-weight <λ>', "TopoGAN: λ_topo of the topological loss on G (0: off; masks with one channel, structure = 1; the paper's recipe: --loss wasserstein --regulariser gp --critic-steps 5)", '0')
    .option('--topo-dim <d>', 'TopoGAN: homology dimension matched, 1 (cycles: membranes, roads; births) or 0 (components: vessels; deaths)', '1')
    .option('--topo-subset <rate>', 'TopoGAN: fraction of the real diagrams drawn each step (pd_subset_rate)', '0.1')
    .addOption(backendOption())
    .option('--json', 'print the final losses and paths as JSON', false)
    .action(
      async (opts: {
        out: string;
        data: string;
        dataDir: string;
        dataCount: string;
        maskThreshold?: string;
        imageSize?: string;
        channels?: string;
        arch: GanArch;
        wDim: string;
        mappingLayers: string;
        noise: boolean;
        styleBlock: StyleBlock;
        loss?: GanLossName;
        alpha: string;
        regulariser?: RegulariserName;
        snBound: string;
        penaltyWeight?: string;
        clip: string;
        criticSteps: string;
        steps: string;
        batchSize: string;
        width: string;
        latentDim?: string;
        lr: string;
        emaDecay: string;
        seed: string;
        sampleEvery: string;
        checkpointEvery: string;
        hessianWeight: string;
        hessianLayers: 'output' | 'all';
        hessianFrom: string;
        hessianRamp: string;
        hessianSubset?: string;
        infoganWeight: string;
        infoganCodes?: string;
        topoWeight: string;
        topoDim: string;
        topoSubset: string;
        backend?: BackendName;
        json: boolean;
      }) => {
        const steps = integerOption(opts.steps, '--steps', 1);
        const sampleEvery = integerOption(opts.sampleEvery, '--sample-every', 0);
        const checkpointEvery = integerOption(opts.checkpointEvery, '--checkpoint-every', 0);
        const requestedSize = opts.imageSize === undefined ? undefined : integerOption(opts.imageSize, '--image-size', 1);
        if (requestedSize !== undefined) check((GAN_IMAGE_SIZES as readonly number[]).includes(requestedSize), '--image-size', opts.imageSize, `one of ${GAN_IMAGE_SIZES.join(', ')}`);
        const emaDecay = Number(opts.emaDecay);
        check(emaDecay >= 0 && emaDecay < 1, '--ema-decay', opts.emaDecay, 'a number in [0, 1)');
        const archDefaults = ARCH_DEFAULTS[opts.arch];
        const regulariser = opts.regulariser ?? archDefaults.regulariser;
        const style = opts.arch === 'style' ? { wDim: integerOption(opts.wDim, '--w-dim', 1), mappingLayers: integerOption(opts.mappingLayers, '--mapping-layers', 1), noise: opts.noise, block: opts.styleBlock } : null;
        if (style) check(requestedSize === undefined || (STYLE_IMAGE_SIZES as readonly number[]).includes(requestedSize) && (GAN_IMAGE_SIZES as readonly number[]).includes(requestedSize), '--image-size', opts.imageSize, '32 or 64 for --arch style (a power of two the critic supports)');
        const partial = {
          alpha: positiveOption(opts.alpha, '--alpha'),
          snBound: positiveOption(opts.snBound, '--sn-bound'),
          penaltyWeight: opts.penaltyWeight === undefined ? (opts.regulariser === undefined ? archDefaults.penaltyWeight : null) : positiveOption(opts.penaltyWeight, '--penalty-weight'),
          clip: positiveOption(opts.clip, '--clip'),
          criticSteps: integerOption(opts.criticSteps, '--critic-steps', 1),
          batchSize: integerOption(opts.batchSize, '--batch-size', 2),
          width: integerOption(opts.width, '--width', 1),
          lr: positiveOption(opts.lr, '--lr'),
          emaDecay,
          seed: integerOption(opts.seed, '--seed', 0),
        };
        const configFile = path.join(opts.out, 'config.json');
        const checkpointDir = path.join(opts.out, 'checkpoint');
        await initEngine(opts.backend ? { backend: opts.backend } : {});
        const progress = createProgress();

        const shapes = SHAPES_SPECS.has(opts.data);
        const loaded = loadGanImages(opts.data, {
          ...(requestedSize === undefined ? {} : { imageSize: requestedSize }),
          ...(opts.channels === undefined ? {} : { channels: Number(opts.channels) as 1 | 3 }),
          dataDir: opts.dataDir,
          count: integerOption(opts.dataCount, '--data-count', 2),
          seed: partial.seed,
          ...(opts.maskThreshold === undefined ? {} : { maskThreshold: maskThresholdOption(opts.maskThreshold) }),
        });
        // A style generator grows from 4×4 by doubling: 28×28 digits are centred on a 32×32 canvas.
        const ds = style && loaded.shape[0] === 28 && loaded.shape[1] === 28 ? padImages(loaded, requestedSize ?? 32) : loaded;
        const latentDim = opts.latentDim === undefined ? (style ? style.wDim : shapes ? (ds as ShapesDataset).numFactors : 32) : integerOption(opts.latentDim, '--latent-dim', 1);
        const infoWeight = Number(opts.infoganWeight);
        check(Number.isFinite(infoWeight) && infoWeight >= 0, '--infogan-weight', opts.infoganWeight, 'a number ≥ 0');
        const infoCodes = opts.infoganCodes === undefined ? latentDim : integerOption(opts.infoganCodes, '--infogan-codes', 1);
        check(infoCodes <= latentDim, '--infogan-codes', opts.infoganCodes, `at most the latent size ${latentDim}`);
        const hessianWeight = Number(opts.hessianWeight);
        check(Number.isFinite(hessianWeight) && hessianWeight >= 0, '--hessian-weight', opts.hessianWeight, 'a number ≥ 0');
        const hessianSubset = opts.hessianSubset === undefined ? null : integerOption(opts.hessianSubset, '--hessian-subset', 1);
        check(hessianSubset === null || hessianSubset <= partial.batchSize, '--hessian-subset', opts.hessianSubset, `at most the batch size ${partial.batchSize}`);
        const topoWeight = Number(opts.topoWeight);
        check(opts.topoWeight.trim() !== '' && Number.isFinite(topoWeight) && topoWeight >= 0, '--topo-weight', opts.topoWeight, 'a number ≥ 0');
        check(opts.topoDim === '0' || opts.topoDim === '1', '--topo-dim', opts.topoDim, '0 (components) or 1 (cycles)');
        const topoSubset = Number(opts.topoSubset);
        check(opts.topoSubset.trim() !== '' && topoSubset > 0 && topoSubset <= 1, '--topo-subset', opts.topoSubset, 'a fraction in (0, 1]');
        if (topoWeight > 0) check(ds.shape[2] === 1, '--data', `${opts.data} with ${ds.shape[2]} channels`, 'one-channel masks for --topo-weight (TopoGAN)');
        const extra = {
          latentDim,
          hessianWeight,
          hessianLayers: opts.hessianLayers,
          hessianFrom: integerOption(opts.hessianFrom, '--hessian-from', 0),
          hessianRamp: integerOption(opts.hessianRamp, '--hessian-ramp', 0),
          hessianSubset,
          infoWeight,
          infoCodes,
          topoWeight,
          topoDim: Number(opts.topoDim) as 0 | 1,
          topoSubset,
        };
        const [h, w, c] = ds.shape;
        const sides = style ? [32, 64] : GAN_IMAGE_SIZES;
        if (h !== w || !(sides as readonly number[]).includes(h) || (requestedSize !== undefined && h !== requestedSize))
          throw new EccvkitInputError('--data', `${opts.data} with ${h}×${w} images`, `square images of side ${requestedSize ?? sides.join(', ')}${style ? ' for --arch style (28×28 is padded)' : ''} (folders are resized by --image-size)`);
        const config: GanTrainConfig = { data: opts.data, arch: opts.arch, style, imageSize: h as GanImageSize, channels: c as 1 | 3, loss: opts.loss ?? archDefaults.loss, regulariser, ...partial, ...extra };
        let resumeStep = 0;
        if (fs.existsSync(path.join(checkpointDir, 'step.json'))) {
          const stored = { ...CONFIG_DEFAULTS, infoCodes: config.infoCodes, ...(JSON.parse(fs.readFileSync(configFile, 'utf8')) as Record<string, unknown>) } as Record<string, unknown>;
          resumeStep = (JSON.parse(fs.readFileSync(path.join(checkpointDir, 'step.json'), 'utf8')) as { step: number }).step;
          // Switching the penalty on for steps not yet taken is fine-tuning, not a different run.
          const fineTune = config.hessianFrom >= resumeStep;
          const differing = Object.keys({ ...stored, ...config }).filter(
            (k) => !SCHEDULE_KEYS.has(k) && !(fineTune && HESSIAN_KEYS.has(k)) && JSON.stringify(stored[k]) !== JSON.stringify((config as unknown as Record<string, unknown>)[k]),
          );
          if (differing.length > 0)
            throw new EccvkitInputError(
              '--out',
              opts.out,
              `a new folder, or the options of the run it holds (differs in ${differing.map((k) => `${k}: ${JSON.stringify(stored[k])} there, ${JSON.stringify((config as unknown as Record<string, unknown>)[k])} now`).join('; ')})`,
            );
          if (Object.keys(config).some((k) => HESSIAN_KEYS.has(k) && JSON.stringify(stored[k]) !== JSON.stringify((config as unknown as Record<string, unknown>)[k]))) {
            writeFileAtomic(configFile, JSON.stringify(config, null, 1));
            progress.log(`fine-tuning: the Hessian penalty (λ = ${config.hessianWeight}) applies from step ${config.hessianFrom}`);
          }
        } else {
          fs.mkdirSync(opts.out, { recursive: true });
          writeFileAtomic(configFile, JSON.stringify(config, null, 1));
        }

        const real = tf.tidy(() => tf.sub(tf.mul(tf.tensor4d(ds.images, [ds.labels.length, h, w, c]), 2), 1) as tf.Tensor4D);
        const { trainer, emaStyle, dispose } = (() => {
          try {
            return buildTrainer(config, real, ds);
          } catch (err) {
            real.dispose();
            throw err;
          }
        })();
        const gridNoise = trainer.noise(64, config.seed + 17);
        try {
          if (resumeStep > 0) {
            await trainer.load(checkpointDir, resumeStep);
            progress.log(`resuming ${opts.out} at step ${resumeStep}`);
          }
          let savedStep = resumeStep;
          const save = () =>
            writeDirAtomic(checkpointDir, async (tmp) => {
              await trainer.save(tmp);
              fs.writeFileSync(path.join(tmp, 'step.json'), JSON.stringify({ step: trainer.step }));
            }).then(() => {
              savedStep = trainer.step;
            });
          const grid = (step: number) => {
            fs.mkdirSync(path.join(opts.out, 'samples'), { recursive: true });
            writeGrid(path.join(opts.out, 'samples', `step-${String(step).padStart(6, '0')}.png`), trainer.samples(gridNoise), 64, h, c as 1 | 3);
          };
          const last = await trainGan(trainer, {
            steps,
            progress,
            label: `gan ${config.arch === 'style' ? 'style, ' : ''}${config.loss}, α = ${config.alpha}, ${config.regulariser}${config.hessianWeight > 0 ? `, Hessian penalty λ = ${config.hessianWeight}` : ''}${config.infoWeight > 0 ? `, InfoGAN λ = ${config.infoWeight}` : ''}${config.topoWeight > 0 ? `, TopoGAN λ = ${config.topoWeight} (dim ${config.topoDim})` : ''}`,
            logEvery: Math.max(1, Math.min(50, Math.floor(steps / 20))),
            sampleEvery: sampleEvery === 0 ? steps : sampleEvery,
            onSample: grid,
            checkpointEvery,
            onCheckpoint: save,
          });
          // A diverged state is not saved over the last good checkpoint.
          if (lossesDiverged(last))
            throw new EccvkitError(
              `training diverged at step ${trainer.step} (d_loss ${last.discriminator}, g_loss ${last.generator}, penalty ${last.penalty}); ${savedStep > 0 ? `the checkpoint at step ${savedStep} in ${checkpointDir} is kept` : 'no checkpoint was written'}. Try a smaller --alpha, a Lipschitz regulariser (--regulariser sn with --sn-bound 1, or gp) or a smaller --lr`,
            );
          if (trainer.step > resumeStep) await save();
          if (!fs.existsSync(path.join(opts.out, 'samples', `step-${String(trainer.step).padStart(6, '0')}.png`))) grid(trainer.step);
          await writeDirAtomic(path.join(opts.out, 'generator'), (tmp) => (emaStyle ? saveStyleGenerator(emaStyle, tmp) : saveModel(trainer.ema ?? trainer.generator, tmp)));
          const result = {
            out: opts.out,
            step: trainer.step,
            resumedFrom: resumeStep,
            losses: { discriminator: last.discriminator, generator: last.generator, penalty: last.penalty, ...(last.topo === undefined ? {} : { topo: last.topo }) },
            samples: path.join(opts.out, 'samples', `step-${String(trainer.step).padStart(6, '0')}.png`),
            generator: path.join(opts.out, 'generator'),
          };
          if (opts.json) console.log(JSON.stringify(result, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? null : v)));
          else {
            if (Number.isFinite(last.discriminator)) console.log(`last step: d_loss ${last.discriminator.toFixed(4)}, g_loss ${last.generator.toFixed(4)}`);
            console.log(`step ${result.step}; samples ${result.samples}; EMA generator ${result.generator}`);
          }
        } finally {
          tf.dispose([real, gridNoise]);
          trainer.dispose();
          dispose();
        }
      },
    );

  group
    .command('sample')
    .description('draw images from a saved generator (a `gan train` --out folder or its generator/ folder): a PNG grid or a .npy [N, H, W, C] in [0, 1]')
    .requiredOption('--model <dir>', 'a `gan train` output folder, or a saved generator LayersModel folder')
    .requiredOption('--out <file>', 'output .png (grid) or .npy')
    .option('--count <n>', 'images', '64')
    .option('--seed <n>', 'latent noise seed', '0')
    .addOption(backendOption())
    .action(async (opts: { model: string; out: string; count: string; seed: string; backend?: BackendName }) => {
      const count = integerOption(opts.count, '--count', 1);
      const seed = integerOption(opts.seed, '--seed', 0);
      const ext = path.extname(opts.out).toLowerCase();
      check(ext === '.png' || ext === '.npy', '--out', opts.out, 'a .png or .npy file name');
      await initEngine(opts.backend ? { backend: opts.backend } : {});
      const { generator, latentDim, height: oh, width: ow, channels: oc } = await loadGenerator(opts.model);
      try {
        const z = tf.randomNormal([count, latentDim], 0, 1, 'float32', seed);
        const x = tf.tidy(() => tf.clipByValue(tf.div(tf.add(generator.predict(z, { batchSize: 256 }) as tf.Tensor, 1), 2), 0, 1));
        const values = Float32Array.from(x.dataSync());
        tf.dispose([z, x]);
        if (ext === '.npy') writeNpy(opts.out, npyArray(values, [count, oh, ow, oc]));
        else {
          check(oc === 1 || oc === 3, '--model', `${opts.model} with ${oc} output channels`, '1 or 3 channels for a PNG grid (use .npy)');
          writeGrid(opts.out, values, count, oh, oc as 1 | 3);
        }
        console.log(`${count} samples (${oh}×${ow}×${oc}) → ${opts.out}`);
      } finally {
        generator.dispose();
      }
    });

  group
    .command('score')
    .description('Fréchet distance, KID (unbiased, cubic kernel) and k-NN precision/recall between real and generated features stored as .npy [N, D]')
    .requiredOption('--real <file>', 'features of real images, .npy [N, D]')
    .requiredOption('--fake <file>', 'features of generated images, .npy [M, D]')
    .option('--kid-subset-size <n>', 'rows per KID subset (capped at the smaller set)', '1000')
    .option('--kid-subsets <n>', 'KID subsets averaged', '100')
    .option('--k <n>', 'neighbours of the precision/recall manifolds', '3')
    .option('--seed <n>', 'KID subset seed', '0')
    .option('--no-precision-recall', 'skip precision and recall (k-NN over both sets)')
    .addOption(backendOption())
    .option('--json', 'print JSON', false)
    .action(async (opts: { real: string; fake: string; kidSubsetSize: string; kidSubsets: string; k: string; seed: string; precisionRecall: boolean; backend?: BackendName; json: boolean }) => {
      const read = (file: string, argument: string) => {
        const arr = readNpy(file, argument);
        check(arr.shape.length === 2 && (arr.shape[0] as number) >= 2 && (arr.shape[1] as number) >= 1, argument, `${file} with shape [${arr.shape.join(', ')}]`, 'a 2-D array [N, D] with N ≥ 2');
        const values = npyToFloat32(arr);
        check(values.every(Number.isFinite), argument, file, 'finite values only');
        return { values, rows: arr.shape[0] as number, cols: arr.shape[1] as number };
      };
      const kidSubsetSize = integerOption(opts.kidSubsetSize, '--kid-subset-size', 2);
      const kidSubsets = integerOption(opts.kidSubsets, '--kid-subsets', 1);
      const k = integerOption(opts.k, '--k', 1);
      const seed = integerOption(opts.seed, '--seed', 0);
      const real = read(opts.real, '--real');
      const fake = read(opts.fake, '--fake');
      check(fake.cols === real.cols, '--fake', `${opts.fake} with ${fake.cols} columns`, `${real.cols} columns, like --real`);
      if (opts.precisionRecall) check(Math.min(real.rows, fake.rows) > k, '--k', opts.k, `fewer than the rows of each set (${Math.min(real.rows, fake.rows)})`);
      await initEngine(opts.backend ? { backend: opts.backend } : {});
      const fd = frechetDistance(real, fake);
      const kid = kernelInceptionDistance(real, fake, { subsetSize: kidSubsetSize, subsets: kidSubsets, seed });
      const pr = opts.precisionRecall ? precisionRecall(real, fake, { k }) : undefined;
      const result = { fd, kid: kid.mean, kidStd: kid.std, ...(pr ?? {}), real: real.rows, fake: fake.rows, dims: real.cols };
      if (opts.json) console.log(JSON.stringify(result));
      else {
        console.log(`Fréchet distance: ${fd.toPrecision(6)}`);
        console.log(`KID: ${kid.mean.toPrecision(6)} ± ${kid.std.toPrecision(3)} (std over ${kidSubsets} subsets)`);
        if (pr) console.log(`precision ${pr.precision.toFixed(4)}, recall ${pr.recall.toFixed(4)} (k = ${k})`);
      }
    });

  registerDisentanglementCommand(group);
  registerDirectionCommands(group);
}
