/**
 * Training the embedding, as RFS does and as its baseline does:
 * - {@link trainClassifier}: the base classes as one ordinary classification
 *   problem (RFS `train_supervised.py`): SGD with momentum 0.9, weight decay
 *   5e-4, learning rate 0.05 decayed ×0.1 at 60% and 80% of the epochs
 *   (RFS: epochs 60 and 80 of 100), random-crop augmentation; with a teacher it
 *   is RFS-distill's born-again step (`train_distillation.py`):
 *   0.5·CE + 0.5·KL(softmax(t/T) ‖ softmax(s/T))·T², T = 4.
 * - {@link trainProtoNet}: Prototypical Networks (Snell et al., 2017) trained
 *   by episodes on the same backbone, the meta-learning baseline RFS compares to.
 * - {@link embedDataset}: the frozen network's features (or logits) of every image.
 */
import { EpisodeSampler, shuffledBatches, type ImageDataset } from '../data/core.js';
import { createRng, tf, type Rng } from '../engine/core.js';
import { check } from '../errors.js';
import { featureExtractor } from '../nn/backbones.js';
import { DropBlock } from '../nn/dropblock.js';
import type { FeatureMatrix } from './features.js';

/** Training-time augmentation (RFS "transform A/D"): pad, random crop back, optional colour jitter and horizontal flip. */
export interface AugmentOptions {
  /** Zero padding on each side before the random crop; default 2 (RFS: 8 at 84 px, 4 at 32 px). */
  padding?: number;
  /** Random horizontal flips; default false (glyph classes are not mirror-symmetric; RFS flips natural images). */
  flip?: boolean;
  /**
   * Colour jitter strength s (RFS: 0.4): brightness, contrast and saturation
   * factors each drawn from U[1 − s, 1 + s] per image and applied in that order
   * (torchvision's `ColorJitter` applies them in a random order); saturation
   * only on 3-channel images. Default 0 (off), which draws nothing.
   */
  jitter?: number;
}

/** The random draws of one augmented batch: crop boxes, flips and jitter factors per image. */
interface AugmentDraws {
  boxes: number[];
  flips: number[];
  jitter: number[];
}

function drawAugment(n: number, h: number, w: number, rng: Rng, options: AugmentOptions): AugmentDraws {
  const { padding = 2, flip = false, jitter = 0 } = options;
  check(Number.isInteger(padding) && padding >= 0, 'padding', padding, 'a non-negative integer');
  check(typeof jitter === 'number' && jitter >= 0 && jitter < 1, 'jitter', jitter, 'a number in [0, 1)');
  const boxes: number[] = [];
  const flips: number[] = [];
  const factors: number[] = [];
  for (let i = 0; i < n; i++) {
    const oy = rng.int(2 * padding + 1);
    const ox = rng.int(2 * padding + 1);
    const hp = h + 2 * padding - 1;
    const wp = w + 2 * padding - 1;
    // Box corners on pixel centres, so the bilinear crop copies pixels exactly.
    boxes.push(oy / hp, ox / wp, (oy + h - 1) / hp, (ox + w - 1) / wp);
    flips.push(flip && rng.next() < 0.5 ? 1 : 0);
    if (jitter > 0) factors.push(rng.uniform(1 - jitter, 1 + jitter), rng.uniform(1 - jitter, 1 + jitter), rng.uniform(1 - jitter, 1 + jitter));
  }
  return { boxes, flips, jitter: factors };
}

/**
 * Advances `rng` exactly as {@link augmentImages} on `n` images of `h`×`w`
 * would, without touching tensors (a resumed run replays the epochs it skips).
 */
export function skipAugmentDraws(n: number, h: number, w: number, rng: Rng, options: AugmentOptions = {}): void {
  drawAugment(n, h, w, rng, options);
}

