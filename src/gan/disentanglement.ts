/**
 * Disentanglement measures with known factors, for the Hessian Penalty
 * experiment (Peebles et al., ECCV 2020):
 *
 * - MIG, the mutual information gap (Chen et al., NeurIPS 2018), with
 *   disentanglement_lib's histogram discretisation (`evaluation/metrics/mig.py`,
 *   `utils.py`);
 * - DCI disentanglement, completeness and informativeness (Eastwood & Williams,
 *   ICLR 2018), scored from any importance matrix as disentanglement_lib's
 *   `dci.py` does, with a deterministic closed-form ridge estimator of the
 *   importances;
 * - the paper's own measures of a generator: the "diagonal-ness" of its
 *   per-pixel Hessians (Table 2), the activeness of each latent coordinate
 *   (Fig. 5) and the perceptual path length in z-space (`ppl_zend_v2`), with a
 *   caller-supplied feature network in place of LPIPS.
 *
 * MIG and DCI are plain Float64 typed-array code; only the generator measures
 * use tfjs.
 */
import { createRng, tf } from '../engine/core.js';
import { check, EccvkitInputError } from '../errors.js';

// ---------------------------------------------------------------------------
// Inputs

/**
 * A matrix with one row per sample: row-major numbers with their shape, or an
 * array of equal-length rows (like {@link Features} of the sample metrics, without tensors).
 */
export type SampleMatrix = { values: ArrayLike<number>; rows: number; cols: number } | readonly (readonly number[])[];

interface Matrix {
  values: Float64Array;
  rows: number;
  cols: number;
}

/** Row-major Float64 copy of `m`, checked to be a non-empty matrix of finite numbers. */
function asMatrix(m: SampleMatrix, name: string): Matrix {
  let out: Matrix;
  if (Array.isArray(m)) {
    const rows = m.length;
    const first = m[0] as unknown;
    check(rows >= 1 && Array.isArray(first) && first.length >= 1, name, m, 'a non-empty array of equal-length rows, or { values, rows, cols }');
    const cols = (first as number[]).length;
    const values = new Float64Array(rows * cols);
    for (let r = 0; r < rows; r++) {
      const row = m[r] as unknown;
      check(Array.isArray(row) && row.length === cols, name, `row ${r} of length ${Array.isArray(row) ? row.length : typeof row}`, `rows of ${cols} numbers, like row 0`);
      for (let c = 0; c < cols; c++) values[r * cols + c] = (row as number[])[c] as number;
    }
    out = { values, rows, cols };
  } else {
    const { values, rows, cols } = (m ?? {}) as { values?: ArrayLike<number>; rows?: number; cols?: number };
    check(
      Number.isInteger(rows) && Number.isInteger(cols) && (rows as number) >= 1 && (cols as number) >= 1 && values !== undefined && values.length === (rows as number) * (cols as number),
      name,
      m,
      '{ values, rows, cols } with rows·cols values (rows, cols ≥ 1), or an array of rows',
    );
    out = { values: Float64Array.from(values), rows: rows as number, cols: cols as number };
  }
  for (let i = 0; i < out.values.length; i++) {
    const v = out.values[i] as number;
    if (!Number.isFinite(v)) throw new EccvkitInputError(name, `${v} at row ${Math.floor(i / out.cols)}, column ${i % out.cols}`, 'finite numbers only');
  }
  return out;
}

function column(m: Matrix, c: number): Float64Array {
  const out = new Float64Array(m.rows);
  for (let r = 0; r < m.rows; r++) out[r] = m.values[r * m.cols + c] as number;
  return out;
}

/** The `discrete` option: distinct column indices of `factors`. */
function discreteColumns(discrete: readonly number[] | undefined, k: number): Set<number> {
  const list = discrete ?? [];
  check(Array.isArray(list), 'discrete', discrete, 'an array of factor column indices');
  const out = new Set<number>();
  for (const c of list) {
    check(Number.isInteger(c) && c >= 0 && c < k, 'discrete', list, `column indices of factors, integers in [0, ${k - 1}]`);
    check(!out.has(c), 'discrete', list, 'distinct column indices');
    out.add(c);
  }
  return out;
}

/** Integer labels of factor column k, checked whole; names the column and the first bad value. */
function labelColumn(f: Matrix, k: number): Float64Array {
  const col = column(f, k);
  for (let r = 0; r < col.length; r++) {
    const v = col[r] as number;
    if (!Number.isInteger(v)) throw new EccvkitInputError(`factors column ${k}`, `${v} at row ${r}`, `whole-number class labels (column ${k} is listed in discrete)`);
  }
  return col;
}

/** Dense ids 0..count−1 of the distinct values of `labels`, in increasing order of value. */
function denseLabels(labels: ArrayLike<number>): { ids: Int32Array; count: number } {
  const distinct = Array.from(new Set(Array.from(labels))).sort((a, b) => a - b);
  const index = new Map<number, number>(distinct.map((v, i) => [v, i]));
  const ids = new Int32Array(labels.length);
  for (let i = 0; i < labels.length; i++) ids[i] = index.get(labels[i] as number) as number;
  return { ids, count: distinct.length };
}

function checkLabels(labels: ArrayLike<number>, name: string): void {
  check(labels !== null && typeof labels === 'object' && typeof labels.length === 'number' && labels.length >= 1, name, labels, 'a non-empty array of integer labels');
  for (let i = 0; i < labels.length; i++) {
    const v = labels[i] as number;
    if (!Number.isInteger(v)) throw new EccvkitInputError(name, `${v} at index ${i}`, 'integer labels');
  }
}

// ---------------------------------------------------------------------------
// Discretisation and information

/**
 * Histogram bin edges of `x` exactly as NumPy's `np.histogram(x, bins)[1]` in
 * float64: `linspace(min, max, bins + 1)`, i.e. edge i = i·((max − min)/bins) + min
 * with the last edge set to max; a constant column gets the range min ± 0.5.
 */
function histogramEdges(x: Float64Array, bins: number): Float64Array {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of x) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  if (lo === hi) {
    lo -= 0.5;
    hi += 0.5;
  }
  const delta = hi - lo;
  const step = delta / bins;
  const edges = new Float64Array(bins + 1);
  // NumPy's linspace: y = arange(num)·step + start (or (y/div)·delta when step underflows to 0), last = stop.
  for (let i = 0; i <= bins; i++) edges[i] = (step === 0 ? (i / bins) * delta : i * step) + lo;
  edges[bins] = hi;
  return edges;
}

