/**
 * Define-by-run studies, as Optuna's: the objective `async (trial) => number`
 * asks the trial for parameters as it goes (`suggestFloat`, `suggestInt`,
 * `suggestCategorical`), may report intermediate values and ask whether to
 * stop (`report`, `shouldPrune`), and returns the value to minimise or
 * maximise. `study.optimize` runs trials until a budget is spent; `ask` /
 * `tell` drive them by hand. Several workers (processes or machines) that
 * open the same study name on the same shared storage cooperate: each claims
 * its own trials, and a trial whose worker died is failed and re-run with the
 * same parameters.
 */
import { createRng, type Rng } from '../engine/rng.js';
import { EccvkitError, EccvkitInputError, check, describeValue } from '../errors.js';
import {
  categoricalDistribution,
  contains,
  describeDistribution,
  floatDistribution,
  intDistribution,
  sameDistribution,
  type CategoricalChoice,
  type Distribution,
  type ParamValue,
} from './distributions.js';
import { MedianPruner, type Pruner } from './pruners.js';
import { checkSeed, RandomSampler, type Sampler, type SamplerContext } from './samplers.js';
import { checkStudyName, InMemoryStorage, TrialNotHeldError, type StudyStorage } from './storage.js';
import { TPESampler } from './tpe.js';
import { bestOf, STUDY_DIRECTIONS, type BestTrial, type FrozenTrial, type IntermediateValue, type StudyDirection, type StudyRecord } from './types.js';

/** Throw this from an objective (after `trial.shouldPrune()` said so) to end the trial as `PRUNED`. */
export class TrialPruned extends EccvkitError {
  override name = 'TrialPruned';
  constructor(message = 'trial pruned') {
    super(message);
  }
}

/** The samplers `createStudy` and the CLI know by name. */
export const SAMPLER_NAMES = ['tpe', 'random'] as const;
/** A sampler name of {@link SAMPLER_NAMES}. */
export type SamplerName = (typeof SAMPLER_NAMES)[number];

/** A sampler built from its name ({@link SAMPLER_NAMES}) with its defaults and `seed`. */
export function makeSampler(name: string, seed = 0, argument = 'sampler'): Sampler {
  if (name === 'tpe') return new TPESampler({ seed });
  if (name === 'random') return new RandomSampler({ seed });
  throw new EccvkitInputError(argument, name, `one of ${SAMPLER_NAMES.join(', ')}`);
}

/** Options of {@link createStudy}. */
export interface StudyOptions {
  /** Study name; workers sharing a storage and a name share the study (default `"study"`). */
  name?: string;
  /** Where trials live (default a fresh {@link InMemoryStorage}). */
  storage?: StudyStorage;
  /** Default `'minimize'`. Reopening a study with the other direction is an error. */
  direction?: StudyDirection;
  /** A sampler or its name (default TPE with Optuna's defaults, seeded with `seed`). */
  sampler?: Sampler | SamplerName;
  /** Default {@link MedianPruner} with its defaults (it acts only when the objective calls `shouldPrune`). */
  pruner?: Pruner;
  /** Seed of the named or default sampler (default 0). */
  seed?: number;
  /** This worker's id in the storage (default `worker-<random>`; the Node storages pass `host:pid:tag`). */
  worker?: string;
}

/** A worker id: `worker-` and 8 hex digits from the platform's crypto generator (ids need not be reproducible, parameters do). */
function defaultWorkerId(): string {
  const c = (globalThis as { crypto?: { getRandomValues?: (a: Uint32Array) => Uint32Array } }).crypto;
  const a = new Uint32Array(1);
  if (c?.getRandomValues) c.getRandomValues(a);
  else a[0] = Date.now() >>> 0;
  return `worker-${(a[0] as number).toString(16).padStart(8, '0')}`;
}

/**
 * Creates a study, or joins the one of the same name in `storage`.
 *
 * @throws {@link EccvkitInputError} for a bad name, direction or sampler, or a study reused with another direction
 */
