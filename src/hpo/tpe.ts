/**
 * The Tree-structured Parzen Estimator (Bergstra et al., NeurIPS 2011), with
 * the defaults of Optuna's `TPESampler` (`samplers/_tpe/sampler.py`, 5.0
 * development line): random search for the first 10 finished trials; then the
 * best γ(n) = min(⌈0.1·n⌉, 25) finished trials are "good", the rest "bad"; a
 * Parzen estimator (a mixture of truncated Gaussians per observation plus a
 * prior component of weight 1, bandwidths by the "magic clip" heuristic,
 * trials older than the last 25 down-weighted) is fitted to each, l(x) to
 * the good and g(x) to the bad; 24 candidates are drawn from l and the one
 * maximising log l(x) − log g(x) is kept. Multivariate (one joint estimator
 * over the parameters every finished trial has) and the constant liar
 * (running trials of other workers count as bad, so parallel workers spread
 * out) are on by default. Log parameters are modelled in log space, integers
 * and stepped floats by the mass of their grid cell, categoricals by smoothed
 * counts.
 */
import type { Rng } from '../engine/rng.js';
import { check } from '../errors.js';
import { fromInternal, internalBounds, sameDistribution, toInternal, type Distribution, type ParamValue } from './distributions.js';
import { checkSeed, sampleUniform, type Sampler, type SamplerContext } from './samplers.js';
import type { FrozenTrial, StudyDirection } from './types.js';

/** Options of {@link TPESampler}; every one has Optuna's default. */
export interface TPEOptions {
  /** Seed of the per-trial streams (default 0). */
  seed?: number;
  /** Random trials before TPE starts, counted over finished (complete or pruned) trials (default 10). */
  nStartupTrials?: number;
  /** Candidates drawn from l(x) per suggestion (default 24). */
  nEiCandidates?: number;
  /** How many of n finished trials are "good" (default min(⌈0.1·n⌉, 25)). */
  gamma?: (n: number) => number;
  /** Weight of the prior component in each estimator (default 1). */
  priorWeight?: number;
  /** Lower-bound bandwidths by (high − low) / min(100, 1 + kernels) (default true). */
  considerMagicClip?: boolean;
  /** Let the bounds define the outer kernels' bandwidths (univariate only; default false). */
  considerEndpoints?: boolean;
  /** Observation weights by age, oldest first (default: 1 for the last 25, a ramp from 1/n before). */
  weights?: (n: number) => number[];
  /** One joint estimator over the shared parameters (default true). */
  multivariate?: boolean;
  /** Running trials of other workers count as bad results (default true). */
  constantLiar?: boolean;
}

/** Optuna's γ: min(⌈0.1·n⌉, 25). */
export function defaultGamma(n: number): number {
  return Math.min(Math.ceil(0.1 * n), 25);
}

/** Optuna's observation weights: all 1 below 25 trials, else a linear ramp from 1/n over the oldest n − 25. */
export function defaultWeights(n: number): number[] {
  if (n < 25) return new Array<number>(n).fill(1);
  const ramp = n - 25;
  const out: number[] = [];
  for (let i = 0; i < ramp; i++) out.push(ramp === 1 ? 1 / n : 1 / n + ((1 - 1 / n) * i) / (ramp - 1));
  for (let i = 0; i < 25; i++) out.push(1);
  return out;
}

const SQRT2 = Math.SQRT2;
const LOG_SQRT_2PI = 0.5 * Math.log(2 * Math.PI);

/** erfc(x) for x ≥ 0: series for small x, Lentz's continued fraction beyond (relative error ≈ 1e-13). */
function erfcPos(x: number): number {
  if (x < 2.5) {
    // erf by its Maclaurin series, then 1 − erf.
    let term = x;
    let sum = x;
    const x2 = x * x;
    for (let n = 1; n < 200; n++) {
      term *= -x2 / n;
      const add = term / (2 * n + 1);
      sum += add;
      if (Math.abs(add) < 1e-17 * Math.abs(sum)) break;
    }
    return 1 - (2 / Math.sqrt(Math.PI)) * sum;
  }
  // erfc(x) = exp(−x²)/√π · 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + …))))
  const tiny = 1e-300;
  let f = x;
  let c = x;
  let d = 0;
  for (let n = 1; n < 300; n++) {
    const a = n / 2;
    d = x + a * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = x + a / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const delta = c * d;
    f *= delta;
    if (Math.abs(delta - 1) < 1e-15) break;
  }
  return Math.exp(-x * x) / (Math.sqrt(Math.PI) * f);
}

/** Upper tail Q(z) = P(Z > z) of the standard normal. */
function upperTail(z: number): number {
  return z >= 0 ? 0.5 * erfcPos(z / SQRT2) : 1 - 0.5 * erfcPos(-z / SQRT2);
}

