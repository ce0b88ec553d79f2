/**
 * Metric losses that own trainable weights: proxies (ProxyNCA, ProxyAnchor),
 * class weights (Normalized Softmax, CosFace, ArcFace) and class centres
 * (SoftTriple). Their weights are tfjs variables listed in
 * `trainableWeights`; pytorch-metric-learning and the reality-check protocol
 * train them with their own optimizer. Labels must be class ids in [0, numClasses).
 */
import { createRng, tf } from '../engine/core.js';
import { check } from '../errors.js';
import { CosineSimilarity, DotProductSimilarity, isDefaultCosine, LpDistance, l2Normalize } from './distances.js';
import { isReducer, maskedLogSumExp, MetricLoss, type LossOptions } from './loss-base.js';
import type { FusedLossSpec } from './fused.js';
import { DivisorReducer, MeanReducer, type LossTerms } from './reducers.js';
import { tupleWeights, type IndicesTuple } from './tuples.js';
import { arange } from './losses.js';

/** Options of every weight-owning loss. */
export interface WeightLossOptions extends LossOptions {
  /** Seed of the weight initialisation; default 0. */
  seed?: number;
}

let weightId = 0;

/** The base of weight-owning losses: sizes, a seeded initial weight, label checks. */
export abstract class WeightLoss extends MetricLoss {
  readonly numClasses: number;
  readonly embeddingSize: number;
  /** The loss's weight matrix (layout documented by each loss). */
  readonly weights: tf.Variable;

  constructor(
    numClasses: number,
    embeddingSize: number,
    options: WeightLossOptions,
    defaults: ConstructorParameters<typeof MetricLoss>[1],
    init: { shape: [number, number]; draw: (rng: ReturnType<typeof createRng>) => number },
  ) {
    super(options, defaults);
    check(Number.isInteger(numClasses) && numClasses >= 1, 'numClasses', numClasses, 'a positive integer');
    check(Number.isInteger(embeddingSize) && embeddingSize >= 1, 'embeddingSize', embeddingSize, 'a positive integer');
    this.numClasses = numClasses;
    this.embeddingSize = embeddingSize;
    const rng = createRng(options.seed ?? 0);
    const [r, c] = init.shape;
    const values = Float32Array.from({ length: r * c }, () => init.draw(rng));
    const initial = tf.tensor2d(values, [r, c]);
    this.weights = tf.variable(initial, true, `${this.constructor.name}_weights_${weightId++}`);
    initial.dispose();
  }

  override get trainableWeights(): tf.Variable[] {
    return [this.weights];
  }

  protected checkClassLabels(labels: Int32Array, embeddings: tf.Tensor2D): void {
    check(embeddings.shape[1] === this.embeddingSize, 'embeddings', embeddings, `${this.embeddingSize} columns (the loss's embeddingSize)`);
    for (const l of labels) if (!(l >= 0 && l < this.numClasses)) check(false, 'labels', l, `class ids in [0, ${this.numClasses}) (numClasses)`);
  }
}

/** One-hot `[N, C]` float mask of the labels. */
function oneHot(labels: Int32Array, c: number): tf.Tensor2D {
  return tf.oneHot(tf.tensor1d(labels, 'int32'), c).toFloat() as tf.Tensor2D;
}

/** Softmax cross-entropy per row, `logsumexp(z) − z_y`. */
function crossEntropy(logits: tf.Tensor2D, labels: Int32Array): tf.Tensor1D {
  const target = tf.sum(tf.mul(logits, oneHot(labels, logits.shape[1])), 1);
  return tf.sub(tf.logSumExp(logits, 1), target) as tf.Tensor1D;
}

/** Options of {@link ProxyAnchorLoss}. */
export interface ProxyAnchorOptions extends WeightLossOptions {
  /** δ; default 0.1. */
  margin?: number;
  /** α; default 32. */
  alpha?: number;
}

