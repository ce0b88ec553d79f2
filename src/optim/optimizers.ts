/**
 * Drop-in replacements for tfjs's SGD, momentum and Adam optimizers, plus a
 * decoupled-weight-decay AdamW (which tfjs lacks), each with Gradient
 * Centralization (Yong et al., ECCV 2020).
 *
 * They subclass `tf.Optimizer`, so `model.compile({ optimizer })` /
 * `model.fit` and `optimizer.minimize(f)` use them unchanged, and they
 * serialise like tfjs's own: a static `className`, a JSON `getConfig()`,
 * `tf.serialization.registerClass`, and `getWeights`/`setWeights` for their
 * state (slots are kept by position, as tfjs does).
 *
 * One step, per variable w with gradient g (the reference code's order,
 * `GC_code/CIFAR100/algorithm/*.py`):
 * 1. clip g (per-tensor norm, global norm, then value), when asked: clipping
 *    happens before centralisation (the authors' answer in their issue #5);
 * 2. add coupled L2 `weightDecay·w` (SGD, momentum, Adam);
 * 3. GC of the gradient (`centralize: 'gradient'`, the default);
 * 4. the optimizer's own rule gives the update Δ (AdamW adds `lr·wd·w` here);
 * 5. GC of Δ (`centralize: 'update'`, the paper's "GC2" variants of the
 *    adaptive methods, which keep each filter's weight sum fixed);
 * 6. w ← w − Δ.
 *
 * With `gc: 'off'` and no clipping or decay, each one computes what tfjs's
 * optimizer of the same name computes, operation for operation.
 */
import { tf } from '../engine/core.js';
import { EccvkitInputError, check } from '../errors.js';
import { GC_MODES, defaultParameterKind, gcApplies, gcReduceAxes, type GcMode, type GcParameterKind } from './centralize.js';

/** Where an optimizer centralises: the gradient (GC) or the final update Δ (GC2). */
export type GcTarget = 'gradient' | 'update';
export const GC_TARGETS: readonly GcTarget[] = ['gradient', 'update'];

/** Options every GC optimizer takes. */
export interface GcOptimizerOptions {
  /** Step size; every class has its own default (tfjs has none for SGD; we use 0.01). */
  learningRate?: number;
  /** Which kernels to centralise: `off`, `conv` (the paper's GCC) or `all` (GC). Default `all`. */
  gc?: GcMode;
  /** Rescale each gradient tensor to at most this L2 norm (Keras `clipnorm`). Default none. */
  clipNorm?: number | null;
  /** Rescale all gradients together to at most this joint L2 norm (Keras `global_clipnorm`). Default none. */
  globalClipNorm?: number | null;
  /** Clip each gradient element to [−clipValue, clipValue] (Keras `clipvalue`). Default none. */
  clipValue?: number | null;
  /**
   * The layout of each variable, from its name and shape; default
   * {@link defaultParameterKind}. A function, so it is not part of `getConfig()`:
   * pass it again after deserialising when you rely on a custom one.
   */
  parameterKind?: (name: string, shape: number[]) => GcParameterKind;
}

/** Options of {@link GcSGD}. */
export interface GcSGDOptions extends GcOptimizerOptions {
  /** Coupled L2 decay: `weightDecay·w` is added to the gradient before GC (PyTorch's `weight_decay`). Default 0. */
  weightDecay?: number;
}

/** Options of {@link GcMomentum}. */
export interface GcMomentumOptions extends GcSGDOptions {
  /** Momentum μ: `buf ← μ·buf + g`, as tfjs's and PyTorch's (dampening 0). Default 0.9. */
  momentum?: number;
  /** Nesterov's variant: the step is `g + μ·buf`. Default false. */
  nesterov?: boolean;
}

/** Options of {@link GcAdam}. */
export interface GcAdamOptions extends GcSGDOptions {
  /** Default 0.9. */
  beta1?: number;
  /** Default 0.999. */
  beta2?: number;
  /** Added to √v̂; default null, which means the backend's epsilon (1e-7 in float32), as tfjs's Adam. */
  epsilon?: number | null;
  /**
   * `gradient` (default): GC of the raw gradient before the moments (Adam_GC).
   * `update`: GC of the final update Δ (Adam_GC2), which keeps each filter's weight sum fixed;
   * the authors recommend it for adaptive methods.
   */
  centralize?: GcTarget;
}

