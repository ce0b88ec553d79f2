import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { tf } from '../../src/engine/index.js';
import { conv4, featureExtractor, resnet12 } from '../../src/nn/backbones.js';
import { DropBlock } from '../../src/nn/dropblock.js';
import { loadModel, saveModel } from '../../src/nn/io.js';
import { onBackend, randomValues, throwsInput } from '../helpers.js';

test('conv4: parameter count by hand, 28×28 → width-d features, logits over the classes', async () => {
  await onBackend('cpu', () => {
    const m = conv4({ width: 8, classes: 5, seed: 1 });
    // conv1 9·1·8+8, then 3 × (9·8·8+8), four BN layers with 4·8 (γ, β, moving mean and variance), head 8·5+5.
    assert.equal(m.countParams(), 80 + 3 * 584 + 4 * 32 + 45);
    assert.deepEqual(m.outputs[0]?.shape, [null, 5]);
    const f = featureExtractor(m);
    assert.deepEqual(f.outputs[0]?.shape, [null, 8]);
    // 84×84 RGB (miniImageNet) → 5·5·width, as RFS's Conv-4 (1600-d at width 64).
    const big = conv4({ inputShape: [84, 84, 3], classes: 64, seed: 1 });
    assert.deepEqual(featureExtractor(big).outputs[0]?.shape, [null, 1600]);
    big.dispose();
    m.dispose();
  });
});

test('resnet12: 84×84 gives 42 → 21 → 10 → 5 and a widths[3]-d GAP embedding; 28×28 ends at 1×1', async () => {
  await onBackend('cpu', () => {
    const big = resnet12({ inputShape: [84, 84, 3], classes: 64, seed: 2, widths: [4, 4, 4, 6] });
    assert.deepEqual([1, 2, 3, 4].map((s) => big.getLayer(`stage${s}_pool`).outputShape), [[null, 42, 42, 4], [null, 21, 21, 4], [null, 10, 10, 4], [null, 5, 5, 6]]);
    assert.deepEqual(featureExtractor(big).outputs[0]?.shape, [null, 6]);
    // Block parameters: three 3×3 convs without bias, a 1×1 shortcut, four BN layers (γ, β, mean, var).
    const block = (cin: number, w: number) => 9 * cin * w + 9 * w * w * 2 + cin * w + 4 * 4 * w;
    assert.equal(big.countParams(), block(3, 4) + block(4, 4) + block(4, 4) + block(4, 6) + 6 * 64 + 64);
    big.dispose();
    const small = resnet12({ classes: 5, seed: 2, widths: [4, 4, 4, 8] });
    assert.deepEqual(small.getLayer('stage4_pool').outputShape, [null, 1, 1, 8]);
    assert.equal((small.getLayer('stage1_relu1').getConfig() as { alpha: number }).alpha, 0.1);
    small.dispose();
  });
});

test('backbones: same seed same weights; inference is deterministic (dropout off); save and load round-trips', async () => {
  await onBackend('cpu', async () => {
    const a = resnet12({ classes: 3, seed: 5, widths: [4, 4, 4, 4] });
    const b = resnet12({ classes: 3, seed: 5, widths: [4, 4, 4, 4] });
    const c = resnet12({ classes: 3, seed: 6, widths: [4, 4, 4, 4] });
    const wa = a.getWeights().map((w) => Array.from(w.dataSync()));
    assert.deepEqual(wa, b.getWeights().map((w) => Array.from(w.dataSync())));
    assert.notDeepEqual(wa, c.getWeights().map((w) => Array.from(w.dataSync())));
    const x = tf.tensor4d(randomValues(2 * 28 * 28, 1, 0, 1), [2, 28, 28, 1]);
    const p1 = a.predict(x) as tf.Tensor;
    const p2 = a.predict(x) as tf.Tensor;
    assert.deepEqual(Array.from(p1.dataSync()), Array.from(p2.dataSync()));
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'eccvkit-backbone-'));
    await saveModel(a, dir);
    const loaded = await loadModel(dir);
    const p3 = loaded.predict(x) as tf.Tensor;
    assert.deepEqual(Array.from(p3.dataSync()), Array.from(p1.dataSync()));
    const f = featureExtractor(loaded);
    const feats = f.predict(x) as tf.Tensor;
    assert.deepEqual(feats.shape, [2, 4]);
    fs.rmSync(dir, { recursive: true, force: true });
    tf.dispose([x, p1, p2, p3, feats]);
    for (const m of [a, b, c, loaded]) m.dispose();
  });
});

