/**
 * Training on your own images from the command line, end to end on tiny PNG
 * glyph folders: `fewshot pretrain` → `embed` → `fewshot evaluate` and
 * `metric train` → `embed` → `metric accuracy` give the library path's
 * numbers on the same data and seeds; an interrupted pretrain resumes to the
 * same weights; `embed` applies the model's stored preprocessing. The bad
 * inputs are in own-data-errors.test.ts.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { classDisjointSplit, generateGlyphs, loadImageFolder, MPerClassSampler, readNpy, stratifiedSplit, subset, writeImageFolder, type ImageDataset } from '../../src/data/index.js';
import { initEngine, tf } from '../../src/engine/index.js';
import { conv4, embedDataset, evaluateEpisodes, trainClassifier } from '../../src/fewshot/index.js';
import { accuracy, embed, makeLoss, trainMetricModel } from '../../src/metric/index.js';
import { smallConvNet } from '../../src/nn/small-convnet.js';
import { assertClose, runCliAsync as eccvkit } from '../helpers.js';

/** Glyph classes `from`…`from + classes − 1` as a dataset with folder-safe class names. */
function glyphs(classes: number, perClass: number, size: number, from = 0): ImageDataset {
  const all = generateGlyphs({ classes: from + classes, perClass, seed: 5, size });
  const idx = Array.from({ length: classes * perClass }, (_, i) => from * perClass + i);
  const ds = subset(all, idx);
  ds.classNames = all.classNames.map((_, c) => `g${String(c).padStart(2, '0')}`);
  return ds;
}

const json = <T>(r: { status: number; stdout: string; stderr: string }): T => {
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as T;
};

