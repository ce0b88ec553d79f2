/**
 * `metric-reality-check`: the core experiment of "A Metric Learning Reality
 * Check" (Musgrave, Belongie & Lim, ECCV 2020) at glyph scale. The same small
 * conv backbone, optimizer, sampler and early-stopping rule for every loss;
 * classes split train / validation / test with no overlap; test accuracy as
 * P@1, R-precision and MAP@R over several seeds with 95% confidence intervals.
 */
import { smallConvNet } from '../nn/small-convnet.js';
import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { classDisjointSplit, generateGlyphs, MPerClassSampler, subset, type ImageDataset } from '../data/index.js';
import { tf } from '../engine/index.js';
import { writeFileAtomic } from '../fs.js';
import { accuracy, embed, LOSS_NAMES, makeLoss, trainMetricModel, type LossName } from '../metric/index.js';
import { findingsHtml, htmlTable, imageGridPng, lineChartSvg, pngDataUri } from '../report/index.js';
import type { RunRecord, RunStore } from '../store/index.js';
import { meanConfidenceInterval } from '../stats.js';
import { registerExperiment, type Experiment, type ExperimentContext } from './registry.js';

const schema = z
  .object({
    seed: z.number().int().min(0).default(0),
    /** Glyph classes, split by class into train / validation / test. */
    classes: z.number().int().min(12).default(200),
    perClass: z.number().int().min(4).default(12),
    /** Fractions of the classes for train, validation and test. */
    split: z.tuple([z.number().positive(), z.number().positive(), z.number().positive()]).default([0.5, 0.25, 0.25]),
    losses: z.array(z.enum(LOSS_NAMES as [LossName, ...LossName[]])).min(1).default(['contrastive', 'triplet', 'multi_similarity', 'ntxent', 'proxy_anchor', 'arcface']),
    /** Training seeds per loss (at least 2 for a confidence interval). */
    seeds: z.number().int().min(2).default(3),
    embeddingSize: z.number().int().min(2).default(64),
    filters: z.tuple([z.number().int().min(1), z.number().int().min(1)]).default([16, 32]),
    batchSize: z.number().int().min(2).default(32),
    m: z.number().int().min(2).default(4),
    itersPerEpoch: z.number().int().min(1).default(50),
    maxEpochs: z.number().int().min(1).default(30),
    patience: z.number().int().min(1).default(4),
    /** Adam for the backbone, the same for every loss. */
    learningRate: z.number().positive().max(1).default(1e-3),
    /** Adam for loss weights (proxies, class weights). */
    lossLearningRate: z.number().positive().max(10).default(1e-2),
  })
  .strict();
export type MetricRealityCheckConfig = z.infer<typeof schema>;

/** conv(f1) → relu → maxPool → conv(f2) → relu → maxPool → flatten → dense(embeddingSize), no activation. */
export function glyphEmbeddingNet(config: Pick<MetricRealityCheckConfig, 'filters' | 'embeddingSize'>, seed: number): tf.Sequential {
  return smallConvNet({ filters: config.filters, dense: [{ units: config.embeddingSize }] }, seed);
}

/** Test accuracy of one (loss, seed) training run. */
interface TrialResult {
  loss: LossName;
  seed: number;
  precision_at_1: number;
  r_precision: number;
  mean_average_precision_at_r: number;
  best_epoch: number;
  epochs: number;
  val_map_at_r: number;
  seconds: number;
}

/** Images as a `[N, 28, 28, 1]` tensor and labels renumbered 0…C−1 (weight losses index classes). */
function tensorsOf(ds: ImageDataset): { x: tf.Tensor4D; labels: Int32Array; classes: number } {
  const ids = [...new Set(ds.labels)].sort((a, b) => a - b);
  const remap = new Map(ids.map((c, i) => [c, i]));
  return { x: tf.tensor4d(ds.images, [ds.labels.length, ...ds.shape]), labels: Int32Array.from(ds.labels, (l) => remap.get(l) as number), classes: ids.length };
}

const METRICS = ['precision_at_1', 'r_precision', 'mean_average_precision_at_r'] as const;

