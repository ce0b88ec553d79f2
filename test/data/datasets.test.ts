import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import {
  checkImageDataset,
  FASHION_MNIST_CLASSES,
  FASHION_MNIST_DEFAULT_DIR,
  fashionMnistAvailable,
  loadFashionMnist,
  loadMnistDigits,
  MNIST_DIGIT_COUNTS,
  subset,
  toTensors,
  type ImageDataset,
} from '../../src/data/index.js';
import { initEngine, tf } from '../../src/engine/index.js';
import { throwsInput } from '../helpers.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'eccvkit-ds-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));


/** A big-endian IDX uint8 file. */
function idx(shape: number[], data: number[]): Buffer {
  const head = Buffer.alloc(4 + 4 * shape.length);
  head.set([0, 0, 0x08, shape.length]);
  shape.forEach((d, k) => head.writeUInt32BE(d, 4 + 4 * k));
  return Buffer.concat([head, Buffer.from(data)]);
}

/** A tiny dataset: three 1×2×1 images. */
const tiny = (): ImageDataset => ({
  name: 'tiny',
  images: Float32Array.from([0, 0.1, 0.2, 0.3, 0.4, 0.5]),
  labels: Int32Array.from([0, 1, 1]),
  shape: [1, 2, 1],
  numClasses: 2,
  classNames: ['a', 'b'],
});

