/**
 * The command line of the first ten minutes: global options before or after
 * the sub-command; every output path checked before any work (including a
 * path under /proc, where Node 20's recursive mkdir spins forever); a store
 * that is not an eccvkit store, or is damaged; a report from a missing or
 * empty store. Each bad input: one clear line, exit 2, nothing written.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { checkWritablePath, makeDirs } from '../../src/node/fs.js';
import { RunStore } from '../../src/store/index.js';
import { runCli as eccvkit, throwsInput } from '../helpers.js';

/** Asserts exit 2 with exactly one stderr line matching `pattern`. */
function refused(args: string[], pattern: RegExp): void {
  const r = eccvkit(args);
  assert.equal(r.status, 2, `${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, `expected one line, got: ${r.stderr}`);
  assert.match(lines[0] as string, pattern);
}

/** Every file under `dir`, relative, sorted. */
function tree(dir: string): string[] {
  return (fs.readdirSync(dir, { recursive: true }) as string[]).sort();
}

describe('global options, output paths and stores', () => {
  let dir: string;
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'eccvkit-globals-'));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('--backend and --json work before the sub-command as after it', () => {
    for (const args of [
      ['--backend', 'cpu', '--json', 'doctor'],
      ['doctor', '--backend', 'cpu', '--json'],
      ['--backend', 'cpu', 'doctor', '--json'],
    ]) {
      const r = eccvkit([...args, '--store', path.join(dir, 'none.db')]);
      assert.equal(r.status, 0, `${args.join(' ')}: ${r.stderr}`);
      assert.equal((JSON.parse(r.stdout) as { backend: string }).backend, 'cpu', args.join(' '));
    }
    assert.ok(!fs.existsSync(path.join(dir, 'none.db')), 'doctor created a store');
  });

  it('--store before the sub-command is the sub-command\'s store; runs on a missing store creates nothing', () => {
    const file = path.join(dir, 'missing', 'eccvkit.db');
    const r = eccvkit(['--store', file, '--json', 'runs']);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), []);
    assert.ok(!fs.existsSync(path.dirname(file)));
  });

  it('a global option the sub-command does not take is refused, naming both', () => {
    refused(['--backend', 'cpu', 'experiments'], /^eccvkit: --backend: got "cpu", expected a command that takes --backend \(`eccvkit experiments` does not\)$/);
    refused(['--backend', 'gpu', 'doctor'], /argument 'gpu' is invalid/);
  });

  it('output paths: under /proc, through a file, or a folder given for a file fail at once, before any work', () => {
    const before = tree(dir);
    refused(['gan', 'train', '--out', '/proc/eccvkit-x', '--steps', '2'], /^eccvkit: --out: got "\/proc\/eccvkit-x", expected a folder path that eccvkit can create and write \(creating anything in \/proc fails: E[A-Z]+\)$/);
    refused(['--store', '/proc/eccvkit-x/eccvkit.db', 'run', 'mnist-baseline'], /^eccvkit: --store: got "\/proc\/eccvkit-x\/eccvkit.db", expected a file path that eccvkit can create and write \(creating anything in \/proc fails/);
    const aFile = path.join(dir, 'a-file');
    fs.writeFileSync(aFile, 'x');
    refused(['embed', '--model', path.join(dir, 'no-model'), '--images', path.join(dir, 'no-images'), '--out', path.join(aFile, 'features.npy')], /^eccvkit: --out: got ".*a-file\/features.npy", expected a file path that eccvkit can create \(a part of it is a file, not a folder\)$/);
    refused(['reproduce', '--store', path.join(dir, 'r.db'), '--out', dir], /^eccvkit: --out: got ".*", expected a file path \(this is a folder\)$/);
    assert.deepEqual(tree(dir), [...before, 'a-file'].sort(), 'a refused command wrote something');
  });

  it('checkWritablePath and makeDirs: /proc refused with an error, a normal deep path accepted without creating it', () => {
    throwsInput(() => checkWritablePath('/proc/eccvkit-x/y', 'dir', '--out'), '--out', '/proc');
    assert.throws(() => makeDirs('/proc/eccvkit-x/y'), (err: NodeJS.ErrnoException) => typeof err.code === 'string');
    const deep = path.join(dir, 'deep', 'er', 'out');
    checkWritablePath(deep, 'dir', '--out');
    assert.ok(!fs.existsSync(path.join(dir, 'deep')), 'the check created the folder');
    assert.ok(!tree(dir).some((f) => f.includes('.eccvkit-probe-')), 'the probe was left behind');
    makeDirs(deep);
    assert.ok(fs.statSync(deep).isDirectory());
  });

  it('a store that is not an eccvkit store, or is damaged, is refused unchanged', () => {
    const garbage = path.join(dir, 'garbage.db');
    fs.writeFileSync(garbage, 'hello, this is not SQLite'.repeat(40));
    const other = path.join(dir, 'other.db');
    const db = new Database(other);
    db.exec("CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT); INSERT INTO customers (name) VALUES ('ada')");
    db.close();
    // A real store with a page in its middle overwritten.
    const good = path.join(dir, 'good.db');
    const s = RunStore.open(good);
    for (let i = 0; i < 20; i++) s.createRun({ experiment: 'mnist-baseline', preset: 'quick', config: { seed: i, pad: 'x'.repeat(2000) }, seed: i, backend: 'cpu' });
    s.close();
    const bytes = fs.readFileSync(good);
    const damaged = path.join(dir, 'damaged.db');
    fs.writeFileSync(damaged, Buffer.concat([bytes.subarray(0, 4096), Buffer.alloc(8192, 0x5a), bytes.subarray(4096 + 8192)]));
    const cases: Array<[string, RegExp]> = [
      [garbage, /expected an SQLite run store file \(this file is not an SQLite database\)$/],
      [other, /expected an eccvkit run store \(this SQLite database holds other tables: customers\)$/],
      [damaged, /expected an SQLite run store file that is not damaged \(.+\)$/],
    ];
    for (const [file, pattern] of cases) {
      const content = fs.readFileSync(file);
      // report (the store given before it) for one case, runs for the others.
      refused(file === other ? ['--store', file, 'report'] : ['runs', '--store', file], new RegExp(`^eccvkit: --store: got ".*${path.basename(file)}", ${pattern.source}`));
      assert.ok(fs.readFileSync(file).equals(content), `${path.basename(file)} was changed`);
      assert.ok(!fs.existsSync(`${file}-wal`) || fs.statSync(`${file}-wal`).size === 0, `${path.basename(file)}: a WAL was written`);
    }
    assert.ok(!fs.existsSync(path.join(dir, 'report.html')), 'a report was written');
  });

  it('report from a missing or an empty store: one line, exit 2, no report written', () => {
    refused(['report', '--store', path.join(dir, 'nowhere', 'eccvkit.db')], /^eccvkit: --store: got ".*nowhere\/eccvkit.db", expected a run store with runs \(there is no store there; run `eccvkit reproduce` or `eccvkit run <experiment>` first\)$/);
    assert.ok(!fs.existsSync(path.join(dir, 'nowhere')));
    const empty = path.join(dir, 'empty', 'eccvkit.db');
    RunStore.open(empty).close();
    refused(['report', '--store', empty], /expected a run store with runs \(this one has none; run `eccvkit reproduce`/);
    assert.ok(!fs.existsSync(path.join(dir, 'empty', 'report.html')));
  });
});
