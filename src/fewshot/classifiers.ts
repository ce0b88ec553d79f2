/**
 * The episode classifiers of RFS's `meta_eval.py`, on feature matrices from any
 * model: logistic regression (RFS's choice), nearest neighbour (squared
 * Euclidean), cosine nearest neighbour and nearest prototype (class means,
 * squared Euclidean, as Prototypical Networks). Features are L2-normalised
 * first by default (`is_norm=True` in RFS).
 */
import { check } from '../errors.js';
import { l2NormalizeRows, softmaxPredictions, toFeatureMatrix, type FeatureMatrix, type FeaturesInput } from './features.js';
import { fitLogisticRegression, predictLogistic, type LogisticOptions } from './logistic.js';

export const CLASSIFIER_NAMES = ['lr', 'nn', 'cosine', 'proto'] as const;
/** `lr` logistic regression, `nn` 1-nearest neighbour, `cosine` 1-NN on cosine similarity, `proto` nearest class mean. */
export type ClassifierName = (typeof CLASSIFIER_NAMES)[number];

/** Options of {@link classifyEpisode}. */
export interface ClassifyOptions extends LogisticOptions {
  /** Default `lr`. */
  classifier?: ClassifierName;
  /** L2-normalise support and query rows first; default true. */
  normalize?: boolean;
}

/** Predicted class per query and, for `lr` and `proto`, class probabilities per query. */
export interface ClassifyResult {
  predictions: Int32Array;
  /** `lr`: the model's softmax; `proto`: softmax of −squared distance to each prototype. */
  probabilities?: Float64Array[];
  /** For `lr`: L-BFGS iterations and the final max |gradient|. */
  iterations?: number;
  gradientNorm?: number;
}

/**
 * Checks that `labels` are integers covering exactly 0…N−1 (every class has a
 * support example) and returns N.
 */
export function checkSupportLabels(labels: ArrayLike<number>, rows: number, argument = 'supportLabels'): number {
  check(labels !== null && typeof labels === 'object' && typeof labels.length === 'number', argument, labels, 'an array of integer labels');
  check(labels.length === rows, argument, `${labels.length} labels`, `${rows}, one per support row`);
  let max = -1;
  for (let i = 0; i < labels.length; i++) {
    const v = labels[i] as number;
    check(Number.isInteger(v) && v >= 0, argument, v, 'non-negative integer labels 0…N−1');
    max = Math.max(max, v);
  }
  const seen = new Uint8Array(max + 1);
  for (let i = 0; i < labels.length; i++) seen[labels[i] as number] = 1;
  const missing = seen.indexOf(0);
  check(missing < 0, argument, `labels with maximum ${max} but no example of class ${missing}`, `labels covering every class 0…N−1`);
  check(max >= 1, argument, 'a single class', 'at least two classes (0…N−1 with N ≥ 2)');
  return max + 1;
}

function squaredDistance(a: Float64Array, ai: number, b: Float64Array, bi: number, d: number): number {
  let s = 0;
  for (let j = 0; j < d; j++) {
    const t = (a[ai + j] as number) - (b[bi + j] as number);
    s += t * t;
  }
  return s;
}

function nearestNeighbour(support: FeatureMatrix, labels: Int32Array, query: FeatureMatrix, cosine: boolean): Int32Array {
  const d = support.cols;
  const s = cosine ? l2NormalizeRows(support) : support;
  const q = cosine ? l2NormalizeRows(query) : query;
  const out = new Int32Array(query.rows);
  for (let i = 0; i < q.rows; i++) {
    let best = Infinity;
    let arg = 0;
    for (let r = 0; r < s.rows; r++) {
      // On unit vectors, squared distance = 2 − 2·cosine: the same order as cosine similarity.
      const dist = squaredDistance(q.data, i * d, s.data, r * d, d);
      if (dist < best) {
        best = dist;
        arg = labels[r] as number;
      }
    }
    out[i] = arg;
  }
  return out;
}

/** Class means of the support rows (prototypes), K × D. */
export function prototypes(support: FeatureMatrix, labels: Int32Array, classes: number): FeatureMatrix {
  const d = support.cols;
  const out = new Float64Array(classes * d);
  const count = new Float64Array(classes);
  for (let r = 0; r < support.rows; r++) {
    const k = labels[r] as number;
    count[k] = (count[k] as number) + 1;
    for (let j = 0; j < d; j++) out[k * d + j] = (out[k * d + j] as number) + (support.data[r * d + j] as number);
  }
  for (let k = 0; k < classes; k++) for (let j = 0; j < d; j++) out[k * d + j] = (out[k * d + j] as number) / (count[k] as number);
  return { data: out, rows: classes, cols: d };
}

function nearestPrototype(support: FeatureMatrix, labels: Int32Array, query: FeatureMatrix, classes: number): { predictions: Int32Array; probabilities: Float64Array[] } {
  const protos = prototypes(support, labels, classes);
  const d = support.cols;
  return softmaxPredictions(query.rows, classes, (i, k) => -squaredDistance(query.data, i * d, protos.data, k * d, d));
}

/**
 * Classifies the query rows of one few-shot episode from its labelled support
 * rows. Support labels must cover 0…N−1; query rows must have the support's
 * width. Defaults: logistic regression with C = 1 on L2-normalised features
 * (RFS-simple's classifier).
 */
export function classifyEpisode(support: FeaturesInput, supportLabels: ArrayLike<number>, query: FeaturesInput, options: ClassifyOptions = {}): ClassifyResult {
  check(options !== null && typeof options === 'object', 'options', options, '{ classifier?, normalize?, C?, maxIterations?, tolerance? }');
  const { classifier = 'lr', normalize = true } = options;
  check((CLASSIFIER_NAMES as readonly string[]).includes(classifier), 'classifier', classifier, `one of ${CLASSIFIER_NAMES.join(', ')}`);
  check(typeof normalize === 'boolean', 'normalize', normalize, 'true or false');
  const s = toFeatureMatrix(support, 'support');
  const q = toFeatureMatrix(query, 'query');
  check(q.cols === s.cols, 'query', `rows of width ${q.cols}`, `rows of width ${s.cols}, the support's`);
  const classes = checkSupportLabels(supportLabels, s.rows);
  const labels = Int32Array.from(supportLabels);
  return classifyMatrices(s, labels, q, classes, classifier, normalize, options);
}

/** {@link classifyEpisode} on already-checked matrices; used by episode evaluation. */
export function classifyMatrices(
  support: FeatureMatrix,
  labels: Int32Array,
  query: FeatureMatrix,
  classes: number,
  classifier: ClassifierName,
  normalize: boolean,
  logistic: LogisticOptions = {},
): ClassifyResult {
  const s = normalize ? l2NormalizeRows(support) : support;
  const q = normalize ? l2NormalizeRows(query) : query;
  switch (classifier) {
    case 'lr': {
      const model = fitLogisticRegression(s, labels, classes, { C: logistic.C, maxIterations: logistic.maxIterations, tolerance: logistic.tolerance, memory: logistic.memory });
      return { ...predictLogistic(model, q), iterations: model.iterations, gradientNorm: model.gradientNorm };
    }
    case 'nn':
      return { predictions: nearestNeighbour(s, labels, q, false) };
    case 'cosine':
      return { predictions: nearestNeighbour(s, labels, q, true) };
    case 'proto':
      return nearestPrototype(s, labels, q, classes);
  }
}