/**
 * Equal-width histogram discretisation of one column, exactly NumPy's
 * `np.digitize(x, np.histogram(x, bins)[1][:-1])` as disentanglement_lib's
 * `_histogram_discretize` uses: the edges are those of a `bins`-bin histogram of
 * the column (`linspace(min, max, bins + 1)`, computed in float64 with NumPy's
 * formula so ties at edges agree), the last edge is dropped, and each value gets
 * the number of remaining edges ≤ it. Labels run 1…bins, the minimum in bin 1
 * and the maximum in bin `bins`. Default 20 bins (disentanglement_lib).
 *
 * @returns one label per value, in 1…bins.
 * @throws EccvkitInputError on an empty or non-finite column, or bins not an integer ≥ 1.
 */
export function discretize(column: ArrayLike<number>, bins = 20): Int32Array {
  check(column !== null && typeof column === 'object' && typeof column.length === 'number' && column.length >= 1, 'column', column, 'a non-empty array of numbers');
  check(Number.isInteger(bins) && bins >= 1, 'bins', bins, 'an integer ≥ 1');
  const x = Float64Array.from(column);
  for (let i = 0; i < x.length; i++) if (!Number.isFinite(x[i] as number)) throw new EccvkitInputError('column', `${x[i]} at index ${i}`, 'finite numbers only');
  return discretizeChecked(x, bins);
}

function discretizeChecked(x: Float64Array, bins: number): Int32Array {
  const edges = histogramEdges(x, bins);
  const out = new Int32Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const v = x[i] as number;
    // Binary search: the number of edges[0..bins-1] ≤ v (searchsorted side='right').
    let lo = 0;
    let hi = bins;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((edges[mid] as number) <= v) lo = mid + 1;
      else hi = mid;
    }
    out[i] = lo;
  }
  return out;
}

/** scikit-learn's `mutual_info_score` on dense ids, term by term as it sums them. */
function mutualInfoDense(a: Int32Array, na: number, b: Int32Array, nb: number): number {
  if (na === 1 || nb === 1) return 0;
  const n = a.length;
  const countA = new Float64Array(na);
  const countB = new Float64Array(nb);
  for (let i = 0; i < n; i++) {
    countA[a[i] as number]! += 1;
    countB[b[i] as number]! += 1;
  }
  const joint = new Map<number, number>();
  for (let i = 0; i < n; i++) {
    const key = (a[i] as number) * nb + (b[i] as number);
    joint.set(key, (joint.get(key) ?? 0) + 1);
  }
  const logN = Math.log(n);
  let mi = 0;
  for (const [key, nij] of joint) {
    const pi = countA[Math.floor(key / nb)] as number;
    const pj = countB[key % nb] as number;
    const p = nij / n;
    // p·(ln nij − ln N) + p·(−ln(ni·nj) + ln N + ln N): sklearn's expression; |term| < eps → 0.
    const term = p * (Math.log(nij) - logN) + p * (-Math.log(pi * pj) + logN + logN);
    if (Math.abs(term) >= Number.EPSILON) mi += term;
  }
  return Math.max(mi, 0);
}

function entropyDense(a: Int32Array, na: number): number {
  const n = a.length;
  const count = new Float64Array(na);
  for (let i = 0; i < n; i++) count[a[i] as number]! += 1;
  const logN = Math.log(n);
  let h = 0;
  for (const c of count) if (c > 0) h -= (c / n) * (Math.log(c) - logN);
  return Math.max(h, 0);
}

/**
 * Mutual information of two integer labellings, in nats, from their joint
 * counts: I(a; b) = Σ_{x,y} p(x,y)·ln(p(x,y) / (p(x)p(y))); the same value, term
 * for term, as scikit-learn's `mutual_info_score(a, b)` (terms below machine
 * epsilon dropped, the sum clipped at 0). Labels are any integers; only equality matters.
 *
 * @throws EccvkitInputError when a label is not an integer or the lengths differ.
 */
export function mutualInfo(a: ArrayLike<number>, b: ArrayLike<number>): number {
  checkLabels(a, 'a');
  checkLabels(b, 'b');
  check(b.length === a.length, 'b', `${b.length} labels`, `${a.length} labels, as many as a`);
  const da = denseLabels(a);
  const db = denseLabels(b);
  return mutualInfoDense(da.ids, da.count, db.ids, db.count);
}

/**
 * Entropy of an integer labelling in nats, H(a) = −Σ_x p(x)·ln p(x) (= I(a; a),
 * as disentanglement_lib's `discrete_entropy` computes it with `mutual_info_score`).
 *
 * @throws EccvkitInputError when a label is not an integer.
 */
export function entropy(a: ArrayLike<number>): number {
  checkLabels(a, 'a');
  const da = denseLabels(a);
  return entropyDense(da.ids, da.count);
}

// ---------------------------------------------------------------------------
// MIG

/** Options of {@link mutualInformationGap}. */
export interface MigOptions {
  /** Factor columns holding integer class labels, used as they are (default: none; every factor is continuous and binned like the codes). */
  discrete?: readonly number[];
  /** Equal-width histogram bins of each continuous column, an integer ≥ 2 (default 20, disentanglement_lib's `num_bins`). */
  bins?: number;
}

/** Result of {@link mutualInformationGap}. */
export interface MigResult {
  /** The mean of {@link MigResult.perFactor}. */
  mig: number;
  /** Per factor k: (I_(1),k − I_(2),k) / H(v_k). */
  perFactor: number[];
  /** mi[j][k] = I(c_j; v_k) in nats, D×K. */
  mi: number[][];
  /** Per factor: H(v_k) in nats, after discretisation. */
  entropy: number[];
}

/** Labels of each code column (binned) and factor column (binned, or its classes when listed in `discrete`). */
function migLabels(c: Matrix, f: Matrix, discrete: Set<number>, bins: number) {
  const codes = Array.from({ length: c.cols }, (_, j) => denseLabels(discretizeChecked(column(c, j), bins)));
  const factors = Array.from({ length: f.cols }, (_, k) => denseLabels(discrete.has(k) ? labelColumn(f, k) : discretizeChecked(column(f, k), bins)));
  return { codes, factors };
}

