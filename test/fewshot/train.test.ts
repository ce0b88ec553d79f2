import assert from 'node:assert/strict';
import { test } from 'node:test';
import { generateGlyphs, type ImageDataset } from '../../src/data/index.js';
import { createRng, initEngine, tf, type BackendName } from '../../src/engine/index.js';
import { augmentImages, embedDataset, stepLearningRate, trainClassifier, trainProtoNet } from '../../src/fewshot/index.js';
import { conv4, featureExtractor } from '../../src/nn/backbones.js';
import { assertClose, onBackend, randomValues } from '../helpers.js';

async function fastBackend(): Promise<BackendName> {
  try {
    await initEngine({ backend: 'native' });
    return 'native';
  } catch {
    return 'cpu';
  }
}

test('augmentImages: each output is its input shifted by at most the padding (zeros shifted in); flips mirror', async () => {
  await onBackend('cpu', () => {
    const h = 6;
    const w = 5;
    const vals = randomValues(3 * h * w, 1, 0.1, 1);
    const x = tf.tensor4d(vals, [3, h, w, 1]);
    const out = augmentImages(x, createRng(2), { padding: 2 });
    const o = out.dataSync();
    const at = (a: ArrayLike<number>, n: number, i: number, j: number) => (i < 0 || j < 0 || i >= h || j >= w ? 0 : (a[n * h * w + i * w + j] as number));
    for (let n = 0; n < 3; n++) {
      let found = false;
      for (let dy = -2; dy <= 2 && !found; dy++) {
        for (let dx = -2; dx <= 2 && !found; dx++) {
          let ok = true;
          for (let i = 0; i < h && ok; i++) for (let j = 0; j < w && ok; j++) ok = Math.abs(at(o, n, i, j) - at(vals, n, i + dy, j + dx)) < 1e-6;
          found = ok;
        }
      }
      assert.ok(found, `image ${n} is not a shift of its input`);
    }
    const flipped = augmentImages(x, createRng(3), { padding: 0, flip: true });
    const f = flipped.dataSync();
    for (let n = 0; n < 3; n++) {
      let same = true;
      let mirror = true;
      for (let i = 0; i < h; i++) for (let j = 0; j < w; j++) {
        same &&= f[n * h * w + i * w + j] === at(vals, n, i, j);
        mirror &&= f[n * h * w + i * w + j] === at(vals, n, i, w - 1 - j);
      }
      assert.ok(same || mirror);
    }
    tf.dispose([x, out, flipped]);
  });
});

test('step schedule: RFS decays ×0.1 at epochs 60 and 80 of 100', () => {
  assert.equal(stepLearningRate(59, 100, 0.05, [0.6, 0.8], 0.1), 0.05);
  assertClose([stepLearningRate(60, 100, 0.05, [0.6, 0.8], 0.1), stepLearningRate(80, 100, 0.05, [0.6, 0.8], 0.1)], [0.005, 0.0005], 1e-15);
});

/** One-pixel images and a bias-free dense head: the SGD step is hand-computable. */
function onePixel(): { data: ImageDataset; model: tf.Sequential } {
  const data: ImageDataset = { name: 'one', images: Float32Array.from([2]), labels: Int32Array.from([0]), shape: [1, 1, 1], numClasses: 2, classNames: ['a', 'b'] };
  const model = tf.sequential({ layers: [tf.layers.flatten({ inputShape: [1, 1, 1] }), tf.layers.dense({ units: 2, useBias: false, kernelInitializer: 'zeros' })] });
  const w = tf.tensor2d([[0.3, -0.2]]);
  model.layers[1]?.setWeights([w]);
  w.dispose();
  return { data, model };
}

test('trainClassifier: one SGD step equals W − η(x(p − y) + λW) by hand', async () => {
  await onBackend('cpu', () => {
    const { data, model } = onePixel();
    trainClassifier(model, data, { epochs: 1, batchSize: 1, learningRate: 0.1, momentum: 0, weightDecay: 0.01, augment: false, seed: 0 });
    const p0 = Math.exp(0.6) / (Math.exp(0.6) + Math.exp(-0.4));
    const expected = [0.3 - 0.1 * (2 * (p0 - 1) + 0.01 * 0.3), -0.2 - 0.1 * (2 * (1 - p0) + 0.01 * -0.2)];
    const wt = model.getWeights()[0] as tf.Tensor;
    assertClose(wt.dataSync(), expected, 1e-6, 'weights after one step');
    model.dispose();
  });
});

