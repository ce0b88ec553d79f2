/**
 * `fewshot-rfs`: "Rethinking Few-Shot Image Classification: a Good Embedding Is
 * All You Need?" (Tian, Wang, Krishnan, Tenenbaum, Isola, ECCV 2020). Pretrain
 * a backbone on the base classes with plain cross-entropy, freeze it, and
 * classify novel-class episodes with logistic regression on L2-normalised
 * features (RFS-simple); compare with no L2 normalisation, nearest neighbour,
 * nearest prototype, RFS-distill (born-again generations) and an episodically
 * trained Prototypical Network on the same backbone and data. Every method is
 * scored on the same episodes.
 */
import path from 'node:path';
import { z } from 'zod';
import { generateGlyphs, loadImageFolder, partitionClasses, subset, type ImageDataset } from '../data/index.js';
import { createRng, tf } from '../engine/index.js';
import {
  conv4,
  embedDataset,
  evaluateEpisodes,
  resnet12,
  trainClassifier,
  trainProtoNet,
  type EpisodeEvalOptions,
  type EpisodeMethod,
  type FeatureMatrix,
} from '../fewshot/index.js';
import { meanConfidenceInterval } from '../stats.js';
import { loadModel, saveModel } from '../nn/io.js';
import { htmlTable, lineChartSvg } from '../report/index.js';
import type { Checkpoint, RunRecord, RunStore } from '../store/index.js';
import { registerExperiment, type Experiment, type ExperimentContext } from './registry.js';

const schema = z
  .object({
    seed: z.number().int().min(0).default(0),
    /** `glyphs`: the seeded generator; `folder`: an image folder (one sub-folder per class, e.g. miniImageNet) at `dataDir`. */
    dataset: z.enum(['glyphs', 'folder']).default('glyphs'),
    dataDir: z.string().default(''),
    /** Image side (glyph canvas, or the size folder images are resized to). */
    imageSize: z.number().int().min(16).max(256).default(28),
    channels: z.union([z.literal(1), z.literal(3)]).default(1),
    /** Classes for base (pretraining) / val (unused: RFS selects no model on val) / novel (episodes); miniImageNet is 64 / 16 / 20. */
    classes: z.tuple([z.number().int().min(2), z.number().int().min(1), z.number().int().min(5)]).default([64, 16, 20]),
    /** Glyph images per class. */
    perClass: z.number().int().min(20).default(60),
    backbone: z.enum(['conv4', 'resnet12']).default('conv4'),
    /** Conv-4 filters. */
    width: z.number().int().min(1).default(64),
    /** ResNet-12 stage widths. */
    widths: z.tuple([z.number().int().min(1), z.number().int().min(1), z.number().int().min(1), z.number().int().min(1)]).default([32, 64, 128, 256]),
    epochs: z.number().int().min(1).default(30),
    batchSize: z.number().int().min(1).default(64),
    learningRate: z.number().positive().default(0.05),
    weightDecay: z.number().min(0).default(5e-4),
    /** Pad-and-crop augmentation of pretraining batches (pixels each side). */
    cropPadding: z.number().int().min(0).default(2),
    /** RFS-distill generations after the teacher (RFS: 2). */
    distillGenerations: z.number().int().min(0).max(5).default(2),
    /** Episodes of ProtoNet training (0 skips the baseline). */
    protoEpisodes: z.number().int().min(0).default(2000),
    ways: z.number().int().min(2).default(5),
    shots: z.array(z.number().int().min(1)).min(1).default([1, 5]),
    queries: z.number().int().min(1).default(15),
    /** Test episodes per setting (RFS: 600). */
    episodes: z.number().int().min(2).default(600),
    /** What the episode classifiers see: the pooled `features` (default) or the base-class `logits` (RFS's `use_logit`, the default of its meta_test). */
    representation: z.enum(['features', 'logits']).default('features'),
    /** Support augmentation copies for RFS-simple (RFS: 5); 0 leaves it out. */
    supportAugmentation: z.number().int().min(0).max(10).default(0),
  })
  .strict();
export type FewshotRfsConfig = z.infer<typeof schema>;

/** Published 5-way miniImageNet accuracies (%), mean ± 95% CI, from the reference note (paper Table 1 as quoted by third parties). */
export const RFS_PUBLISHED: Record<'conv4' | 'resnet12', Record<'simple' | 'distill', Record<1 | 5, [number, number] | [number]>>> = {
  resnet12: { simple: { 1: [62.02, 0.63], 5: [79.64, 0.44] }, distill: { 1: [64.82, 0.6], 5: [82.14, 0.43] } },
  conv4: { simple: { 1: [55.25], 5: [71.56] }, distill: { 1: [55.88], 5: [71.65] } },
};