function checkRows(c: Matrix, f: Matrix): void {
  check(f.rows === c.rows, 'factors', `${f.rows} rows`, `${c.rows} rows, one per row of codes`);
}

/**
 * Mutual information gap (Chen et al. 2018), as disentanglement_lib's `mig.py`:
 *
 *   MIG = (1/K) Σ_k (I_(1),k − I_(2),k) / H(v_k)
 *
 * where I_(1),k ≥ I_(2),k are the two largest I(c_j; v_k) over the D code
 * columns, every code column discretised by {@link discretize} (`bins`, default
 * 20) and the MI in nats as {@link mutualInfo}. Factor columns listed in
 * `discrete` are used as their class labels; every other factor column is
 * continuous and discretised with the same binning as the codes
 * (disentanglement_lib bins only the codes, since its factors are discrete).
 * H(v_k) is the entropy of the (discretised) factor.
 *
 * @param codes [N, D] codes (for a GAN: the latent z of each image), D ≥ 2.
 * @param factors [N, K] ground-truth factors of the same N samples.
 * @throws EccvkitInputError for D < 2, differing row counts, a `discrete` column
 *   holding a non-integer, or a constant factor (entropy 0, where MIG is undefined).
 */
export function mutualInformationGap(codes: SampleMatrix, factors: SampleMatrix, options: MigOptions = {}): MigResult {
  const c = asMatrix(codes, 'codes');
  const f = asMatrix(factors, 'factors');
  check(c.cols >= 2, 'codes', `${c.cols} column`, 'at least 2 code columns (the gap compares the best code with the second best)');
  checkRows(c, f);
  const bins = options.bins ?? 20;
  check(Number.isInteger(bins) && bins >= 2, 'bins', options.bins, 'an integer ≥ 2');
  const discrete = discreteColumns(options.discrete, f.cols);
  const labels = migLabels(c, f, discrete, bins);
  const ent = labels.factors.map((v, k) => {
    const h = entropyDense(v.ids, v.count);
    if (!(h > 0)) throw new EccvkitInputError(`factors column ${k}`, `a constant column (every row ${f.values[k]}, entropy 0)`, 'a factor that varies (MIG divides by its entropy)');
    return h;
  });
  const mi = labels.codes.map((u) => labels.factors.map((v) => mutualInfoDense(u.ids, u.count, v.ids, v.count)));
  const perFactor = ent.map((h, k) => {
    const sorted = mi.map((row) => row[k] as number).sort((x, y) => y - x);
    return ((sorted[0] as number) - (sorted[1] as number)) / h;
  });
  return { mig: perFactor.reduce((s, v) => s + v, 0) / perFactor.length, perFactor, mi, entropy: ent };
}

// ---------------------------------------------------------------------------
// DCI

/** Result of {@link dciFromImportance}. */
export interface DciScores {
  /** Σ_j ρ_j·D_j with ρ_j = Σ_k R_jk / Σ_jk R_jk; 0 when every importance is 0. */
  disentanglement: number;
  /** Σ_k σ_k·C_k with σ_k = Σ_j R_jk / Σ_jk R_jk (disentanglement_lib's weighting); 0 when every importance is 0. */
  completeness: number;
  /** D_j = 1 − H_K(P_j·), one per code. */
  perCode: number[];
  /** C_k = 1 − H_D(P̃_·k), one per factor. */
  perFactor: number[];
}

/** 1 − entropy of (w + 1e-11) normalised, in base `base` (scipy.stats.entropy after disentanglement_lib's + 1e-11); 1 for base 1. */
function oneMinusEntropy(w: Float64Array, base: number): number {
  if (base === 1) return 1;
  let total = 0;
  for (const v of w) total += v + 1e-11;
  let h = 0;
  for (const v of w) {
    const p = (v + 1e-11) / total;
    h -= p * Math.log(p);
  }
  return 1 - h / Math.log(base);
}

/**
 * DCI disentanglement and completeness (Eastwood & Williams 2018) of an
 * importance matrix R (D codes × K factors, R_jk ≥ 0: how much code j matters
 * for predicting factor k), exactly as disentanglement_lib's `dci.py`:
 *
 *   D_j = 1 − H_K(P_j·),  P_jk = R_jk / Σ_k R_jk      (entropy in base K)
 *   C_k = 1 − H_D(P̃_·k),  P̃_jk = R_jk / Σ_j R_jk     (entropy in base D)
 *   disentanglement = Σ_j ρ_j D_j,    ρ_j = Σ_k R_jk / Σ_jk R_jk
 *   completeness    = Σ_k σ_k C_k,    σ_k = Σ_j R_jk / Σ_jk R_jk
 *
 * 1e-11 is added to every R_jk before normalising (so the logs are finite), as
 * disentanglement_lib does. Completeness is weighted by each factor's share of
 * the total importance (disentanglement_lib), not averaged as in the paper. With
 * one factor (K = 1) every D_j is 1, with one code every C_k is 1 (the entropy of
 * a single outcome is 0). All-zero importances give 0 for both scores.
 * Sanity: diagonal R gives 1 and 1, constant R gives 0 and 0.
 *
 * @param importance R as [D, K], non-negative and finite.
 */
export function dciFromImportance(importance: SampleMatrix): DciScores {
  const r = asMatrix(importance, 'importance');
  const { rows: d, cols: k } = r;
  for (let i = 0; i < r.values.length; i++) {
    if ((r.values[i] as number) < 0) throw new EccvkitInputError('importance', `${r.values[i]} at row ${Math.floor(i / k)}, column ${i % k}`, 'non-negative importances');
  }
  let total = 0;
  for (const v of r.values) total += v;
  const perCode = Array.from({ length: d }, (_, j) => oneMinusEntropy(r.values.subarray(j * k, (j + 1) * k), k));
  const perFactor = Array.from({ length: k }, (_, c) => oneMinusEntropy(column(r, c), d));
  if (total === 0) return { disentanglement: 0, completeness: 0, perCode, perFactor };
  let dis = 0;
  for (let j = 0; j < d; j++) {
    let rowSum = 0;
    for (let c = 0; c < k; c++) rowSum += r.values[j * k + c] as number;
    dis += (rowSum / total) * (perCode[j] as number);
  }
  let com = 0;
  for (let c = 0; c < k; c++) {
    let colSum = 0;
    for (let j = 0; j < d; j++) colSum += r.values[j * k + c] as number;
    com += (colSum / total) * (perFactor[c] as number);
  }
  return { disentanglement: dis, completeness: com, perCode, perFactor };
}

