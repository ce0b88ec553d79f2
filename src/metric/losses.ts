/**
 * Pair- and triplet-based metric-learning losses, with pytorch-metric-learning
 * (v2) formulas and defaults (reference note §2.6). Every loss works with any
 * distance through {@link Distance.margin}: the formulas below are written for a
 * distance d; with a similarity s the direction flips.
 */
import { tf } from '../engine/core.js';
import { check } from '../errors.js';
import { CosineSimilarity, Distance, isDefaultCosine, isDefaultLp, LpDistance, SNRDistance } from './distances.js';
import { detach, isReducer, MASKED_LOGIT, maskedLogSumExp, MetricLoss, NO_TERMS, type LossOptions } from './loss-base.js';
import type { FusedLossSpec } from './fused.js';
import { AvgNonZeroReducer, MeanReducer, DivisorReducer, type LossTerms } from './reducers.js';
import { gatherPairs, maskOf, toPairs, toTriplets, tupleWeights, type IndicesTuple } from './tuples.js';

function finite(value: unknown, argument: string, expected = 'a finite number'): number {
  check(typeof value === 'number' && Number.isFinite(value), argument, value, expected);
  return value;
}
function positive(value: unknown, argument: string): number {
  check(typeof value === 'number' && Number.isFinite(value) && value > 0, argument, value, 'a finite number > 0');
  return value;
}

/** Options of {@link ContrastiveLoss}. */
export interface ContrastiveOptions extends LossOptions {
  /** Positive pairs are penalised beyond this; default 0. */
  posMargin?: number;
  /** Negative pairs are penalised within this; default 1. */
  negMargin?: number;
}

/**
 * Contrastive loss (Hadsell, Chopra & LeCun 2006): positive pair `[d − m_pos]_+`,
 * negative pair `[m_neg − d]_+` (similarity: `[m_pos − s]_+`, `[s − m_neg]_+`).
 * Defaults: m_pos 0, m_neg 1, {@link LpDistance} (normalised, p 2), and
 * {@link AvgNonZeroReducer} applied to the positive and the negative terms
 * **separately**, the two results summed.
 */
export class ContrastiveLoss extends MetricLoss {
  readonly name: string = 'contrastive';
  readonly posMargin: number;
  readonly negMargin: number;
  constructor(options: ContrastiveOptions = {}, defaultDistance: () => Distance = () => new LpDistance()) {
    super(options, { distance: defaultDistance, reducer: () => new AvgNonZeroReducer() });
    this.posMargin = finite(options.posMargin ?? 0, 'posMargin');
    this.negMargin = finite(options.negMargin ?? 1, 'negMargin');
  }
  protected override fusedSpec(_e: tf.Tensor2D, labels: Int32Array, tuple: IndicesTuple | undefined): FusedLossSpec | undefined {
    if (this.constructor !== ContrastiveLoss || !isDefaultLp(this.distance) || !isReducer(this.reducer, AvgNonZeroReducer)) return undefined;
    return pairSpec('contrastive', [this.posMargin, this.negMargin], labels, tuple);
  }
  protected terms(embeddings: tf.Tensor2D, labels: Int32Array, tuple: IndicesTuple | undefined): LossTerms {
    const [a1, p, a2, n] = toPairs(tuple, labels);
    const mat = this.distance.matrix(embeddings);
    const terms: LossTerms = {};
    if (a1.length > 0) terms.pos_loss = { losses: tf.relu(this.distance.margin(gatherPairs(mat, a1, p), this.posMargin)), anchors: a1, type: 'pos_pair' };
    if (a2.length > 0) terms.neg_loss = { losses: tf.relu(this.distance.margin(this.negMargin, gatherPairs(mat, a2, n))), anchors: a2, type: 'neg_pair' };
    return terms;
  }
}

/** A pair loss's fused spec: the tuple's pairs, or (no tuple) the labels, from which the kernel forms every pair. */
function pairSpec(kind: FusedLossSpec['kind'], constants: number[], labels: Int32Array, tuple: IndicesTuple | undefined): FusedLossSpec {
  if (tuple === undefined) return { kind, constants, lists: [labels], lengths: [-1, -1] };
  const [a1, p, a2, n] = toPairs(tuple, labels);
  return { kind, constants, lists: [a1, p, a2, n], lengths: [a1.length, a2.length] };
}

