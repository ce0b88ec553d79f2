/**
 * `mnist-baseline`: a small conv net trained on the embedded MNIST digits.
 * Not a paper claim; it proves the whole path (data → engine → training with
 * checkpoints → store → report) on data every install has.
 */
import { classifierStep, smallConvNet } from '../nn/small-convnet.js';
import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { loadMnistDigits, shuffledBatches, stratifiedSplit, subset, toTensors, type ImageDataset } from '../data/index.js';
import { createRng, tf } from '../engine/index.js';
import { writeFileAtomic } from '../node/fs.js';
import { loadModel, loadOptimizerState, saveModel, saveOptimizerState } from '../nn/io.js';
import { escapeHtml, htmlTable, imageGridPng, lineChartSvg, pngDataUri } from '../report/index.js';
import type { RunRecord, RunStore } from '../store/index.js';
import { registerExperiment, type Experiment, type ExperimentContext } from './registry.js';

const schema = z
  .object({
    seed: z.number().int().min(0).default(0),
    epochs: z.number().int().min(1).max(1000).default(5),
    batchSize: z.number().int().min(1).max(4096).default(64),
    learningRate: z.number().positive().max(1).default(1e-3),
    testFraction: z.number().gt(0).lt(1).default(0.2),
    /** Use at most this many training images (0 = all); small values make smoke tests fast. */
    trainSize: z.number().int().min(0).default(0),
    filters: z.tuple([z.number().int().min(1), z.number().int().min(1)]).default([16, 32]),
    hidden: z.number().int().min(1).default(64),
    logEvery: z.number().int().min(1).default(10),
  })
  .strict();
export type MnistBaselineConfig = z.infer<typeof schema>;

/** conv(f1,3×3) → relu → maxPool → conv(f2,3×3) → relu → maxPool → dense(hidden) → relu → dense(10). */
export function mnistConvNet(config: Pick<MnistBaselineConfig, 'filters' | 'hidden'>, seed: number): tf.Sequential {
  return smallConvNet({ filters: config.filters, dense: [{ units: config.hidden, activation: 'relu' }, { units: 10 }] }, seed);
}

/** Accuracy, mean cross-entropy and predictions of `model` on `ds`, in batches. */
function evaluate(model: tf.LayersModel, ds: ImageDataset, batchSize = 500): { accuracy: number; loss: number; predictions: Int32Array<ArrayBufferLike> } {
  const n = ds.labels.length;
  const predictions = new Int32Array(n);
  let lossSum = 0;
  for (let start = 0; start < n; start += batchSize) {
    const idx = Int32Array.from({ length: Math.min(batchSize, n - start) }, (_, i) => start + i);
    const [pred, loss] = tf.tidy(() => {
      const { x, y } = toTensors(ds, idx);
      const logits = model.predict(x) as tf.Tensor2D;
      const ce = tf.losses.softmaxCrossEntropy(tf.oneHot(y, 10), logits, undefined, 0, tf.Reduction.SUM);
      return [tf.argMax(logits, 1), ce];
    });
    predictions.set(pred.dataSync(), start);
    lossSum += loss.dataSync()[0] as number;
    tf.dispose([pred, loss]);
  }
  let correct = 0;
  for (let i = 0; i < n; i++) if (predictions[i] === ds.labels[i]) correct++;
  return { accuracy: correct / n, loss: lossSum / n, predictions };
}

/** Seed of epoch `epoch`'s shuffle: fixed by the run seed, so a resumed run sees the same batches. */
function epochSeed(seed: number, epoch: number): number {
  return createRng(seed * 1_000_003 + epoch).seedInt();
}