/** Options of {@link GcAdamW}. */
export interface GcAdamWOptions extends Omit<GcAdamOptions, 'weightDecay'> {
  /** Decoupled decay (Loshchilov and Hutter): Δ gains `lr·weightDecay·w`. Default 0.01 (PyTorch's). */
  weightDecay?: number;
}

type NamedGradients = tf.NamedTensorMap | Array<{ name: string; tensor: tf.Tensor }>;

interface SlotVariable {
  originalName: string;
  variable: tf.Variable;
}

function checkNonNegative(value: unknown, argument: string): number {
  check(typeof value === 'number' && Number.isFinite(value) && value >= 0, argument, value, 'a finite number ≥ 0');
  return value;
}

function checkPositiveOrNull(value: unknown, argument: string): number | null {
  if (value === undefined || value === null) return null;
  check(typeof value === 'number' && Number.isFinite(value) && value > 0, argument, value, 'a finite number > 0, or null for none');
  return value;
}

function checkUnitInterval(value: unknown, argument: string): number {
  check(typeof value === 'number' && Number.isFinite(value) && value >= 0 && value < 1, argument, value, 'a number in [0, 1)');
  return value;
}

/**
 * The shared machinery of eccvkit's GC optimizers: clipping, coupled decay,
 * centralisation of the gradient or of the update, slots and state. Subclasses
 * supply {@link GcOptimizer.computeUpdate}.
 */
export abstract class GcOptimizer extends tf.Optimizer {
  /** Which kernels are centralised. */
  readonly gc: GcMode;
  readonly clipNorm: number | null;
  readonly globalClipNorm: number | null;
  readonly clipValue: number | null;
  protected learningRate_: number;
  /** `slots[k][i]`: the k-th state tensor (in {@link GcOptimizer.slotNames} order) of the i-th variable. */
  protected slots: SlotVariable[][];
  private readonly parameterKind: (name: string, shape: number[]) => GcParameterKind;

  protected constructor(options: GcOptimizerOptions, defaultLearningRate: number) {
    super();
    check(typeof options === 'object' && options !== null && !Array.isArray(options), 'options', options, 'an options object');
    const lr = options.learningRate ?? defaultLearningRate;
    check(typeof lr === 'number' && Number.isFinite(lr) && lr > 0, 'learningRate', lr, 'a finite number > 0');
    this.learningRate_ = lr;
    const gc = options.gc ?? 'all';
    check(GC_MODES.includes(gc), 'gc', gc, `one of ${GC_MODES.join(', ')}`);
    this.gc = gc;
    this.clipNorm = checkPositiveOrNull(options.clipNorm, 'clipNorm');
    this.globalClipNorm = checkPositiveOrNull(options.globalClipNorm, 'globalClipNorm');
    this.clipValue = checkPositiveOrNull(options.clipValue, 'clipValue');
    if (this.clipNorm !== null && this.globalClipNorm !== null) {
      throw new EccvkitInputError('clipNorm', this.clipNorm, 'at most one of clipNorm and globalClipNorm (as in Keras)');
    }
    check(options.parameterKind === undefined || typeof options.parameterKind === 'function', 'parameterKind', options.parameterKind, 'a function (name, shape) => kind');
    this.parameterKind = options.parameterKind ?? defaultParameterKind;
    this.slots = this.slotNames().map(() => []);
  }

  /** The current learning rate. */
  get learningRate(): number {
    return this.learningRate_;
  }

  /** Changes the learning rate (schedules); the state is kept. */
  setLearningRate(learningRate: number): void {
    check(typeof learningRate === 'number' && Number.isFinite(learningRate) && learningRate > 0, 'learningRate', learningRate, 'a finite number > 0');
    this.learningRate_ = learningRate;
  }

  /** Where this optimizer centralises. */
  abstract get centralizeTarget(): GcTarget;

  /** Suffixes of the per-variable state tensors, e.g. `['m', 'v']`; their order is the `getWeights` order. */
  protected abstract slotNames(): string[];

  /** Coupled L2 coefficient added to the gradient before GC (0 for none). */
  protected couplingDecay(): number {
    return 0;
  }

  /** Called once per step inside the step's tidy scope, before any variable. */
  protected beginStep(): void {}