test('backbones: bad options name the argument', () => {
  throwsInput(() => conv4({ classes: 1, seed: 0 }), 'classes');
  throwsInput(() => resnet12({ classes: 5, seed: 0, widths: [1, 2, 3] as never }), 'widths', 'four positive integers');
  throwsInput(() => conv4({ classes: 5, seed: 0, inputShape: [28, 28] as never }), 'inputShape');
  const plain = tf.sequential({ layers: [tf.layers.dense({ units: 1, inputShape: [2] })] });
  throwsInput(() => featureExtractor(plain), 'model', "layer named 'features'");
  plain.dispose();
});

test('DropBlock: identity in inference; in training zeros come in whole b×b blocks and the rest is scaled by numel / kept', async () => {
  await onBackend('cpu', () => {
    const layer = new DropBlock({ blockSize: 3, dropRate: 0.3, rampSteps: 0, seed: 4 });
    const x = tf.ones([2, 12, 12, 3]);
    const inf = layer.apply(x) as tf.Tensor;
    assert.deepEqual(Array.from(inf.dataSync()), Array.from(x.dataSync()));
    const out = layer.apply(x, { training: true }) as tf.Tensor;
    const v = out.dataSync();
    const zeros = v.filter((t) => t === 0).length;
    assert.ok(zeros > 0, 'nothing dropped');
    const scale = v.length / (v.length - zeros);
    for (const t of v) assert.ok(t === 0 || Math.abs(t - scale) < 1e-5, `kept value ${t} vs scale ${scale}`);
    // Every zero lies in some all-zero 3×3 square of its map (blocks are whole squares).
    const at = (n: number, i: number, j: number, c: number) => v[((n * 12 + i) * 12 + j) * 3 + c] as number;
    for (let n = 0; n < 2; n++) for (let c = 0; c < 3; c++) for (let i = 0; i < 12; i++) for (let j = 0; j < 12; j++) {
      if (at(n, i, j, c) !== 0) continue;
      let inBlock = false;
      for (let a = Math.max(0, i - 2); a <= Math.min(9, i) && !inBlock; a++) for (let b = Math.max(0, j - 2); b <= Math.min(9, j) && !inBlock; b++) {
        let all = true;
        for (let di = 0; di < 3; di++) for (let dj = 0; dj < 3; dj++) all &&= at(n, a + di, b + dj, c) === 0;
        inBlock = all;
      }
      assert.ok(inBlock, `zero at ${n},${i},${j},${c} is not inside a dropped 3×3 block`);
    }
    tf.dispose([x, inf, out]);
  });
});

test('DropBlock: RFS keep-rate ramp and the dropped share near 1 − keep', async () => {
  const ramp = new DropBlock({ dropRate: 0.1 });
  assert.equal(ramp.keepRate(0), 1);
  assert.ok(Math.abs(ramp.keepRate(20000) - 0.95) < 1e-12);
  assert.ok(Math.abs(ramp.keepRate(10 ** 6) - 0.9) < 1e-12);
  await onBackend('cpu', () => {
    const layer = new DropBlock({ blockSize: 5, dropRate: 0.1, rampSteps: 0, seed: 1 });
    const x = tf.ones([8, 40, 40, 8]);
    const out = layer.apply(x, { training: true }) as tf.Tensor;
    const v = out.dataSync();
    const dropped = v.filter((t) => t === 0).length / v.length;
    // γ is set so the expected dropped share is 1 − keep before overlaps, which lower it a little.
    assert.ok(dropped > 0.07 && dropped < 0.105, `dropped share ${dropped}`);
    tf.dispose([x, out]);
  });
  throwsInput(() => new DropBlock({ dropRate: 1 }), 'dropRate');
});

test('resnet12 trains through its DropBlock stages: finite gradients for every weight, the ramp advances', async () => {
  await onBackend('cpu', () => {
    const m = resnet12({ classes: 3, seed: 7, widths: [4, 4, 4, 4], dropRate: 0.5, dropBlockSize: 2, dropBlockRampSteps: 0 });
    const x = tf.tensor4d(randomValues(2 * 28 * 28, 3, 0, 1), [2, 28, 28, 1]);
    const { value, grads } = tf.variableGrads(() => tf.sum(tf.square(m.apply(x, { training: true }) as tf.Tensor)) as tf.Scalar);
    for (const [name, g] of Object.entries(grads)) assert.ok(g.dataSync().every(Number.isFinite), name);
    assert.ok(Object.keys(grads).length >= m.trainableWeights.length);
    assert.equal((m.getLayer('stage3_dropblock') as DropBlock).step, 1);
    tf.dispose([x, value, ...Object.values(grads)]);
    m.dispose();
  });
});