/** log P(a < Z < b) for the standard normal, accurate in the tails. */
function logNormalMass(a: number, b: number): number {
  let mass: number;
  if (a >= 0) mass = upperTail(a) - upperTail(b);
  else if (b <= 0) mass = upperTail(-b) - upperTail(-a);
  else mass = 1 - upperTail(-a) - upperTail(b);
  if (mass > 1e-300) return Math.log(mass);
  // Far tail: the density at the nearer end times the width bounds it well enough to rank candidates.
  const near = a >= 0 ? a : b <= 0 ? -b : 0;
  return -0.5 * near * near - LOG_SQRT_2PI + Math.log(Math.max(b - a, 1e-300));
}

function logSumExp(xs: Float64Array): number {
  let m = -Infinity;
  for (const x of xs) if (x > m) m = x;
  if (m === -Infinity) return -Infinity;
  let s = 0;
  for (const x of xs) s += Math.exp(x - m);
  return m + Math.log(s);
}

interface NumericDim {
  kind: 'num';
  low: number;
  high: number;
  /** Grid cell of an internal value, or null for continuous dimensions. */
  cell: ((x: number) => [number, number]) | null;
  mus: Float64Array;
  sigmas: Float64Array;
  /** log of each kernel's mass inside [low, high]. */
  logZ: Float64Array;
}

interface CategoricalDim {
  kind: 'cat';
  choices: number;
  /** log probabilities, kernel-major: [k * choices + c]. */
  logP: Float64Array;
}

type Dim = NumericDim | CategoricalDim;

function cellOf(d: Distribution): ((x: number) => [number, number]) | null {
  if (d.type === 'categorical') return null;
  if (d.type === 'int' && d.log) {
    return (x) => {
      const v = Math.round(Math.exp(x));
      return [Math.log(v - 0.5), Math.log(v + 0.5)];
    };
  }
  const step = d.type === 'int' ? d.step : d.step;
  if (step === null) return null;
  return (x) => [x - step / 2, x + step / 2];
}

/**
 * A Parzen estimator over one or more parameters: a weighted mixture whose
 * components are products of per-parameter kernels (one component per
 * observation, plus the prior last).
 */
class ParzenEstimator {
  private readonly logW: Float64Array;
  private readonly cumW: Float64Array;
  private readonly dims: Dim[];

  constructor(
    private readonly space: Distribution[],
    observations: number[][],
    weights: number[],
    o: Required<Pick<TPEOptions, 'priorWeight' | 'considerMagicClip' | 'considerEndpoints' | 'multivariate'>>,
  ) {
    const n = observations.length;
    const K = n + 1;
    const w = [...weights, o.priorWeight];
    const total = w.reduce((a, b) => a + b, 0);
    this.logW = Float64Array.from(w, (x) => Math.log(x / total));
    this.cumW = new Float64Array(K);
    let acc = 0;
    for (let k = 0; k < K; k++) {
      acc += (w[k] as number) / total;
      this.cumW[k] = acc;
    }
    this.dims = space.map((d, j) => {
      const xs = observations.map((row) => row[j] as number);
      if (d.type === 'categorical') {
        const C = d.choices.length;
        const logP = new Float64Array(K * C);
        // Optuna smooths every kernel by priorWeight / (number of kernels) per choice, not
        // priorWeight / choices: kernels sharpen as observations accumulate (with 40 bad trials
        // an observed choice keeps ≈ 0.95 of its kernel, not 2/3), so g(x) penalises crowded
        // choices and l(x) concentrates on the good one.
        const smooth = o.priorWeight / K;
        for (let k = 0; k < K; k++) {
          const row = new Float64Array(C).fill(smooth);
          if (k < n) row[xs[k] as number] = (row[xs[k] as number] as number) + 1;
          const s = row.reduce((a, b) => a + b, 0);
          for (let c = 0; c < C; c++) logP[k * C + c] = Math.log((row[c] as number) / s);
        }
        return { kind: 'cat', choices: C, logP } satisfies CategoricalDim;
      }
      const { low, high } = internalBounds(d);
      const mus = new Float64Array(K);
      const sigmas = new Float64Array(K);
      for (let k = 0; k < n; k++) mus[k] = xs[k] as number;
      mus[n] = 0.5 * (low + high);
      const range = high - low;
      if (o.multivariate) {
        const sigma = 0.2 * Math.max(n, 1) ** (-1 / (space.length + 4)) * range;
        sigmas.fill(sigma);
      } else {
        // Each kernel as wide as the larger gap to its sorted neighbours (the bounds at the ends).
        const order = Array.from({ length: K }, (_, k) => k).sort((a, b) => (mus[a] as number) - (mus[b] as number));
        const sorted = order.map((k) => mus[k] as number);
        for (let i = 0; i < K; i++) {
          const left = (sorted[i] as number) - (i === 0 ? low : (sorted[i - 1] as number));
          const right = (i === K - 1 ? high : (sorted[i + 1] as number)) - (sorted[i] as number);
          let s = Math.max(left, right);
          if (!o.considerEndpoints && K >= 2) {
            if (i === 0) s = (sorted[1] as number) - (sorted[0] as number);
            else if (i === K - 1) s = (sorted[K - 1] as number) - (sorted[K - 2] as number);
          }
          sigmas[order[i] as number] = s;
        }
      }
      const minSigma = o.considerMagicClip ? range / Math.min(100, 1 + K) : 1e-12;
      for (let k = 0; k < K; k++) sigmas[k] = Math.min(range, Math.max(minSigma, sigmas[k] as number));
      sigmas[n] = range;
      const logZ = new Float64Array(K);
      for (let k = 0; k < K; k++) logZ[k] = logNormalMass((low - (mus[k] as number)) / (sigmas[k] as number), (high - (mus[k] as number)) / (sigmas[k] as number));
      return { kind: 'num', low, high, cell: cellOf(d), mus, sigmas, logZ } satisfies NumericDim;
    });
  }