/** Options of {@link SignalToNoiseRatioContrastiveLoss}. */
export interface SnrContrastiveOptions extends ContrastiveOptions {
  /** Weight of the zero-mean regulariser `mean_i |Σ_d x_id|` on the embeddings; default 0. */
  zeroMeanWeight?: number;
}

/**
 * Signal-to-noise-ratio contrastive loss (Yuan et al., CVPR 2019): the
 * contrastive loss on {@link SNRDistance} (defaults m_pos 0, m_neg 1,
 * AvgNonZero per term), plus an optional zero-mean regulariser.
 */
export class SignalToNoiseRatioContrastiveLoss extends ContrastiveLoss {
  override readonly name = 'snr_contrastive';
  readonly zeroMeanWeight: number;
  constructor(options: SnrContrastiveOptions = {}) {
    super(options, () => new SNRDistance());
    this.zeroMeanWeight = finite(options.zeroMeanWeight ?? 0, 'zeroMeanWeight');
  }
  protected override terms(embeddings: tf.Tensor2D, labels: Int32Array, tuple: IndicesTuple | undefined): LossTerms {
    const terms = super.terms(embeddings, labels, tuple);
    if (this.zeroMeanWeight !== 0) {
      terms.zero_mean = { losses: tf.mul(tf.mean(tf.abs(tf.sum(embeddings, 1))), this.zeroMeanWeight), type: 'already_reduced' };
    }
    return terms;
  }
}

/** Options of {@link TripletMarginLoss}. */
export interface TripletMarginOptions extends LossOptions {
  /** Default 0.05. */
  margin?: number;
  /** Use `min(d_an, d_pn)` as the negative distance (Balntas et al. 2016); default false. */
  swap?: boolean;
  /** `softplus` instead of `relu`; default false. */
  smoothLoss?: boolean;
}

/**
 * Triplet margin loss: `[d_ap − d_an + m]_+` over every triplet (or the
 * miner's); `softplus` with `smoothLoss`; with `swap` the negative distance is
 * the closer of d_an and d_pn. Defaults: margin 0.05, {@link LpDistance},
 * {@link AvgNonZeroReducer} over triplets.
 */
export class TripletMarginLoss extends MetricLoss {
  readonly name = 'triplet';
  readonly margin: number;
  readonly swap: boolean;
  readonly smoothLoss: boolean;
  constructor(options: TripletMarginOptions = {}) {
    super(options, { distance: () => new LpDistance(), reducer: () => new AvgNonZeroReducer() });
    this.margin = finite(options.margin ?? 0.05, 'margin');
    this.swap = options.swap ?? false;
    this.smoothLoss = options.smoothLoss ?? false;
  }
  protected override fusedSpec(_e: tf.Tensor2D, labels: Int32Array, tuple: IndicesTuple | undefined): FusedLossSpec | undefined {
    if (this.swap || this.smoothLoss || !isDefaultLp(this.distance) || !isReducer(this.reducer, AvgNonZeroReducer)) return undefined;
    const [a, p, n] = toTriplets(tuple, labels);
    return { kind: 'triplet', constants: [this.margin], lists: [a, p, n], lengths: [a.length, 0] };
  }
  protected terms(embeddings: tf.Tensor2D, labels: Int32Array, tuple: IndicesTuple | undefined): LossTerms {
    const [a, p, n] = toTriplets(tuple, labels);
    if (a.length === 0) return NO_TERMS;
    const mat = this.distance.matrix(embeddings);
    const ap = gatherPairs(mat, a, p);
    let an: tf.Tensor = gatherPairs(mat, a, n);
    if (this.swap) an = this.distance.closest(an, gatherPairs(mat, p, n));
    const violation = tf.add(this.distance.margin(ap, an), this.margin);
    return { loss: { losses: this.smoothLoss ? tf.softplus(violation) : tf.relu(violation), anchors: a, type: 'triplet' } };
  }
}

