import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { EccvkitInputError } from '../../src/errors.js';
import { DEFAULT_STORE_PATH, RunStore, canonicalJson, hashConfig } from '../../src/store/index.js';

let tmp: string;
before(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'eccvkit-store-'));
});
after(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

let counter = 0;
/** A fresh store in its own folder. */
function freshStore(): RunStore {
  return RunStore.open(path.join(tmp, `s${counter++}`, 'runs.db'));
}

const base = { experiment: 'fewshot', preset: 'quick', config: { lr: 0.01, epochs: 3 }, seed: 7, backend: 'cpu' };

/** The pid of a process that has exited (and been reaped). */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '0'], { stdio: 'ignore' });
  const pid = child.pid;
  assert.ok(pid !== undefined);
  await new Promise<void>((resolve) => child.on('exit', () => resolve()));
  // 'exit' fires after waitpid reaped it, so kill(pid, 0) now fails with ESRCH (barring pid reuse).
  return pid;
}

describe('hashConfig', () => {
  it('does not depend on key order, nested or not', () => {
    const a = hashConfig({ a: 1, b: { x: [1, 2], y: 'z' } });
    const b = hashConfig({ b: { y: 'z', x: [1, 2] }, a: 1 });
    assert.equal(a, b);
    assert.match(a, /^[0-9a-f]{16}$/);
    assert.notEqual(hashConfig({ a: 1 }), hashConfig({ a: 2 }));
    assert.notEqual(hashConfig({ x: [1, 2] }), hashConfig({ x: [2, 1] }));
  });
  it('is the sha256 prefix of the sorted-key JSON', () => {
    assert.equal(canonicalJson({ b: 2, a: [1, { d: null, c: 'x' }], u: undefined }), '{"a":[1,{"c":"x","d":null}],"b":2}');
    // sha256('{"a":1}') = 015abd7f5cc57a2dd94b7590f04ad8084273905ee33ec5cebeae62276a97f862
    assert.equal(hashConfig({ a: 1 }), '015abd7f5cc57a2d');
  });
  it('rejects values JSON would mangle', () => {
    assert.throws(() => hashConfig({ a: NaN }), EccvkitInputError);
    assert.throws(() => hashConfig({ a: 1n }), EccvkitInputError);
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    assert.throws(() => hashConfig(cyclic), /circular/);
  });
});

