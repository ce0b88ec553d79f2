/**
 * A GAN training loop for tfjs `LayersModel`s: n critic steps per generator
 * step, any {@link GanLoss} with domain scaling, a Lipschitz regulariser
 * (gradient penalty, R1, weight clipping; spectral norm lives in the
 * discriminator's layers), an exponential moving average of the generator's
 * weights, and checkpoints that resume to the same numbers.
 */
import { createRng, tf } from '../engine/core.js';
import { check, EccvkitInputError } from '../errors.js';
import { platformFiles } from '../platform.js';
import { loadOptimizerState, loadWeightsInto, saveModel, saveOptimizerState } from '../nn/io.js';
import { hessianPenalty, type HessianPenaltyOptions } from './hessian-penalty.js';
import type { GanLoss } from './losses.js';
import { TopoGanTerm } from '../topology/topogan.js';
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
  /** Adds λ_t·HP(G, z) to the generator's loss (Peebles et al. 2020); absent: no Hessian penalty. */
  hessianPenalty?: GeneratorHessianPenalty;
  /** The InfoGAN baseline: a Q head estimates the first codes of z from G(z); its MSE is added to both losses. */
  infoGan?: InfoGanOptions;
  /**
   * TopoGAN (Wang et al. 2020): adds λ_topo·L_topo of each generated batch to the
   * generator's loss, against the real diagrams the term drew for that step
   * (one-channel generators of the term's mask size). The paper trains it with
   * WGAN-GP: the `wasserstein` loss, `gradientPenalty` (λ 10), 5 critic steps, Adam 2e-4 (0.5, 0.999).
   */
  topology?: TopoGanTerm;
}

/**
 * The Hessian penalty on the generator's loss, with the paper's choices as
 * defaults (its ProGAN code: k = 2, ε = 0.1, max over every element, the
 * population variance of `tf.nn.moments` for which its λ = 0.1 / 0.025 were tuned).
 */
export interface GeneratorHessianPenalty {
  /** λ, the full weight (the paper: 0.1 from scratch on CLEVR-Simple/Complex, 0.025 on CLEVR-1FOV). */
  weight: number;
  /**
   * 'output' (default): the image only; 'all': the output of every normalisation
   * layer of G (batch/layer norm: the reference's "activations right after
   * normalisation") plus the image, their penalties summed as the paper's ProGAN runs do.
   */
  layers?: 'output' | 'all';
  /** First generator step with the penalty (default 0: from scratch; later: fine-tuning a trained G). */
  fromStep?: number;
  /** Steps of the linear ramp λ_t = λ·min(1, (t − fromStep + 1)/rampSteps) (default 0: full weight at once; the tips ramp it when fine-tuning). */
  rampSteps?: number;
  /**
   * Codes of each batch the penalty is estimated on (default: the whole batch). The reference's
   * tip for memory and time: the 2k extra passes of G then cost `batchSubset`/batch of a full pass each.
   */
  batchSubset?: number;
  k?: number;
  epsilon?: number;
  reduction?: HessianPenaltyOptions['reduction'];
  /** Default 'biased' (the paper's TensorFlow estimator, for which its λ values hold); see {@link hessianPenalty}. */
  variance?: HessianPenaltyOptions['variance'];
}

/** Options of the InfoGAN baseline (see {@link GanTrainerOptions.infoGan}). */
export interface InfoGanOptions {
  /** Image → the first `codes` latent coordinates; shares its trunk with the discriminator (`dcganDiscriminatorWithQ`). */
  q: tf.LayersModel;
  /** Weight of the MSE term in both losses (default 1, the reference's `infogan_lambda`). */
  weight?: number;
}

