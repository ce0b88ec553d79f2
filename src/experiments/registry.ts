/**
 * The experiment registry. An experiment is a paper claim made runnable: a
 * config schema with `quick` (minutes, CI-sized) and `full` (the real
 * reproduction) presets, a `run` that trains and measures while writing to the
 * run store, and a `report` that renders its stored results as an HTML section.
 */
import type { z } from 'zod';
import type { EngineInfo, Rng } from '../engine/index.js';
import { EccvkitInputError } from '../errors.js';
import { isPlainObject } from '../objects.js';
import type { Checkpoint, RunRecord, RunStore } from '../store/index.js';

export const PRESETS = ['quick', 'full'] as const;
export type Preset = (typeof PRESETS)[number];

/** Progress of long work; the CLI draws a bar on a TTY and plain lines elsewhere. */
export interface ProgressReporter {
  /** Starts a phase of `total` units (steps, episodes, …). */
  start(label: string, total: number): void;
  /** Sets the current position and the latest numbers to show. */
  update(done: number, values?: Record<string, number>): void;
  /** Ends the phase. */
  stop(): void;
  /** A one-line message between phases. */
  log(message: string): void;
}

/** A reporter that says nothing (library use). */
export const silentProgress: ProgressReporter = { start() {}, update() {}, stop() {}, log() {} };

/** What an experiment's `run` receives besides its config. */
export interface ExperimentContext {
  store: RunStore;
  run: RunRecord;
  /** Seeded from the config's `seed`; every random draw of the run goes through it. */
  rng: Rng;
  engine: EngineInfo;
  progress: ProgressReporter;
  /** The newest checkpoint of this run when it is being resumed. */
  resumeFrom: Checkpoint | undefined;
  /** Records numbers for a step (loss curves and the like). */
  logMetrics(step: number, values: Record<string, number>): void;
  /** Writes a checkpoint folder through `write`, atomically; keeps the newest two. */
  saveCheckpoint(step: number, write: (dir: string) => Promise<void>, meta?: Record<string, unknown>): Promise<Checkpoint>;
  /** Records a file (image grid, model, table) produced by the run. */
  addArtifact(name: string, kind: string, file: string): void;
}

/** The base shape every experiment config has. */
export interface BaseConfig {
  seed: number;
}

export interface Experiment<C extends BaseConfig = BaseConfig> {
  /** CLI name, e.g. `mnist-baseline`. */
  name: string;
  /** Human title for the report. */
  title: string;
  /** The paper and the claim this experiment tests, one sentence each. */
  paper: string;
  claim: string;
  /** Validates a full config and fills defaults. */
  schema: z.ZodType<C>;
  /** Overrides applied on top of the schema defaults. */
  presets: Record<Preset, Partial<C>>;
  /**
   * What `--preset full` trains, what it measures and what it cost here, in
   * one sentence: the report shows it wherever a quick run is only a pipeline check.
   */
  fullPreset: string;
  /** Trains and measures; returns the final metrics to store. */
  run(config: C, ctx: ExperimentContext): Promise<Record<string, number | string>>;
  /** Renders this experiment's stored run as the body of a report section (HTML). */
  report(run: RunRecord, store: RunStore): string;
}

const registry = new Map<string, Experiment>();

/** Adds an experiment; names are unique. */
export function registerExperiment<C extends BaseConfig>(experiment: Experiment<C>): void {
  if (registry.has(experiment.name)) throw new Error(`experiment ${experiment.name} is registered twice`);
  registry.set(experiment.name, experiment as unknown as Experiment);
}

/** Looks an experiment up by name, with an error listing the known ones. */
export function getExperiment(name: string): Experiment {
  const e = registry.get(name);
  if (e === undefined) throw new EccvkitInputError('experiment', name, `one of ${[...registry.keys()].join(', ') || '(none registered)'}`);
  return e;
}

/** Every registered experiment, in registration order. */
export function listExperiments(): Experiment[] {
  return [...registry.values()];
}

/** Parses one `--set key=value`; the value is JSON when it parses as JSON, else a string. */
export function parseSetting(text: string): [string[], unknown] {
  const eq = text.indexOf('=');
  if (eq <= 0) throw new EccvkitInputError('--set', text, 'key=value (for example --set epochs=3 or --set model.width=32)');
  const key = text.slice(0, eq).trim();
  if (!/^[A-Za-z_][\w]*(\.[A-Za-z_][\w]*)*$/.test(key)) throw new EccvkitInputError('--set', text, 'a key made of names joined by dots, then =value');
  const raw = text.slice(eq + 1).trim();
  let value: unknown = raw;
  try {
    value = JSON.parse(raw);
  } catch {
    /* a bare string such as --set optimizer=adam */
  }
  return [key.split('.'), value];
}

/**
 * The config a run uses: schema defaults, then the preset, then each `--set`,
 * validated. Unknown keys and wrong types are errors naming the setting.
 */
/** Whether `experiment`'s config has a top-level key `key` (e.g. `storage`: its cells run as units of a shared storage). */
export function hasConfigKey(experiment: Experiment<BaseConfig>, key: string): boolean {
  const defaults = experiment.schema.parse({}) as unknown as Record<string, unknown>;
  return key in defaults;
}

export function resolveConfig<C extends BaseConfig>(experiment: Experiment<C>, preset: string, settings: string[] = []): C {
  if (!(PRESETS as readonly string[]).includes(preset)) throw new EccvkitInputError('--preset', preset, `one of ${PRESETS.join(', ')}`);
  const merged: Record<string, unknown> = structuredClone(experiment.presets[preset as Preset] as Record<string, unknown>);
  const defaults = experiment.schema.parse({}) as Record<string, unknown>;
  for (const s of settings) {
    const [pathParts, value] = parseSetting(s);
    let node: Record<string, unknown> = merged;
    let known: unknown = defaults;
    for (let i = 0; i < pathParts.length; i++) {
      const part = pathParts[i] as string;
      if (!isPlainObject(known) || !(part in known)) {
        throw new EccvkitInputError('--set', s, `a key of ${experiment.name}'s config: ${Object.keys(isPlainObject(known) ? known : defaults).join(', ')}`);
      }
      known = known[part];
      if (i === pathParts.length - 1) node[part] = value;
      else {
        if (!isPlainObject(node[part])) node[part] = {};
        node = node[part] as Record<string, unknown>;
      }
    }
  }
  const parsed = experiment.schema.safeParse(merged);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue?.path.join('.') ?? '';
    const received = where.split('.').reduce<unknown>((o, k) => (isPlainObject(o) ? o[k] : undefined), merged);
    // zod words its messages as "Too small: expected number to be >=1"; keep the expectation.
    const expected = (issue?.message ?? 'a valid config').replace(/^[^:]*:\s*expected\s+/i, '');
    throw new EccvkitInputError(`config ${where || '(root)'}`, received, expected);
  }
  return parsed.data;
}
