/**
 * The records a study is made of, shared by the study, samplers, pruners and
 * every storage adapter. Plain JSON, no Node types: the core runs in a browser.
 */
import type { Distribution, ParamValue } from './distributions.js';

/** Whether lower or higher objective values are better. */
export type StudyDirection = 'minimize' | 'maximize';

/** The directions a study can have. */
export const STUDY_DIRECTIONS: readonly StudyDirection[] = ['minimize', 'maximize'];

/**
 * Lifecycle of a trial: `WAITING` (queued with fixed parameters, e.g. a
 * retry of a trial whose worker died), `RUNNING` (claimed by one worker),
 * then `COMPLETE`, `PRUNED` or `FAIL`.
 */
export type TrialState = 'WAITING' | 'RUNNING' | 'COMPLETE' | 'PRUNED' | 'FAIL';

/** The states a trial can have, in lifecycle order. */
export const TRIAL_STATES: readonly TrialState[] = ['WAITING', 'RUNNING', 'COMPLETE', 'PRUNED', 'FAIL'];

/** One intermediate value reported with `trial.report(value, step)`. */
export interface IntermediateValue {
  step: number;
  value: number;
}

/** A trial as stored: a snapshot, not a live handle. */
export interface FrozenTrial {
  /** Storage row id (unique across studies of one storage). */
  id: number;
  /** Number within its study: 0, 1, 2, … in creation order, never reused. */
  number: number;
  state: TrialState;
  /** Objective value of a `COMPLETE` trial, else `null`. */
  value: number | null;
  /** Parameter values, by name, in suggestion order. */
  params: Record<string, ParamValue>;
  /** The distribution each parameter was drawn from. */
  distributions: Record<string, Distribution>;
  /** Values reported with `trial.report`, by increasing step. */
  intermediateValues: IntermediateValue[];
  /** The worker that runs or ran it (`host:pid:tag`), `null` while waiting. */
  worker: string | null;
  /** ISO 8601 times. */
  startedAt: string | null;
  finishedAt: string | null;
  /** Seconds since its worker's last heartbeat (storage clock), for `RUNNING` trials of storages that keep heartbeats. */
  heartbeatAgeS: number | null;
  /** Error message of a `FAIL` trial (the objective's exception, or why it was reaped). */
  error: string | null;
  /** Number of the trial this one retries (same parameters), or `null`. */
  retryOf: number | null;
  /** How many times this trial's parameters have been retried before it (0 for a fresh trial). */
  retries: number;
  /** The objective's own JSON attributes (e.g. a checkpoint path); a retry starts with the failed trial's. */
  userAttrs: Record<string, unknown>;
  /** Samplers' and pruners' attributes (e.g. the grid point). */
  systemAttrs: Record<string, unknown>;
}

/** A study as stored. */
export interface StudyRecord {
  id: number;
  name: string;
  direction: StudyDirection;
  createdAt: string;
}

/** The best trial of a study, as `study.best` returns it. */
export interface BestTrial {
  number: number;
  value: number;
  params: Record<string, ParamValue>;
}

/** The best `COMPLETE` trial of `trials` for `direction` (ties: the lowest number), or `undefined`. */
export function bestOf(trials: readonly FrozenTrial[], direction: StudyDirection): BestTrial | undefined {
  let best: FrozenTrial | undefined;
  for (const t of trials) {
    if (t.state !== 'COMPLETE' || t.value === null) continue;
    if (!best || (direction === 'minimize' ? t.value < (best.value as number) : t.value > (best.value as number))) best = t;
  }
  return best && { number: best.number, value: best.value as number, params: { ...best.params } };
}
