/**
 * Seeded index samplers: m-per-class batches for metric learning, N-way K-shot
 * episodes for few-shot evaluation, and plain shuffled mini-batches. Each draws
 * from its own `createRng(seed)` stream, so the same seed gives the same
 * sequence of batches or episodes.
 */
import { createRng, type Rng } from '../engine/rng.js';
import { EccvkitInputError, check } from '../errors.js';
import { groupByClass } from './dataset.js';

function checkPositiveInt(value: unknown, argument: string): asserts value is number {
  check(Number.isInteger(value) && (value as number) > 0, argument, value, 'a positive integer');
}

/** Options of {@link MPerClassSampler}. */
export interface MPerClassOptions {
  /** Samples per class in each batch. */
  m: number;
  /** Batch size; must be a multiple of `m`, and `batchSize / m` at most the number of classes. */
  batchSize: number;
  seed: number;
  /** Samples drawn per pass over {@link MPerClassSampler.batches}, rounded down to a multiple of `batchSize`; default 100000 (as in pytorch-metric-learning). */
  lengthBeforeNewIter?: number;
}

/**
 * Batches of `batchSize / m` distinct classes with `m` samples each, following
 * pytorch-metric-learning's `MPerClassSampler`: for every batch the classes are
 * drawn at random, then `m` samples of each class, without replacement when the
 * class has at least `m` samples and with replacement otherwise. A pass yields
 * `length / batchSize` batches; each call of {@link batches} continues the seeded
 * stream, so passes differ while the whole sequence is fixed by the seed.
 */
export class MPerClassSampler {
  readonly m: number;
  readonly batchSize: number;
  /** The classes present in the labels, ascending. */
  readonly classes: number[];
  private readonly byClass: Int32Array[];
  private readonly listSize: number;
  private readonly rng: Rng;

  constructor(labels: ArrayLike<number>, options: MPerClassOptions) {
    check(options !== null && typeof options === 'object', 'options', options, '{ m, batchSize, seed, lengthBeforeNewIter? }');
    const { m, batchSize, seed, lengthBeforeNewIter = 100000 } = options;
    checkPositiveInt(m, 'm');
    checkPositiveInt(batchSize, 'batchSize');
    const groups = groupByClass(labels);
    this.classes = [...groups.keys()];
    this.byClass = [...groups.values()];
    check(batchSize % m === 0, 'batchSize', batchSize, `a multiple of m = ${m}`);
    check(
      batchSize / m <= this.classes.length,
      'batchSize',
      batchSize,
      `at most m × number of classes = ${m} × ${this.classes.length} = ${m * this.classes.length} (batchSize / m distinct classes per batch)`,
    );
    check(Number.isInteger(lengthBeforeNewIter) && lengthBeforeNewIter >= batchSize, 'lengthBeforeNewIter', lengthBeforeNewIter, `an integer ≥ batchSize = ${batchSize}`);
    this.m = m;
    this.batchSize = batchSize;
    this.listSize = lengthBeforeNewIter - (lengthBeforeNewIter % batchSize);
    this.rng = createRng(seed);
  }

  /** Samples per pass (pytorch-metric-learning's `len(sampler)`): `lengthBeforeNewIter` rounded down to a multiple of `batchSize`. */
  get length(): number {
    return this.listSize;
  }

  /** Batches per pass: `length / batchSize`. */
  get numBatches(): number {
    return this.listSize / this.batchSize;
  }

  /** One pass: {@link numBatches} batches of `batchSize` indices, `m` consecutive indices per class. */
  *batches(): Generator<Int32Array, void, undefined> {
    const perBatch = this.batchSize / this.m;
    for (let b = 0; b < this.numBatches; b++) {
      const batch = new Int32Array(this.batchSize);
      let at = 0;
      for (const ci of this.rng.sample(this.classes.length, perBatch)) {
        const idx = this.byClass[ci] as Int32Array;
        if (idx.length >= this.m) {
          for (const p of this.rng.sample(idx.length, this.m)) batch[at++] = idx[p] as number;
        } else {
          for (let k = 0; k < this.m; k++) batch[at++] = idx[this.rng.int(idx.length)] as number;
        }
      }
      yield batch;
    }
  }
}

/** Options of {@link EpisodeSampler}. */
export interface EpisodeOptions {
  /** Classes per episode (N). */
  ways: number;
  /** Support images per class (K). */
  shots: number;
  /** Query images per class (Q); may be 0. */
  queries: number;
  seed: number;
  /** Draw only from these class ids (e.g. the novel classes of a split); default: every class in the labels. */
  classes?: number[];
}

/** One few-shot episode. Support and query entries are grouped by class in the order of `classes`. */
export interface Episode {
  /** Indices of the `ways · shots` support images. */
  supportIdx: Int32Array;
  /** Episode labels 0..ways-1 of the support images: label j is class `classes[j]`. */
  supportLabels: Int32Array;
  /** Indices of the `ways · queries` query images, disjoint from the support. */
  queryIdx: Int32Array;
  /** Episode labels 0..ways-1 of the query images. */
  queryLabels: Int32Array;
  /** The original class ids, in episode-label order. */
  classes: number[];
}

/**
 * N-way K-shot episodes (as in Tian et al. 2020, "Rethinking Few-Shot Image
 * Classification"): each episode draws `ways` distinct classes, then for each
 * `shots + queries` distinct images, the first `shots` as support and the rest as
 * queries. Only classes with at least `shots + queries` images are eligible.
 *
 * @throws EccvkitInputError when fewer than `ways` classes are eligible, or an option is invalid.
 */
