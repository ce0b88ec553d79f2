/**
 * `eccvkit worker --storage URL [--experiment NAME] [--idle-exit]`: pulls
 * experiment units (`…/units` studies of the hpo storage, enqueued by
 * `eccvkit run <experiment> --storage URL`) until none are left, on any
 * number of machines. Units are claimed atomically, heartbeated while they
 * run, and re-queued when their worker dies (see `hpo/units.ts`).
 */
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Command } from 'commander';
import { EccvkitInputError, check } from '../errors.js';
import { listExperiments } from '../experiments/index.js';
import { nodeWorkerId, openStudyStorage } from '../hpo/storage/index.js';
import { registerUnitKind, runWorker, unitKinds, type UnitFunction, type UnitOutcome } from '../hpo/units.js';
import { integerOption, positiveOption } from './options.js';
import { COMMAND_DESCRIPTIONS } from './groups.js';

const UNITS_EXPECTED = 'a JavaScript module whose default export maps unit kind names to functions (args, ctx) => JSON';

/** Registers the unit kinds of a module whose default export is `{ kind: fn, … }`. */
export async function loadUnitModule(file: string): Promise<string[]> {
  const abs = path.resolve(file);
  check(fs.existsSync(abs) && fs.statSync(abs).isFile(), '--units', file, `${UNITS_EXPECTED} (no such file)`);
  const mod = (await import(pathToFileURL(abs).href)) as { default?: unknown };
  const kinds = mod.default;
  check(kinds !== null && typeof kinds === 'object' && Object.values(kinds).every((f) => typeof f === 'function'), '--units', file, UNITS_EXPECTED);
  for (const [name, fn] of Object.entries(kinds as Record<string, UnitFunction>)) registerUnitKind(name, fn);
  return Object.keys(kinds as object);
}

/** Adds the `worker` command. */
export function registerWorkerCommand(cli: Command): void {
  cli
    .command('worker')
    .description(COMMAND_DESCRIPTIONS.worker)
    .requiredOption('--storage <url>', 'the storage the coordinating run enqueued its units in: postgres://user@host:port/db, sqlite:FILE or a file')
    .option('--experiment <name>', 'only units of this experiment')
    .option('--idle-exit', 'exit as soon as no unit is waiting (default: keep polling for new units)', false)
    .option('--units <file>', 'a module registering more unit kinds (default export { kind: fn })')
    .option('--poll <s>', 'seconds between polls while nothing is waiting', '2')
    .option('--heartbeat <s>', 'seconds between heartbeats of a running unit', '5')
    .option('--grace <s>', "a running unit whose heartbeat is older than this is failed and re-queued (default 2 × --heartbeat)")
    .option('--retries <n>', "times a dead worker's unit is re-queued", '3')
    .option('--json', 'print the units this worker ran as JSON', false)
    .action(
      async (opts: { storage: string; experiment?: string; idleExit: boolean; units?: string; poll: string; heartbeat: string; grace?: string; retries: string; json: boolean }) => {
        const names = listExperiments().map((e) => e.name);
        if (opts.experiment !== undefined) check(names.includes(opts.experiment), '--experiment', opts.experiment, `one of ${names.join(', ')}`);
        const pollS = positiveOption(opts.poll, '--poll');
        const heartbeatIntervalS = positiveOption(opts.heartbeat, '--heartbeat');
        const gracePeriodS = opts.grace === undefined ? 2 * heartbeatIntervalS : positiveOption(opts.grace, '--grace');
        check(gracePeriodS > heartbeatIntervalS, '--grace', opts.grace, `more seconds than --heartbeat (${heartbeatIntervalS})`);
        const maxRetries = integerOption(opts.retries, '--retries', 0);
        if (opts.units !== undefined) await loadUnitModule(opts.units);
        if (unitKinds().length === 0) throw new EccvkitInputError('--units', opts.units, 'a module registering at least one unit kind (none is registered)');
        const storage = await openStudyStorage(opts.storage, { heartbeatIntervalS, gracePeriodS, maxRetries });
        const worker = storage.defaultWorkerId?.() ?? nodeWorkerId();
        const abort = new AbortController();
        const onSignal = () => abort.abort();
        process.once('SIGINT', onSignal);
        process.once('SIGTERM', onSignal);
        try {
          if (!opts.json) console.error(`worker ${worker} on ${storage.description}${opts.experiment ? `, experiment ${opts.experiment}` : ''}`);
          const ran: UnitOutcome[] = await runWorker(storage, {
            worker,
            idleExit: opts.idleExit,
            pollS,
            signal: abort.signal,
            ...(opts.experiment !== undefined ? { experiment: opts.experiment } : {}),
            onUnit: (u) => {
              if (!opts.json) console.error(`${u.study} ${u.key}: ${u.state} in ${u.seconds.toFixed(1)} s${u.error ? `: ${u.error}` : ''}`);
            },
            log: (m) => {
              if (!opts.json) console.error(m);
            },
          });
          if (opts.json) console.log(JSON.stringify({ worker, storage: storage.description, units: ran }));
          else console.log(`worker ${worker}: ran ${ran.length} units (${ran.filter((u) => u.state === 'FAIL').length} failed)`);
          if (ran.some((u) => u.state === 'FAIL')) process.exitCode = 1;
        } finally {
          process.off('SIGINT', onSignal);
          process.off('SIGTERM', onSignal);
          await storage.close();
        }
      },
    );
}
