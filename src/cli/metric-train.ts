/**
 * `eccvkit metric train`: the reality check's training recipe on a user's
 * images or the glyphs: one backbone, MPerClass batches, any loss and miner of
 * the library with their options, validation MAP@R each epoch on held-out
 * classes, early stopping that keeps the best weights; a checkpoint after every
 * epoch (the same command resumes). The result is a model folder that
 * `eccvkit embed` reads. A thin wrapper over `MetricTrainer` (the loop
 * `trainMetricModel` runs).
 */
import fs from 'node:fs';
import path from 'node:path';
import { Command, Option } from 'commander';
import { classDisjointSplit, groupByClass, MPerClassSampler, subset, type ImageDataset } from '../data/index.js';
import { initEngine, tf, type BackendName } from '../engine/index.js';
import { check } from '../errors.js';
import { writeDirAtomic } from '../node/fs.js';
import { LOSS_NAMES, LOSS_OPTIONS, MetricTrainer, MINER_NAMES, MINER_OPTIONS, makeLoss, makeMiner, parseOptionSettings, type LossName, type MinerName, type MetricTrainerState, type OptionValue } from '../metric/index.js';
import { conv4 } from '../nn/backbones.js';
import { loadModel, loadOptimizerState, saveModel, saveOptimizerState } from '../nn/io.js';
import { normalizeImages, unitPreprocessing, writeModelInto } from '../nn/node/model-folder.js';
import { smallConvNet } from '../nn/small-convnet.js';
import { badImageOption, checkClassCounts, claimOutFolder, imageShapeOptions, loadTrainingData, type BadImagePolicy } from './image-data.js';
import { backendOption, integerOption, numberOption, positiveOption } from './options.js';
import { METRIC_SUBCOMMANDS } from './metric.js';
import { createProgress } from './progress.js';

export const METRIC_TRAIN_COMMAND = 'metric train';
export const METRIC_BACKBONES = ['small', 'conv4'] as const;

/** Everything that decides the weights of a `metric train` run (`--out/config.json`). */
export interface MetricTrainConfig {
  command: typeof METRIC_TRAIN_COMMAND;
  data: string;
  glyphClasses: number | null;
  glyphPerClass: number | null;
  imageSize: [number, number];
  channels: 1 | 3;
  loss: LossName;
  lossOptions: Record<string, OptionValue>;
  miner: MinerName | null;
  minerOptions: Record<string, OptionValue>;
  backbone: (typeof METRIC_BACKBONES)[number];
  filters: [number, number];
  width: number;
  embeddingSize: number;
  m: number;
  batchSize: number;
  itersPerEpoch: number;
  maxEpochs: number;
  patience: number;
  valFraction: number;
  learningRate: number;
  lossLearningRate: number;
  seed: number;
  onBadImage: BadImagePolicy;
}

/**
 * The embedding net: `small` is the reality check's (conv f1 → pool → conv f2
 * → pool → dense embeddingSize), `conv4` RFS's Conv-4 trunk then a dense
 * embedding layer. Seeded.
 */
export function buildMetricBackbone(config: Pick<MetricTrainConfig, 'backbone' | 'filters' | 'width' | 'embeddingSize' | 'imageSize' | 'channels'>, seed: number): tf.LayersModel {
  const inputShape: [number, number, number] = [config.imageSize[0], config.imageSize[1], config.channels];
  if (config.backbone === 'small') return smallConvNet({ inputShape, filters: config.filters, dense: [{ units: config.embeddingSize }] }, seed);
  const trunk = conv4({ inputShape, width: config.width, classes: 2, seed });
  const features = trunk.getLayer('features').output as tf.SymbolicTensor;
  const emb = tf.layers.dense({ units: config.embeddingSize, kernelInitializer: tf.initializers.glorotUniform({ seed: seed + 1 }), name: 'embedding' }).apply(features) as tf.SymbolicTensor;
  return tf.model({ inputs: trunk.inputs, outputs: emb, name: 'conv4_embedding' });
}

/** Labels renumbered 0…C−1 in ascending order of the originals (weight losses index classes). */
function renumbered(labels: Int32Array): { labels: Int32Array; classes: number } {
  const ids = [...groupByClass(labels).keys()];
  const map = new Map(ids.map((c, i) => [c, i]));
  return { labels: Int32Array.from(labels, (l) => map.get(l) as number), classes: ids.length };
}

/** The class-disjoint train / validation split of a run (`valFraction` of the classes held out), seeded by `seed`. */
export function metricSplit(ds: ImageDataset, valFraction: number, seed: number): { train: ImageDataset; val: ImageDataset } {
  const [trainIdx, valIdx] = classDisjointSplit(ds.labels, { fractions: [1 - valFraction, valFraction], seed }) as [Int32Array, Int32Array];
  return { train: subset(ds, trainIdx, `${ds.name}[train]`), val: subset(ds, valIdx, `${ds.name}[val]`) };
}