/** Randomly shifts (pad + crop), optionally colour-jitters and flips each image of `x` [n, h, w, c]; draws from `rng` per image. */
export function augmentImages(x: tf.Tensor4D, rng: Rng, options: AugmentOptions = {}): tf.Tensor4D {
  const { padding = 2, flip = false, jitter = 0 } = options;
  const [n, h, w, c] = x.shape;
  const draws = drawAugment(n, h, w, rng, options);
  return tf.tidy(() => {
    const padded = padding > 0 ? tf.pad(x, [[0, 0], [padding, padding], [padding, padding], [0, 0]]) : x;
    let out: tf.Tensor4D = padding > 0 ? tf.image.cropAndResize(padded, tf.tensor2d(draws.boxes, [n, 4]), tf.range(0, n, 1, 'int32') as tf.Tensor1D, [h, w], 'bilinear') : x.clone();
    if (jitter > 0) {
      const f = tf.tensor2d(draws.jitter, [n, 3]);
      const factor = (k: number) => tf.reshape(tf.slice(f, [0, k], [n, 1]), [n, 1, 1, 1]);
      const gray = (t: tf.Tensor4D): tf.Tensor4D => (c === 3 ? (tf.sum(tf.mul(t, tf.tensor1d([0.299, 0.587, 0.114])), 3, true) as tf.Tensor4D) : t);
      const blend = (t: tf.Tensor4D, other: tf.Tensor, k: number): tf.Tensor4D => tf.clipByValue(tf.add(tf.mul(factor(k), t), tf.mul(tf.sub(1, factor(k)), other)), 0, 1) as tf.Tensor4D;
      out = tf.clipByValue(tf.mul(out, factor(0)), 0, 1) as tf.Tensor4D;
      out = blend(out, tf.mean(gray(out), [1, 2, 3], true), 1);
      if (c === 3) out = blend(out, gray(out), 2);
    }
    if (flip) {
      const mask = tf.tensor4d(draws.flips, [n, 1, 1, 1]);
      out = tf.add(tf.mul(mask, tf.reverse(out, 2)), tf.mul(tf.sub(1, mask), out));
    }
    return out;
  });
}

/** Options of {@link trainClassifier}. Defaults are RFS's miniImageNet recipe except the epochs. */
export interface ClassifierTrainOptions {
  /** Default 100 (RFS). */
  epochs?: number;
  /** Default 64. */
  batchSize?: number;
  /** Default 0.05. */
  learningRate?: number;
  /** Default 0.9. */
  momentum?: number;
  /** L2 weight decay on every trainable weight (PyTorch-style, added to the gradient); default 5e-4. */
  weightDecay?: number;
  /** Epoch fractions where the learning rate is multiplied by `decayRate`; default [0.6, 0.8] (RFS: epochs 60 and 80 of 100). */
  decayAt?: number[];
  /** Default 0.1. */
  decayRate?: number;
  /** Augmentation of each batch; `false` for none. Default random crop with padding 2. */
  augment?: AugmentOptions | false;
  seed: number;
  /** RFS-distill: a frozen teacher and the loss weights. */
  teacher?: { model: tf.LayersModel; temperature?: number; ceWeight?: number; klWeight?: number };
  /** Images scored after every epoch by {@link classBalancedAccuracy} (labels in the model's classes); default none. */
  validation?: ImageDataset;
  onEpoch?: (epoch: number, loss: number, learningRate: number) => void;
}

/** Learning rate of `epoch` (0-based) under the step schedule. */
export function stepLearningRate(epoch: number, epochs: number, base: number, decayAt: number[], rate: number): number {
  let lr = base;
  for (const f of decayAt) if (epoch >= Math.round(f * epochs)) lr *= rate;
  return lr;
}

/** One finished epoch of a {@link ClassifierTrainer}. */
export interface ClassifierEpoch {
  /** 0-based. */
  epoch: number;
  /** Mean training loss over the epoch's batches. */
  loss: number;
  learningRate: number;
  /** Class-balanced accuracy on `validation` (NaN without it). */
  valAccuracy: number;
}

