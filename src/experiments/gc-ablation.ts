/**
 * `gc-ablation`: does Gradient Centralization (Yong et al., ECCV 2020) help a
 * small conv net with batch norm on Fashion-MNIST? SGD with momentum and Adam,
 * each with and without GC, over several seeds with the same schedule; test
 * accuracy as mean ± 95% Student-t interval, the GC − no-GC difference paired
 * by seed (same seed: same initial weights and batch order), and training-
 * loss curves. The verdict sentence is computed from those numbers.
 */
import { z } from 'zod';
import {
  fashionMnistAvailable,
  FASHION_MNIST_DEFAULT_DIR,
  loadFashionMnist,
  loadMnistDigits,
  shuffledBatches,
  stratifiedSplit,
  subset,
  toTensors,
  type ImageDataset,
} from '../data/index.js';
import { createRng, initEngine, tf, type BackendName } from '../engine/index.js';
import { check } from '../errors.js';
import { collectUnits, configCache, enqueueUnits, registerUnitKind, unitStudyName, type UnitJson } from '../hpo/units.js';
import { nodeWorkerId, openStudyStorage } from '../hpo/storage/index.js';
import { meanConfidenceInterval } from '../stats.js';
import { GcAdam, GcMomentum, type GcOptimizer } from '../optim/index.js';
import { classifierStep } from '../nn/small-convnet.js';
import { escapeHtml, htmlTable, lineChartSvg } from '../report/index.js';
import type { RunRecord, RunStore } from '../store/index.js';
import { registerExperiment, silentProgress, type Experiment, type ExperimentContext } from './registry.js';

const schema = z
  .object({
    seed: z.number().int().min(0).default(0),
    /** Seeds per arm; each seed fixes the initial weights and the batch order, shared by all four arms. */
    seeds: z.number().int().min(2).max(50).default(5),
    /** `auto`: Fashion-MNIST when its files are in `dataDir`, else the embedded MNIST digits. */
    dataset: z.enum(['auto', 'fashion-mnist', 'mnist']).default('auto'),
    dataDir: z.string().min(1).default(FASHION_MNIST_DEFAULT_DIR),
    /** Training images used (a seeded random subset; 0 = all). */
    trainSize: z.number().int().min(0).default(0),
    /** Test images used (a seeded random subset; 0 = all). */
    testSize: z.number().int().min(0).default(0),
    epochs: z.number().int().min(1).max(1000).default(3),
    batchSize: z.number().int().min(1).max(4096).default(128),
    filters: z.tuple([z.number().int().min(1), z.number().int().min(1)]).default([16, 32]),
    hidden: z.number().int().min(1).default(64),
    /**
     * Batch norm's moving-average momentum. tfjs's default 0.99 leaves the
     * test-time statistics 0.99^steps of the way from their initial values
     * (22% after 150 steps), so short runs use 0.9.
     */
    bnMomentum: z.number().min(0).lt(1).default(0.9),
    /** SGD with momentum: the reference CIFAR settings (lr 0.1, μ 0.9), lr scaled down for a net without residuals. */
    sgdLearningRate: z.number().positive().max(10).default(0.05),
    momentum: z.number().min(0).lt(1).default(0.9),
    adamLearningRate: z.number().positive().max(1).default(1e-3),
    /** Coupled L2 on every weight (the reference scripts use 5e-4). */
    weightDecay: z.number().min(0).max(1).default(5e-4),
    /** `all`: GC on conv and dense kernels (the paper's GC); `conv`: conv kernels only (GCC). */
    gc: z.enum(['conv', 'all']).default('all'),
    /** Where Adam centralises: `update` is Adam_GC2, which the authors recommend for adaptive methods. */
    adamCentralize: z.enum(['gradient', 'update']).default('update'),
    /** Cosine decay of the learning rate to 0 over the run, or a constant rate. */
    schedule: z.enum(['cosine', 'constant']).default('cosine'),
    logEvery: z.number().int().min(1).default(10),
    /**
     * Study storage URL (`postgres://…`, `sqlite:FILE`): each seed × arm run
     * becomes a unit there that `eccvkit worker --storage URL` processes on
     * other machines pull, while this run works on them too and collects the
     * results. Empty: every run in this process.
     */
    storage: z.string().default(''),
  })
  .strict();