/**
 * Proxy Anchor loss (Kim et al., CVPR 2020):
 * `(1/|P⁺|) Σ_{p∈P⁺} log(1 + Σ_{x∈X_p⁺} e^{−α(s(x,p) − δ)}) + (1/C) Σ_{p} log(1 + Σ_{x∈X_p⁻} e^{α(s(x,p) + δ)})`,
 * P⁺ the proxies with a positive in the batch. `weights` holds the `[C, D]`
 * proxies, initialised He-normal (fan-out, std √(2/C)) as
 * pytorch-metric-learning does. Defaults δ 0.1, α 32, {@link CosineSimilarity},
 * {@link DivisorReducer}.
 */
export class ProxyAnchorLoss extends WeightLoss {
  readonly name = 'proxy_anchor';
  readonly margin: number;
  readonly alpha: number;
  constructor(numClasses: number, embeddingSize: number, options: ProxyAnchorOptions = {}) {
    const std = Math.sqrt(2 / numClasses);
    super(numClasses, embeddingSize, options, { distance: () => new CosineSimilarity(), reducer: () => new DivisorReducer() }, { shape: [numClasses, embeddingSize], draw: (r) => r.normal(0, std) });
    this.margin = options.margin ?? 0.1;
    this.alpha = options.alpha ?? 32;
    check(Number.isFinite(this.margin), 'margin', options.margin, 'a finite number');
    check(Number.isFinite(this.alpha) && this.alpha > 0, 'alpha', options.alpha, 'a finite number > 0');
  }
  protected override fusedSpec(embeddings: tf.Tensor2D, labels: Int32Array, tuple: IndicesTuple | undefined): FusedLossSpec | undefined {
    if (tuple !== undefined || !isDefaultCosine(this.distance) || !isReducer(this.reducer, DivisorReducer)) return undefined;
    this.checkClassLabels(labels, embeddings);
    return { kind: 'proxy_anchor', constants: [this.margin, this.alpha], lists: [labels], lengths: [0, 0], weights: { variable: this.weights, layout: 'CD' } };
  }
  protected terms(embeddings: tf.Tensor2D, labels: Int32Array, tuple: IndicesTuple | undefined): LossTerms {
    this.checkClassLabels(labels, embeddings);
    const minerShift = tf.expandDims(tf.sub(tf.tensor1d(tupleWeights(tuple, labels.length)), 1), 1);
    const cos = this.distance.matrix(embeddings, this.weights as tf.Tensor2D);
    const posMask = oneHot(labels, this.numClasses);
    const negMask = tf.sub(1, posMask) as tf.Tensor2D;
    const withPos = new Set(labels).size;
    const posTerm = maskedLogSumExp(tf.add(tf.mul(this.distance.margin(cos, this.margin), this.alpha), minerShift) as tf.Tensor2D, posMask, true, 0);
    const negTerm = maskedLogSumExp(tf.add(tf.mul(this.distance.margin(-this.margin, cos), this.alpha), minerShift) as tf.Tensor2D, negMask, true, 0);
    const proxies = arange(this.numClasses);
    return {
      pos_loss: { losses: posTerm, anchors: proxies, type: 'element', divisor: withPos },
      neg_loss: { losses: negTerm, anchors: proxies, type: 'element', divisor: this.numClasses },
    };
  }
}

/** Options of {@link ProxyNCALoss}. */
export interface ProxyNCAOptions extends WeightLossOptions {
  /** Scale of the softmax over negative distances; default 1. */
  softmaxScale?: number;
}

/**
 * ProxyNCA (Movshovitz-Attias et al., ICCV 2017): per sample,
 * `−log Σ_{c = y} softmax_c(−scale·d(x, p_c))` over the `[C, D]` proxies
 * (normalised when the distance normalises), times miner weights. Computed as a
 * difference of log-sum-exps, which equals pytorch-metric-learning's value
 * wherever that one is finite. Proxies start standard normal. Defaults scale 1,
 * {@link LpDistance} with power 2, {@link MeanReducer}.
 */