/**
 * The mean over classes of each class's accuracy (balanced accuracy): the
 * model's arg-max logits (inference mode) on `data`, so a class with many
 * images counts no more than one with few. Classes absent from `data` are left out.
 */
export function classBalancedAccuracy(model: tf.LayersModel, data: ImageDataset, batchSize = 256): number {
  const n = data.labels.length;
  check(n > 0, 'data', data.name, 'at least one image');
  const [h, w, c] = data.shape;
  const per = h * w * c;
  const correct = new Map<number, number>();
  const total = new Map<number, number>();
  for (let s = 0; s < n; s += batchSize) {
    const count = Math.min(batchSize, n - s);
    const pred = tf.tidy(() => tf.argMax(model.predict(tf.tensor4d(data.images.subarray(s * per, (s + count) * per), [count, h, w, c])) as tf.Tensor2D, 1));
    const p = pred.dataSync();
    pred.dispose();
    for (let k = 0; k < count; k++) {
      const y = data.labels[s + k] as number;
      total.set(y, (total.get(y) ?? 0) + 1);
      if (p[k] === y) correct.set(y, (correct.get(y) ?? 0) + 1);
    }
  }
  let sum = 0;
  for (const [y, t] of total) sum += (correct.get(y) ?? 0) / t;
  return sum / total.size;
}

/**
 * RFS pretraining (or, with `teacher`, one RFS-distill generation) one epoch
 * at a time, so a caller can checkpoint between epochs and resume: restore
 * the model's weights and {@link optimizer}'s state (e.g. `saveOptimizerState`),
 * then {@link skipEpochs} replays the random stream (batch order, augmentation,
 * DropBlock masks) of the epochs already done, and the run continues to the
 * same weights as an uninterrupted one. {@link trainClassifier} is this loop
 * run to the end.
 */
export class ClassifierTrainer {
  /** The SGD-with-momentum optimizer; its state is what a checkpoint saves beside the weights. */
  readonly optimizer: tf.MomentumOptimizer;
  readonly epochs: number;
  /** Epochs done so far. */
  epoch = 0;
  private readonly rng: Rng;
  private readonly x: tf.Tensor4D;
  private readonly y: tf.Tensor1D;
  private readonly vars: tf.Variable[];
  private readonly classes: number;
  private readonly settings: Required<Omit<ClassifierTrainOptions, 'teacher' | 'onEpoch' | 'validation' | 'seed'>>;

  constructor(
    readonly model: tf.LayersModel,
    readonly data: ImageDataset,
    readonly options: ClassifierTrainOptions,
  ) {
    check(options !== null && typeof options === 'object', 'options', options, '{ seed, epochs?, … }');
    const { epochs = 100, batchSize = 64, learningRate = 0.05, momentum = 0.9, weightDecay = 5e-4, decayAt = [0.6, 0.8], decayRate = 0.1, augment = {}, seed } = options;
    check(Number.isInteger(epochs) && epochs >= 1, 'epochs', epochs, 'a positive integer');
    check(Number.isInteger(batchSize) && batchSize >= 1, 'batchSize', batchSize, 'a positive integer');
    check(learningRate > 0 && momentum >= 0 && momentum < 1 && weightDecay >= 0, 'learningRate, momentum, weightDecay', [learningRate, momentum, weightDecay], 'lr > 0, momentum in [0, 1), decay ≥ 0');
    this.classes = (model.outputs[0]?.shape[1] ?? 0) as number;
    check(this.classes >= Math.max(...data.labels) + 1, 'data', `labels up to ${Math.max(...data.labels)}`, `labels below the model's ${this.classes} outputs`);
    this.settings = { epochs, batchSize, learningRate, momentum, weightDecay, decayAt, decayRate, augment };
    this.epochs = epochs;
    this.rng = createRng(seed);
    const n = data.labels.length;
    const [h, w, c] = data.shape;
    this.x = tf.tensor4d(data.images, [n, h, w, c]);
    this.y = tf.tensor1d(data.labels, 'int32');
    this.optimizer = tf.train.momentum(learningRate, momentum);
    this.vars = model.trainableWeights.map((v) => v.read() as tf.Variable);
  }

