/**
 * `eccvkit fewshot pretrain`: RFS pretraining (and, with `--distill-from`,
 * RFS-distill generations) on a user's images, the glyphs or Fashion-MNIST,
 * checkpointed after every epoch and resumable; the result is a model folder
 * (`model.json` + `eccvkit.json`) that `eccvkit embed` and
 * `eccvkit fewshot classify --model` read. A thin wrapper over
 * `ClassifierTrainer` (the loop `trainClassifier` runs).
 */
import fs from 'node:fs';
import path from 'node:path';
import { Command, Option } from 'commander';
import { FASHION_MNIST_DEFAULT_DIR, stratifiedSplit, subset, type ImageDataset } from '../data/index.js';
import { initEngine, tf, type BackendName } from '../engine/index.js';
import { check } from '../errors.js';
import { writeDirAtomic } from '../node/fs.js';
import { ClassifierTrainer, conv4, FEATURES_LAYER, LOGITS_LAYER, resnet12, type ClassifierEpoch } from '../fewshot/index.js';
import { loadModel, loadOptimizerState, saveModel, saveOptimizerState } from '../nn/io.js';
import { loadModelFolder, normalizeImages, unitPreprocessing, writeModelFolder, writeModelInto, type ModelCard, type Preprocessing } from '../nn/node/model-folder.js';
import { badImageOption, checkClassCounts, claimOutFolder, imageShapeOptions, loadTrainingData, type BadImagePolicy } from './image-data.js';
import { backendOption, integerOption, numberOption, positiveOption } from './options.js';
import { createProgress } from './progress.js';

export const PRETRAIN_COMMAND = 'fewshot pretrain';

/** Everything that decides the weights of a `fewshot pretrain` run (stored as `--out/config.json`; a resume must match it). */
export interface PretrainConfig {
  command: typeof PRETRAIN_COMMAND;
  data: string;
  glyphClasses: number | null;
  glyphPerClass: number | null;
  imageSize: number;
  channels: 1 | 3;
  backbone: 'conv4' | 'resnet12';
  width: number;
  widths: [number, number, number, number];
  epochs: number;
  batchSize: number;
  learningRate: number;
  momentum: number;
  weightDecay: number;
  decayAt: number[];
  cropPadding: number;
  flip: boolean;
  jitter: number;
  valFraction: number;
  seed: number;
  onBadImage: BadImagePolicy;
  /** RFS-distill: the teacher folder (absolute), generations, loss weights. */
  distillFrom: string | null;
  generations: number;
  temperature: number;
  ceWeight: number;
  klWeight: number;
}

/**
 * The seeds a run derives from `--seed`: the validation split, and for each
 * generation g (0 without `--distill-from`) its initial weights and its
 * batch / augmentation stream. The library path with these seeds gives the same model.
 */
export function pretrainSeeds(seed: number, generation = 0): { split: number; init: number; train: number } {
  return { split: seed, init: seed + 1 + 2 * generation, train: seed + 2 + 2 * generation };
}

/** RFS's crop padding scaled to the image side: 8 at 84 px and up, 4 at 32, 2 below (the glyphs' 28). */
export function defaultCropPadding(side: number): number {
  return side >= 64 ? 8 : side >= 32 ? 4 : 2;
}

/** The backbone a config describes, seeded. */
export function buildPretrainBackbone(config: Pick<PretrainConfig, 'backbone' | 'imageSize' | 'channels' | 'width' | 'widths'>, classes: number, seed: number): tf.LayersModel {
  const inputShape: [number, number, number] = [config.imageSize, config.imageSize, config.channels];
  return config.backbone === 'conv4' ? conv4({ inputShape, width: config.width, classes, seed }) : resnet12({ inputShape, widths: config.widths, classes, seed });
}

/** The train / validation split of a run: `valFraction` of each class held out (stratified), seeded by {@link pretrainSeeds}. */
export function pretrainSplit(ds: ImageDataset, valFraction: number, seed: number): { train: ImageDataset; val?: ImageDataset } {
  if (valFraction === 0) return { train: ds };
  const { train, test } = stratifiedSplit(ds.labels, valFraction, pretrainSeeds(seed).split);
  return { train: subset(ds, train, `${ds.name}[train]`), val: subset(ds, test, `${ds.name}[val]`) };
}