/** The methods of the table: key, label, what it is. */
const METHODS: Array<{ key: string; label: string }> = [
  { key: 'lr', label: 'RFS-simple: LR + L2 norm' },
  { key: 'lr-aug', label: 'RFS-simple + support augmentation' },
  { key: 'lr-raw', label: 'LR without L2 norm' },
  { key: 'nn', label: 'NN + L2 norm' },
  { key: 'nn-raw', label: 'NN without L2 norm' },
  { key: 'cosine', label: 'cosine NN' },
  { key: 'proto-head', label: 'nearest prototype + L2 norm' },
  { key: 'distill', label: 'RFS-distill: LR + L2 norm, last generation' },
  { key: 'protonet', label: 'ProtoNet (episodic training, prototype rule)' },
  { key: 'protonet-lr', label: 'ProtoNet embedding + LR + L2 norm' },
];

/** Paired differences reported with their own 95% CI: [a, b, sentence] for a − b. */
const PAIRED_COMPARISONS: Array<[string, string, string]> = [
  ['lr', 'lr-raw', 'L2 normalisation (LR with − without)'],
  ['lr', 'nn', 'LR − NN (both L2-normalised)'],
  ['lr', 'protonet', 'RFS-simple − ProtoNet'],
  ['distill', 'lr', 'RFS-distill − RFS-simple'],
];

interface Splits {
  base: ImageDataset;
  novel: ImageDataset;
  note: string;
}

/** Relabels `ds` restricted to `classes` as 0…len−1. */
function classSubset(ds: ImageDataset, classes: number[], name: string): ImageDataset {
  const map = new Map(classes.map((c, i) => [c, i]));
  const idx: number[] = [];
  for (let i = 0; i < ds.labels.length; i++) if (map.has(ds.labels[i] as number)) idx.push(i);
  const out = subset(ds, idx, name);
  out.labels = out.labels.map((l) => map.get(l) as number);
  out.numClasses = classes.length;
  out.classNames = classes.map((c) => ds.classNames[c] ?? String(c));
  return out;
}

function loadSplits(config: FewshotRfsConfig): Splits {
  const [nb, nv, nn] = config.classes;
  let all: ImageDataset;
  let note: string;
  if (config.dataset === 'folder') {
    all = loadImageFolder(config.dataDir, { size: [config.imageSize, config.imageSize], channels: config.channels });
    note = `image folder ${config.dataDir} (${all.numClasses} classes, ${all.labels.length} images, ${config.imageSize}×${config.imageSize})`;
  } else {
    all = generateGlyphs({ classes: nb + nv + nn, perClass: config.perClass, seed: config.seed, size: config.imageSize });
    note = `seeded glyphs: ${nb + nv + nn} classes × ${config.perClass} images, ${config.imageSize}×${config.imageSize}`;
  }
  const [base, , novel] = partitionClasses(all.labels, { counts: [nb, nv, nn], seed: config.seed + 1 }) as [number[], number[], number[]];
  return { base: classSubset(all, base, `${all.name}[base]`), novel: classSubset(all, novel, `${all.name}[novel]`), note };
}

function buildBackbone(config: FewshotRfsConfig, classes: number, seed: number, channels: number): tf.LayersModel {
  const inputShape: [number, number, number] = [config.imageSize, config.imageSize, channels];
  return config.backbone === 'conv4' ? conv4({ inputShape, width: config.width, classes, seed }) : resnet12({ inputShape, widths: config.widths, classes, seed });
}

/** Seeds of every stage, drawn up front so a resumed run uses the same ones. */
function stageSeeds(ctx: ExperimentContext, generations: number) {
  return {
    evaluation: ctx.rng.seedInt(),
    augmentation: ctx.rng.seedInt(),
    init: Array.from({ length: generations + 1 }, () => ctx.rng.seedInt()),
    train: Array.from({ length: generations + 1 }, () => ctx.rng.seedInt()),
    protoInit: ctx.rng.seedInt(),
    protoTrain: ctx.rng.seedInt(),
  };
}

/**
 * Stages: 0 teacher (RFS-simple and the classifier ablation), 1…G distillation
 * generations, G+1 ProtoNet. A checkpoint after each stage holds the metrics so
 * far and the latest generation's model, so an interrupted run resumes at the
 * next stage with the same seeds.
 */