/** Options of {@link dci}. */
export interface DciOptions {
  /** Factor columns holding integer class labels (default: none, every factor is continuous). */
  discrete?: readonly number[];
  /** Fraction of the rows that fit the predictors; the rest score informativeness (default 0.8). */
  trainFraction?: number;
  /** Seed of the train/test permutation (default 0). */
  seed?: number;
  /** Ridge λ on the standardised codes: β = (XᵀX/n + λI)⁻¹ Xᵀy/n (default 1e-3). */
  ridge?: number;
}

/** Result of {@link dci}. */
export interface DciResult extends DciScores {
  /** Mean of {@link DciResult.informativenessPerFactor}. */
  informativeness: number;
  /** Held-out R² clipped to [0, 1] (continuous factors) or argmax accuracy (discrete factors). */
  informativenessPerFactor: number[];
  /** R[j][k] = |ridge coefficient| of code j for factor k (summed over classes for discrete factors), D×K. */
  importance: number[][];
}

/** Cholesky factor L (row-major, lower) of a symmetric positive-definite n×n matrix, or null when a pivot is not positive. */
function cholesky(a: Float64Array, n: number): Float64Array | null {
  const l = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let s = a[i * n + j] as number;
      for (let p = 0; p < j; p++) s -= (l[i * n + p] as number) * (l[j * n + p] as number);
      if (i === j) {
        if (!(s > 0)) return null;
        l[i * n + i] = Math.sqrt(s);
      } else l[i * n + j] = s / (l[j * n + j] as number);
    }
  }
  return l;
}

function choleskySolve(l: Float64Array, n: number, b: Float64Array): Float64Array {
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = b[i] as number;
    for (let p = 0; p < i; p++) s -= (l[i * n + p] as number) * (y[p] as number);
    y[i] = s / (l[i * n + i] as number);
  }
  const x = new Float64Array(n);
  for (let i = n - 1; i >= 0; i--) {
    let s = y[i] as number;
    for (let p = i + 1; p < n; p++) s -= (l[p * n + i] as number) * (x[p] as number);
    x[i] = s / (l[i * n + i] as number);
  }
  return x;
}

/** Mean and population standard deviation of `x` over `rows`. */
function moments(x: Float64Array, rows: ArrayLike<number>): { mean: number; std: number } {
  let mean = 0;
  for (let i = 0; i < rows.length; i++) mean += x[rows[i] as number] as number;
  mean /= rows.length;
  let v = 0;
  for (let i = 0; i < rows.length; i++) v += ((x[rows[i] as number] as number) - mean) ** 2;
  return { mean, std: Math.sqrt(v / rows.length) };
}

/**
 * DCI (Eastwood & Williams 2018) of codes against known factors, with a
 * deterministic closed-form importance estimator:
 *
 * 1. The rows are split by a seeded permutation ({@link createRng}(`seed`)):
 *    the first round(N·`trainFraction`) rows fit, the rest score.
 * 2. Codes are standardised with the train split's mean and standard deviation
 *    (a constant code becomes 0 and gets importance 0).
 * 3. Per factor, ridge regression in Float64 on the standardised codes X:
 *    β = (XᵀX/n + λI)⁻¹ Xᵀy/n, of the standardised factor (continuous) or of
 *    each one-hot class indicator (discrete; intercept = the class frequency).
 *    R_jk = |β_j| (continuous) or Σ_classes |β_jc| (discrete).
 * 4. Disentanglement and completeness from R by {@link dciFromImportance}.
 * 5. Informativeness on the held-out split: R² clipped to [0, 1] (continuous;
 *    0 when the held-out factor is constant and not predicted exactly) or the
 *    accuracy of the argmax class score (discrete); the mean over factors.
 *
 * Why this estimator: it is deterministic, closed form and scale-free
 * (standardised coefficients), and fast enough for 10⁴ points. It captures
 * linear relations only (a monotone non-linear one partly): a factor that
 * depends on a code non-monotonically (e.g. through |z_j|) gets little importance
 * and a low informativeness. disentanglement_lib
 * uses gradient-boosted trees (`GradientBoostingClassifier` feature importances),
 * the paper Lasso and random forests, so these values are not comparable to
 * published DCI numbers; compare models with the same estimator only.
 *
 * @param codes [N, D] codes.
 * @param factors [N, K] factors; columns in `discrete` hold integer class labels.
 * @throws EccvkitInputError on differing row counts, a non-integer in a
 *   `discrete` column, a constant factor, a `trainFraction` leaving fewer than 2
 *   train rows or no test row, or a negative `ridge` (or `ridge` 0 with collinear codes).
 */