  /** Called once per step inside the step's tidy scope, after every variable. */
  protected endStep(): void {}

  /**
   * The update Δ of variable `i` (w ← w − Δ) from its processed gradient `g`;
   * updates the variable's slots. Runs inside a tidy scope.
   */
  protected abstract computeUpdate(i: number, value: tf.Variable, g: tf.Tensor): tf.Tensor;

  /** The axes to average over for `name` under this optimizer's mode, or null. */
  reduceAxesFor(name: string, shape: number[]): number[] | null {
    const kind = this.parameterKind(name, shape);
    if (!gcApplies(this.gc, kind, shape.length)) return null;
    return gcReduceAxes(shape, kind);
  }

  private clip(grads: Array<tf.Tensor | null>): Array<tf.Tensor | null> {
    let out = grads;
    if (this.clipNorm !== null) {
      const c = this.clipNorm;
      out = out.map((g) => (g === null ? null : g.mul(tf.minimum(1, tf.scalar(c).div(tf.norm(g))))));
    }
    if (this.globalClipNorm !== null) {
      const present = out.filter((g): g is tf.Tensor => g !== null);
      if (present.length > 0) {
        const globalNorm = tf.sqrt(tf.addN(present.map((g) => tf.sum(tf.square(g)))));
        const scale = tf.minimum(1, tf.scalar(this.globalClipNorm).div(globalNorm));
        out = out.map((g) => (g === null ? null : g.mul(scale)));
      }
    }
    if (this.clipValue !== null) {
      const c = this.clipValue;
      out = out.map((g) => (g === null ? null : tf.clipByValue(g, -c, c)));
    }
    return out;
  }

  private ensureSlots(i: number, name: string, value: tf.Variable): void {
    const names = this.slotNames();
    names.forEach((suffix, k) => {
      const slots = this.slots[k] as SlotVariable[];
      if (slots[i] === undefined) {
        slots[i] = { originalName: `${name}/${suffix}`, variable: tf.tidy(() => tf.zerosLike(value).variable(false)) };
      }
    });
  }

  /** Applies one step from `variableGradients` (variable name → gradient), as tfjs's optimizers do. */
  override applyGradients(variableGradients: NamedGradients): void {
    const names = Array.isArray(variableGradients) ? variableGradients.map((v) => v.name) : Object.keys(variableGradients);
    const raw = Array.isArray(variableGradients) ? variableGradients.map((v) => v.tensor ?? null) : names.map((n) => variableGradients[n] ?? null);
    const registered = tf.engine().registeredVariables;
    const target = this.centralizeTarget;
    const decay = this.couplingDecay();
    tf.tidy(() => {
      const grads = this.clipNorm === null && this.globalClipNorm === null && this.clipValue === null ? raw : this.clip(raw);
      this.beginStep();
      names.forEach((name, i) => {
        const value = registered[name];
        if (value === undefined) throw new EccvkitInputError('variableGradients', name, 'names of registered tf.Variables');
        this.ensureSlots(i, name, value);
        const grad = grads[i];
        if (grad === null || grad === undefined) return;
        tf.tidy(() => {
          const axes = this.reduceAxesFor(name, value.shape);
          let g = decay > 0 ? grad.add(value.mul(decay)) : grad;
          if (axes !== null && target === 'gradient') g = g.sub(g.mean(axes, true));
          let delta = this.computeUpdate(i, value, g);
          if (axes !== null && target === 'update') delta = delta.sub(delta.mean(axes, true));
          value.assign(value.sub(delta));
        });
      });
      this.endStep();
    });
    this.incrementIterations();
  }

  /** Frees the per-variable state; the next step starts it from zeros. */
  protected disposeSlots(): void {
    for (const slots of this.slots) tf.dispose(slots.map((s) => s.variable));
    this.slots = this.slotNames().map(() => []);
  }

  /** Frees every variable this optimizer owns. */
  override dispose(): void {
    this.disposeSlots();
  }

  /** `[iterations, …slot 0 of every variable, …slot 1 of every variable]`, as tfjs orders them. */
  override async getWeights(): Promise<Array<{ name: string; tensor: tf.Tensor }>> {
    const state = this.slots.flat().map((s) => ({ name: s.originalName, tensor: s.variable as tf.Tensor }));
    return [await this.saveIterations(), ...state];
  }

