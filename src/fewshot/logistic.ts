/**
 * Multinomial logistic regression with an L2 penalty, solved by L-BFGS: the
 * per-episode classifier of RFS ("Rethinking Few-Shot Image Classification: a
 * Good Embedding Is All You Need?", Tian et al., ECCV 2020), which calls
 * scikit-learn's `LogisticRegression(penalty='l2', C=1, solver='lbfgs',
 * max_iter=1000, multi_class='multinomial')`. We match its objective, not its
 * optimiser:
 *
 *   f(W, b) = ½‖W‖²_F + C · Σᵢ [ log Σₖ exp(zᵢₖ) − z_{i,yᵢ} ],   zᵢ = W xᵢ + b,
 *
 * with one weight row per class (K rows, not K − 1) and the bias unpenalised.
 * f is convex; its minimiser in W is unique, and b is unique up to adding the
 * same constant to every class, which changes no prediction or probability.
 * Arithmetic is Float64 on the CPU: an episode is tiny (tens of rows).
 *
 * With fewer rows than features (25 support images of 640-d features), the
 * solver runs in an orthonormal basis of the rows' span (from their Gram
 * matrix): from θ = 0 every gradient, and so every iterate, lies in that span,
 * and the basis is an isometry, so the L-BFGS iterates are the same ones (up
 * to round-off) at about rows/features of the cost. The stopping test stays
 * the full-space max |∂f/∂θ|.
 */
import { check } from '../errors.js';
import { softmaxPredictions, type FeatureMatrix } from './features.js';

/** Options of {@link fitLogisticRegression}. */
export interface LogisticOptions {
  /** Inverse regularisation strength C (weight of the summed cross-entropy); default 1, as RFS. */
  C?: number;
  /** Most L-BFGS iterations; default 1000, as RFS. */
  maxIterations?: number;
  /** Stop when max |∂f/∂θ| ≤ tolerance; default 1e-6 (scikit-learn stops at 1e-4). */
  tolerance?: number;
  /** L-BFGS memory (pairs kept); default 10, as SciPy's L-BFGS-B. */
  memory?: number;
}

/** A fitted model and how the solver ended. */
export interface LogisticModel {
  classes: number;
  features: number;
  /** K × D weights, row-major (row k scores class k). */
  weights: Float64Array;
  /** K biases. */
  bias: Float64Array;
  /** Objective value at the solution. */
  objective: number;
  /** max |gradient| at the solution. */
  gradientNorm: number;
  iterations: number;
  converged: boolean;
}

/**
 * The objective f and its gradient at θ = [W (K×D row-major), b (K)], written
 * into `grad` (length K·D + K). Exported so tests can check optimality.
 */
export function logisticObjective(theta: Float64Array, x: FeatureMatrix, y: Int32Array, classes: number, C: number, grad: Float64Array): number {
  const { rows: n, cols: d, data } = x;
  const K = classes;
  const wLen = K * d;
  let f = 0;
  for (let k = 0; k < wLen; k++) {
    const w = theta[k] as number;
    f += 0.5 * w * w;
    grad[k] = w;
  }
  for (let k = 0; k < K; k++) grad[wLen + k] = 0;
  const z = new Float64Array(K);
  for (let i = 0; i < n; i++) {
    const row = i * d;
    let max = -Infinity;
    for (let k = 0; k < K; k++) {
      let s = theta[wLen + k] as number;
      const wk = k * d;
      for (let j = 0; j < d; j++) s += (theta[wk + j] as number) * (data[row + j] as number);
      z[k] = s;
      if (s > max) max = s;
    }
    let sum = 0;
    for (let k = 0; k < K; k++) sum += Math.exp((z[k] as number) - max);
    const lse = max + Math.log(sum);
    const yi = y[i] as number;
    f += C * (lse - (z[yi] as number));
    for (let k = 0; k < K; k++) {
      const g = C * (Math.exp((z[k] as number) - lse) - (k === yi ? 1 : 0));
      grad[wLen + k] = (grad[wLen + k] as number) + g;
      if (g === 0) continue;
      const wk = k * d;
      for (let j = 0; j < d; j++) grad[wk + j] = (grad[wk + j] as number) + g * (data[row + j] as number);
    }
  }
  return f;
}

