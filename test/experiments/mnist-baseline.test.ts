/**
 * mnist-baseline in-process: flat tensor count across training, same seed
 * same numbers, and a config round trip through the runner.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { initEngine, resolveConfig, runExperiment, getExperiment, tf, RunStore } from '../../src/index.js';

describe('mnist-baseline', () => {
  let dir: string;
  let store: RunStore;
  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'eccvkit-mnist-'));
    store = RunStore.open(path.join(dir, 'eccvkit.db'));
    await initEngine({ backend: 'wasm' });
  });
  after(() => {
    store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const settings = ['epochs=2', 'trainSize=256', 'batchSize=32', 'filters=[4,8]', 'hidden=16'];

  it('resolves presets and overrides into a validated config', () => {
    const c = resolveConfig(getExperiment('mnist-baseline'), 'quick', settings) as unknown as Record<string, unknown>;
    assert.equal(c.epochs, 2);
    assert.deepEqual(c.filters, [4, 8]);
    assert.equal(c.learningRate, 1e-3);
    const full = resolveConfig(getExperiment('mnist-baseline'), 'full') as unknown as Record<string, unknown>;
    assert.equal(full.epochs, 15);
  });

  it('trains without leaking tensors, and the same seed gives the same numbers', async () => {
    const before = tf.memory().numTensors;
    const a = await runExperiment('mnist-baseline', { store, settings, backend: 'wasm' });
    const afterFirst = tf.memory().numTensors;
    const b = await runExperiment('mnist-baseline', { store, settings, backend: 'wasm', force: true });
    assert.equal(afterFirst, before, 'tensors left behind by a run');
    assert.equal(tf.memory().numTensors, before);
    assert.equal(a.status, 'finished');
    assert.notEqual(a.run.id, b.run.id);
    for (const key of ['test_accuracy', 'test_loss', 'steps']) assert.equal(b.metrics[key], a.metrics[key], key);
    assert.deepEqual(
      store.metrics(b.run.id, 'train_loss').map((p) => p.value),
      store.metrics(a.run.id, 'train_loss').map((p) => p.value),
    );
    const c = await runExperiment('mnist-baseline', { store, settings: [...settings, 'seed=1'], backend: 'wasm' });
    assert.notEqual(c.metrics.test_loss, a.metrics.test_loss);
  });
});