  /** Restores what {@link GcOptimizer.getWeights} returned (the tensors are copied). */
  override async setWeights(weightValues: Array<{ name: string; tensor: tf.Tensor }>): Promise<void> {
    const rest = await this.extractIterations(weightValues);
    const k = this.slotNames().length;
    if (k === 0 ? rest.length !== 0 : rest.length % k !== 0) {
      throw new EccvkitInputError('weightValues', `${rest.length} state tensors`, `a multiple of ${k} after the iteration count (${this.slotNames().join(', ') || 'no state'})`);
    }
    this.disposeSlots();
    const per = k === 0 ? 0 : rest.length / k;
    this.slots = this.slotNames().map((_, s) => rest.slice(s * per, (s + 1) * per).map((w) => ({ originalName: w.name, variable: w.tensor.variable(false) })));
    this.restoreScalars();
  }

  /** Rebuilds scalar state from `iterations` after {@link GcOptimizer.setWeights}. */
  protected restoreScalars(): void {}

  /** The options shared by every class, as plain JSON. */
  protected baseConfig(): tf.serialization.ConfigDict {
    return { learningRate: this.learningRate_, gc: this.gc, clipNorm: this.clipNorm, globalClipNorm: this.globalClipNorm, clipValue: this.clipValue };
  }
}

function readBaseOptions(config: tf.serialization.ConfigDict): GcOptimizerOptions {
  const out: GcOptimizerOptions = {};
  if (config.learningRate !== undefined) out.learningRate = config.learningRate as number;
  if (config.gc !== undefined) out.gc = config.gc as GcMode;
  for (const key of ['clipNorm', 'globalClipNorm', 'clipValue'] as const) if (config[key] !== undefined) out[key] = config[key] as number | null;
  return out;
}

/**
 * Plain SGD with Gradient Centralization (SGD_GC / SGD_GCC):
 * w ← w − lr·Φ(g + wd·w). Since Φ projects out each filter's mean, each
 * filter's weight sum stays at its initial value (paper §3.2).
 * With `gc: 'off'` it equals `tf.train.sgd(learningRate)`.
 */
export class GcSGD extends GcOptimizer {
  static className = 'GcSGD';
  readonly weightDecay: number;

  /** @param options see {@link GcSGDOptions}; learning rate default 0.01. */
  constructor(options: GcSGDOptions = {}) {
    super(options, 0.01);
    this.weightDecay = checkNonNegative(options.weightDecay ?? 0, 'weightDecay');
  }

  get centralizeTarget(): GcTarget {
    return 'gradient';
  }

  protected slotNames(): string[] {
    return [];
  }

  protected override couplingDecay(): number {
    return this.weightDecay;
  }

  protected computeUpdate(_i: number, _value: tf.Variable, g: tf.Tensor): tf.Tensor {
    return g.mul(this.learningRate_);
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...this.baseConfig(), weightDecay: this.weightDecay };
  }

  static override fromConfig<T extends tf.serialization.Serializable>(cls: tf.serialization.SerializableConstructor<T>, config: tf.serialization.ConfigDict): T {
    return new cls({ ...readBaseOptions(config), weightDecay: config.weightDecay as number });
  }
}

/**
 * SGD with momentum and Gradient Centralization (SGDM_GC): d = Φ(g + wd·w),
 * buf ← μ·buf + d, w ← w − lr·buf (Nesterov: w ← w − lr·(d + μ·buf)). GC comes
 * before the momentum, so the buffer is a sum of centralised vectors and each
 * filter's weight sum stays fixed. With `gc: 'off'` it equals
 * `tf.train.momentum(learningRate, momentum, nesterov)`.
 */
export class GcMomentum extends GcOptimizer {
  static className = 'GcMomentum';
  readonly momentum: number;
  readonly nesterov: boolean;
  readonly weightDecay: number;

  /** @param options see {@link GcMomentumOptions}; learning rate default 0.01, momentum 0.9. */
  constructor(options: GcMomentumOptions = {}) {
    super(options, 0.01);
    this.momentum = checkUnitInterval(options.momentum ?? 0.9, 'momentum');
    check(options.nesterov === undefined || typeof options.nesterov === 'boolean', 'nesterov', options.nesterov, 'true or false');
    this.nesterov = options.nesterov ?? false;
    this.weightDecay = checkNonNegative(options.weightDecay ?? 0, 'weightDecay');
  }