interface CheckpointState {
  generation: number;
  /** Epochs done in this generation. */
  epoch: number;
  history: Array<ClassifierEpoch & { generation: number }>;
}

const CHECKPOINT = 'checkpoint';
const generationDir = (out: string, g: number) => path.join(out, 'generations', `gen-${g}`);

/** Adds `fewshot pretrain` to the `fewshot` group. */
export function registerPretrainCommand(group: Command): void {
  group
    .command('pretrain')
    .description(
      'RFS pretraining on your images: the base classes as one classification problem, SGD momentum 0.9, weight decay 5e-4, lr ×0.1 at 60% and 80% of the epochs, random crop (+ flip and colour jitter 0.4 on RGB); class-balanced validation accuracy each epoch on held-out images; a checkpoint after every epoch in --out (the same command resumes); --out gets model.json + eccvkit.json',
    )
    .requiredOption('--data <spec>', "a folder with one sub-folder of images per class, 'glyphs' (seeded, --glyph-classes × --glyph-per-class) or 'fashion-mnist'")
    .requiredOption('--out <dir>', 'output folder (new, or the same options to resume)')
    .addOption(new Option('--backbone <name>', 'conv4 or resnet12 (RFS layouts)').choices(['conv4', 'resnet12']).default('conv4'))
    .option('--width <n>', 'conv4 filters per block', '64')
    .option('--widths <list>', 'resnet12 stage widths (RFS: 64,160,320,640)', '32,64,128,256')
    .option('--image-size <n>', "resize every image to n×n (default: the images' own size, which must then agree; 28 for glyphs)")
    .addOption(new Option('--channels <n>', 'channels (default: 1 when the first image is grey, else 3)').choices(['1', '3']))
    .option('--glyph-classes <n>', 'classes of --data glyphs', '64')
    .option('--glyph-per-class <n>', 'images per class of --data glyphs', '60')
    .option('--data-dir <dir>', 'Fashion-MNIST folder', FASHION_MNIST_DEFAULT_DIR)
    .option('--epochs <n>', 'epochs (RFS: 100)', '100')
    .option('--batch-size <n>', 'batch size', '64')
    .option('--lr <x>', 'SGD learning rate', '0.05')
    .option('--momentum <x>', 'SGD momentum', '0.9')
    .option('--weight-decay <x>', 'L2 weight decay', '5e-4')
    .option('--decay-at <list>', 'epoch fractions where the lr is multiplied by 0.1', '0.6,0.8')
    .option('--crop-padding <n>', 'random-crop padding (default: 8 at ≥ 64 px, 4 at ≥ 32 px, else 2)')
    .option('--flip', 'random horizontal flips (default: on for RGB images)')
    .option('--no-flip', 'no flips')
    .option('--jitter <s>', 'colour jitter strength (default: 0.4 for RGB, 0 for grey)')
    .option('--val-fraction <f>', 'images of each class held out for the validation accuracy (0: none)', '0.1')
    .option('--seed <n>', 'seed of the split, weights, batches and augmentation', '0')
    .option('--distill-from <dir>', 'RFS-distill: a trained model folder (e.g. an earlier pretrain --out) as generation 0 teacher')
    .option('--generations <n>', 'RFS-distill generations, each the next one’s teacher (RFS: at least 2)', '2')
    .option('--temperature <T>', 'distillation temperature', '4')
    .option('--ce-weight <γ>', 'weight of cross-entropy in the distillation loss', '0.5')
    .option('--kl-weight <α>', 'weight of KL·T² in the distillation loss', '0.5')
    .option('--stop-after <n>', 'stop after n epochs of this invocation (the checkpoint stays; rerun the same command to go on)')
    .addOption(badImageOption())
    .addOption(backendOption())
    .option('--json', 'print the result as JSON', false)
    .action(async (opts: Record<string, string | boolean | undefined>) => {
      const str = (k: string) => opts[k] as string;
      const shape = imageShapeOptions({ imageSize: opts.imageSize as string | undefined, channels: opts.channels as string | undefined });
      const seed = integerOption(str('seed'), '--seed', 0);
      const epochs = integerOption(str('epochs'), '--epochs', 1);
      const valFraction = numberOption(str('valFraction'), '--val-fraction');
      check(valFraction >= 0 && valFraction < 1, '--val-fraction', str('valFraction'), 'a number in [0, 1)');
      const decayAt = str('decayAt')
        .split(',')
        .map((t) => numberOption(t.trim(), '--decay-at'));
      check(decayAt.every((f) => f > 0 && f <= 1), '--decay-at', str('decayAt'), 'comma-separated fractions in (0, 1]');
      const widths = str('widths')
        .split(',')
        .map((t) => integerOption(t.trim(), '--widths', 1));
      check(widths.length === 4, '--widths', str('widths'), 'four comma-separated integers');
      const momentum = numberOption(str('momentum'), '--momentum');
      check(momentum >= 0 && momentum < 1, '--momentum', str('momentum'), 'a number in [0, 1)');
      const weightDecay = numberOption(str('weightDecay'), '--weight-decay');
      check(weightDecay >= 0, '--weight-decay', str('weightDecay'), 'a number ≥ 0');
      const distillFrom = opts.distillFrom === undefined ? null : path.resolve(str('distillFrom'));
      const generations = integerOption(str('generations'), '--generations', 1);
      const onBadImage = str('onBadImage') as BadImagePolicy;
      const stopAfter = opts.stopAfter === undefined ? Infinity : integerOption(str('stopAfter'), '--stop-after', 1);
      const glyphs = str('data') === 'glyphs';
      const out = str('out');
      await initEngine(opts.backend ? { backend: opts.backend as BackendName } : {});
      const progress = createProgress();

      // The teacher (if any) fixes the preprocessing and the classes.
      const teacherFolder = distillFrom ? await loadModelFolder(distillFrom, '--distill-from') : undefined;
      try {
        const teacherCard = teacherFolder?.card;
        if (teacherFolder) check(teacherCard && (teacherCard.kind === 'fewshot-pretrain' || teacherCard.kind === 'fewshot-distill'), '--distill-from', distillFrom, `a model folder written by eccvkit ${PRETRAIN_COMMAND} (with an eccvkit.json of kind fewshot-pretrain or fewshot-distill)`);
        const data = loadTrainingData(
          str('data'),
          {
            ...shape,
            ...(teacherCard && shape.imageSize === undefined ? { imageSize: teacherCard.preprocessing.size[0] } : {}),
            ...(teacherCard && shape.channels === undefined ? { channels: teacherCard.preprocessing.channels } : {}),
            onBadImage,
            glyphClasses: integerOption(str('glyphClasses'), '--glyph-classes', 2),
            glyphPerClass: integerOption(str('glyphPerClass'), '--glyph-per-class', 1),
            seed,
            dataDir: str('dataDir'),
            log: (m) => progress.log(m),
          },
          '--data',
        );
        const [h, w, c] = data.shape;
        check(h === w, '--data', `${str('data')} with ${h}×${w} images`, 'square images, or --image-size to resize them');
        checkClassCounts(data, valFraction > 0 ? 2 : 1, valFraction > 0 ? 'one to train on and one held out for validation; or --val-fraction 0' : 'one to train on');
        if (teacherCard) {
          check(JSON.stringify(teacherCard.classNames) === JSON.stringify(data.classNames), '--distill-from', distillFrom, `a teacher trained on the same classes as --data (${data.classNames.length} classes ${JSON.stringify(data.classNames.slice(0, 5))}…; the teacher has ${teacherCard.classNames.length})`);
          check(teacherCard.preprocessing.size[0] === h && teacherCard.preprocessing.channels === c, '--distill-from', distillFrom, `a teacher taking ${h}×${h}×${c} inputs like --data (it takes ${teacherCard.preprocessing.size.join('×')}×${teacherCard.preprocessing.channels})`);
        }
        const rgb = c === 3;
        const config: PretrainConfig = {
          command: PRETRAIN_COMMAND,
          data: glyphs || str('data') === 'fashion-mnist' ? str('data') : path.resolve(str('data')),
          glyphClasses: glyphs ? integerOption(str('glyphClasses'), '--glyph-classes', 2) : null,
          glyphPerClass: glyphs ? integerOption(str('glyphPerClass'), '--glyph-per-class', 1) : null,
          imageSize: h,
          channels: c as 1 | 3,
          backbone: str('backbone') as 'conv4' | 'resnet12',
          width: integerOption(str('width'), '--width', 1),
          widths: widths as [number, number, number, number],
          epochs,
          batchSize: integerOption(str('batchSize'), '--batch-size', 1),
          learningRate: positiveOption(str('lr'), '--lr'),
          momentum,
          weightDecay,
          decayAt,
          cropPadding: opts.cropPadding === undefined ? defaultCropPadding(h) : integerOption(str('cropPadding'), '--crop-padding', 0),
          flip: opts.flip === undefined ? rgb : Boolean(opts.flip),
          jitter: opts.jitter === undefined ? (rgb ? 0.4 : 0) : numberOption(str('jitter'), '--jitter'),
          valFraction,
          seed,
          onBadImage,
          distillFrom,
          generations: distillFrom ? generations : 0,
          temperature: positiveOption(str('temperature'), '--temperature'),
          ceWeight: numberOption(str('ceWeight'), '--ce-weight'),
          klWeight: numberOption(str('klWeight'), '--kl-weight'),
        };
        check(config.jitter >= 0 && config.jitter < 1, '--jitter', opts.jitter, 'a number in [0, 1)');
        const preprocessing = unitPreprocessing([h, w], c as 1 | 3);
        const resumable = claimOutFolder(out, config as unknown as Record<string, unknown>, PRETRAIN_COMMAND);
        const result = await pretrain(config, data, preprocessing, out, resumable, teacherFolder?.model, progress, stopAfter);
        if (opts.json) console.log(JSON.stringify(result, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? null : v)));
        else {
          const last = result.history.at(-1);
          if (!result.finished) console.log(`stopped after ${result.history.length - result.resumedFrom} epochs (--stop-after); rerun the same command to go on`);
          else console.log(`${result.generations > 0 ? `RFS-distill generation ${result.generations}` : 'RFS pretraining'}: ${result.epochs} epochs${result.resumedFrom ? ` (resumed after ${result.resumedFrom})` : ''}; last loss ${last?.loss.toFixed(4)}${Number.isFinite(last?.valAccuracy) ? `, class-balanced validation accuracy ${(100 * (last as ClassifierEpoch).valAccuracy).toFixed(2)}%` : ''}`);
          if (result.finished) console.log(`model: ${result.out}`);
        }
      } finally {
        teacherFolder?.model.dispose();
      }
    });
}