export type GcAblationConfig = z.infer<typeof schema>;

/** The four arms: optimizer family × GC. */
export const GC_ABLATION_ARMS = [
  { id: 'sgdm', family: 'SGD-momentum', gc: false },
  { id: 'sgdm-gc', family: 'SGD-momentum', gc: true },
  { id: 'adam', family: 'Adam', gc: false },
  { id: 'adam-gc', family: 'Adam', gc: true },
] as const;
type Arm = (typeof GC_ABLATION_ARMS)[number];

/**
 * The plain-words verdict for one optimizer family from per-seed accuracies
 * with and without GC (paired by seed): "helped" when the 95% interval of the
 * mean difference lies above 0, "hurt" when below, otherwise no detectable
 * difference.
 */
export function gcVerdict(family: string, withGc: readonly number[], without: readonly number[]): { effect: 'helped' | 'hurt' | 'none'; sentence: string; diff: ReturnType<typeof meanConfidenceInterval> } {
  check(withGc.length === without.length, 'withGc', withGc, `as many values as without (${without.length})`);
  const diff = meanConfidenceInterval(withGc.map((a, i) => a - (without[i] as number)));
  const pts = (v: number) => `${v >= 0 ? '+' : '−'}${Math.abs(100 * v).toFixed(2)}`;
  const range = `${pts(diff.mean)} points (95% CI ${pts(diff.mean - diff.halfWidth)} to ${pts(diff.mean + diff.halfWidth)}, ${diff.n} paired seeds)`;
  if (diff.mean - diff.halfWidth > 0) return { effect: 'helped', sentence: `With ${family}, GC helped: test accuracy changed by ${range}.`, diff };
  if (diff.mean + diff.halfWidth < 0) return { effect: 'hurt', sentence: `With ${family}, GC hurt: test accuracy changed by ${range}.`, diff };
  return { effect: 'none', sentence: `With ${family}, GC made no difference we can detect: test accuracy changed by ${range}, an interval that includes 0.`, diff };
}

interface Data {
  name: string;
  train: ImageDataset;
  test: ImageDataset;
  note: string;
}

function loadData(config: GcAblationConfig): Data {
  const fashionHere = fashionMnistAvailable(config.dataDir);
  const useFashion = config.dataset === 'fashion-mnist' || (config.dataset === 'auto' && fashionHere);
  let train: ImageDataset;
  let test: ImageDataset;
  let note: string;
  if (useFashion) {
    ({ train, test } = loadFashionMnist({ dataDir: config.dataDir }));
    note = `Fashion-MNIST from ${config.dataDir}`;
  } else {
    const all = loadMnistDigits();
    const split = stratifiedSplit(all.labels, 0.2, config.seed);
    train = subset(all, split.train, 'mnist-digits[train]');
    test = subset(all, split.test, 'mnist-digits[test]');
    note =
      config.dataset === 'mnist'
        ? 'the embedded MNIST digits (asked for)'
        : `the embedded MNIST digits, because Fashion-MNIST is not installed in ${config.dataDir}`;
  }
  // Seeded random subsets: the IDX files and the split are in a fixed order, so a prefix would skew the classes.
  const pick = (ds: ImageDataset, size: number, salt: number): ImageDataset =>
    size > 0 && size < ds.labels.length ? subset(ds, createRng(config.seed * 7919 + salt).permutation(ds.labels.length).slice(0, size), `${ds.name}[${size}]`) : ds;
  return { name: useFashion ? 'fashion-mnist' : 'mnist', train: pick(train, config.trainSize, 1), test: pick(test, config.testSize, 2), note };
}