  get centralizeTarget(): GcTarget {
    return 'gradient';
  }

  protected slotNames(): string[] {
    return ['momentum'];
  }

  protected override couplingDecay(): number {
    return this.weightDecay;
  }

  protected computeUpdate(i: number, _value: tf.Variable, g: tf.Tensor): tf.Tensor {
    const buf = (this.slots[0] as SlotVariable[])[i]!.variable;
    const m = tf.scalar(this.momentum);
    const next = m.mul(buf).add(g);
    buf.assign(next);
    return (this.nesterov ? g.add(next.mul(m)) : next).mul(this.learningRate_);
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...this.baseConfig(), momentum: this.momentum, nesterov: this.nesterov, weightDecay: this.weightDecay };
  }

  static override fromConfig<T extends tf.serialization.Serializable>(cls: tf.serialization.SerializableConstructor<T>, config: tf.serialization.ConfigDict): T {
    return new cls({ ...readBaseOptions(config), momentum: config.momentum as number, nesterov: config.nesterov as boolean, weightDecay: config.weightDecay as number });
  }
}

/** Adam's moments and bias corrections, shared by {@link GcAdam} and {@link GcAdamW}. */
abstract class AdamBase extends GcOptimizer {
  readonly beta1: number;
  readonly beta2: number;
  readonly epsilon: number;
  readonly centralize: GcTarget;
  // β^t accumulated in float32 variables, as tfjs's Adam does, so `gc: 'off'` matches it bit for bit.
  private accBeta1: tf.Variable;
  private accBeta2: tf.Variable;
  private oneMinusAccBeta1: tf.Scalar | null = null;
  private oneMinusAccBeta2: tf.Scalar | null = null;

  protected constructor(options: GcAdamOptions | GcAdamWOptions) {
    super(options, 0.001);
    this.beta1 = checkUnitInterval(options.beta1 ?? 0.9, 'beta1');
    this.beta2 = checkUnitInterval(options.beta2 ?? 0.999, 'beta2');
    const eps = options.epsilon ?? null;
    check(eps === null || (typeof eps === 'number' && Number.isFinite(eps) && eps > 0), 'epsilon', eps, 'a finite number > 0, or null for the backend epsilon');
    this.epsilon = eps ?? tf.backend().epsilon();
    const target = options.centralize ?? 'gradient';
    check(GC_TARGETS.includes(target), 'centralize', target, `one of ${GC_TARGETS.join(', ')}`);
    this.centralize = target;
    this.accBeta1 = tf.tidy(() => tf.scalar(this.beta1).variable(false));
    this.accBeta2 = tf.tidy(() => tf.scalar(this.beta2).variable(false));
  }

  get centralizeTarget(): GcTarget {
    return this.centralize;
  }

  protected slotNames(): string[] {
    return ['m', 'v'];
  }

  protected override beginStep(): void {
    this.oneMinusAccBeta1 = tf.sub(1, this.accBeta1) as tf.Scalar;
    this.oneMinusAccBeta2 = tf.sub(1, this.accBeta2) as tf.Scalar;
  }

  protected override endStep(): void {
    this.accBeta1.assign(tf.mul(this.accBeta1, this.beta1));
    this.accBeta2.assign(tf.mul(this.accBeta2, this.beta2));
    this.oneMinusAccBeta1 = null;
    this.oneMinusAccBeta2 = null;
  }

  /** m̂ / (√v̂ + ε) after updating the moments of variable `i` with `g`. */
  protected adamDirection(i: number, g: tf.Tensor): tf.Tensor {
    const m = (this.slots[0] as SlotVariable[])[i]!.variable;
    const v = (this.slots[1] as SlotVariable[])[i]!.variable;
    const newM = tf.add(tf.mul(m, this.beta1), tf.mul(g, 1 - this.beta1));
    const newV = tf.add(tf.mul(v, this.beta2), tf.mul(tf.square(g), 1 - this.beta2));
    const mHat = tf.div(newM, this.oneMinusAccBeta1 as tf.Scalar);
    const vHat = tf.div(newV, this.oneMinusAccBeta2 as tf.Scalar);
    m.assign(newM);
    v.assign(newV);
    return tf.div(mHat, tf.add(tf.sqrt(vHat), this.epsilon));
  }

