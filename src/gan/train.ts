/**
 * A GAN training loop for tfjs `LayersModel`s: n critic steps per generator
 * step, any {@link GanLoss} with domain scaling, a Lipschitz regulariser
 * (gradient penalty, R1, weight clipping; spectral norm lives in the
 * discriminator's layers), an exponential moving average of the generator's
 * weights, and checkpoints that resume to the same numbers.
 */
import path from 'node:path';
import { createRng, tf } from '../engine/index.js';
import { check, EccvkitInputError } from '../errors.js';
import { loadModel, loadOptimizerState, saveModel, saveOptimizerState } from '../nn/io.js';
import type { GanLoss } from './losses.js';
import { assertSecondOrderGradients, clipWeights, gradientPenalty, r1Penalty, WGAN_CLIP, WGAN_GP_LAMBDA } from './penalties.js';

/** How the critic is regularised besides any spectral norm in its layers. */
export type CriticRegulariser =
  | { kind: 'none' }
  /** + weight·E(‖∇D(x̂)‖ − center)² on random interpolates (WGAN-GP; weight 10, center 1 by default). */
  | { kind: 'gradientPenalty'; weight?: number; center?: number }
  /** + weight·E‖∇D(x_real)‖² (GAN_stability's `reg_param` convention; StyleGAN's γ = 10 is weight 5). */
  | { kind: 'r1'; weight?: number }
  /** Clip every critic weight to [−clip, clip] after each update (clip 0.01 by default). */
  | { kind: 'clip'; clip?: number };

/** Options of {@link GanTrainer}. */
export interface GanTrainerOptions {
  generator: tf.LayersModel;
  discriminator: tf.LayersModel;
  /** A model of the generator's architecture that receives the moving average of its weights (optional). */
  ema?: tf.LayersModel;
  loss: GanLoss;
  regulariser?: CriticRegulariser;
  /** Real images, NHWC, in the generator's output range [−1, 1]. */
  real: tf.Tensor4D;
  /** Default 64. */
  batchSize?: number;
  /** Critic updates per generator update (default 1; WGAN-GP uses 5). */
  criticSteps?: number;
  /**
   * EMA decay per generator step (default 0.999), warmed up as TensorFlow's
   * `ExponentialMovingAverage(decay, num_updates)`: min(decay, (1 + t)/(10 + t))
   * at step t, so short runs average recent weights instead of staying near the initialisation.
   */
  emaDecay?: number;
  /** Default Adam(2e-4, β₁ 0.5, β₂ 0.999) (Radford et al.). */
  generatorOptimizer?: tf.Optimizer;
  discriminatorOptimizer?: tf.Optimizer;
  /** Every batch, latent draw and interpolate of step t comes from (seed, t). Default 0. */
  seed?: number;
}

/** Losses of one generator step (the critic numbers are from its last critic update). */
export interface GanStepLosses {
  discriminator: number;
  generator: number;
  /** The unweighted regulariser value (0 without a penalty). */
  penalty: number;
}

const vars = (model: tf.LayersModel): tf.Variable[] => model.trainableWeights.map((w) => w.read() as tf.Variable);

/** Trains a generator/discriminator pair one generator step at a time; see {@link trainGan} for the loop. */
export class GanTrainer {
  readonly generator: tf.LayersModel;
  readonly discriminator: tf.LayersModel;
  readonly ema: tf.LayersModel | undefined;
  readonly loss: GanLoss;
  readonly regulariser: CriticRegulariser;
  readonly batchSize: number;
  readonly criticSteps: number;
  readonly emaDecay: number;
  readonly latentDim: number;
  readonly seed: number;
  readonly generatorOptimizer: tf.Optimizer;
  readonly discriminatorOptimizer: tf.Optimizer;
  /** Generator steps taken (restored by {@link load}). */
  step = 0;
  private readonly real: tf.Tensor4D;