describe('RunStore', () => {
  it('opens at a default path and sets WAL, foreign keys and a schema version', () => {
    assert.equal(DEFAULT_STORE_PATH, 'runs/eccvkit.db');
    const file = path.join(tmp, 'nested', 'deeper', 'x.db');
    const s = RunStore.open(file);
    try {
      assert.equal(s.file, file);
      assert.equal(s.root, path.dirname(file));
      assert.equal(s.schemaVersion, 1);
      assert.ok(fs.existsSync(file));
      assert.ok(fs.existsSync(`${file}-wal`), 'WAL journal file exists');
    } finally {
      s.close();
      s.close();
    }
  });

  it('creates, gets, lists and finds runs', () => {
    const s = freshStore();
    try {
      const r1 = s.createRun(base);
      assert.equal(r1.id, 1);
      assert.equal(r1.status, 'running');
      assert.equal(r1.pid, process.pid);
      assert.equal(r1.finishedAt, null);
      assert.equal(r1.configHash, hashConfig(base.config));
      assert.deepEqual(r1.config, base.config);
      assert.equal(r1.dir, path.join(s.root, '1-fewshot'));
      assert.ok(fs.statSync(r1.dir).isDirectory());
      const r2 = s.createRun({ ...base, config: { epochs: 3, lr: 0.01 } });
      assert.equal(r2.configHash, r1.configHash);
      const r3 = s.createRun({ ...base, experiment: 'gan', seed: 1 });
      s.finishRun(r1.id, 'finished');
      s.finishRun(r3.id, 'failed', 'boom');

      assert.deepEqual(s.getRun(r3.id)?.error, 'boom');
      assert.ok(s.getRun(r1.id)?.finishedAt);
      assert.equal(s.getRun(99), undefined);
      assert.deepEqual(s.listRuns().map((r) => r.id), [3, 2, 1]);
      assert.deepEqual(s.listRuns({ experiment: 'fewshot' }).map((r) => r.id), [2, 1]);
      assert.deepEqual(s.listRuns({ status: 'failed' }).map((r) => r.id), [3]);
      assert.equal(s.findRun({ experiment: 'fewshot', configHash: r1.configHash })?.id, 2, 'newest match, key order irrelevant');
      assert.equal(s.findRun({ experiment: 'fewshot', status: 'finished' })?.id, 1);
      assert.equal(s.findRun({ experiment: 'fewshot', status: ['failed', 'interrupted'] }), undefined);
      assert.equal(s.findRun({ experiment: 'gan', status: ['failed', 'finished'] })?.id, 3);
    } finally {
      s.close();
    }
  });

  it('rejects bad input without writing', () => {
    const s = freshStore();
    try {
      assert.throws(() => s.createRun({ ...base, experiment: '../evil' }), EccvkitInputError);
      assert.throws(() => s.createRun({ ...base, seed: 1.5 }), /seed: got 1.5/);
      assert.throws(() => s.createRun({ ...base, config: { lr: Infinity } }), /config\.lr/);
      assert.throws(() => s.createRun({ ...base, config: [] as unknown as Record<string, unknown> }), EccvkitInputError);
      assert.deepEqual(s.listRuns(), []);
      assert.deepEqual(fs.readdirSync(s.root).filter((f) => !f.startsWith('runs.db')), []);
      assert.throws(() => s.listRuns({ status: 'done' as never }), EccvkitInputError);
      assert.throws(() => s.logMetrics(1, 0, { a: 1 }), /runId: got 1/);
    } finally {
      s.close();
    }
  });

  it('round-trips metrics per step, all-or-nothing', () => {
    const s = freshStore();
    try {
      const { id } = s.createRun(base);
      s.logMetrics(id, 2, { loss: 0.5, acc: 0.75 });
      s.logMetrics(id, 0, { loss: 1.5 });
      s.logMetrics(id, 1, { loss: 1, acc: 0.5 });
      assert.deepEqual(s.metrics(id, 'loss'), [
        { step: 0, name: 'loss', value: 1.5 },
        { step: 1, name: 'loss', value: 1 },
        { step: 2, name: 'loss', value: 0.5 },
      ]);
      assert.deepEqual(s.metricNames(id), ['acc', 'loss']);
      assert.equal(s.metrics(id).length, 5);
      assert.throws(() => s.logMetrics(id, 3, { loss: 0.1, acc: NaN }), /values\.acc: got NaN/);
      assert.throws(() => s.logMetrics(id, -1, { loss: 0.1 }), /step/);
      assert.equal(s.metrics(id).length, 5, 'the valid value of a rejected call was not written');
      s.logMetrics(id, 2, { loss: 0.25 });
      assert.deepEqual(s.metrics(id, 'loss').at(-1), { step: 2, name: 'loss', value: 0.25 }, 'same step replaces');
    } finally {
      s.close();
    }
  });

  it('upserts final metrics, numbers and strings', () => {
    const s = freshStore();
    try {
      const { id } = s.createRun(base);
      s.setFinalMetrics(id, { acc: 0.9, note: 'ok', epochs: 3 });
      s.setFinalMetrics(id, { acc: 0.95, fid: '12' });
      assert.deepEqual(s.finalMetrics(id), { acc: 0.95, epochs: 3, fid: '12', note: 'ok' });
      assert.throws(() => s.setFinalMetrics(id, { acc: 1, bad: Infinity }), EccvkitInputError);
      assert.throws(() => s.setFinalMetrics(id, { bad: true as unknown as number }), EccvkitInputError);
      assert.equal(s.finalMetrics(id).acc, 0.95);
    } finally {
      s.close();
    }
  });

  it('stores artifact paths relative to the root and returns them absolute', () => {
    const s = freshStore();
    try {
      const run = s.createRun(base);
      const inside = path.join(run.dir, 'table.json');
      const outside = path.join(tmp, 'elsewhere.png');
      s.addArtifact(run.id, { name: 'table', kind: 'json', path: inside });
      s.addArtifact(run.id, { name: 'grid', kind: 'png', path: outside });
      const again = s.addArtifact(run.id, { name: 'table', kind: 'json', path: path.join(run.dir, 'table2.json') });
      assert.equal(again.path, path.join(run.dir, 'table2.json'));
      const arts = s.artifacts(run.id);
      assert.deepEqual(
        arts.map((a) => [a.name, a.kind, a.path]),
        [
          ['table', 'json', path.join(run.dir, 'table2.json')],
          ['grid', 'png', outside],
        ],
      );
      // What is actually stored: relative inside the root, absolute outside it.
      const db = (s as unknown as { db: { prepare(sql: string): { all(): Array<{ path: string }> } } }).db;
      assert.deepEqual(
        db.prepare('SELECT path FROM artifacts ORDER BY rowid').all().map((r) => r.path),
        [path.join('1-fewshot', 'table2.json'), outside],
      );
    } finally {
      s.close();
    }
  });

  it('rotates checkpoints, keeping the newest two', async () => {
    const s = freshStore();
    try {
      const run = s.createRun(base);
      assert.equal(s.latestCheckpoint(run.id), undefined);
      for (const step of [10, 20, 30]) {
        const ck = await s.saveCheckpoint(run.id, step, async (dir) => fs.writeFileSync(path.join(dir, 'w.txt'), `weights@${step}`), { step });
        assert.equal(ck.path, path.join(run.dir, 'checkpoints', `step-${step}`));
      }
      const dirs = fs.readdirSync(path.join(run.dir, 'checkpoints')).sort();
      assert.deepEqual(dirs, ['step-20', 'step-30']);
      const latest = s.latestCheckpoint(run.id);
      assert.equal(latest?.step, 30);
      assert.deepEqual(latest?.meta, { step: 30 });
      assert.equal(fs.readFileSync(path.join(latest.path, 'w.txt'), 'utf8'), 'weights@30');

      // A callback that throws leaves no row and no folder, and the previous checkpoints intact.
      await assert.rejects(
        s.saveCheckpoint(run.id, 40, async (dir) => {
          fs.writeFileSync(path.join(dir, 'half'), 'x');
          throw new Error('disk full');
        }),
        /disk full/,
      );
      assert.deepEqual(fs.readdirSync(path.join(run.dir, 'checkpoints')).sort(), ['step-20', 'step-30']);
      assert.equal(s.latestCheckpoint(run.id)?.step, 30);

      // A checkpoint whose folder vanished is skipped.
      fs.rmSync(path.join(run.dir, 'checkpoints', 'step-30'), { recursive: true });
      assert.equal(s.latestCheckpoint(run.id)?.step, 20);

      // keep = 1
      await s.saveCheckpoint(run.id, 50, async () => {}, {}, 1);
      assert.deepEqual(fs.readdirSync(path.join(run.dir, 'checkpoints')), ['step-50']);
    } finally {
      s.close();
    }
  });

  it('marks runs of dead processes interrupted and resumes them', async () => {
    const s = freshStore();
    try {
      const mine = s.createRun(base);
      const orphan = s.createRun({ ...base, experiment: 'gan' });
      const pid = await deadPid();
      const db = (s as unknown as { db: { prepare(sql: string): { run(...a: unknown[]): unknown } } }).db;
      db.prepare('UPDATE runs SET pid = ? WHERE id = ?').run(pid, orphan.id);

      const stale = s.markStaleRuns();
      assert.deepEqual(stale.map((r) => [r.id, r.status]), [[orphan.id, 'interrupted']]);
      assert.match(stale[0]?.error ?? '', new RegExp(`process ${pid}`));
      assert.equal(s.getRun(mine.id)?.status, 'running', 'this live process keeps its run');
      assert.deepEqual(s.markStaleRuns(), [], 'idempotent');

      const resumed = s.resumeRun(orphan.id);
      assert.equal(resumed.status, 'running');
      assert.equal(resumed.pid, process.pid);
      assert.equal(resumed.error, null);

      s.finishRun(mine.id, 'finished');
      assert.throws(() => s.resumeRun(mine.id), /finished/);
      s.finishRun(orphan.id, 'failed', 'nope');
      assert.equal(s.resumeRun(orphan.id).status, 'running', 'failed runs can be resumed');
    } finally {
      s.close();
    }
  });

  it('is seen the same from a second handle on the same file', async () => {
    const file = path.join(tmp, 'shared', 'runs.db');
    const a = RunStore.open(file);
    const b = RunStore.open(file);
    try {
      const run = a.createRun(base);
      a.logMetrics(run.id, 0, { loss: 2 });
      a.setFinalMetrics(run.id, { acc: 0.5 });
      await a.saveCheckpoint(run.id, 5, async (dir) => fs.writeFileSync(path.join(dir, 'x'), '1'));
      assert.deepEqual(b.getRun(run.id), a.getRun(run.id));
      assert.deepEqual(b.metrics(run.id), [{ step: 0, name: 'loss', value: 2 }]);
      assert.deepEqual(b.finalMetrics(run.id), { acc: 0.5 });
      assert.equal(b.latestCheckpoint(run.id)?.step, 5);
      a.close();
      const c = RunStore.open(file);
      try {
        assert.equal(c.listRuns().length, 1);
        assert.equal(c.schemaVersion, 1);
      } finally {
        c.close();
      }
    } finally {
      a.close();
      b.close();
    }
  });
});