  protected override restoreScalars(): void {
    tf.tidy(() => {
      this.accBeta1.assign(tf.pow(this.beta1, this.iterations_ + 1));
      this.accBeta2.assign(tf.pow(this.beta2, this.iterations_ + 1));
    });
  }

  override dispose(): void {
    super.dispose();
    this.accBeta1.dispose();
    this.accBeta2.dispose();
  }

  protected adamConfig(): tf.serialization.ConfigDict {
    return { ...this.baseConfig(), beta1: this.beta1, beta2: this.beta2, epsilon: this.epsilon, centralize: this.centralize };
  }
}

function readAdamOptions(config: tf.serialization.ConfigDict): GcAdamOptions {
  return {
    ...readBaseOptions(config),
    beta1: config.beta1 as number,
    beta2: config.beta2 as number,
    epsilon: (config.epsilon ?? null) as number | null,
    centralize: config.centralize as GcTarget,
    weightDecay: config.weightDecay as number,
  };
}

/**
 * Adam with Gradient Centralization. `centralize: 'gradient'` (Adam_GC):
 * g' = Φ(g + wd·w) feeds the moments; `centralize: 'update'` (Adam_GC2): the
 * final Δ = lr·m̂/(√v̂ + ε) is centralised, which keeps each filter's weight
 * sum fixed (dividing by √v̂ elementwise breaks that for Adam_GC).
 * `weightDecay` is coupled L2, as the reference Adam_GC. With `gc: 'off'` it
 * equals `tf.train.adam(learningRate, beta1, beta2, epsilon)`.
 */
export class GcAdam extends AdamBase {
  static className = 'GcAdam';
  readonly weightDecay: number;

  /** @param options see {@link GcAdamOptions}; learning rate default 0.001. */
  constructor(options: GcAdamOptions = {}) {
    super(options);
    this.weightDecay = checkNonNegative(options.weightDecay ?? 0, 'weightDecay');
  }

  protected override couplingDecay(): number {
    return this.weightDecay;
  }

  protected computeUpdate(i: number, _value: tf.Variable, g: tf.Tensor): tf.Tensor {
    return tf.mul(this.adamDirection(i, g), this.learningRate_);
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...this.adamConfig(), weightDecay: this.weightDecay };
  }

  static override fromConfig<T extends tf.serialization.Serializable>(cls: tf.serialization.SerializableConstructor<T>, config: tf.serialization.ConfigDict): T {
    return new cls(readAdamOptions(config));
  }
}

/**
 * AdamW (Loshchilov and Hutter's decoupled weight decay, PyTorch's form) with
 * Gradient Centralization: Δ = lr·(m̂/(√v̂ + ε) + wd·w), w ← w − Δ.
 * `centralize: 'gradient'` (AdamW_GC) centralises g before the moments; the
 * decay then shrinks each filter's sum by (1 − lr·wd) per step.
 * `centralize: 'update'` (AdamW_GC2) centralises the whole Δ, decay included,
 * so the sum stays fixed. The reference code scales the decay by Adam's bias
 * correction (`lr·√(1−β2^t)/(1−β1^t)`); this class follows PyTorch instead.
 */
export class GcAdamW extends AdamBase {
  static className = 'GcAdamW';
  readonly weightDecay: number;

  /** @param options see {@link GcAdamWOptions}; learning rate default 0.001, weight decay 0.01. */
  constructor(options: GcAdamWOptions = {}) {
    super(options);
    this.weightDecay = checkNonNegative(options.weightDecay ?? 0.01, 'weightDecay');
  }

  protected computeUpdate(i: number, value: tf.Variable, g: tf.Tensor): tf.Tensor {
    const direction = this.adamDirection(i, g);
    return tf.mul(this.weightDecay > 0 ? direction.add(value.mul(this.weightDecay)) : direction, this.learningRate_);
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...this.adamConfig(), weightDecay: this.weightDecay };
  }

  static override fromConfig<T extends tf.serialization.Serializable>(cls: tf.serialization.SerializableConstructor<T>, config: tf.serialization.ConfigDict): T {
    return new cls(readAdamOptions(config));
  }
}

tf.serialization.registerClass(GcSGD);
tf.serialization.registerClass(GcMomentum);
tf.serialization.registerClass(GcAdam);
tf.serialization.registerClass(GcAdamW);
