/**
 * Means with 95% t-intervals over seeds, the verdict direction an interval
 * supports, and their formatting: what every experiment's table and findings
 * are computed from.
 */
import { meanConfidenceInterval } from '../stats.js';

/** Mean and 95% t-interval of the finite values (half-width NaN with fewer than two). */
export function interval(values: number[]): { mean: number; halfWidth: number; n: number } {
  const v = values.filter(Number.isFinite);
  if (v.length === 0) return { mean: NaN, halfWidth: NaN, n: 0 };
  if (v.length === 1) return { mean: v[0]!, halfWidth: NaN, n: 1 };
  const ci = meanConfidenceInterval(v);
  return { mean: ci.mean, halfWidth: ci.halfWidth, n: v.length };
}

/** 'up' when the whole interval is above 0, 'down' when below, 'unclear' otherwise (or with fewer than two seeds). */
export function intervalDirection(ci: { mean: number; halfWidth: number }): 'up' | 'down' | 'unclear' {
  if (!Number.isFinite(ci.halfWidth) || !Number.isFinite(ci.mean)) return 'unclear';
  if (ci.mean - ci.halfWidth > 0) return 'up';
  if (ci.mean + ci.halfWidth < 0) return 'down';
  return 'unclear';
}

/** A number with `digits` decimals, or '—' when it is not finite. */
export const fmt = (x: number, digits = 3): string => (Number.isFinite(x) ? x.toFixed(digits) : '—');

/** 'mean ± half-width', or the mean alone when there is no interval. */
export const fmtInterval = (ci: { mean: number; halfWidth: number }, digits = 3): string => (Number.isFinite(ci.halfWidth) ? `${fmt(ci.mean, digits)} ± ${fmt(ci.halfWidth, digits)}` : fmt(ci.mean, digits));
