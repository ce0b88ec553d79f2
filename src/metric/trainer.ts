/**
 * Training loop for embedding models in the reality-check protocol: batches
 * from a sampler (e.g. `MPerClassSampler`, m per class), an optional miner, a
 * metric loss, MAP@R on a class-disjoint validation split with L2-normalised
 * embeddings, and early stopping that restores the best weights.
 */
import { tf } from '../engine/index.js';
import { check } from '../errors.js';
import { accuracy } from './accuracy.js';
import { l2Normalize } from './distances.js';
import { toLabelArray, type LabelsInput } from './inputs.js';
import { MetricLoss } from './loss-base.js';
import type { Miner } from './miners.js';

/** Anything that yields index batches, one pass per call (`MPerClassSampler`, `BatchSampler`). */
export interface IndexBatchSource {
  batches(): Iterable<Int32Array>;
}

/** One evaluation of {@link trainMetricModel}. */
export interface TrainEpoch {
  epoch: number;
  /** Mean training loss over the epoch's iterations. */
  loss: number;
  /** Validation MAP@R (NaN when this epoch was not evaluated). */
  valMapAtR: number;
}

/** Options of {@link trainMetricModel}. */
export interface TrainMetricOptions {
  /** The embedding model: input batch → `[B, D]` embeddings. */
  model: tf.LayersModel;
  loss: MetricLoss;
  /** Optimizer of the model's weights. */
  optimizer: tf.Optimizer;
  /** Optimizer of the loss's own weights (proxies, class weights, β); default `optimizer`. */
  lossOptimizer?: tf.Optimizer;
  /** Miner whose tuples the loss takes; default none (every valid tuple). */
  miner?: Miner;
  /** Training inputs `[N, …]` and their labels. */
  trainX: tf.Tensor;
  trainLabels: LabelsInput;
  /** Yields index batches into `trainX`; one call of `batches()` is one epoch. */
  sampler: IndexBatchSource;
  /** Validation inputs and labels (classes disjoint from training, as in the protocol). */
  valX: tf.Tensor;
  valLabels: LabelsInput;
  /** Upper bound on epochs; default 100. */
  maxEpochs?: number;
  /** Evaluate every this many epochs; default 1. */
  evalEvery?: number;
  /** Stop after this many evaluations without a better validation MAP@R; default 5. */
  patience?: number;
  /** Batch size for embedding the validation set; default 256. */
  evalBatchSize?: number;
  /** Called after each epoch. */
  onEpoch?: (e: TrainEpoch) => void;
}

/** What {@link trainMetricModel} returns. The model (and loss weights) hold the best evaluation's weights. */
export interface TrainMetricResult {
  history: TrainEpoch[];
  bestEpoch: number;
  bestValMapAtR: number;
  /** True when patience ran out before `maxEpochs`. */
  stoppedEarly: boolean;
}

/** Embeds `x` in batches with `model` (inference mode) and L2-normalises the rows. */
export function embed(model: tf.LayersModel, x: tf.Tensor, batchSize = 256): tf.Tensor2D {
  check(Number.isInteger(batchSize) && batchSize > 0, 'batchSize', batchSize, 'a positive integer');
  const n = x.shape[0] as number;
  const parts: tf.Tensor2D[] = [];
  for (let s = 0; s < n; s += batchSize) {
    parts.push(tf.tidy(() => l2Normalize(model.predict(tf.slice(x, s, Math.min(batchSize, n - s))) as tf.Tensor2D)));
  }
  const out = tf.concat(parts, 0);
  tf.dispose(parts);
  return out;
}

/** MAP@R of `model` on a labelled set, every item a query against the others (embeddings L2-normalised). */
export function validationMapAtR(model: tf.LayersModel, x: tf.Tensor, labels: LabelsInput, batchSize = 256): number {
  const emb = embed(model, x, batchSize);
  try {
    return accuracy(emb, labels, undefined, undefined, { nmi: false, warn: () => {} }).mean_average_precision_at_r;
  } finally {
    emb.dispose();
  }
}

