/**
 * Few-shot evaluation by episodes (RFS `meta_test`): draw N classes, K support
 * and Q query images per class (support and query disjoint), classify the
 * queries from the support, and report the mean accuracy over many episodes
 * with its 95% Student-t confidence interval.
 */
import { EpisodeSampler, groupByClass, type Episode } from '../data/core.js';
import { check, EccvkitInputError } from '../errors.js';
import { CLASSIFIER_NAMES, classifyMatrices, type ClassifierName } from './classifiers.js';
import { selectRows, toFeatureMatrix, type FeatureMatrix, type FeaturesInput } from './features.js';
import type { LogisticOptions } from './logistic.js';
import { meanConfidenceInterval } from '../stats.js';

/** One way of classifying an episode's queries, evaluated on the same episodes as the others. */
export interface EpisodeMethod {
  /** Column name in results, e.g. `lr`, `lr-no-norm`. */
  name: string;
  classifier: ClassifierName;
  /** L2-normalise first; default true. */
  normalize?: boolean;
}

/** Options of {@link evaluateEpisodes}. */
export interface EpisodeEvalOptions extends LogisticOptions {
  /** N classes per episode; default 5. */
  ways?: number;
  /** K support images per class; default 1. */
  shots?: number;
  /** Query images per class; default 15 (RFS). */
  queries?: number;
  /** Number of episodes; default 600 (RFS). */
  episodes?: number;
  seed?: number;
  /** Methods evaluated on every episode; default logistic regression on L2-normalised features. */
  methods?: EpisodeMethod[];
  /**
   * Support augmentation (RFS's `n_aug_support_samples`): returns extra support
   * features for the given dataset indices, `copies` rows per index in
   * copy-major order (all indices for copy 0, then copy 1, …), e.g. each
   * support image passed through the training augmentation and embedded.
   * Without it, each support image is used once as it is.
   */
  augmentSupport?: { copies: number; features(indices: Int32Array, episode: number): FeaturesInput };
  /** Called after each episode (progress bars). */
  onEpisode?: (done: number, total: number) => void;
}

/** Mean accuracy with its 95% CI, and every per-episode accuracy. */
export interface EpisodeAccuracy {
  mean: number;
  /** Half-width of the 95% confidence interval (t quantile, n − 1 df). */
  ci95: number;
  accuracies: Float64Array;
}

/** Checks that every class in `labels` has at least `need` rows, naming the first that does not. */
export function checkClassSizes(labels: ArrayLike<number>, need: number, what: string): void {
  for (const [c, idx] of groupByClass(labels)) {
    if (idx.length < need) throw new EccvkitInputError('labels', `class ${c} with ${idx.length} images`, `every class with at least ${what} = ${need} images`);
  }
}

/**
 * Evaluates features by N-way K-shot episodes over the classes in `labels`.
 * Every class must have at least shots + queries rows. Returns, per method,
 * the mean query accuracy over episodes and its 95% confidence interval.
 */
export function evaluateEpisodes(features: FeaturesInput, labels: ArrayLike<number>, options: EpisodeEvalOptions = {}): Record<string, EpisodeAccuracy> {
  check(options !== null && typeof options === 'object', 'options', options, 'an options object');
  const { ways = 5, shots = 1, queries = 15, episodes = 600, seed = 0, methods = [{ name: 'lr', classifier: 'lr' }] } = options;
  const x = toFeatureMatrix(features, 'features');
  check(labels !== null && typeof labels === 'object' && labels.length === x.rows, 'labels', labels, `${x.rows} labels, one per feature row`);
  for (let i = 0; i < labels.length; i++) check(Number.isInteger(labels[i]) && (labels[i] as number) >= 0, 'labels', labels[i], 'non-negative integer labels');
  check(Number.isInteger(ways) && ways >= 2, 'ways', ways, 'an integer ≥ 2');
  check(Number.isInteger(shots) && shots >= 1, 'shots', shots, 'a positive integer');
  check(Number.isInteger(queries) && queries >= 1, 'queries', queries, 'a positive integer');
  check(Number.isInteger(episodes) && episodes >= 2, 'episodes', episodes, 'an integer ≥ 2 (a confidence interval needs two)');
  check(Array.isArray(methods) && methods.length > 0, 'methods', methods, 'a non-empty array of { name, classifier, normalize? }');
  for (const m of methods) if (!((CLASSIFIER_NAMES as readonly string[]).includes(m.classifier))) check(false, 'methods.classifier', m.classifier, `one of ${CLASSIFIER_NAMES.join(', ')}`);
  checkClassSizes(labels, shots + queries, 'shots + queries');
  const classCount = groupByClass(labels).size;
  check(classCount >= ways, 'ways', ways, `at most ${classCount}, the number of classes`);
  const aug = options.augmentSupport;
  if (aug !== undefined) check(Number.isInteger(aug.copies) && aug.copies >= 1 && typeof aug.features === 'function', 'augmentSupport', aug, '{ copies: positive integer, features(indices, episode) }');

  const sampler = new EpisodeSampler(labels, { ways, shots, queries, seed });
  const acc = methods.map(() => new Float64Array(episodes));
  for (let e = 0; e < episodes; e++) {
    const ep: Episode = sampler.next();
    let support: FeatureMatrix = selectRows(x, ep.supportIdx);
    let supportLabels = ep.supportLabels;
    if (aug !== undefined) {
      const extra = toFeatureMatrix(aug.features(ep.supportIdx, e), 'augmentSupport.features');
      check(extra.cols === x.cols && extra.rows === aug.copies * ep.supportIdx.length, 'augmentSupport.features', `[${extra.rows}, ${extra.cols}]`, `[${aug.copies * ep.supportIdx.length}, ${x.cols}]`);
      support = extra;
      supportLabels = new Int32Array(extra.rows);
      for (let c = 0; c < aug.copies; c++) supportLabels.set(ep.supportLabels, c * ep.supportLabels.length);
    }
    const query = selectRows(x, ep.queryIdx);
    methods.forEach((m, mi) => {
      const { predictions } = classifyMatrices(support, supportLabels, query, ways, m.classifier, m.normalize ?? true, options);
      let correct = 0;
      for (let i = 0; i < predictions.length; i++) if (predictions[i] === ep.queryLabels[i]) correct++;
      (acc[mi] as Float64Array)[e] = correct / predictions.length;
    });
    options.onEpisode?.(e + 1, episodes);
  }
  const out: Record<string, EpisodeAccuracy> = {};
  methods.forEach((m, mi) => {
    const a = acc[mi] as Float64Array;
    const ci = meanConfidenceInterval(a);
    out[m.name] = { mean: ci.mean, ci95: ci.halfWidth, accuracies: a };
  });
  return out;
}
