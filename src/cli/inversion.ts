/**
 * In-domain GAN inversion from the command line (Zhu et al., ECCV 2020):
 *
 * - `eccvkit inversion train-encoder`: the domain-guided (or traditional)
 *   encoder of a style generator, resumable like `gan train`;
 * - `eccvkit invert`: images → W+ codes by (domain-regularised) optimisation;
 * - `eccvkit inversion boundary`: an InterFaceGAN attribute boundary in W;
 * - `eccvkit edit` and `eccvkit interpolate`: grids of edited or interpolated codes.
 *
 * Thin wrappers over src/inversion; every file and option is validated before
 * any work starts, and no output is written over unless `--force` is given.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Option, type Command } from 'commander';
import {
  decodeImage,
  FASHION_MNIST_DEFAULT_DIR,
  IMAGE_EXTENSIONS,
  loadImageFolder,
  npyArray,
  npyToFloat32,
  padImages,
  readNpy,
  SHAPES_VARIANTS,
  writeNpy,
  type ImageDataset,
} from '../data/index.js';
import { initEngine, tf, type BackendName } from '../engine/index.js';
import { check, EccvkitInputError } from '../errors.js';
import { writeDirAtomic, writeFileAtomic } from '../node/fs.js';
import { digitSlant, digitThickness } from '../inversion/attributes.js';
import { fitBoundary, interpolate, layerwiseBoundary, manipulate, type Boundary } from '../inversion/edit.js';
import { EncoderTrainer, ENCODER_DEFAULTS, generatorFingerprint, loadEncoder, saveEncoder, StyleEncoder, trainEncoder, type EncoderStepLosses } from '../inversion/encoder.js';
import { invert, INVERSION_DEFAULTS, type InversionSpace } from '../inversion/invert.js';
import { PerceptualFeatures } from '../inversion/perceptual.js';
import { FactorPredictor } from '../nn/factor-predictor.js';
import { loadModel, saveModel } from '../nn/io.js';
import { trainImageClassifier } from '../nn/small-convnet.js';
import { isStyleGeneratorDir, loadStyleGenerator, type StyleGenerator } from '../nn/style-gan.js';
import { GRID_PAD_GRAY, imageGridPng } from '../report/index.js';
import { loadGanImages } from './gan.js';
import { backendOption, integerOption, numberOption, positiveOption } from './options.js';
import { createProgress } from './progress.js';
import { COMMAND_DESCRIPTIONS } from './groups.js';

const ENCODER_KINDS = ['domain-guided', 'traditional'] as const;
type EncoderKindName = (typeof ENCODER_KINDS)[number];
const INITS = ['encoder', 'mean', 'random'] as const;
const SPACES = ['wplus', 'w', 'z'] as const;

/** Images per forward pass when the CLI only renders or scores (no gradients). */
const RENDER_BATCH = 64;

const shapeText = (s: readonly number[]) => `[${s.join(', ')}]`;
/** JSON.stringify that writes non-finite numbers (a resume with no step left) as null. */
const toJson = (v: unknown) => JSON.stringify(v, (_k, x: unknown) => (typeof x === 'number' && !Number.isFinite(x) ? null : x));

// ---------------------------------------------------------------------------
// Shared argument readers

/** The folder of a style generator given as a `gan train --arch style` out folder or the generator folder itself. */
function generatorDir(spec: string, argument = '--generator'): string {
  const nested = path.join(spec, 'generator');
  if (isStyleGeneratorDir(nested)) return nested;
  if (isStyleGeneratorDir(spec)) return spec;
  throw new EccvkitInputError(argument, spec, 'a `gan train --arch style` output folder or its generator/ folder (model.json and style.json)');
}

async function loadGeneratorArg(spec: string, argument = '--generator'): Promise<StyleGenerator> {
  return loadStyleGenerator(generatorDir(spec, argument), argument);
}

/** Refuses an output path with the wrong extension, or one that exists without `--force`. */
function checkOutput(file: string, force: boolean, argument: string, ext: '.npy' | '.png'): void {
  check(path.extname(file).toLowerCase() === ext, argument, file, `a ${ext} file name`);
  if (!force && fs.existsSync(file)) throw new EccvkitInputError(argument, file, 'a path that does not exist yet (pass --force to overwrite it)');
}

/** The image shape the generator makes, in words for errors. */
const generatorShape = (G: StyleGenerator) => `[n, ${G.imageSize}, ${G.imageSize}, ${G.channels}] (the generator's${G.imageSize === 32 ? '; 28×28 images are padded to 32' : ''})`;

/** Values of a float or uint8 .npy as [0, 1] floats, or an error naming `argument`. */
function unitValues(arr: ReturnType<typeof readNpy>, file: string, argument: string): Float32Array {
  const values = npyToFloat32(arr);
  if (arr.dtype === 'uint8') {
    for (let i = 0; i < values.length; i++) values[i] = (values[i] as number) / 255;
    return values;
  }
  check(arr.dtype === 'float32' || arr.dtype === 'float64', argument, `${file} of dtype ${arr.dtype}`, 'float images in [0, 1] or uint8 images in 0–255');
  let lo = Infinity;
  let hi = -Infinity;
  let finite = true;
  for (const v of values) {
    if (!Number.isFinite(v)) finite = false;
    else {
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
  }
  if (!finite || !(lo >= 0 && hi <= 1)) throw new EccvkitInputError(argument, `${file} with ${arr.dtype} values in [${lo}, ${hi}]${finite ? '' : ' and non-finite values'}`, 'float images in [0, 1] or uint8 images in 0–255');
  return values;
}

/** Images of a flat folder of PNG/JPEG files (sorted by name), or of class sub-folders. */
function folderImages(dir: string, channels: 1 | 3, argument: string): ImageDataset {
  const files = fs
    .readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isFile() && !e.name.startsWith('.') && IMAGE_EXTENSIONS.includes(path.extname(e.name).toLowerCase()))
    .map((e) => path.join(dir, e.name))
    .sort();
  if (files.length === 0) {
    const hasFolders = fs.readdirSync(dir, { withFileTypes: true }).some((e) => e.isDirectory() && !e.name.startsWith('.'));
    check(hasFolders, argument, dir, `a folder of images (${IMAGE_EXTENSIONS.join(', ')}) or of class sub-folders of images`);
    return loadImageFolder(dir, { channels });
  }
  let shape: [number, number, number] | undefined;
  let images = new Float32Array(0);
  files.forEach((file, i) => {
    const img = decodeImage(fs.readFileSync(file), channels, file);
    if (shape === undefined) {
      shape = img.shape;
      images = new Float32Array(files.length * img.data.length);
    } else if (img.shape[0] !== shape[0] || img.shape[1] !== shape[1]) throw new EccvkitInputError(argument, `${file} (${img.shape[0]}×${img.shape[1]})`, `images of one size, ${shape[0]}×${shape[1]} like ${files[0]}`);
    images.set(img.data, i * img.data.length);
  });
  return { name: path.basename(dir), images, labels: new Int32Array(files.length), shape: shape!, numClasses: 1, classNames: ['0'] };
}