/**
 * Trains `model` with a metric loss: per iteration a sampler batch is embedded
 * (training mode), optionally mined, and both the model's and the loss's weights
 * step on the loss gradient (each with its optimizer). Every `evalEvery`
 * epochs the validation MAP@R is measured; the best weights are kept and
 * restored at the end, and training stops after `patience` evaluations without
 * improvement.
 */
export function trainMetricModel(options: TrainMetricOptions): TrainMetricResult {
  const { model, loss, optimizer, miner, trainX, sampler, valX } = options;
  check(loss instanceof MetricLoss, 'loss', loss, 'a MetricLoss');
  const lossOptimizer = options.lossOptimizer ?? optimizer;
  const trainLabels = toLabelArray(options.trainLabels, trainX.shape[0] as number, 'trainLabels', 'trainX');
  const valLabels = toLabelArray(options.valLabels, valX.shape[0] as number, 'valLabels', 'valX');
  const maxEpochs = options.maxEpochs ?? 100;
  const evalEvery = options.evalEvery ?? 1;
  const patience = options.patience ?? 5;
  for (const [name, v] of [
    ['maxEpochs', maxEpochs],
    ['evalEvery', evalEvery],
    ['patience', patience],
  ] as const) {
    check(Number.isInteger(v) && v >= 1, name, v, 'a positive integer');
  }
  const modelVars = model.trainableWeights.map((w) => w.read() as tf.Variable);
  const lossVars = loss.trainableWeights;
  const history: TrainEpoch[] = [];
  let best = -Infinity;
  let bestEpoch = 0;
  let bestWeights: tf.Tensor[] | undefined;
  let sinceBest = 0;
  let stoppedEarly = false;

  const snapshot = () => {
    if (bestWeights) tf.dispose(bestWeights);
    bestWeights = [...modelVars, ...lossVars].map((v) => tf.clone(v));
  };
  snapshot();
  try {
    for (let epoch = 1; epoch <= maxEpochs; epoch++) {
      let total = 0;
      let steps = 0;
      for (const batch of sampler.batches()) {
        const labels = Int32Array.from(batch, (i) => trainLabels[i] as number);
        const xb = tf.tidy(() => tf.gather(trainX, tf.tensor1d(batch, 'int32')));
        const { value, grads } = tf.variableGrads(() => {
          const emb = model.apply(xb, { training: true }) as tf.Tensor2D;
          const tuple = miner?.mine(emb, labels);
          return loss.compute(emb, labels, tuple);
        }, [...modelVars, ...lossVars]);
        const modelGrads: tf.NamedTensorMap = {};
        const lossGrads: tf.NamedTensorMap = {};
        for (const v of modelVars) if (grads[v.name]) modelGrads[v.name] = grads[v.name] as tf.Tensor;
        for (const v of lossVars) if (grads[v.name]) lossGrads[v.name] = grads[v.name] as tf.Tensor;
        optimizer.applyGradients(modelGrads);
        if (Object.keys(lossGrads).length > 0) lossOptimizer.applyGradients(lossGrads);
        total += value.dataSync()[0] as number;
        steps++;
        tf.dispose([xb, value, ...Object.values(grads)]);
      }
      const evaluated = epoch % evalEvery === 0 || epoch === maxEpochs;
      const valMapAtR = evaluated ? validationMapAtR(model, valX, valLabels, options.evalBatchSize) : NaN;
      const record = { epoch, loss: steps > 0 ? total / steps : NaN, valMapAtR };
      history.push(record);
      options.onEpoch?.(record);
      if (!evaluated) continue;
      if (valMapAtR > best) {
        best = valMapAtR;
        bestEpoch = epoch;
        sinceBest = 0;
        snapshot();
      } else if (++sinceBest >= patience) {
        stoppedEarly = epoch < maxEpochs;
        break;
      }
    }
    [...modelVars, ...lossVars].forEach((v, k) => v.assign((bestWeights as tf.Tensor[])[k] as tf.Tensor));
  } finally {
    if (bestWeights) tf.dispose(bestWeights);
  }
  return { history, bestEpoch, bestValMapAtR: best, stoppedEarly };
}