/** conv(f1, 3×3) → BN → relu → maxPool → conv(f2, 3×3) → BN → relu → maxPool → dense(hidden) → BN → relu → dense(10). */
export function gcAblationNet(config: Pick<GcAblationConfig, 'filters' | 'hidden'> & { bnMomentum?: number }, seed: number): tf.Sequential {
  const bn = () => tf.layers.batchNormalization({ momentum: config.bnMomentum ?? 0.9 });
  const rng = createRng(seed);
  const init = () => tf.initializers.heNormal({ seed: rng.seedInt() });
  return tf.sequential({
    layers: [
      tf.layers.conv2d({ inputShape: [28, 28, 1], filters: config.filters[0], kernelSize: 3, padding: 'same', useBias: false, kernelInitializer: init() }),
      bn(),
      tf.layers.reLU(),
      tf.layers.maxPooling2d({ poolSize: 2 }),
      tf.layers.conv2d({ filters: config.filters[1], kernelSize: 3, padding: 'same', useBias: false, kernelInitializer: init() }),
      bn(),
      tf.layers.reLU(),
      tf.layers.maxPooling2d({ poolSize: 2 }),
      tf.layers.flatten(),
      tf.layers.dense({ units: config.hidden, useBias: false, kernelInitializer: init() }),
      bn(),
      tf.layers.reLU(),
      tf.layers.dense({ units: 10, kernelInitializer: tf.initializers.glorotUniform({ seed: rng.seedInt() }) }),
    ],
  });
}

function makeOptimizer(arm: Arm, config: GcAblationConfig): GcOptimizer {
  const gc = arm.gc ? config.gc : 'off';
  return arm.family === 'Adam'
    ? new GcAdam({ learningRate: config.adamLearningRate, weightDecay: config.weightDecay, gc, centralize: config.adamCentralize })
    : new GcMomentum({ learningRate: config.sgdLearningRate, momentum: config.momentum, weightDecay: config.weightDecay, gc });
}

function accuracy(model: tf.LayersModel, ds: ImageDataset, batchSize = 500): number {
  let correct = 0;
  for (let start = 0; start < ds.labels.length; start += batchSize) {
    const idx = Int32Array.from({ length: Math.min(batchSize, ds.labels.length - start) }, (_, i) => start + i);
    const pred = tf.tidy(() => tf.argMax(model.predict(toTensors(ds, idx).x) as tf.Tensor2D, 1));
    const p = pred.dataSync();
    pred.dispose();
    for (let i = 0; i < p.length; i++) if (p[i] === ds.labels[start + i]) correct++;
  }
  return correct / ds.labels.length;
}

/** One finished training: an arm with one seed. */
interface TrainResult {
  arm: string;
  seedIndex: number;
  testAccuracy: number;
  finalTrainLoss: number;
  msPerStep: number;
}

/** The seed of seed index `k`, shared by all arms: it fixes the initial weights and the batch order. */
function runSeed(config: GcAblationConfig, k: number): number {
  return createRng(config.seed * 1_000_003 + k).seedInt();
}

function trainOne(
  arm: Arm,
  k: number,
  data: Data,
  trainX: { x: tf.Tensor4D; targets: tf.Tensor2D },
  config: GcAblationConfig,
  ctx: Pick<ExperimentContext, 'logMetrics' | 'progress'>,
): TrainResult {
  const seed = runSeed(config, k);
  const model = gcAblationNet(config, seed);
  const optimizer = makeOptimizer(arm, config);
  const baseLr = optimizer.learningRate;
  const n = data.train.labels.length;
  const stepsPerEpoch = Math.ceil(n / config.batchSize);
  const total = stepsPerEpoch * config.epochs;
  const metric = `train_loss/${arm.id}/seed${k}`;
  ctx.progress.start(`gc-ablation ${arm.id} seed ${k + 1}/${config.seeds}`, total);
  let step = 0;
  let windowLoss = 0;
  let windowSteps = 0;
  let lastWindow = Number.NaN;
  const t0 = performance.now();
  try {
    for (let epoch = 0; epoch < config.epochs; epoch++) {
      const batches = shuffledBatches(n, config.batchSize, createRng(seed + 31 * (epoch + 1)).seedInt());
      for (const batch of batches) {
        if (config.schedule === 'cosine') optimizer.setLearningRate(Math.max(baseLr * 0.5 * (1 + Math.cos((Math.PI * step) / total)), baseLr * 1e-4));
        windowLoss += classifierStep(model, optimizer, trainX.x, trainX.targets, batch);
        windowSteps++;
        step++;
        if (windowSteps === config.logEvery || step === total) {
          lastWindow = windowLoss / windowSteps;
          ctx.logMetrics(step, { [metric]: lastWindow });
          ctx.progress.update(step, { loss: lastWindow });
          windowLoss = 0;
          windowSteps = 0;
        }
      }
    }
    const msPerStep = (performance.now() - t0) / total;
    ctx.progress.stop();
    const testAccuracy = accuracy(model, data.test);
    return { arm: arm.id, seedIndex: k, testAccuracy, finalTrainLoss: lastWindow, msPerStep };
  } finally {
    model.dispose();
    optimizer.dispose();
  }
}