async function run(config: MnistBaselineConfig, ctx: ExperimentContext): Promise<Record<string, number | string>> {
  const all = loadMnistDigits();
  const split = stratifiedSplit(all.labels, config.testFraction, config.seed);
  // The split is in ascending (digit-sorted) order: draw a random subset, not a prefix.
  const trainIdx =
    config.trainSize > 0 && config.trainSize < split.train.length
      ? createRng(config.seed + 1).permutation(split.train.length).slice(0, config.trainSize).map((i) => split.train[i] as number)
      : split.train;
  const train = subset(all, trainIdx, 'mnist-digits[train]');
  const test = subset(all, split.test, 'mnist-digits[test]');
  const model = mnistConvNet(config, ctx.rng.seedInt());
  const optimizer = tf.train.adam(config.learningRate);
  const trainX = toTensors(train);
  const targets = tf.tidy(() => tf.oneHot(trainX.y, 10).toFloat());
  try {
    let firstEpoch = 0;
    let trainSeconds = 0;
    if (ctx.resumeFrom) {
      const loaded = await loadModel(path.join(ctx.resumeFrom.path, 'model'));
      try {
        model.setWeights(loaded.getWeights());
      } finally {
        loaded.dispose();
      }
      await loadOptimizerState(optimizer, path.join(ctx.resumeFrom.path, 'optimizer'));
      firstEpoch = Number(ctx.resumeFrom.meta.epoch) + 1;
      trainSeconds = Number(ctx.resumeFrom.meta.trainSeconds ?? 0);
    }

    const stepsPerEpoch = Math.ceil(train.labels.length / config.batchSize);
    let step = firstEpoch * stepsPerEpoch;
    let last: ReturnType<typeof evaluate> = { accuracy: 0, loss: 0, predictions: new Int32Array(0) };
    for (let epoch = firstEpoch; epoch < config.epochs; epoch++) {
      const batches = shuffledBatches(train.labels.length, config.batchSize, epochSeed(config.seed, epoch));
      ctx.progress.start(`mnist-baseline epoch ${epoch + 1}/${config.epochs}`, batches.length);
      const t0 = performance.now();
      let windowLoss = 0;
      let windowSteps = 0;
      for (let b = 0; b < batches.length; b++) {
        windowLoss += classifierStep(model, optimizer, trainX.x, targets, batches[b] as Int32Array);
        windowSteps++;
        step++;
        if (windowSteps === config.logEvery || b === batches.length - 1) {
          ctx.logMetrics(step, { train_loss: windowLoss / windowSteps });
          ctx.progress.update(b + 1, { loss: windowLoss / windowSteps });
          windowLoss = 0;
          windowSteps = 0;
        }
      }
      trainSeconds += (performance.now() - t0) / 1000;
      ctx.progress.stop();
      last = evaluate(model, test);
      ctx.logMetrics(step, { test_accuracy: last.accuracy, test_loss: last.loss, epoch: epoch + 1 });
      ctx.progress.log(`epoch ${epoch + 1}: test accuracy ${(100 * last.accuracy).toFixed(2)}%, test loss ${last.loss.toFixed(4)}`);
      await ctx.saveCheckpoint(
        step,
        async (dir) => {
          await saveModel(model, path.join(dir, 'model'));
          await saveOptimizerState(optimizer, path.join(dir, 'optimizer'));
        },
        { epoch, trainSeconds },
      );
    }
    if (last.predictions.length === 0) last = evaluate(model, test);

    const modelDir = path.join(ctx.run.dir, 'model');
    await saveModel(model, modelDir);
    ctx.addArtifact('model', 'tfjs-layers-model', modelDir);
    const wrong: number[] = [];
    for (let i = 0; i < test.labels.length && wrong.length < 40; i++) if (last.predictions[i] !== test.labels[i]) wrong.push(i);
    const grid = subset(test, wrong);
    const pngFile = path.join(ctx.run.dir, 'misclassified.png');
    writeFileAtomic(pngFile, imageGridPng(grid.images, { count: wrong.length, height: 28, width: 28, channels: 1, cols: 10, scale: 2 }));
    ctx.addArtifact('misclassified', 'image/png', pngFile);
    writeFileAtomic(
      path.join(ctx.run.dir, 'misclassified.json'),
      JSON.stringify(wrong.map((i) => ({ index: i, label: test.labels[i], predicted: last.predictions[i] }))),
    );
    ctx.addArtifact('misclassified-labels', 'application/json', path.join(ctx.run.dir, 'misclassified.json'));
    return {
      test_accuracy: last.accuracy,
      test_loss: last.loss,
      test_size: test.labels.length,
      train_size: train.labels.length,
      steps: step,
      train_seconds: trainSeconds,
      // trainSeconds accumulates across resumed sessions, so it is divided by every step taken.
      ms_per_step: (1000 * trainSeconds) / Math.max(1, step),
    };
  } finally {
    tf.dispose([trainX.x, trainX.y, targets]);
    model.dispose();
    optimizer.dispose();
  }
}

