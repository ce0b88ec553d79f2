/**
 * Where a study's trials live. The study talks to a {@link StudyStorage}
 * only; the in-memory one here runs anywhere (a browser too), the SQLite and
 * PostgreSQL adapters (`hpo/storage/`) are Node-only and let several
 * processes, or machines, share one study.
 *
 * The protocol every adapter keeps (after Optuna's RDB storage):
 * - a worker gets a trial by {@link StudyStorage.claimTrial}: the oldest
 *   `WAITING` trial flipped to `RUNNING` atomically, else a fresh `RUNNING`
 *   trial with the next number, unless the study's trial budget is spent;
 * - every write to a trial names the worker and only lands while that worker
 *   still holds it `RUNNING`, so a reaped trial's late result is refused and a
 *   finished trial is never told twice;
 * - a running trial's heartbeat is refreshed from outside the objective's
 *   thread; {@link StudyStorage.reapStale} fails trials whose heartbeat is
 *   older than the grace period and queues a `WAITING` copy with the same
 *   parameters (and user attributes, e.g. a checkpoint) up to a retry limit.
 */
import { EccvkitError, EccvkitInputError } from '../errors.js';
import type { Distribution, ParamValue } from './distributions.js';
import type { FrozenTrial, StudyDirection, StudyRecord, TrialState } from './types.js';

/** Raised when a worker writes to a trial it no longer holds (reaped as stale, or already finished). */
export class TrialNotHeldError extends EccvkitError {
  override name = 'TrialNotHeldError';
  constructor(
    readonly trialNumber: number,
    readonly worker: string,
  ) {
    super(`trial ${trialNumber} is no longer held by worker ${worker} (it was reaped after a stale heartbeat, or already finished); the write was refused`);
  }
}

/** Final states a trial can be told. */
export type FinishedState = Extract<TrialState, 'COMPLETE' | 'PRUNED' | 'FAIL'>;

/** A study storage (see the module's notes for the protocol). All methods are async. */
export interface StudyStorage {
  /** What this storage is, for messages (a file or a URL without password). */
  readonly description: string;
  /** True when trials of other processes may appear (so waiting for them makes sense). */
  readonly shared: boolean;
  /** Heartbeat interval of running trials, in seconds (0 when the storage keeps none). */
  readonly heartbeatIntervalS: number;
  /** Seconds a running trial's heartbeat may lag before {@link StudyStorage.reapStale} fails it. */
  readonly gracePeriodS: number;
  /** How many times a reaped trial is re-queued at most. */
  readonly maxRetries: number;

  /**
   * The study called `name`, created with `direction` when absent.
   * @throws {@link EccvkitInputError} when it exists with the other direction
   */
  getOrCreateStudy(name: string, direction: StudyDirection): Promise<StudyRecord>;
  /** The study called `name`, or `undefined`. */
  findStudy(name: string): Promise<StudyRecord | undefined>;
  /** Every study, oldest first. */
  listStudies(): Promise<StudyRecord[]>;
  /**
   * Claims the oldest `WAITING` trial for `worker`, else creates a `RUNNING`
   * trial with the next number, unless `budget` trials already count (every
   * trial except those superseded by a retry). `null` when neither.
   */
  claimTrial(studyId: number, worker: string, budget: number | null): Promise<FrozenTrial | null>;
  /** Queues a `WAITING` trial with fixed parameters (by value; distributions optional). */
  enqueueTrial(studyId: number, params: Record<string, ParamValue>, userAttrs?: Record<string, unknown>): Promise<FrozenTrial>;
  /** Replaces a held trial's parameters. @throws {@link TrialNotHeldError} */
  setParams(trialId: number, worker: string, params: Record<string, ParamValue>, distributions: Record<string, Distribution>): Promise<void>;
  /** Replaces a held trial's attributes. @throws {@link TrialNotHeldError} */
  setAttrs(trialId: number, worker: string, userAttrs: Record<string, unknown>, systemAttrs: Record<string, unknown>): Promise<void>;
  /** Records an intermediate value (a repeated step replaces the value). @throws {@link TrialNotHeldError} */
  reportValue(trialId: number, worker: string, step: number, value: number): Promise<void>;
  /** Finishes a held trial. @throws {@link TrialNotHeldError} when `worker` does not hold it `RUNNING` */
  finishTrial(trialId: number, worker: string, state: FinishedState, value: number | null, error: string | null): Promise<FrozenTrial>;
  /** Every trial of the study, by number. */
  getTrials(studyId: number): Promise<FrozenTrial[]>;
  /** Starts refreshing the trial's heartbeat in the background; returns the function that stops it. */
  startHeartbeat(trialId: number, worker: string): () => void;
  /** Fails (and re-queues) trials whose heartbeat is stale; returns the failed ones. */
  reapStale(studyId: number): Promise<FrozenTrial[]>;
  /** Releases connections and background threads. */
  close(): Promise<void>;
  /** A worker id for this process when `createStudy` is given none (Node storages: `host:pid:tag`). */
  defaultWorkerId?(): string;
}

/** Checks a study name: 1–128 printable characters. */
export function checkStudyName(name: unknown, argument = 'name'): asserts name is string {
  if (typeof name !== 'string' || name.length === 0 || name.length > 128 || [...name].some((ch) => ch.charCodeAt(0) < 32)) {
    throw new EccvkitInputError(argument, name, 'a study name of 1–128 printable characters');
  }
}

/** The error for a study reused with the other direction. */
export function directionMismatch(name: string, stored: StudyDirection, requested: StudyDirection): EccvkitInputError {
  return new EccvkitInputError('direction', requested, `"${stored}", the direction study "${name}" was created with (use another study name to ${requested})`);
}

function nowIso(): string {
  return new Date().toISOString();
}

