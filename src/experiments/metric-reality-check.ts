/**
 * `metric-reality-check`: the protocol of "A Metric Learning Reality Check"
 * (Musgrave, Belongie & Lim, ECCV 2020) at glyph scale, or on an image folder
 * in CUB-200-2011's layout. Classes sorted and halved: the first half for
 * training, the second for test. The training classes are cut into 4
 * class-disjoint folds (contiguous ranges, as powerful-benchmarker's
 * MLRCSplitManager). Per loss, the paper's search space is searched by TPE
 * (an `hpo` study in the run store, or `--set storage=postgres://…`) with
 * objective = mean validation MAP@R over the folds (each fold's model trains
 * on the other folds and early-stops on its own); the best parameters are
 * then retrained R times (4 fold models each) and tested on the held-out
 * classes, separated (each fold model alone, accuracies averaged) and
 * concatenated (the fold models' L2-normalised embeddings joined), with 95%
 * t-intervals over the reproductions. `trials = 0` skips the search and
 * compares the losses at their library defaults (the fixed-setting comparison).
 */
import { smallConvNet } from '../nn/small-convnet.js';
import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { generateGlyphs, loadImageFolder, MPerClassSampler, subset, type ImageDataset } from '../data/index.js';
import { initEngine, tf, type BackendName } from '../engine/index.js';
import { check, EccvkitInputError } from '../errors.js';
import { writeFileAtomic } from '../node/fs.js';
import { createStudy, NopPruner, RandomSampler, TPESampler, type FrozenTrial, type ParamValue, type StudyStorage, type Trial } from '../hpo/index.js';
import { nodeWorkerId, openStudyStorage } from '../hpo/storage/index.js';
import { collectUnits, configCache, enqueueUnits, registerUnitKind, unitStudyName, type UnitJson } from '../hpo/units.js';
import { accuracy, embed, LOSS_NAMES, makeLoss, MetricTrainer, type LossName, type OptionValue } from '../metric/index.js';
import { findingsHtml, htmlTable, imageGridPng, lineChartSvg, pngDataUri, studyChartsSvg } from '../report/index.js';
import type { RunRecord, RunStore } from '../store/index.js';
import { meanConfidenceInterval } from '../stats.js';
import { registerExperiment, silentProgress, type Experiment, type ExperimentContext, type ProgressReporter } from './registry.js';

/** One searched hyperparameter: a loss option by name, or `lossLr` (the learning rate of the loss's own weights). */
export interface SearchParam {
  name: string;
  low: number;
  high: number;
  log?: boolean;
  int?: boolean;
}

const LOSS_LR: SearchParam = { name: 'lossLr', low: 1e-5, high: 1e-1, log: true };

/**
 * The search space per loss: the parameters the paper tuned (reference note
 * §2.4, powerful-benchmarker `docs/papers/mlrc.md`), over ranges that hold
 * every optimum the paper reports; "weights lr" / "proxy lr" / "beta lr" is
 * `lossLr`. ProxyAnchor, SupCon, lifted structure and circle were not in the
 * paper: their spaces follow the same pattern (margins on [0, 1], scales
 * log-uniform).
 */
export const SEARCH_SPACES: Record<LossName, SearchParam[]> = {
  contrastive: [
    { name: 'posMargin', low: -1, high: 1 },
    { name: 'negMargin', low: 0, high: 2 },
  ],
  triplet: [{ name: 'margin', low: 0, high: 1 }],
  multi_similarity: [
    { name: 'alpha', low: 0.01, high: 100, log: true },
    { name: 'beta', low: 0.01, high: 100, log: true },
    { name: 'base', low: 0, high: 1 },
  ],
  ntxent: [{ name: 'temperature', low: 1e-4, high: 1, log: true }],
  supcon: [{ name: 'temperature', low: 1e-4, high: 1, log: true }],
  lifted_structure: [
    { name: 'posMargin', low: -1, high: 1 },
    { name: 'negMargin', low: 0, high: 2 },
  ],
  circle: [
    { name: 'm', low: 0, high: 1 },
    { name: 'gamma', low: 1, high: 256, log: true },
  ],
  margin: [LOSS_LR, { name: 'margin', low: 0, high: 1 }, { name: 'beta', low: 0, high: 2 }],
  fastap: [{ name: 'numBins', low: 2, high: 32, int: true }],
  snr_contrastive: [
    { name: 'posMargin', low: 0, high: 1 },
    { name: 'negMargin', low: 0, high: 2 },
    { name: 'zeroMeanWeight', low: 0, high: 1 },
  ],
  proxy_anchor: [LOSS_LR, { name: 'margin', low: 0, high: 1 }, { name: 'alpha', low: 1, high: 128, log: true }],
  proxy_nca: [LOSS_LR, { name: 'softmaxScale', low: 1, high: 100, log: true }],
  normalized_softmax: [LOSS_LR, { name: 'temperature', low: 0.01, high: 1, log: true }],
  cosface: [LOSS_LR, { name: 'margin', low: 0, high: 1 }, { name: 'scale', low: 1, high: 256, log: true }],
  arcface: [LOSS_LR, { name: 'margin', low: 0, high: 90 }, { name: 'scale', low: 1, high: 256, log: true }],
  soft_triple: [LOSS_LR, { name: 'la', low: 1, high: 100, log: true }, { name: 'gamma', low: 0.01, high: 1, log: true }, { name: 'margin', low: 0, high: 1 }],
};

/** Settings every trial of a loss gets besides the searched ones (the margin loss learns β, as in the paper). */
const FIXED_SETTINGS: Partial<Record<LossName, Record<string, OptionValue>>> = { margin: { learnBeta: true } };