export async function createStudy(o: StudyOptions = {}): Promise<Study> {
  check(o !== null && typeof o === 'object', 'options', o, 'an object { name, storage, direction, sampler, pruner, seed }');
  const name = o.name ?? 'study';
  checkStudyName(name, 'name');
  const direction = o.direction ?? 'minimize';
  check(STUDY_DIRECTIONS.includes(direction), 'direction', direction, `one of ${STUDY_DIRECTIONS.join(', ')}`);
  const seed = checkSeed(o.seed ?? 0);
  const sampler = o.sampler === undefined ? new TPESampler({ seed }) : typeof o.sampler === 'string' ? makeSampler(o.sampler, seed) : o.sampler;
  check(sampler && typeof sampler.sampleIndependent === 'function', 'sampler', o.sampler, 'a Sampler or one of ' + SAMPLER_NAMES.join(', '));
  const pruner = o.pruner ?? new MedianPruner();
  check(pruner && typeof pruner.prune === 'function', 'pruner', o.pruner, 'a Pruner');
  const storage: StudyStorage = o.storage ?? new InMemoryStorage();
  const worker = o.worker ?? storage.defaultWorkerId?.() ?? defaultWorkerId();
  check(typeof worker === 'string' && worker.length > 0, 'worker', worker, 'a non-empty string');
  const record = await storage.getOrCreateStudy(name, direction);
  return new Study(record, storage, sampler, pruner, worker);
}

/** Options of {@link Study.optimize}. */
export interface OptimizeOptions {
  /**
   * The study's trial budget: no new trial starts once this many exist
   * (counting every worker's, a failed-and-retried trial once). Workers then
   * wait for other workers' running trials to finish or be reaped, and run
   * any re-queued one. Default: no limit.
   */
  trials?: number;
  /** No new trial starts after this many seconds (default: no limit). */
  timeoutS?: number;
  /** Called after each of this worker's trials with the trial as stored. */
  onTrial?: (trial: FrozenTrial, study: Study) => void | Promise<void>;
  /** Seconds between polls while waiting for other workers' trials (default: the storage's heartbeat interval, or 1). */
  pollS?: number;
}

/** What {@link Study.optimize} returns. */
export interface OptimizeResult {
  /** This worker's trials, in the order they ran. */
  trials: FrozenTrial[];
  /** The study's best trial over every worker's (when any completed). */
  best: BestTrial | undefined;
}

