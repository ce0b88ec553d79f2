/**
 * Training loop for embedding models in the reality-check protocol: batches
 * from a sampler (e.g. `MPerClassSampler`, m per class), an optional miner, a
 * metric loss, MAP@R on a class-disjoint validation split with L2-normalised
 * embeddings, and early stopping that restores the best weights.
 */
import { tf } from '../engine/core.js';
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

/** What a {@link MetricTrainer} knows besides weights: enough to resume it. */
export interface MetricTrainerState {
  /** Epochs done. */
  epoch: number;
  history: TrainEpoch[];
  bestEpoch: number;
  bestValMapAtR: number;
  sinceBest: number;
  /** True once patience ran out. */
  stopped: boolean;
}

/**
 * The loop of {@link trainMetricModel} one epoch at a time, so a caller can
 * checkpoint between epochs and resume: restore the model's and the loss's
 * weights, both optimizers' state and the best weights ({@link restore}), and
 * the sampler's stream is replayed past the epochs already done.
 */
export class MetricTrainer {
  readonly maxEpochs: number;
  readonly evalEvery: number;
  readonly patience: number;
  private readonly trainLabels: Int32Array;
  private readonly valLabels: Int32Array;
  private readonly modelVars: tf.Variable[];
  private readonly lossVars: tf.Variable[];
  private readonly lossOptimizer: tf.Optimizer;
  private bestWeights: tf.Tensor[] = [];
  private s: MetricTrainerState = { epoch: 0, history: [], bestEpoch: 0, bestValMapAtR: -Infinity, sinceBest: 0, stopped: false };

  constructor(readonly options: TrainMetricOptions) {
    const { model, loss, trainX, valX } = options;
    check(loss instanceof MetricLoss, 'loss', loss, 'a MetricLoss');
    this.lossOptimizer = options.lossOptimizer ?? options.optimizer;
    this.trainLabels = toLabelArray(options.trainLabels, trainX.shape[0] as number, 'trainLabels', 'trainX');
    this.valLabels = toLabelArray(options.valLabels, valX.shape[0] as number, 'valLabels', 'valX');
    this.maxEpochs = options.maxEpochs ?? 100;
    this.evalEvery = options.evalEvery ?? 1;
    this.patience = options.patience ?? 5;
    for (const [name, v] of [
      ['maxEpochs', this.maxEpochs],
      ['evalEvery', this.evalEvery],
      ['patience', this.patience],
    ] as const) {
      check(Number.isInteger(v) && v >= 1, name, v, 'a positive integer');
    }
    this.modelVars = model.trainableWeights.map((w) => w.read() as tf.Variable);
    this.lossVars = loss.trainableWeights;
    this.snapshot();
  }

  /** Epochs done, best evaluation so far, whether patience ran out. */
  get state(): MetricTrainerState {
    return { ...this.s, history: [...this.s.history] };
  }

  /** True when training is over: patience ran out or `maxEpochs` were done. */
  get done(): boolean {
    return this.s.stopped || this.s.epoch >= this.maxEpochs;
  }

  /** The best evaluation's weights: the model's trainable weights, then the loss's (the trainer owns them). */
  get best(): readonly tf.Tensor[] {
    return this.bestWeights;
  }

  private snapshot(): void {
    tf.dispose(this.bestWeights);
    this.bestWeights = [...this.modelVars, ...this.lossVars].map((v) => tf.clone(v));
  }

  /**
   * Resumes from a checkpoint: `state` as {@link state} returned it and the
   * best weights in {@link best}'s order (copied); the current weights and the
   * optimizers' state are the caller's to restore. Replays the sampler past
   * the epochs done.
   */
  restore(state: MetricTrainerState, best: readonly tf.Tensor[]): void {
    check(this.s.epoch === 0, 'state', state, 'a restore before the first epoch');
    const vars = [...this.modelVars, ...this.lossVars];
    check(best.length === vars.length && best.every((t, k) => t.size === (vars[k] as tf.Variable).size), 'best', `${best.length} tensors`, `${vars.length} tensors shaped as the model's and the loss's trainable weights`);
    for (let e = 0; e < state.epoch; e++) for (const _ of this.options.sampler.batches());
    tf.dispose(this.bestWeights);
    this.bestWeights = best.map((t, k) => tf.reshape(t, (vars[k] as tf.Variable).shape).clone());
    this.s = { ...state, history: [...state.history] };
  }

