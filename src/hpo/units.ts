/**
 * Units of work on the study storage: an experiment's independent cells
 * (seed × arm runs, grid cells) as trials enqueued with fixed parameters on a
 * study named `<experiment>/<config-hash>/units`. There is no second queue:
 * a worker claims a unit as it claims a waiting trial (atomically), the
 * storage heartbeats it while it runs, a dead worker's unit is failed and
 * re-queued with the same parameters by whoever reaps, and the unit's result
 * (JSON) is stored in the trial's user attributes, where the coordinating run
 * collects it.
 *
 * A unit trial's params are `{ kind, key }` (the unit kind and the unit's
 * name within its study); its user attributes hold `args` (what the kind's
 * function is called with), while it runs the last `checkpoint` it saved
 * (which a re-queued copy inherits, so a long unit resumes where its dead
 * worker left it) and, once done, `result`. Functions are looked up
 * by kind in this process's registry ({@link registerUnitKind}): every worker
 * runs the same code, so params alone say what to do.
 */
import { EccvkitError, EccvkitInputError } from '../errors.js';
import type { StudyStorage } from './storage.js';
import type { FrozenTrial, StudyRecord } from './types.js';

/** JSON a unit takes and returns. */
export type UnitJson = null | boolean | number | string | UnitJson[] | { [k: string]: UnitJson };

/** What a unit's function is told besides its arguments. */
export interface UnitContext {
  /** The study the unit belongs to. */
  study: string;
  /** The unit's key within the study. */
  key: string;
  /** The worker running it. */
  worker: string;
  /** Progress lines (the worker prints them). */
  log(message: string): void;
  /**
   * What an earlier attempt of this unit saved with {@link saveCheckpoint}
   * before its worker died (a re-queued unit keeps its user attributes), or
   * `undefined` on a first attempt.
   */
  checkpoint: UnitJson | undefined;
  /** Stores `state` with the unit, replacing the last one, so a retry can start from it instead of from the beginning. */
  saveCheckpoint(state: UnitJson): Promise<void>;
}

/** A unit kind's function: called by its arguments alone, returns JSON to store as the unit's result. */
export type UnitFunction = (args: UnitJson, ctx: UnitContext) => UnitJson | Promise<UnitJson>;

const kinds = new Map<string, UnitFunction>();

/** Registers the function that runs units of `name` (a second registration of a name replaces the first). */
export function registerUnitKind(name: string, fn: UnitFunction): void {
  if (typeof name !== 'string' || name.length === 0) throw new EccvkitInputError('name', name, 'a non-empty unit kind name');
  if (typeof fn !== 'function') throw new EccvkitInputError('fn', fn, `a function for unit kind ${name}`);
  kinds.set(name, fn);
}

/** The registered unit kinds, by name. */
export function unitKinds(): string[] {
  return [...kinds.keys()].sort();
}

/**
 * What a worker keeps between units of one config (data sets, tensors, a
 * trained feature net): `get` prepares it for a config (told apart by its
 * JSON) and frees the one it held before; `release` frees it when the work is
 * done. A worker runs many units of one config, so it prepares them once.
 */
export function configCache<C, D>(prepare: (config: C) => D | Promise<D>, dispose: (data: D) => void): { get(config: C): Promise<D>; release(): void } {
  let held: { key: string; data: D } | undefined;
  const release = (): void => {
    const old = held;
    held = undefined;
    if (old) dispose(old.data);
  };
  return {
    async get(config) {
      const key = JSON.stringify(config);
      if (held?.key !== key) {
        release();
        held = { key, data: await prepare(config) };
      }
      return held.data;
    },
    release,
  };
}

/** A unit to enqueue. */
export interface UnitSpec {
  kind: string;
  /** Unique within the study; the coordinator collects results by key. */
  key: string;
  args: UnitJson;
}

/** The study name an experiment's units of one configuration live in. */
export function unitStudyName(experiment: string, configHash: string): string {
  return `${experiment}/${configHash.slice(0, 16)}/units`;
}

/** True for a study that holds units (`…/units`), of `experiment` when given. */
export function isUnitStudy(name: string, experiment?: string): boolean {
  return name.endsWith('/units') && (experiment === undefined || name.startsWith(`${experiment}/`));
}

const keyOf = (t: FrozenTrial) => String(t.params.key);

/**
 * Enqueues the units not yet in the study (by key: a unit that is waiting,
 * running or complete is not enqueued again, so a resumed coordinator reuses
 * what workers already did). Returns the study.
 */
export async function enqueueUnits(storage: StudyStorage, study: string, units: readonly UnitSpec[]): Promise<StudyRecord> {
  const rec = await storage.getOrCreateStudy(study, 'minimize');
  const present = new Set((await storage.getTrials(rec.id)).filter((t) => t.state !== 'FAIL').map(keyOf));
  const seen = new Set<string>();
  for (const u of units) {
    if (seen.has(u.key)) throw new EccvkitInputError('units', u.key, 'a unit key used once per study');
    seen.add(u.key);
    if (present.has(u.key)) continue;
    await storage.enqueueTrial(rec.id, { kind: u.kind, key: u.key }, { args: u.args });
  }
  return rec;
}

