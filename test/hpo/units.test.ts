/**
 * Units on the study storage: two `eccvkit worker` processes on one SQLite
 * file drain 20 enqueued units, each run exactly once; enqueueing is
 * idempotent by key; a failing unit is failed with its message and the
 * coordinator's collect names it; gc-ablation, lipschitz-domain-scaling and
 * topogan run through units (the coordinator alone) give the numbers of the
 * in-process run.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openStudyStorage } from '../../src/hpo/storage/index.js';
import { collectUnits, enqueueUnits, registerUnitKind, runWorker, unitStudyName } from '../../src/hpo/units.js';
import { initEngine, runExperiment, RunStore } from '../../src/index.js';
import { ROOT, runCliAsync } from '../helpers.js';

const UNITS = path.join(ROOT, 'test', 'hpo', 'fixtures', 'units.mjs');

describe('units on the study storage', () => {
  let dir: string;
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'eccvkit-units-'));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('two worker processes on SQLite run 20 units, each exactly once', async () => {
    const file = path.join(dir, 'two.db');
    const storage = await openStudyStorage(file);
    const study = unitStudyName('demo', 'abcdef0123456789');
    const keys = Array.from({ length: 20 }, (_, i) => `u${i}`);
    try {
      await enqueueUnits(storage, study, keys.map((key, i) => ({ kind: 'test/double', key, args: { n: i, ms: 150 } })));
      // Enqueueing again adds nothing.
      const rec = await enqueueUnits(storage, study, keys.map((key, i) => ({ kind: 'test/double', key, args: { n: i } })));
      assert.equal((await storage.getTrials(rec.id)).length, 20);
    } finally {
      await storage.close();
    }
    const args = ['worker', '--storage', file, '--units', UNITS, '--idle-exit', '--poll', '0.2', '--heartbeat', '0.5', '--json'];
    const [a, b] = await Promise.all([runCliAsync(args), runCliAsync(args)]);
    for (const r of [a, b]) assert.equal(r.status, 0, r.stderr);
    const ranA = JSON.parse(a.stdout.trim()).units as Array<{ key: string; state: string }>;
    const ranB = JSON.parse(b.stdout.trim()).units as Array<{ key: string; state: string }>;
    const all = [...ranA, ...ranB].map((u) => u.key).sort();
    assert.deepEqual(all, [...keys].sort(), 'every unit ran exactly once over both workers');
    assert.ok([...ranA, ...ranB].every((u) => u.state === 'COMPLETE'));
    const s2 = await openStudyStorage(file);
    try {
      const rec = (await s2.findStudy(study))!;
      const trials = await s2.getTrials(rec.id);
      assert.equal(trials.length, 20);
      assert.ok(trials.every((t) => t.state === 'COMPLETE'));
      const results = await collectUnits(s2, rec, keys, { worker: 'collector' });
      keys.forEach((k, i) => assert.equal((results.get(k) as { doubled: number }).doubled, 2 * i));
      const pids = new Set(trials.map((t) => (t.userAttrs.result as { pid: number }).pid));
      assert.ok(pids.size >= 1 && pids.size <= 2);
    } finally {
      await s2.close();
    }
  });

  it('a worker killed mid-unit: the re-queued unit starts from its last checkpoint, and the result replaces the checkpoint', async () => {
    const file = path.join(dir, 'resume.db');
    const study = unitStudyName('demo', '0123456789abcdef');
    const storage = await openStudyStorage(file, { heartbeatIntervalS: 0.2 });
    try {
      const rec = await enqueueUnits(storage, study, [{ kind: 'test/resume', key: 'r', args: { steps: 5, dieAt: 3 } }]);
      const args = ['worker', '--storage', file, '--units', UNITS, '--idle-exit', '--poll', '0.2', '--heartbeat', '0.2', '--json'];
      const killed = await runCliAsync(args);
      assert.notEqual(killed.status, 0, 'the first worker died');
      const [first] = await storage.getTrials(rec.id);
      assert.deepEqual(first!.userAttrs.checkpoint, { done: 3 });
      await new Promise((r) => setTimeout(r, 600));
      const reaped = await storage.reapStale(rec.id);
      assert.equal(reaped.length, 1);
      const second = await runCliAsync(args);
      assert.equal(second.status, 0, second.stderr);
      const trials = await storage.getTrials(rec.id);
      assert.deepEqual(trials.map((t) => t.state), ['FAIL', 'COMPLETE']);
      assert.equal((trials[1]!.userAttrs.result as { resumedFrom: number }).resumedFrom, 3);
      assert.equal(trials[1]!.userAttrs.checkpoint, undefined);
      assert.deepEqual(trials[1]!.userAttrs.args, { steps: 5, dieAt: 3 });
    } finally {
      await storage.close();
    }
  });

  it('fails a throwing unit with its message and collect names it; an unknown kind fails too', async () => {
    registerUnitKind('test/throw-here', () => {
      throw new Error('boom');
    });
    const storage = await openStudyStorage('memory:');
    try {
      const rec = await enqueueUnits(storage, 'x/1/units', [
        { kind: 'test/throw-here', key: 'a', args: null },
        { kind: 'no/such-kind', key: 'b', args: null },
      ]);
      const ran = await runWorker(storage, { worker: 'w', idleExit: true });
      assert.deepEqual(
        ran.map((u) => [u.key, u.state]),
        [
          ['a', 'FAIL'],
          ['b', 'FAIL'],
        ],
      );
      assert.match(ran[1]!.error!, /unit kind "no\/such-kind" is not registered/);
      await assert.rejects(collectUnits(storage, rec, ['a', 'b'], { worker: 'c' }), /unit a of study x\/1\/units failed: boom/);
      // A resumed coordinator re-enqueues failed keys.
      registerUnitKind('test/throw-here', () => 7);
      await enqueueUnits(storage, 'x/1/units', [{ kind: 'test/throw-here', key: 'a', args: null }]);
      assert.equal((await collectUnits(storage, rec, ['a'], { worker: 'c' })).get('a'), 7);
    } finally {
      await storage.close();
    }
  });

  it('gc-ablation through units gives the in-process numbers', async () => {
    await initEngine({ backend: 'wasm' });
    const store = RunStore.open(path.join(dir, 'gc.db'));
    try {
      const settings = ['seeds=2', 'trainSize=48', 'testSize=24', 'epochs=1', 'batchSize=24', 'filters=[2,2]', 'hidden=4', 'logEvery=1', `dataDir="${path.join(dir, 'no-fashion')}"`];
      const here = await runExperiment('gc-ablation', { store, settings, backend: 'wasm' });
      const units = await runExperiment('gc-ablation', { store, settings: [...settings, `storage="sqlite:${path.join(dir, 'gc-units.db')}"`], backend: 'wasm' });
      assert.equal(units.status, 'finished');
      for (const arm of ['sgdm', 'sgdm-gc', 'adam', 'adam-gc']) {
        assert.equal(units.metrics[`${arm}_acc_per_seed`], here.metrics[`${arm}_acc_per_seed`]);
        assert.equal(units.metrics[`${arm}_final_train_loss`], here.metrics[`${arm}_final_train_loss`]);
      }
      assert.deepEqual(store.metrics(units.run.id, 'train_loss/adam-gc/seed1'), store.metrics(here.run.id, 'train_loss/adam-gc/seed1'));
      const s = await openStudyStorage(path.join(dir, 'gc-units.db'));
      try {
        const rec = (await s.findStudy(unitStudyName('gc-ablation', units.run.configHash)))!;
        const trials = await s.getTrials(rec.id);
        assert.equal(trials.length, 8);
        assert.ok(trials.every((t) => t.state === 'COMPLETE'));
      } finally {
        await s.close();
      }
    } finally {
      store.close();
    }
  });

  it('topogan cells and downstream checks through units give the in-process numbers, generators and grids', async () => {
    await initEngine({ backend: 'wasm' });
    const store = RunStore.open(path.join(dir, 'tg.db'));
    try {
      const settings = ['datasets=["membranes"]', 'arms=["wganGp","topoGan"]', 'downstreamImages=8'];
      const here = await runExperiment('topogan', { store, settings, backend: 'wasm' });
      const units = await runExperiment('topogan', { store, settings: [...settings, `storage="sqlite:${path.join(dir, 'tg-units.db')}"`], backend: 'wasm' });
      assert.equal(units.status, 'finished');
      for (const key of ['fd:membranes/wganGp', 'fd:membranes/topoGan', 'betti_score:membranes/topoGan', 'mmd:membranes/wganGp', 'betti_error:membranes/topoGan', 'dice:membranes/topoGan', 'dice:membranes/real+wganGp']) {
        assert.ok(Number.isFinite(Number(here.metrics[key])), key);
        assert.equal(units.metrics[key], here.metrics[key], key);
      }
      assert.deepEqual(store.metrics(units.run.id, 'topo:membranes-topoGan-seed0'), store.metrics(here.run.id, 'topo:membranes-topoGan-seed0'));
      // A unit's generator comes back with the in-process run's weights (layer names in model.json differ: tfjs numbers them per process), and so does the grid drawn from it.
      for (const f of ['weights.bin']) {
        const file = (run: { dir: string }) => fs.readFileSync(path.join(run.dir, 'generators', 'membranes-topoGan-seed0', f));
        assert.ok(file(units.run).equals(file(here.run)), f);
      }
      const grid = (id: number) => fs.readFileSync(store.artifacts(id).find((a) => a.name === 'samples:membranes/topoGan/seed0')!.path);
      assert.ok(grid(units.run.id).equals(grid(here.run.id)));
      const s = await openStudyStorage(path.join(dir, 'tg-units.db'));
      try {
        const trials = await s.getTrials((await s.findStudy(unitStudyName('topogan', units.run.configHash)))!.id);
        assert.deepEqual(trials.map((t) => [t.params.kind, t.state]), [['topogan/cell', 'COMPLETE'], ['topogan/cell', 'COMPLETE'], ['topogan/downstream', 'COMPLETE']]);
      } finally {
        await s.close();
      }
    } finally {
      store.close();
    }
  });

  it('lipschitz-domain-scaling cells through units give the in-process numbers and grids', async () => {
    await initEngine({ backend: 'wasm' });
    const store = RunStore.open(path.join(dir, 'lds.db'));
    try {
      const settings = ['losses=["hinge","exp"]', 'regularisers=["sn1"]', 'alphas=[1]', 'steps=3', 'width=2', 'latentDim=4', 'batchSize=8', 'evalSamples=30', 'classifierEpochs=1', 'sampleEvery=2', 'checkpointEvery=0'];
      const here = await runExperiment('lipschitz-domain-scaling', { store, settings, backend: 'wasm' });
      const units = await runExperiment('lipschitz-domain-scaling', { store, settings: [...settings, `storage="sqlite:${path.join(dir, 'lds-units.db')}"`], backend: 'wasm' });
      assert.equal(units.status, 'finished');
      for (const key of ['fd:hinge/sn1/1', 'fd:exp/sn1/1', 'classifier_accuracy', 'fd_real_floor']) assert.equal(units.metrics[key], here.metrics[key], key);
      assert.deepEqual(store.metrics(units.run.id, 'd_loss:exp/sn1/1'), store.metrics(here.run.id, 'd_loss:exp/sn1/1'));
      // The grids a worker drew come back as the files an in-process run writes.
      const grid = (id: number, name: string) => fs.readFileSync(store.artifacts(id).find((a) => a.name === name)!.path);
      for (const name of ['samples:hinge/sn1/1', 'samples:exp/sn1/1:step2']) assert.ok(grid(units.run.id, name).equals(grid(here.run.id, name)), name);
      const s = await openStudyStorage(path.join(dir, 'lds-units.db'));
      try {
        const trials = await s.getTrials((await s.findStudy(unitStudyName('lipschitz-domain-scaling', units.run.configHash)))!.id);
        assert.deepEqual(trials.map((t) => t.state), ['COMPLETE', 'COMPLETE']);
      } finally {
        await s.close();
      }
    } finally {
      store.close();
    }
  });
});
