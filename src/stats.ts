/**
 * Confidence intervals shared by the experiments: the one RFS reports (`mean_confidence_interval` in its
 * `meta_eval.py`): mean ± t_{(1+0.95)/2, n−1} · s/√n over per-episode
 * accuracies, with s the sample standard deviation (ddof = 1).
 */
import { check } from './errors.js';

/** log Γ(x) for x > 0 (Lanczos, g = 7, 9 terms; |error| < 1e-14 in this range). */
function logGamma(x: number): number {
  const c = [0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059, 12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7];
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - logGamma(1 - x);
  const z = x - 1;
  let a = c[0] as number;
  const t = z + 7.5;
  for (let i = 1; i < 9; i++) a += (c[i] as number) / (z + i);
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(a);
}

/** Continued fraction of the incomplete beta function (modified Lentz). */
function betaFraction(a: number, b: number, x: number): number {
  const tiny = 1e-300;
  let c = 1;
  let d = 1 - ((a + b) * x) / (a + 1);
  if (Math.abs(d) < tiny) d = tiny;
  d = 1 / d;
  let h = d;
  for (let m = 1; m <= 500; m++) {
    const m2 = 2 * m;
    let aa = (m * (b - m) * x) / ((a + m2 - 1) * (a + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + aa / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    h *= d * c;
    aa = (-(a + m) * (a + b + m) * x) / ((a + m2) * (a + m2 + 1));
    d = 1 + aa * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + aa / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const del = d * c;
    h *= del;
    if (Math.abs(del - 1) < 1e-15) break;
  }
  return h;
}

/** The regularised incomplete beta function I_x(a, b). */
export function regularizedBeta(x: number, a: number, b: number): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const front = Math.exp(logGamma(a + b) - logGamma(a) - logGamma(b) + a * Math.log(x) + b * Math.log(1 - x));
  // The fraction converges fast for x < (a+1)/(a+b+2); use the symmetry I_x(a,b) = 1 − I_{1−x}(b,a) otherwise.
  return x < (a + 1) / (a + b + 2) ? (front * betaFraction(a, b, x)) / a : 1 - (front * betaFraction(b, a, 1 - x)) / b;
}

/** P(T ≤ t) for Student's t with `df` degrees of freedom (any positive real df). */
export function studentTCdf(t: number, df: number): number {
  check(typeof df === 'number' && df > 0 && Number.isFinite(df), 'df', df, 'a positive number');
  const tail = 0.5 * regularizedBeta(df / (df + t * t), df / 2, 0.5);
  return t >= 0 ? 1 - tail : tail;
}

/** The p-quantile of Student's t with `df` degrees of freedom (bisection on the CDF to 1e-12). */
export function studentTQuantile(p: number, df: number): number {
  check(typeof p === 'number' && p > 0 && p < 1, 'p', p, 'a probability in (0, 1)');
  check(typeof df === 'number' && df > 0 && Number.isFinite(df), 'df', df, 'a positive number');
  if (p < 0.5) return -studentTQuantile(1 - p, df);
  let lo = 0;
  let hi = 1;
  while (studentTCdf(hi, df) < p) hi *= 2;
  for (let i = 0; i < 200 && hi - lo > 1e-12 * Math.max(1, hi); i++) {
    const mid = 0.5 * (lo + hi);
    if (studentTCdf(mid, df) < p) lo = mid;
    else hi = mid;
  }
  return 0.5 * (lo + hi);
}

/** Mean and half-width of the two-sided confidence interval (default 95%) of the mean of `values`, by the Student t quantile with n − 1 degrees of freedom. */
export function meanConfidenceInterval(values: ArrayLike<number>, confidence = 0.95): { mean: number; halfWidth: number; std: number; n: number } {
  check(values !== null && typeof values === 'object' && values.length >= 2, 'values', values, 'at least two numbers');
  check(typeof confidence === 'number' && confidence > 0 && confidence < 1, 'confidence', confidence, 'a number in (0, 1)');
  const n = values.length;
  let mean = 0;
  for (let i = 0; i < n; i++) mean += values[i] as number;
  mean /= n;
  let ss = 0;
  for (let i = 0; i < n; i++) ss += ((values[i] as number) - mean) ** 2;
  const std = Math.sqrt(ss / (n - 1));
  return { mean, std, n, halfWidth: (studentTQuantile((1 + confidence) / 2, n - 1) * std) / Math.sqrt(n) };
}