export class ProxyNCALoss extends WeightLoss {
  readonly name = 'proxy_nca';
  readonly softmaxScale: number;
  constructor(numClasses: number, embeddingSize: number, options: ProxyNCAOptions = {}) {
    super(numClasses, embeddingSize, options, { distance: () => new LpDistance({ power: 2 }), reducer: () => new MeanReducer() }, { shape: [numClasses, embeddingSize], draw: (r) => r.normal() });
    this.softmaxScale = options.softmaxScale ?? 1;
    check(Number.isFinite(this.softmaxScale) && this.softmaxScale > 0, 'softmaxScale', options.softmaxScale, 'a finite number > 0');
  }
  protected terms(embeddings: tf.Tensor2D, labels: Int32Array, tuple: IndicesTuple | undefined): LossTerms {
    this.checkClassLabels(labels, embeddings);
    const proxies = this.distance.normalizeEmbeddings ? l2Normalize(this.weights as tf.Tensor2D) : (this.weights as tf.Tensor2D);
    let mat = this.distance.matrix(embeddings, proxies);
    if (!this.distance.inverted) mat = tf.neg(mat);
    const z = tf.mul(mat, this.softmaxScale) as tf.Tensor2D;
    const all = tf.ones(z.shape) as tf.Tensor2D;
    const same = maskedLogSumExp(z, oneHot(labels, this.numClasses), false, 1);
    const losses = tf.mul(tf.sub(maskedLogSumExp(z, all, false, 1), same), tf.tensor1d(tupleWeights(tuple, labels.length)));
    return { loss: { losses, anchors: arange(labels.length), type: 'element' } };
  }
}

/** Options of {@link NormalizedSoftmaxLoss}. */
export interface NormalizedSoftmaxOptions extends WeightLossOptions {
  /** σ; default 0.05. */
  temperature?: number;
}

/**
 * Normalized softmax (Zhai & Wu, BMVC 2019): cross-entropy over `xᵀw_c / σ`
 * with x and each class weight L2-normalised; `weights` is `[D, C]`, standard
 * normal at start. Defaults σ 0.05, {@link DotProductSimilarity} (normalising),
 * {@link MeanReducer}; miner weights multiply the per-sample losses.
 */
export class NormalizedSoftmaxLoss extends WeightLoss {
  readonly name = 'normalized_softmax';
  readonly temperature: number;
  constructor(numClasses: number, embeddingSize: number, options: NormalizedSoftmaxOptions = {}) {
    super(numClasses, embeddingSize, options, { distance: () => new DotProductSimilarity(), reducer: () => new MeanReducer() }, { shape: [embeddingSize, numClasses], draw: (r) => r.normal() });
    this.temperature = options.temperature ?? 0.05;
    check(Number.isFinite(this.temperature) && this.temperature > 0, 'temperature', options.temperature, 'a finite number > 0');
  }
  protected terms(embeddings: tf.Tensor2D, labels: Int32Array, tuple: IndicesTuple | undefined): LossTerms {
    this.checkClassLabels(labels, embeddings);
    const classes = l2Normalize(tf.transpose(this.weights) as tf.Tensor2D);
    const logits = tf.div(this.distance.matrix(embeddings, classes), this.temperature) as tf.Tensor2D;
    const losses = tf.mul(crossEntropy(logits, labels), tf.tensor1d(tupleWeights(tuple, labels.length)));
    return { loss: { losses, anchors: arange(labels.length), type: 'element' } };
  }
}

/** Options of {@link CosFaceLoss} and {@link ArcFaceLoss}. */
export interface MarginSoftmaxOptions extends WeightLossOptions {
  /** CosFace: cosine margin, default 0.35. ArcFace: angular margin in degrees, default 28.6 (0.5 rad). */
  margin?: number;
  /** Logit scale s; default 64. */
  scale?: number;
}