/** Best cross-validated validation MAP@R on CUB200 (4 folds, 50 BO iterations), from the paper's optimisation traces (reference note §2.5). */
export const PAPER_CUB_VAL_MAP_AT_R: Partial<Record<LossName, number>> = {
  contrastive: 0.4368,
  triplet: 0.4244,
  ntxent: 0.4326,
  proxy_nca: 0.4298,
  margin: 0.4184,
  normalized_softmax: 0.4399,
  cosface: 0.4349,
  arcface: 0.4476,
  fastap: 0.423,
  snr_contrastive: 0.4346,
  multi_similarity: 0.4364,
  soft_triple: 0.4411,
};

const schema = z
  .object({
    seed: z.number().int().min(0).default(0),
    /** `glyphs` (generated) or `folder`: one sub-folder per class, as CUB-200-2011's `images/`. */
    dataset: z.enum(['glyphs', 'folder']).default('glyphs'),
    /** The image folder of `dataset: folder`. */
    dataDir: z.string().default(''),
    /** Side of the square grey images a folder is resized to. */
    imageSize: z.number().int().min(8).max(256).default(28),
    /** Glyph classes (the first half trains, the second half tests). */
    classes: z.number().int().min(8).default(200),
    perClass: z.number().int().min(2).default(12),
    losses: z.array(z.enum(LOSS_NAMES as [LossName, ...LossName[]])).min(1).default(['contrastive', 'triplet', 'multi_similarity', 'proxy_anchor']),
    /** Class-disjoint folds of the training classes (the paper: 4). */
    folds: z.number().int().min(2).max(10).default(4),
    /** Search trials per loss (the paper: 50); 0 skips the search and uses the library defaults. */
    trials: z.number().int().min(0).default(50),
    /** `tpe` (Optuna's defaults) or `random`. */
    sampler: z.enum(['tpe', 'random']).default('tpe'),
    /** TPE's random start-up trials (Optuna: 10). */
    startupTrials: z.number().int().min(1).default(10),
    /** Retrainings of the best parameters (each trains one model per fold); at least 2 for an interval. */
    reproductions: z.number().int().min(2).default(4),
    /** Study storage: empty for the run store's SQLite file, else a URL (`postgres://…`, `sqlite:FILE`, `memory:`). */
    storage: z.string().default(''),
    /**
     * Study name prefix (each loss's study is `<prefix>/<loss>`). Empty: this
     * run's own, `metric-reality-check/<config hash>/run<id>`. The same prefix
     * and `storage` URL on several machines share each loss's search trials.
     */
    study: z.string().max(100).default(''),
    embeddingSize: z.number().int().min(2).default(64),
    filters: z.tuple([z.number().int().min(1), z.number().int().min(1)]).default([16, 32]),
    batchSize: z.number().int().min(2).default(32),
    m: z.number().int().min(2).default(4),
    itersPerEpoch: z.number().int().min(1).default(50),
    maxEpochs: z.number().int().min(1).default(30),
    patience: z.number().int().min(1).default(4),
    /** Adam for the backbone, the same for every loss. */
    learningRate: z.number().positive().max(1).default(1e-3),
    /** Adam for loss weights (proxies, class weights, β) when `lossLr` is not searched. */
    lossLearningRate: z.number().positive().max(10).default(1e-2),
  })
  .strict();
export type MetricRealityCheckConfig = z.infer<typeof schema>;

/** conv(f1) → relu → maxPool → conv(f2) → relu → maxPool → flatten → dense(embeddingSize), no activation. */
export function glyphEmbeddingNet(config: Pick<MetricRealityCheckConfig, 'filters' | 'embeddingSize'>, seed: number, inputShape: [number, number, number] = [28, 28, 1]): tf.Sequential {
  return smallConvNet({ filters: config.filters, dense: [{ units: config.embeddingSize }], inputShape }, seed);
}

const METRICS = ['precision_at_1', 'r_precision', 'mean_average_precision_at_r'] as const;
type Metric = (typeof METRICS)[number];
type Scores = Record<Metric, number>;

/** One retraining of a loss's best parameters: test accuracy separated (mean over fold models) and concatenated. */
interface Reproduction {
  loss: LossName;
  rep: number;
  separated: Scores;
  concatenated: Scores;
  /** Best validation MAP@R of each fold model. */
  val: number[];
  bestEpochs: number[];
  epochs: number[];
  seconds: number;
}

/** A loss's search as stored in `search.json` and drawn by the report. */
interface SearchSummary {
  loss: LossName;
  study: string;
  storage: string;
  space: SearchParam[];
  trials: Array<{ number: number; state: string; value: number | null; params: Record<string, ParamValue>; folds: number[] }>;
  best: { number: number; value: number; params: Record<string, ParamValue> } | null;
  seconds: number;
}

interface Split {
  x: tf.Tensor4D;
  labels: Int32Array;
  classes: number;
}

/** Images as a `[N, h, w, c]` tensor and labels renumbered 0…C−1 (weight losses index classes). */
function tensorsOf(ds: ImageDataset): Split {
  const ids = [...new Set(ds.labels)].sort((a, b) => a - b);
  const remap = new Map(ids.map((c, i) => [c, i]));
  return { x: tf.tensor4d(ds.images, [ds.labels.length, ...ds.shape]), labels: Int32Array.from(ds.labels, (l) => remap.get(l) as number), classes: ids.length };
}

function indicesOf(labels: ArrayLike<number>, classes: readonly number[]): Int32Array {
  const set = new Set(classes);
  const out: number[] = [];
  for (let i = 0; i < labels.length; i++) if (set.has(labels[i] as number)) out.push(i);
  return Int32Array.from(out);
}

/** The data: glyphs or a folder, classes sorted, first half train, second half test. */
function loadData(config: MetricRealityCheckConfig): ImageDataset {
  if (config.dataset === 'glyphs') return generateGlyphs({ classes: config.classes, perClass: config.perClass, seed: config.seed });
  if (config.dataDir === '') throw new EccvkitInputError('config dataDir', config.dataDir, 'the image folder of dataset=folder (one sub-folder per class), e.g. --set dataDir=CUB_200_2011/images');
  return loadImageFolder(config.dataDir, { size: [config.imageSize, config.imageSize], channels: 1 });
}