export function dci(codes: SampleMatrix, factors: SampleMatrix, options: DciOptions = {}): DciResult {
  const c = asMatrix(codes, 'codes');
  const f = asMatrix(factors, 'factors');
  checkRows(c, f);
  const trainFraction = options.trainFraction ?? 0.8;
  const seed = options.seed ?? 0;
  const ridge = options.ridge ?? 1e-3;
  const n = c.rows;
  const nTrain = Math.round(n * trainFraction);
  check(Number.isFinite(trainFraction) && trainFraction > 0 && trainFraction < 1 && nTrain >= 2 && nTrain < n, 'trainFraction', trainFraction, `a fraction in (0, 1) leaving ≥ 2 train rows and ≥ 1 test row of the ${n}`);
  check(Number.isFinite(ridge) && ridge >= 0, 'ridge', options.ridge, 'a non-negative ridge λ');
  const discrete = discreteColumns(options.discrete, f.cols);
  const d = c.cols;
  const perm = createRng(seed).permutation(n);
  const train = perm.subarray(0, nTrain);
  const test = perm.subarray(nTrain);
  const nTest = test.length;

  // Standardised codes, train rows then test rows, row-major.
  const xTrain = new Float64Array(nTrain * d);
  const xTest = new Float64Array(nTest * d);
  for (let j = 0; j < d; j++) {
    const col = column(c, j);
    const { mean, std } = moments(col, train);
    const scale = std > 0 ? 1 / std : 0;
    for (let i = 0; i < nTrain; i++) xTrain[i * d + j] = ((col[train[i] as number] as number) - mean) * scale;
    for (let i = 0; i < nTest; i++) xTest[i * d + j] = ((col[test[i] as number] as number) - mean) * scale;
  }
  const gram = new Float64Array(d * d);
  for (let i = 0; i < nTrain; i++) {
    for (let p = 0; p < d; p++) {
      const xp = xTrain[i * d + p] as number;
      if (xp === 0) continue;
      for (let q = 0; q <= p; q++) gram[p * d + q]! += xp * (xTrain[i * d + q] as number);
    }
  }
  for (let p = 0; p < d; p++) {
    for (let q = 0; q <= p; q++) {
      const v = (gram[p * d + q] as number) / nTrain + (p === q ? ridge : 0);
      gram[p * d + q] = v;
      gram[q * d + p] = v;
    }
  }
  const l = cholesky(gram, d);
  if (l === null) throw new EccvkitInputError('ridge', ridge, 'a positive ridge λ: the standardised codes are collinear or constant, so XᵀX is singular');
  /** Ridge coefficients of target y (train rows, any centring). */
  const fit = (y: Float64Array): Float64Array => {
    const b = new Float64Array(d);
    for (let i = 0; i < nTrain; i++) {
      const yi = y[i] as number;
      if (yi === 0) continue;
      for (let p = 0; p < d; p++) b[p]! += (xTrain[i * d + p] as number) * yi;
    }
    for (let p = 0; p < d; p++) b[p]! /= nTrain;
    return choleskySolve(l, d, b);
  };
  const predict = (beta: Float64Array, i: number): number => {
    let s = 0;
    for (let p = 0; p < d; p++) s += (xTest[i * d + p] as number) * (beta[p] as number);
    return s;
  };

  const importance = Array.from({ length: d }, () => new Array<number>(f.cols).fill(0));
  const informativenessPerFactor: number[] = [];
  for (let k = 0; k < f.cols; k++) {
    if (discrete.has(k)) {
      const { ids, count } = denseLabels(labelColumn(f, k));
      if (count < 2) throw new EccvkitInputError(`factors column ${k}`, `a constant column (every row ${f.values[k]})`, 'a factor that varies');
      const scores = new Float64Array(nTest * count);
      for (let cls = 0; cls < count; cls++) {
        const y = new Float64Array(nTrain);
        let prior = 0;
        for (let i = 0; i < nTrain; i++) {
          if (ids[train[i] as number] === cls) {
            y[i] = 1;
            prior++;
          }
        }
        prior /= nTrain;
        const beta = fit(y);
        for (let p = 0; p < d; p++) importance[p]![k]! += Math.abs(beta[p] as number);
        for (let i = 0; i < nTest; i++) scores[i * count + cls] = prior + predict(beta, i);
      }
      let correct = 0;
      for (let i = 0; i < nTest; i++) {
        let best = 0;
        for (let cls = 1; cls < count; cls++) if ((scores[i * count + cls] as number) > (scores[i * count + best] as number)) best = cls;
        if (best === ids[test[i] as number]) correct++;
      }
      informativenessPerFactor.push(correct / nTest);
    } else {
      const col = column(f, k);
      const { mean, std } = moments(col, train);
      if (!(std > 0)) throw new EccvkitInputError(`factors column ${k}`, `a column constant on the train split (value ${mean})`, 'a factor that varies');
      const y = new Float64Array(nTrain);
      for (let i = 0; i < nTrain; i++) y[i] = ((col[train[i] as number] as number) - mean) / std;
      const beta = fit(y);
      for (let p = 0; p < d; p++) importance[p]![k] = Math.abs(beta[p] as number);
      const yTest = Float64Array.from(test, (r) => ((col[r] as number) - mean) / std);
      let testMean = 0;
      for (const v of yTest) testMean += v;
      testMean /= nTest;
      let sse = 0;
      let sst = 0;
      for (let i = 0; i < nTest; i++) {
        sse += ((yTest[i] as number) - predict(beta, i)) ** 2;
        sst += ((yTest[i] as number) - testMean) ** 2;
      }
      const r2 = sst > 0 ? 1 - sse / sst : sse === 0 ? 1 : 0;
      informativenessPerFactor.push(Math.min(1, Math.max(0, r2)));
    }
  }
  const scores = dciFromImportance(importance);
  return {
    ...scores,
    informativeness: informativenessPerFactor.reduce((s, v) => s + v, 0) / informativenessPerFactor.length,
    informativenessPerFactor,
    importance,
  };
}

// ---------------------------------------------------------------------------
// The Hessian Penalty paper's measures of a generator (tfjs)

/** A generator seen as a function of latent codes [batch, D] (a LayersModel's `apply` or `predict` works), to any output whose first dimension is the batch (images [batch, H, W, C], activations…). */
export type LatentGenerator = (z: tf.Tensor2D) => tf.Tensor;

/** Runs G on `rows` latent rows (float32, row-major) and returns its outputs flattened per row. */
function evaluate(G: LatentGenerator, input: Float32Array, rows: number, dim: number, perRow: number | null): Float32Array {
  return tf.tidy(() => {
    const out = G(tf.tensor2d(input, [rows, dim]));
    check(out instanceof tf.Tensor, 'G', out, 'a function returning a tensor');
    check(out.rank >= 1 && out.shape[0] === rows && (perRow === null || out.size === rows * perRow), 'G', `an output of shape [${out.shape.join(', ')}] for ${rows} latent rows`, `a tensor whose first dimension is the batch (${rows})${perRow === null ? '' : `, ${perRow} values per row like the first call`}`);
    return Float32Array.from(out.dataSync());
  });
}

function checkG(G: unknown): asserts G is LatentGenerator {
  check(typeof G === 'function', 'G', G, 'a function from a [batch, D] latent tensor to a tensor');
}

function checkBatchSize(batchSize: number, name = 'batchSize'): void {
  check(Number.isInteger(batchSize) && batchSize >= 1, name, batchSize, 'an integer ≥ 1');
}