/**
 * `--images` for `generator`: a .npy [N, H, W] or [N, H, W, C] of floats in
 * [0, 1] or uint8, or a folder of images; 28×28 is padded to a 32 generator.
 * Returns the images in [0, 1], NHWC of the generator's shape.
 */
function readImages(spec: string, G: StyleGenerator, argument = '--images'): { values: Float32Array; n: number } {
  check(fs.existsSync(spec), argument, spec, 'an existing .npy file or folder of images');
  check(G.channels === 1 || G.channels === 3, '--generator', `a generator of ${G.channels} channels`, '1 or 3 channels');
  let ds: ImageDataset;
  let given: readonly number[] | undefined;
  if (fs.statSync(spec).isDirectory()) ds = folderImages(spec, G.channels as 1 | 3, argument);
  else {
    check(spec.toLowerCase().endsWith('.npy'), argument, spec, 'a .npy file or a folder of images');
    const arr = readNpy(spec, argument);
    check(arr.shape.length === 3 || arr.shape.length === 4, argument, `${spec} with shape ${shapeText(arr.shape)}`, `images of shape [N, H, W] or [N, H, W, C]: ${generatorShape(G)}`);
    const [n, h, w, c = 1] = arr.shape as [number, number, number, number?];
    check(n >= 1, argument, `${spec} with shape ${shapeText(arr.shape)}`, 'at least one image');
    given = arr.shape;
    const values = unitValues(arr, spec, argument);
    ds = { name: path.basename(spec), images: values, labels: new Int32Array(n), shape: [h, w, c], numClasses: 1, classNames: ['0'] };
  }
  const [h, w, c] = ds.shape;
  const n = ds.labels.length;
  if (h === 28 && w === 28 && G.imageSize === 32) ds = padImages(ds, 32);
  const [ph, pw] = ds.shape;
  if (!(ph === G.imageSize && pw === G.imageSize && c === G.channels)) throw new EccvkitInputError(argument, `${spec} with ${given ? `shape ${shapeText(given)}` : `images of shape ${shapeText([n, h, w, c])}`}`, `images of shape ${generatorShape(G)}`);
  return { values: ds.images, n };
}

/** `--codes`: a float .npy [n, layers, wDim] for the generator. */
function readCodes(file: string, G: StyleGenerator, argument = '--codes'): { values: Float32Array; n: number } {
  const arr = readNpy(file, argument);
  const expected = `W+ codes of shape [n, ${G.numLayers}, ${G.wDim}] (n codes × the generator's ${G.numLayers} layers × its w size ${G.wDim}), as \`eccvkit invert\` writes`;
  check(arr.shape.length === 3 && (arr.shape[0] as number) >= 1 && arr.shape[1] === G.numLayers && arr.shape[2] === G.wDim, argument, `${file} with shape ${shapeText(arr.shape)}`, expected);
  check(arr.dtype === 'float32' || arr.dtype === 'float64', argument, `${file} of dtype ${arr.dtype}`, 'float codes');
  const values = npyToFloat32(arr);
  check(values.every(Number.isFinite), argument, file, 'finite values only');
  return { values, n: arr.shape[0] as number };
}

/** `--layers` as "0-3", "0,1,2" or a mix ("0-2,5"): sorted distinct layer indices in [0, layers). */
function parseLayers(text: string, layers: number, argument = '--layers'): number[] {
  const expected = `layer indices in [0, ${layers - 1}] as a range 0-3 or a list 0,1,2`;
  const out = new Set<number>();
  for (const part of text.split(',')) {
    const m = /^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$/.exec(part);
    check(m, argument, text, expected);
    const a = Number(m[1]);
    const b = m[2] === undefined ? a : Number(m[2]);
    check(a <= b && b < layers, argument, text, expected);
    for (let l = a; l <= b; l++) out.add(l);
  }
  return [...out].sort((x, y) => x - y);
}

/** Comma-separated finite numbers. */
function parseNumbers(text: string, argument: string): number[] {
  const parts = text.split(',');
  const values = parts.map(Number);
  check(parts.length > 0 && parts.every((p) => p.trim() !== '') && values.every(Number.isFinite), argument, text, 'comma-separated numbers, e.g. -3,0,3');
  return values;
}

/** G(codes) in [0, 1], NHWC, rendered in batches. */
function render(G: StyleGenerator, codes: Float32Array, n: number): Float32Array {
  const per = G.imageSize * G.imageSize * G.channels;
  const out = new Float32Array(n * per);
  const stride = G.numLayers * G.wDim;
  for (let from = 0; from < n; from += RENDER_BATCH) {
    const size = Math.min(RENDER_BATCH, n - from);
    const x = tf.tidy(() => {
      const c = tf.tensor3d(codes.subarray(from * stride, (from + size) * stride), [size, G.numLayers, G.wDim]);
      return tf.clipByValue(tf.div(tf.add(G.synthesize(c), 1), 2), 0, 1);
    });
    out.set(x.dataSync() as Float32Array, from * per);
    x.dispose();
  }
  return out;
}

function writeGridPng(file: string, G: StyleGenerator, images: Float32Array, count: number, cols: number): void {
  writeFileAtomic(file, imageGridPng(images, { count, height: G.imageSize, width: G.imageSize, channels: G.channels as 1 | 3, cols }));
}

/** A LayersModel folder (model.json) or an error naming `argument`. */
async function loadModelArg(dir: string, argument: string): Promise<tf.LayersModel> {
  check(fs.existsSync(path.join(dir, 'model.json')), argument, dir, 'a folder holding a tfjs LayersModel (model.json)');
  return loadModel(dir);
}

/** F at `layer` (a name or an index; default the last Conv2D) of `model`; a bad layer is reported under `layerArg`. */
function perceptualOf(model: tf.LayersModel, layer: string | undefined, layerArg: string): PerceptualFeatures {
  try {
    return new PerceptualFeatures({ model, ...(layer === undefined ? {} : { layer: /^\d+$/.test(layer) ? Number(layer) : layer }) });
  } catch (err) {
    if (err instanceof EccvkitInputError && err.argument === 'perceptual.layer') throw new EccvkitInputError(layerArg, err.value, err.expected);
    throw err;
  }
}

/** F of the perceptual terms from a model folder; errors name `modelArg` and `layerArg`. */
async function loadPerceptual(dir: string, layer: string | undefined, G: StyleGenerator, modelArg: string, layerArg: string): Promise<PerceptualFeatures> {
  const model = await loadModelArg(dir, modelArg);
  try {
    const features = perceptualOf(model, layer, layerArg);
    features.checkImageShape([G.imageSize, G.imageSize, G.channels], modelArg);
    return features;
  } catch (err) {
    model.dispose();
    throw err;
  }
}