function clone<T>(x: T): T {
  return JSON.parse(JSON.stringify(x)) as T;
}

/**
 * A storage in this process's memory: the default of `createStudy`. Nothing
 * else sees it and it ends with the process, so it keeps no heartbeats.
 * Records are copy-on-write: every change replaces a trial's object, so
 * {@link InMemoryStorage.getTrials} hands out the current objects without
 * copying them (callers treat them as read-only).
 */
export class InMemoryStorage implements StudyStorage {
  readonly description = 'memory';
  readonly shared = false;
  readonly heartbeatIntervalS = 0;
  readonly gracePeriodS = Infinity;
  readonly maxRetries = 0;
  private studies: StudyRecord[] = [];
  /** Trials per study id, indexed by number. */
  private byStudy = new Map<number, FrozenTrial[]>();
  /** Trial id → [study id, number]. */
  private where = new Map<number, [number, number]>();
  /** Trials that were retried (their number), per study. */
  private retried = new Map<number, Set<number>>();
  private nextTrialId = 1;

  async getOrCreateStudy(name: string, direction: StudyDirection): Promise<StudyRecord> {
    checkStudyName(name);
    const s = this.studies.find((x) => x.name === name);
    if (s) {
      if (s.direction !== direction) throw directionMismatch(name, s.direction, direction);
      return { ...s };
    }
    const rec = { id: this.studies.length + 1, name, direction, createdAt: nowIso() };
    this.studies.push(rec);
    this.byStudy.set(rec.id, []);
    this.retried.set(rec.id, new Set());
    return { ...rec };
  }

  async findStudy(name: string): Promise<StudyRecord | undefined> {
    const s = this.studies.find((x) => x.name === name);
    return s && { ...s };
  }

  async listStudies(): Promise<StudyRecord[]> {
    return this.studies.map((s) => ({ ...s }));
  }

  private ofStudy(studyId: number): FrozenTrial[] {
    const list = this.byStudy.get(studyId);
    if (!list) throw new EccvkitInputError('studyId', studyId, 'the id of a study in this storage');
    return list;
  }

  private newTrial(studyId: number, state: TrialState, worker: string | null, params: Record<string, ParamValue> = {}, userAttrs: Record<string, unknown> = {}): FrozenTrial {
    const list = this.ofStudy(studyId);
    const t: FrozenTrial = {
      id: this.nextTrialId++,
      number: list.length,
      state,
      value: null,
      params: clone(params),
      distributions: {},
      intermediateValues: [],
      worker,
      startedAt: state === 'RUNNING' ? nowIso() : null,
      finishedAt: null,
      heartbeatAgeS: null,
      error: null,
      retryOf: null,
      retries: 0,
      userAttrs: clone(userAttrs),
      systemAttrs: {},
    };
    list.push(t);
    this.where.set(t.id, [studyId, t.number]);
    return t;
  }

  private replace(t: FrozenTrial, change: Partial<FrozenTrial>): FrozenTrial {
    const [studyId, number] = this.where.get(t.id) as [number, number];
    const next = { ...t, ...change };
    this.ofStudy(studyId)[number] = next;
    return next;
  }

  async claimTrial(studyId: number, worker: string, budget: number | null): Promise<FrozenTrial | null> {
    const list = this.ofStudy(studyId);
    const waiting = list.find((t) => t.state === 'WAITING');
    if (waiting) return this.replace(waiting, { state: 'RUNNING', worker, startedAt: nowIso() });
    if (budget !== null && list.length - (this.retried.get(studyId) as Set<number>).size >= budget) return null;
    return this.newTrial(studyId, 'RUNNING', worker);
  }

  async enqueueTrial(studyId: number, params: Record<string, ParamValue>, userAttrs: Record<string, unknown> = {}): Promise<FrozenTrial> {
    return this.newTrial(studyId, 'WAITING', null, params, userAttrs);
  }

  private held(trialId: number, worker: string): FrozenTrial {
    const w = this.where.get(trialId);
    if (!w) throw new EccvkitInputError('trialId', trialId, 'the id of a trial in this storage');
    const t = this.ofStudy(w[0])[w[1]] as FrozenTrial;
    if (t.state !== 'RUNNING' || t.worker !== worker) throw new TrialNotHeldError(t.number, worker);
    return t;
  }

  async setParams(trialId: number, worker: string, params: Record<string, ParamValue>, distributions: Record<string, Distribution>): Promise<void> {
    this.replace(this.held(trialId, worker), { params: clone(params), distributions: clone(distributions) });
  }

  async setAttrs(trialId: number, worker: string, userAttrs: Record<string, unknown>, systemAttrs: Record<string, unknown>): Promise<void> {
    this.replace(this.held(trialId, worker), { userAttrs: clone(userAttrs), systemAttrs: clone(systemAttrs) });
  }

  async reportValue(trialId: number, worker: string, step: number, value: number): Promise<void> {
    const t = this.held(trialId, worker);
    this.replace(t, { intermediateValues: [...t.intermediateValues.filter((v) => v.step !== step), { step, value }].sort((a, b) => a.step - b.step) });
  }

  async finishTrial(trialId: number, worker: string, state: FinishedState, value: number | null, error: string | null): Promise<FrozenTrial> {
    const t = this.held(trialId, worker);
    return this.replace(t, { state, value: state === 'COMPLETE' ? value : null, error, finishedAt: nowIso() });
  }

  async getTrials(studyId: number): Promise<FrozenTrial[]> {
    return this.ofStudy(studyId).slice();
  }

  startHeartbeat(): () => void {
    return () => {};
  }

  async reapStale(): Promise<FrozenTrial[]> {
    return [];
  }

  async close(): Promise<void> {}
}

