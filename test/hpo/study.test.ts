/**
 * Studies and the storage protocol, in one process: ask/tell, best, failures
 * that do not stop the study, a trial told twice, a study reopened with the
 * other direction, queued trials; then on every storage (memory, SQLite,
 * PostgreSQL when installed): claims, guarded writes, reaping of a trial
 * whose heartbeat stopped (failed, re-queued with the same parameters, the
 * late result refused, retries capped). Also: the core imports no Node module.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createStudy, InMemoryStorage, RandomSampler, TrialNotHeldError, type StudyStorage } from '../../src/hpo/index.js';
import { openStudyStorage } from '../../src/hpo/storage/index.js';
import { RunStore } from '../../src/store/index.js';
import { postgresSkipReason, startPostgres, type PgServer } from './pg-server.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('study', () => {
  it('ask/tell by hand, best, trials(), and a study reopened by name', async () => {
    const storage = new InMemoryStorage();
    const study = await createStudy({ name: 'q', storage, direction: 'maximize', sampler: new RandomSampler({ seed: 1 }) });
    for (let i = 0; i < 5; i++) {
      const t = await study.ask();
      assert.equal(t.number, i);
      const x = t.suggestFloat('x', -1, 1);
      await study.tell(t, -x * x);
    }
    const trials = await study.trials();
    assert.equal(trials.length, 5);
    const best = trials.reduce((a, b) => ((b.value as number) > (a.value as number) ? b : a));
    assert.deepEqual(study.best, { number: best.number, value: best.value, params: best.params });
    const again = await createStudy({ name: 'q', storage, direction: 'maximize' });
    assert.equal((await again.trials()).length, 5);
    await assert.rejects(createStudy({ name: 'q', storage, direction: 'minimize' }), /direction: got "minimize", expected "maximize", the direction study "q" was created with/);
  });

  it('an objective that throws fails its trial with the message stored, and the study goes on; NaN and non-numbers fail too', async () => {
    const study = await createStudy({ sampler: 'random' });
    const r = await study.optimize(
      (t) => {
        const x = t.suggestFloat('x', 0, 1);
        if (t.number === 1) throw new Error('out of memory in trial 1');
        if (t.number === 2) return NaN;
        if (t.number === 3) return 'high' as unknown as number;
        return x;
      },
      { trials: 6 },
    );
    assert.deepEqual(
      r.trials.map((t) => t.state),
      ['COMPLETE', 'FAIL', 'FAIL', 'FAIL', 'COMPLETE', 'COMPLETE'],
    );
    assert.equal(r.trials[1]!.error, 'out of memory in trial 1');
    assert.match(r.trials[2]!.error as string, /returned NaN, expected a finite number/);
    assert.match(r.trials[3]!.error as string, /returned "high", expected a finite number/);
  });

  it('a trial is told once; queued parameters are used as given; stop() ends optimize', async () => {
    const study = await createStudy({ sampler: 'random' });
    const t = await study.ask();
    t.suggestFloat('x', 0, 1);
    await study.tell(t, 1);
    await assert.rejects(study.tell(t, 2), TrialNotHeldError);
    await study.enqueue({ x: 0.25, n: 3 }, { note: 'from a preset' });
    const q = await study.ask();
    assert.equal(q.suggestFloat('x', 0, 1), 0.25);
    assert.equal(q.suggestInt('n', 1, 5), 3);
    assert.deepEqual(q.userAttrs, { note: 'from a preset' });
    await study.tell(q, 0);
    const r = await study.optimize((trial) => trial.suggestFloat('x', 0, 1), { onTrial: (_t, s) => s.stop() });
    assert.equal(r.trials.length, 1);
  });
});

/** The storage protocol, on one storage kind. */
function protocol(kind: string, open: (o: { heartbeatIntervalS: number; gracePeriodS: number; maxRetries: number }) => Promise<StudyStorage>) {
  describe(`storage protocol: ${kind}`, () => {
    it('claims, guarded writes, a budget, reaping with the same parameters, retries capped', async () => {
      const storage = await open({ heartbeatIntervalS: 0.1, gracePeriodS: 0.4, maxRetries: 1 });
      try {
        const s = await storage.getOrCreateStudy(`p-${kind}`, 'minimize');
        const a = (await storage.claimTrial(s.id, 'A', 3))!;
        const b = (await storage.claimTrial(s.id, 'B', 3))!;
        assert.deepEqual([a.number, b.number, a.state, a.worker], [0, 1, 'RUNNING', 'A']);
        await storage.setParams(a.id, 'A', { x: 0.5 }, { x: { type: 'float', low: 0, high: 1, log: false, step: null } });
        await assert.rejects(storage.setParams(a.id, 'B', { x: 0.1 }, {}), TrialNotHeldError, "B cannot write A's trial");
        await storage.reportValue(a.id, 'A', 0, 0.7);
        await storage.reportValue(a.id, 'A', 1, NaN);
        await storage.setAttrs(a.id, 'A', { checkpoint: '/tmp/ckpt-0' }, {});
        const finishedB = await storage.finishTrial(b.id, 'B', 'COMPLETE', 2, null);
        assert.equal(finishedB.value, 2);
        await assert.rejects(storage.finishTrial(b.id, 'B', 'COMPLETE', 3, null), TrialNotHeldError, 'told twice');
        const c = (await storage.claimTrial(s.id, 'B', 3))!;
        assert.equal(c.number, 2);
        assert.equal(await storage.claimTrial(s.id, 'B', 3), null, 'budget of 3 spent');
        if (storage.heartbeatIntervalS === 0) return; // the in-memory storage has no other process to die
        // c keeps beating; a's worker "died" (no heartbeat thread was started for it).
        const stop = storage.startHeartbeat(c.id, 'B');
        await sleep(700);
        const reaped = await storage.reapStale(s.id);
        stop();
        assert.deepEqual(reaped.map((t) => [t.number, t.state]), [[0, 'FAIL']]);
        assert.match(reaped[0]!.error as string, /worker A stopped heartbeating .*re-queued with the same parameters/);
        const retry = (await storage.claimTrial(s.id, 'B', 3))!;
        assert.ok(retry, 'the retry is claimable though the budget is spent: it replaces the failed trial');
        assert.deepEqual([retry.number, retry.retryOf, retry.retries, retry.params, retry.userAttrs], [3, 0, 1, { x: 0.5 }, { checkpoint: '/tmp/ckpt-0' }]);
        assert.equal(retry.distributions.x?.type, 'float');
        await assert.rejects(storage.finishTrial(a.id, 'A', 'COMPLETE', 1, null), TrialNotHeldError, "the reaped trial's late result is refused");
        // The retry's worker dies too: failed again, not re-queued (maxRetries 1).
        await sleep(700);
        const again = await storage.reapStale(s.id);
        assert.deepEqual(again.map((t) => t.number).sort(), [2, 3]);
        const all = await storage.getTrials(s.id);
        assert.deepEqual(all.map((t) => [t.number, t.state]), [[0, 'FAIL'], [1, 'COMPLETE'], [2, 'FAIL'], [3, 'FAIL'], [4, 'WAITING']]);
        assert.equal(all[4]!.retryOf, 2, 'trial 2 had retries left; trial 3 had none');
        assert.deepEqual(all[0]!.intermediateValues.map((v) => v.step), [0, 1]);
        assert.ok(Number.isNaN(all[0]!.intermediateValues[1]!.value), 'NaN round-trips');
      } finally {
        await storage.close();
      }
    });
  });
}