// ---------------------------------------------------------------------------
// inversion train-encoder

/** What `inversion train-encoder` records in `--out/config.json`; a resume must agree on everything but the schedule. */
interface EncoderTrainConfig {
  /** {@link generatorFingerprint} of the generator trained through. */
  generator: string;
  /** Where that generator was read (informational; not compared on a resume). */
  generatorDir: string;
  kind: EncoderKindName;
  /** The real data (null for the traditional encoder, which samples G). */
  data: string | null;
  dataCount: number | null;
  batchSize: number;
  lr: number;
  lambdaFeat: number | null;
  lambdaAdv: number | null;
  r1Gamma: number | null;
  width: number;
  seed: number;
  /** The perceptual feature model's folder (null: no perceptual term), whether this command trained it, its layer and epochs. */
  perceptualModel: string | null;
  perceptualTrained: boolean;
  perceptualLayer: string | null;
  classifierEpochs: number | null;
  steps: number;
  checkpointEvery: number;
}

/** Keys that may change between a run and its resume. */
const ENCODER_SCHEDULE_KEYS = new Set(['steps', 'checkpointEvery', 'generatorDir']);

interface TrainEncoderOpts {
  generator: string;
  data: string;
  dataDir: string;
  dataCount: string;
  out: string;
  kind: EncoderKindName;
  steps: string;
  batchSize: string;
  lr: string;
  lambdaFeat: string;
  lambdaAdv: string;
  r1Gamma: string;
  width: string;
  perceptualModel?: string;
  perceptualLayer?: string;
  classifierEpochs: string;
  seed: string;
  checkpointEvery: string;
  backend?: BackendName;
  json: boolean;
}

async function trainEncoderCommand(opts: TrainEncoderOpts): Promise<void> {
  const steps = integerOption(opts.steps, '--steps', 1);
  const batchSize = integerOption(opts.batchSize, '--batch-size', 2);
  const lr = positiveOption(opts.lr, '--lr');
  const nonNegative = (text: string, option: string) => {
    const v = numberOption(text, option);
    check(v >= 0, option, text, 'a number ≥ 0');
    return v;
  };
  const lambdaFeat = nonNegative(opts.lambdaFeat, '--lambda-feat');
  const lambdaAdv = nonNegative(opts.lambdaAdv, '--lambda-adv');
  const r1Gamma = nonNegative(opts.r1Gamma, '--r1-gamma');
  const width = integerOption(opts.width, '--width', 1);
  const classifierEpochs = integerOption(opts.classifierEpochs, '--classifier-epochs', 1);
  const seed = integerOption(opts.seed, '--seed', 0);
  const checkpointEvery = integerOption(opts.checkpointEvery, '--checkpoint-every', 0);
  const dataCount = integerOption(opts.dataCount, '--data-count', 2);
  const guided = opts.kind === 'domain-guided';
  if (!guided) {
    check(opts.perceptualModel === undefined, '--perceptual-model', opts.perceptualModel, 'no perceptual model for --kind traditional (it regresses codes of generated images)');
    check(opts.perceptualLayer === undefined, '--perceptual-layer', opts.perceptualLayer, 'no perceptual layer for --kind traditional');
  }
  const wantsPerceptual = guided && lambdaFeat > 0;
  const trainClassifier = wantsPerceptual && opts.perceptualModel === undefined;
  const configFile = path.join(opts.out, 'config.json');
  const checkpointDir = path.join(opts.out, 'checkpoint');
  const perceptualDir = path.join(opts.out, 'perceptual');
  const resuming = fs.existsSync(path.join(checkpointDir, 'step.json'));

  await initEngine(opts.backend ? { backend: opts.backend } : {});
  const progress = createProgress();
  const G = await loadGeneratorArg(opts.generator);
  const owned: Array<{ dispose(): void }> = [G];
  let perceptual: PerceptualFeatures | undefined;
  try {
    const fingerprint = generatorFingerprint(G);
    let data: ImageDataset | undefined;
    if (guided) {
      check(G.channels === 1 || G.channels === 3, '--generator', `a generator of ${G.channels} channels`, '1 or 3 channels');
      const loaded = loadGanImages(opts.data, { imageSize: G.imageSize, channels: G.channels as 1 | 3, dataDir: opts.dataDir, count: dataCount, seed });
      data = loaded.shape[0] === 28 && loaded.shape[1] === 28 && G.imageSize === 32 ? padImages(loaded, 32) : loaded;
      const [h, w, c] = data.shape;
      if (!(h === G.imageSize && w === G.imageSize && c === G.channels)) throw new EccvkitInputError('--data', `${opts.data} with ${h}×${w}×${c} images`, `images of the generator's shape ${G.imageSize}×${G.imageSize}×${G.channels} (28×28 is padded to 32; folders are resized)`);
      check(batchSize <= data.labels.length, '--batch-size', opts.batchSize, `at most the number of images in --data (${data.labels.length})`);
      if (trainClassifier)
        check(
          data.numClasses >= 2 && new Set(data.labels).size >= 2,
          '--data',
          `${opts.data} without class labels`,
          'labelled data (mnist, fashion-mnist, shapes, a folder of class sub-folders) to train the perceptual classifier on, or pass --perceptual-model DIR or --lambda-feat 0',
        );
    }
    if (wantsPerceptual && !trainClassifier) {
      perceptual = await loadPerceptual(opts.perceptualModel!, opts.perceptualLayer, G, '--perceptual-model', '--perceptual-layer');
      owned.push(perceptual.model);
    }
    const config: EncoderTrainConfig = {
      generator: fingerprint,
      generatorDir: path.resolve(generatorDir(opts.generator)),
      kind: opts.kind,
      data: guided ? opts.data : null,
      dataCount: guided && (SHAPES_VARIANTS as readonly string[]).includes(opts.data) ? dataCount : null,
      batchSize,
      lr,
      lambdaFeat: guided ? lambdaFeat : null,
      lambdaAdv: guided ? lambdaAdv : null,
      r1Gamma: guided ? r1Gamma : null,
      width,
      seed,
      perceptualModel: wantsPerceptual ? path.resolve(trainClassifier ? perceptualDir : opts.perceptualModel!) : null,
      perceptualTrained: trainClassifier,
      perceptualLayer: wantsPerceptual ? (perceptual?.layerName ?? opts.perceptualLayer ?? null) : null,
      classifierEpochs: trainClassifier ? classifierEpochs : null,
      steps,
      checkpointEvery,
    };
    let resumeStep = 0;
    if (resuming) {
      const stored = JSON.parse(fs.readFileSync(configFile, 'utf8')) as Record<string, unknown>;
      const now = config as unknown as Record<string, unknown>;
      const differing = Object.keys({ ...stored, ...now }).filter((k) => !ENCODER_SCHEDULE_KEYS.has(k) && JSON.stringify(stored[k]) !== JSON.stringify(now[k]));
      if (differing.length > 0)
        throw new EccvkitInputError('--out', opts.out, `a new folder, or the options of the run it holds (differs in ${differing.map((k) => `${k}: ${JSON.stringify(stored[k])} there, ${JSON.stringify(now[k])} now`).join('; ')})`);
      resumeStep = (JSON.parse(fs.readFileSync(path.join(checkpointDir, 'step.json'), 'utf8')) as { step: number }).step;
    }
    fs.mkdirSync(opts.out, { recursive: true });
    writeFileAtomic(configFile, JSON.stringify(config, null, 1));

    const real = data ? tf.tidy(() => tf.sub(tf.mul(tf.tensor4d(data.images, [data.labels.length, ...data.shape]), 2), 1) as tf.Tensor4D) : undefined;
    if (real) owned.push(real);
    if (trainClassifier) {
      let model: tf.LayersModel;
      if (resuming && fs.existsSync(path.join(perceptualDir, 'model.json'))) model = await loadModel(perceptualDir);
      else {
        if (resuming) progress.log(`${perceptualDir} is missing: training the perceptual classifier again`);
        const x = tf.tidy(() => tf.div(tf.add(real!, 1), 2) as tf.Tensor4D);
        let started = false;
        try {
          model = trainImageClassifier(x, data!.labels, {
            classes: data!.numClasses,
            epochs: classifierEpochs,
            seed,
            onBatch(epoch, batch, batches, loss) {
              if (!started) progress.start('perceptual classifier', classifierEpochs * batches);
              started = true;
              progress.update(epoch * batches + batch + 1, { loss });
            },
          });
        } finally {
          x.dispose();
          if (started) progress.stop();
        }
        const trained = model;
        await writeDirAtomic(perceptualDir, (tmp) => saveModel(trained, tmp));
      }
      owned.push(model);
      perceptual = perceptualOf(model, opts.perceptualLayer, '--perceptual-layer');
    }

    const encoder = StyleEncoder.create(G, guided ? 'domainGuided' : 'traditional', { width, seed });
    owned.push(encoder);
    const trainer = new EncoderTrainer({
      generator: G,
      encoder,
      ...(real ? { real } : {}),
      ...(perceptual ? { perceptual } : {}),
      lambdaFeat: perceptual ? lambdaFeat : 0,
      lambdaAdv: guided ? lambdaAdv : 0,
      r1Gamma,
      learningRate: lr,
      decaySteps: steps,
      batchSize,
      seed,
    });
    owned.push(trainer);
    if (resumeStep > 0) {
      await trainer.load(checkpointDir, resumeStep);
      progress.log(`resuming ${opts.out} at step ${resumeStep}`);
    }
    const save = () =>
      writeDirAtomic(checkpointDir, async (tmp) => {
        await trainer.save(tmp);
        fs.writeFileSync(path.join(tmp, 'step.json'), JSON.stringify({ step: trainer.step }));
      });
    const last: EncoderStepLosses = await trainEncoder(trainer, {
      steps,
      progress,
      label: `encoder (${opts.kind})`,
      logEvery: Math.max(1, Math.min(50, Math.floor(steps / 20))),
      checkpointEvery,
      onCheckpoint: save,
    });
    if (trainer.step > resumeStep) await save();
    const encoderDir = path.join(opts.out, 'encoder');
    await writeDirAtomic(encoderDir, (tmp) => saveEncoder(encoder, tmp));
    const result = { out: opts.out, kind: opts.kind, step: trainer.step, resumedFrom: resumeStep, losses: last, encoder: encoderDir, perceptual: config.perceptualModel, generator: fingerprint };
    if (opts.json) console.log(toJson(result));
    else {
      const shown = guided ? `mse ${last.mse.toFixed(4)}, perceptual ${last.perceptual.toFixed(4)}, adversarial ${last.adversarial.toFixed(4)}` : `code ${last.code.toFixed(4)}`;
      if (Number.isFinite(last.total)) console.log(`last step: ${shown}`);
      console.log(`step ${result.step}; encoder ${encoderDir}`);
    }
  } finally {
    for (const o of owned.reverse()) o.dispose();
  }
}