async function run(config: MetricRealityCheckConfig, ctx: ExperimentContext): Promise<Record<string, number | string>> {
  const all = generateGlyphs({ classes: config.classes, perClass: config.perClass, seed: config.seed });
  const [trainIdx, valIdx, testIdx] = classDisjointSplit(all.labels, { fractions: config.split, seed: config.seed }) as [Int32Array, Int32Array, Int32Array];
  const train = tensorsOf(subset(all, trainIdx, 'glyphs[train]'));
  const val = tensorsOf(subset(all, valIdx, 'glyphs[val]'));
  const test = tensorsOf(subset(all, testIdx, 'glyphs[test]'));
  const gridFile = path.join(ctx.run.dir, 'glyphs.png');
  const shown = Math.min(all.labels.length, 10 * config.perClass);
  writeFileAtomic(gridFile, imageGridPng(all.images.subarray(0, shown * 28 * 28), { count: shown, height: 28, width: 28, channels: 1, cols: config.perClass, scale: 2 }));
  ctx.addArtifact('glyphs', 'image/png', gridFile);

  const done: TrialResult[] = Array.isArray(ctx.resumeFrom?.meta.trials) ? (ctx.resumeFrom.meta.trials as TrialResult[]) : [];
  const trials = config.losses.flatMap((loss) => Array.from({ length: config.seeds }, (_, s) => ({ loss, seed: config.seed * 1000 + s })));
  try {
    for (const [t, trial] of trials.entries()) {
      if (done.some((d) => d.loss === trial.loss && d.seed === trial.seed)) continue;
      const t0 = performance.now();
      const model = glyphEmbeddingNet(config, trial.seed);
      const loss = makeLoss(trial.loss, { numClasses: train.classes, embeddingSize: config.embeddingSize, seed: trial.seed });
      const optimizer = tf.train.adam(config.learningRate);
      const lossOptimizer = tf.train.adam(config.lossLearningRate);
      const sampler = new MPerClassSampler(train.labels, { m: config.m, batchSize: config.batchSize, seed: trial.seed, lengthBeforeNewIter: config.batchSize * config.itersPerEpoch });
      ctx.progress.start(`${trial.loss} seed ${trial.seed} (${t + 1}/${trials.length})`, config.maxEpochs);
      try {
        const result = trainMetricModel({
          model,
          loss,
          optimizer,
          lossOptimizer,
          sampler,
          trainX: train.x,
          trainLabels: train.labels,
          valX: val.x,
          valLabels: val.labels,
          maxEpochs: config.maxEpochs,
          patience: config.patience,
          onEpoch: (e) => {
            ctx.logMetrics(t * 10_000 + e.epoch, { [`${trial.loss}/${trial.seed}/train_loss`]: e.loss, [`${trial.loss}/${trial.seed}/val_map_at_r`]: e.valMapAtR });
            ctx.progress.update(e.epoch, { loss: e.loss, val_mapr: e.valMapAtR });
          },
        });
        const emb = embed(model, test.x);
        const acc = accuracy(emb, test.labels, undefined, undefined, { nmi: false, warn: () => {} });
        emb.dispose();
        done.push({
          loss: trial.loss,
          seed: trial.seed,
          precision_at_1: acc.precision_at_1,
          r_precision: acc.r_precision,
          mean_average_precision_at_r: acc.mean_average_precision_at_r,
          best_epoch: result.bestEpoch,
          epochs: result.history.length,
          val_map_at_r: result.bestValMapAtR,
          seconds: (performance.now() - t0) / 1000,
        });
      } finally {
        ctx.progress.stop();
        model.dispose();
        loss.dispose();
        optimizer.dispose();
        lossOptimizer.dispose();
      }
      const last = done[done.length - 1] as TrialResult;
      ctx.progress.log(`${trial.loss} seed ${trial.seed}: test MAP@R ${last.mean_average_precision_at_r.toFixed(4)}, P@1 ${last.precision_at_1.toFixed(4)} (best epoch ${last.best_epoch} of ${last.epochs})`);
      await ctx.saveCheckpoint(t + 1, async () => {}, { trials: done });
    }
  } finally {
    tf.dispose([train.x, val.x, test.x]);
  }

  const trialsFile = path.join(ctx.run.dir, 'trials.json');
  writeFileAtomic(trialsFile, JSON.stringify(done, null, 1));
  ctx.addArtifact('trials', 'application/json', trialsFile);
  const out: Record<string, number | string> = { train_classes: train.classes, val_classes: val.classes, test_classes: test.classes, test_images: test.labels.length };
  for (const loss of config.losses) {
    const mine = done.filter((d) => d.loss === loss);
    for (const metric of METRICS) {
      const s = meanConfidenceInterval(mine.map((d) => d[metric]));
      out[`${loss}_${metric}`] = s.mean;
      out[`${loss}_${metric}_ci95`] = s.halfWidth;
    }
    out[`${loss}_best_epoch`] = mine.reduce((a, d) => a + d.best_epoch, 0) / mine.length;
    out[`${loss}_epochs`] = mine.reduce((a, d) => a + d.epochs, 0) / mine.length;
  }
  return out;
}