  /** Trains one epoch, evaluates when due, and updates the best weights and the patience count. */
  runEpoch(): TrainEpoch {
    check(!this.done, 'epoch', this.s.epoch, `a trainer that has not finished (max ${this.maxEpochs} epochs, patience ${this.patience})`);
    const { model, loss, optimizer, miner, trainX, sampler, valX } = this.options;
    const epoch = this.s.epoch + 1;
    let total = 0;
    let steps = 0;
    for (const batch of sampler.batches()) {
      const labels = Int32Array.from(batch, (i) => this.trainLabels[i] as number);
      const xb = tf.tidy(() => tf.gather(trainX, tf.tensor1d(batch, 'int32')));
      const { value, grads } = tf.variableGrads(() => {
        const emb = model.apply(xb, { training: true }) as tf.Tensor2D;
        const tuple = miner?.mine(emb, labels);
        return loss.compute(emb, labels, tuple);
      }, [...this.modelVars, ...this.lossVars]);
      const modelGrads: tf.NamedTensorMap = {};
      const lossGrads: tf.NamedTensorMap = {};
      for (const v of this.modelVars) if (grads[v.name]) modelGrads[v.name] = grads[v.name] as tf.Tensor;
      for (const v of this.lossVars) if (grads[v.name]) lossGrads[v.name] = grads[v.name] as tf.Tensor;
      optimizer.applyGradients(modelGrads);
      if (Object.keys(lossGrads).length > 0) this.lossOptimizer.applyGradients(lossGrads);
      total += value.dataSync()[0] as number;
      steps++;
      tf.dispose([xb, value, ...Object.values(grads)]);
    }
    const evaluated = epoch % this.evalEvery === 0 || epoch === this.maxEpochs;
    const valMapAtR = evaluated ? validationMapAtR(model, valX, this.valLabels, this.options.evalBatchSize) : NaN;
    const record = { epoch, loss: steps > 0 ? total / steps : NaN, valMapAtR };
    this.s.epoch = epoch;
    this.s.history.push(record);
    this.options.onEpoch?.(record);
    if (evaluated) {
      if (valMapAtR > this.s.bestValMapAtR) {
        this.s.bestValMapAtR = valMapAtR;
        this.s.bestEpoch = epoch;
        this.s.sinceBest = 0;
        this.snapshot();
      } else if (++this.s.sinceBest >= this.patience) {
        this.s.stopped = true;
      }
    }
    return record;
  }

  /** Sets the model's and the loss's weights to the best evaluation's and returns the summary. */
  finish(): TrainMetricResult {
    [...this.modelVars, ...this.lossVars].forEach((v, k) => v.assign(this.bestWeights[k] as tf.Tensor));
    return { history: [...this.s.history], bestEpoch: this.s.bestEpoch, bestValMapAtR: this.s.bestValMapAtR, stoppedEarly: this.s.stopped && this.s.epoch < this.maxEpochs };
  }

  /** Frees the best-weight copies (not the model, loss or optimizers). */
  dispose(): void {
    tf.dispose(this.bestWeights);
    this.bestWeights = [];
  }
}

/**
 * Trains `model` with a metric loss: per iteration a sampler batch is embedded
 * (training mode), optionally mined, and both the model's and the loss's weights
 * step on the loss gradient (each with its optimizer). Every `evalEvery`
 * epochs the validation MAP@R is measured; the best weights are kept and
 * restored at the end, and training stops after `patience` evaluations without
 * improvement. {@link MetricTrainer} runs the same loop an epoch at a time.
 */
export function trainMetricModel(options: TrainMetricOptions): TrainMetricResult {
  const trainer = new MetricTrainer(options);
  try {
    while (!trainer.done) trainer.runEpoch();
    return trainer.finish();
  } finally {
    trainer.dispose();
  }
}