// ---------------------------------------------------------------------------
// invert

interface InvertOpts {
  generator: string;
  encoder?: string;
  images: string;
  out: string;
  iterations: string;
  lambdaDomain?: string;
  lambdaFeat?: string;
  lr: string;
  init?: (typeof INITS)[number];
  space: InversionSpace;
  batchSize: string;
  seed: string;
  perceptualModel?: string;
  perceptualLayer?: string;
  grid?: string;
  force: boolean;
  backend?: BackendName;
  json: boolean;
}

/** The perceptual model an encoder folder names: its config.json's, else its perceptual/ folder. */
function encoderPerceptual(encoderArg: string): { dir: string; layer?: string } | undefined {
  const roots = [encoderArg];
  if (path.basename(path.resolve(encoderArg)) === 'encoder') roots.push(path.dirname(path.resolve(encoderArg)));
  for (const root of roots) {
    const configFile = path.join(root, 'config.json');
    if (fs.existsSync(configFile)) {
      const c = JSON.parse(fs.readFileSync(configFile, 'utf8')) as Partial<EncoderTrainConfig>;
      if (typeof c.perceptualModel === 'string' && fs.existsSync(path.join(c.perceptualModel, 'model.json'))) return { dir: c.perceptualModel, ...(c.perceptualLayer ? { layer: c.perceptualLayer } : {}) };
    }
    if (fs.existsSync(path.join(root, 'perceptual', 'model.json'))) return { dir: path.join(root, 'perceptual') };
  }
  return undefined;
}