export class EpisodeSampler {
  readonly ways: number;
  readonly shots: number;
  readonly queries: number;
  /** Class ids with enough images, ascending. */
  readonly eligibleClasses: number[];
  private readonly pools: Int32Array[];
  private readonly rng: Rng;

  constructor(labels: ArrayLike<number>, options: EpisodeOptions) {
    check(options !== null && typeof options === 'object', 'options', options, '{ ways, shots, queries, seed, classes? }');
    const { ways, shots, queries, seed } = options;
    checkPositiveInt(ways, 'ways');
    checkPositiveInt(shots, 'shots');
    check(Number.isInteger(queries) && queries >= 0, 'queries', queries, 'a non-negative integer');
    const groups = groupByClass(labels);
    let pool = [...groups.keys()];
    if (options.classes !== undefined) {
      check(Array.isArray(options.classes), 'classes', options.classes, 'an array of class ids');
      for (const c of options.classes) if (!(groups.has(c))) check(false, 'classes', options.classes, `class ids present in the labels (${c} is not)`);
      pool = [...new Set(options.classes)].sort((a, b) => a - b);
    }
    const need = shots + queries;
    this.eligibleClasses = pool.filter((c) => (groups.get(c) as Int32Array).length >= need);
    if (this.eligibleClasses.length < ways) {
      const small = pool.filter((c) => (groups.get(c) as Int32Array).length < need);
      throw new EccvkitInputError(
        'ways',
        ways,
        `at most ${this.eligibleClasses.length}, the number of classes with at least shots + queries = ${need} images` +
          (small.length > 0 ? ` (${small.length} of ${pool.length} classes have fewer, e.g. class ${small[0]} with ${(groups.get(small[0] as number) as Int32Array).length})` : ''),
      );
    }
    this.ways = ways;
    this.shots = shots;
    this.queries = queries;
    this.pools = this.eligibleClasses.map((c) => groups.get(c) as Int32Array);
    this.rng = createRng(seed);
  }

  /** Draws the next episode from the seeded stream. */
  next(): Episode {
    const { ways, shots, queries } = this;
    const picked = this.rng.sample(this.eligibleClasses.length, ways);
    const supportIdx = new Int32Array(ways * shots);
    const supportLabels = new Int32Array(ways * shots);
    const queryIdx = new Int32Array(ways * queries);
    const queryLabels = new Int32Array(ways * queries);
    picked.forEach((ci, j) => {
      const pool = this.pools[ci] as Int32Array;
      const draw = this.rng.sample(pool.length, shots + queries);
      for (let s = 0; s < shots; s++) {
        supportIdx[j * shots + s] = pool[draw[s] as number] as number;
        supportLabels[j * shots + s] = j;
      }
      for (let q = 0; q < queries; q++) {
        queryIdx[j * queries + q] = pool[draw[shots + q] as number] as number;
        queryLabels[j * queries + q] = j;
      }
    });
    return { supportIdx, supportLabels, queryIdx, queryLabels, classes: picked.map((ci) => this.eligibleClasses[ci] as number) };
  }

  /** The next `count` episodes. */
  *episodes(count: number): Generator<Episode, void, undefined> {
    check(Number.isInteger(count) && count >= 0, 'count', count, 'a non-negative integer');
    for (let e = 0; e < count; e++) yield this.next();
  }
}

/** Options of {@link BatchSampler}. */
export interface BatchSamplerOptions {
  batchSize: number;
  seed: number;
  /** Drop the last, smaller batch of an epoch; default false. */
  dropLast?: boolean;
  /** Shuffle each epoch; default true (false gives 0..n-1 in order). */
  shuffle?: boolean;
}

/**
 * Plain mini-batches over `n` samples: each call of {@link batches} is one epoch
 * over a fresh seeded permutation (epochs differ, the sequence is fixed by the
 * seed); the last batch is smaller unless `dropLast`.
 */
export class BatchSampler {
  readonly n: number;
  readonly batchSize: number;
  readonly dropLast: boolean;
  readonly shuffle: boolean;
  private readonly rng: Rng;

  constructor(n: number, options: BatchSamplerOptions) {
    check(Number.isInteger(n) && n >= 0, 'n', n, 'a non-negative integer (the number of samples)');
    check(options !== null && typeof options === 'object', 'options', options, '{ batchSize, seed, dropLast?, shuffle? }');
    checkPositiveInt(options.batchSize, 'batchSize');
    this.n = n;
    this.batchSize = options.batchSize;
    this.dropLast = options.dropLast ?? false;
    this.shuffle = options.shuffle ?? true;
    this.rng = createRng(options.seed);
  }

  /** Batches per epoch: `floor(n / batchSize)` with `dropLast`, else `ceil(n / batchSize)`. */
  get numBatches(): number {
    return this.dropLast ? Math.floor(this.n / this.batchSize) : Math.ceil(this.n / this.batchSize);
  }

  /** One epoch of batches. */
  *batches(): Generator<Int32Array, void, undefined> {
    const order = this.shuffle ? this.rng.permutation(this.n) : Int32Array.from({ length: this.n }, (_, i) => i);
    for (let b = 0; b < this.numBatches; b++) yield order.slice(b * this.batchSize, Math.min(this.n, (b + 1) * this.batchSize));
  }
}

/**
 * One epoch of shuffled mini-batches over `n` samples, from `createRng(seed)`:
 * the same as the first epoch of `new BatchSampler(n, { batchSize, seed, dropLast })`.
 * @param options.dropLast drop the last, smaller batch; default false.
 */
export function shuffledBatches(n: number, batchSize: number, seed: number, options: { dropLast?: boolean } = {}): Int32Array[] {
  return [...new BatchSampler(n, { batchSize, seed, dropLast: options.dropLast ?? false }).batches()];
}