/** Options of {@link MultiSimilarityLoss}. */
export interface MultiSimilarityOptions extends LossOptions {
  /** Positive weight α; default 2. */
  alpha?: number;
  /** Negative weight β; default 50. */
  beta?: number;
  /** Similarity offset λ; default 0.5. */
  base?: number;
}

/**
 * Multi-similarity loss (Wang et al., CVPR 2019), per anchor i:
 * `(1/α)·log(1 + Σ_{k∈P_i} e^{−α(S_ik − λ)}) + (1/β)·log(1 + Σ_{k∈N_i} e^{β(S_ik − λ)})`.
 * Defaults α 2, β 50, λ 0.5, {@link CosineSimilarity}, {@link MeanReducer}
 * over all batch elements.
 */
export class MultiSimilarityLoss extends MetricLoss {
  readonly name = 'multi_similarity';
  readonly alpha: number;
  readonly beta: number;
  readonly base: number;
  constructor(options: MultiSimilarityOptions = {}) {
    super(options, { distance: () => new CosineSimilarity(), reducer: () => new MeanReducer() });
    this.alpha = positive(options.alpha ?? 2, 'alpha');
    this.beta = positive(options.beta ?? 50, 'beta');
    this.base = finite(options.base ?? 0.5, 'base');
  }
  protected override fusedSpec(_e: tf.Tensor2D, labels: Int32Array, tuple: IndicesTuple | undefined): FusedLossSpec | undefined {
    if (!isDefaultCosine(this.distance) || !isReducer(this.reducer, MeanReducer)) return undefined;
    return pairSpec('multi_similarity', [this.alpha, this.beta, this.base], labels, tuple);
  }
  protected terms(embeddings: tf.Tensor2D, labels: Int32Array, tuple: IndicesTuple | undefined): LossTerms {
    const n = labels.length;
    const [a1, p, a2, ng] = toPairs(tuple, labels);
    const mat = this.distance.matrix(embeddings);
    const pos = maskedLogSumExp(tf.mul(this.distance.margin(mat, this.base), this.alpha) as tf.Tensor2D, maskOf(n, n, a1, p), true, 1);
    const neg = maskedLogSumExp(tf.mul(this.distance.margin(this.base, mat), this.beta) as tf.Tensor2D, maskOf(n, n, a2, ng), true, 1);
    return { loss: { losses: tf.add(tf.div(pos, this.alpha), tf.div(neg, this.beta)), anchors: arange(n), type: 'element' } };
  }
}

/** Options of {@link NTXentLoss} and {@link SupConLoss}. */
export interface TemperatureOptions extends LossOptions {
  /** Softmax temperature τ; default 0.07 (NT-Xent) or 0.1 (SupCon). */
  temperature?: number;
}

/**
 * NT-Xent / InfoNCE (Chen et al. 2020; Oord et al. 2018), per positive pair (a, p):
 * `−log( e^{s_ap/τ} / (e^{s_ap/τ} + Σ_{n ∈ N_a} e^{s_an/τ}) )` — the
 * denominator holds this positive and every negative of the same anchor, not
 * the anchor's other positives. Defaults τ 0.07, {@link CosineSimilarity},
 * {@link MeanReducer} over positive pairs. With a distance, s = −d.
 */