async function run(config: GcAblationConfig, ctx: ExperimentContext): Promise<Record<string, number | string>> {
  const data = loadData(config);
  ctx.progress.log(`gc-ablation: ${data.note}; ${data.train.labels.length} training and ${data.test.labels.length} test images`);
  const done: TrainResult[] = Array.isArray(ctx.resumeFrom?.meta.results) ? (ctx.resumeFrom.meta.results as TrainResult[]) : [];
  if (config.storage !== '') await runAsUnits(config, ctx, done);
  else await runHere(config, ctx, data, done);
  return summarise(config, data, done);
}

async function runHere(config: GcAblationConfig, ctx: ExperimentContext, data: Data, done: TrainResult[]): Promise<void> {
  const x = toTensors(data.train);
  const targets = tf.tidy(() => tf.oneHot(x.y, 10).toFloat()) as tf.Tensor2D;
  try {
    // Seed-major order: an interrupted run has complete pairs for the seeds it finished.
    for (let k = 0; k < config.seeds; k++) {
      for (const arm of GC_ABLATION_ARMS) {
        if (done.some((r) => r.arm === arm.id && r.seedIndex === k)) continue;
        const result = trainOne(arm, k, data, { x: x.x, targets }, config, ctx);
        done.push(result);
        ctx.progress.log(`${arm.id} seed ${k + 1}: test accuracy ${(100 * result.testAccuracy).toFixed(2)}%, final train loss ${result.finalTrainLoss.toFixed(4)}`);
        await ctx.saveCheckpoint(done.length, async () => {}, { results: done });
      }
    }
  } finally {
    tf.dispose([x.x, x.y, targets]);
  }
}

/** A unit's arguments: the config (without the storage), the arm, the seed index and the backend, so a worker on another machine computes the same numbers. */
interface GcUnitArgs {
  config: Omit<GcAblationConfig, 'storage'>;
  arm: string;
  seedIndex: number;
  backend: BackendName;
}

/** What a unit returns: the run's result and its training-loss points, which the coordinating run logs. */
interface GcUnitResult {
  result: TrainResult;
  curve: Array<[number, number]>;
}

/** The data set and its training tensors, kept for a worker's next unit of the same config. */
const unitData = configCache(
  (config: GcAblationConfig) => {
    const data = loadData(config);
    const t = toTensors(data.train);
    const targets = tf.tidy(() => tf.oneHot(t.y, 10).toFloat()) as tf.Tensor2D;
    t.y.dispose();
    return { data, x: t.x, targets };
  },
  (d) => tf.dispose([d.x, d.targets]),
);

/** Runs one seed × arm unit by its arguments alone (the `gc-ablation/train` unit kind). */
export async function gcAblationUnit(args: GcUnitArgs): Promise<GcUnitResult> {
  const config = schema.parse(args.config) as GcAblationConfig;
  const arm = GC_ABLATION_ARMS.find((a) => a.id === args.arm);
  check(arm !== undefined, 'arm', args.arm, `one of ${GC_ABLATION_ARMS.map((a) => a.id).join(', ')}`);
  check(Number.isInteger(args.seedIndex) && args.seedIndex >= 0 && args.seedIndex < config.seeds, 'seedIndex', args.seedIndex, `an integer in [0, ${config.seeds})`);
  await initEngine({ backend: args.backend });
  const held = await unitData.get(config);
  const curve: Array<[number, number]> = [];
  const result = trainOne(arm, args.seedIndex, held.data, held, config, {
    progress: silentProgress,
    logMetrics: (step, values) => {
      for (const v of Object.values(values)) curve.push([step, v]);
    },
  });
  return { result, curve };
}

/** Frees the tensors a worker keeps between units of one config. */
export function releaseGcAblationUnitData(): void {
  unitData.release();
}

registerUnitKind('gc-ablation/train', (args) => gcAblationUnit(args as unknown as GcUnitArgs) as unknown as Promise<UnitJson>);

