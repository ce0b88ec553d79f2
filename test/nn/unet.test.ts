import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { before, describe, it } from 'node:test';
import { generateMasks, renderMicrograph } from '../../src/data/index.js';
import { initEngine, tf } from '../../src/engine/index.js';
import { loadModel, saveModel } from '../../src/nn/io.js';
import { diceScore, predictMasks, segmentationLoss, trainSegmenter, unet } from '../../src/nn/unet.js';
import { throwsInput } from '../helpers.js';

describe('U-Net segmenter', () => {
  before(async () => {
    await initEngine();
  });

  it('diceScore equals hand-computed values, pooled and per image', () => {
    // P = {0, 1, 2}, T = {1, 2, 3}: 2·2 / (3 + 3).
    assert.equal(diceScore([0.9, 0.8, 0.7, 0.1], [0, 1, 1, 1]), 4 / 6);
    assert.equal(diceScore([0.9, 0.8, 0.7, 0.1], [0, 1, 1, 1], { threshold: 0.75 }), 2 / 5);
    assert.equal(diceScore([0, 0], [0, 0]), 1);
    assert.equal(diceScore([1, 1], [0, 0]), 0);
    // Per image: image 0 perfect (1), image 1 P = {0}, T = {0, 1} → 2/3; mean 5/6. Pooled: 2·2 / (2 + 3) = 4/5.
    const p = [1, 0, 1, 0];
    const t = [1, 0, 1, 1];
    assert.equal(diceScore(p, t, { pixelsPerImage: 2 }), (1 + 2 / 3) / 2);
    assert.equal(diceScore(p, t), 4 / 5);
    throwsInput(() => diceScore([1, 0], [1]), 'truth', '2 target values');
    throwsInput(() => diceScore(p, t, { pixelsPerImage: 3 }), 'pixelsPerImage', 'divisor');
  });

  it('unet: 2 levels down and up with skips, sigmoid output, same seed same weights, save/load round-trips', async () => {
    const n0 = tf.memory().numTensors;
    const m = unet({ inputShape: [16, 16, 1], filters: 2, seed: 3 });
    assert.deepEqual(m.outputs[0]?.shape, [null, 16, 16, 1]);
    assert.deepEqual(m.getLayer('mid_b').outputShape, [null, 4, 4, 8]);
    assert.deepEqual(m.getLayer('skip1').outputShape, [null, 16, 16, 4]);
    const conv = (cin: number, cout: number, k = 3) => k * k * cin * cout + cout;
    const params = conv(1, 2) + conv(2, 2) + conv(2, 4) + conv(4, 4) + conv(4, 8) + conv(8, 8) + conv(8, 4, 2) + conv(8, 4) + conv(4, 4) + conv(4, 2, 2) + conv(4, 2) + conv(2, 2) + conv(2, 1, 1);
    assert.equal(m.countParams(), params);
    const same = unet({ inputShape: [16, 16, 1], filters: 2, seed: 3 });
    assert.deepEqual(m.getWeights().map((w) => Array.from(w.dataSync())), same.getWeights().map((w) => Array.from(w.dataSync())));
    const x = tf.randomUniform([2, 16, 16, 1], 0, 1, 'float32', 1) as tf.Tensor4D;
    const p = predictMasks(m, x, 1);
    assert.ok(p.every((v) => v > 0 && v < 1));
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'eccvkit-unet-'));
    await saveModel(m, dir);
    const back = await loadModel(dir);
    assert.deepEqual(predictMasks(back, x), p);
    fs.rmSync(dir, { recursive: true, force: true });
    tf.dispose([x]);
    [m, same, back].forEach((model) => model.dispose());
    assert.equal(tf.memory().numTensors, n0, 'tensors left behind');
    throwsInput(() => unet({ inputShape: [18, 16, 1] }), 'inputShape[0]', 'multiple of 4');
  });

  it('trainSegmenter lowers the loss on micrograph pairs and beats the untrained net; tensor count flat', () => {
    const n0 = tf.memory().numTensors;
    const masks = generateMasks({ kind: 'membranes', count: 16, seed: 1, size: 32 });
    const images = renderMicrograph(masks, { seed: 1 });
    const x = tf.tensor4d(images, [16, 32, 32, 1]);
    const y = tf.tensor4d(masks.images, [16, 32, 32, 1]);
    const untrained = unet({ inputShape: [32, 32, 1], filters: 4, seed: 2 });
    const diceBefore = diceScore(predictMasks(untrained, x), masks.images);
    untrained.dispose();
    const { model, losses } = trainSegmenter(x, y, { epochs: 20, batchSize: 4, filters: 4, seed: 2, learningRate: 1e-2 });
    assert.equal(losses.length, 80);
    const mean = (a: number[]) => a.reduce((s, v) => s + v, 0) / a.length;
    const first = mean(losses.slice(0, 8));
    const last = mean(losses.slice(-8));
    assert.ok(last < first - 0.2, `loss ${first} → ${last}`);
    const dice = diceScore(predictMasks(model, x), masks.images);
    assert.ok(dice > 0.5 && dice > diceBefore + 0.2, `Dice ${diceBefore} → ${dice} after training`);
    const loss = tf.tidy(() => segmentationLoss(model.predict(x) as tf.Tensor, y).dataSync()[0] as number);
    assert.ok(loss < first, `loss of the trained net ${loss}`);
    model.dispose();
    tf.dispose([x, y]);
    assert.equal(tf.memory().numTensors, n0, 'tensors left behind');
    const bad = tf.zeros([2, 8, 8, 1]) as tf.Tensor4D;
    const other = tf.zeros([3, 8, 8, 1]) as tf.Tensor4D;
    throwsInput(() => trainSegmenter(bad, other), 'masks', '[2,8,8]');
    throwsInput(() => trainSegmenter(bad, bad, { epochs: 0 }), 'epochs', 'integer ≥ 1');
    tf.dispose([bad, other]);
  });
});
