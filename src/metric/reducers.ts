/**
 * Reducers turn a loss's per-element, per-pair or per-triplet values into one
 * scalar (pytorch-metric-learning's `reducers`). A loss returns named terms
 * ({@link LossTerms}); each term is reduced on its own and the results are
 * summed, so e.g. the contrastive loss averages its non-zero positive-pair
 * losses and its non-zero negative-pair losses separately and adds the two.
 */
import { tf } from '../engine/core.js';
import { check } from '../errors.js';

/** What a term's values are indexed by. */
export type ReductionType = 'element' | 'pos_pair' | 'neg_pair' | 'triplet' | 'already_reduced';

/** One named part of a loss before reduction. */
export interface LossTerm {
  /** Values to reduce: a vector (or a scalar for `already_reduced`). */
  losses: tf.Tensor;
  /** The sample (element), anchor of each pair, or anchor of each triplet a value belongs to. */
  anchors?: Int32Array;
  type: ReductionType;
  /** For {@link DivisorReducer}: the number to divide the sum by. */
  divisor?: number;
}

/** Named loss terms; the loss is the sum of their reductions. */
export type LossTerms = Record<string, LossTerm>;

/** Turns one {@link LossTerm} into a scalar. */
export abstract class Reducer {
  abstract readonly name: string;
  /** Reduces `term`; called inside the loss's tidy scope. `batchSize` is the number of embeddings. */
  reduce(term: LossTerm, batchSize: number): tf.Scalar {
    if (term.type === 'already_reduced') return tf.sum(term.losses);
    if (term.losses.size === 0) return tf.scalar(0);
    return this.reduceValues(term, batchSize);
  }
  protected abstract reduceValues(term: LossTerm, batchSize: number): tf.Scalar;
}

/** The mean of all values (zeros included). */
export class MeanReducer extends Reducer {
  readonly name = 'mean';
  protected reduceValues(term: LossTerm): tf.Scalar {
    return tf.mean(term.losses);
  }
}

/**
 * The mean of the values strictly above `low` and strictly below `high`; 0
 * when none qualifies. Defaults: low −∞, high +∞.
 */
export class ThresholdReducer extends Reducer {
  readonly name: string = 'threshold';
  readonly low: number;
  readonly high: number;
  constructor(options: { low?: number; high?: number } = {}) {
    super();
    this.low = options.low ?? -Infinity;
    this.high = options.high ?? Infinity;
    check(typeof this.low === 'number' && typeof this.high === 'number' && !Number.isNaN(this.low) && this.low < this.high, 'low/high', [options.low, options.high], 'numbers with low < high');
  }
  protected reduceValues(term: LossTerm): tf.Scalar {
    const keep = tf.logicalAnd(tf.greater(term.losses, this.low), tf.less(term.losses, this.high));
    const kept = tf.sum(tf.cast(keep, 'float32'));
    const total = tf.sum(tf.where(keep, term.losses, tf.zerosLike(term.losses)));
    // max(kept, 1): with nothing kept the total is 0, so the loss is 0.
    return tf.div(total, tf.maximum(kept, 1));
  }
}

/** The mean of the values above 0 (pytorch-metric-learning's `AvgNonZeroReducer` = `ThresholdReducer(low=0)`). */
export class AvgNonZeroReducer extends ThresholdReducer {
  override readonly name = 'avg_non_zero';
  constructor() {
    super({ low: 0 });
  }
}

/** The sum of the values divided by the term's `divisor` (0 when the divisor is 0). */
export class DivisorReducer extends Reducer {
  readonly name = 'divisor';
  protected reduceValues(term: LossTerm): tf.Scalar {
    check(typeof term.divisor === 'number', 'divisor', term.divisor, 'a number set by the loss (DivisorReducer needs a loss that provides one)');
    return term.divisor === 0 ? tf.scalar(0) : tf.div(tf.sum(term.losses), term.divisor);
  }
}

/**
 * Averages (or sums) each anchor's pair or triplet values into one value per
 * anchor that has any, then hands those to `inner` (default {@link MeanReducer})
 * as element values. Element terms go to `inner` unchanged.
 */
export class PerAnchorReducer extends Reducer {
  readonly name = 'per_anchor';
  readonly inner: Reducer;
  readonly aggregation: 'average' | 'sum';
  constructor(options: { inner?: Reducer; aggregation?: 'average' | 'sum' } = {}) {
    super();
    this.inner = options.inner ?? new MeanReducer();
    this.aggregation = options.aggregation ?? 'average';
    check(this.aggregation === 'average' || this.aggregation === 'sum', 'aggregation', options.aggregation, "'average' or 'sum'");
  }
  protected reduceValues(term: LossTerm, batchSize: number): tf.Scalar {
    if (term.type === 'element') return this.inner.reduce(term, batchSize);
    const anchors = term.anchors;
    check(anchors !== undefined && anchors.length === term.losses.size, 'anchors', anchors?.length, `the anchor of each of the ${term.losses.size} values`);
    const present = [...new Set(anchors)].sort((a, b) => a - b);
    const slot = new Map(present.map((a, i) => [a, i]));
    const counts = new Float32Array(present.length);
    const member = new Float32Array(present.length * anchors.length);
    anchors.forEach((a, k) => {
      const s = slot.get(a) as number;
      member[s * anchors.length + k] = 1;
      counts[s] = (counts[s] as number) + 1;
    });
    // A membership matrix product sums each anchor's values (and its gradient is a plain matmul on every backend).
    let perAnchor = tf.squeeze(tf.matMul(tf.tensor2d(member, [present.length, anchors.length]), tf.reshape(term.losses, [-1, 1])), [1]);
    if (this.aggregation === 'average') perAnchor = tf.div(perAnchor, tf.tensor1d(counts));
    return this.inner.reduce({ losses: perAnchor, anchors: Int32Array.from(present), type: 'element' }, batchSize);
  }
}

/** Reducer per term name, with a fallback for the others (pytorch-metric-learning's `MultipleReducers`). */
export type ReducerSpec = Reducer | { [term: string]: Reducer | undefined; default?: Reducer };

/** Reduces every term with its reducer and sums the results. */
export function reduceTerms(terms: LossTerms, spec: ReducerSpec, batchSize: number): tf.Scalar {
  let total: tf.Scalar = tf.scalar(0);
  for (const [name, term] of Object.entries(terms)) {
    const reducer = spec instanceof Reducer ? spec : (spec[name] ?? spec.default);
    check(reducer instanceof Reducer, `reducer for ${name}`, reducer, 'a Reducer (give one for this term or a default)');
    total = tf.add(total, reducer.reduce(term, batchSize));
  }
  return total;
}
