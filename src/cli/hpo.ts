/**
 * `eccvkit hpo run | status | export`: hyperparameter studies from the
 * command line. `run` is a worker: any number of them, on any machines, with
 * the same `--study` and `--storage` share one study until its trial budget
 * is spent. The objective is a JavaScript module whose default export is
 * `async (trial) => number`.
 */
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Command } from 'commander';
import { EccvkitInputError, check } from '../errors.js';
import { createStudy, makeSampler, SAMPLER_NAMES, STUDY_DIRECTIONS, type FrozenTrial, type StudyDirection, type StudyStorage, type Trial } from '../hpo/index.js';
import { openStudyStorage, sqliteStoragePath, type StudyStorageOptions } from '../hpo/storage/index.js';
import { checkWritablePath } from '../node/fs.js';
import { DEFAULT_STORE_PATH } from '../store/index.js';
import { integerOption, positiveOption } from './options.js';
import { COMMAND_DESCRIPTIONS } from './groups.js';

type Objective = (trial: Trial) => number | Promise<number>;

const OBJECTIVE_EXPECTED = 'a JavaScript module (.mjs or .js) whose default export is async (trial) => number';

/** Loads the objective module's default export. */
export async function loadObjective(file: string): Promise<Objective> {
  const abs = path.resolve(file);
  check(fs.existsSync(abs) && fs.statSync(abs).isFile(), '--objective', file, `${OBJECTIVE_EXPECTED} (no such file)`);
  let mod: { default?: unknown };
  try {
    mod = (await import(pathToFileURL(abs).href)) as { default?: unknown };
  } catch (err) {
    throw new EccvkitInputError('--objective', file, `${OBJECTIVE_EXPECTED} (it failed to load: ${err instanceof Error ? err.message.split('\n')[0] : String(err)})`);
  }
  check(mod.default !== undefined, '--objective', file, `${OBJECTIVE_EXPECTED} (this module has no default export)`);
  check(typeof mod.default === 'function', '--objective', file, `${OBJECTIVE_EXPECTED} (its default export is a ${typeof mod.default})`);
  return mod.default as Objective;
}

function storageOptions(o: { heartbeat: string; grace?: string; retries: string }): StudyStorageOptions {
  const heartbeatIntervalS = positiveOption(o.heartbeat, '--heartbeat');
  const gracePeriodS = o.grace === undefined ? 2 * heartbeatIntervalS : positiveOption(o.grace, '--grace');
  check(gracePeriodS > heartbeatIntervalS, '--grace', o.grace, `more seconds than --heartbeat (${heartbeatIntervalS})`);
  return { heartbeatIntervalS, gracePeriodS, maxRetries: integerOption(o.retries, '--retries', 0) };
}

/** A reading command's SQLite storage must exist: opening a missing one would create an empty file. */
function requireStorageFile(url: string | undefined): void {
  const file = sqliteStoragePath(url);
  if (file !== undefined && !fs.existsSync(file)) throw new EccvkitInputError('--storage', path.resolve(file), 'an existing study storage (there is no file there; start a study with eccvkit hpo run)');
}

async function requireStudy(storage: StudyStorage, name: string): Promise<{ id: number; name: string; direction: StudyDirection }> {
  const s = await storage.findStudy(name);
  if (s) return s;
  const names = (await storage.listStudies()).map((x) => x.name);
  throw new EccvkitInputError('--study', name, names.length ? `one of the studies in ${storage.description}: ${names.join(', ')}` : `a study in ${storage.description} (it has none yet; start one with eccvkit hpo run)`);
}

function fmt(v: unknown): string {
  if (typeof v === 'number') return String(Number(v.toPrecision(6)));
  return JSON.stringify(v);
}

function paramsText(p: Record<string, unknown>): string {
  return Object.entries(p)
    .map(([k, v]) => `${k}=${fmt(v)}`)
    .join(' ');
}

function trialLine(t: FrozenTrial): string {
  const value = t.state === 'COMPLETE' ? ` value ${fmt(t.value)}` : '';
  const retry = t.retryOf !== null ? ` (retry of ${t.retryOf})` : '';
  const err = t.error ? `: ${t.error}` : '';
  return `trial ${t.number} ${t.state}${value}${retry} ${paramsText(t.params)}${err}`;
}