async function run(config: FewshotRfsConfig, ctx: ExperimentContext): Promise<Record<string, number | string>> {
  const { base, novel, note } = loadSplits(config);
  const channels = base.shape[2];
  const seeds = stageSeeds(ctx, config.distillGenerations);
  const resumed = ctx.resumeFrom;
  const metrics: Record<string, number | string> = resumed ? { ...(resumed.meta.metrics as Record<string, number | string>) } : { data_note: note, base_images: base.labels.length, novel_images: novel.labels.length };
  // Per-episode accuracies by `${method}_${shots}`: every method sees the same episodes, so differences are paired.
  const perEpisode: Record<string, number[]> = resumed ? { ...(resumed.meta.perEpisode as Record<string, number[]>) } : {};
  const firstStage = resumed ? Number(resumed.meta.stage) + 1 : 0;
  const t0 = performance.now() - 1000 * Number(metrics.seconds ?? 0);
  let step = resumed ? Number(resumed.meta.step) : 0;
  const pretrain = (model: tf.LayersModel, tag: string, trainSeed: number, teacher?: tf.LayersModel) => {
    ctx.progress.start(`${tag}: ${config.epochs} epochs on ${base.numClasses} base classes`, config.epochs);
    const losses = trainClassifier(model, base, {
      epochs: config.epochs,
      batchSize: config.batchSize,
      learningRate: config.learningRate,
      weightDecay: config.weightDecay,
      augment: config.cropPadding > 0 ? { padding: config.cropPadding } : false,
      seed: trainSeed,
      teacher: teacher ? { model: teacher } : undefined,
      onEpoch: (epoch, loss, lr) => {
        ctx.logMetrics(++step, { [`train_loss/${tag}`]: loss, [`lr/${tag}`]: lr });
        ctx.progress.update(epoch + 1, { loss });
      },
    });
    ctx.progress.stop();
    metrics[`${tag}_final_loss`] = losses.at(-1) as number;
  };
  const evaluate = (features: FeatureMatrix, methods: EpisodeMethod[], augment?: (shots: number) => EpisodeEvalOptions['augmentSupport']) => {
    for (const shots of config.shots) {
      ctx.progress.start(`${methods.map((m) => m.name).join(', ')}: ${config.ways}-way ${shots}-shot, ${config.episodes} episodes`, config.episodes);
      const r = evaluateEpisodes(features, novel.labels, {
        ways: config.ways,
        shots,
        queries: config.queries,
        episodes: config.episodes,
        seed: seeds.evaluation,
        methods,
        augmentSupport: augment?.(shots),
        onEpisode: (done) => {
          if (done % 20 === 0 || done === config.episodes) ctx.progress.update(done);
        },
      });
      ctx.progress.stop();
      for (const m of methods) {
        const res = r[m.name];
        if (!res) continue;
        metrics[`${m.name}_${shots}shot_mean`] = res.mean;
        metrics[`${m.name}_${shots}shot_ci95`] = res.ci95;
        perEpisode[`${m.name}_${shots}`] = Array.from(res.accuracies);
        ctx.progress.log(`${m.name} ${config.ways}-way ${shots}-shot: ${(100 * res.mean).toFixed(2)} ± ${(100 * res.ci95).toFixed(2)}%`);
      }
    }
  };
  const checkpoint = async (stage: number, model?: tf.LayersModel) => {
    metrics.seconds = (performance.now() - t0) / 1000;
    await ctx.saveCheckpoint(step, async (dir) => (model ? saveModel(model, path.join(dir, 'model')) : undefined), { stage, step, metrics, perEpisode });
  };
  const embed = (model: tf.LayersModel) => embedDataset(model, novel, undefined, { output: config.representation });

  // 1. RFS-simple: pretrain, freeze, embed the novel classes; 2. RFS-distill generations.
  let teacher: tf.LayersModel | undefined = firstStage > 0 && firstStage <= config.distillGenerations + 1 ? await loadModel(path.join((resumed as Checkpoint).path, 'model')) : undefined;
  try {
    if (firstStage === 0) {
      teacher = buildBackbone(config, base.numClasses, seeds.init[0] as number, channels);
      pretrain(teacher, 'gen0', seeds.train[0] as number);
      const features = embed(teacher);
      evaluate(features, [
        { name: 'lr', classifier: 'lr' },
        { name: 'lr-raw', classifier: 'lr', normalize: false },
        { name: 'nn', classifier: 'nn' },
        { name: 'nn-raw', classifier: 'nn', normalize: false },
        { name: 'cosine', classifier: 'cosine' },
        { name: 'proto-head', classifier: 'proto' },
      ]);
      if (config.supportAugmentation > 0) {
        const augRng = createRng(seeds.augmentation);
        const model = teacher;
        evaluate(features, [{ name: 'lr-aug', classifier: 'lr' }], () => ({
          copies: config.supportAugmentation,
          features: (indices: Int32Array) => {
            const copies = Array.from({ length: config.supportAugmentation }, () => indices).flatMap((ix) => Array.from(ix));
            return embedDataset(model, novel, copies, { output: config.representation, augment: { padding: config.cropPadding }, rng: augRng });
          },
        }));
      }
      await checkpoint(0, teacher);
    }
    for (let g = Math.max(1, firstStage); g <= config.distillGenerations; g++) {
      const student = buildBackbone(config, base.numClasses, seeds.init[g] as number, channels);
      try {
        pretrain(student, `gen${g}`, seeds.train[g] as number, teacher);
      } catch (err) {
        student.dispose();
        throw err;
      }
      teacher?.dispose();
      teacher = student;
      evaluate(embed(teacher), [{ name: g === config.distillGenerations ? 'distill' : `distill-gen${g}`, classifier: 'lr' }]);
      await checkpoint(g, teacher);
    }
  } finally {
    teacher?.dispose();
  }
  // 3. Baseline: Prototypical Networks trained episodically on the same backbone and base classes.
  if (config.protoEpisodes > 0 && firstStage <= config.distillGenerations + 1) {
    const proto = buildBackbone(config, base.numClasses, seeds.protoInit, channels);
    try {
      const trainShots = Math.max(...config.shots);
      ctx.progress.start(`ProtoNet: ${config.protoEpisodes} episodes`, config.protoEpisodes);
      const losses = trainProtoNet(proto, base, {
        episodes: config.protoEpisodes,
        ways: config.ways,
        shots: trainShots,
        queries: Math.min(config.queries, Math.floor(base.labels.length / base.numClasses) - trainShots),
        augment: config.cropPadding > 0 ? { padding: config.cropPadding } : false,
        seed: seeds.protoTrain,
        onEpisode: (e, loss) => {
          if ((e + 1) % 20 === 0) ctx.progress.update(e + 1, { loss });
        },
      });
      ctx.progress.stop();
      for (let i = 0; i < losses.length; i += 20) {
        const win = losses.slice(i, i + 20);
        ctx.logMetrics(++step, { 'train_loss/protonet': win.reduce((a, b) => a + b, 0) / win.length });
      }
      // ProtoNet's head is untrained, so it is always scored on its features.
      evaluate(embedDataset(proto, novel), [
        { name: 'protonet', classifier: 'proto', normalize: false },
        { name: 'protonet-lr', classifier: 'lr' },
      ]);
    } finally {
      proto.dispose();
    }
  }
  for (const [a, b] of PAIRED_COMPARISONS) {
    for (const k of config.shots) {
      const x = perEpisode[`${a}_${k}`];
      const y = perEpisode[`${b}_${k}`];
      if (!x || !y) continue;
      const d = meanConfidenceInterval(x.map((v, i) => v - (y[i] as number)));
      metrics[`${a}_minus_${b}_${k}shot_mean`] = d.mean;
      metrics[`${a}_minus_${b}_${k}shot_ci95`] = d.halfWidth;
    }
  }
  metrics.seconds = (performance.now() - t0) / 1000;
  return metrics;
}