  /** Validates everything a run needs before its first step: shapes, image range, second-order gradients. */
  constructor(options: GanTrainerOptions) {
    const { generator, discriminator, real } = options;
    check(generator instanceof tf.LayersModel, 'generator', generator, 'a tf.LayersModel');
    check(discriminator instanceof tf.LayersModel, 'discriminator', discriminator, 'a tf.LayersModel');
    const zShape = generator.inputs[0]!.shape;
    check(zShape.length === 2 && typeof zShape[1] === 'number', 'generator', `input shape [${zShape.join(', ')}]`, 'a latent input of shape [batch, latentDim]');
    const gOut = generator.outputs[0]!.shape.slice(1);
    const dIn = discriminator.inputs[0]!.shape.slice(1);
    if (gOut.join() !== dIn.join()) throw new EccvkitInputError('discriminator', `input shape [${dIn.join(', ')}]`, `the generator's output shape [${gOut.join(', ')}]`);
    check(real instanceof tf.Tensor && real.rank === 4 && real.shape.slice(1).join() === gOut.join(), 'real', real, `images of shape [n, ${gOut.join(', ')}]`);
    const [lo, hi] = tf.tidy(() => [tf.min(real), tf.max(real)]).map((t) => {
      const v = t.dataSync()[0] as number;
      t.dispose();
      return v;
    }) as [number, number];
    if (!(lo >= -1 && hi <= 1)) throw new EccvkitInputError('real', `images with values in [${lo}, ${hi}]`, "values in the generator's tanh range [−1, 1] (map [0, 1] images with 2x − 1)");
    const batchSize = options.batchSize ?? 64;
    check(Number.isInteger(batchSize) && batchSize >= 2 && batchSize <= real.shape[0], 'batchSize', batchSize, `an integer in [2, ${real.shape[0]}] (the number of real images)`);
    const criticSteps = options.criticSteps ?? 1;
    check(Number.isInteger(criticSteps) && criticSteps >= 1, 'criticSteps', criticSteps, 'an integer ≥ 1');
    const emaDecay = options.emaDecay ?? 0.999;
    check(emaDecay >= 0 && emaDecay < 1, 'emaDecay', emaDecay, 'a number in [0, 1)');
    const regulariser = options.regulariser ?? { kind: 'none' };
    check(['none', 'gradientPenalty', 'r1', 'clip'].includes(regulariser.kind), 'regulariser.kind', regulariser.kind, "'none', 'gradientPenalty', 'r1' or 'clip'");
    if (options.ema) check(options.ema.weights.length === generator.weights.length, 'ema', `${options.ema.weights.length} weights`, `a model of the generator's architecture (${generator.weights.length} weights)`);
    if (regulariser.kind === 'gradientPenalty' || regulariser.kind === 'r1') assertSecondOrderGradients();

    this.generator = generator;
    this.discriminator = discriminator;
    this.ema = options.ema;
    this.loss = options.loss;
    this.regulariser = regulariser;
    this.real = real;
    this.batchSize = batchSize;
    this.criticSteps = criticSteps;
    this.emaDecay = emaDecay;
    this.latentDim = zShape[1] as number;
    this.seed = options.seed ?? 0;
    this.generatorOptimizer = options.generatorOptimizer ?? tf.train.adam(2e-4, 0.5, 0.999);
    this.discriminatorOptimizer = options.discriminatorOptimizer ?? tf.train.adam(2e-4, 0.5, 0.999);
    if (this.ema) this.ema.setWeights(generator.getWeights());
  }

  /** Latent codes ~ N(0, I) of shape [n, latentDim] from `seed`. */
  noise(n: number, seed: number): tf.Tensor2D {
    return tf.randomNormal([n, this.latentDim], 0, 1, 'float32', seed);
  }

  /** The critic regulariser's value for one batch (0 when it has no penalty term). */
  private penalty(real: tf.Tensor, fake: tf.Tensor, seed: number): tf.Scalar {
    const critic = (x: tf.Tensor) => this.discriminator.apply(x, { training: true }) as tf.Tensor;
    const r = this.regulariser;
    if (r.kind === 'gradientPenalty') return gradientPenalty(critic, real, fake, { seed, ...(r.center === undefined ? {} : { center: r.center }) });
    if (r.kind === 'r1') return r1Penalty(critic, real);
    return tf.scalar(0);
  }

  private penaltyWeight(): number {
    const r = this.regulariser;
    return r.kind === 'gradientPenalty' ? (r.weight ?? WGAN_GP_LAMBDA) : r.kind === 'r1' ? (r.weight ?? 1) : 0;
  }

