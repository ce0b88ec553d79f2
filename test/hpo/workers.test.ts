/**
 * Workers as separate processes (`eccvkit hpo run`), on SQLite and on a
 * private PostgreSQL server: two concurrent workers running 40 trials give 40
 * distinct trial numbers, each finished once; a worker killed with SIGKILL in
 * the middle of a trial has that trial failed, re-queued and finished by the
 * other worker with the same parameters; heartbeats come from a thread, so an
 * objective that blocks the event loop past the grace period is not reaped.
 * Then the command's bad-input cases, status and export.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Command } from 'commander';
import { registerHpoCommands } from '../../src/cli/hpo.js';
import { EccvkitInputError } from '../../src/errors.js';
import type { FrozenTrial } from '../../src/hpo/index.js';
import { openStudyStorage } from '../../src/hpo/storage/index.js';
import { ROOT, runCliAsync, type CliResult } from '../helpers.js';
import { postgresSkipReason, startPostgres, type PgServer } from './pg-server.js';

const OBJECTIVE = path.join(ROOT, 'test', 'hpo', 'fixtures', 'quadratic.mjs');
const FAST = ['--heartbeat', '0.2', '--grace', '1'];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function worker(storage: string, study: string, trials: number, env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  return runCliAsync(['hpo', 'run', '--objective', OBJECTIVE, '--study', study, '--storage', storage, '--trials', String(trials), ...FAST, '--json'], env);
}

function spawnWorker(storage: string, study: string, trials: number, env: NodeJS.ProcessEnv): ChildProcess {
  const args = ['--import', 'tsx', path.join(ROOT, 'src', 'cli', 'main.ts'), 'hpo', 'run', '--objective', OBJECTIVE, '--study', study, '--storage', storage, '--trials', String(trials), ...FAST, '--json'];
  return spawn(process.execPath, args, { cwd: ROOT, env: { ...process.env, ...env }, stdio: 'ignore' });
}

async function trialsOf(storage: string, study: string): Promise<FrozenTrial[]> {
  const s = await openStudyStorage(storage);
  try {
    const rec = await s.findStudy(study);
    return rec ? await s.getTrials(rec.id) : [];
  } finally {
    await s.close();
  }
}

async function until<T>(what: string, fn: () => Promise<T | undefined>): Promise<T> {
  for (let i = 0; i < 600; i++) {
    const v = await fn();
    if (v !== undefined) return v;
    await sleep(100);
  }
  throw new Error(`gave up waiting for ${what}`);
}

function parse(r: CliResult): { worker: string; trials: Array<{ number: number; state: string }> } {
  assert.equal(r.status, 0, `worker exited ${r.status}: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop() as string);
}

/** Runs `eccvkit <args>` of the hpo group in this process; returns what it printed with console.log. */
async function hpoInProcess(args: string[], env: Record<string, string> = {}): Promise<string> {
  const cli = new Command('eccvkit').exitOverride();
  registerHpoCommands(cli);
  const out: string[] = [];
  const log = console.log;
  const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
  Object.assign(process.env, env);
  console.log = (...a: unknown[]) => void out.push(a.join(' ') + '\n');
  try {
    await cli.parseAsync(['node', 'eccvkit', ...args]);
  } finally {
    console.log = log;
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
  return out.join('');
}

function distributedSuite(kind: string, url: () => string) {
  it(`${kind}: two concurrent workers running 40 trials give 40 distinct numbers, each finished once`, async () => {
    const [a, b] = await Promise.all([worker(url(), 'pair', 40, { HPO_SLEEP_MS: '40' }), worker(url(), 'pair', 40, { HPO_SLEEP_MS: '40' })]);
    const ra = parse(a);
    const rb = parse(b);
    assert.notEqual(ra.worker, rb.worker);
    const mine = [...ra.trials, ...rb.trials].map((t) => t.number).sort((x, y) => x - y);
    assert.deepEqual(mine, Array.from({ length: 40 }, (_, i) => i), 'each number run by exactly one worker');
    assert.ok(ra.trials.length > 0 && rb.trials.length > 0, `both workers ran trials (${ra.trials.length} + ${rb.trials.length})`);
    const stored = await trialsOf(url(), 'pair');
    assert.equal(stored.length, 40);
    assert.ok(stored.every((t) => t.state === 'COMPLETE' && t.value !== null));
    assert.equal(new Set(stored.map((t) => t.number)).size, 40);
    // The constant liar and per-trial streams keep the workers from proposing the same point.
    assert.equal(new Set(stored.map((t) => JSON.stringify(t.params))).size, 40);
  });

  it(`${kind}: a worker killed with SIGKILL mid-trial: its trial is failed, re-queued and finished by the other worker with the same parameters`, async () => {
    const hung = spawnWorker(url(), 'kill', 20, { HPO_HANG: '1' });
    try {
      const victim = await until('the first worker to hang in a trial', async () => (await trialsOf(url(), 'kill')).find((t) => t.userAttrs.hung === true && t.state === 'RUNNING'));
      const other = worker(url(), 'kill', 20, { HPO_SLEEP_MS: '20' });
      await until('the second worker to finish a trial', async () => ((await trialsOf(url(), 'kill')).some((t) => t.state === 'COMPLETE') ? true : undefined));
      hung.kill('SIGKILL');
      const r = parse(await other);
      const stored = await trialsOf(url(), 'kill');
      const failed = stored.find((t) => t.number === victim.number) as FrozenTrial;
      assert.equal(failed.state, 'FAIL');
      assert.match(failed.error as string, /stopped heartbeating .* re-queued with the same parameters/);
      const retry = stored.find((t) => t.retryOf === victim.number);
      assert.ok(retry, 'a retry of the killed trial exists');
      assert.equal(retry.state, 'COMPLETE');
      assert.deepEqual(retry.params, victim.params);
      assert.equal(retry.worker, r.worker, 'finished by the surviving worker');
      assert.deepEqual(retry.userAttrs, { hung: true }, "the retry starts with the killed trial's attributes (a checkpoint, say)");
      // 20 trials in the budget: 19 fresh ones and the retry, plus the failed original.
      assert.equal(stored.length, 21);
      assert.equal(stored.filter((t) => t.state === 'COMPLETE').length, 20);
      assert.equal(new Set(stored.map((t) => t.number)).size, 21);
    } finally {
      hung.kill('SIGKILL');
    }
  });
}

let dir: string;
before(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'eccvkit-hpo-workers-'));
});
after(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('workers on SQLite', () => {
  distributedSuite('sqlite', () => path.join(dir, 'eccvkit.db'));

  it('sqlite: an objective blocking the event loop longer than the grace period keeps its trial (heartbeats come from a thread)', async () => {
    const store = path.join(dir, 'block.db');
    const env = { HPO_BLOCK_MS: '1500' };
    const [a, b] = await Promise.all([worker(store, 'block', 2, env), worker(store, 'block', 2, env)]);
    parse(a);
    parse(b);
    const stored = await trialsOf(store, 'block');
    assert.deepEqual(stored.map((t) => t.state), ['COMPLETE', 'COMPLETE']);
  });
});

const pgSkip = postgresSkipReason();
if (pgSkip) console.error(`# postgres worker tests skipped: ${pgSkip}`);
describe('workers on PostgreSQL', { skip: pgSkip ?? false }, () => {
  let server: PgServer;
  before(async () => {
    server = await startPostgres();
  });
  after(() => server?.stop());
  distributedSuite('postgres', () => server.url);
});

describe('eccvkit hpo: bad input, status, export', () => {
  it('bad input: an error naming the argument, the value and what was expected (in-process), nothing written', async () => {
    const store = path.join(dir, 'bad.db');
    const base = ['hpo', 'run', '--study', 's', '--storage', store, '--trials', '2'];
    await hpoInProcess([...base, '--objective', OBJECTIVE, '--json']);
    const cases: Array<[string[], RegExp]> = [
      [[...base, '--objective', path.join(ROOT, 'test', 'hpo', 'fixtures', 'no-default.mjs')], /--objective: got ".*no-default.mjs", expected .* \(this module has no default export\)/],
      [[...base, '--objective', OBJECTIVE, '--sampler', 'bayes'], /--sampler: got "bayes", expected one of tpe, random/],
      [[...base, '--objective', OBJECTIVE, '--direction', 'maximize'], /--direction: got "maximize", expected "minimize", the direction study "s" was created with/],
      [[...base, '--objective', OBJECTIVE, '--direction', 'up'], /--direction: got "up", expected one of minimize, maximize/],
      [[...base, '--objective', OBJECTIVE, '--trials', '0'], /--trials: got "0", expected an integer ≥ 1/],
      [[...base, '--objective', OBJECTIVE, '--heartbeat', '2', '--grace', '1'], /--grace: got "1", expected more seconds than --heartbeat \(2\)/],
      [['hpo', 'status', '--study', 'nope', '--storage', store], /--study: got "nope", expected one of the studies in .*bad.db: s/],
      [['hpo', 'export', '--study', 's', '--storage', store, '--format', 'xml'], /--format: got "xml", expected csv or json/],
      [['hpo', 'status', '--study', 's', '--storage', path.join(dir, 'missing.db')], /--storage: got ".*missing.db", expected an existing study storage \(there is no file there/],
      [['hpo', 'export', '--study', 's', '--storage', `sqlite:${path.join(dir, 'missing.db')}`, '--format', 'csv'], /--storage: got ".*missing.db", expected an existing study storage/],
      [[...base.slice(0, 4), '--storage', '/proc/eccvkit/x.db', '--objective', OBJECTIVE], /--storage/],
    ];
    for (const [args, pattern] of cases) {
      const cli = new Command('eccvkit').exitOverride();
      registerHpoCommands(cli);
      await assert.rejects(cli.parseAsync(['node', 'eccvkit', ...args]), (err: unknown) => {
        assert.ok(err instanceof EccvkitInputError, `${args.join(' ')}: ${String(err)}`);
        assert.match(err.message, pattern);
        return true;
      });
    }
    assert.equal((await trialsOf(store, 's')).length, 2, 'nothing was added by the refused runs');
    assert.equal(fs.existsSync(path.join(dir, 'missing.db')), false, 'status and export did not create the missing storage');
  });

  it('bad input from the command: one line, exit 2 (a missing objective file, an unreachable PostgreSQL server)', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['hpo', 'run', '--study', 's', '--storage', 'memory:', '--objective', 'nope.mjs'], /--objective: got "nope.mjs", expected a JavaScript module .* \(no such file\)/],
      [['hpo', 'run', '--study', 's', '--objective', OBJECTIVE, '--storage', 'postgres://postgres@127.0.0.1:1/postgres'], /--storage: got "postgres:\/\/postgres@127.0.0.1:1\/postgres", expected a PostgreSQL server accepting connections at host 127.0.0.1 port 1/],
    ];
    const results = await Promise.all(cases.map(([args]) => runCliAsync(args)));
    results.forEach((r, i) => {
      const [args, pattern] = cases[i] as [string[], RegExp];
      assert.equal(r.status, 2, `${args.join(' ')} exited ${r.status}: ${r.stderr}`);
      const lines = r.stderr.trim().split('\n');
      assert.equal(lines.length, 1, `one line expected: ${r.stderr}`);
      assert.match(lines[0] as string, pattern);
    });
  });

  it('an objective that throws fails that trial with its message and the study goes on; status and export show it', async () => {
    const store = path.join(dir, 'throw.db');
    const r = JSON.parse(await hpoInProcess(['hpo', 'run', '--objective', OBJECTIVE, '--study', 't', '--storage', store, '--trials', '3', '--sampler', 'random', '--json'], { HPO_THROW_ON: '1' })) as { trials: Array<{ state: string }> };
    assert.deepEqual(r.trials.map((t) => t.state), ['COMPLETE', 'FAIL', 'COMPLETE']);
    const st = JSON.parse(await hpoInProcess(['hpo', 'status', '--study', 't', '--storage', store, '--json']));
    await hpoInProcess(['hpo', 'export', '--study', 't', '--storage', store, '--format', 'csv', '--out', path.join(dir, 't.csv')]);
    await hpoInProcess(['hpo', 'export', '--study', 't', '--storage', store, '--format', 'json', '--out', path.join(dir, 't.json')]);
    const csv = { stdout: fs.readFileSync(path.join(dir, 't.csv'), 'utf8') };
    const json = { stdout: fs.readFileSync(path.join(dir, 't.json'), 'utf8') };
    const text = await hpoInProcess(['hpo', 'status', '--study', 't', '--storage', store]);
    assert.match(text, /study t \(minimize\) in .*throw.db: 3 trials \(2 COMPLETE, 1 FAIL\)/);
    assert.match(text, /trial 1 FAIL x=.* c=.*: boom in trial 1/);
    assert.deepEqual(st.counts, { COMPLETE: 2, FAIL: 1 });
    assert.equal(st.trials[1].error, 'boom in trial 1');
    assert.ok(st.best.number === 0 || st.best.number === 2);
    const lines = csv.stdout.trim().split('\n');
    assert.equal(lines[0], 'number,state,value,param_x,param_c,worker,started_at,finished_at,retry_of,error');
    assert.equal(lines.length, 4);
    assert.match(lines[2] as string, /^1,FAIL,,.*,boom in trial 1$/);
    assert.equal(JSON.parse(json.stdout).trials.length, 3);
  });
});