/** Contiguous class ranges of the sorted training classes: fold f validates on classes [⌊f·n/k⌋, ⌊(f+1)·n/k⌋). */
export function contiguousClassFolds(classes: readonly number[], k: number): Array<{ train: number[]; val: number[] }> {
  const sorted = [...classes].sort((a, b) => a - b);
  if (k < 2 || sorted.length < k) throw new EccvkitInputError('folds', k, `an integer from 2 to the number of training classes (${sorted.length})`);
  return Array.from({ length: k }, (_, f) => {
    const [a, b] = [Math.floor((f * sorted.length) / k), Math.floor(((f + 1) * sorted.length) / k)];
    return { train: [...sorted.slice(0, a), ...sorted.slice(b)], val: sorted.slice(a, b) };
  });
}

/** A seed from parts (FNV-1a over their decimal digits): the same parts, the same seed. */
function seedOf(...parts: number[]): number {
  let h = 0x811c9dc5;
  for (const ch of parts.join(':')) h = Math.imul(h ^ ch.charCodeAt(0), 0x01000193) >>> 0;
  return h % 2_000_000_000;
}

function mean(v: readonly number[]): number {
  return v.reduce((a, b) => a + b, 0) / v.length;
}

/** The loss settings and the loss-weight learning rate of a parameter set. */
function splitParams(loss: LossName, params: Record<string, ParamValue>, config: MetricRealityCheckConfig): { settings: Record<string, OptionValue>; lossLr: number } {
  const settings: Record<string, OptionValue> = { ...(FIXED_SETTINGS[loss] ?? {}) };
  for (const [k, v] of Object.entries(params)) if (k !== 'lossLr') settings[k] = v as OptionValue;
  return { settings, lossLr: typeof params.lossLr === 'number' ? params.lossLr : config.lossLearningRate };
}

function suggestAll(trial: Trial, space: readonly SearchParam[]): Record<string, ParamValue> {
  const out: Record<string, ParamValue> = {};
  for (const p of space) out[p.name] = p.int ? trial.suggestInt(p.name, p.low, p.high, { log: p.log }) : trial.suggestFloat(p.name, p.low, p.high, { log: p.log });
  return out;
}

/** The protocol's data: the class split, each fold's train and validation tensors, and the test classes. */
interface RealityData {
  all: ImageDataset;
  trainClasses: number[];
  testClasses: number[];
  folds: Array<{ train: Split; val: Split }>;
  test: Split;
  inputShape: [number, number, number];
}

function prepareData(config: MetricRealityCheckConfig): RealityData {
  const all = loadData(config);
  const classIds = [...new Set(all.labels)].sort((a, b) => a - b);
  if (classIds.length < 2 * config.folds) throw new EccvkitInputError('classes', classIds.length, `at least ${2 * config.folds} classes (half train in ${config.folds} folds, half test)`);
  const half = Math.floor(classIds.length / 2);
  const [trainClasses, testClasses] = [classIds.slice(0, half), classIds.slice(half)];
  const folds = contiguousClassFolds(trainClasses, config.folds).map((fold, f) => ({
    train: tensorsOf(subset(all, indicesOf(all.labels, fold.train), `fold ${f} train`)),
    val: tensorsOf(subset(all, indicesOf(all.labels, fold.val), `fold ${f} val`)),
  }));
  const test = tensorsOf(subset(all, indicesOf(all.labels, testClasses), 'test'));
  return { all, trainClasses, testClasses, folds, test, inputShape: all.shape as [number, number, number] };
}

function disposeData(data: RealityData): void {
  tf.dispose([data.test.x, ...data.folds.flatMap((f) => [f.train.x, f.val.x])]);
}

/** Trains one fold model with `params` (the caller disposes the model). */
function trainFoldModel(
  data: RealityData,
  config: MetricRealityCheckConfig,
  loss: LossName,
  params: Record<string, ParamValue>,
  f: number,
  seed: number,
  onEpoch?: (e: { epoch: number; valMapAtR: number; loss: number }) => void,
): { model: tf.Sequential; result: ReturnType<MetricTrainer['finish']>; seconds: number } {
  const t0 = performance.now();
  const fold = data.folds[f] as RealityData['folds'][number];
  const { settings, lossLr } = splitParams(loss, params, config);
  const model = glyphEmbeddingNet(config, seed, data.inputShape);
  const lossFn = makeLoss(loss, { numClasses: fold.train.classes, embeddingSize: config.embeddingSize, seed }, settings);
  const optimizer = tf.train.adam(config.learningRate);
  const lossOptimizer = tf.train.adam(lossLr);
  const sampler = new MPerClassSampler(fold.train.labels, { m: config.m, batchSize: config.batchSize, seed, lengthBeforeNewIter: config.batchSize * config.itersPerEpoch });
  const trainer = new MetricTrainer({
    model,
    loss: lossFn,
    optimizer,
    lossOptimizer,
    sampler,
    trainX: fold.train.x,
    trainLabels: fold.train.labels,
    valX: fold.val.x,
    valLabels: fold.val.labels,
    maxEpochs: config.maxEpochs,
    patience: config.patience,
    onEpoch,
  });
  try {
    while (!trainer.done) trainer.runEpoch();
    return { model, result: trainer.finish(), seconds: (performance.now() - t0) / 1000 };
  } catch (err) {
    model.dispose();
    throw err;
  } finally {
    trainer.dispose();
    lossFn.dispose();
    optimizer.dispose();
    lossOptimizer.dispose();
  }
}

/** One fold model of reproduction `rep`: trained with the best parameters, its embedding of the test images and its validation record. */
interface ReproducedFold {
  embedding: Float32Array;
  val: number;
  bestEpoch: number;
  epochs: number;
  seconds: number;
  /** Per epoch [epoch, validation MAP@R, training loss] (reproduction 0 only: the report's curves). */
  curve: Array<[number, number, number]>;
}