/** Options of {@link hessianDiagonalness}. */
export interface DiagonalnessOptions {
  /** Finite-difference step ε (default 0.1, the paper's). */
  epsilon?: number;
  /**
   * Skip output elements whose largest |H_ij| is below this (default 0: count every
   * element, as the reference). Background pixels have H ≈ 0 up to float32 noise,
   * where "largest entry" is noise; a small positive value (e.g. 1e-3) leaves them out.
   */
  minMagnitude?: number;
  /** Latent rows per forward pass of G (default 256); each sample needs 1 + 2D + 2D(D−1) rows. */
  batchSize?: number;
}

/** Result of {@link hessianDiagonalness}. */
export interface DiagonalnessResult {
  /** Fraction of output elements whose |H| has its largest entry on the diagonal (NaN when none was counted). */
  fractionDiagonal: number;
  /** Mean over output elements of mean|H_ii| / (mean_{i≠j}|H_ij| + 1e-8) (NaN when none was counted). */
  relativeDiagonalStrength: number;
  /** Output elements counted (samples × elements per sample, less those under `minMagnitude`). */
  pixels: number;
}

/**
 * "Diagonal-ness" of a generator's Hessians (Peebles et al. 2020, Table 2, via
 * the reference's `figures.py --fig diag`). For every sample z (rows of `z`) and
 * every output element (pixel × channel), the full D×D Hessian of that element
 * with respect to z, by the 4-point central difference
 *
 *   H_ij = (G(z+εe_i+εe_j) − G(z+εe_i−εe_j) − G(z−εe_i+εe_j) + G(z−εe_i−εe_j)) / (4ε²)
 *   H_ii = (G(z+2εe_i) − 2G(z) + G(z−2εe_i)) / (4ε²)
 *
 * (ε = 0.1), from 1 + 2D + 2D(D−1) evaluations per sample, batched into passes
 * of `batchSize` rows (samples are processed in groups of about that many rows,
 * so memory is one group's outputs). Then:
 * - fractionDiagonal: the fraction of elements whose |H| has its largest entry on
 *   the diagonal, found as NumPy's `argmax` over the full |H| in row-major order
 *   (ties go to the first index). So an all-zero H (a background pixel that no
 *   coordinate moves) has its "largest entry" at (0, 0) and counts as diagonal,
 *   which is what a NumPy argmax-based count does (the reference notes say only
 *   "largest entry on the diagonal", nothing of ties); pass
 *   `minMagnitude` > 0 to leave such elements out of both numbers instead (float32
 *   noise in a flat region is ~1e-5 at ε = 0.1, so its argmax is arbitrary);
 * - relativeDiagonalStrength: the mean over elements of
 *   mean_i |H_ii| / (mean_{i≠j} |H_ij| + 1e-8).
 * Differences are taken in Float64 from G's float32 outputs.
 *
 * @param G the generator; any randomness in it must be the same on every call.
 * @param z [B, D] latent codes, D ≥ 2.
 */
export function hessianDiagonalness(G: LatentGenerator, z: tf.Tensor2D, options: DiagonalnessOptions = {}): DiagonalnessResult {
  checkG(G);
  check(z instanceof tf.Tensor && z.rank === 2 && z.shape[0] >= 1 && z.shape[1] >= 2, 'z', z, 'a 2-D tensor [batch, D] of latent codes with D ≥ 2');
  const epsilon = options.epsilon ?? 0.1;
  const minMagnitude = options.minMagnitude ?? 0;
  const batchSize = options.batchSize ?? 256;
  check(Number.isFinite(epsilon) && epsilon > 0, 'epsilon', options.epsilon, 'a positive finite-difference step');
  check(Number.isFinite(minMagnitude) && minMagnitude >= 0, 'minMagnitude', options.minMagnitude, 'a non-negative magnitude');
  checkBatchSize(batchSize);
  const [b, d] = z.shape as [number, number];
  const zs = z.dataSync();
  // Perturbations per sample: 0 → z; 1 + 2i, 2 + 2i → z ± 2εe_i; then per pair i < j: ++, +−, −+, −−.
  const shifts: [number, number, number, number][] = [[0, 0, 0, 0]];
  for (let i = 0; i < d; i++) shifts.push([i, 2 * epsilon, 0, 0], [i, -2 * epsilon, 0, 0]);
  const pairBase = shifts.length;
  for (let i = 0; i < d; i++) {
    for (let j = i + 1; j < d; j++) {
      shifts.push([i, epsilon, j, epsilon], [i, epsilon, j, -epsilon], [i, -epsilon, j, epsilon], [i, -epsilon, j, -epsilon]);
    }
  }
  const perSample = shifts.length;
  // Samples go in groups of ≈ batchSize rows, so memory stays at one group's outputs.
  const samplesPerGroup = Math.max(1, Math.floor(batchSize / perSample));
  const scale = 1 / (4 * epsilon * epsilon);
  const h = new Float64Array(d * d);
  let perRow: number | null = null;
  let counted = 0;
  let diagonal = 0;
  let strength = 0;
  for (let s0 = 0; s0 < b; s0 += samplesPerGroup) {
    const group = Math.min(samplesPerGroup, b - s0);
    const total = group * perSample;
    const rows = new Float32Array(total * d);
    for (let g = 0; g < group; g++) {
      const zAt = (s0 + g) * d;
      shifts.forEach(([i, di, j, dj], p) => {
        const at = (g * perSample + p) * d;
        for (let c = 0; c < d; c++) rows[at + c] = zs[zAt + c] as number;
        rows[at + i] = (zs[zAt + i] as number) + di;
        rows[at + j] = (rows[at + j] as number) + dj;
      });
    }
    let out: Float32Array | null = null;
    for (let start = 0; start < total; start += batchSize) {
      const n = Math.min(batchSize, total - start);
      const part = evaluate(G, rows.subarray(start * d, (start + n) * d), n, d, perRow);
      perRow ??= part.length / n;
      out ??= new Float32Array(total * perRow);
      out.set(part, start * perRow);
    }
    const m = perRow as number;
    const values = out as Float32Array;
    for (let g = 0; g < group; g++) {
      const base = g * perSample;
      const value = (p: number, e: number) => values[(base + p) * m + e] as number;
      for (let e = 0; e < m; e++) {
        const center = value(0, e);
        for (let i = 0; i < d; i++) h[i * d + i] = (value(1 + 2 * i, e) - 2 * center + value(2 + 2 * i, e)) * scale;
        let p = pairBase;
        for (let i = 0; i < d; i++) {
          for (let j = i + 1; j < d; j++) {
            const v = (value(p, e) - value(p + 1, e) - value(p + 2, e) + value(p + 3, e)) * scale;
            h[i * d + j] = v;
            h[j * d + i] = v;
            p += 4;
          }
        }
        // argmax of |H| in row-major order (first index on ties), as NumPy's argmax.
        let best = -1;
        let at = 0;
        let diagSum = 0;
        let offSum = 0;
        for (let q = 0; q < d * d; q++) {
          const a = Math.abs(h[q] as number);
          if (a > best) {
            best = a;
            at = q;
          }
          if (q % (d + 1) === 0) diagSum += a;
          else offSum += a;
        }
        if (best < minMagnitude) continue;
        counted++;
        if (at % (d + 1) === 0) diagonal++;
        strength += diagSum / d / (offSum / (d * (d - 1)) + 1e-8);
      }
    }
  }
  return { fractionDiagonal: counted > 0 ? diagonal / counted : NaN, relativeDiagonalStrength: counted > 0 ? strength / counted : NaN, pixels: counted };
}

