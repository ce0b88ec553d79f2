/**
 * Samplers choose each trial's parameters from the study's history:
 * {@link RandomSampler}, {@link GridSampler} and (in `tpe.ts`) the
 * `TPESampler`. Every draw comes from the per-trial seeded stream the study
 * passes in (derived from the study seed and the trial number), so the same
 * seed gives the same suggestions, and two workers never share a stream.
 */
import { createRng, type Rng } from '../engine/rng.js';
import { EccvkitInputError, check } from '../errors.js';
import { categoricalDistribution, describeDistribution, fromInternal, internalBounds, type CategoricalChoice, type Distribution, type ParamValue } from './distributions.js';
import type { FrozenTrial, StudyDirection } from './types.js';

/** What a sampler sees: the study's direction and its other trials (a snapshot taken when the trial started, refreshed as it runs). */
export interface SamplerContext {
  direction: StudyDirection;
  /** Every other trial of the study, by number (any state). */
  trials: readonly FrozenTrial[];
  /** Number of the trial being sampled. */
  trialNumber: number;
}

/** What a sampler fixes when a trial starts. */
export interface TrialStart {
  /** Parameters decided up front (a grid point). */
  fixedParams?: Record<string, ParamValue>;
  /** Attributes to store with the trial (e.g. `grid_id`). */
  systemAttrs?: Record<string, unknown>;
}

/**
 * A sampler, as Optuna's `BaseSampler`: an optional joint ("relative")
 * draw over the space seen so far when a trial starts, then an independent
 * draw for each parameter the relative draw did not cover.
 */
export interface Sampler {
  /** Name for messages and exports (`random`, `tpe`, `grid`). */
  readonly name: string;
  /** Seed of the sampler's streams. */
  readonly seed: number;
  /** Called once when a trial starts, before any suggestion. */
  startTrial?(ctx: SamplerContext, rng: Rng): TrialStart;
  /** The space to sample jointly (e.g. the parameters every finished trial has). */
  inferRelativeSearchSpace(ctx: SamplerContext): Record<string, Distribution>;
  /** Joint draw over `space`; parameters it leaves out are drawn independently. */
  sampleRelative(ctx: SamplerContext, space: Record<string, Distribution>, rng: Rng): Record<string, ParamValue>;
  /** Draw of one parameter on its own. */
  sampleIndependent(ctx: SamplerContext, name: string, distribution: Distribution, rng: Rng): ParamValue;
  /** True when the sampler has nothing left to propose (a fully visited grid). */
  isExhausted?(ctx: SamplerContext): boolean;
}

/** A uniform draw from `d` (log-uniform for log distributions, uniform over the grid points for stepped and int ones). */
export function sampleUniform(d: Distribution, rng: Rng): ParamValue {
  if (d.type === 'categorical') return d.choices[rng.int(d.choices.length)] as CategoricalChoice;
  const b = internalBounds(d);
  if (d.type === 'int' && !d.log) return d.low + rng.int((d.high - d.low) / d.step + 1) * d.step;
  if (d.type === 'float' && d.step !== null) return fromInternal(d, d.low + rng.int(Math.round((d.high - d.low) / d.step) + 1) * d.step);
  return fromInternal(d, rng.uniform(b.low, b.high));
}

/** Uniform random search (Bergstra & Bengio 2012): each parameter independently, log-uniform on log scales. */
export class RandomSampler implements Sampler {
  readonly name = 'random';
  /** @param o.seed seed of the per-trial streams (default 0) */
  constructor(o: { seed?: number } = {}) {
    this.seed = checkSeed(o.seed ?? 0);
  }
  readonly seed: number;
  inferRelativeSearchSpace(): Record<string, Distribution> {
    return {};
  }
  sampleRelative(): Record<string, ParamValue> {
    return {};
  }
  sampleIndependent(_ctx: SamplerContext, _name: string, distribution: Distribution, rng: Rng): ParamValue {
    return sampleUniform(distribution, rng);
  }
}

/** Checks a sampler seed. */
export function checkSeed(seed: unknown, argument = 'seed'): number {
  check(Number.isSafeInteger(seed) && (seed as number) >= 0, argument, seed, 'a non-negative integer');
  return seed as number;
}

/**
 * Exhaustive search over a fixed grid (Optuna's `GridSampler`): every trial
 * takes one unvisited point of the Cartesian product of `space`, in an order
 * shuffled by the seed; the study stops once every point is taken. Workers
 * sharing a study may rarely pick the same point at once (as in Optuna).
 */
export class GridSampler implements Sampler {
  readonly name = 'grid';
  readonly seed: number;
  /** Grid values per parameter, in the order given. */
  readonly space: Readonly<Record<string, readonly CategoricalChoice[]>>;
  private readonly names: string[];
  private readonly order: number[];
  readonly size: number;

  /**
   * @param space parameter name → the values to try (non-empty, distinct)
   * @param o.seed seed of the visiting order (default 0)
   */
  constructor(space: Record<string, readonly CategoricalChoice[]>, o: { seed?: number } = {}) {
    check(space !== null && typeof space === 'object' && Object.keys(space).length > 0, 'space', space, 'an object of parameter name → non-empty list of values');
    for (const [name, values] of Object.entries(space)) categoricalDistribution(name, values);
    this.space = space;
    this.names = Object.keys(space);
    this.size = this.names.reduce((n, k) => n * (space[k] as readonly CategoricalChoice[]).length, 1);
    this.seed = checkSeed(o.seed ?? 0);
    this.order = createRng(this.seed).shuffle(Array.from({ length: this.size }, (_, i) => i));
  }

  /** The parameters of grid point `id`. */
  point(id: number): Record<string, ParamValue> {
    const out: Record<string, ParamValue> = {};
    let rest = id;
    for (let k = this.names.length - 1; k >= 0; k--) {
      const name = this.names[k] as string;
      const values = this.space[name] as readonly CategoricalChoice[];
      out[name] = values[rest % values.length] as CategoricalChoice;
      rest = Math.floor(rest / values.length);
    }
    return Object.fromEntries(this.names.map((n) => [n, out[n] as ParamValue]));
  }

  private visited(ctx: SamplerContext): Set<number> {
    const seen = new Set<number>();
    for (const t of ctx.trials) {
      const id = t.systemAttrs['grid_id'];
      if (typeof id === 'number' && t.state !== 'FAIL') seen.add(id);
    }
    return seen;
  }

  startTrial(ctx: SamplerContext): TrialStart {
    const seen = this.visited(ctx);
    const id = this.order.find((i) => !seen.has(i)) ?? (this.order[ctx.trialNumber % this.size] as number);
    return { fixedParams: this.point(id), systemAttrs: { grid_id: id } };
  }

  isExhausted(ctx: SamplerContext): boolean {
    return this.visited(ctx).size >= this.size;
  }

  inferRelativeSearchSpace(): Record<string, Distribution> {
    return {};
  }
  sampleRelative(): Record<string, ParamValue> {
    return {};
  }
  sampleIndependent(_ctx: SamplerContext, name: string, distribution: Distribution): ParamValue {
    throw new EccvkitInputError(`parameter "${name}"`, describeDistribution(distribution), `a parameter of the grid (${this.names.join(', ')})`);
  }
}