export class NTXentLoss extends MetricLoss {
  readonly name = 'ntxent';
  readonly temperature: number;
  constructor(options: TemperatureOptions = {}) {
    super(options, { distance: () => new CosineSimilarity(), reducer: () => new MeanReducer() });
    this.temperature = positive(options.temperature ?? 0.07, 'temperature');
  }
  protected override fusedSpec(_e: tf.Tensor2D, labels: Int32Array, tuple: IndicesTuple | undefined): FusedLossSpec | undefined {
    if (this.constructor !== NTXentLoss || !isDefaultCosine(this.distance) || !isReducer(this.reducer, MeanReducer)) return undefined;
    return pairSpec('ntxent', [this.temperature], labels, tuple);
  }
  protected terms(embeddings: tf.Tensor2D, labels: Int32Array, tuple: IndicesTuple | undefined): LossTerms {
    const [a1, p, a2, n] = toPairs(tuple, labels);
    if (a1.length === 0 || a2.length === 0) return NO_TERMS;
    const mat = this.distance.matrix(embeddings);
    const sign = this.distance.inverted ? 1 : -1;
    const size = labels.length;
    const logits = tf.mul(mat, sign / this.temperature) as tf.Tensor2D;
    const pos = gatherPairs(logits, a1, p);
    // The denominator of pair (a, p) is e^{pos} plus one sum per anchor, Σ_k c_ak·e^{s_ak/τ}, where c_ak counts
    // (a, k) among the negative pairs (duplicates count, as in a [positives × negatives] matrix). Built per anchor
    // it costs O(N²) rather than O(P·|negatives|): 384 × 15,872 logits on a 128-image batch of 32 classes.
    const counts = new Float32Array(size * size);
    for (let j = 0; j < a2.length; j++) counts[(a2[j] as number) * size + (n[j] as number)]! += 1;
    const countT = tf.tensor2d(counts, [size, size]);
    const has = tf.greater(countT, 0);
    const masked = tf.where(has, logits, tf.fill(logits.shape, MASKED_LOGIT)) as tf.Tensor2D;
    // Shifts are constants: subtracting one leaves log-sum-exp and its gradient unchanged.
    const rowMax = detach(tf.max(masked, 1)) as tf.Tensor1D;
    const rowSum = tf.sum(tf.mul(countT, tf.exp(tf.sub(masked, tf.expandDims(rowMax, 1)))), 1);
    const anchors = tf.tensor1d(a1, 'int32');
    const negMax = tf.gather(rowMax, anchors);
    const shift = detach(tf.maximum(pos, negMax));
    // Anchors without negatives: rowSum is 0, so the pair's loss is log(e^0) = 0.
    const lse = tf.add(shift, tf.log(tf.add(tf.exp(tf.sub(pos, shift)), tf.mul(tf.exp(tf.sub(negMax, shift)), tf.gather(rowSum, anchors)))));
    return { loss: { losses: tf.sub(lse, pos), anchors: a1, type: 'pos_pair' } };
  }
}

/**
 * Supervised contrastive loss (Khosla et al. 2020), per anchor i with
 * positives P_i: `−(1/|P_i|) Σ_{p∈P_i} log( e^{s_ip/τ} / Σ_{k∈P_i∪N_i} e^{s_ik/τ} )`.
 * Defaults τ 0.1, {@link CosineSimilarity}, {@link AvgNonZeroReducer} over
 * anchors (anchors without positives contribute 0 and drop out).
 */
export class SupConLoss extends MetricLoss {
  readonly name = 'supcon';
  readonly temperature: number;
  constructor(options: TemperatureOptions = {}) {
    super(options, { distance: () => new CosineSimilarity(), reducer: () => new AvgNonZeroReducer() });
    this.temperature = positive(options.temperature ?? 0.1, 'temperature');
  }
  protected terms(embeddings: tf.Tensor2D, labels: Int32Array, tuple: IndicesTuple | undefined): LossTerms {
    const n = labels.length;
    const [a1, p, a2, ng] = toPairs(tuple, labels);
    if (a1.length === 0 || a2.length === 0) return NO_TERMS;
    const mat = tf.mul(this.distance.matrix(embeddings), (this.distance.inverted ? 1 : -1) / this.temperature) as tf.Tensor2D;
    const posMask = maskOf(n, n, a1, p);
    const denom = maskedLogSumExp(mat, tf.add(posMask, maskOf(n, n, a2, ng)) as tf.Tensor2D, false, 1);
    const logProb = tf.sub(mat, tf.expandDims(denom, 1));
    const count = tf.sum(posMask, 1);
    const meanLogProbPos = tf.div(tf.sum(tf.mul(posMask, logProb), 1), tf.maximum(count, 1));
    return { loss: { losses: tf.neg(meanLogProbPos), anchors: arange(n), type: 'element' } };
  }
}

/** Options of {@link LiftedStructureLoss}. */
export interface LiftedStructureOptions extends LossOptions {
  /** Default 0. */
  posMargin?: number;
  /** Default 1. */
  negMargin?: number;
}