/** Losses of one generator step (the critic numbers are from its last critic update). */
export interface GanStepLosses {
  discriminator: number;
  generator: number;
  /** The unweighted regulariser value (0 without a penalty). */
  penalty: number;
  /** The unweighted Hessian penalty of the generator step (0 while it is off). */
  hessian?: number;
  /** The InfoGAN MSE of the generator step (0 without InfoGAN). */
  info?: number;
  /** L_topo of the generator step, unweighted (0 without TopoGAN). */
  topo?: number;
  /** Milliseconds of that step spent on persistence off the tensor path. */
  topoMs?: number;
}

const vars = (model: tf.LayersModel): tf.Variable[] => model.trainableWeights.map((w) => w.read() as tf.Variable);

const NORMALISATION_LAYERS = new Set(['BatchNormalization', 'LayerNormalization']);

/**
 * A model over G's own layers that returns the output of every normalisation
 * layer and then the image: the activations the Hessian penalty regularises with
 * `layers: 'all'` (never dispose it: it shares G's weights).
 */
export function normalisationOutputsModel(generator: tf.LayersModel): tf.LayersModel {
  const hidden = generator.layers.filter((l) => NORMALISATION_LAYERS.has(l.getClassName())).map((l) => l.output as tf.SymbolicTensor);
  check(hidden.length > 0, 'hessianPenalty.layers', "'all'", `a generator with normalisation layers (${[...NORMALISATION_LAYERS].join(', ')}) to regularise; this one has none, use 'output'`);
  return tf.model({ inputs: generator.inputs, outputs: [...hidden, generator.outputs[0]!] });
}

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
  readonly hessian: Required<Omit<GeneratorHessianPenalty, 'layers'>> & { layers: 'output' | 'all' } | undefined;
  readonly infoGan: { q: tf.LayersModel; weight: number; codes: number } | undefined;
  readonly topology: TopoGanTerm | undefined;
  /** Generator steps taken (restored by {@link load}). */
  step = 0;
  private readonly real: tf.Tensor4D;
  /** G with every normalisation output as an extra output (for `layers: 'all'`). */
  private readonly hessianModel: tf.LayersModel | undefined;

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
    const latentDim = zShape[1] as number;
    const hp = options.hessianPenalty;
    if (hp !== undefined) {
      check(Number.isFinite(hp.weight) && hp.weight >= 0, 'hessianPenalty.weight', hp.weight, 'a finite weight ≥ 0');
      check(hp.layers === undefined || hp.layers === 'output' || hp.layers === 'all', 'hessianPenalty.layers', hp.layers, "'output' or 'all'");
      check(hp.fromStep === undefined || (Number.isInteger(hp.fromStep) && hp.fromStep >= 0), 'hessianPenalty.fromStep', hp.fromStep, 'an integer step ≥ 0');
      check(hp.rampSteps === undefined || (Number.isInteger(hp.rampSteps) && hp.rampSteps >= 0), 'hessianPenalty.rampSteps', hp.rampSteps, 'an integer ≥ 0');
      check(hp.k === undefined || (Number.isInteger(hp.k) && hp.k >= 2), 'hessianPenalty.k', hp.k, 'an integer ≥ 2');
      check(hp.epsilon === undefined || (Number.isFinite(hp.epsilon) && hp.epsilon > 0), 'hessianPenalty.epsilon', hp.epsilon, 'a positive step');
      check(hp.batchSubset === undefined || (Number.isInteger(hp.batchSubset) && hp.batchSubset >= 1 && hp.batchSubset <= batchSize), 'hessianPenalty.batchSubset', hp.batchSubset, `an integer in [1, ${batchSize}] (the batch size)`);
    }
    if (options.infoGan !== undefined) {
      const q = options.infoGan.q;
      check(q instanceof tf.LayersModel, 'infoGan.q', q, 'a tf.LayersModel from images to codes');
      const qIn = q.inputs[0]!.shape.slice(1);
      const qOut = q.outputs[0]!.shape;
      check(qIn.join() === gOut.join(), 'infoGan.q', `input shape [${qIn.join(', ')}]`, `the generator's output shape [${gOut.join(', ')}]`);
      check(qOut.length === 2 && typeof qOut[1] === 'number' && qOut[1] <= latentDim, 'infoGan.q', `output shape [${qOut.join(', ')}]`, `[batch, codes] with codes ≤ the latent size ${latentDim}`);
      const w = options.infoGan.weight ?? 1;
      check(Number.isFinite(w) && w >= 0, 'infoGan.weight', w, 'a finite weight ≥ 0');
    }

    if (options.topology !== undefined) {
      const t = options.topology;
      check(t instanceof TopoGanTerm, 'topology', t, 'a TopoGanTerm built from the real masks');
      check(gOut.join() === [t.height, t.width, 1].join(), 'topology', `a term for ${t.height}×${t.width} masks`, `masks of the generator's output shape [${gOut.join(', ')}] with one channel`);
    }

    this.generator = generator;
    this.discriminator = discriminator;
    this.topology = options.topology;
    this.ema = options.ema;
    this.loss = options.loss;
    this.regulariser = regulariser;
    this.real = real;
    this.batchSize = batchSize;
    this.criticSteps = criticSteps;
    this.emaDecay = emaDecay;
    this.latentDim = latentDim;
    this.hessian =
      hp === undefined
        ? undefined
        : { weight: hp.weight, layers: hp.layers ?? 'output', fromStep: hp.fromStep ?? 0, rampSteps: hp.rampSteps ?? 0, batchSubset: hp.batchSubset ?? batchSize, k: hp.k ?? 2, epsilon: hp.epsilon ?? 0.1, reduction: hp.reduction ?? 'max', variance: hp.variance ?? 'biased' };
    this.hessianModel = this.hessian?.layers === 'all' ? normalisationOutputsModel(generator) : undefined;
    this.infoGan = options.infoGan === undefined ? undefined : { q: options.infoGan.q, weight: options.infoGan.weight ?? 1, codes: options.infoGan.q.outputs[0]!.shape[1] as number };
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
      const [total, pen, info] = tf.tidy(() => {
        const real = tf.gather(this.real, tf.tensor1d(idx, 'int32'));
        const z = this.noise(this.batchSize, zSeed);
        const fake = this.generator.apply(z, { training: true }) as tf.Tensor;
        let penaltyValue: tf.Scalar = tf.scalar(0);
        let infoValue: tf.Scalar = tf.scalar(0);
        const loss = this.discriminatorOptimizer.minimize(
          () => {
            const dReal = this.discriminator.apply(real, { training: true }) as tf.Tensor;
            const dFake = this.discriminator.apply(fake, { training: true }) as tf.Tensor;
            let total = this.loss.discriminator(dReal, dFake);
            if (this.infoGan) {
              // Kept past the gradient scope so the step can report it.
              infoValue = tf.keep(this.infoLoss(z, fake));
              total = tf.add(total, tf.mul(this.infoGan.weight, infoValue));
            }
            if (weight === 0) return total;
            penaltyValue = tf.keep(this.penalty(real, fake, gpSeed));
            return tf.add(total, tf.mul(weight, penaltyValue)) as tf.Scalar;
          },
          true,
          this.criticVars(),
        ) as tf.Scalar;
        return [loss, penaltyValue, infoValue];
      });
      if (this.regulariser.kind === 'clip') clipWeights(this.discriminator, this.regulariser.clip ?? WGAN_CLIP);
      dLoss = total.dataSync()[0] as number;
      penalty = pen.dataSync()[0] as number;
      dLoss -= weight * penalty + (this.infoGan ? this.infoGan.weight * (info.dataSync()[0] as number) : 0);
      tf.dispose([total, pen, info]);
    }
    const zSeed = rng.seedInt();
    const hpSeed = rng.seedInt();
    const hpWeight = this.hessianWeight(this.step);
    let topo = 0;
    let topoMs = 0;
    const [g, hp, info] = tf.tidy(() => {
      let hpValue: tf.Scalar = tf.scalar(0);
      let infoValue: tf.Scalar = tf.scalar(0);
      const loss = this.generatorOptimizer.minimize(
        () => {
          const z = this.noise(this.batchSize, zSeed);
          const fake = this.generator.apply(z, { training: true }) as tf.Tensor;
          let total = this.loss.generator(this.discriminator.apply(fake, { training: true }) as tf.Tensor);
          if (this.infoGan) {
            infoValue = tf.keep(this.infoLoss(z, fake));
            total = tf.add(total, tf.mul(this.infoGan.weight, infoValue));
          }
          if (this.hessian && hpWeight > 0) {
            const h = this.hessian;
            const target = this.hessianModel
              ? (x: tf.Tensor) => this.hessianModel!.apply(x, { training: true }) as tf.Tensor[]
              : (x: tf.Tensor) => this.generator.apply(x, { training: true }) as tf.Tensor;
            const whole = h.batchSubset === this.batchSize;
            const zh = whole ? z : tf.slice(z, [0, 0], [h.batchSubset, -1]);
            // G(z) is reused when it is the penalised output of the same batch (one pass fewer).
            const gz = whole && !this.hessianModel ? { gz: fake } : {};
            hpValue = tf.keep(hessianPenalty(target, zh, { k: h.k, epsilon: h.epsilon, reduction: h.reduction, variance: h.variance, seed: hpSeed, ...gz }));
            total = tf.add(total, tf.mul(hpWeight, hpValue));
          }
          if (this.topology) {
            const t = this.topology.loss(fake, this.step);
            [topo, topoMs] = [t.value, t.persistenceMs];
            total = tf.add(total, t.loss);
          }
          return total as tf.Scalar;
        },
        true,
        vars(this.generator),
      ) as tf.Scalar;
      return [loss, hpValue, infoValue];
    });
    const hessian = hp.dataSync()[0] as number;
    const infoG = info.dataSync()[0] as number;
    const gLoss = (g.dataSync()[0] as number) - hpWeight * hessian - (this.infoGan ? this.infoGan.weight * infoG : 0) - (this.topology ? this.topology.weight * topo : 0);
    tf.dispose([g, hp, info]);
    this.updateEma();
    this.step++;
    return { discriminator: dLoss, generator: gLoss, penalty, hessian, info: infoG, ...(this.topology ? { topo, topoMs } : {}) };
  }

  /** λ_t of the Hessian penalty at generator step t (0 before `fromStep` or without the penalty). */
  hessianWeight(step: number): number {
    const h = this.hessian;
    if (!h || step < h.fromStep) return 0;
    return h.rampSteps === 0 ? h.weight : h.weight * Math.min(1, (step - h.fromStep + 1) / h.rampSteps);
  }

  /** InfoGAN's term: mean squared error between the first codes of z and Q's estimate from G(z). */
  private infoLoss(z: tf.Tensor, fake: tf.Tensor): tf.Scalar {
    const info = this.infoGan!;
    const estimate = info.q.apply(fake, { training: true }) as tf.Tensor;
    return tf.mean(tf.squaredDifference(tf.slice(z, [0, 0], [-1, info.codes]), estimate));
  }

  /** The critic's trainable variables and, with InfoGAN, the Q head's (the shared trunk once). */
  private criticVars(): tf.Variable[] {
    const all = vars(this.discriminator);
    if (this.infoGan) for (const v of vars(this.infoGan.q)) if (!all.includes(v)) all.push(v);
    return all;
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
    const files = platformFiles('saving a GAN checkpoint');
    await saveModel(this.generator, files.join(dir, 'generator'));
    await saveModel(this.discriminator, files.join(dir, 'discriminator'));
    if (this.ema) await saveModel(this.ema, files.join(dir, 'ema'));
    if (this.infoGan) await saveModel(this.infoGan.q, files.join(dir, 'q'));
    await saveOptimizerState(this.generatorOptimizer, files.join(dir, 'generator-optimizer'));
    await saveOptimizerState(this.discriminatorOptimizer, files.join(dir, 'discriminator-optimizer'));
  }

  /** Restores what {@link save} wrote and sets the step counter, so training continues with the same batches. */
  async load(dir: string, step: number): Promise<void> {
    const files = platformFiles('loading a GAN checkpoint');
    const pairs: Array<[tf.LayersModel | undefined, string]> = [
      [this.generator, 'generator'],
      [this.discriminator, 'discriminator'],
      [this.ema, 'ema'],
      [this.infoGan?.q, 'q'],
    ];
    for (const [model, name] of pairs) if (model) await loadWeightsInto(model, files.join(dir, name));
    await loadOptimizerState(this.generatorOptimizer, files.join(dir, 'generator-optimizer'));
    await loadOptimizerState(this.discriminatorOptimizer, files.join(dir, 'discriminator-optimizer'));
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
  return !(Number.isFinite(losses.discriminator) && Number.isFinite(losses.generator) && Number.isFinite(losses.penalty) && Number.isFinite(losses.hessian ?? 0) && Number.isFinite(losses.info ?? 0) && Number.isFinite(losses.topo ?? 0));
}