/** Options of {@link activeness}. */
export interface ActivenessOptions {
  /** D, the latent size of G. */
  latentDim: number;
  /** Latent samples z ~ N(0, I) (default 300, the reference's `--samples`). */
  samples?: number;
  /** Seed of the samples (default 0). */
  seed?: number;
  /** Values z_i is set to (default [−2, 0, 2]); at least 2. */
  values?: readonly number[];
  /** Latent rows per forward pass of G (default 256). */
  batchSize?: number;
}

/**
 * Activeness of each latent coordinate (Peebles et al. 2020, Fig. 5): for each
 * sample z ~ N(0, I_D) (drawn from {@link createRng}(`seed`), D normals per
 * sample) and each coordinate i, z_i is set to each of `values` (default
 * −2, 0, 2) with the other coordinates fixed; the unbiased variance (÷(V − 1))
 * across those V outputs is taken per output element, then averaged over
 * elements and samples. A coordinate G ignores scores 0.
 *
 * @returns one score per coordinate, length D.
 */
export function activeness(G: LatentGenerator, options: ActivenessOptions): number[] {
  checkG(G);
  const { latentDim: d } = options ?? ({} as ActivenessOptions);
  const samples = options.samples ?? 300;
  const seed = options.seed ?? 0;
  const values = options.values ?? [-2, 0, 2];
  const batchSize = options.batchSize ?? 256;
  check(Number.isInteger(d) && d >= 1, 'latentDim', d, 'an integer ≥ 1, the latent size of G');
  check(Number.isInteger(samples) && samples >= 1, 'samples', options.samples, 'an integer ≥ 1');
  check(Array.isArray(values) && values.length >= 2 && values.every(Number.isFinite), 'values', values, 'at least 2 finite values (a variance needs two)');
  checkBatchSize(batchSize);
  const v = values.length;
  const rng = createRng(seed);
  const zs = Float64Array.from({ length: samples * d }, () => rng.normal());
  const groups = samples * d;
  const groupsPerPass = Math.max(1, Math.floor(batchSize / v));
  const scores = new Float64Array(d);
  let perRow: number | null = null;
  for (let g0 = 0; g0 < groups; g0 += groupsPerPass) {
    const g = Math.min(groupsPerPass, groups - g0);
    const input = new Float32Array(g * v * d);
    for (let q = 0; q < g; q++) {
      const s = Math.floor((g0 + q) / d);
      const i = (g0 + q) % d;
      for (let a = 0; a < v; a++) {
        const at = (q * v + a) * d;
        for (let c = 0; c < d; c++) input[at + c] = zs[s * d + c] as number;
        input[at + i] = values[a] as number;
      }
    }
    const variances = tf.tidy(() => {
      const out = G(tf.tensor2d(input, [g * v, d]));
      check(out instanceof tf.Tensor, 'G', out, 'a function returning a tensor');
      check(out.rank >= 1 && out.shape[0] === g * v && (perRow === null || out.size === g * v * perRow), 'G', `an output of shape [${out.shape.join(', ')}] for ${g * v} latent rows`, `a tensor whose first dimension is the batch (${g * v})${perRow === null ? '' : `, ${perRow} values per row like the first call`}`);
      perRow = out.size / (g * v);
      const grouped = tf.reshape(out, [g, v, perRow]);
      const centred = tf.sub(grouped, tf.mean(grouped, 1, true));
      return tf.mean(tf.div(tf.sum(tf.square(centred), 1), v - 1), 1);
    });
    const data = variances.dataSync();
    variances.dispose();
    for (let q = 0; q < g; q++) scores[(g0 + q) % d]! += data[q] as number;
  }
  return Array.from(scores, (s) => s / samples);
}

/** Options of {@link perceptualPathLength}. */
export interface PplOptions {
  /** D, the latent size of G. */
  latentDim: number;
  /** Pairs of latent samples (default 1000; the paper used 100,000). */
  samples?: number;
  /** Step ε along the path (default 1e-4). */
  epsilon?: number;
  /** Seed of z₀, z₁ and t (default 0). */
  seed?: number;
  /** Samples per forward pass (2 latent rows each; default 100). */
  batchSize?: number;
  /** 'end': t = 0, as the paper's `ppl_zend_v2` (default); 'full': t ~ U(0, 1). */
  sampling?: 'full' | 'end';
}

/** Result of {@link perceptualPathLength}. */
export interface PplResult {
  /** Mean of the distances within their 1st–99th percentiles. */
  ppl: number;
  /** Every sample's ‖φ(G(z_t)) − φ(G(z_{t+ε}))‖² / ε², in sample order, before the percentile filter. */
  distances: number[];
}

/**
 * Point on the path from z0 to z1 at t: the direction by StyleGAN's slerp of the
 * unit vectors (a, c orthonormal in the plane of z0 and z1), the norm
 * interpolated linearly, so t = 0 is z0 itself.
 */