/** Per loss: mean and 95% half-width of each test metric, from stored final metrics. */
function summary(m: Record<string, number | string>, losses: readonly string[]): Array<{ loss: string; p1: [number, number]; rp: [number, number]; mapr: [number, number]; epochs: [number, number] }> {
  const pair = (loss: string, metric: string): [number, number] => [Number(m[`${loss}_${metric}`]), Number(m[`${loss}_${metric}_ci95`])];
  return losses.map((loss) => ({
    loss,
    p1: pair(loss, 'precision_at_1'),
    rp: pair(loss, 'r_precision'),
    mapr: pair(loss, 'mean_average_precision_at_r'),
    epochs: [Number(m[`${loss}_best_epoch`]), Number(m[`${loss}_epochs`])],
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

function report(runRecord: RunRecord, store: RunStore): string {
  const m = store.finalMetrics(runRecord.id);
  const cfg = runRecord.config as MetricRealityCheckConfig;
  const rows = summary(m, cfg.losses);
  const cell = ([mean, half]: [number, number]) => (Number.isFinite(mean) ? `${(100 * mean).toFixed(2)} ± ${(100 * half).toFixed(2)}` : null);
  const table = htmlTable({
    columns: ['loss', 'P@1 (%)', 'R-precision (%)', 'MAP@R (%)', 'best / last epoch (mean)'],
    rows: rows.map((r) => [r.loss, cell(r.p1), cell(r.rp), cell(r.mapr), Number.isFinite(r.epochs[0]) ? `${r.epochs[0].toFixed(1)} / ${r.epochs[1].toFixed(1)}` : null]),
    caption: `Test accuracy on ${m.test_classes} unseen glyph classes (${m.test_images} images, each a query against the rest), mean ± 95% t-interval over ${cfg.seeds} seeds. Trained on ${m.train_classes} classes, early-stopped on validation MAP@R over ${m.val_classes} other classes.`,
  });
  const setup = htmlTable({
    columns: ['setting', 'value'],
    rows: [
      ['backbone', `conv ${cfg.filters[0]} → pool → conv ${cfg.filters[1]} → pool → dense ${cfg.embeddingSize}, identical for every loss`],
      ['batches', `MPerClassSampler: ${cfg.batchSize / cfg.m} classes × m = ${cfg.m} images, ${cfg.itersPerEpoch} iterations per epoch`],
      ['optimizer', `Adam ${cfg.learningRate} for the backbone; Adam ${cfg.lossLearningRate} for loss weights`],
      ['early stopping', `validation MAP@R every epoch, patience ${cfg.patience}, at most ${cfg.maxEpochs} epochs; best weights restored`],
      ['loss settings', "pytorch-metric-learning defaults, untuned (the paper tuned each loss by Bayesian optimisation with 4-fold cross-validation; this does not)"],
      ['reading the table', `a best epoch equal to the last means the run was still improving when it hit the cap of ${cfg.maxEpochs} epochs`],
      ['preset, seed, backend', `${runRecord.preset}, ${runRecord.seed}, ${runRecord.backend}`],
    ],
  });
  const curves = cfg.losses.map((loss) => ({
    name: loss,
    points: store.metrics(runRecord.id, `${loss}/${cfg.seed * 1000}/val_map_at_r`).map((p) => [p.step % 10_000, p.value] as [number, number]),
  }));
  const chart = lineChartSvg({ title: `Validation MAP@R per epoch (seed ${cfg.seed * 1000})`, xLabel: 'epoch', yLabel: 'MAP@R', series: curves });
  const grid = store.artifacts(runRecord.id).find((a) => a.name === 'glyphs');
  const img = grid && fs.existsSync(grid.path) ? `<figure><img alt="glyph classes" src="${pngDataUri(fs.readFileSync(grid.path))}"><figcaption>Ten glyph classes, one per row: each sample redraws the class's strokes with jitter and a random affine map.</figcaption></figure>` : '';
  // One bullet per sentence of the findings.
  const findings = findingsHtml(realityCheckFindings(rows).split(/(?<=[.:])\s+(?=[A-Z0-9])/));
  return `${findings}${table}${setup}<div class="charts">${chart}</div>${img}`;
}

export const metricRealityCheck: Experiment<MetricRealityCheckConfig> = {
  name: 'metric-reality-check',
  title: 'A Metric Learning Reality Check: losses compared on equal terms',
  paper: 'Musgrave, Belongie & Lim, "A Metric Learning Reality Check", ECCV 2020.',
  claim: 'Under one backbone, optimizer, sampler and validation-based early stopping, state-of-the-art metric losses are at most marginally better than the classic contrastive and triplet losses, and MAP@R tells them apart more honestly than P@1.',
  schema: schema as unknown as z.ZodType<MetricRealityCheckConfig>,
  presets: {
    quick: { classes: 200, perClass: 10, filters: [8, 16], itersPerEpoch: 20, maxEpochs: 6, patience: 2, seeds: 3 },
    full: { classes: 400, perClass: 30, itersPerEpoch: 100, maxEpochs: 60, patience: 6, seeds: 5, losses: [...LOSS_NAMES] },
  },
  run,
  report,
};

registerExperiment(metricRealityCheck);