function report(runRecord: RunRecord, store: RunStore): string {
  const m = store.finalMetrics(runRecord.id);
  const cfg = runRecord.config as unknown as FewshotRfsConfig;
  const cell = (key: string, shots: number) => {
    const mean = m[`${key}_${shots}shot_mean`];
    return mean === undefined ? '—' : `${(100 * Number(mean)).toFixed(2)} ± ${(100 * Number(m[`${key}_${shots}shot_ci95`])).toFixed(2)}`;
  };
  const published = (kind: 'simple' | 'distill' | undefined, shots: number) => {
    if (kind === undefined || (shots !== 1 && shots !== 5)) return '';
    const v = RFS_PUBLISHED[cfg.backbone][kind][shots];
    return v.length === 2 ? `${v[0].toFixed(2)} ± ${v[1].toFixed(2)}` : `${v[0].toFixed(2)}`;
  };
  const paperKind = (key: string) => (key === 'lr-aug' || (key === 'lr' && cfg.supportAugmentation === 0) ? 'simple' : key === 'distill' ? 'distill' : undefined);
  const paperShots = cfg.shots.filter((k) => k === 1 || k === 5);
  const rows = METHODS.filter((meth) => cfg.shots.some((k) => m[`${meth.key}_${k}shot_mean`] !== undefined)).map((meth) => [
    meth.label,
    ...cfg.shots.map((k) => cell(meth.key, k)),
    ...paperShots.map((k) => published(paperKind(meth.key), k)),
  ]);
  const table = htmlTable({
    columns: ['method', ...cfg.shots.map((k) => `ours ${cfg.ways}-way ${k}-shot (%)`), ...paperShots.map((k) => `paper, miniImageNet ${k}-shot (%)`)],
    rows,
    caption: `${m.data_note}; ${cfg.classes.join(' / ')} base / val / novel classes; ${cfg.backbone}${cfg.backbone === 'conv4' ? ` width ${cfg.width}` : ` widths ${cfg.widths.join('-')}`}, ${cfg.epochs} epochs; classifiers on the ${cfg.representation ?? 'features'}; ${cfg.episodes} episodes of ${cfg.queries} queries per class, mean ± 95% CI (Student t). Every method is scored on the same episodes. Paper numbers: ${cfg.backbone === 'conv4' ? 'Conv-4' : 'ResNet-12'} on miniImageNet (84×84 natural images, 5× support augmentation); they are a reference point, not a target for glyphs.`,
  });
  const diffRows: Array<[string, string, string]> = [];
  for (const [a, b, label] of PAIRED_COMPARISONS) {
    for (const k of cfg.shots) {
      const mean = m[`${a}_minus_${b}_${k}shot_mean`];
      if (mean === undefined) continue;
      const half = Number(m[`${a}_minus_${b}_${k}shot_ci95`]);
      const lo = 100 * (Number(mean) - half);
      const hi = 100 * (Number(mean) + half);
      const verdict = lo > 0 ? 'higher' : hi < 0 ? 'lower' : 'no difference detected';
      diffRows.push([label, `${k}-shot`, `${(100 * Number(mean)).toFixed(2)} ± ${(100 * half).toFixed(2)} (${verdict})`]);
    }
  }
  const diffs = diffRows.length > 0 ? htmlTable({ columns: ['comparison', 'setting', 'difference in accuracy points, paired by episode, 95% CI'], rows: diffRows }) : '';
  const series = store
    .metricNames(runRecord.id)
    .filter((n) => n.startsWith('train_loss/gen'))
    .map((n) => ({ name: n.slice('train_loss/'.length), points: store.metrics(runRecord.id, n).map((p, i) => [i + 1, p.value] as [number, number]) }));
  const chart = series.length > 0 ? lineChartSvg({ title: 'Pretraining loss per generation', xLabel: 'epoch', yLabel: 'loss', series }) : '';
  return `${table}${diffs}<div class="charts">${chart}</div>`;
}