async function invertCommand(opts: InvertOpts): Promise<void> {
  const iterations = integerOption(opts.iterations, '--iterations', 0);
  const lr = positiveOption(opts.lr, '--lr');
  const batchSize = integerOption(opts.batchSize, '--batch-size', 1);
  const seed = integerOption(opts.seed, '--seed', 0);
  const optionalWeight = (text: string | undefined, option: string) => {
    if (text === undefined) return undefined;
    const v = numberOption(text, option);
    check(v >= 0, option, text, 'a number ≥ 0');
    return v;
  };
  const lambdaDomainGiven = optionalWeight(opts.lambdaDomain, '--lambda-domain');
  const lambdaFeatGiven = optionalWeight(opts.lambdaFeat, '--lambda-feat');
  const hasEncoder = opts.encoder !== undefined;
  check(!(lambdaDomainGiven !== undefined && lambdaDomainGiven > 0 && !hasEncoder), '--lambda-domain', opts.lambdaDomain, '0 without --encoder (the domain term is ‖w − E(G(w))‖²)');
  const lambdaDomain = lambdaDomainGiven ?? (hasEncoder ? INVERSION_DEFAULTS.lambdaDomain : 0);
  const init = opts.init ?? (hasEncoder ? 'encoder' : 'mean');
  check(init !== 'encoder' || hasEncoder, '--init', init, "'mean' or 'random' without --encoder");
  check(!(init === 'encoder' && opts.space === 'z'), '--init', init, "'mean' or 'random' with --space z (an encoder gives W+ codes)");
  checkOutput(opts.out, opts.force, '--out', '.npy');
  if (opts.grid !== undefined) checkOutput(opts.grid, opts.force, '--grid', '.png');

  await initEngine(opts.backend ? { backend: opts.backend } : {});
  const G = await loadGeneratorArg(opts.generator);
  const owned: Array<{ dispose(): void }> = [G];
  try {
    let encoder: StyleEncoder | undefined;
    if (hasEncoder) {
      encoder = await loadEncoder(opts.encoder!, '--encoder');
      owned.push(encoder);
      encoder.checkGenerator(G, '--encoder');
    }
    const { values, n } = readImages(opts.images, G);
    const source = opts.perceptualModel !== undefined ? { dir: opts.perceptualModel, layer: opts.perceptualLayer } : hasEncoder ? encoderPerceptual(opts.encoder!) : undefined;
    check(!(lambdaFeatGiven !== undefined && lambdaFeatGiven > 0 && source === undefined), '--lambda-feat', opts.lambdaFeat, '0 without perceptual features (pass --perceptual-model DIR, or an --encoder whose folder has perceptual/)');
    let perceptual: PerceptualFeatures | undefined;
    if (source) {
      perceptual = await loadPerceptual(source.dir, opts.perceptualLayer ?? source.layer, G, opts.perceptualModel !== undefined ? '--perceptual-model' : '--encoder (its perceptual model)', '--perceptual-layer');
      owned.push(perceptual.model);
    }
    const lambdaFeat = lambdaFeatGiven ?? (perceptual ? INVERSION_DEFAULTS.lambdaFeat : 0);

    const images = tf.tidy(() => tf.sub(tf.mul(tf.tensor4d(values, [n, G.imageSize, G.imageSize, G.channels]), 2), 1) as tf.Tensor4D);
    owned.push(images);
    const progress = createProgress();
    progress.start(`invert (${init} start, ${opts.space}, λ_domain ${lambdaDomain})`, n * Math.max(1, iterations));
    const result = invert(G, images, {
      ...(encoder ? { encoder } : {}),
      ...(perceptual ? { perceptual } : {}),
      init,
      iterations,
      learningRate: lr,
      lambdaFeat,
      lambdaDomain,
      space: opts.space,
      batchSize,
      seed,
      onProgress: (p) => progress.update(p.images * Math.max(1, p.iterations) + Math.min(p.total - p.images, batchSize) * (p.images < p.total ? p.iteration : 0), { loss: p.loss }),
    });
    progress.stop();
    owned.push(result.codes, result.latents, result.reconstructions);
    const codes = Float32Array.from(result.codes.dataSync());
    writeNpy(opts.out, npyArray(codes, [n, G.numLayers, G.wDim]));
    if (opts.grid !== undefined) {
      const rec = tf.tidy(() => tf.clipByValue(tf.div(tf.add(result.reconstructions, 1), 2), 0, 1));
      const recValues = rec.dataSync() as Float32Array;
      rec.dispose();
      const cols = Math.min(n, 8);
      const per = G.imageSize * G.imageSize * G.channels;
      const chunks = Math.ceil(n / cols);
      const grid = new Float32Array(2 * chunks * cols * per).fill(GRID_PAD_GRAY / 255);
      for (let i = 0; i < n; i++) {
        const chunk = Math.floor(i / cols);
        const col = i % cols;
        grid.set(values.subarray(i * per, (i + 1) * per), (2 * chunk * cols + col) * per);
        grid.set(recValues.subarray(i * per, (i + 1) * per), ((2 * chunk + 1) * cols + col) * per);
      }
      writeGridPng(opts.grid, G, grid, 2 * chunks * cols, cols);
    }
    const { mse, perceptual: pLoss, domain, total } = result.losses;
    const mean = (a: Float32Array) => a.reduce((s, v) => s + v, 0) / n;
    const summary = {
      out: opts.out,
      shape: [n, G.numLayers, G.wDim],
      grid: opts.grid ?? null,
      init,
      space: opts.space,
      iterations,
      lambdaDomain,
      lambdaFeat,
      secondsPerImage: result.secondsPerImage,
      mean: { mse: mean(mse), perceptual: mean(pLoss), domain: mean(domain), total: mean(total) },
      images: Array.from({ length: n }, (_, i) => ({ index: i, mse: mse[i], perceptual: pLoss[i], domain: domain[i], total: total[i] })),
    };
    if (opts.json) console.log(toJson(summary));
    else {
      console.log(`${n} codes ${shapeText(summary.shape)} → ${opts.out}${opts.grid ? `; grid ${opts.grid}` : ''}`);
      console.log(`mean mse ${summary.mean.mse.toFixed(5)} (pixels in [−1, 1]), perceptual ${summary.mean.perceptual.toFixed(5)}, domain ${summary.mean.domain.toFixed(5)}; ${result.secondsPerImage.toFixed(3)} s per image`);
    }
  } finally {
    for (const o of owned.reverse()) o.dispose();
  }
}

// ---------------------------------------------------------------------------
// inversion boundary

interface BoundaryOpts {
  generator: string;
  attribute: string;
  out: string;
  samples: string;
  classifier?: string;
  predictor?: string;
  layers?: string;
  fraction: string;
  seed: string;
  force: boolean;
  backend?: BackendName;
  json: boolean;
}

type Attribute = { kind: 'thickness' } | { kind: 'slant' } | { kind: 'class'; k: number } | { kind: 'factor'; name: string; value?: number };

function parseAttribute(text: string): Attribute {
  const expected = 'thickness, slant, class:K (a class of --classifier) or factor:NAME (a factor of --predictor; factor:NAME=K for a discrete one)';
  if (text === 'thickness') return { kind: 'thickness' };
  if (text === 'slant') return { kind: 'slant' };
  const cls = /^class:(\d+)$/.exec(text);
  if (cls) return { kind: 'class', k: Number(cls[1]) };
  const factor = /^factor:([^=]+)(?:=(\d+))?$/.exec(text);
  if (factor) return { kind: 'factor', name: factor[1]!, ...(factor[2] === undefined ? {} : { value: Number(factor[2]) }) };
  throw new EccvkitInputError('--attribute', text, expected);
}

