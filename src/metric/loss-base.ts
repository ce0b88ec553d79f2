/**
 * The shape every metric loss shares (pytorch-metric-learning's
 * `BaseMetricLossFunction`): a distance, a reducer, and a method that turns
 * embeddings, labels and optional miner tuples into named terms.
 */
import { tf } from '../engine/core.js';
import { check } from '../errors.js';
import { Distance } from './distances.js';
import { checkEmbeddings, checkEmbeddingShape, toLabelArray, type LabelsInput } from './inputs.js';
import { Reducer, reduceTerms, type LossTerms, type ReducerSpec } from './reducers.js';
import { fusedLossesAvailable, fusedMetricLoss, type FusedLossSpec } from './fused.js';
import { checkIndicesTuple, type IndicesTuple } from './tuples.js';

/** Options every loss takes. */
export interface LossOptions {
  /** Distance or similarity; each loss documents its default. */
  distance?: Distance;
  /** A reducer, or one per term name (plus `default`); each loss documents its default. */
  reducer?: ReducerSpec;
}

/**
 * A metric-learning loss. {@link compute} returns a scalar tensor that trains
 * with any tfjs optimizer (call it inside `optimizer.minimize`); losses that
 * own weights (proxies, class weights, β) list them in {@link trainableWeights},
 * which want their own optimizer.
 */
export abstract class MetricLoss {
  readonly distance: Distance;
  readonly reducer: ReducerSpec;
  /** Name used by the CLI and configs. */
  abstract readonly name: string;

  constructor(options: LossOptions, defaults: { distance: () => Distance; reducer: () => ReducerSpec }) {
    check(options !== null && typeof options === 'object', 'options', options, 'a loss options object');
    check(options.distance === undefined || options.distance instanceof Distance, 'distance', options.distance, 'a Distance (LpDistance, CosineSimilarity, DotProductSimilarity, SNRDistance)');
    check(
      options.reducer === undefined || options.reducer instanceof Reducer || (typeof options.reducer === 'object' && options.reducer !== null),
      'reducer',
      options.reducer,
      'a Reducer or { termName: Reducer, default?: Reducer }',
    );
    this.distance = options.distance ?? defaults.distance();
    this.reducer = options.reducer ?? defaults.reducer();
  }

  /**
   * The loss of a batch: a scalar tensor (the caller owns it).
   * @param embeddings `[N, D]` float32 embeddings
   * @param labels N integer labels (tensor or array)
   * @param indicesTuple a miner's pairs `[a1, p, a2, n]` or triplets `[a, p, n]`; default every valid tuple in the batch
   */
  compute(embeddings: tf.Tensor2D, labels: LabelsInput, indicesTuple?: IndicesTuple): tf.Scalar {
    checkEmbeddingShape(embeddings);
    const n = embeddings.shape[0];
    const ls = toLabelArray(labels, n);
    const tuple = indicesTuple === undefined ? undefined : checkIndicesTuple(indicesTuple, n);
    if (fusedLossesAvailable()) {
      // The fused kernel checks finiteness itself (with the same message), saving a read-back per step.
      const spec = this.fusedSpec(embeddings, ls, tuple);
      if (spec !== undefined) return tf.tidy(() => fusedMetricLoss(spec, embeddings));
    }
    checkEmbeddings(embeddings);
    return tf.tidy(() => {
      const terms = this.terms(embeddings, ls, tuple);
      let total = reduceTerms(terms, this.reducer, n);
      // Zero-valued links keep the loss connected to every input it could depend on, so
      // optimizer.minimize finds its variables even when no tuple is valid (loss 0).
      total = tf.add(total, tf.mul(tf.sum(embeddings), 0));
      for (const w of this.trainableWeights) total = tf.add(total, tf.mul(tf.sum(w), 0));
      return total as tf.Scalar;
    });
  }

  /**
   * This loss on this batch as the fused kernel computes it (see fused.ts), or undefined where only the
   * composed ops apply: the default for every loss, overridden by those the kernel knows, each of which
   * accepts only its default distance and reducer (and subclasses that change nothing else).
   */
  protected fusedSpec(_embeddings: tf.Tensor2D, _labels: Int32Array, _tuple: IndicesTuple | undefined): FusedLossSpec | undefined {
    return undefined;
  }

  /** The loss's own trainable weights (empty for pair and triplet losses). */
  get trainableWeights(): tf.Variable[] {
    return [];
  }

  /** Frees the loss's weights. */
  dispose(): void {
    for (const w of this.trainableWeights) w.dispose();
  }

  /** Named terms before reduction; runs inside a tidy scope. */
  protected abstract terms(embeddings: tf.Tensor2D, labels: Int32Array, tuple: IndicesTuple | undefined): LossTerms;
}

/** A constant copy of `t` (no gradient flows through it), for terms the formula treats as fixed weights. */
export function detach(t: tf.Tensor): tf.Tensor {
  return tf.tensor(t.dataSync(), t.shape, t.dtype);
}

/** The logit of a masked-out entry: e^{MASKED_LOGIT − anything finite} is 0, and it stays finite. */
export const MASKED_LOGIT = -1e30;

/**
 * `log Σ_{j: mask} exp(x_j)` along `axis` (plus a zero term when `addOne`, i.e.
 * `log(1 + Σ exp)`); rows with no unmasked entry give 0, as in
 * pytorch-metric-learning's `logsumexp(keep_mask=…)`.
 */
export function maskedLogSumExp(x: tf.Tensor2D, mask: tf.Tensor2D, addOne: boolean, axis: 0 | 1): tf.Tensor1D {
  const keep = tf.greater(mask, 0);
  const masked = tf.where(keep, x, tf.fill(x.shape, MASKED_LOGIT)) as tf.Tensor2D;
  // The shift is a constant: subtracting any constant leaves log-sum-exp and its gradient unchanged. With addOne
  // the 1 is e^0, added after the shift rather than as a concatenated column of zeros (whose gradient, a split,
  // ran as a slow cpu kernel).
  let shift = detach(tf.max(masked, axis, true));
  if (addOne) shift = tf.maximum(shift, 0);
  let sum = tf.sum(tf.exp(tf.sub(masked, shift)), axis);
  if (addOne) sum = tf.add(sum, tf.exp(tf.neg(tf.squeeze(shift, [axis]))));
  const lse = tf.add(tf.squeeze(shift, [axis]), tf.log(sum));
  if (addOne) return lse as tf.Tensor1D;
  return tf.where(tf.greater(tf.sum(mask, axis), 0), lse, tf.zerosLike(lse)) as tf.Tensor1D;
}

/** True when `reducer` is exactly an instance of `kind` (not a per-term map, not a subclass). */
export function isReducer(reducer: ReducerSpec, kind: abstract new (...args: never[]) => Reducer): boolean {
  return reducer instanceof Reducer && Object.getPrototypeOf(reducer) === kind.prototype;
}

/** The zero-loss terms of a batch without any valid tuple. */
export const NO_TERMS: LossTerms = {};