/** What `fewshot pretrain` prints with `--json`. */
export interface PretrainResult {
  out: string;
  epochs: number;
  generations: number;
  /** Epochs (over all generations) already done when this invocation started. */
  resumedFrom: number;
  /** False when `--stop-after` stopped it first (no model written yet). */
  finished: boolean;
  history: Array<ClassifierEpoch & { generation: number }>;
}

async function pretrain(config: PretrainConfig, data: ImageDataset, preprocessing: Preprocessing, out: string, resumable: boolean, teacher0: tf.LayersModel | undefined, progress: ReturnType<typeof createProgress>, stopAfter = Infinity): Promise<PretrainResult> {
  normalizeImages(data.images, preprocessing);
  const { train, val } = pretrainSplit(data, config.valFraction, config.seed);
  const ckDir = path.join(out, CHECKPOINT);
  const stateFile = path.join(ckDir, 'state.json');
  let state: CheckpointState = { generation: config.distillFrom ? 1 : 0, epoch: 0, history: [] };
  if (resumable && fs.existsSync(stateFile)) state = JSON.parse(fs.readFileSync(stateFile, 'utf8')) as CheckpointState;
  const lastGeneration = config.distillFrom ? config.generations : 0;
  const resumedFrom = state.history.length;
  const finished = state.generation > lastGeneration || (state.generation === lastGeneration && state.epoch >= config.epochs);
  const card = (g: number): Omit<ModelCard, 'format' | 'version' | 'eccvkit'> => {
    const gen = state.history.filter((e) => e.generation === g);
    const last = gen.at(-1);
    return {
      kind: g > 0 ? 'fewshot-distill' : 'fewshot-pretrain',
      trainedBy: { command: `eccvkit ${PRETRAIN_COMMAND}`, options: { ...config, generation: g } },
      classNames: data.classNames,
      preprocessing,
      layers: { features: FEATURES_LAYER, logits: LOGITS_LAYER },
      metrics: last ? { epochs: gen.length, loss: last.loss, ...(Number.isFinite(last.valAccuracy) ? { valAccuracy: last.valAccuracy } : {}) } : {},
    };
  };
  if (finished) {
    progress.log(`${out} already holds the finished run; nothing to do`);
    return { out, epochs: config.epochs, generations: lastGeneration, resumedFrom, finished: true, history: state.history };
  }
  let ran = 0;
  // The teacher of generation g ≥ 1 is generation g − 1: the --distill-from model, or one this run wrote.
  let teacher: tf.LayersModel | undefined = state.generation === 1 ? teacher0 : state.generation > 1 ? await loadModel(generationDir(out, state.generation - 1)) : undefined;
  try {
    for (let g = state.generation; g <= lastGeneration; g++) {
      const seeds = pretrainSeeds(config.seed, g);
      const model = buildPretrainBackbone(config, data.numClasses, seeds.init);
      const trainer = new ClassifierTrainer(model, train, {
        epochs: config.epochs,
        batchSize: config.batchSize,
        learningRate: config.learningRate,
        momentum: config.momentum,
        weightDecay: config.weightDecay,
        decayAt: config.decayAt,
        augment: config.cropPadding > 0 || config.flip || config.jitter > 0 ? { padding: config.cropPadding, flip: config.flip, jitter: config.jitter } : false,
        seed: seeds.train,
        ...(teacher ? { teacher: { model: teacher, temperature: config.temperature, ceWeight: config.ceWeight, klWeight: config.klWeight } } : {}),
        ...(val ? { validation: val } : {}),
      });
      try {
        if (state.generation === g && state.epoch > 0) {
          const saved = await loadModel(path.join(ckDir, 'model'));
          try {
            model.setWeights(saved.getWeights());
          } finally {
            saved.dispose();
          }
          await loadOptimizerState(trainer.optimizer, path.join(ckDir, 'optimizer'));
          trainer.skipEpochs(state.epoch);
          progress.log(`resuming ${out}${lastGeneration > 0 ? ` generation ${g}` : ''} after epoch ${state.epoch}`);
        }
        const label = g > 0 ? `RFS-distill generation ${g}/${lastGeneration}` : `RFS pretraining (${config.backbone}, ${train.numClasses} classes, ${train.labels.length} images)`;
        progress.start(label, config.epochs);
        progress.update(trainer.epoch);
        while (trainer.epoch < trainer.epochs) {
          if (ran >= stopAfter) {
            progress.stop();
            model.dispose();
            return { out, epochs: config.epochs, generations: lastGeneration, resumedFrom, finished: false, history: state.history };
          }
          ran++;
          const e = trainer.runEpoch();
          state = { generation: g, epoch: trainer.epoch, history: [...state.history, { ...e, generation: g }] };
          await writeDirAtomic(ckDir, async (tmp) => {
            await saveModel(model, path.join(tmp, 'model'));
            await saveOptimizerState(trainer.optimizer, path.join(tmp, 'optimizer'));
            fs.writeFileSync(path.join(tmp, 'state.json'), JSON.stringify(state));
          });
          progress.update(trainer.epoch, { loss: e.loss, lr: e.learningRate, ...(Number.isFinite(e.valAccuracy) ? { val_acc: e.valAccuracy } : {}) });
        }
        progress.stop();
        if (g < lastGeneration) await writeModelFolder(generationDir(out, g), model, card(g));
        else await writeModelInto(out, model, card(g));
        // The next generation starts from epoch 0 with this one as teacher.
        if (g < lastGeneration) {
          state = { ...state, generation: g + 1, epoch: 0 };
          await writeDirAtomic(ckDir, (tmp) => fs.writeFileSync(path.join(tmp, 'state.json'), JSON.stringify(state)));
        }
      } catch (err) {
        progress.stop();
        model.dispose();
        throw err;
      } finally {
        trainer.dispose();
      }
      if (teacher && teacher !== teacher0) teacher.dispose();
      teacher = model;
    }
  } finally {
    if (teacher && teacher !== teacher0) teacher.dispose();
  }
  return { out, epochs: config.epochs, generations: lastGeneration, resumedFrom, finished: true, history: state.history };
}
