/**
 * metric-reality-check: the protocol at toy size (TPE search over 4
 * class-disjoint folds, reproductions tested separated and concatenated):
 * flat tensor count, studies in the run store's SQLite file, a run stopped
 * mid-search resumes its study and ends with the uninterrupted run's numbers,
 * trials = 0 is the fixed-setting comparison, the report draws each study; and
 * the findings sentence on hand-made rows.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { buildReport, initEngine, openStudyStorage, realityCheckFindings, runExperiment, RunStore, silentProgress, tf } from '../../src/index.js';
import { contiguousClassFolds, SEARCH_SPACES } from '../../src/experiments/metric-reality-check.js';
import { getExperiment, resolveConfig } from '../../src/experiments/index.js';
import { runWorker, unitStudyName, type UnitOutcome } from '../../src/hpo/units.js';

describe('metric-reality-check', () => {
  let dir: string;
  let store: RunStore;
  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'eccvkit-mlrc-'));
    store = RunStore.open(path.join(dir, 'eccvkit.db'));
    await initEngine({ backend: 'wasm' });
  });
  after(() => {
    store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const settings = [
    'losses=["contrastive","proxy_anchor"]',
    'trials=2',
    'startupTrials=1',
    'reproductions=2',
    'classes=16',
    'perClass=5',
    'maxEpochs=2',
    'patience=1',
    'itersPerEpoch=2',
    'filters=[2,4]',
    'embeddingSize=4',
    'batchSize=8',
    'm=2',
  ];
  const METRICS = ['precision_at_1', 'r_precision', 'mean_average_precision_at_r'];

  it('searches each loss in a study of the run store, resumes a stopped search to the same numbers, and reports each study', async () => {
    const before = tf.memory().numTensors;
    const a = await runExperiment('metric-reality-check', { store, settings, backend: 'wasm' });
    assert.equal(tf.memory().numTensors, before, 'tensors left behind by a run');
    assert.equal(a.status, 'finished');
    for (const loss of ['contrastive', 'proxy_anchor']) {
      for (const metric of METRICS) {
        for (const key of [`${loss}_${metric}`, `${loss}_concat_${metric}`]) {
          const v = a.metrics[key] as number;
          assert.ok(v >= 0 && v <= 1, `${key} = ${v}`);
          assert.ok((a.metrics[`${key}_ci95`] as number) >= 0);
        }
      }
      assert.equal(a.metrics[`${loss}_trials`], 2);
      assert.ok((a.metrics[`${loss}_cv_map_at_r`] as number) > 0);
    }
    assert.equal(a.metrics.test_classes, 8);
    assert.equal(a.metrics.train_classes, 8);
    // 2 losses × (2 trials + 2 reproductions) × 4 folds
    assert.equal(a.metrics.models_trained, 32);
    assert.ok(typeof a.metrics.proxy_anchor_param_lossLr === 'number');

    // The studies live in the run store's file, one per loss, each trial finished once.
    const storage = await openStudyStorage(store.file);
    try {
      const studies = (await storage.listStudies()).filter((s) => s.name.includes(`/run${a.run.id}/`));
      assert.deepEqual(studies.map((s) => s.name.split('/').pop()), ['contrastive', 'proxy_anchor']);
      for (const s of studies) {
        const trials = await storage.getTrials(s.id);
        assert.deepEqual(trials.map((t) => [t.number, t.state]), [[0, 'COMPLETE'], [1, 'COMPLETE']]);
        assert.ok(trials.every((t) => Array.isArray(t.userAttrs.folds) && (t.userAttrs.folds as number[]).length === 4));
      }
    } finally {
      await storage.close();
    }

    // Stop a run after proxy_anchor's first trial; the same command resumes it.
    const stopping = { ...silentProgress, log: (msg: string) => { if (msg.startsWith('proxy_anchor trial 0:')) throw new Error('stopped for the test'); } };
    await assert.rejects(runExperiment('metric-reality-check', { store, settings, backend: 'wasm', force: true, progress: stopping }), /stopped for the test/);
    const b = await runExperiment('metric-reality-check', { store, settings, backend: 'wasm' });
    assert.equal(b.status, 'resumed');
    // Only proxy_anchor's second trial and its reproductions were left: (1 + 2) × 4 models.
    assert.equal(b.metrics.models_trained, 12);
    for (const loss of ['contrastive', 'proxy_anchor']) {
      for (const metric of METRICS) assert.equal(b.metrics[`${loss}_${metric}`], a.metrics[`${loss}_${metric}`], `${loss} ${metric} after resume`);
      assert.equal(b.metrics[`${loss}_cv_map_at_r`], a.metrics[`${loss}_cv_map_at_r`]);
    }

    const html = buildReport(store);
    assert.match(html, /A Metric Learning Reality Check/);
    assert.match(html, /Search: proxy_anchor/);
    assert.match(html, /proxy_anchor: optimisation history/);
    assert.match(html, /proxy_anchor: lossLr/);
    assert.match(html, /MAP@R 16-d \(%\)/);
    assert.match(html, /Test MAP@R ranges from/);
  });

  it('trials = 0 compares the losses at their library defaults, with no study', async () => {
    const c = await runExperiment('metric-reality-check', { store, settings: [...settings, 'trials=0', 'losses=["triplet","multi_similarity"]'], backend: 'wasm' });
    assert.equal(c.metrics.models_trained, 16);
    assert.equal(c.metrics.triplet_trials, undefined);
    assert.ok((c.metrics.triplet_mean_average_precision_at_r as number) > 0);
    assert.match(buildReport(store), /library defaults/);
  });

  it('study=NAME names the studies, so runs on several machines sharing a storage share each search', async () => {
    const shared = path.join(dir, 'shared.db');
    const d = await runExperiment('metric-reality-check', { store, settings: [...settings, 'trials=1', 'losses=["triplet"]', 'study=lab-search', `storage=${shared}`], backend: 'wasm' });
    assert.equal(d.metrics.triplet_trials, 1);
    const storage = await openStudyStorage(shared);
    try {
      // The search study by its shared name, and the reproductions' fold models as units.
      assert.deepEqual((await storage.listStudies()).map((s) => s.name), ['lab-search/triplet', unitStudyName('metric-reality-check', d.run.configHash)]);
    } finally {
      await storage.close();
    }
  });

  it('with a storage URL each reproduction fold model is a unit, with the in-process numbers', async () => {
    const extra = ['trials=1', 'losses=["contrastive"]'];
    const here = await runExperiment('metric-reality-check', { store, settings: [...settings, ...extra], backend: 'wasm' });
    const shared = path.join(dir, 'units.db');
    const u = await runExperiment('metric-reality-check', { store, settings: [...settings, ...extra, 'study=lab-units', `storage=${shared}`], backend: 'wasm' });
    for (const key of ['contrastive_mean_average_precision_at_r', 'contrastive_concat_mean_average_precision_at_r', 'contrastive_precision_at_1', 'contrastive_val_map_at_r', 'contrastive_epochs', 'models_trained']) {
      assert.equal(u.metrics[key], here.metrics[key], key);
    }
    assert.deepEqual(store.metrics(u.run.id, 'contrastive/fold1/val_map_at_r'), store.metrics(here.run.id, 'contrastive/fold1/val_map_at_r'));
    const storage = await openStudyStorage(shared);
    try {
      const trials = await storage.getTrials((await storage.findStudy(unitStudyName('metric-reality-check', u.run.configHash)))!.id);
      const reps = Number((resolveConfig(getExperiment('metric-reality-check'), 'quick', settings) as unknown as { reproductions: number }).reproductions);
      const folds = trials.filter((t) => String(t.params.key).startsWith('contrastive/rep'));
      assert.equal(folds.length, reps * 4);
      assert.ok(folds.every((t) => t.state === 'COMPLETE'));
    } finally {
      await storage.close();
    }
  });
});

describe('metric-reality-check with a worker', () => {
  let dir: string;
  let store: RunStore;
  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'eccvkit-mrc-worker-'));
    store = RunStore.open(path.join(dir, 'eccvkit.db'));
    await initEngine({ backend: 'wasm' });
  });
  after(() => {
    store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('an eccvkit worker on the storage joins the search through a helper unit and shares the reproductions', async () => {
    const shared = path.join(dir, 'join.db');
    const storage = await openStudyStorage(shared);
    const stop = new AbortController();
    const outcomes: UnitOutcome[] = [];
    const worker = runWorker(storage, { worker: 'helper-worker', experiment: 'metric-reality-check', idleExit: false, pollS: 0.02, signal: stop.signal, onUnit: (o) => outcomes.push(o) });
    try {
      const settings = ['classes=24', 'perClass=6', 'filters=[2,4]', 'embeddingSize=8', 'batchSize=8', 'itersPerEpoch=2', 'maxEpochs=2', 'patience=1', 'reproductions=2', 'trials=4', 'startupTrials=4', 'losses=["triplet"]', 'study=lab-join', `storage=${shared}`];
      const r = await runExperiment('metric-reality-check', { store, settings, backend: 'wasm' });
      assert.equal(r.status, 'finished');
      assert.equal(r.metrics.triplet_trials, 4);
    } finally {
      stop.abort();
      await worker;
    }
    try {
      const units = await storage.getTrials((await storage.findStudy(unitStudyName('metric-reality-check', store.listRuns()[0]!.configHash)))!.id);
      const helped = units.filter((t) => String(t.params.key).startsWith('search/triplet/') && t.worker === 'helper-worker' && t.state === 'COMPLETE');
      const searched = helped.reduce((n, t) => n + Number((t.userAttrs.result as { trials: number } | undefined)?.trials ?? 0), 0);
      assert.ok(searched >= 1, `the worker ran no search trial (helper units it ran: ${helped.length})`);
      const search = await storage.getTrials((await storage.findStudy('lab-join/triplet'))!.id);
      assert.equal(search.filter((t) => t.state === 'COMPLETE').length, 4, 'the study-wide budget holds with two workers');
      // Each reproduction fold model is one unit, finished once, whoever ran it.
      const reps = units.filter((t) => String(t.params.key).startsWith('triplet/rep'));
      assert.deepEqual([reps.length, reps.every((t) => t.state === 'COMPLETE')], [2 * 4, true]);
      assert.ok(outcomes.every((o) => o.state === 'COMPLETE'), outcomes.map((o) => `${o.key} ${o.state} ${o.error ?? ''}`).join('; '));
    } finally {
      await storage.close();
    }
  });
});

describe('contiguousClassFolds and SEARCH_SPACES', () => {
  it('deals sorted classes into contiguous validation ranges that cover each class once', () => {
    const folds = contiguousClassFolds([7, 1, 3, 5, 9, 11, 13, 15, 2, 4], 4);
    assert.deepEqual(folds.map((f) => f.val), [[1, 2], [3, 4, 5], [7, 9], [11, 13, 15]]);
    for (const f of folds) assert.equal(f.train.length + f.val.length, 10);
    assert.throws(() => contiguousClassFolds([1, 2, 3], 4), /folds/);
  });
  it('holds the optima the paper reports for CUB200', () => {
    const inside = (loss: keyof typeof SEARCH_SPACES, name: string, v: number) => {
      const p = SEARCH_SPACES[loss].find((q) => q.name === name);
      assert.ok(p && v >= p.low && v <= p.high, `${loss} ${name} ${v}`);
    };
    inside('contrastive', 'posMargin', -0.2);
    inside('contrastive', 'negMargin', 0.3841);
    inside('triplet', 'margin', 0.0961);
    inside('multi_similarity', 'alpha', 0.01);
    inside('multi_similarity', 'beta', 50.6);
    inside('multi_similarity', 'base', 0.56);
    inside('ntxent', 'temperature', 0.0091);
    inside('arcface', 'margin', 23.22);
    inside('cosface', 'scale', 100);
  });
});

describe('realityCheckFindings', () => {
  it('names the spread, the overlapping intervals and a P@1 / MAP@R disagreement', () => {
    const text = realityCheckFindings([
      { loss: 'contrastive', p1: [0.9, 0.01], mapr: [0.4, 0.02] },
      { loss: 'arcface', p1: [0.8, 0.01], mapr: [0.45, 0.01] },
      { loss: 'triplet', p1: [0.7, 0.01], mapr: [0.2, 0.01] },
    ]);
    assert.match(text, /from 20\.0 \(triplet\) to 45\.0 \(arcface\), a spread of 25\.0 points/);
    assert.match(text, /clears every other loss/);
    assert.match(text, /contrastive loss is 5\.0 MAP@R points behind/);
    assert.match(text, /P@1 ranks contrastive first while MAP@R ranks arcface first/);
    const overlap = realityCheckFindings([
      { loss: 'contrastive', p1: [0.9, 0.01], mapr: [0.44, 0.02] },
      { loss: 'arcface', p1: [0.95, 0.01], mapr: [0.45, 0.02] },
    ]);
    assert.match(overlap, /overlaps those of contrastive: with this many seeds those differences are not resolved/);
    assert.match(overlap, /agree on the best loss/);
  });
});