  /** `criticSteps` discriminator updates, then one generator update and the EMA. */
  trainStep(): GanStepLosses {
    const rng = createRng(this.seed * 1_000_003 + this.step);
    const n = this.real.shape[0];
    const weight = this.penaltyWeight();
    let dLoss = 0;
    let penalty = 0;
    for (let c = 0; c < this.criticSteps; c++) {
      const idx = Int32Array.from(rng.sample(n, this.batchSize));
      const zSeed = rng.seedInt();
      const gpSeed = rng.seedInt();
      const [total, pen] = tf.tidy(() => {
        const real = tf.gather(this.real, tf.tensor1d(idx, 'int32'));
        const fake = this.generator.apply(this.noise(this.batchSize, zSeed), { training: true }) as tf.Tensor;
        let penaltyValue: tf.Scalar = tf.scalar(0);
        const loss = this.discriminatorOptimizer.minimize(
          () => {
            const dReal = this.discriminator.apply(real, { training: true }) as tf.Tensor;
            const dFake = this.discriminator.apply(fake, { training: true }) as tf.Tensor;
            const base = this.loss.discriminator(dReal, dFake);
            if (weight === 0) return base;
            // Kept past the gradient scope so the step can report it.
            penaltyValue = tf.keep(this.penalty(real, fake, gpSeed));
            return tf.add(base, tf.mul(weight, penaltyValue)) as tf.Scalar;
          },
          true,
          vars(this.discriminator),
        ) as tf.Scalar;
        return [loss, penaltyValue];
      });
      if (this.regulariser.kind === 'clip') clipWeights(this.discriminator, this.regulariser.clip ?? WGAN_CLIP);
      dLoss = total.dataSync()[0] as number;
      penalty = pen.dataSync()[0] as number;
      dLoss -= weight * penalty;
      tf.dispose([total, pen]);
    }
    const zSeed = rng.seedInt();
    const g = tf.tidy(
      () =>
        this.generatorOptimizer.minimize(
          () => this.loss.generator(this.discriminator.apply(this.generator.apply(this.noise(this.batchSize, zSeed), { training: true }), { training: true }) as tf.Tensor),
          true,
          vars(this.generator),
        ) as tf.Scalar,
    );
    const gLoss = g.dataSync()[0] as number;
    g.dispose();
    this.updateEma();
    this.step++;
    return { discriminator: dLoss, generator: gLoss, penalty };
  }

  /** ema ← d·ema + (1 − d)·G for trainable weights; other weights (batch-norm statistics) are copied. */
  private updateEma(): void {
    if (!this.ema) return;
    const d = Math.min(this.emaDecay, (1 + this.step) / (10 + this.step));
    const source = this.generator.weights;
    this.ema.weights.forEach((target, i) => {
      const w = source[i]!;
      const next = tf.tidy(() => (w.trainable ? tf.add(tf.mul(target.read(), d), tf.mul(w.read(), 1 - d)) : tf.clone(w.read())));
      target.write(next);
      next.dispose();
    });
  }

  /** Images G(z) in [0, 1] (from the EMA generator when there is one and `useEma`), as NHWC values. */
  samples(z: tf.Tensor2D, useEma = true): Float32Array {
    const model = useEma && this.ema ? this.ema : this.generator;
    const x = tf.tidy(() => tf.clipByValue(tf.div(tf.add(model.predict(z) as tf.Tensor, 1), 2), 0, 1));
    const out = Float32Array.from(x.dataSync());
    x.dispose();
    return out;
  }

  /** Writes the models and optimizer states under `dir` (the step is the caller's checkpoint metadata). */
  async save(dir: string): Promise<void> {
    await saveModel(this.generator, path.join(dir, 'generator'));
    await saveModel(this.discriminator, path.join(dir, 'discriminator'));
    if (this.ema) await saveModel(this.ema, path.join(dir, 'ema'));
    await saveOptimizerState(this.generatorOptimizer, path.join(dir, 'generator-optimizer'));
    await saveOptimizerState(this.discriminatorOptimizer, path.join(dir, 'discriminator-optimizer'));
  }