/**
 * Lifted structure loss (Oh Song et al., CVPR 2016) in pytorch-metric-learning's
 * form, per positive pair (a, p):
 * `½·[ log Σ_{(i,n) neg, i ∈ {a,p}} e^{m_neg − d_in} + (d_ap − m_pos) ]_+²`.
 * Defaults m_pos 0, m_neg 1, {@link LpDistance}, {@link MeanReducer} over positive pairs.
 */
export class LiftedStructureLoss extends MetricLoss {
  readonly name = 'lifted_structure';
  readonly posMargin: number;
  readonly negMargin: number;
  constructor(options: LiftedStructureOptions = {}) {
    super(options, { distance: () => new LpDistance(), reducer: () => new MeanReducer() });
    this.posMargin = finite(options.posMargin ?? 0, 'posMargin');
    this.negMargin = finite(options.negMargin ?? 1, 'negMargin');
  }
  protected terms(embeddings: tf.Tensor2D, labels: Int32Array, tuple: IndicesTuple | undefined): LossTerms {
    const [a1, p, a2, n] = toPairs(tuple, labels);
    if (a1.length === 0 || a2.length === 0) return NO_TERMS;
    const mat = this.distance.matrix(embeddings);
    const keep = new Float32Array(a1.length * a2.length);
    for (let i = 0; i < a1.length; i++) for (let j = 0; j < a2.length; j++) if (a2[j] === a1[i] || a2[j] === p[i]) keep[i * a2.length + j] = 1;
    const remainingPos = this.distance.margin(gatherPairs(mat, a1, p), this.posMargin);
    const remainingNeg = tf.tile(tf.expandDims(this.distance.margin(this.negMargin, gatherPairs(mat, a2, n)), 0), [a1.length, 1]) as tf.Tensor2D;
    const negTerm = maskedLogSumExp(remainingNeg, tf.tensor2d(keep, [a1.length, a2.length]), false, 1);
    const perPair = tf.div(tf.square(tf.relu(tf.add(negTerm, remainingPos))), 2);
    return { loss: { losses: perPair, anchors: a1, type: 'pos_pair' } };
  }
}

/** Options of {@link CircleLoss}. */
export interface CircleOptions extends LossOptions {
  /** Relaxation m; default 0.4. */
  m?: number;
  /** Scale γ; default 80. */
  gamma?: number;
}

/**
 * Circle loss (Sun et al., CVPR 2020), per anchor:
 * `softplus( log Σ_{p} e^{−γ α_p (s_p − Δ_p)} + log Σ_{n} e^{γ α_n (s_n − Δ_n)} )`
 * with α_p = [1 + m − s_p]_+ and α_n = [s_n + m]_+ held constant, Δ_p = 1 − m,
 * Δ_n = m; anchors lacking positives or negatives contribute 0. Defaults m 0.4,
 * γ 80, {@link CosineSimilarity} (required), {@link AvgNonZeroReducer}.
 */
export class CircleLoss extends MetricLoss {
  readonly name = 'circle';
  readonly m: number;
  readonly gamma: number;
  constructor(options: CircleOptions = {}) {
    super(options, { distance: () => new CosineSimilarity(), reducer: () => new AvgNonZeroReducer() });
    check(this.distance instanceof CosineSimilarity, 'distance', this.distance.name, 'CosineSimilarity (the circle loss is defined on cosine similarity)');
    this.m = finite(options.m ?? 0.4, 'm');
    this.gamma = positive(options.gamma ?? 80, 'gamma');
  }
  protected terms(embeddings: tf.Tensor2D, labels: Int32Array, tuple: IndicesTuple | undefined): LossTerms {
    const n = labels.length;
    const [a1, p, a2, ng] = toPairs(tuple, labels);
    const mat = this.distance.matrix(embeddings);
    const fixed = detach(mat);
    const posMask = maskOf(n, n, a1, p);
    const negMask = maskOf(n, n, a2, ng);
    const posLogits = tf.mul(tf.mul(tf.relu(tf.sub(1 + this.m, fixed)), tf.sub(mat, 1 - this.m)), -this.gamma) as tf.Tensor2D;
    const negLogits = tf.mul(tf.mul(tf.relu(tf.add(fixed, this.m)), tf.sub(mat, this.m)), this.gamma) as tf.Tensor2D;
    const both = tf.mul(tf.cast(tf.greater(tf.sum(posMask, 1), 0), 'float32'), tf.cast(tf.greater(tf.sum(negMask, 1), 0), 'float32'));
    const losses = tf.mul(tf.softplus(tf.add(maskedLogSumExp(posLogits, posMask, false, 1), maskedLogSumExp(negLogits, negMask, false, 1))), both);
    return { loss: { losses, anchors: arange(n), type: 'element' } };
  }
}