function dot(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i] as number) * (b[i] as number);
  return s;
}

function maxAbs(a: Float64Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] as number));
  return m;
}

/**
 * The rows' span, from the Gram matrix G = X Xᵀ by pivoted Cholesky G = L Lᵀ
 * (L: n × r, rows of the r pivots lower-triangular in pivot order): row i's
 * coordinates in an orthonormal basis B of the span are L's row i, and
 * B = L_p⁻¹ X_p (p: the pivot rows) is never formed. Rows already in the span
 * of earlier pivots (duplicates) add no pivot.
 */
interface RowSpace {
  rank: number;
  /** The pivot rows, in pivot order. */
  pivots: Int32Array;
  /** L, n × r row-major: the coordinates. */
  coords: FeatureMatrix;
}

function rowSpace(x: FeatureMatrix): RowSpace {
  const { rows: n, cols: d, data } = x;
  const G = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let s = 0;
      for (let t = 0; t < d; t++) s += (data[i * d + t] as number) * (data[j * d + t] as number);
      G[i * n + j] = s;
      G[j * n + i] = s;
    }
  }
  const L = new Float64Array(n * n);
  const diag = Float64Array.from({ length: n }, (_, i) => G[i * n + i] as number);
  const chosen = new Uint8Array(n);
  const pivots: number[] = [];
  const floor = 1e-12 * Math.max(...diag, Number.MIN_VALUE);
  for (let k = 0; k < n; k++) {
    let best = -1;
    for (let i = 0; i < n; i++) if (!chosen[i] && (best < 0 || (diag[i] as number) > (diag[best] as number))) best = i;
    if (best < 0 || (diag[best] as number) <= floor) break;
    chosen[best] = 1;
    pivots.push(best);
    const lkk = Math.sqrt(diag[best] as number);
    L[best * n + k] = lkk;
    for (let i = 0; i < n; i++) {
      if (chosen[i]) continue;
      let s = G[i * n + best] as number;
      for (let t = 0; t < k; t++) s -= (L[i * n + t] as number) * (L[best * n + t] as number);
      const v = s / lkk;
      L[i * n + k] = v;
      diag[i] = (diag[i] as number) - v * v;
    }
  }
  const r = pivots.length;
  const coords = new Float64Array(n * r);
  for (let i = 0; i < n; i++) for (let t = 0; t < r; t++) coords[i * r + t] = L[i * n + t] as number;
  return { rank: r, pivots: Int32Array.from(pivots), coords: { data: coords, rows: n, cols: r } };
}

/** Rows of K × r coefficients in the basis B, as K × d full-space rows: (A L_p⁻¹) X_p. */
function rowsToFullSpace(a: Float64Array, classes: number, space: RowSpace, x: FeatureMatrix): Float64Array {
  const r = space.rank;
  const d = x.cols;
  const L = space.coords.data;
  const out = new Float64Array(classes * d);
  const c = new Float64Array(r);
  for (let k = 0; k < classes; k++) {
    // c · L_p = a_k, L_p lower-triangular (row t of L_p is L's row pivots[t]): back substitution.
    for (let t = r - 1; t >= 0; t--) {
      let v = a[k * r + t] as number;
      for (let u = t + 1; u < r; u++) v -= (c[u] as number) * (L[(space.pivots[u] as number) * r + t] as number);
      c[t] = v / (L[(space.pivots[t] as number) * r + t] as number);
    }
    for (let t = 0; t < r; t++) {
      const ct = c[t] as number;
      if (ct === 0) continue;
      const row = (space.pivots[t] as number) * d;
      for (let j = 0; j < d; j++) out[k * d + j] = (out[k * d + j] as number) + ct * (x.data[row + j] as number);
    }
  }
  return out;
}