export const fewshotRfs: Experiment<FewshotRfsConfig> = {
  name: 'fewshot-rfs',
  title: 'Few-shot classification with a good embedding (RFS)',
  paper: 'Tian, Wang, Krishnan, Tenenbaum and Isola, "Rethinking Few-Shot Image Classification: a Good Embedding Is All You Need?", ECCV 2020.',
  claim:
    'A backbone pretrained with plain cross-entropy on the base classes, frozen, with logistic regression on L2-normalised features per episode (RFS-simple), matches or beats an episodically meta-trained Prototypical Network on novel classes; self-distillation (RFS-distill) adds a little more.',
  schema: schema as unknown as z.ZodType<FewshotRfsConfig>,
  presets: {
    quick: { classes: [32, 8, 16], perClass: 24, imageSize: 20, width: 16, epochs: 8, batchSize: 32, protoEpisodes: 100, episodes: 100, distillGenerations: 2 },
    full: { classes: [64, 16, 20], perClass: 60, imageSize: 28, width: 64, epochs: 30, protoEpisodes: 2000, episodes: 600, supportAugmentation: 5 },
  },
  fullPreset:
    'pretrains Conv-4 (width 64) on 64 glyph base classes × 60 images for 30 epochs, with two distillation generations, and evaluates 600 episodes per setting against ProtoNet trained for 2,000 episodes.',
  run,
  report,
};

registerExperiment(fewshotRfs);
