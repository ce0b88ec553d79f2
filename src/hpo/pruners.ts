/**
 * Pruners stop unpromising trials early from the intermediate values they
 * report with `trial.report(value, step)` (Optuna's `MedianPruner` and
 * `SuccessiveHalvingPruner`). They read the other trials' reported values
 * only, so they work the same whichever worker ran those trials.
 */
import { check } from '../errors.js';
import type { FrozenTrial, IntermediateValue, StudyDirection } from './types.js';

/** What a pruner sees. */
export interface PrunerContext {
  direction: StudyDirection;
  /** The study's other trials (any state). */
  trials: readonly FrozenTrial[];
  /** The trial being judged: its number and the values it reported so far, by step. */
  trial: { number: number; intermediateValues: readonly IntermediateValue[] };
}

/** A pruner: `true` means stop this trial now. */
export interface Pruner {
  readonly name: string;
  prune(ctx: PrunerContext): boolean;
}

/** Never prunes. */
export class NopPruner implements Pruner {
  readonly name = 'none';
  prune(): boolean {
    return false;
  }
}

function better(a: number, b: number, direction: StudyDirection): boolean {
  return direction === 'minimize' ? a < b : a > b;
}

/** Linear-interpolation percentile (NumPy's default) of a non-empty list. */
function percentile(values: number[], q: number): number {
  const s = [...values].sort((a, b) => a - b);
  const pos = (q / 100) * (s.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return (s[lo] as number) + ((s[hi] as number) - (s[lo] as number)) * (pos - lo);
}

/** Options of {@link MedianPruner} (Optuna's defaults). */
export interface MedianPrunerOptions {
  /** No pruning until this many trials completed (default 5). */
  nStartupTrials?: number;
  /** No pruning before this step of a trial (default 0). */
  nWarmupSteps?: number;
  /** Judge at most once per this many steps after the warm-up (default 1). */
  intervalSteps?: number;
  /** Need at least this many completed trials with a value at the step (default 1). */
  nMinTrials?: number;
}

/**
 * Prunes a trial whose best intermediate value so far is worse than the
 * median of the completed trials' values at the same step (Optuna's
 * `MedianPruner`, i.e. `PercentilePruner(50)`; a NaN value is pruned).
 */
export class MedianPruner implements Pruner {
  readonly name = 'median';
  readonly nStartupTrials: number;
  readonly nWarmupSteps: number;
  readonly intervalSteps: number;
  readonly nMinTrials: number;
  /** The percentile compared against (50 for the median). */
  protected readonly percentile: number = 50;

  constructor(o: MedianPrunerOptions = {}) {
    this.nStartupTrials = o.nStartupTrials ?? 5;
    this.nWarmupSteps = o.nWarmupSteps ?? 0;
    this.intervalSteps = o.intervalSteps ?? 1;
    this.nMinTrials = o.nMinTrials ?? 1;
    check(Number.isSafeInteger(this.nStartupTrials) && this.nStartupTrials >= 0, 'nStartupTrials', this.nStartupTrials, 'an integer ≥ 0');
    check(Number.isSafeInteger(this.nWarmupSteps) && this.nWarmupSteps >= 0, 'nWarmupSteps', this.nWarmupSteps, 'an integer ≥ 0');
    check(Number.isSafeInteger(this.intervalSteps) && this.intervalSteps >= 1, 'intervalSteps', this.intervalSteps, 'an integer ≥ 1');
    check(Number.isSafeInteger(this.nMinTrials) && this.nMinTrials >= 1, 'nMinTrials', this.nMinTrials, 'an integer ≥ 1');
  }

  prune(ctx: PrunerContext): boolean {
    const completed = ctx.trials.filter((t) => t.state === 'COMPLETE');
    if (completed.length === 0 || completed.length < this.nStartupTrials) return false;
    const values = ctx.trial.intermediateValues;
    const last = values[values.length - 1];
    if (!last) return false;
    const step = last.step;
    if (step < this.nWarmupSteps) return false;
    // Judge only at the first report inside each interval.
    const nearestLower = Math.floor((step - this.nWarmupSteps) / this.intervalSteps) * this.intervalSteps + this.nWarmupSteps;
    const previous = values.length >= 2 ? (values[values.length - 2] as IntermediateValue).step : -1;
    if (previous >= nearestLower) return false;
    let best = NaN;
    for (const v of values) if (!Number.isNaN(v.value) && (Number.isNaN(best) || better(v.value, best, ctx.direction))) best = v.value;
    if (Number.isNaN(best)) return true;
    const others: number[] = [];
    for (const t of completed) {
      const v = t.intermediateValues.find((x) => x.step === step);
      if (v && !Number.isNaN(v.value)) others.push(v.value);
    }
    if (others.length < this.nMinTrials) return false;
    const q = ctx.direction === 'minimize' ? this.percentile : 100 - this.percentile;
    const p = percentile(others, q);
    return ctx.direction === 'minimize' ? best > p : best < p;
  }
}

/** Options of {@link SuccessiveHalvingPruner} (Optuna's defaults). */
export interface SuccessiveHalvingOptions {
  /** Steps before the first rung, or `'auto'`: 1/100 of the longest completed trial's last step (at least 1), no pruning before one completed (default `'auto'`). */
  minResource?: number | 'auto';
  /** Keep the best 1/η at each rung (default η = 4). */
  reductionFactor?: number;
  /** s: the first rung is at minResource · η^s (default 0). */
  minEarlyStoppingRate?: number;
  /** Prune at a rung until more than this many trials reached it (default 0). */
  bootstrapCount?: number;
}

/**
 * Asynchronous successive halving (ASHA, Li et al., MLSys 2020), as Optuna's
 * `SuccessiveHalvingPruner`: rung k sits at step r·η^(s+k); a trial reaching
 * a rung is stopped unless its value there is among the top ⌊n/η⌋ (at least
 * the best one) of the n trials that reached the rung so far. A trial's value
 * at a rung is the first value it reported at or past the rung's step.
 */
export class SuccessiveHalvingPruner implements Pruner {
  readonly name = 'successive-halving';
  readonly minResource: number | 'auto';
  readonly reductionFactor: number;
  readonly minEarlyStoppingRate: number;
  readonly bootstrapCount: number;

  constructor(o: SuccessiveHalvingOptions = {}) {
    this.minResource = o.minResource ?? 'auto';
    this.reductionFactor = o.reductionFactor ?? 4;
    this.minEarlyStoppingRate = o.minEarlyStoppingRate ?? 0;
    this.bootstrapCount = o.bootstrapCount ?? 0;
    check(this.minResource === 'auto' || (Number.isSafeInteger(this.minResource) && this.minResource >= 1), 'minResource', this.minResource, "an integer ≥ 1 or 'auto'");
    check(Number.isFinite(this.reductionFactor) && this.reductionFactor >= 2, 'reductionFactor', this.reductionFactor, 'a number ≥ 2');
    check(Number.isSafeInteger(this.minEarlyStoppingRate) && this.minEarlyStoppingRate >= 0, 'minEarlyStoppingRate', this.minEarlyStoppingRate, 'an integer ≥ 0');
    check(Number.isSafeInteger(this.bootstrapCount) && this.bootstrapCount >= 0, 'bootstrapCount', this.bootstrapCount, 'an integer ≥ 0');
  }

  private resource(trials: readonly FrozenTrial[]): number | undefined {
    if (this.minResource !== 'auto') return this.minResource;
    let last = -1;
    for (const t of trials) if (t.state === 'COMPLETE' && t.intermediateValues.length) last = Math.max(last, (t.intermediateValues[t.intermediateValues.length - 1] as IntermediateValue).step);
    return last < 0 ? undefined : Math.max(Math.floor(last / 100), 1);
  }

  prune(ctx: PrunerContext): boolean {
    const values = ctx.trial.intermediateValues;
    const last = values[values.length - 1];
    if (!last) return false;
    const r = this.resource(ctx.trials);
    if (r === undefined) return false;
    for (let rung = 0; ; rung++) {
      const at = r * this.reductionFactor ** (this.minEarlyStoppingRate + rung);
      if (last.step < at) return false;
      const mine = values.find((v) => v.step >= at) as IntermediateValue;
      if (Number.isNaN(mine.value)) return true;
      const competing = [mine.value];
      for (const t of ctx.trials) {
        if (t.state === 'WAITING') continue;
        const v = t.intermediateValues.find((x) => x.step >= at);
        if (v && !Number.isNaN(v.value)) competing.push(v.value);
      }
      if (competing.length <= this.bootstrapCount) return true;
      competing.sort((a, b) => (ctx.direction === 'minimize' ? a - b : b - a));
      const idx = Math.max(0, Math.floor(competing.length / this.reductionFactor) - 1);
      const threshold = competing[idx] as number;
      const promotable = ctx.direction === 'minimize' ? mine.value <= threshold : mine.value >= threshold;
      if (!promotable) return true;
    }
  }
}
