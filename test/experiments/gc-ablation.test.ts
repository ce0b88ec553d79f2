/**
 * gc-ablation: the Student-t interval against published table values, the
 * verdict rule, and a tiny run end to end (MNIST fallback, flat tensor count,
 * same seed same numbers, the report section).
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { gcVerdict, getExperiment, initEngine, runExperiment, tf, RunStore } from '../../src/index.js';
import { throwsInput } from '../helpers.js';

describe('the verdict', () => {
  it('says helped, hurt or no difference from the paired interval', () => {
    const base = [0.8, 0.82, 0.79, 0.81, 0.8];
    const helped = gcVerdict('SGD', base.map((a, i) => a + 0.01 + 0.001 * i), base);
    assert.equal(helped.effect, 'helped');
    assert.match(helped.sentence, /^With SGD, GC helped: test accuracy changed by \+1\.20 points/);
    assert.equal(gcVerdict('Adam', base.map((a) => a - 0.02), base).effect, 'hurt');
    const mixed = gcVerdict('Adam', base.map((a, i) => a + (i % 2 === 0 ? 0.01 : -0.01)), base);
    assert.equal(mixed.effect, 'none');
    assert.match(mixed.sentence, /no difference we can detect.*includes 0/);
    throwsInput(() => gcVerdict('x', [1, 2], [1, 2, 3]), 'withGc');
  });
});

describe('gc-ablation run', () => {
  let dir: string;
  let store: RunStore;
  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'eccvkit-gc-'));
    store = RunStore.open(path.join(dir, 'eccvkit.db'));
    await initEngine({ backend: 'wasm' });
  });
  after(() => {
    store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('falls back to MNIST, leaks nothing, repeats itself and reports a verdict', async () => {
    const settings = ['seeds=2', 'trainSize=64', 'testSize=40', 'epochs=1', 'batchSize=32', 'filters=[2,2]', 'hidden=4', 'logEvery=1', `dataDir="${path.join(dir, 'no-fashion')}"`];
    const before = tf.memory().numTensors;
    const a = await runExperiment('gc-ablation', { store, settings, backend: 'wasm' });
    assert.equal(tf.memory().numTensors, before, 'tensors left behind by a run');
    assert.equal(a.status, 'finished');
    assert.equal(a.metrics.dataset, 'mnist');
    assert.match(String(a.metrics.dataset_note), /because Fashion-MNIST is not installed/);
    for (const arm of ['sgdm', 'sgdm-gc', 'adam', 'adam-gc']) {
      const acc = Number(a.metrics[`${arm}_acc_mean`]);
      assert.ok(acc >= 0 && acc <= 1, `${arm} accuracy ${acc}`);
      assert.equal(String(a.metrics[`${arm}_acc_per_seed`]).split(' ').length, 2);
      assert.equal(store.metrics(a.run.id, `train_loss/${arm}/seed1`).length, 2, `${arm}: one loss point per step`);
    }
    assert.match(String(a.metrics.verdict), /^With SGD-momentum, GC .*With Adam, GC /);

    const b = await runExperiment('gc-ablation', { store, settings, backend: 'wasm', force: true });
    for (const key of ['sgdm_acc_per_seed', 'adam-gc_acc_per_seed', 'sgdm-gc_final_train_loss', 'verdict']) assert.equal(b.metrics[key], a.metrics[key], key);

    const html = getExperiment('gc-ablation').report(b.run, store);
    assert.match(html, /Verdict\./);
    assert.match(html, /<svg/);
    assert.match(html, /SGD-momentum/);
  });
});