async function boundaryCommand(opts: BoundaryOpts): Promise<void> {
  const attribute = parseAttribute(opts.attribute);
  const samples = integerOption(opts.samples, '--samples', 4);
  const fraction = positiveOption(opts.fraction, '--fraction');
  check(fraction <= 0.5, '--fraction', opts.fraction, 'a number in (0, 0.5]');
  const seed = integerOption(opts.seed, '--seed', 0);
  if (attribute.kind === 'class') check(opts.classifier !== undefined, '--classifier', opts.classifier, `a classifier folder (a tfjs LayersModel on images in [0, 1], e.g. the perceptual/ folder of \`inversion train-encoder\`) for --attribute ${opts.attribute}`);
  if (attribute.kind === 'factor') check(opts.predictor !== undefined, '--predictor', opts.predictor, `a factor predictor folder (FactorPredictor.save: model.json and factors.json) for --attribute ${opts.attribute}`);
  checkOutput(opts.out, opts.force, '--out', '.npy');
  const sidecar = opts.out.replace(/\.npy$/i, '.json');
  if (!opts.force && fs.existsSync(sidecar)) throw new EccvkitInputError('--out', opts.out, `a path whose sidecar ${sidecar} does not exist yet (pass --force to overwrite them)`);

  await initEngine(opts.backend ? { backend: opts.backend } : {});
  const G = await loadGeneratorArg(opts.generator);
  const owned: Array<{ dispose(): void }> = [G];
  try {
    const layers = opts.layers === undefined ? undefined : parseLayers(opts.layers, G.numLayers);
    const S = G.imageSize;
    const imageShape = [S, S, G.channels];
    // The scorer: images [m, S, S, C] in [0, 1] → one score per image (NaN: undefined for it).
    let score: (x: tf.Tensor4D) => Float64Array;
    let binary = false;
    if (attribute.kind === 'thickness' || attribute.kind === 'slant') {
      check(G.channels === 1, '--attribute', opts.attribute, `an attribute of colour images (thickness and slant read single-channel digits; this generator makes ${G.channels} channels)`);
      const f = attribute.kind === 'thickness' ? digitThickness : digitSlant;
      score = (x) => f(x.dataSync(), x.shape[0], S, S);
    } else if (attribute.kind === 'class') {
      const model = await loadModelArg(opts.classifier!, '--classifier');
      owned.push(model);
      const inShape = model.inputs[0]!.shape.slice(1);
      const outShape = model.outputs[0]!.shape;
      check(inShape.join() === imageShape.join(), '--classifier', `${opts.classifier} with input ${shapeText(inShape as number[])}`, `a model taking the generator's images ${shapeText(imageShape)} in [0, 1]`);
      check(outShape.length === 2 && typeof outShape[1] === 'number' && outShape[1] >= 2, '--classifier', `${opts.classifier} with output ${shapeText(outShape as number[])}`, 'a classifier with an output [batch, classes]');
      const classes = outShape[1] as number;
      check(attribute.k < classes, '--attribute', opts.attribute, `class:K with K in [0, ${classes - 1}] (--classifier has ${classes} classes)`);
      const lastActivation = (model.layers.at(-1)!.getConfig() as { activation?: string }).activation;
      score = (x) =>
        Float64Array.from(
          tf.tidy(() => {
            const out = model.predict(x) as tf.Tensor2D;
            const p = lastActivation === 'softmax' ? out : tf.softmax(out);
            return tf.slice(p, [0, attribute.k], [-1, 1]);
          }).dataSync(),
        );
    } else {
      check(fs.existsSync(path.join(opts.predictor!, 'factors.json')), '--predictor', opts.predictor, 'a factor predictor folder (model.json and factors.json, as FactorPredictor.save writes)');
      const predictor = await FactorPredictor.load(opts.predictor!);
      owned.push(predictor);
      const { factorNames, factorDiscrete, units, imageShape: pShape } = predictor.meta;
      check(pShape.join() === imageShape.join(), '--predictor', `${opts.predictor} for images ${shapeText(pShape)}`, `a predictor of the generator's images ${shapeText(imageShape)}`);
      const f = factorNames.indexOf(attribute.name);
      check(f >= 0, '--attribute', opts.attribute, `factor:NAME with NAME one of the predictor's factors: ${factorNames.join(', ')}`);
      const discrete = factorDiscrete[f] === true;
      if (discrete) {
        check(attribute.value !== undefined && attribute.value < (units[f] as number), '--attribute', opts.attribute, `factor:${attribute.name}=K with K in [0, ${(units[f] as number) - 1}] (${attribute.name} is discrete: the boundary separates K from the other values)`);
        binary = true;
      } else check(attribute.value === undefined, '--attribute', opts.attribute, `factor:${attribute.name} (a continuous factor takes no =K)`);
      const k = predictor.numFactors;
      score = (x) => {
        const v = predictor.predict(x);
        return Float64Array.from({ length: x.shape[0] }, (_, i) => (discrete ? Number(v[i * k + f] === attribute.value) : (v[i * k + f] as number)));
      };
    }

    // Sample z, w = mapping(z), x = G(w) in [0, 1], and score every image.
    const w = new Float32Array(samples * G.wDim);
    const scores = new Float64Array(samples);
    const progress = createProgress();
    progress.start(`boundary (${opts.attribute})`, samples);
    for (let from = 0; from < samples; from += RENDER_BATCH) {
      const size = Math.min(RENDER_BATCH, samples - from);
      const [wb, x] = tf.tidy(() => {
        const z = tf.randomNormal([size, G.latentDim], 0, 1, 'float32', seed * 1_000_003 + from);
        const wBatch = G.mapZ(z as tf.Tensor2D);
        return [wBatch, tf.clipByValue(tf.div(tf.add(G.synthesize(G.broadcast(wBatch)), 1), 2), 0, 1) as tf.Tensor4D];
      });
      try {
        w.set(wb.dataSync() as Float32Array, from * G.wDim);
        scores.set(score(x), from);
      } finally {
        tf.dispose([wb, x]);
      }
      progress.update(from + size);
    }
    progress.stop();
    const keep = Array.from({ length: samples }, (_, i) => i).filter((i) => Number.isFinite(scores[i]));
    check(keep.length >= 4, '--attribute', opts.attribute, `an attribute defined on at least 4 of the ${samples} samples (it is undefined on ${samples - keep.length}; thickness and slant need ink)`);
    const kept = new Float32Array(keep.length * G.wDim);
    keep.forEach((i, r) => kept.set(w.subarray(i * G.wDim, (i + 1) * G.wDim), r * G.wDim));
    let fitted: ReturnType<typeof fitBoundary>;
    try {
      fitted = fitBoundary({ values: kept, rows: keep.length, cols: G.wDim }, keep.map((i) => scores[i] as number), { fraction, binary });
    } catch (err) {
      if (err instanceof EccvkitInputError) throw new EccvkitInputError('--attribute', `${opts.attribute} scores of ${keep.length} samples`, `scores a linear boundary can be fitted to (${err.message})`);
      throw err;
    }
    const boundary = layerwiseBoundary(fitted.normal, G.numLayers, layers);
    writeNpy(opts.out, npyArray(boundary.values, [G.numLayers, G.wDim]));
    const meta = { attribute: opts.attribute, manipulateLayers: boundary.manipulateLayers, accuracy: fitted.accuracy, used: fitted.used, samples, scored: keep.length, offset: fitted.offset, fraction, seed, generator: generatorFingerprint(G) };
    writeFileAtomic(sidecar, JSON.stringify(meta, null, 1));
    if (opts.json) console.log(toJson({ out: opts.out, sidecar, ...meta }));
    else console.log(`boundary for ${opts.attribute}: accuracy ${fitted.accuracy.toFixed(3)} on ${fitted.used} of ${samples} samples, layers ${boundary.manipulateLayers.join(',')} → ${opts.out} (+ ${sidecar})`);
  } finally {
    for (const o of owned.reverse()) o.dispose();
  }
}