/** Runs {@link GanTrainer.trainStep} until `steps` (or the first non-finite loss), with windowed loss logs, sample and checkpoint hooks, keeping the tensor count flat. */
export async function trainGan(trainer: GanTrainer, options: TrainGanOptions): Promise<GanStepLosses> {
  const { steps } = options;
  check(Number.isInteger(steps) && steps >= 0, 'steps', steps, 'an integer ≥ 0');
  const logEvery = options.logEvery ?? 50;
  const sampleEvery = options.sampleEvery ?? 0;
  const checkpointEvery = options.checkpointEvery ?? 0;
  options.progress?.start(options.label ?? 'gan', steps);
  const window = { discriminator: 0, generator: 0, penalty: 0, hessian: 0, info: 0, count: 0, topo: 0, topoMs: 0, stepMs: 0 };
  const stopOnNonFinite = options.stopOnNonFinite ?? true;
  let last: GanStepLosses = { discriminator: NaN, generator: NaN, penalty: NaN };
  while (trainer.step < steps) {
    const t0 = performance.now();
    last = trainer.trainStep();
    window.stepMs += performance.now() - t0;
    window.topo += last.topo ?? 0;
    window.topoMs += last.topoMs ?? 0;
    window.discriminator += last.discriminator;
    window.generator += last.generator;
    window.penalty += last.penalty;
    window.hessian += last.hessian ?? 0;
    window.info += last.info ?? 0;
    window.count++;
    const step = trainer.step;
    const stop = stopOnNonFinite && lossesDiverged(last);
    if (window.count === logEvery || step === steps || stop) {
      const values: Record<string, number> = { d_loss: window.discriminator / window.count, g_loss: window.generator / window.count, penalty: window.penalty / window.count };
      if (trainer.hessian) values.hessian = window.hessian / window.count;
      if (trainer.infoGan) values.info = window.info / window.count;
      if (trainer.topology) {
        values.topo = window.topo / window.count;
        // The share of the step time persistence takes off the tensor path (TopoGAN's batch diagrams, matching, pixel pushes).
        values.topo_share = window.stepMs > 0 ? window.topoMs / window.stepMs : 0;
      }
      options.onLog?.(step, values);
      options.progress?.update(step, values);
      Object.assign(window, { discriminator: 0, generator: 0, penalty: 0, hessian: 0, info: 0, count: 0, topo: 0, topoMs: 0, stepMs: 0 });
    }
    if (stop) break;
    if (sampleEvery > 0 && (step % sampleEvery === 0 || step === steps)) await options.onSample?.(step);
    if (checkpointEvery > 0 && step % checkpointEvery === 0 && step < steps) await options.onCheckpoint?.(step);
  }
  options.progress?.stop();
  return last;
}
