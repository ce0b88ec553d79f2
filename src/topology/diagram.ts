/**
 * Persistence diagrams as plain data, and the summaries of them that do not
 * need a matching: Betti numbers at a threshold, Betti curves, persistence
 * entropy.
 */
import { check } from '../errors.js';
import type { Filtration, PersistencePairs } from './cubical.js';

/** A diagram as a list of `[birth, death]` points; `death` may be `±Infinity` for essential classes. */
export type DiagramPoints = ReadonlyArray<readonly [number, number]>;

/** The pairs of a {@link PersistencePairs} as `[birth, death]` points. */
export function diagramPoints(pairs: PersistencePairs): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (let i = 0; i < pairs.size; i++) out.push([pairs.birth[i] as number, pairs.death[i] as number]);
  return out;
}

/** Checks a user-supplied diagram: finite births, deaths finite or infinite, never NaN. */
export function checkDiagram(points: unknown, argument = 'diagram'): DiagramPoints {
  check(Array.isArray(points), argument, points, 'an array of [birth, death] pairs');
  for (let i = 0; i < points.length; i++) {
    const p = points[i] as unknown;
    check(
      Array.isArray(p) && p.length === 2 && typeof p[0] === 'number' && Number.isFinite(p[0]) && typeof p[1] === 'number' && !Number.isNaN(p[1]),
      `${argument}[${i}]`,
      p,
      'a [birth, death] pair with a finite birth and a number (or ±Infinity) death',
    );
  }
  return points as DiagramPoints;
}

/**
 * The Betti number at threshold `t`: how many classes are alive in the level set
 * at `t`. Sublevel: birth ≤ t < death. Superlevel (births above deaths): death < t ≤ birth.
 */
export function bettiNumber(points: DiagramPoints, t: number, filtration: Filtration = 'sublevel'): number {
  check(!Number.isNaN(t), 'threshold', t, 'a number');
  let count = 0;
  for (const [b, d] of points) {
    if (filtration === 'sublevel' ? b <= t && t < d : d < t && t <= b) count++;
  }
  return count;
}

/** Betti numbers at each of `thresholds` (the Betti curve sampled there). */
export function bettiCurve(points: DiagramPoints, thresholds: ArrayLike<number>, filtration: Filtration = 'sublevel'): Float64Array {
  const out = new Float64Array(thresholds.length);
  for (let i = 0; i < thresholds.length; i++) out[i] = bettiNumber(points, thresholds[i] as number, filtration);
  return out;
}

/** `count` evenly spaced thresholds from `lo` to `hi` inclusive (a grid for {@link bettiCurve}). */
export function thresholdGrid(lo: number, hi: number, count: number): Float64Array {
  check(Number.isFinite(lo) && Number.isFinite(hi) && lo <= hi, 'threshold range', [lo, hi], 'finite lo ≤ hi');
  check(Number.isInteger(count) && count >= 1, 'count', count, 'an integer ≥ 1');
  const out = new Float64Array(count);
  for (let i = 0; i < count; i++) out[i] = count === 1 ? lo : lo + ((hi - lo) * i) / (count - 1);
  return out;
}

/** Options of {@link persistenceEntropy}. */
export interface EntropyOptions {
  /**
   * What to do with infinite bars: `drop` (default) leaves them out; a number
   * truncates them there (the bar of an essential class born at b becomes |value − b|).
   */
  essential?: 'drop' | number;
}

/**
 * Persistence entropy E = −Σ pᵢ ln pᵢ with pᵢ = ℓᵢ / Σ ℓ and ℓᵢ = |deathᵢ − birthᵢ|
 * (Chintakunta et al. 2015; natural log). 0 for a diagram with at most one bar.
 */
export function persistenceEntropy(points: DiagramPoints, options: EntropyOptions = {}): number {
  const essential = options.essential ?? 'drop';
  check(essential === 'drop' || Number.isFinite(essential), 'essential', essential, "'drop' or a finite truncation value");
  const lengths: number[] = [];
  for (const [b, d] of points) {
    if (Number.isFinite(d)) lengths.push(Math.abs(d - b));
    else if (essential !== 'drop') lengths.push(Math.abs(essential - b));
  }
  const total = lengths.reduce((a, b) => a + b, 0);
  if (total === 0) return 0;
  let e = 0;
  for (const l of lengths) if (l > 0) e -= (l / total) * Math.log(l / total);
  return e;
}