/** One unit a worker ran. */
export interface UnitOutcome {
  study: string;
  key: string;
  kind: string;
  number: number;
  state: 'COMPLETE' | 'FAIL';
  seconds: number;
  error?: string;
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * Claims one waiting unit of `rec` (after reaping stale ones) and runs it.
 * `null` when none is waiting. A unit whose kind is unknown here, or whose
 * function throws, is failed with the message (and not re-queued: running it
 * again would fail again).
 */
export async function runOneUnit(storage: StudyStorage, rec: StudyRecord, worker: string, log: (m: string) => void = () => {}): Promise<UnitOutcome | null> {
  await storage.reapStale(rec.id);
  // Budget 0: claim only a waiting trial, never create a fresh one.
  const t = await storage.claimTrial(rec.id, worker, 0);
  if (!t) return null;
  const kind = String(t.params.kind);
  const key = keyOf(t);
  const stop = storage.startHeartbeat(t.id, worker);
  const t0 = Date.now();
  const base = { study: rec.name, key, kind, number: t.number };
  try {
    const fn = kinds.get(kind);
    if (!fn) throw new EccvkitError(`unit kind "${kind}" is not registered in this worker (registered: ${unitKinds().join(', ') || 'none'})`);
    const { checkpoint, ...attrs } = t.userAttrs;
    const result = await fn((attrs.args ?? null) as UnitJson, {
      study: rec.name,
      key,
      worker,
      log,
      checkpoint: checkpoint as UnitJson | undefined,
      saveCheckpoint: (state) => storage.setAttrs(t.id, worker, { ...attrs, checkpoint: state }, t.systemAttrs),
    });
    // The result replaces the checkpoint: a finished unit needs only what it returned.
    await storage.setAttrs(t.id, worker, { ...attrs, result }, t.systemAttrs);
    const seconds = (Date.now() - t0) / 1000;
    await storage.finishTrial(t.id, worker, 'COMPLETE', seconds, null);
    return { ...base, state: 'COMPLETE', seconds };
  } catch (err) {
    const seconds = (Date.now() - t0) / 1000;
    try {
      await storage.finishTrial(t.id, worker, 'FAIL', null, errorText(err));
    } catch {
      // Reaped meanwhile: the re-queued copy will run again.
    }
    return { ...base, state: 'FAIL', seconds, error: errorText(err) };
  } finally {
    stop();
  }
}

/** Options of {@link runWorker}. */
export interface WorkerOptions {
  worker: string;
  /** Only units of this experiment's studies. */
  experiment?: string;
  /** Only this study (the coordinator works on its own units). */
  study?: string;
  /** Return when no unit is waiting; otherwise keep polling until `signal` aborts. */
  idleExit: boolean;
  /** Seconds between polls when nothing is waiting. */
  pollS?: number;
  signal?: AbortSignal;
  onUnit?: (o: UnitOutcome) => void;
  log?: (m: string) => void;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Pulls units from every matching unit study until none is waiting (`idleExit`) or `signal` aborts. Returns what it ran. */
export async function runWorker(storage: StudyStorage, o: WorkerOptions): Promise<UnitOutcome[]> {
  const done: UnitOutcome[] = [];
  const pollMs = 1000 * (o.pollS ?? 1);
  while (!o.signal?.aborted) {
    const studies = (await storage.listStudies()).filter((s) => (o.study !== undefined ? s.name === o.study : isUnitStudy(s.name, o.experiment)));
    let ran = false;
    for (const s of studies) {
      // Drain one study before the next: the oldest coordinator finishes first.
      for (;;) {
        if (o.signal?.aborted) return done;
        const out = await runOneUnit(storage, s, o.worker, o.log);
        if (!out) break;
        ran = true;
        done.push(out);
        o.onUnit?.(out);
      }
    }
    if (!ran) {
      if (o.idleExit) return done;
      await sleep(pollMs);
    }
  }
  return done;
}

/**
 * The coordinator's side: works on the study's waiting units itself, then
 * waits for units other workers run (reaping and taking over those of dead
 * workers) until every key in `keys` has a complete unit. Returns each key's
 * result.
 * @throws {@link EccvkitError} when a unit failed with no retry left (its message)
 */
export async function collectUnits(
  storage: StudyStorage,
  rec: StudyRecord,
  keys: readonly string[],
  o: { worker: string; pollS?: number; onUnit?: (o: UnitOutcome) => void; log?: (m: string) => void },
): Promise<Map<string, UnitJson>> {
  const pollMs = 1000 * (o.pollS ?? 1);
  for (;;) {
    for (;;) {
      const out = await runOneUnit(storage, rec, o.worker, o.log);
      if (!out) break;
      o.onUnit?.(out);
    }
    const trials = await storage.getTrials(rec.id);
    const results = new Map<string, UnitJson>();
    const open = new Set<string>();
    const failed = new Map<string, string>();
    for (const t of trials) {
      const k = keyOf(t);
      if (t.state === 'COMPLETE') results.set(k, (t.userAttrs.result ?? null) as UnitJson);
      else if (t.state === 'WAITING' || t.state === 'RUNNING') open.add(k);
      else if (t.state === 'FAIL') failed.set(k, t.error ?? 'failed');
    }
    const missing = keys.filter((k) => !results.has(k));
    if (missing.length === 0) return results;
    const dead = missing.find((k) => !open.has(k));
    if (dead !== undefined) {
      throw new EccvkitError(`unit ${dead} of study ${rec.name} ${failed.has(dead) ? `failed: ${failed.get(dead)}` : 'is not in the study'}`);
    }
    await sleep(pollMs);
  }
}