/** Enqueues the runs not done yet as units on the storage, works on them, and collects every worker's results in seed-major order. */
async function runAsUnits(config: GcAblationConfig, ctx: ExperimentContext, done: TrainResult[]): Promise<void> {
  const storage = await openStudyStorage(config.storage);
  const { storage: _url, ...plain } = config;
  const study = unitStudyName('gc-ablation', ctx.run.configHash);
  const units = [];
  for (let k = 0; k < config.seeds; k++) {
    for (const arm of GC_ABLATION_ARMS) {
      if (done.some((r) => r.arm === arm.id && r.seedIndex === k)) continue;
      const args: GcUnitArgs = { config: plain, arm: arm.id, seedIndex: k, backend: ctx.engine.backend };
      units.push({ kind: 'gc-ablation/train', key: `${arm.id}/seed${k}`, args: args as unknown as UnitJson });
    }
  }
  try {
    const rec = await enqueueUnits(storage, study, units);
    ctx.progress.log(`gc-ablation: ${units.length} runs as units of study "${study}" on ${storage.description}; start more with eccvkit worker --storage URL`);
    const results = await collectUnits(storage, rec, units.map((u) => u.key), {
      worker: storage.defaultWorkerId?.() ?? nodeWorkerId(),
      onUnit: (u) => ctx.progress.log(`${u.key}: ${u.state} here in ${u.seconds.toFixed(1)} s${u.error ? `: ${u.error}` : ''}`),
    });
    for (const u of units) {
      const r = results.get(u.key) as unknown as GcUnitResult;
      const metric = `train_loss/${r.result.arm}/seed${r.result.seedIndex}`;
      for (const [step, v] of r.curve) ctx.logMetrics(step, { [metric]: v });
      done.push(r.result);
    }
    done.sort((a, b) => a.seedIndex - b.seedIndex || GC_ABLATION_ARMS.findIndex((x) => x.id === a.arm) - GC_ABLATION_ARMS.findIndex((x) => x.id === b.arm));
    await ctx.saveCheckpoint(done.length, async () => {}, { results: done });
  } finally {
    releaseGcAblationUnitData();
    await storage.close();
  }
}

function summarise(config: GcAblationConfig, data: Data, done: TrainResult[]): Record<string, number | string> {
  const out: Record<string, number | string> = {
    dataset: data.name,
    dataset_note: data.note,
    train_size: data.train.labels.length,
    test_size: data.test.labels.length,
    seeds: config.seeds,
  };
  const accOf = (armId: string) =>
    done
      .filter((r) => r.arm === armId)
      .sort((a, b) => a.seedIndex - b.seedIndex)
      .map((r) => r.testAccuracy);
  for (const arm of GC_ABLATION_ARMS) {
    const stats = meanConfidenceInterval(accOf(arm.id));
    const rows = done.filter((r) => r.arm === arm.id);
    out[`${arm.id}_acc_mean`] = stats.mean;
    out[`${arm.id}_acc_ci95`] = stats.halfWidth;
    out[`${arm.id}_acc_per_seed`] = accOf(arm.id).map((a) => a.toFixed(4)).join(' ');
    out[`${arm.id}_final_train_loss`] = rows.reduce((a, r) => a + r.finalTrainLoss, 0) / rows.length;
    out[`${arm.id}_ms_per_step`] = rows.reduce((a, r) => a + r.msPerStep, 0) / rows.length;
  }
  const sentences: string[] = [];
  for (const [family, plain, withGc] of [
    ['SGD-momentum', 'sgdm', 'sgdm-gc'],
    ['Adam', 'adam', 'adam-gc'],
  ] as const) {
    const v = gcVerdict(family, accOf(withGc), accOf(plain));
    out[`${plain}_gc_diff_mean`] = v.diff.mean;
    out[`${plain}_gc_diff_ci95`] = v.diff.halfWidth;
    out[`${plain}_gc_effect`] = v.effect;
    sentences.push(v.sentence);
  }
  out.verdict = sentences.join(' ');
  return out;
}