const CHECKPOINT = 'checkpoint';

async function saveTensors(dir: string, name: string, tensors: readonly tf.Tensor[]): Promise<void> {
  const { data, specs } = await tf.io.encodeWeights(tensors.map((t, k) => ({ name: `t${k}`, tensor: t })));
  fs.writeFileSync(path.join(dir, `${name}.bin`), new Uint8Array(tf.io.CompositeArrayBuffer.join(data)));
  fs.writeFileSync(path.join(dir, `${name}.json`), JSON.stringify(specs));
}

function loadTensors(dir: string, name: string): tf.Tensor[] {
  const specs = JSON.parse(fs.readFileSync(path.join(dir, `${name}.json`), 'utf8')) as tf.io.WeightsManifestEntry[];
  const buf = fs.readFileSync(path.join(dir, `${name}.bin`));
  const map = tf.io.decodeWeights(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength), specs);
  return specs.map((s) => map[s.name] as tf.Tensor);
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** Adds `metric train` to the `metric` group. */
export function registerMetricTrainCommand(group: Command): void {
  group
    .command('train')
    .description(METRIC_SUBCOMMANDS.train)
    .requiredOption('--data <spec>', "a folder with one sub-folder of images per class, or 'glyphs' (seeded, --glyph-classes × --glyph-per-class)")
    .requiredOption('--out <dir>', 'output folder (new, or the same options to resume)')
    .addOption(new Option('--loss <name>', 'metric loss').choices([...LOSS_NAMES]).makeOptionMandatory())
    .option('--set <key=value>', `a loss option (repeatable), e.g. --set margin=0.1; ${Object.entries(LOSS_OPTIONS).map(([l, o]) => `${l}: ${Object.keys(o).join(', ') || '–'}`).join('; ')}`, collect, [])
    .addOption(new Option('--miner <name>', 'miner whose tuples the loss takes (default: none, every valid tuple)').choices([...MINER_NAMES]))
    .option('--miner-set <key=value>', `a miner option (repeatable); ${Object.entries(MINER_OPTIONS).map(([l, o]) => `${l}: ${Object.keys(o).join(', ')}`).join('; ')}`, collect, [])
    .addOption(new Option('--backbone <name>', "small: the reality check's conv net (--filters); conv4: RFS's Conv-4 trunk (--width); each then a dense embedding").choices([...METRIC_BACKBONES]).default('small'))
    .option('--filters <f1,f2>', 'small backbone: filters of the two convs', '16,32')
    .option('--width <n>', 'conv4 backbone: filters per block', '64')
    .option('--embedding-size <n>', 'embedding dimensions', '128')
    .option('--m <n>', 'images per class in each batch', '4')
    .option('--batch-size <n>', 'batch size (a multiple of --m)', '32')
    .option('--iters-per-epoch <n>', 'batches per epoch', '50')
    .option('--max-epochs <n>', 'at most this many epochs', '30')
    .option('--patience <n>', 'stop after this many epochs without a better validation MAP@R', '4')
    .option('--val-fraction <f>', 'fraction of the classes held out for validation', '0.25')
    .option('--lr <x>', 'Adam learning rate of the backbone', '1e-3')
    .option('--loss-lr <x>', "Adam learning rate of the loss's own weights (proxies, class weights)", '1e-2')
    .option('--image-size <n>', "resize every image to n×n (default: the images' own size, which must then agree; 28 for glyphs)")
    .addOption(new Option('--channels <n>', 'channels (default: 1 when the first image is grey, else 3)').choices(['1', '3']))
    .option('--glyph-classes <n>', 'classes of --data glyphs', '100')
    .option('--glyph-per-class <n>', 'images per class of --data glyphs', '12')
    .option('--seed <n>', 'seed of the split, weights, loss weights and batches', '0')
    .option('--stop-after <n>', 'stop after n epochs of this invocation (the checkpoint stays; rerun the same command to go on)')
    .addOption(badImageOption())
    .addOption(backendOption())
    .option('--json', 'print the result as JSON', false)
    .action(async (opts: Record<string, string | string[] | boolean | undefined>) => {
      const str = (k: string) => opts[k] as string;
      const shape = imageShapeOptions({ imageSize: opts.imageSize as string | undefined, channels: opts.channels as string | undefined });
      const seed = integerOption(str('seed'), '--seed', 0);
      const valFraction = numberOption(str('valFraction'), '--val-fraction');
      check(valFraction > 0 && valFraction < 1, '--val-fraction', str('valFraction'), 'a number in (0, 1)');
      const filters = str('filters')
        .split(',')
        .map((t) => integerOption(t.trim(), '--filters', 1));
      check(filters.length === 2, '--filters', str('filters'), 'two comma-separated integers');
      const m = integerOption(str('m'), '--m', 1);
      const batchSize = integerOption(str('batchSize'), '--batch-size', 2);
      check(batchSize % m === 0, '--batch-size', str('batchSize'), `a multiple of --m ${m}`);
      const loss = str('loss') as LossName;
      const miner = (opts.miner as MinerName | undefined) ?? null;
      const lossOptions = parseOptionSettings(opts.set as string[], '--set');
      const minerOptions = parseOptionSettings(opts.minerSet as string[], '--miner-set');
      check(miner !== null || Object.keys(minerOptions).length === 0, '--miner-set', opts.minerSet, 'nothing without --miner');
      // Unknown or ill-typed options fail here, before any work.
      makeLoss(loss, { numClasses: 2, embeddingSize: 2 }, lossOptions).dispose();
      if (miner) makeMiner(miner, minerOptions);
      const stopAfter = opts.stopAfter === undefined ? Infinity : integerOption(str('stopAfter'), '--stop-after', 1);
      const glyphs = str('data') === 'glyphs';
      const onBadImage = str('onBadImage') as BadImagePolicy;
      await initEngine(opts.backend ? { backend: opts.backend as BackendName } : {});
      const progress = createProgress();
      const data = loadTrainingData(str('data'), {
        ...shape,
        onBadImage,
        glyphClasses: integerOption(str('glyphClasses'), '--glyph-classes', 4),
        glyphPerClass: integerOption(str('glyphPerClass'), '--glyph-per-class', 2),
        seed,
        log: (msg) => progress.log(msg),
      });
      checkClassCounts(data, m, `--m ${m} images of a class in each batch`);
      const [h, w, c] = data.shape;
      const config: MetricTrainConfig = {
        command: METRIC_TRAIN_COMMAND,
        data: glyphs ? 'glyphs' : path.resolve(str('data')),
        glyphClasses: glyphs ? data.numClasses : null,
        glyphPerClass: glyphs ? integerOption(str('glyphPerClass'), '--glyph-per-class', 2) : null,
        imageSize: [h, w],
        channels: c as 1 | 3,
        loss,
        lossOptions,
        miner,
        minerOptions,
        backbone: str('backbone') as MetricTrainConfig['backbone'],
        filters: filters as [number, number],
        width: integerOption(str('width'), '--width', 1),
        embeddingSize: integerOption(str('embeddingSize'), '--embedding-size', 2),
        m,
        batchSize,
        itersPerEpoch: integerOption(str('itersPerEpoch'), '--iters-per-epoch', 1),
        maxEpochs: integerOption(str('maxEpochs'), '--max-epochs', 1),
        patience: integerOption(str('patience'), '--patience', 1),
        valFraction,
        learningRate: positiveOption(str('lr'), '--lr'),
        lossLearningRate: positiveOption(str('lossLr'), '--loss-lr'),
        seed,
        onBadImage,
      };
      const pre = unitPreprocessing([h, w], c as 1 | 3);
      normalizeImages(data.images, pre);
      const { train: trainDs, val: valDs } = metricSplit(data, valFraction, seed);
      const valClasses = groupByClass(valDs.labels).size;
      const trainClasses = groupByClass(trainDs.labels).size;
      check(valClasses >= 2 && trainClasses >= batchSize / m, '--val-fraction', str('valFraction'), `a split leaving at least 2 validation classes and --batch-size / --m = ${batchSize / m} training classes (it gave ${valClasses} and ${trainClasses} of ${data.numClasses})`);
      const resumable = claimOutFolder(str('out'), config as unknown as Record<string, unknown>, METRIC_TRAIN_COMMAND);
      const out = str('out');
      const result = await metricTrain(config, trainDs, valDs, data.classNames, pre, out, resumable, progress, stopAfter);
      if (opts.json) console.log(JSON.stringify(result, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? null : v)));
      else if (!result.finished) console.log(`stopped after ${result.state.epoch - result.resumedFrom} epochs (--stop-after); rerun the same command to go on`);
      else console.log(`${config.loss}${config.miner ? ` + ${config.miner} miner` : ''}: best validation MAP@R ${result.state.bestValMapAtR.toFixed(4)} at epoch ${result.state.bestEpoch} of ${result.state.epoch}${result.state.stopped ? ' (early stop)' : ''}\nmodel: ${out}`);
    });
}

