/**
 * Runs a registered experiment against the run store: resolves its config,
 * skips it when an identical run has finished, resumes it from its last
 * checkpoint when an identical run was interrupted, and records the outcome.
 */
import { createRng, initEngine, type BackendName } from '../engine/index.js';
import { hashConfig, type RunRecord, type RunStore } from '../store/index.js';
import { getExperiment, resolveConfig, silentProgress, type ExperimentContext, type ProgressReporter } from './registry.js';

export interface RunOptions {
  preset?: string;
  /** `key=value` overrides, as given to `--set`. */
  settings?: string[];
  store: RunStore;
  progress?: ProgressReporter;
  backend?: BackendName;
  /** Start a new run even when an identical run has finished, was interrupted or failed. */
  force?: boolean;
}

export interface RunOutcome {
  run: RunRecord;
  /** `skipped`: an identical run had finished; `resumed`: continued an interrupted run. */
  status: 'finished' | 'skipped' | 'resumed';
  metrics: Record<string, number | string>;
}

/** The run that should be resumed or skipped for this config, if any. */
function previousRun(store: RunStore, experiment: string, configHash: string): RunRecord | undefined {
  return store.findRun({ experiment, configHash, status: ['finished', 'interrupted', 'failed'] });
}

/**
 * Runs `name` and returns its stored record. Runs with the same experiment and
 * config hash are the same run: finished ones are skipped (unless `force`),
 * interrupted or failed ones are resumed from their newest checkpoint.
 */
export async function runExperiment(name: string, options: RunOptions): Promise<RunOutcome> {
  const experiment = getExperiment(name);
  const preset = options.preset ?? 'quick';
  const config = resolveConfig(experiment, preset, options.settings ?? []);
  const configHash = hashConfig(config);
  const { store } = options;
  const progress = options.progress ?? silentProgress;
  store.markStaleRuns();

  const previous = previousRun(store, name, configHash);
  if (previous?.status === 'finished' && !options.force) {
    return { run: previous, status: 'skipped', metrics: store.finalMetrics(previous.id) };
  }
  const engine = await initEngine(options.backend ? { backend: options.backend } : {});
  // force starts over even from an interrupted or failed run (e.g. one whose checkpoint is damaged).
  const resuming = !options.force && previous !== undefined && previous.status !== 'finished';
  const run = resuming
    ? store.resumeRun(previous.id)
    : store.createRun({ experiment: name, preset, config: config as unknown as Record<string, unknown>, seed: config.seed, backend: engine.backend });
  const resumeFrom = resuming ? store.latestCheckpoint(run.id) : undefined;
  progress.log(`${name}: run ${run.id} on the ${engine.backend} backend`);
  if (resuming) progress.log(`${name}: resuming run ${run.id}${resumeFrom ? ` from step ${resumeFrom.step}` : ' from the start (no checkpoint)'}`);

  const ctx: ExperimentContext = {
    store,
    run,
    rng: createRng(config.seed),
    engine,
    progress,
    resumeFrom,
    logMetrics: (step, values) => store.logMetrics(run.id, step, values),
    saveCheckpoint: (step, write, meta) => store.saveCheckpoint(run.id, step, write, meta),
    addArtifact: (artifactName, kind, file) => {
      store.addArtifact(run.id, { name: artifactName, kind, path: file });
    },
  };
  try {
    const metrics = await experiment.run(config, ctx);
    store.setFinalMetrics(run.id, { ...metrics, backend: engine.backend });
    store.finishRun(run.id, 'finished');
    return { run: store.getRun(run.id) as RunRecord, status: resuming ? 'resumed' : 'finished', metrics: store.finalMetrics(run.id) };
  } catch (err) {
    store.finishRun(run.id, 'failed', err instanceof Error ? err.message : String(err));
    if (resuming) progress.log(`${name}: run ${run.id} failed while resuming; --force starts it over`);
    throw err;
  } finally {
    progress.stop();
  }
}