  /** Batches of one epoch: the shuffle is one draw from the run's stream. */
  private batches(): Int32Array[] {
    return shuffledBatches(this.data.labels.length, this.settings.batchSize, this.rng.seedInt());
  }

  /**
   * Advances the random stream past `count` epochs without training (see the
   * class comment): the model and optimizer must already hold the state saved
   * after those epochs.
   */
  skipEpochs(count: number): void {
    check(Number.isInteger(count) && count >= 0 && this.epoch + count <= this.epochs, 'count', count, `an integer in [0, ${this.epochs - this.epoch}] (epochs left)`);
    const [h, w] = this.data.shape;
    const { augment } = this.settings;
    let calls = 0;
    for (let e = 0; e < count; e++) {
      for (const batch of this.batches()) {
        if (augment !== false) skipAugmentDraws(batch.length, h, w, this.rng, augment);
        calls++;
      }
      this.epoch++;
    }
    for (const layer of this.model.layers) if (layer instanceof DropBlock) layer.fastForward(calls);
  }

  /** Trains the next epoch and scores `validation` when given. */
  runEpoch(): ClassifierEpoch {
    check(this.epoch < this.epochs, 'epoch', this.epoch, `fewer than the ${this.epochs} epochs of this run`);
    const { epochs, learningRate, decayAt, decayRate, augment, weightDecay } = this.settings;
    const teacher = this.options.teacher;
    const T = teacher?.temperature ?? 4;
    const ceWeight = teacher?.ceWeight ?? 0.5;
    const klWeight = teacher?.klWeight ?? 0.5;
    const epoch = this.epoch;
    const lr = stepLearningRate(epoch, epochs, learningRate, decayAt, decayRate);
    this.optimizer.setLearningRate(lr);
    let sum = 0;
    const batches = this.batches();
    for (const batch of batches) {
      const idx = tf.tensor1d(batch, 'int32');
      const xb0 = tf.gather(this.x, idx) as tf.Tensor4D;
      const xb = augment === false ? xb0 : augmentImages(xb0, this.rng, augment);
      const yb = tf.tidy(() => tf.oneHot(tf.gather(this.y, idx), this.classes));
      const target = teacher ? tf.tidy(() => tf.softmax(tf.div(teacher.model.predict(xb) as tf.Tensor2D, T))) : undefined;
      const { value: loss, grads } = tf.variableGrads(() => {
        const logits = this.model.apply(xb, { training: true }) as tf.Tensor2D;
        let l = tf.losses.softmaxCrossEntropy(yb, logits) as tf.Scalar;
        if (target) {
          // KL(p_t ‖ p_s) summed over classes, averaged over the batch, × T² (Hinton et al.; RFS DistillKL).
          const logPs = tf.logSoftmax(tf.div(logits, T));
          const kl = tf.mean(tf.sum(tf.mul(target, tf.sub(tf.log(tf.add(target, 1e-12)), logPs)), 1));
          l = tf.add(tf.mul(ceWeight, l), tf.mul(klWeight * T * T, kl));
        }
        return l;
      }, this.vars);
      // PyTorch's coupled decay: g + λw on the gradient (two passes per weight), not λ/2·Σw² in the loss
      // (five more passes and a kernel per weight each step); the reported loss is the task loss, as RFS prints it.
      const registered = tf.engine().registeredVariables;
      const stepGrads: tf.NamedTensorMap = weightDecay > 0 ? tf.tidy(() => Object.fromEntries(Object.entries(grads).map(([name, g]) => [name, tf.add(g, tf.mul(registered[name] as tf.Variable, weightDecay))]))) : grads;
      this.optimizer.applyGradients(stepGrads as unknown as Parameters<tf.MomentumOptimizer['applyGradients']>[0]);
      tf.dispose(Object.values(grads));
      if (stepGrads !== grads) tf.dispose(Object.values(stepGrads));
      sum += loss.dataSync()[0] as number;
      tf.dispose([idx, xb0, xb, yb, loss, ...(target ? [target] : [])]);
    }
    this.epoch++;
    const valAccuracy = this.options.validation ? classBalancedAccuracy(this.model, this.options.validation) : NaN;
    const result = { epoch, loss: sum / batches.length, learningRate: lr, valAccuracy };
    this.options.onEpoch?.(epoch, result.loss, lr);
    return result;
  }