/** Wilson score interval for a binomial proportion (95%). */
export function wilsonInterval(p: number, n: number, z95 = 1.959963984540054): [number, number] {
  const denom = 1 + (z95 * z95) / n;
  const centre = (p + (z95 * z95) / (2 * n)) / denom;
  const half = (z95 * Math.sqrt((p * (1 - p)) / n + (z95 * z95) / (4 * n * n))) / denom;
  return [centre - half, centre + half];
}

function report(runRecord: RunRecord, store: RunStore): string {
  const m = store.finalMetrics(runRecord.id);
  const acc = Number(m.test_accuracy);
  const n = Number(m.test_size);
  const [lo, hi] = wilsonInterval(acc, n);
  const cfg = runRecord.config as MnistBaselineConfig;
  const table = htmlTable({
    columns: ['measure', 'value'],
    rows: [
      ['test accuracy', `${(100 * acc).toFixed(2)}% (95% CI ${(100 * lo).toFixed(2)}–${(100 * hi).toFixed(2)}%, n = ${n})`],
      ['test loss (cross-entropy)', Number(m.test_loss)],
      ['target', 'accuracy above 95%'],
      ['verdict', acc > 0.95 ? 'met' : 'not met'],
      ['train / test images', `${m.train_size} / ${m.test_size} (stratified split of the 10,000 embedded digits)`],
      ['epochs, steps', `${cfg.epochs}, ${m.steps}`],
      ['training time', `${Number(m.train_seconds).toFixed(1)} s (${Number(m.ms_per_step).toFixed(1)} ms per step of ${cfg.batchSize})`],
      ['backend', String(m.backend ?? runRecord.backend)],
      ['preset, seed', `${runRecord.preset}, ${runRecord.seed}`],
    ],
  });
  const loss = store.metrics(runRecord.id, 'train_loss').map((p) => [p.step, p.value] as [number, number]);
  const testAcc = store.metrics(runRecord.id, 'test_accuracy').map((p) => [p.step, p.value] as [number, number]);
  const charts =
    lineChartSvg({ title: 'Training loss', xLabel: 'step', yLabel: 'cross-entropy', series: [{ name: 'train loss (window mean)', points: loss }] }) +
    lineChartSvg({ title: 'Test accuracy after each epoch', xLabel: 'step', yLabel: 'accuracy', series: [{ name: 'test accuracy', points: testAcc }] });
  const artifacts = store.artifacts(runRecord.id);
  const grid = artifacts.find((a) => a.name === 'misclassified');
  const labels = artifacts.find((a) => a.name === 'misclassified-labels');
  const pairs =
    labels && fs.existsSync(labels.path)
      ? (JSON.parse(fs.readFileSync(labels.path, 'utf8')) as Array<{ label: number; predicted: number }>).map((p) => `${p.label}→${p.predicted}`).join(', ')
      : '';
  const img =
    grid && fs.existsSync(grid.path)
      ? `<figure><img alt="misclassified test digits" src="${pngDataUri(fs.readFileSync(grid.path))}"><figcaption>The first misclassified test digits, row by row as true → predicted: ${escapeHtml(pairs)}.</figcaption></figure>`
      : '';
  return `${table}<div class="charts">${charts}</div>${img}`;
}

export const mnistBaseline: Experiment<MnistBaselineConfig> = {
  name: 'mnist-baseline',
  title: 'MNIST baseline: a small conv net on the embedded digits',
  paper: 'None: the pipeline check every other experiment builds on.',
  claim: 'A two-layer conv net trained for a few epochs on 8,000 of the embedded MNIST digits classifies the other 2,000 with accuracy above 95%.',
  schema: schema as unknown as z.ZodType<MnistBaselineConfig>,
  presets: {
    quick: { epochs: 5 },
    full: { epochs: 15, filters: [32, 64], hidden: 128 },
  },
  fullPreset:
    'trains the wider net (32 and 64 filters, 128 hidden) for 15 epochs on the same split.',
  run,
  report,
};

registerExperiment(mnistBaseline);
