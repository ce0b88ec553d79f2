import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createRng, initEngine, loadModel, loadOptimizerState, saveModel, saveOptimizerState, tf } from '../../src/index.js';

function smallNet(seed: number): tf.Sequential {
  const rng = createRng(seed);
  return tf.sequential({
    layers: [
      tf.layers.conv2d({ inputShape: [6, 6, 1], filters: 3, kernelSize: 3, activation: 'relu', kernelInitializer: tf.initializers.glorotUniform({ seed: rng.seedInt() }) }),
      tf.layers.flatten(),
      tf.layers.dense({ units: 4, kernelInitializer: tf.initializers.glorotUniform({ seed: rng.seedInt() }) }),
    ],
  });
}

describe('model and optimizer files', () => {
  let dir: string;
  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'eccvkit-io-'));
    await initEngine({ backend: 'wasm' });
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('a saved model loads with the same predictions, in tfjs layout', async () => {
    const model = smallNet(1);
    const x = tf.tidy(() => tf.randomUniform([2, 6, 6, 1], 0, 1, 'float32', 3));
    await saveModel(model, path.join(dir, 'm'));
    assert.deepEqual(fs.readdirSync(path.join(dir, 'm')).sort(), ['model.json', 'weights.bin']);
    const json = JSON.parse(fs.readFileSync(path.join(dir, 'm', 'model.json'), 'utf8')) as { weightsManifest: Array<{ paths: string[] }> };
    assert.deepEqual(json.weightsManifest[0]?.paths, ['./weights.bin']);
    const loaded = await loadModel(path.join(dir, 'm'));
    const [a, b] = tf.tidy(() => [model.predict(x) as tf.Tensor, loaded.predict(x) as tf.Tensor]);
    assert.deepEqual(Array.from(b!.dataSync()), Array.from(a!.dataSync()));
    tf.dispose([a!, b!, x]);
    model.dispose();
    loaded.dispose();
  });

  it('Adam restored from disk continues exactly as the original would (its β₂ᵗ product kept bit for bit after 40 steps)', async () => {
    const x = tf.tidy(() => tf.randomUniform([4, 6, 6, 1], 0, 1, 'float32', 5));
    const y = tf.tidy(() => tf.randomUniform([4, 4], 0, 1, 'float32', 6));
    const loss = (m: tf.LayersModel) => () => tf.losses.meanSquaredError(y, m.apply(x) as tf.Tensor) as tf.Scalar;
    const original = smallNet(2);
    const opt = tf.train.adam(0.05);
    for (let i = 0; i < 40; i++) opt.minimize(loss(original));
    await saveModel(original, path.join(dir, 'c', 'model'));
    await saveOptimizerState(opt, path.join(dir, 'c', 'optimizer'));
    const resumed = smallNet(99);
    const fromDisk = await loadModel(path.join(dir, 'c', 'model'));
    resumed.setWeights(fromDisk.getWeights());
    fromDisk.dispose();
    const opt2 = tf.train.adam(0.05);
    await loadOptimizerState(opt2, path.join(dir, 'c', 'optimizer'));
    opt.minimize(loss(original));
    opt2.minimize(loss(resumed));
    const wa = original.getWeights().map((w) => Array.from(w.dataSync()));
    const wb = resumed.getWeights().map((w) => Array.from(w.dataSync()));
    assert.deepEqual(wb, wa);
    await assert.rejects(loadOptimizerState(tf.train.sgd(0.1), path.join(dir, 'c', 'optimizer')), /optimizer: got "SGD", expected the optimizer class the state was saved from \(Adam\)/);
    await assert.rejects(loadModel(path.join(dir, 'missing')), /model directory: got .*missing", expected a folder containing model.json/);
  });
});
