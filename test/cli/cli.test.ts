/**
 * The `eccvkit` command end to end, from source: help, bad input (exit 2, one
 * line, store untouched), a small real mnist-baseline run, skip on re-run,
 * resume after a kill, the report, doctor.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { RunStore } from '../../src/store/index.js';
import { runCli as eccvkit } from '../helpers.js';

const root = path.resolve(import.meta.dirname, '..', '..');
const cliArgs = ['--import', 'tsx', path.join(root, 'src', 'cli', 'main.ts')];
const SMALL = ['--set', 'epochs=2', '--set', 'trainSize=600', '--set', 'logEvery=5'];

describe('eccvkit CLI', () => {
  let dir: string;
  let store: string;
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'eccvkit-cli-'));
    store = path.join(dir, 'eccvkit.db');
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('--help lists every command, and each command has --help', () => {
    const r = eccvkit(['--help']);
    assert.equal(r.status, 0);
    for (const c of ['run', 'reproduce', 'runs', 'report', 'doctor', 'experiments']) {
      assert.match(r.stdout, new RegExp(`\\b${c}\\b`), `--help lacks ${c}`);
      const sub = eccvkit([c, '--help']);
      assert.equal(sub.status, 0, `${c} --help`);
      assert.match(sub.stdout, /Usage: eccvkit/);
    }
  });

  it('bad input: one clear line, exit 2, nothing written to the store', () => {
    const cases: Array<[string[], RegExp]> = [
      [['run', 'no-such-experiment', '--store', store], /experiment: got "no-such-experiment", expected one of mnist-baseline/],
      [['run', 'mnist-baseline', '--preset', 'medium', '--store', store], /--preset: got "medium", expected one of quick, full/],
      [['run', 'mnist-baseline', '--set', 'epochz=3', '--store', store], /--set: got "epochz=3", expected a key of mnist-baseline's config/],
      [['run', 'mnist-baseline', '--set', 'epochs', '--store', store], /--set: got "epochs", expected key=value/],
      [['run', 'mnist-baseline', '--set', 'epochs=0', '--store', store], /config epochs: got 0, expected number to be >=1/],
      [['reproduce', '--preset', 'huge', '--store', store], /--preset: got "huge"/],
    ];
    const notADb = path.join(dir, 'not-a-db.sqlite');
    fs.writeFileSync(notADb, 'hello, this is not SQLite'.repeat(10));
    cases.push(
      [['runs', '--store', notADb], /--store: got ".*not-a-db.sqlite", expected an SQLite run store file \(this file is not an SQLite database\)/],
      [['runs', '--store', dir], /--store: got ".*", expected an SQLite run store file \(this is a folder\)/],
      [['bogus'], /unknown command 'bogus'/],
      [['run', 'mnist-baseline', '--backend', 'gpu', '--store', store], /argument 'gpu' is invalid/],
    );
    for (const [args, pattern] of cases) {
      const r = eccvkit(args);
      assert.equal(r.status, 2, `${args.join(' ')} exited ${r.status}: ${r.stderr}`);
      const lines = r.stderr.trim().split('\n');
      assert.equal(lines.length, 1, `expected one line, got: ${r.stderr}`);
      assert.match(lines[0] as string, pattern);
    }
    const s = RunStore.open(store);
    assert.equal(s.listRuns().length, 0, 'bad input created runs');
    s.close();
  });

  it('runs mnist-baseline, stores it, and skips it the second time', () => {
    const r = eccvkit(['run', 'mnist-baseline', ...SMALL, '--store', store, '--json']);
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout.trim().split('\n').pop() as string) as { status: string; run: number; metrics: Record<string, number> };
    assert.equal(out.status, 'finished');
    assert.ok((out.metrics.test_accuracy as number) > 0.5, `accuracy ${out.metrics.test_accuracy} after a short run`);
    assert.equal(out.metrics.steps, 2 * Math.ceil(600 / 64));
    const again = eccvkit(['run', 'mnist-baseline', ...SMALL, '--store', store, '--json']);
    assert.equal(again.status, 0, again.stderr);
    const second = JSON.parse(again.stdout.trim().split('\n').pop() as string) as { status: string; run: number };
    assert.equal(second.status, 'skipped');
    assert.equal(second.run, out.run);
    const s = RunStore.open(store);
    const run = s.getRun(out.run);
    assert.equal(run?.status, 'finished');
    assert.ok(s.metrics(out.run, 'train_loss').length >= 4);
    assert.deepEqual(
      s.artifacts(out.run).map((a) => a.name).sort(),
      ['misclassified', 'misclassified-labels', 'model'],
    );
    s.close();
  });

  it('a run killed after its first checkpoint resumes from it', async () => {
    const args = ['run', 'mnist-baseline', '--set', 'epochs=3', '--set', 'trainSize=600', '--store', store];
    const child = spawn(process.execPath, [...cliArgs, ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    // Wait until the first epoch's checkpoint has been recorded, then kill hard.
    const deadline = Date.now() + 120_000;
    let killedAtStep = -1;
    while (Date.now() < deadline && child.exitCode === null) {
      await new Promise((r) => setTimeout(r, 200));
      if (!/epoch 1: test accuracy/.test(stderr)) continue;
      const s = RunStore.open(store);
      const run = s.listRuns({ experiment: 'mnist-baseline', status: 'running' })[0];
      const ckpt = run ? s.latestCheckpoint(run.id) : undefined;
      s.close();
      if (ckpt) {
        child.kill('SIGKILL');
        killedAtStep = ckpt.step;
        break;
      }
    }
    await new Promise((r) => child.once('exit', r));
    assert.ok(killedAtStep > 0, `never saw a checkpoint before the run ended: ${stderr}`);

    const r = eccvkit([...args, '--json']);
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout.trim().split('\n').pop() as string) as { status: string; run: number; metrics: Record<string, number> };
    assert.equal(out.status, 'resumed');
    assert.match(r.stderr, new RegExp(`resuming run ${out.run} from step ${killedAtStep}`));
    assert.equal(out.metrics.steps, 3 * Math.ceil(600 / 64));
    const s = RunStore.open(store);
    assert.equal(s.getRun(out.run)?.status, 'finished');
    // The epoch-1 evaluation was logged once before the kill; resumed epochs add theirs.
    assert.deepEqual(s.metrics(out.run, 'epoch').map((p) => p.value), [1, 2, 3]);
    const resumedLoss = s.metrics(out.run, 'train_loss').map((p) => p.value);
    s.close();

    // The resumed run ends exactly where an uninterrupted one does.
    const otherStore = path.join(dir, 'uninterrupted.db');
    const straight = eccvkit([...args.slice(0, -1), otherStore, '--json']);
    assert.equal(straight.status, 0, straight.stderr);
    const ref = JSON.parse(straight.stdout.trim().split('\n').pop() as string) as { run: number; metrics: Record<string, number> };
    for (const key of ['test_accuracy', 'test_loss', 'steps']) assert.equal(out.metrics[key], ref.metrics[key], key);
    assert.ok(Math.abs((out.metrics.ms_per_step as number) / (ref.metrics.ms_per_step as number) - 1) < 1.5, 'ms_per_step counts every step');
    const o = RunStore.open(otherStore);
    assert.deepEqual(resumedLoss, o.metrics(ref.run, 'train_loss').map((p) => p.value));
    o.close();
  });

  it('--force starts a failed run over instead of resuming it', () => {
    const s = RunStore.open(store);
    const failed = s.createRun({ experiment: 'mnist-baseline', preset: 'quick', config: { broken: true }, seed: 0, backend: 'wasm' });
    s.finishRun(failed.id, 'failed', 'simulated');
    s.close();
    const r = eccvkit(['run', 'mnist-baseline', '--set', 'epochs=1', '--set', 'trainSize=200', '--store', store, '--force', '--json']);
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout.trim().split('\n').pop() as string) as { status: string; run: number };
    assert.equal(out.status, 'finished');
    assert.ok(out.run > failed.id);
  });

  it('report writes one self-contained HTML page with the stored run', () => {
    const file = path.join(dir, 'report.html');
    const r = eccvkit(['report', '--store', store, '--out', file]);
    assert.equal(r.status, 0, r.stderr);
    const html = fs.readFileSync(file, 'utf8');
    assert.match(html, /<h2[^>]*>MNIST baseline/);
    assert.match(html, /test accuracy/);
    assert.match(html, /<svg/);
    assert.match(html, /data:image\/png;base64,/);
    assert.doesNotMatch(html, /<script|<link/);
  });

  it('runs lists the stored runs; doctor reports backend, kernels, datasets and store', () => {
    const runs = JSON.parse(eccvkit(['runs', '--store', store, '--json']).stdout) as Array<{ experiment: string; status: string }>;
    assert.ok(runs.every((x) => x.experiment === 'mnist-baseline'));
    assert.deepEqual([...new Set(runs.map((x) => x.status))].sort(), ['failed', 'finished']);
    assert.ok(runs.filter((x) => x.status === 'finished').length >= 3);
    const r = eccvkit(['doctor', '--store', store, '--json']);
    assert.equal(r.status, 0, r.stderr);
    const d = JSON.parse(r.stdout) as { backend: string; patchedKernels: Array<{ kernel: string }>; datasets: { mnistDigits: { available: boolean } }; store: { runs: number } };
    assert.ok(['tensorflow', 'native', 'wasm', 'cpu'].includes(d.backend));
    if (d.backend === 'wasm' || d.backend === 'native') assert.ok(d.patchedKernels.some((k) => k.kernel === 'Conv2DBackpropFilter'));
    assert.equal(d.datasets.mnistDigits.available, true);
    assert.equal(d.store.runs, runs.length);
  });

  it('doctor says why the native backend was passed over, and how to get it', () => {
    const r = eccvkit(['doctor', '--store', store], { ECCVKIT_NATIVE: '0', ECCVKIT_BACKEND: '' });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /backend: wasm/);
    assert.match(r.stdout, /passed over native: disabled by ECCVKIT_NATIVE=0/);
  });
});