/** Options of {@link MarginLoss}. */
export interface MarginOptions extends LossOptions {
  /** α; default 0.2. */
  margin?: number;
  /** Weight ν of the β regulariser; default 0. */
  nu?: number;
  /** Initial β (the boundary between positive and negative distances); default 1.2. */
  beta?: number;
  /** Make β a trainable variable; default false. */
  learnBeta?: boolean;
  /** With `learnBeta`, one β per class (labels must be in [0, numClasses)); default one β for all. */
  numClasses?: number;
}

/**
 * Margin loss (Wu et al., "Sampling Matters", ICCV 2017), per triplet:
 * `[α + d_ap − β]_+ + [α + β − d_an]_+`, summed and divided by the number of
 * non-zero positive and negative terms ({@link DivisorReducer}); with
 * `learnBeta`, β is a variable (in {@link trainableWeights}) and `ν·β` is added.
 * Defaults α 0.2, β 1.2, ν 0, {@link LpDistance}.
 */
export class MarginLoss extends MetricLoss {
  readonly name = 'margin';
  readonly margin: number;
  readonly nu: number;
  readonly learnBeta: boolean;
  readonly numClasses: number | undefined;
  readonly beta: tf.Variable | tf.Tensor1D;
  constructor(options: MarginOptions = {}) {
    super(options, { distance: () => new LpDistance(), reducer: () => new DivisorReducer() });
    this.margin = finite(options.margin ?? 0.2, 'margin');
    this.nu = finite(options.nu ?? 0, 'nu');
    const beta0 = finite(options.beta ?? 1.2, 'beta');
    this.learnBeta = options.learnBeta ?? false;
    this.numClasses = options.numClasses;
    if (this.numClasses !== undefined) check(Number.isInteger(this.numClasses) && this.numClasses > 0, 'numClasses', this.numClasses, 'a positive integer');
    const init = tf.fill([this.learnBeta && this.numClasses !== undefined ? this.numClasses : 1], beta0) as tf.Tensor1D;
    this.beta = this.learnBeta ? tf.variable(init, true, `margin_beta_${variableId++}`) : init;
    if (this.learnBeta) init.dispose();
  }
  override get trainableWeights(): tf.Variable[] {
    return this.learnBeta ? [this.beta as tf.Variable] : [];
  }
  override dispose(): void {
    this.beta.dispose();
  }
  protected terms(embeddings: tf.Tensor2D, labels: Int32Array, tuple: IndicesTuple | undefined): LossTerms {
    const [a, p, n] = toTriplets(tuple, labels);
    if (a.length === 0) return NO_TERMS;
    let beta: tf.Tensor = this.beta;
    let betaIdx: Int32Array | undefined;
    if (this.beta.size > 1) {
      betaIdx = Int32Array.from(a, (i) => labels[i] as number);
      for (const c of betaIdx) if (!(c >= 0 && c < this.beta.size)) check(false, 'labels', c, `class ids in [0, ${this.beta.size}) for per-class β`);
      beta = tf.gather(this.beta, tf.tensor1d(betaIdx, 'int32'));
    }
    const mat = this.distance.matrix(embeddings);
    const posLoss = tf.relu(tf.add(this.distance.margin(gatherPairs(mat, a, p), beta), this.margin));
    const negLoss = tf.relu(tf.add(this.distance.margin(beta, gatherPairs(mat, a, n)), this.margin));
    const divisor = tf.tidy(() => tf.add(tf.sum(tf.cast(tf.greater(posLoss, 0), 'int32')), tf.sum(tf.cast(tf.greater(negLoss, 0), 'int32'))).dataSync()[0] as number);
    const terms: LossTerms = { margin_loss: { losses: tf.add(posLoss, negLoss), anchors: a, type: 'triplet', divisor } };
    if (this.learnBeta) {
      terms.beta_reg_loss =
        this.beta.size === 1
          ? { losses: tf.mul(tf.sum(this.beta), this.nu), type: 'already_reduced' }
          : { losses: tf.mul(beta, this.nu), anchors: a, type: 'element', divisor };
    }
    return terms;
  }
}
let variableId = 0;