// ---------------------------------------------------------------------------
// edit, interpolate

interface EditOpts {
  generator: string;
  codes: string;
  boundary: string;
  alphas: string;
  out: string;
  layers?: string;
  force: boolean;
  backend?: BackendName;
}

async function editCommand(opts: EditOpts): Promise<void> {
  const alphas = parseNumbers(opts.alphas, '--alphas');
  checkOutput(opts.out, opts.force, '--out', '.png');
  await initEngine(opts.backend ? { backend: opts.backend } : {});
  const G = await loadGeneratorArg(opts.generator);
  try {
    const { values, n } = readCodes(opts.codes, G);
    const arr = readNpy(opts.boundary, '--boundary');
    const L = G.numLayers;
    const D = G.wDim;
    const okShape = (arr.shape.length === 2 && arr.shape[0] === L && arr.shape[1] === D) || (arr.shape.length === 3 && arr.shape[0] === 1 && arr.shape[1] === L && arr.shape[2] === D);
    check(okShape, '--boundary', `${opts.boundary} with shape ${shapeText(arr.shape)}`, `a boundary of shape [layers, wDim] = [${L}, ${D}], the generator's and the codes' (--codes is ${shapeText([n, L, D])}), as \`eccvkit inversion boundary\` writes`);
    check(arr.dtype === 'float32' || arr.dtype === 'float64', '--boundary', `${opts.boundary} of dtype ${arr.dtype}`, 'float values');
    const b = npyToFloat32(arr);
    check(b.every(Number.isFinite), '--boundary', opts.boundary, 'finite values only');
    const nonzero = Array.from({ length: L }, (_, l) => l).filter((l) => b.subarray(l * D, (l + 1) * D).some((v) => v !== 0));
    check(nonzero.length > 0, '--boundary', opts.boundary, 'a boundary with at least one non-zero row');
    const layers = opts.layers === undefined ? nonzero : parseLayers(opts.layers, L);
    const zero = layers.filter((l) => !nonzero.includes(l));
    check(zero.length === 0, '--layers', opts.layers, `layers whose rows in --boundary are non-zero (${nonzero.join(',')}); rows ${zero.join(',')} are zero`);
    const boundary: Boundary = { values: b, layers: L, wDim: D, manipulateLayers: nonzero };
    const edited = tf.tidy(() => {
      const codes = tf.tensor3d(values, [n, L, D]);
      return manipulate(codes, boundary, { alphas, layers }).dataSync() as Float32Array;
    });
    const images = render(G, edited, n * alphas.length);
    writeGridPng(opts.out, G, images, n * alphas.length, alphas.length);
    console.log(`${n} codes × ${alphas.length} edits (α ${alphas.join(', ')}) on layers ${layers.join(',')} → ${opts.out}`);
  } finally {
    G.dispose();
  }
}

interface InterpolateOpts {
  generator: string;
  codes: string;
  pairs: string;
  steps: string;
  out: string;
  force: boolean;
  backend?: BackendName;
}

async function interpolateCommand(opts: InterpolateOpts): Promise<void> {
  const steps = integerOption(opts.steps, '--steps', 2);
  checkOutput(opts.out, opts.force, '--out', '.png');
  await initEngine(opts.backend ? { backend: opts.backend } : {});
  const G = await loadGeneratorArg(opts.generator);
  try {
    const { values, n } = readCodes(opts.codes, G);
    const expected = `pairs i:j of code indices in [0, ${n - 1}] (--codes holds ${n} codes), e.g. 0:1,2:3`;
    const pairs = opts.pairs.split(',').map((p) => {
      const m = /^\s*(\d+)\s*:\s*(\d+)\s*$/.exec(p);
      check(m && Number(m[1]) < n && Number(m[2]) < n, '--pairs', opts.pairs, expected);
      return [Number(m[1]), Number(m[2])] as const;
    });
    const L = G.numLayers;
    const D = G.wDim;
    const line = tf.tidy(() => {
      const codes = tf.tensor3d(values, [n, L, D]);
      const a = tf.gather(codes, pairs.map((p) => p[0]));
      const b = tf.gather(codes, pairs.map((p) => p[1]));
      return interpolate(a, b, steps).dataSync() as Float32Array;
    });
    const images = render(G, line, pairs.length * steps);
    writeGridPng(opts.out, G, images, pairs.length * steps, steps);
    console.log(`${pairs.length} pairs × ${steps} steps → ${opts.out}`);
  } finally {
    G.dispose();
  }
}

// ---------------------------------------------------------------------------