describe('loadMnistDigits', () => {
  it('returns the 10,000 digits of the mnist package in digit order', () => {
    const ds = loadMnistDigits();
    checkImageDataset(ds);
    assert.equal(ds.name, 'mnist-digits');
    assert.deepEqual(ds.shape, [28, 28, 1]);
    assert.equal(ds.labels.length, 10000);
    assert.equal(ds.images.length, 10000 * 784);
    assert.deepEqual(ds.classNames, ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
    const counts = new Array(10).fill(0);
    for (const l of ds.labels) counts[l]++;
    assert.deepEqual(counts, [1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978]);
    assert.deepEqual(counts, [...MNIST_DIGIT_COUNTS]);
    for (let i = 1; i < ds.labels.length; i++) assert.ok(ds.labels[i - 1]! <= ds.labels[i]!, 'labels sorted by digit');
    let lo = Infinity;
    let hi = -Infinity;
    for (const v of ds.images) {
      lo = Math.min(lo, v);
      hi = Math.max(hi, v);
    }
    assert.equal(lo, 0);
    assert.equal(hi, 1);
    // 0.json's values 150..159 are 0,0,0,0,0.188,0.933,0.988,0.988,0.988,0.929 (row 5 of the first zero).
    assert.deepEqual(Array.from(ds.images.subarray(154, 158), (v) => Math.round(v * 1000)), [188, 933, 988, 988]);
  });

  it('returns independent copies on every call', () => {
    const a = loadMnistDigits();
    a.images[154] = 7;
    a.labels[0] = 9;
    const b = loadMnistDigits();
    assert.equal(Math.round(b.images[154]! * 1000), 188);
    assert.equal(b.labels[0], 0);
  });
});

describe('loadFashionMnist from IDX fixtures', () => {
  const dir = path.join(tmp, 'fm');
  before(() => {
    fs.mkdirSync(dir);
    // Train: 3 images of 2×2, gzipped (as Debian ships them); test: 2 images, plain, with the dotted name spelling.
    fs.writeFileSync(path.join(dir, 'train-images-idx3-ubyte.gz'), gzipSync(idx([3, 2, 2], [0, 51, 102, 255, 1, 2, 3, 4, 5, 6, 7, 8])));
    fs.writeFileSync(path.join(dir, 'train-labels-idx1-ubyte.gz'), gzipSync(idx([3], [9, 0, 3])));
    fs.writeFileSync(path.join(dir, 't10k-images-idx3-ubyte'), idx([2, 2, 2], [255, 255, 0, 0, 10, 20, 30, 40]));
    fs.writeFileSync(path.join(dir, 't10k-labels.idx1-ubyte'), idx([2], [1, 8]));
  });

  it('reads gzipped and plain files, scales pixels by 1/255 and names the classes', () => {
    assert.ok(fashionMnistAvailable(dir));
    const { train, test } = loadFashionMnist({ dataDir: dir });
    checkImageDataset(train);
    checkImageDataset(test);
    assert.equal(train.name, 'fashion-mnist-train');
    assert.deepEqual(train.shape, [2, 2, 1]);
    assert.deepEqual(Array.from(train.labels), [9, 0, 3]);
    assert.deepEqual(Array.from(train.images.subarray(0, 4)), [0, 0.2, 0.4, 1].map((v) => Math.fround(v)));
    assert.deepEqual(Array.from(test.labels), [1, 8]);
    assert.deepEqual(Array.from(test.images.subarray(0, 4)), [1, 1, 0, 0]);
    assert.equal(test.classNames[8], 'Bag');
    assert.equal(train.classNames[9], 'Ankle boot');
    assert.equal(FASHION_MNIST_CLASSES.length, 10);
  });

  it('explains how to get the data when files are missing', () => {
    const empty = path.join(tmp, 'empty');
    fs.mkdirSync(empty);
    assert.equal(fashionMnistAvailable(empty), false);
    assert.equal(fashionMnistAvailable(path.join(tmp, 'nowhere')), false);
    throwsInput(
      () => loadFashionMnist({ dataDir: empty }),
      '--data-dir',
      empty,
      'apt-get install dataset-fashion-mnist',
      'train-images-idx3-ubyte',
      't10k-labels-idx1-ubyte',
    );
    const partial = path.join(tmp, 'partial');
    fs.mkdirSync(partial);
    for (const f of fs.readdirSync(dir).filter((f) => !f.startsWith('t10k-labels'))) fs.copyFileSync(path.join(dir, f), path.join(partial, f));
    throwsInput(() => loadFashionMnist({ dataDir: partial }), 'missing: t10k-labels-idx1-ubyte(.gz)');
  });

  it('rejects label counts that do not match, labels ≥ 10 and non-image files', () => {
    const bad = path.join(tmp, 'bad');
    fs.cpSync(dir, bad, { recursive: true });
    fs.writeFileSync(path.join(bad, 't10k-labels.idx1-ubyte'), idx([3], [1, 8, 2]));
    throwsInput(() => loadFashionMnist({ dataDir: bad }), '3 labels', 'expected 2 labels');
    fs.writeFileSync(path.join(bad, 't10k-labels.idx1-ubyte'), idx([2], [1, 10]));
    throwsInput(() => loadFashionMnist({ dataDir: bad }), 'label 10 at index 1', 'labels 0..9');
    fs.writeFileSync(path.join(bad, 't10k-images-idx3-ubyte'), idx([8], [1, 2, 3, 4, 5, 6, 7, 8]));
    throwsInput(() => loadFashionMnist({ dataDir: bad }), 'images file', 'uint8 [8]', 'idx3-ubyte');
  });
});

describe('loadFashionMnist on the Debian package data', () => {
  const missing = fashionMnistAvailable() ? false : `Fashion-MNIST is not installed in ${FASHION_MNIST_DEFAULT_DIR} (apt-get install dataset-fashion-mnist)`;
  it('has 60,000 + 10,000 images of 28×28 with 6,000 / 1,000 per class', { skip: missing }, () => {
    const { train, test } = loadFashionMnist();
    assert.equal(train.labels.length, 60000);
    assert.equal(test.labels.length, 10000);
    assert.deepEqual(train.shape, [28, 28, 1]);
    assert.deepEqual(test.shape, [28, 28, 1]);
    assert.equal(train.images.length, 60000 * 784);
    const count = (ls: Int32Array): number[] => {
      const c = new Array(10).fill(0);
      for (const l of ls) c[l]++;
      return c;
    };
    assert.deepEqual(count(train.labels), new Array(10).fill(6000));
    assert.deepEqual(count(test.labels), new Array(10).fill(1000));
    // The first training image is an ankle boot whose 784 bytes sum to 76247.
    assert.deepEqual(Array.from(train.labels.subarray(0, 5)), [9, 0, 0, 3, 0]);
    assert.deepEqual(Array.from(test.labels.subarray(0, 5)), [9, 2, 1, 1, 6]);
    let sum = 0;
    for (let k = 0; k < 784; k++) sum += train.images[k]! * 255;
    assert.equal(Math.round(sum), 76247);
  });
});

describe('subset and toTensors', () => {
  it('subset copies the chosen images in order, repeats allowed', () => {
    const ds = tiny();
    const s = subset(ds, [2, 0, 2]);
    assert.deepEqual(Array.from(s.images), Array.from(Float32Array.from([0.4, 0.5, 0, 0.1, 0.4, 0.5])));
    assert.deepEqual(Array.from(s.labels), [1, 0, 1]);
    assert.equal(s.numClasses, 2);
    assert.equal(s.name, 'tiny[subset]');
    s.images[0] = 9;
    assert.equal(ds.images[4], Math.fround(0.4), 'no aliasing');
    throwsInput(() => subset(ds, [0, 3]), 'indices[1]', 'got 3', '[0, 3)');
  });

  it('toTensors builds NHWC float32 images and int32 labels', async () => {
    await initEngine({ backend: 'cpu' });
    const before = tf.memory().numTensors;
    const { x, y } = toTensors(tiny(), [1, 0]);
    assert.deepEqual(x.shape, [2, 1, 2, 1]);
    assert.equal(x.dtype, 'float32');
    assert.equal(y.dtype, 'int32');
    assert.deepEqual(Array.from(x.dataSync()), Array.from(Float32Array.from([0.2, 0.3, 0, 0.1])));
    assert.deepEqual(Array.from(y.dataSync()), [1, 0]);
    x.dispose();
    y.dispose();
    const all = toTensors(tiny());
    assert.deepEqual(all.x.shape, [3, 1, 2, 1]);
    assert.deepEqual(Array.from(all.y.dataSync()), [0, 1, 1]);
    tf.dispose([all.x, all.y]);
    assert.equal(tf.memory().numTensors, before);
    throwsInput(() => toTensors(tiny(), [-1]), 'indices[0]');
  });

  it('checkImageDataset catches inconsistent datasets', () => {
    throwsInput(() => checkImageDataset({ ...tiny(), images: new Float32Array(5) }), 'dataset.images', '3 × 2 values');
    throwsInput(() => checkImageDataset({ ...tiny(), labels: Int32Array.from([0, 1, 2]) }), 'dataset.labels[2]', '[0, 2)');
    throwsInput(() => checkImageDataset({ ...tiny(), classNames: ['a'] }), 'dataset.classNames');
  });
});
