/**
 * metric-reality-check: a tiny in-process run
 * (flat tensor count, same seed same numbers, report table), and the findings
 * sentence on hand-made rows.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { buildReport, initEngine, realityCheckFindings, runExperiment, RunStore, tf } from '../../src/index.js';

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

  const settings = ['losses=["contrastive","proxy_anchor"]', 'seeds=2', 'classes=24', 'perClass=6', 'maxEpochs=2', 'itersPerEpoch=3', 'filters=[4,4]', 'embeddingSize=8', 'batchSize=16'];

  it('runs, leaves no tensors behind, repeats exactly, and reports its table', async () => {
    const before = tf.memory().numTensors;
    const a = await runExperiment('metric-reality-check', { store, settings, backend: 'wasm' });
    assert.equal(tf.memory().numTensors, before, 'tensors left behind by a run');
    const b = await runExperiment('metric-reality-check', { store, settings, backend: 'wasm', force: true });
    assert.equal(a.status, 'finished');
    for (const loss of ['contrastive', 'proxy_anchor']) {
      for (const metric of ['precision_at_1', 'r_precision', 'mean_average_precision_at_r']) {
        const v = a.metrics[`${loss}_${metric}`] as number;
        assert.ok(v >= 0 && v <= 1, `${loss} ${metric} = ${v}`);
        assert.equal(b.metrics[`${loss}_${metric}`], v, `${loss} ${metric} repeats`);
        assert.ok((a.metrics[`${loss}_${metric}_ci95`] as number) >= 0);
      }
    }
    assert.equal(a.metrics.test_classes, 6);
    assert.ok((a.metrics.contrastive_best_epoch as number) >= 1 && (a.metrics.contrastive_best_epoch as number) <= (a.metrics.contrastive_epochs as number));
    const html = buildReport(store);
    assert.match(html, /A Metric Learning Reality Check/);
    assert.match(html, /proxy_anchor/);
    assert.match(html, /MAP@R \(%\)/);
    assert.match(html, /Test MAP@R ranges from/);
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