test('trainClassifier with a teacher: KL-only to an identical teacher leaves the weights; CE-only equals plain training', async () => {
  await onBackend('cpu', () => {
    const { data, model } = onePixel();
    const { model: teacher } = onePixel();
    trainClassifier(model, data, { epochs: 3, batchSize: 1, momentum: 0, weightDecay: 0, augment: false, seed: 0, teacher: { model: teacher, ceWeight: 0, klWeight: 1 } });
    assertClose((model.getWeights()[0] as tf.Tensor).dataSync(), [0.3, -0.2], 1e-7, 'weights');
    const plain = onePixel().model;
    trainClassifier(model, data, { epochs: 2, batchSize: 1, momentum: 0, augment: false, seed: 0, teacher: { model: teacher, ceWeight: 1, klWeight: 0 } });
    trainClassifier(plain, data, { epochs: 2, batchSize: 1, momentum: 0, augment: false, seed: 0 });
    assertClose((model.getWeights()[0] as tf.Tensor).dataSync(), (plain.getWeights()[0] as tf.Tensor).dataSync(), 1e-7, 'CE-only distill vs plain');
    // With a different teacher, the KL term pulls the student's softmax(·/T) toward the teacher's.
    const tw = tf.tensor2d([[-1, 1]]);
    teacher.layers[1]?.setWeights([tw]);
    tw.dispose();
    const margin = () => {
      const z = tf.tidy(() => model.predict(tf.tensor4d([2], [1, 1, 1, 1])) as tf.Tensor);
      const v = z.dataSync();
      z.dispose();
      return (v[1] as number) - (v[0] as number);
    };
    const before = margin();
    trainClassifier(model, data, { epochs: 20, batchSize: 1, momentum: 0, weightDecay: 0, augment: false, seed: 0, teacher: { model: teacher, ceWeight: 0, klWeight: 1 } });
    // Teacher logits (−2, 2): the student's margin z₁ − z₀ moves from −1 toward 4.
    assert.ok(margin() > before + 1, `margin ${before} → ${margin()}`);
    for (const m of [model, teacher, plain]) m.dispose();
  });
});

test('trainClassifier and trainProtoNet on glyphs: the loss falls, runs are repeatable and the tensor count stays flat', async () => {
  const all = generateGlyphs({ classes: 5, perClass: 8, seed: 1, size: 16 });
  // The native (oneDNN) backend is several times faster for conv training; cpu where it is not built.
  await onBackend(await fastBackend(), () => {
    const run = () => {
      const m = conv4({ inputShape: [16, 16, 1], width: 8, classes: 5, seed: 3 });
      const before = tf.memory().numTensors;
      const losses = trainClassifier(m, all, { epochs: 5, batchSize: 10, seed: 4 });
      assert.equal(tf.memory().numTensors, before, 'trainClassifier leaked tensors');
      const feats = embedDataset(m, all);
      m.dispose();
      return { losses, feats };
    };
    const a = run();
    const b = run();
    assert.deepEqual(a.losses, b.losses);
    assert.ok((a.losses.at(-1) as number) < 0.7 * (a.losses[0] as number), `losses ${a.losses.join(', ')}`);
    assert.equal(a.feats.cols, 8);
    const p = conv4({ inputShape: [16, 16, 1], width: 8, classes: 5, seed: 3 });
    const before = tf.memory().numTensors;
    const pl = trainProtoNet(p, all, { episodes: 30, ways: 3, shots: 1, queries: 3, seed: 5 });
    assert.equal(tf.memory().numTensors, before, 'trainProtoNet leaked tensors');
    const mean = (v: number[]) => v.reduce((s, t) => s + t, 0) / v.length;
    assert.ok(mean(pl.slice(-10)) < mean(pl.slice(0, 10)), `protonet losses ${mean(pl.slice(0, 10))} → ${mean(pl.slice(-10))}`);
    p.dispose();
  });
});

test('embedDataset: features equal the cut model\'s predictions; logits equal the model\'s', async () => {
  await onBackend('cpu', () => {
    const ds = generateGlyphs({ classes: 3, perClass: 3, seed: 2, size: 16 });
    const m = conv4({ inputShape: [16, 16, 1], width: 4, classes: 3, seed: 1 });
    const x = tf.tensor4d(ds.images, [9, 16, 16, 1]);
    const f = featureExtractor(m).predict(x) as tf.Tensor;
    const l = m.predict(x) as tf.Tensor;
    assertClose(embedDataset(m, ds, undefined, { batchSize: 4 }).data, f.dataSync(), 1e-6, 'features');
    const sub = embedDataset(m, ds, [8, 0], { output: 'logits' });
    assertClose(sub.data, [...l.dataSync().slice(24, 27), ...l.dataSync().slice(0, 3)], 1e-6, 'logits of rows 8 and 0');
    tf.dispose([x, f, l]);
    m.dispose();
  });
});
