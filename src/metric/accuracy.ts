/**
 * Retrieval accuracy as defined in "A Metric Learning Reality Check" (Musgrave,
 * Belongie & Lim, ECCV 2020) and pytorch-metric-learning's
 * `AccuracyCalculator`: precision@1, R-precision, MAP@R, mean reciprocal rank
 * and NMI.
 */
import { tf } from '../engine/core.js';
import { EccvkitInputError, check } from '../errors.js';
import { kMeans, normalizedMutualInfo } from './clustering.js';
import { checkEmbeddings, toLabelArray, type LabelsInput } from './inputs.js';
import { rankNeighbours } from './knn.js';
import { l2Normalize } from './distances.js';

/** The metrics of {@link accuracy}, named as in pytorch-metric-learning (and the CLI's JSON). */
export interface AccuracyMetrics {
  precision_at_1: number;
  r_precision: number;
  mean_average_precision_at_r: number;
  mean_reciprocal_rank: number;
  /** NMI of seeded k-means clusters (as many as query labels) against the query labels; NaN when not computed. */
  NMI: number;
}

/** {@link accuracy}'s result: the metrics plus what was counted. */
export interface AccuracyResult extends AccuracyMetrics {
  /** Queries that entered the kNN metrics. */
  queries: number;
  /** Queries excluded because no other reference item carries their label. */
  lone_queries: number;
}

/** Options of {@link accuracy}. */
export interface AccuracyOptions {
  /** L2-normalise query and reference embeddings first (Euclidean ranking = cosine ranking); default false, as `AccuracyCalculator`. */
  normalize?: boolean;
  /** Compute NMI (k-means over the query embeddings); default true. */
  nmi?: boolean;
  /** Seed of the k-means initialisation; default 0. */
  seed?: number;
  /**
   * `'micro'` (default): average over queries. `'per_class'`: average per query
   * label, then over labels (pytorch-metric-learning's `avg_of_avgs`).
   */
  averaging?: 'micro' | 'per_class';
  /** Query rows per distance block; default: as many as fit 16 Mi floats. */
  blockRows?: number;
  /** Called once when lone queries are excluded; default `console.warn`. */
  warn?: (message: string) => void;
}

/** Scores of one query from its retrieved labels, in rank order. */
export interface QueryScores {
  precisionAt1: number;
  rPrecision: number;
  mapAtR: number;
  /** 1 / rank of the first correct label within the list, 0 if none. */
  reciprocalRank: number;
}

/**
 * Scores one query from the labels of its retrieved neighbours (nearest
 * first) and `R`, the number of reference items with its label (self
 * excluded): precision@1; R-precision `r/R` with r the correct labels among
 * the first R; MAP@R `(1/R) Σ_{i≤R} P(i)·1[i-th correct]`; the reciprocal rank
 * of the first correct label in the list. The list must hold at least `R`
 * labels for R-precision and MAP@R to be exact.
 */
export function scoreRetrieved(queryLabel: number, retrieved: ArrayLike<number>, R: number): QueryScores {
  check(Number.isInteger(R) && R > 0, 'R', R, 'a positive integer (reference items sharing the query label)');
  let correct = 0;
  let apSum = 0;
  let firstRank = 0;
  for (let i = 0; i < retrieved.length; i++) {
    if (retrieved[i] !== queryLabel) continue;
    if (firstRank === 0) firstRank = i + 1;
    if (i < R) {
      correct++;
      apSum += correct / (i + 1);
    }
  }
  return {
    precisionAt1: retrieved.length > 0 && retrieved[0] === queryLabel ? 1 : 0,
    rPrecision: correct / R,
    mapAtR: apSum / R,
    reciprocalRank: firstRank > 0 ? 1 / firstRank : 0,
  };
}

/**
 * Retrieval and clustering accuracy of `query` embeddings against a reference
 * set (pytorch-metric-learning's `AccuracyCalculator` with exact kNN):
 *
 * - without `ref`, the reference is the query set and each query's own entry is
 *   removed **by index** (not by dropping the nearest neighbour, which may be a
 *   tied duplicate); R = (count of the query's label) − 1;
 * - with `ref`, R = count of the query's label in `refLabels`;
 * - queries with R = 0 (lone labels) are excluded from the kNN metrics with a
 *   warning; if every query is lone the kNN metrics are NaN;
 * - ranking is by Euclidean distance, ties by reference index; each query
 *   retrieves exactly its first R neighbours (so R-precision and MAP@R are
 *   exact for every class size), and the mean reciprocal rank uses the exact
 *   rank of the first correct neighbour over the whole reference set.
 *
 * Distances are computed in blocks of query rows against the reference (never
 * the full matrix). NMI clusters the query embeddings with seeded k-means into
 * as many clusters as distinct query labels.
 *
 * @throws EccvkitInputError on mismatched lengths or dimensions, non-integer
 * labels, non-finite embeddings, or a query set none of whose labels occur in the reference.
 */
