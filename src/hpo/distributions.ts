/**
 * Search-space distributions of a define-by-run study (as Optuna's
 * `FloatDistribution`, `IntDistribution`, `CategoricalDistribution`): what
 * `trial.suggestFloat / suggestInt / suggestCategorical` may return, as plain
 * JSON so storages keep them next to the values.
 */
import { EccvkitInputError, check, describeValue } from '../errors.js';

/** A value a categorical parameter may take: JSON primitives only, so every storage round-trips it. */
export type CategoricalChoice = string | number | boolean | null;

/** A suggested parameter value. */
export type ParamValue = number | CategoricalChoice;

/** Floats in [low, high]; `log` samples uniformly in log space (low > 0); `step` restricts to low + k·step. */
export interface FloatDistribution {
  type: 'float';
  low: number;
  high: number;
  log: boolean;
  step: number | null;
}

/** Integers in [low, high] on the grid low + k·step; `log` (step 1 only) samples uniformly in log space (low ≥ 1). */
export interface IntDistribution {
  type: 'int';
  low: number;
  high: number;
  log: boolean;
  step: number;
}

/** One of a fixed list of choices (strings, numbers, booleans, null). */
export interface CategoricalDistribution {
  type: 'categorical';
  choices: readonly CategoricalChoice[];
}

/** Any parameter distribution. */
export type Distribution = FloatDistribution | IntDistribution | CategoricalDistribution;

/**
 * A validated float distribution. `high` is lowered to the last point of the
 * step grid when `(high − low)` is not a multiple of `step` (Optuna does the same).
 *
 * @throws {@link EccvkitInputError} for non-finite bounds, low > high, a log range including 0 or negatives, a step ≤ 0 or log together with step
 */
export function floatDistribution(name: string, low: number, high: number, o: { log?: boolean; step?: number } = {}): FloatDistribution {
  const arg = `suggestFloat("${name}")`;
  check(typeof low === 'number' && Number.isFinite(low), `${arg} low`, low, 'a finite number');
  check(typeof high === 'number' && Number.isFinite(high), `${arg} high`, high, 'a finite number');
  check(low <= high, `${arg} range`, [low, high], 'low ≤ high');
  const log = o.log ?? false;
  check(typeof log === 'boolean', `${arg} log`, log, 'true or false');
  const step = o.step ?? null;
  if (log) check(low > 0, `${arg} range`, [low, high], 'low > 0 for a log range (log of 0 or of a negative number is undefined)');
  if (step !== null) {
    check(typeof step === 'number' && Number.isFinite(step) && step > 0, `${arg} step`, step, 'a positive number');
    check(!log, `${arg} options`, o, 'log or step, not both');
    const k = Math.floor((high - low) / step + 1e-9);
    high = roundToStep(low + k * step, low, step);
  }
  return { type: 'float', low, high, log, step };
}

/**
 * A validated int distribution.
 * @throws {@link EccvkitInputError} for non-integer bounds, low > high, a log range below 1, a step < 1 or log with step ≠ 1
 */
export function intDistribution(name: string, low: number, high: number, o: { log?: boolean; step?: number } = {}): IntDistribution {
  const arg = `suggestInt("${name}")`;
  check(Number.isSafeInteger(low), `${arg} low`, low, 'an integer');
  check(Number.isSafeInteger(high), `${arg} high`, high, 'an integer');
  check(low <= high, `${arg} range`, [low, high], 'low ≤ high');
  const log = o.log ?? false;
  check(typeof log === 'boolean', `${arg} log`, log, 'true or false');
  const step = o.step ?? 1;
  check(Number.isSafeInteger(step) && step >= 1, `${arg} step`, step, 'an integer ≥ 1');
  if (log) {
    check(low >= 1, `${arg} range`, [low, high], 'low ≥ 1 for a log range (log of 0 or of a negative number is undefined)');
    check(step === 1, `${arg} options`, o, 'log or step, not both');
  }
  high = low + Math.floor((high - low) / step) * step;
  return { type: 'int', low, high, log, step };
}

/**
 * A validated categorical distribution.
 * @throws {@link EccvkitInputError} unless `choices` is a non-empty array of distinct strings, finite numbers, booleans or null
 */
