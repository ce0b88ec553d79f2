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
  for (let i = 0; i < y.length; i++) check(Number.isInteger(y[i]) && (y[i] as number) >= 0 && (y[i] as number) < classes, 'labels', y[i], `integers in [0, ${classes - 1}]`);

  const p = classes * x.cols + classes;
  let theta = new Float64Array(p);
  let grad = new Float64Array(p);
  let f = logisticObjective(theta, x, y, classes, C, grad);
  const sList: Float64Array[] = [];
  const yList: Float64Array[] = [];
  const rhoList: number[] = [];
  const alpha = new Float64Array(memory);
  const dir = new Float64Array(p);
  let nextTheta = new Float64Array(p);
  let nextGrad = new Float64Array(p);
  let iterations = 0;
  let gnorm = maxAbs(grad);
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
      fNext = logisticObjective(nextTheta, x, y, classes, C, nextGrad);
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
    gnorm = maxAbs(grad);
    // Stalled at machine precision: no further progress is representable.
    if (fPrev - f <= 1e-16 * Math.max(1, Math.abs(f)) && gnorm > tolerance && step < 1e-10) break;
  }
  const wLen = classes * x.cols;
  return {
    classes,
    features: x.cols,
    weights: theta.slice(0, wLen),
    bias: theta.slice(wLen),
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