protocol('memory', async () => new InMemoryStorage());

let dir: string;
before(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'eccvkit-hpo-'));
});
after(() => fs.rmSync(dir, { recursive: true, force: true }));

protocol('sqlite', (o) => openStudyStorage(`sqlite:${path.join(dir, 'eccvkit.db')}`, o));

describe('sqlite storage lives in the run store', () => {
  it('the studies and trials tables sit beside the runs, WAL mode, the file still opens as a run store', async () => {
    const file = path.join(dir, 'store.db');
    const storage = await openStudyStorage(file);
    const study = await createStudy({ name: 's', storage, sampler: 'random' });
    await study.optimize((t) => t.suggestFloat('x', 0, 1), { trials: 3 });
    await storage.close();
    const store = RunStore.open(file);
    assert.equal(store.listRuns().length, 0);
    store.close();
    const again = await openStudyStorage(`sqlite://${file}`);
    assert.equal((await again.getTrials((await again.findStudy('s'))!.id)).length, 3);
    await again.close();
    assert.ok(fs.existsSync(`${file}-wal`) || fs.readFileSync(file).subarray(18, 20).equals(Buffer.from([2, 2])), 'WAL journal');
    await assert.rejects(openStudyStorage('mysql://db/x'), /--storage: got "mysql:\/\/db\/x", expected postgres:\/\/user@host:port\/db, sqlite:FILE, a file path, or memory:/);
    await assert.rejects(openStudyStorage(dir), /--store: got .*, expected an SQLite run store file \(this is a folder\)/);
  });
});

const pgSkip = postgresSkipReason();
describe('postgres storage', { skip: pgSkip ?? false }, () => {
  let server: PgServer;
  before(async () => {
    server = await startPostgres();
  });
  after(() => server?.stop());
  protocol('postgres', (o) => openStudyStorage(server.url, o));
  it('an unreachable server: one message naming host and port', async () => {
    await assert.rejects(openStudyStorage('postgres://postgres@127.0.0.1:1/postgres'), /--storage: got "postgres:\/\/postgres@127.0.0.1:1\/postgres", expected a PostgreSQL server accepting connections at host 127.0.0.1 port 1 \(ECONNREFUSED/);
  });
});

describe('the hpo core runs in a browser', () => {
  it('src/hpo/*.ts (outside storage/) import no Node module, only the engine RNG and errors', () => {
    const root = path.resolve(import.meta.dirname, '../../src/hpo');
    const allowedOutside = new Set([path.resolve(root, '../engine/rng.ts'), path.resolve(root, '../errors.ts')]);
    for (const f of fs.readdirSync(root).filter((x) => x.endsWith('.ts'))) {
      const text = fs.readFileSync(path.join(root, f), 'utf8');
      for (const m of text.matchAll(/^(?:import|export)[^'"]*from\s+'([^']+)'/gm)) {
        const spec = m[1] as string;
        assert.ok(spec.startsWith('.'), `${f} imports the package ${spec}`);
        const target = path.resolve(root, spec.replace(/\.js$/, '.ts'));
        assert.ok(path.dirname(target) === root || allowedOutside.has(target), `${f} imports ${spec}, outside the browser-safe core`);
      }
    }
  });
});

if (pgSkip) console.error(`# postgres storage tests skipped: ${pgSkip}`);