describe('training on your own images', { concurrency: true }, () => {
  let dir: string;
  let base: string;
  let novel: string;
  let big: string;
  const pretrainArgs = (data: string, out: string) => ['fewshot', 'pretrain', '--data', data, '--out', out, '--epochs', '3', '--width', '8', '--batch-size', '16', '--seed', '3', '--json'];
  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'eccvkit-own-data-'));
    base = path.join(dir, 'base');
    novel = path.join(dir, 'novel');
    big = path.join(dir, 'big');
    writeImageFolder(glyphs(8, 10, 28), base);
    writeImageFolder(glyphs(5, 8, 28, 8), novel);
    writeImageFolder(glyphs(5, 4, 64, 8), big);
    await initEngine();
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('pretrain → embed → fewshot evaluate gives the library path’s accuracy; a stopped pretrain resumes to the same weights', async () => {
    const straight = path.join(dir, 'pt');
    const split = path.join(dir, 'pt-split');
    const [a, b] = await Promise.all([eccvkit(pretrainArgs(base, straight)), eccvkit([...pretrainArgs(base, split), '--stop-after', '1'])]);
    const full = json<{ finished: boolean; history: Array<{ valAccuracy: number }> }>(a);
    assert.equal(full.finished, true);
    assert.equal(full.history.length, 3);
    assert.ok(full.history.every((e) => e.valAccuracy >= 0 && e.valAccuracy <= 1), 'a validation accuracy each epoch');
    assert.equal(json<{ finished: boolean }>(b).finished, false);
    assert.ok(!fs.existsSync(path.join(split, 'model.json')), 'no model before the run finishes');
    const resumed = json<{ finished: boolean; resumedFrom: number }>(await eccvkit(pretrainArgs(base, split)));
    assert.deepEqual([resumed.finished, resumed.resumedFrom], [true, 1]);
    assert.ok(fs.readFileSync(path.join(straight, 'weights.bin')).equals(fs.readFileSync(path.join(split, 'weights.bin'))), 'resumed weights differ from the uninterrupted run');
    const card = JSON.parse(fs.readFileSync(path.join(straight, 'eccvkit.json'), 'utf8')) as { format: string; classNames: string[]; preprocessing: { size: number[]; channels: number } };
    assert.equal(card.format, 'eccvkit-model');
    assert.deepEqual(card.classNames, ['g00', 'g01', 'g02', 'g03', 'g04', 'g05', 'g06', 'g07']);
    assert.deepEqual([card.preprocessing.size, card.preprocessing.channels], [[28, 28], 1]);

    const F = path.join(dir, 'pt-f.npy');
    const L = path.join(dir, 'pt-l.npy');
    json(await eccvkit(['embed', '--model', straight, '--images', novel, '--out', F, '--labels-out', L, '--json']));
    const evaluate = json<{ results: Array<{ mean: number; ci95: number }> }>(await eccvkit(['fewshot', 'evaluate', '--features', F, '--labels', L, '--shots', '1', '--queries', '5', '--episodes', '40', '--seed', '1', '--json']));

    // The library path: the same folder, split, seeds (split = seed, init = seed + 1, batches = seed + 2) and recipe.
    const data = loadImageFolder(base, { channels: 1 });
    const { train } = stratifiedSplit(data.labels, 0.1, 3);
    const model = conv4({ inputShape: [28, 28, 1], width: 8, classes: 8, seed: 4 });
    try {
      trainClassifier(model, subset(data, train), { epochs: 3, batchSize: 16, seed: 5, augment: { padding: 2 } });
      const novelDs = loadImageFolder(novel, { channels: 1 });
      const features = embedDataset(model, novelDs);
      const cli = readNpy(F);
      assertClose(cli.data as Float32Array, features.data, 1e-4, 'CLI features vs library features');
      assert.deepEqual(Array.from(readNpy(L).data as Int32Array), Array.from(novelDs.labels));
      const lib = evaluateEpisodes(features, novelDs.labels, { ways: 5, shots: 1, queries: 5, episodes: 40, seed: 1 }).lr as { mean: number; ci95: number };
      const got = evaluate.results[0] as { mean: number; ci95: number };
      assert.ok(Math.abs(got.mean - lib.mean) <= lib.ci95, `CLI ${got.mean} vs library ${lib.mean} ± ${lib.ci95}`);
    } finally {
      model.dispose();
    }
  });

  it('embed applies the stored preprocessing: a 28×28 model reads a folder of 64×64 images at 28×28', async () => {
    const out = path.join(dir, 'pt-pre');
    json(await eccvkit(['fewshot', 'pretrain', '--data', base, '--out', out, '--epochs', '1', '--width', '8', '--val-fraction', '0', '--json']));
    const F = path.join(dir, 'big-f.npy');
    const summary = json<{ rows: number; cols: number; preprocessing: { size: number[] } }>(await eccvkit(['embed', '--model', out, '--images', big, '--out', F, '--json']));
    assert.deepEqual([summary.rows, summary.cols, summary.preprocessing.size], [20, 8, [28, 28]]);
    const model = await (await import('../../src/nn/io.js')).loadModel(out);
    try {
      const expected = embedDataset(model, loadImageFolder(big, { channels: 1, size: [28, 28] }));
      assertClose(readNpy(F).data as Float32Array, expected.data, 1e-4, 'features of the resized images');
    } finally {
      model.dispose();
    }
  });

  it('metric train → embed → metric accuracy gives the library path’s MAP@R; a stopped run resumes to the same weights', async () => {
    const args = (out: string) => ['metric', 'train', '--data', base, '--out', out, '--loss', 'contrastive', '--set', 'negMargin=0.9', '--embedding-size', '8', '--filters', '4,8', '--m', '2', '--batch-size', '8', '--iters-per-epoch', '3', '--max-epochs', '3', '--val-fraction', '0.25', '--seed', '2', '--json'];
    const straight = path.join(dir, 'mt');
    const split = path.join(dir, 'mt-split');
    const [a, b] = await Promise.all([eccvkit(args(straight)), eccvkit([...args(split), '--stop-after', '2'])]);
    const full = json<{ finished: boolean; state: { epoch: number; bestValMapAtR: number } }>(a);
    assert.equal(full.finished, true);
    assert.equal(json<{ finished: boolean }>(b).finished, false);
    json(await eccvkit(args(split)));
    assert.ok(fs.readFileSync(path.join(straight, 'weights.bin')).equals(fs.readFileSync(path.join(split, 'weights.bin'))), 'resumed weights differ');
    const F = path.join(dir, 'mt-f.npy');
    const L = path.join(dir, 'mt-l.npy');
    json(await eccvkit(['embed', '--model', straight, '--images', novel, '--out', F, '--labels-out', L, '--json']));
    const acc = json<{ mean_average_precision_at_r: number }>(await eccvkit(['metric', 'accuracy', '--embeddings', F, '--labels', L, '--normalize', '--no-nmi', '--json']));

    // The library path: class-disjoint split by the seed, the reality check's net, trainMetricModel.
    const data = loadImageFolder(base, { channels: 1 });
    const [trIdx, vaIdx] = classDisjointSplit(data.labels, { fractions: [0.75, 0.25], seed: 2 }) as [Int32Array, Int32Array];
    const renumber = (ls: Int32Array) => {
      const ids = [...new Set(ls)].sort((x, y) => x - y);
      return Int32Array.from(ls, (l) => ids.indexOf(l));
    };
    const tr = subset(data, trIdx);
    const va = subset(data, vaIdx);
    const trainLabels = renumber(tr.labels);
    const model = smallConvNet({ inputShape: [28, 28, 1], filters: [4, 8], dense: [{ units: 8 }] }, 2);
    const loss = makeLoss('contrastive', undefined, { negMargin: 0.9 });
    const optimizer = tf.train.adam(1e-3);
    const trainX = tf.tensor4d(tr.images, [tr.labels.length, 28, 28, 1]);
    const valX = tf.tensor4d(va.images, [va.labels.length, 28, 28, 1]);
    try {
      const r = trainMetricModel({ model, loss, optimizer, lossOptimizer: optimizer, trainX, trainLabels, valX, valLabels: renumber(va.labels), sampler: new MPerClassSampler(trainLabels, { m: 2, batchSize: 8, seed: 2, lengthBeforeNewIter: 24 }), maxEpochs: 3, patience: 4 });
      assertClose([r.bestValMapAtR], [full.state.bestValMapAtR], 1e-6, 'validation MAP@R');
      const novelDs = loadImageFolder(novel, { channels: 1 });
      const x = tf.tensor4d(novelDs.images, [novelDs.labels.length, 28, 28, 1]);
      const e = embed(model, x);
      const lib = accuracy(e, novelDs.labels, undefined, undefined, { nmi: false, warn: () => {} });
      tf.dispose([x, e]);
      assertClose([acc.mean_average_precision_at_r], [lib.mean_average_precision_at_r], 1e-4, 'test MAP@R');
    } finally {
      tf.dispose([trainX, valX]);
      model.dispose();
      loss.dispose();
      optimizer.dispose();
    }
  });
});
