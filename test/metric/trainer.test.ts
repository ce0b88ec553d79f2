/**
 * The trainer on a synthetic class-disjoint problem: class identity lives in
 * 8 dimensions, loud class-independent noise in 8 others, so a projection
 * learned on some classes helps on unseen ones. Early stopping, weight
 * restoration and a flat tensor count are checked too.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MPerClassSampler } from '../../src/data/index.js';
import { createRng, tf } from '../../src/engine/index.js';
import { MultiSimilarityMiner } from '../../src/metric/miners.js';
import { TripletMarginLoss } from '../../src/metric/losses.js';
import { trainMetricModel, validationMapAtR } from '../../src/metric/trainer.js';
import { ProxyAnchorLoss } from '../../src/metric/weight-losses.js';
import { onBackend, throwsInput } from '../helpers.js';

function makeSet(classes: number[], perClass: number, seed: number): { x: tf.Tensor2D; labels: Int32Array } {
  const centres = createRng(99); // shared centres: class c's centre is the same in every set
  const centre = Array.from({ length: 20 }, () => Array.from({ length: 8 }, () => centres.normal()));
  const rng = createRng(seed);
  const rows: number[] = [];
  const labels: number[] = [];
  for (const c of classes) {
    for (let k = 0; k < perClass; k++) {
      for (let t = 0; t < 8; t++) rows.push((centre[c]?.[t] as number) + rng.normal(0, 0.3));
      for (let t = 0; t < 8; t++) rows.push(rng.normal(0, 3));
      labels.push(c);
    }
  }
  return { x: tf.tensor2d(rows, [labels.length, 16]), labels: Int32Array.from(labels) };
}

function model(seed: number): tf.LayersModel {
  return tf.sequential({ layers: [tf.layers.dense({ inputShape: [16], units: 8, useBias: false, kernelInitializer: tf.initializers.glorotNormal({ seed }) })] });
}

describe('trainMetricModel', () => {
  it('raises validation MAP@R on unseen classes and restores the best weights (wasm)', async () => {
    await onBackend('wasm', () => {
      const train = makeSet([0, 1, 2, 3, 4, 5, 6, 7, 8, 9], 12, 1);
      const val = makeSet([10, 11, 12, 13, 14, 15], 12, 2);
      const m = model(3);
      const before = validationMapAtR(m, val.x, val.labels);
      const optimizer = tf.train.adam(0.02);
      const loss = new TripletMarginLoss({ margin: 0.2 });
      const sampler = new MPerClassSampler(train.labels, { m: 4, batchSize: 24, seed: 5, lengthBeforeNewIter: 240 });
      const epochs: number[] = [];
      const counts: number[] = [];
      const result = trainMetricModel({
        model: m,
        loss,
        optimizer,
        miner: new MultiSimilarityMiner(),
        trainX: train.x,
        trainLabels: train.labels,
        sampler,
        valX: val.x,
        valLabels: val.labels,
        maxEpochs: 6,
        patience: 3,
        onEpoch: (e) => {
          epochs.push(e.valMapAtR);
          counts.push(tf.memory().numTensors);
        },
      });
      assert.ok(result.bestValMapAtR > before + 0.1, `MAP@R ${before} → ${result.bestValMapAtR}`);
      assert.equal(result.bestValMapAtR, Math.max(...epochs));
      assert.ok(Math.abs(validationMapAtR(m, val.x, val.labels) - result.bestValMapAtR) < 1e-9, 'best weights restored');
      assert.ok(counts.every((c) => c === counts[0]), `tensor count per epoch ${counts.join(', ')}`);
      tf.dispose([train.x, val.x]);
      m.dispose();
      optimizer.dispose();
    });
  });

  it('stops after `patience` evaluations without improvement; loss weights get their own optimizer', async () => {
    await onBackend('wasm', () => {
      const train = makeSet([0, 1, 2, 3], 8, 3);
      const val = makeSet([4, 5, 6], 8, 4);
      const m = model(4);
      const frozen = tf.train.sgd(0); // the model never changes, so MAP@R never improves after epoch 1
      const proxyOptimizer = tf.train.sgd(0.5);
      const loss = new ProxyAnchorLoss(4, 8);
      const proxiesBefore = loss.weights.dataSync().slice();
      const result = trainMetricModel({
        model: m,
        loss,
        optimizer: frozen,
        lossOptimizer: proxyOptimizer,
        trainX: train.x,
        trainLabels: train.labels,
        sampler: new MPerClassSampler(train.labels, { m: 4, batchSize: 8, seed: 1, lengthBeforeNewIter: 16 }),
        valX: val.x,
        valLabels: val.labels,
        maxEpochs: 20,
        patience: 2,
      });
      assert.equal(result.history.length, 3);
      assert.equal(result.bestEpoch, 1);
      assert.ok(result.stoppedEarly);
      // Restoring the best (epoch-1) snapshot also restores the proxies as they were after epoch 1, which differ from the start.
      const proxiesAfter = loss.weights.dataSync();
      assert.ok(proxiesAfter.some((v, i) => v !== proxiesBefore[i]), 'the proxies trained with their own optimizer');
      tf.dispose([train.x, val.x]);
      m.dispose();
      loss.dispose();
      frozen.dispose();
      proxyOptimizer.dispose();
    });
  });

  it('bad input', () => {
    const set = makeSet([0, 1], 4, 1);
    const m = model(1);
    const base = { model: m, loss: new TripletMarginLoss(), optimizer: tf.train.sgd(0.1), trainX: set.x, trainLabels: set.labels, sampler: { batches: () => [] }, valX: set.x, valLabels: set.labels };
    throwsInput(() => trainMetricModel({ ...base, trainLabels: [0, 1] }), 'trainLabels', '8 labels');
    throwsInput(() => trainMetricModel({ ...base, patience: 0 }), 'patience');
    set.x.dispose();
    m.dispose();
  });
});