  /** `count` draws, as internal values snapped to each parameter's grid. */
  sample(rng: Rng, count: number): number[][] {
    const out: number[][] = [];
    for (let i = 0; i < count; i++) {
      const u = rng.next();
      let k = 0;
      while (k < this.cumW.length - 1 && u >= (this.cumW[k] as number)) k++;
      const x = this.dims.map((dim, j) => {
        if (dim.kind === 'cat') {
          const v = rng.next();
          let c = 0;
          let a = Math.exp(dim.logP[k * dim.choices] as number);
          while (c < dim.choices - 1 && v >= a) a += Math.exp(dim.logP[k * dim.choices + ++c] as number);
          return c;
        }
        const mu = dim.mus[k] as number;
        const sigma = dim.sigmas[k] as number;
        let z = rng.normal(mu, sigma);
        for (let tries = 0; (z < dim.low || z > dim.high) && tries < 1000; tries++) z = rng.normal(mu, sigma);
        z = Math.min(dim.high, Math.max(dim.low, z));
        const d = this.space[j] as Distribution;
        return toInternal(d, fromInternal(d, z));
      });
      out.push(x);
    }
    return out;
  }

  /** log density (log mass on grid parameters) of internal values `x`. */
  logPdf(x: number[]): number {
    const K = this.logW.length;
    const terms = Float64Array.from(this.logW);
    this.dims.forEach((dim, j) => {
      const xj = x[j] as number;
      for (let k = 0; k < K; k++) {
        if (dim.kind === 'cat') {
          terms[k] = (terms[k] as number) + (dim.logP[k * dim.choices + xj] as number);
          continue;
        }
        const mu = dim.mus[k] as number;
        const sigma = dim.sigmas[k] as number;
        let lp: number;
        if (dim.cell) {
          const [a, b] = dim.cell(xj);
          lp = logNormalMass((Math.max(a, dim.low) - mu) / sigma, (Math.min(b, dim.high) - mu) / sigma);
        } else {
          const z = (xj - mu) / sigma;
          lp = -0.5 * z * z - LOG_SQRT_2PI - Math.log(sigma);
        }
        terms[k] = (terms[k] as number) + lp - (dim.logZ[k] as number);
      }
    });
    return logSumExp(terms);
  }
}

/** Lower is better: the objective value, negated when maximising. */
function loss(value: number, direction: StudyDirection): number {
  return direction === 'minimize' ? value : -value;
}

/** Last reported (step, value) of a trial, if any. */
function lastIntermediate(t: FrozenTrial): { step: number; value: number } | undefined {
  return t.intermediateValues[t.intermediateValues.length - 1];
}

/**
 * The TPE sampler (see the module notes for the algorithm and its defaults).
 * Deterministic for a given seed and history.
 */
export class TPESampler implements Sampler {
  readonly name = 'tpe';
  readonly seed: number;
  private readonly o: Required<TPEOptions>;

  constructor(o: TPEOptions = {}) {
    this.seed = checkSeed(o.seed ?? 0);
    const nStartup = o.nStartupTrials ?? 10;
    const nEi = o.nEiCandidates ?? 24;
    const prior = o.priorWeight ?? 1;
    check(Number.isSafeInteger(nStartup) && nStartup >= 0, 'nStartupTrials', nStartup, 'an integer ≥ 0');
    check(Number.isSafeInteger(nEi) && nEi >= 1, 'nEiCandidates', nEi, 'an integer ≥ 1');
    check(typeof prior === 'number' && prior > 0 && Number.isFinite(prior), 'priorWeight', prior, 'a positive number');
    this.o = {
      seed: this.seed,
      nStartupTrials: nStartup,
      nEiCandidates: nEi,
      gamma: o.gamma ?? defaultGamma,
      priorWeight: prior,
      considerMagicClip: o.considerMagicClip ?? true,
      considerEndpoints: o.considerEndpoints ?? false,
      weights: o.weights ?? defaultWeights,
      multivariate: o.multivariate ?? true,
      constantLiar: o.constantLiar ?? true,
    };
  }