/** Options of {@link FastAPLoss}. */
export interface FastAPOptions extends LossOptions {
  /** Histogram bins; default 10. */
  numBins?: number;
}

/**
 * FastAP (Cakir et al., "Deep Metric Learning to Rank", CVPR 2019): average
 * precision of each anchor's ranking approximated with a soft (triangular)
 * histogram of its distances over [0, 2^power]; loss `1 − FastAP` per anchor
 * that has a positive, times the miner weights. Defaults 10 bins,
 * {@link LpDistance} with power 2 (normalised, so distances lie in [0, 4]),
 * {@link MeanReducer}.
 */
export class FastAPLoss extends MetricLoss {
  readonly name = 'fastap';
  readonly numBins: number;
  constructor(options: FastAPOptions = {}) {
    super(options, { distance: () => new LpDistance({ power: 2 }), reducer: () => new MeanReducer() });
    check(this.distance instanceof LpDistance && this.distance.p === 2 && this.distance.normalizeEmbeddings, 'distance', this.distance.name, 'a normalised LpDistance with p = 2 (the histogram spans [0, 2^power])');
    this.numBins = options.numBins ?? 10;
    check(Number.isInteger(this.numBins) && this.numBins > 0, 'numBins', options.numBins, 'a positive integer');
  }
  protected terms(embeddings: tf.Tensor2D, labels: Int32Array, tuple: IndicesTuple | undefined): LossTerms {
    const n = labels.length;
    const weights = tupleWeights(tuple, n);
    const [a1, p, a2, ng] = toPairs(undefined, labels);
    const posCount = new Float32Array(n);
    for (const i of a1) posCount[i] = (posCount[i] as number) + 1;
    const anchors = Int32Array.from([...posCount.keys()].filter((i) => (posCount[i] as number) > 0));
    if (anchors.length === 0) return NO_TERMS;
    const mat = this.distance.matrix(embeddings);
    const power = (this.distance as LpDistance).power;
    const max = 2 ** power;
    const delta = max / this.numBins;
    const mids = tf.reshape(tf.linspace(0, max, this.numBins + 1), [-1, 1, 1]);
    // pulse[b, i, j]: triangular membership of d_ij in bin b.
    const pulse = tf.relu(tf.sub(1, tf.div(tf.abs(tf.sub(tf.expandDims(mat, 0), mids)), delta)));
    const posHist = tf.transpose(tf.sum(tf.mul(pulse, maskOf(n, n, a1, p)), 2)) as tf.Tensor2D;
    const negHist = tf.transpose(tf.sum(tf.mul(pulse, maskOf(n, n, a2, ng)), 2)) as tf.Tensor2D;
    const cumPos = tf.cumsum(posHist, 1);
    const cumAll = tf.cumsum(tf.add(posHist, negHist), 1);
    const product = tf.mul(posHist, cumPos);
    const safe = tf.logicalAnd(tf.greater(product, 0), tf.greater(cumAll, 0));
    const ratio = tf.where(safe, tf.div(product, tf.where(safe, cumAll, tf.onesLike(cumAll))), tf.zerosLike(product));
    const fastAp = tf.div(tf.sum(ratio, 1), tf.tensor1d(posCount.map((c) => Math.max(c, 1))));
    const idx = tf.tensor1d(anchors, 'int32');
    const losses = tf.mul(tf.gather(tf.sub(1, fastAp), idx), tf.gather(tf.tensor1d(weights), idx));
    return { loss: { losses, anchors, type: 'element' } };
  }
}

/** 0..n−1 as an Int32Array. */
export function arange(n: number): Int32Array {
  return Int32Array.from({ length: n }, (_, i) => i);
}