/** [W, b] in the full space from [W̃, b] in the basis. */
function toFullSpace(theta: Float64Array, space: RowSpace, classes: number, x: FeatureMatrix): Float64Array {
  const wLen = classes * space.rank;
  const out = new Float64Array(classes * x.cols + classes);
  out.set(rowsToFullSpace(theta, classes, space, x));
  out.set(theta.subarray(wLen, wLen + classes), classes * x.cols);
  return out;
}

/**
 * Fits the L2-penalised multinomial logistic regression to rows `x` with
 * labels `y` in 0…classes−1 by L-BFGS (two-loop recursion, backtracking Armijo
 * line search), starting from θ = 0 as scikit-learn does.
 */
export function fitLogisticRegression(x: FeatureMatrix, y: Int32Array, classes: number, options: LogisticOptions = {}): LogisticModel {
  const { C = 1, maxIterations = 1000, tolerance = 1e-6, memory = 10 } = options;
  check(typeof C === 'number' && C > 0 && Number.isFinite(C), 'C', C, 'a positive number');
  check(Number.isInteger(maxIterations) && maxIterations >= 1, 'maxIterations', maxIterations, 'a positive integer');
  check(typeof tolerance === 'number' && tolerance > 0, 'tolerance', tolerance, 'a positive number');
  check(Number.isInteger(memory) && memory >= 1, 'memory', memory, 'a positive integer');
  check(Number.isInteger(classes) && classes >= 2, 'classes', classes, 'an integer ≥ 2');
  check(y.length === x.rows, 'labels', `${y.length} labels`, `${x.rows}, one per row`);
  for (let i = 0; i < y.length; i++) if (!(Number.isInteger(y[i]) && (y[i] as number) >= 0 && (y[i] as number) < classes)) check(false, 'labels', y[i], `integers in [0, ${classes - 1}]`);

  const space = x.cols > x.rows ? rowSpace(x) : undefined;
  const fitX = space ? space.coords : x;
  // The stopping test is on the full-space max |∂f/∂θ|, which a rotation changes. B is an isometry, so a class
  // row's 2-norm is the same in both spaces and bounds its entries: ‖g‖₂/√d ≤ max|g| ≤ ‖g‖₂. Only between the
  // bounds is the full-space gradient formed; `exact` forms it for the result.
  const gradientNorm = (g: Float64Array, exact = false): number => {
    if (!space) return maxAbs(g);
    const r = space.rank;
    let bias = 0;
    for (let k = 0; k < classes; k++) bias = Math.max(bias, Math.abs(g[classes * r + k] as number));
    let row2 = 0;
    for (let k = 0; k < classes; k++) {
      let s = 0;
      for (let t = 0; t < r; t++) s += (g[k * r + t] as number) ** 2;
      row2 = Math.max(row2, Math.sqrt(s));
    }
    if (!exact && (bias > tolerance || row2 / Math.sqrt(x.cols) > tolerance)) return Math.max(bias, row2 / Math.sqrt(x.cols));
    if (!exact && row2 <= tolerance) return Math.max(bias, row2);
    return Math.max(bias, maxAbs(rowsToFullSpace(g, classes, space, x)));
  };
  const p = classes * fitX.cols + classes;
  let theta = new Float64Array(p);
  let grad = new Float64Array(p);
  let f = logisticObjective(theta, fitX, y, classes, C, grad);
  const sList: Float64Array[] = [];
  const yList: Float64Array[] = [];
  const rhoList: number[] = [];
  const alpha = new Float64Array(memory);
  const dir = new Float64Array(p);
  let nextTheta = new Float64Array(p);
  let nextGrad = new Float64Array(p);
  let iterations = 0;
  let gnorm = gradientNorm(grad);
  while (gnorm > tolerance && iterations < maxIterations) {
    iterations++;
    // Two-loop recursion: dir = −H·grad.
    dir.set(grad);
    for (let m = sList.length - 1; m >= 0; m--) {
      const a = (rhoList[m] as number) * dot(sList[m] as Float64Array, dir);
      alpha[m] = a;
      const ym = yList[m] as Float64Array;
      for (let i = 0; i < p; i++) dir[i] = (dir[i] as number) - a * (ym[i] as number);
    }
    if (sList.length > 0) {
      const last = sList.length - 1;
      const gamma = dot(sList[last] as Float64Array, yList[last] as Float64Array) / dot(yList[last] as Float64Array, yList[last] as Float64Array);
      for (let i = 0; i < p; i++) dir[i] = (dir[i] as number) * gamma;
    } else {
      // First step: unit length in the steepest direction, a scale-free start.
      const norm = Math.sqrt(dot(grad, grad));
      for (let i = 0; i < p; i++) dir[i] = (dir[i] as number) / Math.max(norm, 1);
    }
    for (let m = 0; m < sList.length; m++) {
      const b = (rhoList[m] as number) * dot(yList[m] as Float64Array, dir);
      const sm = sList[m] as Float64Array;
      const a = alpha[m] as number;
      for (let i = 0; i < p; i++) dir[i] = (dir[i] as number) + (a - b) * (sm[i] as number);
    }
    for (let i = 0; i < p; i++) dir[i] = -(dir[i] as number);
    let slope = dot(grad, dir);
    if (!(slope < 0)) {
      // Not a descent direction (round-off in the curvature pairs): restart from steepest descent.
      sList.length = 0;
      yList.length = 0;
      rhoList.length = 0;
      for (let i = 0; i < p; i++) dir[i] = -(grad[i] as number);
      slope = dot(grad, dir);
    }
    // Backtracking line search with the Armijo condition.
    let step = 1;
    let fNext = Infinity;
    let accepted = false;
    for (let ls = 0; ls < 60; ls++) {
      for (let i = 0; i < p; i++) nextTheta[i] = (theta[i] as number) + step * (dir[i] as number);
      fNext = logisticObjective(nextTheta, fitX, y, classes, C, nextGrad);
      if (fNext <= f + 1e-4 * step * slope) {
        accepted = true;
        break;
      }
      step *= 0.5;
    }
    if (!accepted) break;
    const s = new Float64Array(p);
    const yy = new Float64Array(p);
    for (let i = 0; i < p; i++) {
      s[i] = (nextTheta[i] as number) - (theta[i] as number);
      yy[i] = (nextGrad[i] as number) - (grad[i] as number);
    }
    const sy = dot(s, yy);
    // Keep only pairs with positive curvature, so H stays positive definite.
    if (sy > 1e-12 * dot(yy, yy)) {
      if (sList.length === memory) {
        sList.shift();
        yList.shift();
        rhoList.shift();
      }
      sList.push(s);
      yList.push(yy);
      rhoList.push(1 / sy);
    }
    [theta, nextTheta] = [nextTheta, theta];
    [grad, nextGrad] = [nextGrad, grad];
    const fPrev = f;
    f = fNext;
    gnorm = gradientNorm(grad);
    // Stalled at machine precision: no further progress is representable.
    if (fPrev - f <= 1e-16 * Math.max(1, Math.abs(f)) && gnorm > tolerance && step < 1e-10) break;
  }
  if (space) gnorm = gradientNorm(grad, true);
  const full = space ? toFullSpace(theta, space, classes, x) : theta;
  const wLen = classes * x.cols;
  return {
    classes,
    features: x.cols,
    weights: full.slice(0, wLen),
    bias: full.slice(wLen),
    objective: f,
    gradientNorm: gnorm,
    iterations,
    converged: gnorm <= tolerance,
  };
}

/** Class probabilities (softmax of W x + b), one row per query, and the arg-max class of each. */
export function predictLogistic(model: LogisticModel, x: FeatureMatrix): { predictions: Int32Array; probabilities: Float64Array[] } {
  check(x.cols === model.features, 'query', `width ${x.cols}`, `width ${model.features}, the support's`);
  const d = x.cols;
  return softmaxPredictions(x.rows, model.classes, (i, k) => {
    let s = model.bias[k] as number;
    for (let j = 0; j < d; j++) s += (model.weights[k * d + j] as number) * (x.data[i * d + j] as number);
    return s;
  });
}