  /** The options in force, defaults filled in. */
  get options(): Readonly<Required<TPEOptions>> {
    return this.o;
  }

  private finished(ctx: SamplerContext): FrozenTrial[] {
    return ctx.trials.filter((t) => t.state === 'COMPLETE' || t.state === 'PRUNED');
  }

  inferRelativeSearchSpace(ctx: SamplerContext): Record<string, Distribution> {
    if (!this.o.multivariate) return {};
    let space: Record<string, Distribution> | undefined;
    for (const t of this.finished(ctx)) {
      if (space === undefined) {
        space = { ...t.distributions };
        continue;
      }
      for (const [name, d] of Object.entries(space)) {
        const td = t.distributions[name];
        if (!td || !sameDistribution(td, d)) delete space[name];
      }
    }
    const out: Record<string, Distribution> = {};
    // Single-valued parameters carry nothing to model.
    for (const [name, d] of Object.entries(space ?? {})) if (d.type === 'categorical' ? d.choices.length > 1 : d.low < d.high) out[name] = d;
    return out;
  }

  sampleRelative(ctx: SamplerContext, space: Record<string, Distribution>, rng: Rng): Record<string, ParamValue> {
    const names = Object.keys(space);
    if (names.length === 0 || this.finished(ctx).length < this.o.nStartupTrials) return {};
    const x = this.sample(ctx, names, names.map((n) => space[n] as Distribution), rng);
    return Object.fromEntries(names.map((n, j) => [n, fromInternal(space[n] as Distribution, x[j] as number)]));
  }

  sampleIndependent(ctx: SamplerContext, name: string, distribution: Distribution, rng: Rng): ParamValue {
    if (this.finished(ctx).length < this.o.nStartupTrials) return sampleUniform(distribution, rng);
    const x = this.sample(ctx, [name], [distribution], rng);
    return fromInternal(distribution, x[0] as number);
  }

  /** Splits the trials that have every parameter of the space into good and bad, fits l and g, returns the best candidate (internal values). */
  private sample(ctx: SamplerContext, names: string[], space: Distribution[], rng: Rng): number[] {
    const has = (t: FrozenTrial) => names.every((n, j) => t.distributions[n] !== undefined && sameDistribution(t.distributions[n] as Distribution, space[j] as Distribution));
    const usable = ctx.trials.filter(has);
    const complete = usable.filter((t) => t.state === 'COMPLETE' && t.value !== null).sort((a, b) => loss(a.value as number, ctx.direction) - loss(b.value as number, ctx.direction) || a.number - b.number);
    const pruned = usable
      .filter((t) => t.state === 'PRUNED')
      .sort((a, b) => {
        const la = lastIntermediate(a);
        const lb = lastIntermediate(b);
        if (!la || !lb) return la ? -1 : lb ? 1 : a.number - b.number;
        return lb.step - la.step || loss(la.value, ctx.direction) - loss(lb.value, ctx.direction) || a.number - b.number;
      });
    const ranked = [...complete, ...pruned];
    const nBelow = Math.max(0, Math.min(ranked.length, Math.floor(this.o.gamma(ranked.length))));
    const below = ranked.slice(0, nBelow).sort((a, b) => a.number - b.number);
    const above = ranked.slice(nBelow);
    if (this.o.constantLiar) above.push(...usable.filter((t) => t.state === 'RUNNING'));
    above.sort((a, b) => a.number - b.number);
    const obs = (ts: FrozenTrial[]) => ts.map((t) => names.map((n, j) => toInternal(space[j] as Distribution, t.params[n] as ParamValue)));
    const est = { priorWeight: this.o.priorWeight, considerMagicClip: this.o.considerMagicClip, considerEndpoints: this.o.considerEndpoints, multivariate: this.o.multivariate && names.length > 0 };
    const l = new ParzenEstimator(space, obs(below), this.o.weights(below.length), est);
    const g = new ParzenEstimator(space, obs(above), this.o.weights(above.length), est);
    let best: number[] = [];
    let bestScore = -Infinity;
    for (const c of l.sample(rng, this.o.nEiCandidates)) {
      const score = l.logPdf(c) - g.logPdf(c);
      if (best.length === 0 || score > bestScore) {
        best = c;
        bestScore = score;
      }
    }
    return best;
  }
}