function reproduceFold(data: RealityData, config: MetricRealityCheckConfig, loss: LossName, best: Record<string, ParamValue>, rep: number, f: number): ReproducedFold {
  const curve: Array<[number, number, number]> = [];
  const { model, result, seconds } = trainFoldModel(data, config, loss, best, f, seedOf(config.seed, rep, f, 3), rep === 0 ? (e) => curve.push([e.epoch, e.valMapAtR, e.loss]) : undefined);
  try {
    const e = embed(model, data.test.x);
    const embedding = e.dataSync() as Float32Array;
    e.dispose();
    return { embedding, val: result.bestValMapAtR, bestEpoch: result.bestEpoch, epochs: result.history.length, seconds, curve };
  } finally {
    model.dispose();
  }
}

/** Test accuracy of one reproduction from its fold models' embeddings: separated (averaged over folds) and concatenated. */
function scoreReproduction(embeddings: Float32Array[], labels: Int32Array): { separated: Scores; concatenated: Scores } {
  const separated = { precision_at_1: 0, r_precision: 0, mean_average_precision_at_r: 0 };
  const concatenated = { ...separated };
  const n = labels.length;
  const parts = embeddings.map((v) => tf.tensor2d(v, [n, v.length / n]));
  try {
    for (const e of parts) {
      const acc = accuracy(e, labels, undefined, undefined, { nmi: false, warn: () => {} });
      for (const m of METRICS) separated[m] += acc[m] / parts.length;
    }
    const cat = tf.concat(parts, 1);
    try {
      const acc = accuracy(cat, labels, undefined, undefined, { nmi: false, warn: () => {} });
      for (const m of METRICS) concatenated[m] = acc[m];
    } finally {
      cat.dispose();
    }
  } finally {
    tf.dispose(parts);
  }
  return { separated, concatenated };
}

/** A reproduction unit's arguments: the config without its storage and study, the loss, its best parameters, the reproduction and the fold. */
interface FoldUnitArgs {
  config: Omit<MetricRealityCheckConfig, 'storage' | 'study'>;
  loss: LossName;
  params: Record<string, ParamValue>;
  rep: number;
  fold: number;
  backend: BackendName;
}

/** The protocol's data, kept for a worker's next unit of the same config (a worker runs many fold models of one config). */
const unitData = configCache(prepareData, disposeData);

/** Trains one fold model of one reproduction by its arguments alone (the `metric-reality-check/reproduction` unit kind). */
export async function realityCheckFoldUnit(args: FoldUnitArgs): Promise<UnitJson> {
  const config = schema.parse({ ...args.config, storage: '', study: '' }) as MetricRealityCheckConfig;
  check((LOSS_NAMES as readonly string[]).includes(args.loss), 'loss', args.loss, `one of ${LOSS_NAMES.join(', ')}`);
  check(Number.isInteger(args.fold) && args.fold >= 0 && args.fold < config.folds, 'fold', args.fold, `an integer in [0, ${config.folds})`);
  check(Number.isInteger(args.rep) && args.rep >= 0 && args.rep < config.reproductions, 'rep', args.rep, `an integer in [0, ${config.reproductions})`);
  await initEngine({ backend: args.backend });
  const r = reproduceFold(await unitData.get(config), config, args.loss, args.params, args.rep, args.fold);
  return { ...r, embedding: Buffer.from(r.embedding.buffer, r.embedding.byteOffset, r.embedding.byteLength).toString('base64') } as unknown as UnitJson;
}

/** Frees the tensors a worker keeps between units of one config. */
export function releaseRealityCheckUnitData(): void {
  unitData.release();
}

registerUnitKind('metric-reality-check/reproduction', (args) => realityCheckFoldUnit(args as unknown as FoldUnitArgs));

/** The sampler of a loss's search: seeded per loss, and per trial number inside the sampler, so every worker suggests alike. */
function searchSampler(config: MetricRealityCheckConfig, li: number): TPESampler | RandomSampler {
  const seed = seedOf(config.seed, li, 1);
  return config.sampler === 'tpe' ? new TPESampler({ seed, nStartupTrials: config.startupTrials }) : new RandomSampler({ seed });
}

/**
 * The search objective of one loss: train a model per fold with the trial's
 * parameters (early-stopped on that fold) and return the mean validation
 * MAP@R. A retried trial (its worker died) keeps the folds it finished.
 */