export function categoricalDistribution(name: string, choices: readonly CategoricalChoice[]): CategoricalDistribution {
  const arg = `suggestCategorical("${name}") choices`;
  check(Array.isArray(choices) && choices.length > 0, arg, choices, 'a non-empty array');
  for (const c of choices) {
    check(c === null || typeof c === 'string' || typeof c === 'boolean' || (typeof c === 'number' && Number.isFinite(c)), arg, choices, 'strings, finite numbers, booleans or null');
  }
  check(new Set(choices).size === choices.length, arg, choices, 'distinct choices');
  return { type: 'categorical', choices: [...choices] };
}

function roundToStep(x: number, low: number, step: number): number {
  // Rounded to the step's decimals, so 0.1-steps print as 0.3, not 0.30000000000000004.
  const v = low + Math.round((x - low) / step) * step;
  return Number(v.toPrecision(12));
}

/** True when two distributions are the same (same type, bounds, log, step, choices in order). */
export function sameDistribution(a: Distribution, b: Distribution): boolean {
  if (a.type !== b.type) return false;
  if (a.type === 'categorical') {
    const bc = (b as CategoricalDistribution).choices;
    return a.choices.length === bc.length && a.choices.every((c, i) => c === bc[i]);
  }
  const n = b as FloatDistribution | IntDistribution;
  return a.low === n.low && a.high === n.high && a.log === n.log && a.step === n.step;
}

/** True when `value` is a value `d` can produce. */
export function contains(d: Distribution, value: unknown): boolean {
  if (d.type === 'categorical') return d.choices.includes(value as CategoricalChoice);
  if (typeof value !== 'number' || !Number.isFinite(value) || value < d.low || value > d.high) return false;
  if (d.type === 'int') return Number.isInteger(value) && (value - d.low) % d.step === 0;
  if (d.step === null) return true;
  const k = (value - d.low) / d.step;
  return Math.abs(k - Math.round(k)) < 1e-8;
}

/** A short human description, e.g. `float [0.001, 0.1] log`. */
export function describeDistribution(d: Distribution): string {
  if (d.type === 'categorical') return `categorical ${describeValue(d.choices)}`;
  return `${d.type} [${d.low}, ${d.high}]${d.log ? ' log' : ''}${d.step !== null && !(d.type === 'int' && d.step === 1) ? ` step ${d.step}` : ''}`;
}

/**
 * The numeric representation samplers work in: the value (log of it for log
 * distributions) for numbers, the index of the choice for categoricals.
 */
export function toInternal(d: Distribution, value: ParamValue): number {
  if (d.type === 'categorical') return d.choices.indexOf(value as CategoricalChoice);
  return d.log ? Math.log(value as number) : (value as number);
}

/** The inverse of {@link toInternal}, rounded to the distribution's grid and clipped to its bounds. */
export function fromInternal(d: Distribution, x: number): ParamValue {
  if (d.type === 'categorical') return d.choices[Math.min(d.choices.length - 1, Math.max(0, Math.round(x)))] as CategoricalChoice;
  let v = d.log ? Math.exp(x) : x;
  if (d.type === 'int') v = d.low + Math.round((v - d.low) / d.step) * d.step;
  else if (d.step !== null) v = roundToStep(v, d.low, d.step);
  return Math.min(d.high, Math.max(d.low, v));
}

/**
 * Bounds of the internal space for kernels: stepped and int distributions are
 * widened by half a step on each side so each grid point owns one bin.
 */
export function internalBounds(d: FloatDistribution | IntDistribution): { low: number; high: number; halfStep: number } {
  const step = d.type === 'int' ? d.step : d.step;
  if (step === null) return { low: d.log ? Math.log(d.low) : d.low, high: d.log ? Math.log(d.high) : d.high, halfStep: 0 };
  if (d.log) return { low: Math.log(d.low - 0.5), high: Math.log(d.high + 0.5), halfStep: 0 };
  return { low: d.low - step / 2, high: d.high + step / 2, halfStep: step / 2 };
}

/** Parses a distribution read back from a storage, so a corrupt row fails loudly. */
export function parseDistribution(json: unknown, where: string): Distribution {
  const d = json as Distribution;
  if (d && typeof d === 'object' && (d.type === 'float' || d.type === 'int' || d.type === 'categorical')) return d;
  throw new EccvkitInputError(where, json, 'a stored distribution { type: float | int | categorical, … }');
}