function report(runRecord: RunRecord, store: RunStore): string {
  const m = store.finalMetrics(runRecord.id);
  const cfg = runRecord.config as unknown as GcAblationConfig;
  const pct = (v: unknown) => `${(100 * Number(v)).toFixed(2)}%`;
  const table = htmlTable({
    columns: ['optimizer', 'GC', 'test accuracy (mean ± 95% CI)', 'per seed', 'final train loss', 'ms per step'],
    rows: GC_ABLATION_ARMS.map((arm) => [
      arm.family,
      arm.gc ? (arm.family === 'Adam' ? `${cfg.gc === 'all' ? 'GC' : 'GCC'}${cfg.adamCentralize === 'update' ? '2 (update)' : ' (gradient)'}` : cfg.gc === 'all' ? 'GC' : 'GCC') : 'off',
      `${pct(m[`${arm.id}_acc_mean`])} ± ${(100 * Number(m[`${arm.id}_acc_ci95`])).toFixed(2)}`,
      String(m[`${arm.id}_acc_per_seed`] ?? ''),
      Number(m[`${arm.id}_final_train_loss`]),
      Number(m[`${arm.id}_ms_per_step`]),
    ]),
    caption: `${m.dataset_note}: ${m.train_size} training / ${m.test_size} test images, ${m.seeds} seeds per arm, ${cfg.epochs} epochs of batch ${cfg.batchSize}, ${cfg.schedule} learning rate.`,
  });
  const diffs = htmlTable({
    columns: ['optimizer', 'GC − no GC (accuracy points, paired by seed)', 'effect'],
    rows: (['sgdm', 'adam'] as const).map((id) => [
      id === 'sgdm' ? 'SGD-momentum' : 'Adam',
      `${(100 * Number(m[`${id}_gc_diff_mean`])).toFixed(2)} ± ${(100 * Number(m[`${id}_gc_diff_ci95`])).toFixed(2)}`,
      String(m[`${id}_gc_effect`] ?? ''),
    ]),
  });
  // Mean training-loss curve over seeds, per arm.
  const series = GC_ABLATION_ARMS.map((arm) => {
    const bySteps = new Map<number, number[]>();
    for (let k = 0; k < cfg.seeds; k++) {
      for (const p of store.metrics(runRecord.id, `train_loss/${arm.id}/seed${k}`)) {
        const list = bySteps.get(p.step) ?? [];
        list.push(p.value);
        bySteps.set(p.step, list);
      }
    }
    const points = [...bySteps].sort((a, b) => a[0] - b[0]).map(([s, v]) => [s, v.reduce((a, b) => a + b, 0) / v.length] as [number, number]);
    return { name: `${arm.family}${arm.gc ? ' + GC' : ''}`, points, dashed: !arm.gc };
  });
  const chart = lineChartSvg({ title: `Training loss (mean over ${cfg.seeds} seeds, window of ${cfg.logEvery} steps)`, xLabel: 'step', yLabel: 'cross-entropy', series, logY: true });
  return `${table}${diffs}<details><summary>Verdict. The sentences in full, with their intervals</summary><p class="verdict">${escapeHtml(String(m.verdict ?? ''))}</p></details><div class="charts">${chart}</div>`;
}

export const gcAblation: Experiment<GcAblationConfig> = {
  name: 'gc-ablation',
  title: 'Gradient Centralization: SGD-momentum and Adam with and without GC',
  paper: 'Yong, Huang, Hua and Zhang, "Gradient Centralization: A New Optimization Technique for Deep Neural Networks", ECCV 2020.',
  claim:
    'Centralising each kernel gradient per output unit (GC) improves test accuracy; here tested on a small conv net with batch norm on Fashion-MNIST, with SGD-momentum and Adam, over several seeds.',
  schema: schema as unknown as z.ZodType<GcAblationConfig>,
  presets: {
    quick: { seeds: 3, trainSize: 1024, testSize: 1000, epochs: 2, batchSize: 64, filters: [8, 16], hidden: 32, logEvery: 4 },
    full: { seeds: 5, trainSize: 6400, testSize: 0, epochs: 3, batchSize: 128, logEvery: 5 },
  },
  fullPreset:
    'trains 5 paired seeds × 4 arms (SGD-momentum and Adam, each with and without GC) on 6,400 Fashion-MNIST images for 3 epochs and tests on all 10,000: 3,000 steps, about 15 min on an idle 2-core machine (43–55 min on a loaded one). Its last run here found no gain: SGD-M −0.29 points (95% CI −0.74 to +0.15), Adam −0.35 (−0.62 to −0.08).',
  run,
  report,
};

registerExperiment(gcAblation);