function slerpPoint(z0: Float64Array, z1: Float64Array, t: number, out: Float32Array, at: number): void {
  const d = z0.length;
  let n0 = 0;
  let n1 = 0;
  for (let i = 0; i < d; i++) {
    n0 += (z0[i] as number) ** 2;
    n1 += (z1[i] as number) ** 2;
  }
  n0 = Math.sqrt(n0);
  n1 = Math.sqrt(n1);
  let dot = 0;
  for (let i = 0; i < d; i++) dot += ((z0[i] as number) / n0) * ((z1[i] as number) / n1);
  dot = Math.min(1, Math.max(-1, dot));
  const omega = t * Math.acos(dot);
  const c = new Float64Array(d);
  let nc = 0;
  for (let i = 0; i < d; i++) {
    c[i] = (z1[i] as number) / n1 - (dot * (z0[i] as number)) / n0;
    nc += (c[i] as number) ** 2;
  }
  nc = Math.sqrt(nc);
  const u = new Float64Array(d);
  let nu = 0;
  for (let i = 0; i < d; i++) {
    u[i] = ((z0[i] as number) / n0) * Math.cos(omega) + (nc > 0 ? ((c[i] as number) / nc) * Math.sin(omega) : 0);
    nu += (u[i] as number) ** 2;
  }
  nu = Math.sqrt(nu);
  const radius = (1 - t) * n0 + t * n1;
  for (let i = 0; i < d; i++) out[at + i] = ((u[i] as number) / nu) * radius;
}

/**
 * Perceptual path length in z-space (Karras et al. 2019; the Hessian Penalty
 * paper reports StyleGAN-v2's `ppl_zend_v2`): for each sample, z₀, z₁ ~ N(0, I_D)
 * and t (0 with `sampling: 'end'`, the default; U(0, 1) with 'full'), drawn in
 * that order per sample from {@link createRng}(`seed`); the points at t and
 * t + ε on the spherical path from z₀ to z₁ (StyleGAN's slerp of the directions,
 * with the norm interpolated linearly between ‖z₀‖ and ‖z₁‖ so that inputs keep
 * the prior's scale; for a generator that normalises its input, as ProGAN and
 * StyleGAN do, this is the reference's path); the distance
 *
 *   ‖φ̂(G(z_t)) − φ̂(G(z_{t+ε}))‖² / ε²,  φ̂ = φ / ‖φ‖ (unit-normalised features)
 *
 * then the mean of the distances within the 1st ('lower') and 99th ('higher')
 * percentiles, as StyleGAN's code filters them. Defaults: 1000 samples, ε = 1e-4.
 * `features` stands in for LPIPS (VGG16 weights are not available offline), so
 * the numbers are NOT comparable to published PPL; compare generators with the
 * same features only. Unit-normalised features make PPL invariant to the scale of G.
 *
 * @param G the generator.
 * @param features φ, from G's outputs [n, …] to [n, F] feature rows.
 */
export function perceptualPathLength(G: LatentGenerator, features: (images: tf.Tensor) => tf.Tensor2D, options: PplOptions): PplResult {
  checkG(G);
  check(typeof features === 'function', 'features', features, 'a function from images to a [n, F] feature tensor');
  const { latentDim: d } = options ?? ({} as PplOptions);
  const samples = options.samples ?? 1000;
  const epsilon = options.epsilon ?? 1e-4;
  const seed = options.seed ?? 0;
  const batchSize = options.batchSize ?? 100;
  const sampling = options.sampling ?? 'end';
  check(Number.isInteger(d) && d >= 2, 'latentDim', d, 'an integer ≥ 2, the latent size of G');
  check(Number.isInteger(samples) && samples >= 1, 'samples', options.samples, 'an integer ≥ 1');
  check(Number.isFinite(epsilon) && epsilon > 0 && epsilon < 1, 'epsilon', options.epsilon, 'a step in (0, 1)');
  check(sampling === 'full' || sampling === 'end', 'sampling', options.sampling, "'full' or 'end'");
  checkBatchSize(batchSize);
  const rng = createRng(seed);
  const distances: number[] = [];
  const z0 = new Float64Array(d);
  const z1 = new Float64Array(d);
  for (let s0 = 0; s0 < samples; s0 += batchSize) {
    const n = Math.min(batchSize, samples - s0);
    // Rows 0..n−1: z_t; rows n..2n−1: z_{t+ε}.
    const input = new Float32Array(2 * n * d);
    for (let q = 0; q < n; q++) {
      for (let i = 0; i < d; i++) z0[i] = rng.normal();
      for (let i = 0; i < d; i++) z1[i] = rng.normal();
      const t = sampling === 'full' ? rng.next() : 0;
      slerpPoint(z0, z1, t, input, q * d);
      slerpPoint(z0, z1, t + epsilon, input, (n + q) * d);
    }
    const dist = tf.tidy(() => {
      const images = G(tf.tensor2d(input, [2 * n, d]));
      check(images instanceof tf.Tensor && images.rank >= 1 && images.shape[0] === 2 * n, 'G', images instanceof tf.Tensor ? `an output of shape [${images.shape.join(', ')}] for ${2 * n} latent rows` : images, `a tensor whose first dimension is the batch (${2 * n})`);
      const phi = features(images);
      check(phi instanceof tf.Tensor && phi.rank === 2 && phi.shape[0] === 2 * n, 'features', phi instanceof tf.Tensor ? `an output of shape [${phi.shape.join(', ')}] for ${2 * n} images` : phi, `a 2-D tensor [${2 * n}, F], one feature row per image`);
      const unit = tf.div(phi, tf.maximum(tf.norm(phi, 'euclidean', 1, true), 1e-12));
      const [a, b] = tf.split(unit, 2, 0) as [tf.Tensor2D, tf.Tensor2D];
      return tf.div(tf.sum(tf.square(tf.sub(a, b)), 1), epsilon * epsilon);
    });
    distances.push(...Array.from(dist.dataSync()));
    dist.dispose();
  }
  const sorted = [...distances].sort((x, y) => x - y);
  const lo = sorted[Math.floor(0.01 * (samples - 1))] as number;
  const hi = sorted[Math.ceil(0.99 * (samples - 1))] as number;
  const kept = distances.filter((v) => v >= lo && v <= hi);
  return { ppl: kept.reduce((s, v) => s + v, 0) / kept.length, distances };
}