/** Adds `inversion train-encoder|boundary`, `invert`, `edit` and `interpolate`. */
export function registerInversionCommands(cli: Command): void {
  const group = cli.command('inversion').description(COMMAND_DESCRIPTIONS.inversion);
  const generatorHelp = 'a `gan train --arch style` output folder, or its generator/ folder';

  group
    .command('train-encoder')
    .description('train an image → W+ encoder through a frozen style generator; --out gets config.json, checkpoint/ (a rerun with the same --out resumes), perceptual/ (the feature classifier, when trained here) and encoder/')
    .requiredOption('--generator <dir>', generatorHelp)
    .requiredOption('--out <dir>', 'output folder')
    .option('--data <spec>', "real images (domain-guided): 'mnist', 'fashion-mnist', 'shapes' | 'shapes2' | 'shapes1', a folder of class sub-folders, or a .npy [N, H, W(, C)] in [0, 1] or uint8; 28×28 is padded to 32", 'mnist')
    .option('--data-dir <dir>', 'Fashion-MNIST folder', FASHION_MNIST_DEFAULT_DIR)
    .option('--data-count <n>', 'images generated for shapes data', '20000')
    .addOption(new Option('--kind <kind>', 'domain-guided: reconstruct real images (MSE + perceptual + adversarial); traditional: regress the codes of generated images').choices([...ENCODER_KINDS]).default('domain-guided'))
    .option('--steps <n>', 'encoder steps to reach', '2000')
    .option('--batch-size <n>', 'batch size', String(ENCODER_DEFAULTS.batchSize))
    .option('--lr <x>', 'Adam learning rate (β 0.9, 0.99), decayed by 0.8 every quarter of --steps', String(ENCODER_DEFAULTS.learningRate))
    .option('--lambda-feat <λ>', 'weight of the perceptual term (0: none)', String(ENCODER_DEFAULTS.lambdaFeat))
    .option('--lambda-adv <λ>', 'weight of the adversarial term', String(ENCODER_DEFAULTS.lambdaAdv))
    .option('--r1-gamma <γ>', "R1 weight of the encoder's discriminator", String(ENCODER_DEFAULTS.r1Gamma))
    .option('--width <n>', 'filters of the first encoder block', '16')
    .option('--perceptual-model <dir>', 'a tfjs LayersModel on images in [0, 1] for the perceptual features (default: a small classifier trained here on --data, saved in --out/perceptual/; not VGG, so not LPIPS)')
    .option('--perceptual-layer <name>', "the perceptual model's layer (name or index; default its last Conv2D)")
    .option('--classifier-epochs <n>', 'epochs of the perceptual classifier trained here', '3')
    .option('--seed <n>', 'seed of the weights and batches', '0')
    .option('--checkpoint-every <n>', 'save a checkpoint every n steps (0: only at the end)', '500')
    .addOption(backendOption())
    .option('--json', 'print the final losses and paths as JSON', false)
    .action(trainEncoderCommand);

  group
    .command('boundary')
    .description('fit an InterFaceGAN attribute boundary in W: sample z, w = mapping(z), score G(w) by the attribute, fit a linear classifier on w; writes b.npy [layers, wDim] (unit rows on the chosen layers) and b.json')
    .requiredOption('--generator <dir>', generatorHelp)
    .requiredOption('--attribute <name>', 'thickness | slant (digit moments) | class:K (softmax probability of class K of --classifier) | factor:NAME (a factor of --predictor; factor:NAME=K for a discrete one)')
    .requiredOption('--out <file>', 'boundary .npy (its sidecar .json goes beside it)')
    .option('--samples <n>', 'codes sampled', '2000')
    .option('--classifier <dir>', 'a classifier LayersModel on images in [0, 1] (for class:K), e.g. --out/perceptual of train-encoder')
    .option('--predictor <dir>', 'a factor predictor folder (for factor:NAME)')
    .option('--layers <list>', 'W+ layers the boundary moves, e.g. 0-3 or 0,1,2 (default all)')
    .option('--fraction <x>', 'fraction of samples taken from each end of the score ranking', '0.3')
    .option('--seed <n>', 'seed of z', '0')
    .option('--force', 'overwrite --out and its sidecar', false)
    .addOption(backendOption())
    .option('--json', 'print the fit as JSON', false)
    .action(boundaryCommand);

  cli
    .command('invert')
    .description(COMMAND_DESCRIPTIONS.invert)
    .requiredOption('--generator <dir>', generatorHelp)
    .option('--encoder <dir>', 'an `inversion train-encoder` output folder (or its encoder/ folder)')
    .requiredOption('--images <file|dir>', 'a .npy [N, H, W(, C)] of floats in [0, 1] or uint8, or a folder of PNG/JPEG images; 28×28 is padded to 32')
    .requiredOption('--out <file>', 'codes .npy, float32 [N, layers, wDim]')
    .option('--iterations <n>', 'Adam steps per image (0: the start itself)', String(INVERSION_DEFAULTS.iterations))
    .option('--lambda-domain <λ>', `weight of the domain term (default ${INVERSION_DEFAULTS.lambdaDomain} with --encoder, 0 without)`)
    .option('--lambda-feat <λ>', `weight of the perceptual term (default ${INVERSION_DEFAULTS.lambdaFeat} with perceptual features, 0 without)`)
    .option('--lr <x>', 'Adam learning rate', String(INVERSION_DEFAULTS.learningRate))
    .addOption(new Option('--init <start>', 'start: E(x), the mean w, or the mapping of a random z (default encoder with --encoder, else mean)').choices([...INITS]))
    .addOption(new Option('--space <space>', 'optimised variable: W+ (one w per layer), W or Z').choices([...SPACES]).default('wplus'))
    .option('--batch-size <n>', 'images optimised together (results do not depend on it)', String(INVERSION_DEFAULTS.batchSize))
    .option('--seed <n>', 'seed of the random start', '0')
    .option('--perceptual-model <dir>', "perceptual feature model (default: the encoder folder's, if any)")
    .option('--perceptual-layer <name>', "its layer (default: the one the encoder was trained with, else the last Conv2D)")
    .option('--grid <file>', 'a PNG of the originals, each row followed by a row of their reconstructions')
    .option('--force', 'overwrite --out and --grid', false)
    .addOption(backendOption())
    .option('--json', "print each image's losses (mse on [−1, 1] pixels, perceptual, domain, total) and the seconds per image as JSON", false)
    .action(invertCommand);

  cli
    .command('edit')
    .description(COMMAND_DESCRIPTIONS.edit)
    .requiredOption('--generator <dir>', generatorHelp)
    .requiredOption('--codes <file>', 'codes .npy [n, layers, wDim] (from `eccvkit invert`)')
    .requiredOption('--boundary <file>', 'boundary .npy [layers, wDim] (from `eccvkit inversion boundary`)')
    .option('--alphas <list>', 'edit strengths, comma-separated', '-3,0,3')
    .requiredOption('--out <file>', 'grid .png')
    .option('--layers <list>', 'layers to move, e.g. 0-3 or 0,1,2 (default: the non-zero rows of --boundary)')
    .option('--force', 'overwrite --out', false)
    .addOption(backendOption())
    .action(editCommand);

  cli
    .command('interpolate')
    .description(COMMAND_DESCRIPTIONS.interpolate)
    .requiredOption('--generator <dir>', generatorHelp)
    .requiredOption('--codes <file>', 'codes .npy [n, layers, wDim] (from `eccvkit invert`)')
    .requiredOption('--pairs <list>', 'code index pairs i:j, comma-separated, e.g. 0:1,2:3')
    .option('--steps <n>', 'codes along each path, both ends included', '8')
    .requiredOption('--out <file>', 'grid .png')
    .option('--force', 'overwrite --out', false)
    .addOption(backendOption())
    .action(interpolateCommand);
}