abstract class MarginSoftmaxLoss extends WeightLoss {
  readonly margin: number;
  readonly scale: number;
  constructor(numClasses: number, embeddingSize: number, options: MarginSoftmaxOptions, defaultMargin: number) {
    super(numClasses, embeddingSize, options, { distance: () => new CosineSimilarity(), reducer: () => new MeanReducer() }, { shape: [embeddingSize, numClasses], draw: (r) => r.normal() });
    check(this.distance instanceof CosineSimilarity, 'distance', this.distance.name, 'CosineSimilarity (the only distance these losses allow)');
    this.margin = options.margin ?? defaultMargin;
    this.scale = options.scale ?? 64;
    check(Number.isFinite(this.margin), 'margin', options.margin, 'a finite number');
    check(Number.isFinite(this.scale) && this.scale > 0, 'scale', options.scale, 'a finite number > 0');
  }
  /** The target-class logit before scaling, from the target cosine. */
  protected abstract targetCosine(cos: tf.Tensor): tf.Tensor;
  protected terms(embeddings: tf.Tensor2D, labels: Int32Array, tuple: IndicesTuple | undefined): LossTerms {
    this.checkClassLabels(labels, embeddings);
    const cos = this.distance.matrix(embeddings, tf.transpose(this.weights) as tf.Tensor2D);
    const mask = oneHot(labels, this.numClasses);
    const logits = tf.mul(tf.add(cos, tf.mul(mask, tf.sub(this.targetCosine(cos), cos))), this.scale) as tf.Tensor2D;
    const losses = tf.mul(crossEntropy(logits, labels), tf.tensor1d(tupleWeights(tuple, labels.length)));
    return { loss: { losses, anchors: arange(labels.length), type: 'element' } };
  }
}

/**
 * CosFace / large-margin cosine loss (Wang et al., CVPR 2018): cross-entropy
 * over `s(cos θ_y − m)` for the target and `s·cos θ_j` otherwise; `weights` is
 * `[D, C]`. Defaults m 0.35, s 64, {@link CosineSimilarity}, {@link MeanReducer}.
 */
export class CosFaceLoss extends MarginSoftmaxLoss {
  readonly name = 'cosface';
  constructor(numClasses: number, embeddingSize: number, options: MarginSoftmaxOptions = {}) {
    super(numClasses, embeddingSize, options, 0.35);
  }
  protected targetCosine(cos: tf.Tensor): tf.Tensor {
    return tf.sub(cos, this.margin);
  }
}

/**
 * ArcFace / additive angular margin (Deng et al., CVPR 2019): cross-entropy over
 * `s·cos(θ_y + m)` for the target and `s·cos θ_j` otherwise, margin given in
 * **degrees**; where θ_y > π − m (so θ_y + m would wrap past π) the target
 * logit is `cos θ_y − m·sin m`, which keeps it decreasing in θ_y. `weights` is
 * `[D, C]`. Defaults m 28.6° (0.5 rad), s 64, {@link CosineSimilarity},
 * {@link MeanReducer}.
 */
export class ArcFaceLoss extends MarginSoftmaxLoss {
  readonly name = 'arcface';
  constructor(numClasses: number, embeddingSize: number, options: MarginSoftmaxOptions = {}) {
    super(numClasses, embeddingSize, options, 28.6);
  }
  protected override fusedSpec(embeddings: tf.Tensor2D, labels: Int32Array, tuple: IndicesTuple | undefined): FusedLossSpec | undefined {
    if (tuple !== undefined || !isDefaultCosine(this.distance) || !isReducer(this.reducer, MeanReducer)) return undefined;
    this.checkClassLabels(labels, embeddings);
    return { kind: 'arcface', constants: [(this.margin * Math.PI) / 180, this.scale], lists: [labels], lengths: [0, 0], weights: { variable: this.weights, layout: 'DC' } };
  }
  protected targetCosine(cos: tf.Tensor): tf.Tensor {
    const m = (this.margin * Math.PI) / 180;
    // cos(θ + m) = cos θ·cos m − sin θ·sin m with sin θ = √(1 − cos²θ) ≥ 0 on [0, π]; clamped so the
    // square root's gradient stays finite.
    const c = tf.clipByValue(cos, -1 + 1e-7, 1 - 1e-7);
    const shifted = tf.sub(tf.mul(c, Math.cos(m)), tf.mul(tf.sqrt(tf.sub(1, tf.square(c))), Math.sin(m)));
    return tf.where(tf.less(c, -Math.cos(m)), tf.sub(c, m * Math.sin(m)), shifted);
  }
}