function searchObjective(
  data: RealityData,
  config: MetricRealityCheckConfig,
  loss: LossName,
  hooks: { progress: ProgressReporter; onModel?(seconds: number): void; onTrialSeconds?(seconds: number): void } = { progress: silentProgress },
): (trial: Trial) => Promise<number> {
  return async (trial) => {
    const tt = performance.now();
    const params = suggestAll(trial, SEARCH_SPACES[loss]);
    const vals = Array.isArray(trial.userAttrs.folds) ? (trial.userAttrs.folds as number[]).slice(0, config.folds) : [];
    hooks.progress.start(`${loss} trial ${trial.number}`, config.folds);
    try {
      for (let f = vals.length; f < config.folds; f++) {
        const { model, result, seconds } = trainFoldModel(data, config, loss, params, f, seedOf(config.seed, f, 2));
        model.dispose();
        hooks.onModel?.(seconds);
        vals.push(result.bestValMapAtR);
        trial.setUserAttr('folds', vals);
        trial.report(result.bestValMapAtR, f);
        hooks.progress.update(f + 1, { val_mapr: result.bestValMapAtR });
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
    } finally {
      hooks.progress.stop();
    }
    hooks.onTrialSeconds?.((performance.now() - tt) / 1000);
    return mean(vals);
  };
}

/** Helper units per loss search: up to this many workers join a search (one helper runs trials until the study's budget is spent). */
const SEARCH_HELPERS = 8;

/** A search helper's arguments: the config without storage and study, the storage URL and study name it joins, the loss and its index. */
interface SearchUnitArgs {
  config: Omit<MetricRealityCheckConfig, 'storage' | 'study'>;
  storage: string;
  study: string;
  loss: LossName;
  lossIndex: number;
  backend: BackendName;
}

/** Joins a loss's search on the shared storage and runs its trials until the budget is spent (the `metric-reality-check/search` unit kind). */
export async function realityCheckSearchUnit(args: SearchUnitArgs): Promise<UnitJson> {
  const config = schema.parse({ ...args.config, storage: '', study: '' }) as MetricRealityCheckConfig;
  check((LOSS_NAMES as readonly string[]).includes(args.loss), 'loss', args.loss, `one of ${LOSS_NAMES.join(', ')}`);
  check(typeof args.storage === 'string' && args.storage !== '', 'storage', args.storage, 'the study storage URL of the search');
  await initEngine({ backend: args.backend });
  const data = await unitData.get(config);
  const storage = await openStudyStorage(args.storage);
  try {
    const study = await createStudy({ name: args.study, storage, direction: 'maximize', sampler: searchSampler(config, args.lossIndex), pruner: new NopPruner() });
    const result = await study.optimize(searchObjective(data, config, args.loss), { trials: config.trials });
    return { trials: result.trials.length };
  } finally {
    await storage.close();
  }
}

registerUnitKind('metric-reality-check/search', (args) => realityCheckSearchUnit(args as unknown as SearchUnitArgs));

function foldFromUnit(r: Record<string, unknown>): ReproducedFold {
  const bytes = Buffer.from(r.embedding as string, 'base64');
  const embedding = new Float32Array(bytes.byteLength / 4);
  new Uint8Array(embedding.buffer).set(bytes);
  return { ...(r as unknown as ReproducedFold), embedding };
}

async function run(config: MetricRealityCheckConfig, ctx: ExperimentContext): Promise<Record<string, number | string>> {
  const data = prepareData(config);
  const { all, trainClasses, testClasses, test } = data;
  if (config.dataset === 'glyphs') {
    const gridFile = path.join(ctx.run.dir, 'glyphs.png');
    const shown = Math.min(all.labels.length, 10 * config.perClass);
    writeFileAtomic(gridFile, imageGridPng(all.images.subarray(0, shown * 28 * 28), { count: shown, height: 28, width: 28, channels: 1, cols: config.perClass, scale: 2 }));
    ctx.addArtifact('glyphs', 'image/png', gridFile);
  }

  const modelSeconds: number[] = [];
  // What units carry (their config without the storage and study) and the study they are queued on.
  const { storage: _url, study: _study, ...unitConfig } = config;
  const unitStudy = unitStudyName('metric-reality-check', ctx.run.configHash);

  const meta = ctx.resumeFrom?.meta ?? {};
  const reproductions: Reproduction[] = Array.isArray(meta.reproductions) ? (meta.reproductions as Reproduction[]) : [];
  const searches: SearchSummary[] = [];
  const trialSeconds: number[] = [];
  let storage: StudyStorage | undefined;
  let step = ctx.resumeFrom?.step ?? 0;
  try {
    for (const [li, loss] of config.losses.entries()) {
      // 1. The search: one study per loss, resumed from the storage when the run is.
      let best: Record<string, ParamValue> = {};
      if (config.trials > 0) {
        storage ??= await openStudyStorage(config.storage === '' ? ctx.store.file : config.storage);
        const t0 = performance.now();
        const name = `${config.study === '' ? `metric-reality-check/${ctx.run.configHash.slice(0, 12)}/run${ctx.run.id}` : config.study}/${loss}`;
        const study = await createStudy({ name, storage, direction: 'maximize', sampler: searchSampler(config, li), pruner: new NopPruner() });
        ctx.progress.log(`${loss}: search (${config.trials} trials × ${config.folds} folds, ${config.sampler}) in study "${name}" on ${storage.description}`);
        const space = SEARCH_SPACES[loss];
        if (config.storage !== '') {
          // Any eccvkit worker on the storage may join this search through a helper unit.
          const helpers = Array.from({ length: SEARCH_HELPERS }, (_, i) => ({
            kind: 'metric-reality-check/search',
            key: `search/${loss}/helper${i}`,
            args: { config: unitConfig, storage: config.storage, study: name, loss, lossIndex: li, backend: ctx.engine.backend } as unknown as UnitJson,
          }));
          await enqueueUnits(storage, unitStudy, helpers);
        }
        await study.optimize(
          searchObjective(data, config, loss, { progress: ctx.progress, onModel: (sec) => modelSeconds.push(sec), onTrialSeconds: (sec) => trialSeconds.push(sec) }),
          {
            trials: config.trials,
            onTrial: (t) => ctx.progress.log(`${loss} trial ${t.number}: ${t.state}${t.value === null ? (t.error ? ` (${t.error})` : '') : `, mean validation MAP@R ${t.value.toFixed(4)}`}`),
          },
        );
        const trials = await study.trials();
        const top = study.best;
        if (!top) throw new EccvkitInputError('trials', config.trials, `a search in which some trial of ${loss} completes (all failed: ${trials.map((t) => t.error).filter(Boolean)[0] ?? 'no error stored'})`);
        best = top.params;
        searches.push({
          loss,
          study: name,
          storage: storage.description,
          space,
          trials: trials.map((t: FrozenTrial) => ({ number: t.number, state: t.state, value: t.value, params: t.params, folds: Array.isArray(t.userAttrs.folds) ? (t.userAttrs.folds as number[]) : [] })),
          best: { number: top.number, value: top.value, params: top.params },
          seconds: (performance.now() - t0) / 1000,
        });
        for (const t of trials) if (t.value !== null) ctx.logMetrics(t.number, { [`${loss}/trial_value`]: t.value });
      }

      // 2. Reproductions of the best parameters, tested separated and concatenated; with a storage URL,
      // each fold model is a unit any worker (or a second run of this command) can train.
      const todo = Array.from({ length: config.reproductions }, (_, r) => r).filter((r) => !reproductions.some((d) => d.loss === loss && d.rep === r));
      const trained = new Map<string, ReproducedFold>();
      if (config.storage !== '' && todo.length > 0) {
        storage ??= await openStudyStorage(config.storage);
        const units = todo.flatMap((r) =>
          Array.from({ length: config.folds }, (_, f) => ({ kind: 'metric-reality-check/reproduction', key: `${loss}/rep${r}/fold${f}`, args: { config: unitConfig, loss, params: best, rep: r, fold: f, backend: ctx.engine.backend } as unknown as UnitJson })),
        );
        const rec = await enqueueUnits(storage, unitStudy, units);
        ctx.progress.log(`${loss}: ${units.length} reproduction fold models as units on ${storage.description}; eccvkit worker --storage URL can share them`);
        const results = await collectUnits(storage, rec, units.map((u) => u.key), {
          worker: storage.defaultWorkerId?.() ?? nodeWorkerId(),
          onUnit: (u) => ctx.progress.log(`${u.key}: ${u.state} here in ${u.seconds.toFixed(1)} s${u.error ? `: ${u.error}` : ''}`),
        });
        for (const u of units) trained.set(u.key, foldFromUnit(results.get(u.key) as unknown as Record<string, unknown>));
      }
      for (const r of todo) {
        const t0 = performance.now();
        const rec: Reproduction = { loss, rep: r, separated: { precision_at_1: 0, r_precision: 0, mean_average_precision_at_r: 0 }, concatenated: { precision_at_1: 0, r_precision: 0, mean_average_precision_at_r: 0 }, val: [], bestEpochs: [], epochs: [], seconds: 0 };
        const embeddings: Float32Array[] = [];
        ctx.progress.start(`${loss} reproduction ${r + 1}/${config.reproductions}`, config.folds);
        try {
          for (let f = 0; f < config.folds; f++) {
            const fold = trained.get(`${loss}/rep${r}/fold${f}`) ?? reproduceFold(data, config, loss, best, r, f);
            modelSeconds.push(fold.seconds);
            for (const [epoch, val, trainLoss] of fold.curve) ctx.logMetrics(epoch, { [`${loss}/fold${f}/val_map_at_r`]: val, [`${loss}/fold${f}/train_loss`]: trainLoss });
            embeddings.push(fold.embedding);
            rec.val.push(fold.val);
            rec.bestEpochs.push(fold.bestEpoch);
            rec.epochs.push(fold.epochs);
            ctx.progress.update(f + 1, { val_mapr: fold.val });
          }
          Object.assign(rec, scoreReproduction(embeddings, test.labels));
        } finally {
          ctx.progress.stop();
        }
        rec.seconds = (performance.now() - t0) / 1000;
        reproductions.push(rec);
        ctx.progress.log(`${loss} reproduction ${r + 1}: test MAP@R ${rec.separated.mean_average_precision_at_r.toFixed(4)} separated, ${rec.concatenated.mean_average_precision_at_r.toFixed(4)} concatenated`);
        await ctx.saveCheckpoint(++step, async () => {}, { reproductions });
      }
    }
  } finally {
    disposeData(data);
    releaseRealityCheckUnitData();
    await storage?.close();
  }

  const write = (name: string, data: unknown) => {
    const file = path.join(ctx.run.dir, `${name}.json`);
    writeFileAtomic(file, JSON.stringify(data, null, 1));
    ctx.addArtifact(name, 'application/json', file);
  };
  write('reproductions', reproductions);
  write('search', searches);
  const out: Record<string, number | string> = {
    train_classes: trainClasses.length,
    test_classes: testClasses.length,
    test_images: test.labels.length,
    folds: config.folds,
    embedding_size: config.embeddingSize,
    models_trained: modelSeconds.length,
  };
  if (modelSeconds.length > 0) out.seconds_per_model = mean(modelSeconds);
  if (trialSeconds.length > 0) out.seconds_per_trial = mean(trialSeconds);
  for (const loss of config.losses) {
    const mine = reproductions.filter((d) => d.loss === loss);
    for (const m of METRICS) {
      for (const [kind, prefix] of [['separated', ''], ['concatenated', 'concat_']] as const) {
        const s = meanConfidenceInterval(mine.map((d) => d[kind][m]));
        out[`${loss}_${prefix}${m}`] = s.mean;
        out[`${loss}_${prefix}${m}_ci95`] = s.halfWidth;
      }
    }
    out[`${loss}_val_map_at_r`] = mean(mine.flatMap((d) => d.val));
    out[`${loss}_best_epoch`] = mean(mine.flatMap((d) => d.bestEpochs));
    out[`${loss}_epochs`] = mean(mine.flatMap((d) => d.epochs));
    const search = searches.find((s) => s.loss === loss);
    if (search?.best) {
      out[`${loss}_cv_map_at_r`] = search.best.value;
      out[`${loss}_best_trial`] = search.best.number;
      out[`${loss}_trials`] = search.trials.filter((t) => t.state === 'COMPLETE').length;
      for (const [k, v] of Object.entries(search.best.params)) if (typeof v === 'number') out[`${loss}_param_${k}`] = v;
    }
  }
  return out;
}

type Pair = [number, number];
interface Row {
  loss: string;
  p1: Pair;
  rp: Pair;
  mapr: Pair;
  cat: { p1: Pair; rp: Pair; mapr: Pair };
  epochs: Pair;
  cv: number;
}

/** Per loss: mean and 95% half-width of each test metric (separated and concatenated), from stored final metrics. */
function summary(m: Record<string, number | string>, losses: readonly string[]): Row[] {
  const pair = (loss: string, metric: string): Pair => [Number(m[`${loss}_${metric}`]), Number(m[`${loss}_${metric}_ci95`])];
  return losses.map((loss) => ({
    loss,
    p1: pair(loss, 'precision_at_1'),
    rp: pair(loss, 'r_precision'),
    mapr: pair(loss, 'mean_average_precision_at_r'),
    cat: { p1: pair(loss, 'concat_precision_at_1'), rp: pair(loss, 'concat_r_precision'), mapr: pair(loss, 'concat_mean_average_precision_at_r') },
    epochs: [Number(m[`${loss}_best_epoch`]), Number(m[`${loss}_epochs`])],
    cv: m[`${loss}_cv_map_at_r`] === undefined ? NaN : Number(m[`${loss}_cv_map_at_r`]),
  }));
}

/** What the table shows, in words: the spread of MAP@R, whether the best beats the rest beyond the intervals, and P@1 vs MAP@R. */
export function realityCheckFindings(rows: Array<{ loss: string; p1: [number, number]; mapr: [number, number] }>): string {
  const valid = rows.filter((r) => Number.isFinite(r.mapr[0]));
  if (valid.length < 2) return 'Fewer than two losses finished; nothing to compare.';
  const byMapr = [...valid].sort((a, b) => b.mapr[0] - a.mapr[0]);
  const best = byMapr[0] as (typeof rows)[number];
  const worst = byMapr[byMapr.length - 1] as (typeof rows)[number];
  const overlapping = byMapr.slice(1).filter((r) => r.mapr[0] + r.mapr[1] >= best.mapr[0] - best.mapr[1]);
  const byP1 = [...valid].sort((a, b) => b.p1[0] - a.p1[0]);
  const pct = (v: number) => (100 * v).toFixed(1);
  const parts = [
    `Test MAP@R ranges from ${pct(worst.mapr[0])} (${worst.loss}) to ${pct(best.mapr[0])} (${best.loss}), a spread of ${pct(best.mapr[0] - worst.mapr[0])} points.`,
    overlapping.length > 0
      ? `The 95% interval of the best loss overlaps those of ${overlapping.map((r) => r.loss).join(', ')}: with this many seeds those differences are not resolved.`
      : `The best loss's 95% interval clears every other loss's.`,
  ];
  const contrastive = valid.find((r) => r.loss === 'contrastive');
  if (contrastive && contrastive !== best) parts.push(`The 2006 contrastive loss is ${pct(best.mapr[0] - contrastive.mapr[0])} MAP@R points behind the best.`);
  if ((byP1[0] as (typeof rows)[number]).loss !== best.loss) parts.push(`P@1 ranks ${(byP1[0] as (typeof rows)[number]).loss} first while MAP@R ranks ${best.loss} first: the two metrics disagree, as the paper warns.`);
  else parts.push(`P@1 and MAP@R agree on the best loss here.`);
  return parts.join(' ');
}

function readArtifact<T>(store: RunStore, runRecord: RunRecord, name: string): T | undefined {
  const a = store.artifacts(runRecord.id).find((x) => x.name === name);
  if (!a || !fs.existsSync(a.path)) return undefined;
  try {
    return JSON.parse(fs.readFileSync(a.path, 'utf8')) as T;
  } catch {
    return undefined;
  }
}

function report(runRecord: RunRecord, store: RunStore): string {
  const m = store.finalMetrics(runRecord.id);
  const cfg = runRecord.config as MetricRealityCheckConfig;
  const rows = summary(m, cfg.losses);
  const searched = (cfg.trials ?? 0) > 0;
  const searches = readArtifact<SearchSummary[]>(store, runRecord, 'search') ?? [];
  const cell = ([mean, half]: Pair) => (Number.isFinite(mean) ? `${(100 * mean).toFixed(2)} ± ${(100 * half).toFixed(2)}` : null);
  const pct = (v: number | undefined) => (v !== undefined && Number.isFinite(v) ? (100 * v).toFixed(2) : null);
  const bestParams = (loss: string): string | null => {
    const b = searches.find((s) => s.loss === loss)?.best;
    if (!b) return searched ? null : 'library defaults';
    return Object.entries(b.params)
      .map(([k, v]) => `${k} ${typeof v === 'number' ? Number(v.toPrecision(3)) : String(v)}`)
      .join(', ');
  };
  const reps = cfg.reproductions ?? 0;
  const dim = cfg.embeddingSize;
  const table = htmlTable({
    columns: [
      'loss',
      searched ? 'best parameters (TPE)' : 'parameters',
      ...(searched ? ['CV val MAP@R (%)', "paper's CUB CV val MAP@R (%)"] : []),
      `P@1 ${dim}-d (%)`,
      `R-precision ${dim}-d (%)`,
      `MAP@R ${dim}-d (%)`,
      `P@1 ${cfg.folds * dim}-d (%)`,
      `R-precision ${cfg.folds * dim}-d (%)`,
      `MAP@R ${cfg.folds * dim}-d (%)`,
    ],
    rows: rows.map((r) => [
      r.loss,
      bestParams(r.loss),
      ...(searched ? [pct(r.cv), pct(PAPER_CUB_VAL_MAP_AT_R[r.loss as LossName]) ?? '— (not in the paper)'] : []),
      cell(r.p1),
      cell(r.rp),
      cell(r.mapr),
      cell(r.cat.p1),
      cell(r.cat.rp),
      cell(r.cat.mapr),
    ]),
    caption:
      `Test accuracy on ${m.test_classes} held-out classes (${m.test_images} images, each a query against the rest), mean ± 95% t-interval over ${reps} reproductions. ` +
      `${dim}-d: each of the ${cfg.folds} fold models alone, accuracies averaged (the paper's "separated 128-d"); ${cfg.folds * dim}-d: the fold models' L2-normalised embeddings concatenated (the paper's "concatenated 512-d"). ` +
      (searched ? `CV val MAP@R: the best trial's mean validation MAP@R over the ${cfg.folds} class-disjoint folds of the ${m.train_classes} training classes; the paper's figure is the same quantity on CUB200 with ImageNet-pretrained BN-Inception, so only the ordering compares.` : ''),
  });
  const perModel = Number(m.seconds_per_model);
  const setup = htmlTable({
    columns: ['setting', 'value'],
    rows: [
      ['data', cfg.dataset === 'folder' ? `image folder ${cfg.dataDir}, ${cfg.imageSize}×${cfg.imageSize} grey; sorted classes, first half train, second half test` : `${cfg.classes} glyph classes × ${cfg.perClass}; first half train, second half test`],
      ['cross-validation', `${cfg.folds} class-disjoint folds of the training classes (contiguous class ranges); each fold model trains on the other folds and early-stops on its own`],
      ['search', searched ? `${cfg.trials} trials per loss, ${cfg.sampler === 'tpe' ? `TPE (${cfg.startupTrials} random start-up trials)` : 'random search'}, objective = mean validation MAP@R over the folds; trials in the study storage (${searches[0]?.storage ?? 'run store'})` : 'none: every loss at its library defaults (trials = 0)'],
      ['backbone', `conv ${cfg.filters[0]} → pool → conv ${cfg.filters[1]} → pool → dense ${cfg.embeddingSize}, identical for every loss`],
      ['batches', `MPerClassSampler: ${cfg.batchSize / cfg.m} classes × m = ${cfg.m} images, ${cfg.itersPerEpoch} iterations per epoch`],
      ['optimizer', `Adam ${cfg.learningRate} for the backbone; Adam for loss weights at the searched lossLr (else ${cfg.lossLearningRate})`],
      ['early stopping', `validation MAP@R every epoch, patience ${cfg.patience}, at most ${cfg.maxEpochs} epochs; best weights restored`],
      ['cost', `${m.models_trained} models${Number.isFinite(perModel) ? `, ${perModel.toFixed(2)} s each on average` : ''}${m.seconds_per_trial !== undefined ? `, ${Number(m.seconds_per_trial).toFixed(1)} s per search trial` : ''}`],
      ['preset, seed, backend', `${runRecord.preset}, ${runRecord.seed}, ${runRecord.backend}`],
    ],
  });
  const curves = cfg.losses.map((loss) => ({
    name: loss,
    points: store.metrics(runRecord.id, `${loss}/fold0/val_map_at_r`).map((p) => [p.step, p.value] as [number, number]),
  }));
  const chart = lineChartSvg({ title: 'Validation MAP@R per epoch (reproduction 1, fold 0)', xLabel: 'epoch', yLabel: 'MAP@R', series: curves });
  const studies = searches
    .map((s) => {
      const charts = studyChartsSvg({ name: s.loss, direction: 'maximize', trials: s.trials, params: s.space.map((p) => ({ name: p.name, log: p.log === true })), valueLabel: 'mean val MAP@R' });
      return `<h3>Search: ${s.loss}</h3><p>Study <code>${s.study}</code>: ${s.trials.length} trials (${s.trials.filter((t) => t.state === 'COMPLETE').length} complete), best trial ${s.best?.number ?? '—'}, ${s.seconds.toFixed(0)} s.</p><div class="charts">${charts.join('')}</div>`;
    })
    .join('');
  const grid = store.artifacts(runRecord.id).find((a) => a.name === 'glyphs');
  const img = grid && fs.existsSync(grid.path) ? `<figure><img alt="glyph classes" src="${pngDataUri(fs.readFileSync(grid.path))}"><figcaption>Ten glyph classes, one per row: each sample redraws the class's strokes with jitter and a random affine map.</figcaption></figure>` : '';
  const catRows = rows.map((r) => ({ loss: r.loss, p1: r.cat.p1, mapr: r.cat.mapr }));
  const sentences = [...realityCheckFindings(rows).split(/(?<=[.:])\s+(?=[A-Z0-9])/)];
  const catText = realityCheckFindings(catRows);
  if (!catText.startsWith('Fewer')) sentences.push(`Concatenated: ${catText.split(/(?<=\.)\s+/)[0] as string}`);
  return `${findingsHtml(sentences)}${table}${setup}<div class="charts">${chart}</div>${studies}${img}`;
}

export const metricRealityCheck: Experiment<MetricRealityCheckConfig> = {
  name: 'metric-reality-check',
  title: 'A Metric Learning Reality Check: losses compared on equal terms',
  paper: 'Musgrave, Belongie & Lim, "A Metric Learning Reality Check", ECCV 2020.',
  claim: 'With one backbone, optimizer and sampler, each loss tuned by the same search with class-disjoint cross-validation and tested on held-out classes, state-of-the-art metric losses are at most marginally better than the classic contrastive and triplet losses, and MAP@R tells them apart more honestly than P@1.',
  schema: schema as unknown as z.ZodType<MetricRealityCheckConfig>,
  presets: {
    quick: { classes: 40, perClass: 8, filters: [4, 8], embeddingSize: 16, batchSize: 16, itersPerEpoch: 4, maxEpochs: 3, patience: 1, trials: 3, startupTrials: 2, reproductions: 2 },
    // quick: 80 models, about 10 s on native. full: two classic losses (contrastive, triplet) and two recent ones
    // (multi-similarity, ProxyAnchor), the schema's default, × (50 trials + 4 reproductions) × 4 folds = 864 models. Each model trains up to 30 epochs of 50
    // batches (about 0.45 s an epoch on one native thread) with patience 4; add ntxent or arcface with
    // --set losses=[…] (each about 216 models more).
    full: { classes: 200, perClass: 20, itersPerEpoch: 50, maxEpochs: 30, patience: 4, trials: 50, reproductions: 4 },
  },
  fullPreset:
    "runs the protocol on 200 glyph classes: contrastive, triplet, multi-similarity and ProxyAnchor, each 50 TPE trials × 4 class-disjoint folds, then 4 reproductions of its best settings (864 models; 75 min with one run and one worker on 2 cores, resumable, shareable with workers through --storage).",
  run,
  report,
};

registerExperiment(metricRealityCheck);