  /** Restores what {@link save} wrote and sets the step counter, so training continues with the same batches. */
  async load(dir: string, step: number): Promise<void> {
    const pairs: Array<[tf.LayersModel | undefined, string]> = [
      [this.generator, 'generator'],
      [this.discriminator, 'discriminator'],
      [this.ema, 'ema'],
    ];
    for (const [model, name] of pairs) {
      if (!model) continue;
      const loaded = await loadModel(path.join(dir, name));
      try {
        model.setWeights(loaded.getWeights());
      } finally {
        loaded.dispose();
      }
    }
    await loadOptimizerState(this.generatorOptimizer, path.join(dir, 'generator-optimizer'));
    await loadOptimizerState(this.discriminatorOptimizer, path.join(dir, 'discriminator-optimizer'));
    this.step = step;
  }

  /** Frees the optimizers (the models belong to the caller). */
  dispose(): void {
    this.generatorOptimizer.dispose();
    this.discriminatorOptimizer.dispose();
  }
}

/** Progress callbacks (the shape of the experiments' ProgressReporter). */
export interface GanProgress {
  start(label: string, total: number): void;
  update(done: number, values?: Record<string, number>): void;
  stop(): void;
}

/** Options of {@link trainGan}. */
export interface TrainGanOptions {
  /** Generator steps to reach (counting those already taken). */
  steps: number;
  progress?: GanProgress;
  label?: string;
  /** Mean losses over each window of this many steps go to `onLog` (default 50). */
  logEvery?: number;
  onLog?(step: number, values: Record<string, number>): void;
  /** Calls `onSample` every this many steps and at the end (0: never; default 0). */
  sampleEvery?: number;
  onSample?(step: number): void | Promise<void>;
  /** Calls `onCheckpoint` every this many steps (0: never; default 0). */
  checkpointEvery?: number;
  onCheckpoint?(step: number): Promise<void>;
  /**
   * Stop at the first step whose losses are not finite (default true): the
   * window so far goes to `onLog` and the returned losses hold the non-finite
   * values, so the caller can tell (see {@link lossesDiverged}); no sample or
   * checkpoint hook runs for that step, so a saved good state is not replaced.
   */
  stopOnNonFinite?: boolean;
}

/** True when any of a step's losses is NaN or infinite. */
export function lossesDiverged(losses: GanStepLosses): boolean {
  return !(Number.isFinite(losses.discriminator) && Number.isFinite(losses.generator) && Number.isFinite(losses.penalty));
}

/** Runs {@link GanTrainer.trainStep} until `steps` (or the first non-finite loss), with windowed loss logs, sample and checkpoint hooks, keeping the tensor count flat. */
export async function trainGan(trainer: GanTrainer, options: TrainGanOptions): Promise<GanStepLosses> {
  const { steps } = options;
  check(Number.isInteger(steps) && steps >= 0, 'steps', steps, 'an integer ≥ 0');
  const logEvery = options.logEvery ?? 50;
  const sampleEvery = options.sampleEvery ?? 0;
  const checkpointEvery = options.checkpointEvery ?? 0;
  options.progress?.start(options.label ?? 'gan', steps);
  const window = { discriminator: 0, generator: 0, penalty: 0, count: 0 };
  const stopOnNonFinite = options.stopOnNonFinite ?? true;
  let last: GanStepLosses = { discriminator: NaN, generator: NaN, penalty: NaN };
  while (trainer.step < steps) {
    last = trainer.trainStep();
    window.discriminator += last.discriminator;
    window.generator += last.generator;
    window.penalty += last.penalty;
    window.count++;
    const step = trainer.step;
    const stop = stopOnNonFinite && lossesDiverged(last);
    if (window.count === logEvery || step === steps || stop) {
      const values = { d_loss: window.discriminator / window.count, g_loss: window.generator / window.count, penalty: window.penalty / window.count };
      options.onLog?.(step, values);
      options.progress?.update(step, values);
      Object.assign(window, { discriminator: 0, generator: 0, penalty: 0, count: 0 });
    }
    if (stop) break;
    if (sampleEvery > 0 && (step % sampleEvery === 0 || step === steps)) await options.onSample?.(step);
    if (checkpointEvery > 0 && step % checkpointEvery === 0 && step < steps) await options.onCheckpoint?.(step);
  }
  options.progress?.stop();
  return last;
}