/** Options of {@link SoftTripleLoss}. */
export interface SoftTripleOptions extends WeightLossOptions {
  /** Centres per class K; default 10. */
  centersPerClass?: number;
  /** λ, the logit scale; default 20. */
  la?: number;
  /** γ, the softmax temperature over a class's centres; default 0.1. */
  gamma?: number;
  /** δ, the target margin; default 0.01. */
  margin?: number;
}

/**
 * SoftTriple (Qian et al., ICCV 2019): class similarity
 * `S'_{i,c} = Σ_k softmax_k(xᵀw_c^k / γ)·xᵀw_c^k` over K centres per class, then
 * cross-entropy over `λ(S'_{i,c} − δ·1[c = y])`. `weights` is `[D, C·K]`
 * (class-major), initialised uniform ±1/√(C·K) (Kaiming-uniform with a = √5).
 * Defaults K 10, λ 20, γ 0.1, δ 0.01, {@link CosineSimilarity}, {@link MeanReducer}.
 * The centre-sparsity regulariser is not included.
 */
export class SoftTripleLoss extends WeightLoss {
  readonly name = 'soft_triple';
  readonly centersPerClass: number;
  readonly la: number;
  readonly gamma: number;
  readonly margin: number;
  constructor(numClasses: number, embeddingSize: number, options: SoftTripleOptions = {}) {
    const k = options.centersPerClass ?? 10;
    check(Number.isInteger(k) && k >= 1, 'centersPerClass', options.centersPerClass, 'a positive integer');
    const bound = 1 / Math.sqrt(numClasses * k);
    super(numClasses, embeddingSize, options, { distance: () => new CosineSimilarity(), reducer: () => new MeanReducer() }, { shape: [embeddingSize, numClasses * k], draw: (r) => r.uniform(-bound, bound) });
    this.centersPerClass = k;
    this.la = options.la ?? 20;
    this.gamma = options.gamma ?? 0.1;
    this.margin = options.margin ?? 0.01;
    check(Number.isFinite(this.la) && this.la > 0, 'la', options.la, 'a finite number > 0');
    check(Number.isFinite(this.gamma) && this.gamma > 0, 'gamma', options.gamma, 'a finite number > 0');
    check(Number.isFinite(this.margin), 'margin', options.margin, 'a finite number');
  }
  protected terms(embeddings: tf.Tensor2D, labels: Int32Array, tuple: IndicesTuple | undefined): LossTerms {
    this.checkClassLabels(labels, embeddings);
    const n = labels.length;
    const sim = tf.reshape(this.distance.matrix(embeddings, tf.transpose(this.weights) as tf.Tensor2D), [n, this.numClasses, this.centersPerClass]);
    const prob = tf.softmax(tf.div(sim, this.gamma));
    const simToClasses = tf.sum(tf.mul(prob, sim), 2);
    const logits = tf.mul(tf.sub(simToClasses, tf.mul(oneHot(labels, this.numClasses), this.margin)), this.la) as tf.Tensor2D;
    const losses = tf.mul(crossEntropy(logits, labels), tf.tensor1d(tupleWeights(tuple, n)));
    return { loss: { losses, anchors: arange(n), type: 'element' } };
  }
}