/** Seed of the stream of trial `number` in a study seeded `seed`: distinct per trial, the same on every worker. */
function trialSeed(seed: number, number: number): number {
  return (Math.imul(seed >>> 0, 0x9e3779b1) ^ Math.imul(number + 1, 0x85ebca6b)) >>> 0;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** A study: see {@link createStudy}. */
export class Study {
  /** Trials as last read from the storage (refreshed by ask, tell, trials()). */
  private cache: FrozenTrial[] = [];
  private stopped = false;

  /** @internal use {@link createStudy} */
  constructor(
    readonly record: StudyRecord,
    readonly storage: StudyStorage,
    readonly sampler: Sampler,
    readonly pruner: Pruner,
    /** This worker's id in the storage. */
    readonly worker: string,
  ) {}

  /** The study's name. */
  get name(): string {
    return this.record.name;
  }

  /** `'minimize'` or `'maximize'`. */
  get direction(): StudyDirection {
    return this.record.direction;
  }

  /** The best completed trial seen by this handle (`{ params, value, number }`), or `undefined`. Call {@link Study.trials} first to see other workers' latest. */
  get best(): BestTrial | undefined {
    return bestOf(this.cache, this.direction);
  }

  /** Every trial of the study, read from the storage now. */
  async trials(): Promise<FrozenTrial[]> {
    this.cache = await this.storage.getTrials(this.record.id);
    return this.cache.map((t) => structuredClone(t));
  }

  /** Makes {@link Study.optimize} start no new trial. */
  stop(): void {
    this.stopped = true;
  }

  /** Queues a trial with fixed parameters; the next `ask` (of any worker) gets it. */
  async enqueue(params: Record<string, ParamValue>, userAttrs: Record<string, unknown> = {}): Promise<FrozenTrial> {
    check(params !== null && typeof params === 'object' && !Array.isArray(params), 'params', params, 'an object of parameter name → value');
    return this.storage.enqueueTrial(this.record.id, params, userAttrs);
  }

  /**
   * Starts a trial: a queued one when any waits (re-queued retries first, by
   * age), else a new one. Reaps trials of dead workers first.
   */
  async ask(): Promise<Trial> {
    const t = await this.askWithin(null);
    return t as Trial;
  }

  private async askWithin(budget: number | null): Promise<Trial | null> {
    await this.storage.reapStale(this.record.id);
    const frozen = await this.storage.claimTrial(this.record.id, this.worker, budget);
    if (!frozen) return null;
    this.cache = await this.storage.getTrials(this.record.id);
    const trial = new Trial(this, frozen, createRng(trialSeed(this.sampler.seed, frozen.number)));
    await trial.start();
    return trial;
  }

  /** The sampler's view of the study for trial `number`. @internal */
  context(number: number): SamplerContext {
    return { direction: this.direction, trials: this.cache.filter((t) => t.number !== number), trialNumber: number };
  }

  /** @internal */
  async refresh(): Promise<void> {
    this.cache = await this.storage.getTrials(this.record.id);
  }

  /**
   * Finishes a trial: a number completes it, `'pruned'` or `'failed'` ends it
   * so (with `o.error` stored for a failure). A non-finite number fails it.
   *
   * @throws {@link TrialNotHeldError} when this worker no longer holds the trial (reaped as stale, or already told)
   */
  async tell(trial: Trial, outcome: number | 'pruned' | 'failed', o: { error?: string } = {}): Promise<FrozenTrial> {
    check(trial instanceof Trial && trial.study === this, 'trial', trial, 'a Trial of this study, from study.ask()');
    let frozen: FrozenTrial;
    try {
      await trial.flush();
    } catch (err) {
      if (err instanceof TrialNotHeldError) {
        trial.stopHeartbeat();
        throw err;
      }
      // A write that failed for another reason fails the trial rather than losing the result silently.
      outcome = 'failed';
      o = { error: `storing the trial failed: ${err instanceof Error ? err.message : String(err)}` };
    }
    try {
      if (typeof outcome === 'number') {
        if (Number.isFinite(outcome)) frozen = await this.storage.finishTrial(trial.id, this.worker, 'COMPLETE', outcome, null);
        else frozen = await this.storage.finishTrial(trial.id, this.worker, 'FAIL', null, `the objective returned ${outcome}, expected a finite number`);
      } else if (outcome === 'pruned') {
        frozen = await this.storage.finishTrial(trial.id, this.worker, 'PRUNED', null, null);
      } else if (outcome === 'failed') {
        frozen = await this.storage.finishTrial(trial.id, this.worker, 'FAIL', null, o.error ?? null);
      } else {
        throw new EccvkitInputError('outcome', outcome, "a finite number, 'pruned' or 'failed'");
      }
    } finally {
      trial.stopHeartbeat();
    }
    const i = this.cache.findIndex((t) => t.id === frozen.id);
    if (i >= 0) this.cache[i] = frozen;
    else this.cache.push(frozen);
    return frozen;
  }

  /**
   * Runs the objective on trial after trial until the budget is spent, the
   * timeout passes, the sampler is exhausted or {@link Study.stop} is called.
   * An objective that throws fails its trial (the message is stored) and the
   * study goes on; one that throws {@link TrialPruned} prunes it; a result
   * that is not a finite number fails it.
   */
  async optimize(objective: (trial: Trial) => Promise<number> | number, o: OptimizeOptions = {}): Promise<OptimizeResult> {
    check(typeof objective === 'function', 'objective', objective, 'a function (trial) => number | Promise<number>');
    const budget = o.trials ?? null;
    check(budget === null || (Number.isSafeInteger(budget) && budget >= 0), 'trials', o.trials, 'an integer ≥ 0');
    check(o.timeoutS === undefined || (typeof o.timeoutS === 'number' && o.timeoutS > 0), 'timeoutS', o.timeoutS, 'a positive number of seconds');
    const pollMs = 1000 * (o.pollS ?? (this.storage.heartbeatIntervalS > 0 ? this.storage.heartbeatIntervalS : 1));
    const deadline = o.timeoutS === undefined ? Infinity : Date.now() + o.timeoutS * 1000;
    this.stopped = false;
    const mine: FrozenTrial[] = [];
    while (!this.stopped && Date.now() < deadline) {
      if (this.sampler.isExhausted) {
        await this.refresh();
        if (this.sampler.isExhausted(this.context(-1))) break;
      }
      const trial = await this.askWithin(budget);
      if (!trial) {
        // Budget spent: wait while other workers still run trials (one may die and be re-queued), then stop.
        if (!this.storage.shared) break;
        await this.refresh();
        if (!this.cache.some((t) => t.state === 'RUNNING' || t.state === 'WAITING')) break;
        await sleep(pollMs);
        continue;
      }
      let frozen: FrozenTrial;
      try {
        let outcome: number | 'pruned' | 'failed';
        let error: string | undefined;
        try {
          const v = await objective(trial);
          if (typeof v === 'number') outcome = v;
          else {
            outcome = 'failed';
            error = `the objective returned ${describeValue(v)}, expected a finite number`;
          }
        } catch (err) {
          if (err instanceof TrialPruned) outcome = 'pruned';
          else {
            outcome = 'failed';
            error = err instanceof Error ? err.message : String(err);
          }
        }
        frozen = await this.tell(trial, outcome, error === undefined ? {} : { error });
      } catch (err) {
        // Reaped while it ran (its heartbeat lagged past the grace period): the retry is someone else's now.
        if (err instanceof TrialNotHeldError) continue;
        throw err;
      }
      mine.push(frozen);
      if (o.onTrial) await o.onTrial(frozen, this);
    }
    await this.refresh();
    return { trials: mine, best: this.best };
  }
}

/**
 * One trial of a study, handed to the objective. Suggestions are synchronous
 * and recorded in the storage in the background (awaited before the trial is
 * told); a parameter asked for again returns the same value.
 */
export class Trial {
  /** Number within the study. */
  readonly number: number;
  /** Storage id. */
  readonly id: number;
  /** Number of the trial this one re-runs with the same parameters (its worker died), or `null`. */
  readonly retryOf: number | null;
  private readonly paramsMap: Record<string, ParamValue> = {};
  private readonly dists: Record<string, Distribution> = {};
  private readonly fixed: Record<string, ParamValue>;
  private relative: Record<string, ParamValue> = {};
  private relativeSpace: Record<string, Distribution> = {};
  private readonly values: IntermediateValue[] = [];
  private readonly userAttrsMap: Record<string, unknown>;
  private readonly systemAttrsMap: Record<string, unknown>;
  private pending: Promise<void> = Promise.resolve();
  private writeError: unknown = null;
  private stopBeat: (() => void) | null = null;
  private lastRefresh = 0;

  /** @internal use {@link Study.ask} */
  constructor(
    readonly study: Study,
    frozen: FrozenTrial,
    private readonly rng: Rng,
  ) {
    this.number = frozen.number;
    this.id = frozen.id;
    this.retryOf = frozen.retryOf;
    // A queued trial's parameters (a retry's, or enqueued ones) are fixed.
    this.fixed = { ...frozen.params };
    for (const [k, d] of Object.entries(frozen.distributions)) this.dists[k] = d;
    this.userAttrsMap = { ...frozen.userAttrs };
    this.systemAttrsMap = { ...frozen.systemAttrs };
  }

  /** @internal */
  async start(): Promise<void> {
    this.stopBeat = this.study.storage.startHeartbeat(this.id, this.study.worker);
    const ctx = this.study.context(this.number);
    const start = this.study.sampler.startTrial?.(ctx, this.rng);
    if (start?.fixedParams) Object.assign(this.fixed, start.fixedParams);
    if (start?.systemAttrs) {
      Object.assign(this.systemAttrsMap, start.systemAttrs);
      await this.study.storage.setAttrs(this.id, this.study.worker, this.userAttrsMap, this.systemAttrsMap);
    }
    this.relativeSpace = this.study.sampler.inferRelativeSearchSpace(ctx);
    this.relative = this.study.sampler.sampleRelative(ctx, this.relativeSpace, this.rng);
  }

  /** @internal */
  stopHeartbeat(): void {
    this.stopBeat?.();
    this.stopBeat = null;
  }

  /** Parameters suggested so far. */
  get params(): Record<string, ParamValue> {
    return { ...this.paramsMap };
  }

  /** The objective's attributes (a retry starts with the failed trial's, e.g. its checkpoint). */
  get userAttrs(): Record<string, unknown> {
    return { ...this.userAttrsMap };
  }

  /** Values reported so far. */
  get intermediateValues(): IntermediateValue[] {
    return this.values.map((v) => ({ ...v }));
  }

  private write(fn: () => Promise<void>): void {
    this.pending = this.pending.then(fn).catch((err: unknown) => {
      if (this.writeError === null) this.writeError = err;
    });
  }

  /** Waits for the background writes; rethrows the first that failed. */
  async flush(): Promise<void> {
    await this.pending;
    if (this.writeError !== null) throw this.writeError;
  }

  private suggest(name: string, d: Distribution): ParamValue {
    const known = this.dists[name];
    if (name in this.paramsMap && known) {
      if (!sameDistribution(known, d)) {
        throw new EccvkitInputError(`parameter "${name}"`, describeDistribution(d), `${describeDistribution(known)}, the distribution it was first suggested with in trial ${this.number}`);
      }
      return this.paramsMap[name] as ParamValue;
    }
    let value: ParamValue;
    const fixed = this.fixed[name];
    if (name in this.fixed && contains(d, fixed)) value = fixed as ParamValue;
    else if (name in this.fixed && this.study.sampler.name === 'grid') {
      throw new EccvkitInputError(`parameter "${name}"`, describeDistribution(d), `a distribution containing the grid value ${describeValue(fixed)}`);
    } else if (name in this.relative && this.relativeSpace[name] && sameDistribution(this.relativeSpace[name] as Distribution, d)) value = this.relative[name] as ParamValue;
    else value = this.study.sampler.sampleIndependent(this.study.context(this.number), name, d, this.rng);
    this.paramsMap[name] = value;
    this.dists[name] = d;
    const params = { ...this.paramsMap };
    const dists = { ...this.dists };
    this.write(() => this.study.storage.setParams(this.id, this.study.worker, params, dists));
    return value;
  }

  /**
   * A float in [low, high]: log-uniform prior with `log`, on the grid
   * low + k·step with `step`.
   * @throws {@link EccvkitInputError} for a bad range (a log range including 0), or a name already suggested with another range in this trial
   */
  suggestFloat(name: string, low: number, high: number, o: { log?: boolean; step?: number } = {}): number {
    checkParamName(name);
    return this.suggest(name, floatDistribution(name, low, high, o)) as number;
  }

  /** An integer in [low, high] (on low + k·step; log-uniform with `log`). @throws {@link EccvkitInputError} as {@link Trial.suggestFloat} */
  suggestInt(name: string, low: number, high: number, o: { log?: boolean; step?: number } = {}): number {
    checkParamName(name);
    return this.suggest(name, intDistribution(name, low, high, o)) as number;
  }

  /** One of `choices` (strings, numbers, booleans or null). @throws {@link EccvkitInputError} as {@link Trial.suggestFloat} */
  suggestCategorical<T extends CategoricalChoice>(name: string, choices: readonly T[]): T {
    checkParamName(name);
    return this.suggest(name, categoricalDistribution(name, choices)) as T;
  }

  /** Records an intermediate objective value at `step` (an integer ≥ 0; a repeated step replaces the value). */
  report(value: number, step: number): void {
    check(typeof value === 'number' && (Number.isFinite(value) || Number.isNaN(value)), 'report value', value, 'a finite number (or NaN, which prunes)');
    check(Number.isSafeInteger(step) && step >= 0, 'report step', step, 'an integer ≥ 0');
    const i = this.values.findIndex((v) => v.step === step);
    if (i >= 0) this.values.splice(i, 1);
    this.values.push({ step, value });
    this.values.sort((a, b) => a.step - b.step);
    this.write(() => this.study.storage.reportValue(this.id, this.study.worker, step, value));
    // Other workers' reports matter to the pruner: re-read the study at most once a second.
    const now = Date.now();
    if (this.study.storage.shared && now - this.lastRefresh > 1000) {
      this.lastRefresh = now;
      this.write(() => this.study.refresh());
    }
  }

  /** Whether the study's pruner would stop this trial now, from its reported values and the other trials' (as last read). */
  shouldPrune(): boolean {
    return this.study.pruner.prune({ direction: this.study.direction, trials: this.study.context(this.number).trials, trial: { number: this.number, intermediateValues: this.values } });
  }

  /** Sets a JSON attribute of the trial (kept by its retry: a checkpoint path to resume from, say). */
  setUserAttr(key: string, value: unknown): void {
    check(typeof key === 'string' && key.length > 0, 'userAttr key', key, 'a non-empty string');
    this.userAttrsMap[key] = JSON.parse(JSON.stringify(value ?? null)) as unknown;
    const u = { ...this.userAttrsMap };
    const s = { ...this.systemAttrsMap };
    this.write(() => this.study.storage.setAttrs(this.id, this.study.worker, u, s));
  }
}

function checkParamName(name: unknown): asserts name is string {
  check(typeof name === 'string' && name.length > 0, 'parameter name', name, 'a non-empty string');
}