  /** Frees the data tensors and the optimizer (not the model or the teacher). */
  dispose(): void {
    tf.dispose([this.x, this.y]);
    this.optimizer.dispose();
    // tfjs's MomentumOptimizer.dispose() forgets its parent's learning-rate scalar `c`.
    (this.optimizer as unknown as { c?: tf.Tensor }).c?.dispose();
  }
}

/**
 * Trains `model` (input → logits over `data.numClasses`, labels 0…numClasses−1)
 * by SGD with momentum on `data` as one classification problem; with `teacher`,
 * by the RFS-distill loss γ·CE + α·KL·T². Returns the mean loss of each epoch.
 * {@link ClassifierTrainer} runs the same loop an epoch at a time (checkpoints, resume).
 */
export function trainClassifier(model: tf.LayersModel, data: ImageDataset, options: ClassifierTrainOptions): number[] {
  const trainer = new ClassifierTrainer(model, data, options);
  const losses: number[] = [];
  try {
    while (trainer.epoch < trainer.epochs) losses.push(trainer.runEpoch().loss);
  } finally {
    trainer.dispose();
  }
  return losses;
}

/** Options of {@link trainProtoNet}. */
export interface ProtoNetTrainOptions {
  /** Training episodes; default 2000. */
  episodes?: number;
  /** Classes per training episode; default 5 (Snell et al. train with more ways; 5 matches the test). */
  ways?: number;
  shots?: number;
  /** Queries per class; default 15. */
  queries?: number;
  /** Adam learning rate; default 1e-3, halved every `halveEvery` episodes (default 2000, ProtoNet's schedule). */
  learningRate?: number;
  halveEvery?: number;
  augment?: AugmentOptions | false;
  seed: number;
  onEpisode?: (episode: number, loss: number) => void;
}

/**
 * Trains `model`'s embedding (its `features` layer) as a Prototypical Network:
 * per episode, class prototypes are the mean support embeddings and queries are
 * classified by softmax over −squared Euclidean distance. The `logits` head is
 * not used. Returns the loss of each episode.
 */