/** Plain JSON of a trial for `--json` and `export --format json`. */
function trialJson(t: FrozenTrial): Record<string, unknown> {
  return {
    number: t.number,
    state: t.state,
    value: t.value,
    params: t.params,
    intermediateValues: t.intermediateValues.map((v) => ({ step: v.step, value: Number.isFinite(v.value) ? v.value : null })),
    worker: t.worker,
    startedAt: t.startedAt,
    finishedAt: t.finishedAt,
    heartbeatAgeS: t.heartbeatAgeS,
    error: t.error,
    retryOf: t.retryOf,
    retries: t.retries,
    userAttrs: t.userAttrs,
  };
}

function csvCell(v: unknown): string {
  if (v === null || v === undefined) return '';
  const s = typeof v === 'string' ? v : typeof v === 'number' ? String(v) : JSON.stringify(v);
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** The trials as CSV: one row per trial, one `param_<name>` column per parameter seen. */
export function trialsCsv(trials: readonly FrozenTrial[]): string {
  const names: string[] = [];
  for (const t of trials) for (const k of Object.keys(t.params)) if (!names.includes(k)) names.push(k);
  const head = ['number', 'state', 'value', ...names.map((n) => `param_${n}`), 'worker', 'started_at', 'finished_at', 'retry_of', 'error'];
  const rows = trials.map((t) => [t.number, t.state, t.value, ...names.map((n) => t.params[n]), t.worker, t.startedAt, t.finishedAt, t.retryOf, t.error].map(csvCell).join(','));
  return [head.join(','), ...rows].join('\n') + '\n';
}

const STORAGE_HELP = `study storage: postgres://user@host:port/db (several machines), sqlite:FILE or a file (default ${DEFAULT_STORE_PATH}, the run store), memory:`;

/** Adds the `hpo` command group. */
export function registerHpoCommands(cli: Command): void {
  const group = cli.command('hpo').description(COMMAND_DESCRIPTIONS.hpo);

  group
    .command('run')
    .description('run trials of a study as one worker until the study has --trials trials (start more workers with the same --study and --storage to share the work)')
    .requiredOption('--objective <file>', 'JavaScript module whose default export is async (trial) => number')
    .requiredOption('--study <name>', 'study name (workers with the same name and storage share it)')
    .option('--storage <url>', STORAGE_HELP)
    .option('--trials <n>', "the study's trial budget, over all workers", '100')
    .option('--timeout <s>', 'start no new trial after this many seconds')
    .option('--sampler <name>', `${SAMPLER_NAMES.join(' or ')}`, 'tpe')
    .option('--direction <d>', `${STUDY_DIRECTIONS.join(' or ')}`, 'minimize')
    .option('--seed <n>', 'sampler seed (the same seed gives the same suggestions)', '0')
    .option('--heartbeat <s>', 'seconds between heartbeats of a running trial', '5')
    .option('--grace <s>', 'a running trial whose heartbeat is older than this is failed and re-queued (default 2 × --heartbeat)')
    .option('--retries <n>', 'times a trial of a dead worker is re-queued', '3')
    .option('--json', 'print the result as JSON', false)
    .action(
      async (opts: {
        objective: string;
        study: string;
        storage?: string;
        trials: string;
        timeout?: string;
        sampler: string;
        direction: string;
        seed: string;
        heartbeat: string;
        grace?: string;
        retries: string;
        json: boolean;
      }) => {
        // Every option is checked before anything is opened or written.
        const trials = integerOption(opts.trials, '--trials', 1);
        const timeoutS = opts.timeout === undefined ? undefined : positiveOption(opts.timeout, '--timeout');
        const seed = integerOption(opts.seed, '--seed', 0);
        check((STUDY_DIRECTIONS as readonly string[]).includes(opts.direction), '--direction', opts.direction, `one of ${STUDY_DIRECTIONS.join(', ')}`);
        const sampler = makeSampler(opts.sampler, seed, '--sampler');
        const file = sqliteStoragePath(opts.storage);
        if (file !== undefined) checkWritablePath(file, 'file', '--storage');
        const so = storageOptions(opts);
        const objective = await loadObjective(opts.objective);
        const storage = await openStudyStorage(opts.storage, so);
        try {
          let study;
          try {
            study = await createStudy({ name: opts.study, storage, direction: opts.direction as StudyDirection, sampler, seed });
          } catch (err) {
            if (err instanceof EccvkitInputError && err.argument === 'direction') throw new EccvkitInputError('--direction', opts.direction, err.expected);
            throw err;
          }
          const result = await study.optimize(objective, {
            trials,
            ...(timeoutS === undefined ? {} : { timeoutS }),
            onTrial: (t) => {
              if (!opts.json) console.error(trialLine(t));
            },
          });
          const all = await study.trials();
          const out = {
            study: study.name,
            storage: storage.description,
            worker: study.worker,
            direction: study.direction,
            sampler: sampler.name,
            seed,
            trials: result.trials.map(trialJson),
            studyTrials: all.length,
            best: result.best ?? null,
          };
          if (opts.json) console.log(JSON.stringify(out));
          else {
            console.log(`${study.name}: this worker ran ${result.trials.length} trials; the study has ${all.length}`);
            console.log(result.best ? `best: trial ${result.best.number} value ${fmt(result.best.value)} ${paramsText(result.best.params)}` : 'best: none completed yet');
          }
        } finally {
          await storage.close();
        }
      },
    );

  group
    .command('status')
    .description('trials of a study with state, parameters and value, the best, and what is running where')
    .requiredOption('--study <name>', 'study name')
    .option('--storage <url>', STORAGE_HELP)
    .option('--json', 'print as JSON', false)
    .action(async (opts: { study: string; storage?: string; json: boolean }) => {
      requireStorageFile(opts.storage);
      const storage = await openStudyStorage(opts.storage);
      try {
        const s = await requireStudy(storage, opts.study);
        const study = await createStudy({ name: s.name, storage, direction: s.direction });
        const trials = await study.trials();
        const counts: Record<string, number> = {};
        for (const t of trials) counts[t.state] = (counts[t.state] ?? 0) + 1;
        const running = trials.filter((t) => t.state === 'RUNNING').map((t) => ({ number: t.number, worker: t.worker, startedAt: t.startedAt, heartbeatAgeS: t.heartbeatAgeS }));
        if (opts.json) {
          console.log(JSON.stringify({ study: s.name, storage: storage.description, direction: s.direction, counts, best: study.best ?? null, running, trials: trials.map(trialJson) }));
          return;
        }
        console.log(`study ${s.name} (${s.direction}) in ${storage.description}: ${trials.length} trials (${Object.entries(counts).map(([k, v]) => `${v} ${k}`).join(', ') || 'none'})`);
        for (const t of trials) console.log(`  ${trialLine(t)}`);
        const best = study.best;
        console.log(best ? `best: trial ${best.number} value ${fmt(best.value)} ${paramsText(best.params)}` : 'best: none completed yet');
        for (const r of running) console.log(`running: trial ${r.number} on ${r.worker}${r.heartbeatAgeS !== null ? ` (heartbeat ${r.heartbeatAgeS.toFixed(1)} s ago)` : ''}`);
      } finally {
        await storage.close();
      }
    });

  group
    .command('export')
    .description('every trial of a study as CSV (one param_<name> column per parameter) or JSON')
    .requiredOption('--study <name>', 'study name')
    .option('--storage <url>', STORAGE_HELP)
    .option('--format <f>', 'csv or json', 'csv')
    .option('--out <file>', 'write here instead of standard output')
    .action(async (opts: { study: string; storage?: string; format: string; out?: string }) => {
      check(opts.format === 'csv' || opts.format === 'json', '--format', opts.format, 'csv or json');
      requireStorageFile(opts.storage);
      const storage = await openStudyStorage(opts.storage);
      try {
        const s = await requireStudy(storage, opts.study);
        const trials = await storage.getTrials(s.id);
        const text = opts.format === 'csv' ? trialsCsv(trials) : JSON.stringify({ study: s.name, direction: s.direction, trials: trials.map(trialJson) }, null, 2) + '\n';
        if (opts.out) fs.writeFileSync(opts.out, text);
        else process.stdout.write(text);
      } finally {
        await storage.close();
      }
    });
}