export function accuracy(query: tf.Tensor2D, queryLabels: LabelsInput, ref?: tf.Tensor2D, refLabels?: LabelsInput, options: AccuracyOptions = {}): AccuracyResult {
  checkEmbeddings(query, 'query');
  const qLabels = toLabelArray(queryLabels, query.shape[0], 'queryLabels', 'query');
  const selfIncluded = ref === undefined;
  check(selfIncluded === (refLabels === undefined), selfIncluded ? 'refLabels' : 'ref', selfIncluded ? refLabels : ref, 'given together with ' + (selfIncluded ? 'ref' : 'refLabels'));
  let rLabels = qLabels;
  if (!selfIncluded) {
    checkEmbeddings(ref, 'ref');
    check(ref.shape[1] === query.shape[1], 'ref', ref, `${query.shape[1]} columns, the embedding size of query`);
    rLabels = toLabelArray(refLabels, ref.shape[0], 'refLabels', 'ref');
  }
  const averaging = options.averaging ?? 'micro';
  check(averaging === 'micro' || averaging === 'per_class', 'averaging', options.averaging, "'micro' or 'per_class'");

  const refCounts = new Map<number, number>();
  for (const l of rLabels) refCounts.set(l, (refCounts.get(l) ?? 0) + 1);
  const R = new Int32Array(qLabels.length);
  let lone = 0;
  let anyInRef = false;
  for (let i = 0; i < qLabels.length; i++) {
    const c = refCounts.get(qLabels[i] as number) ?? 0;
    if (c > 0) anyInRef = true;
    R[i] = c - (selfIncluded ? 1 : 0);
    if ((R[i] as number) <= 0) lone++;
  }
  if (!selfIncluded && !anyInRef) throw new EccvkitInputError('queryLabels', qLabels, 'at least one query label that occurs in refLabels');
  if (lone > 0) (options.warn ?? console.warn)(`accuracy: ${lone} of ${qLabels.length} queries have no other reference item with their label and are excluded from the kNN metrics`);

  const perQuery = { p1: new Float64Array(qLabels.length), rp: new Float64Array(qLabels.length), map: new Float64Array(qLabels.length), mrr: new Float64Array(qLabels.length) };
  const normalize = options.normalize ?? false;
  const q = normalize ? l2Normalize(query) : query;
  const r = selfIncluded ? q : normalize ? l2Normalize(ref as tf.Tensor2D) : (ref as tf.Tensor2D);
  try {
    if (lone < qLabels.length) {
      rankNeighbours(
        q,
        r,
        selfIncluded,
        R,
        qLabels,
        rLabels,
        (i, top, firstRelevantRank) => {
          const Ri = R[i] as number;
          const label = qLabels[i] as number;
          const s = scoreRetrieved(label, Array.from(top, (j) => rLabels[j] as number), Ri);
          perQuery.p1[i] = s.precisionAt1;
          perQuery.rp[i] = s.rPrecision;
          perQuery.map[i] = s.mapAtR;
          perQuery.mrr[i] = 1 / firstRelevantRank;
        },
        options.blockRows,
      );
    }
    const mean = (v: Float64Array) => averageQueries(v, qLabels, R, averaging);
    return {
      precision_at_1: mean(perQuery.p1),
      r_precision: mean(perQuery.rp),
      mean_average_precision_at_r: mean(perQuery.map),
      mean_reciprocal_rank: mean(perQuery.mrr),
      NMI: options.nmi === false ? NaN : nmiOf(q, qLabels, options.seed ?? 0),
      queries: qLabels.length - lone,
      lone_queries: lone,
    };
  } finally {
    if (q !== query) q.dispose();
    if (r !== q && r !== ref) r.dispose();
  }
}

function averageQueries(values: Float64Array, labels: Int32Array, R: Int32Array, averaging: 'micro' | 'per_class'): number {
  if (averaging === 'micro') {
    let s = 0;
    let n = 0;
    for (let i = 0; i < values.length; i++) {
      if ((R[i] as number) <= 0) continue;
      s += values[i] as number;
      n++;
    }
    return n > 0 ? s / n : NaN;
  }
  const sums = new Map<number, [number, number]>();
  for (let i = 0; i < values.length; i++) {
    if ((R[i] as number) <= 0) continue;
    const e = sums.get(labels[i] as number) ?? [0, 0];
    e[0] += values[i] as number;
    e[1]++;
    sums.set(labels[i] as number, e);
  }
  if (sums.size === 0) return NaN;
  let s = 0;
  for (const [total, count] of sums.values()) s += total / count;
  return s / sums.size;
}

function nmiOf(x: tf.Tensor2D, labels: Int32Array, seed: number): number {
  const k = new Set(labels).size;
  return normalizedMutualInfo(labels, kMeans(x, { k, seed }));
}