export function trainProtoNet(model: tf.LayersModel, data: ImageDataset, options: ProtoNetTrainOptions): number[] {
  check(options !== null && typeof options === 'object', 'options', options, '{ seed, episodes?, … }');
  const { episodes = 2000, ways = 5, shots = 5, queries = 15, learningRate = 1e-3, halveEvery = 2000, augment = {}, seed } = options;
  check(Number.isInteger(episodes) && episodes >= 1, 'episodes', episodes, 'a positive integer');
  const embed = featureExtractor(model);
  const rng = createRng(seed);
  const sampler = new EpisodeSampler(data.labels, { ways, shots, queries, seed: rng.seedInt() });
  const [h, w, c] = data.shape;
  const x = tf.tensor4d(data.images, [data.labels.length, h, w, c]);
  const vars = embed.trainableWeights.map((v) => v.read() as tf.Variable);
  const optimizer = tf.train.adam(learningRate);
  const losses: number[] = [];
  try {
    for (let e = 0; e < episodes; e++) {
      (optimizer as unknown as { learningRate: number }).learningRate = learningRate * 0.5 ** Math.floor(e / halveEvery);
      const ep = sampler.next();
      const all = Int32Array.from([...ep.supportIdx, ...ep.queryIdx]);
      const idx = tf.tensor1d(all, 'int32');
      const xb0 = tf.gather(x, idx) as tf.Tensor4D;
      const xb = augment === false ? xb0 : augmentImages(xb0, rng, augment);
      // Support rows are class-major (shots per class), so the prototype of class j averages rows j·shots…(j+1)·shots−1.
      const yq = tf.tidy(() => tf.oneHot(tf.tensor1d(ep.queryLabels, 'int32'), ways));
      const loss = optimizer.minimize(
        () => {
          const z = embed.apply(xb, { training: true }) as tf.Tensor2D;
          const d = z.shape[1];
          const protos = tf.mean(tf.reshape(tf.slice(z, [0, 0], [ways * shots, d]), [ways, shots, d]), 1);
          const q = tf.slice(z, [ways * shots, 0], [ways * queries, d]);
          const dist = tf.sub(tf.add(tf.sum(tf.square(q), 1, true), tf.transpose(tf.sum(tf.square(protos), 1, true))), tf.mul(2, tf.matMul(q, protos, false, true)));
          return tf.losses.softmaxCrossEntropy(yq, tf.neg(dist)) as tf.Scalar;
        },
        true,
        vars,
      ) as tf.Scalar;
      const v = loss.dataSync()[0] as number;
      losses.push(v);
      options.onEpisode?.(e, v);
      tf.dispose([idx, xb0, xb, yq, loss]);
    }
  } finally {
    tf.dispose(x);
    optimizer.dispose();
  }
  return losses;
}

/** Options of {@link embedDataset}. */
export interface EmbedOptions {
  /** `features` (pooled embedding, default) or `logits` (RFS's `use_logit`). */
  output?: 'features' | 'logits';
  /** Default 256. */
  batchSize?: number;
  /** Embed augmented copies instead (support augmentation): needs `rng`. */
  augment?: AugmentOptions;
  rng?: Rng;
}

/** The frozen model's embedding (inference mode) of the images at `indices` (default all) of `data`. */
export function embedDataset(model: tf.LayersModel, data: ImageDataset, indices?: ArrayLike<number>, options: EmbedOptions = {}): FeatureMatrix {
  const { output = 'features', batchSize = 256, augment, rng } = options;
  check(output === 'features' || output === 'logits', 'output', output, "'features' or 'logits'");
  check(augment === undefined || rng !== undefined, 'rng', rng, 'a seeded Rng when augment is set');
  const net = output === 'features' ? featureExtractor(model) : model;
  const idx = indices === undefined ? Int32Array.from({ length: data.labels.length }, (_, i) => i) : Int32Array.from(indices);
  const [h, w, c] = data.shape;
  const per = h * w * c;
  const cols = net.outputs[0]?.shape[1] as number;
  const out = new Float64Array(idx.length * cols);
  for (let start = 0; start < idx.length; start += batchSize) {
    const count = Math.min(batchSize, idx.length - start);
    const batch = new Float32Array(count * per);
    for (let k = 0; k < count; k++) {
      const i = idx[start + k] as number;
      check(Number.isInteger(i) && i >= 0 && i < data.labels.length, 'indices', i, `indices in [0, ${data.labels.length - 1}]`);
      batch.set(data.images.subarray(i * per, (i + 1) * per), k * per);
    }
    const z = tf.tidy(() => {
      const xb = tf.tensor4d(batch, [count, h, w, c]);
      const xa = augment ? augmentImages(xb, rng as Rng, augment) : xb;
      return net.predict(xa) as tf.Tensor2D;
    });
    out.set(z.dataSync(), start * cols);
    z.dispose();
  }
  return { data: out, rows: idx.length, cols };
}