/** What `metric train` prints with `--json`. */
export interface MetricTrainResult {
  out: string;
  finished: boolean;
  resumedFrom: number;
  state: MetricTrainerState;
}

async function metricTrain(config: MetricTrainConfig, trainDs: ImageDataset, valDs: ImageDataset, classNames: string[], pre: ReturnType<typeof unitPreprocessing>, out: string, resumable: boolean, progress: ReturnType<typeof createProgress>, stopAfter: number): Promise<MetricTrainResult> {
  const ckDir = path.join(out, CHECKPOINT);
  const stateFile = path.join(ckDir, 'state.json');
  const saved = resumable && fs.existsSync(stateFile) ? (JSON.parse(fs.readFileSync(stateFile, 'utf8')) as MetricTrainerState & { finished?: boolean }) : undefined;
  if (saved?.finished) {
    progress.log(`${out} already holds the finished run; nothing to do`);
    return { out, finished: true, resumedFrom: saved.epoch, state: saved };
  }
  const train = renumbered(trainDs.labels);
  const val = renumbered(valDs.labels);
  const trainX = tf.tensor4d(trainDs.images, [trainDs.labels.length, ...trainDs.shape]);
  const valX = tf.tensor4d(valDs.images, [valDs.labels.length, ...valDs.shape]);
  const model = buildMetricBackbone(config, config.seed);
  const loss = makeLoss(config.loss, { numClasses: train.classes, embeddingSize: config.embeddingSize, seed: config.seed }, config.lossOptions);
  const miner = config.miner ? makeMiner(config.miner, config.minerOptions) : undefined;
  const optimizer = tf.train.adam(config.learningRate);
  const lossOptimizer = tf.train.adam(config.lossLearningRate);
  const sampler = new MPerClassSampler(train.labels, { m: config.m, batchSize: config.batchSize, seed: config.seed, lengthBeforeNewIter: config.batchSize * config.itersPerEpoch });
  const trainer = new MetricTrainer({ model, loss, optimizer, lossOptimizer, ...(miner ? { miner } : {}), trainX, trainLabels: train.labels, sampler, valX, valLabels: val.labels, maxEpochs: config.maxEpochs, patience: config.patience });
  const hasLossWeights = loss.trainableWeights.length > 0;
  try {
    if (saved) {
      const current = await loadModel(path.join(ckDir, 'model'));
      try {
        model.setWeights(current.getWeights());
      } finally {
        current.dispose();
      }
      await loadOptimizerState(optimizer, path.join(ckDir, 'optimizer'));
      if (hasLossWeights) {
        const lw = loadTensors(ckDir, 'loss-weights');
        loss.trainableWeights.forEach((v, k) => v.assign(lw[k] as tf.Tensor));
        tf.dispose(lw);
        await loadOptimizerState(lossOptimizer, path.join(ckDir, 'loss-optimizer'));
      }
      const best = loadTensors(ckDir, 'best');
      trainer.restore(saved, best);
      tf.dispose(best);
      progress.log(`resuming ${out} after epoch ${saved.epoch}`);
    }
    const resumedFrom = trainer.state.epoch;
    progress.start(`metric train ${config.loss}${config.miner ? ` + ${config.miner}` : ''} (${train.classes} classes, ${trainDs.labels.length} images; validation ${val.classes} classes)`, config.maxEpochs);
    progress.update(resumedFrom);
    let ran = 0;
    while (!trainer.done) {
      if (ran >= stopAfter) {
        progress.stop();
        return { out, finished: false, resumedFrom, state: trainer.state };
      }
      ran++;
      const e = trainer.runEpoch();
      const state = trainer.state;
      await writeDirAtomic(ckDir, async (tmp) => {
        await saveModel(model, path.join(tmp, 'model'));
        await saveOptimizerState(optimizer, path.join(tmp, 'optimizer'));
        if (hasLossWeights) {
          await saveTensors(tmp, 'loss-weights', loss.trainableWeights);
          await saveOptimizerState(lossOptimizer, path.join(tmp, 'loss-optimizer'));
        }
        await saveTensors(tmp, 'best', trainer.best);
        fs.writeFileSync(path.join(tmp, 'state.json'), JSON.stringify(state));
      });
      progress.update(e.epoch, { loss: e.loss, val_mapr: e.valMapAtR });
    }
    progress.stop();
    const result = trainer.finish();
    const state = trainer.state;
    await writeModelInto(out, model, {
      kind: 'metric-embedding',
      trainedBy: { command: `eccvkit ${METRIC_TRAIN_COMMAND}`, options: { ...config } },
      classNames,
      preprocessing: pre,
      layers: { features: model.outputs[0]?.sourceLayer.name as string },
      metrics: { bestEpoch: result.bestEpoch, bestValMapAtR: result.bestValMapAtR, epochs: state.epoch },
    });
    await writeDirAtomic(ckDir, (dir) => fs.writeFileSync(path.join(dir, 'state.json'), JSON.stringify({ ...state, finished: true })));
    return { out, finished: true, resumedFrom, state };
  } finally {
    progress.stop();
    trainer.dispose();
    tf.dispose([trainX, valX]);
    model.dispose();
    loss.dispose();
    optimizer.dispose();
    lossOptimizer.dispose();
  }
}
