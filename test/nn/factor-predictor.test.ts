import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { generateShapes } from '../../src/data/index.js';
import { initEngine, tf } from '../../src/engine/index.js';
import { FactorPredictor, factorScores, trainFactorPredictor } from '../../src/nn/factor-predictor.js';
import { throwsInput } from '../helpers.js';

describe('factor predictor', () => {
  let dir: string;
  before(async () => {
    await initEngine();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'eccvkit-fp-'));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('factorScores: accuracy for discrete factors, R² for continuous ones, by hand', () => {
    const meta = { factorNames: ['shape', 'x'], factorDiscrete: [true, false] };
    // Rows (shape, x): truth (0, 1), (1, 2), (2, 3); predicted (0, 1), (2, 2), (2, 4).
    const s = factorScores([0, 1, 2, 2, 2, 4], [0, 1, 1, 2, 2, 3], meta);
    assert.deepEqual(
      s.map((x) => [x.name, x.metric, x.score]),
      [
        ['shape', 'accuracy', 2 / 3],
        // SS_res = 0 + 0 + 1, SS_tot = 1 + 0 + 1.
        ['x', 'r2', 0.5],
      ],
    );
  });

  it('learns the shapes factors well above chance, keeps no tensors, and saves and loads to the same readings', async () => {
    const train = generateShapes({ count: 2000, seed: 11 });
    const test = generateShapes({ count: 300, seed: 12 });
    const n0 = tf.memory().numTensors;
    const epochs: number[] = [];
    const p = trainFactorPredictor(train, { epochs: 4, filters: [16, 32, 32], featureUnits: 32, learningRate: 2e-3, seed: 1, onEpoch: (_e, loss) => epochs.push(loss) });
    assert.equal(epochs.length, 4);
    assert.ok(epochs[3]! < epochs[0]!, `loss ${epochs.join(' → ')}`);
    const scores = p.score(test);
    const by = Object.fromEntries(scores.map((s) => [s.name, s.score]));
    assert.ok(by.shape! > 0.6, `shape accuracy ${by.shape} (chance 1/3)`);
    for (const f of ['x', 'y', 'scale']) assert.ok(by[f]! > 0.6, `${f} R² ${by[f]}`);
    await p.save(path.join(dir, 'p'));
    const q = await FactorPredictor.load(path.join(dir, 'p'));
    const x = tf.tensor4d(test.images, [300, 32, 32, 1]);
    assert.deepEqual(q.predict(x), p.predict(x));
    const f = q.features(x);
    assert.deepEqual(f.shape, [300, 32]);
    tf.dispose([x, f]);
    p.dispose();
    q.dispose();
    assert.equal(tf.memory().numTensors, n0, 'tensors left behind');
  });

  it('bad input names the argument', async () => {
    const one = generateShapes({ variant: 'shapes1', count: 20, seed: 1 });
    const constant = { ...one, factors: new Float32Array(20).fill(3) };
    throwsInput(() => trainFactorPredictor(constant, { epochs: 1, batchSize: 4 }), 'data.factors[:, 0]', 'a factor that varies');
    throwsInput(() => trainFactorPredictor(one, { batchSize: 100 }), 'batchSize');
    const p = trainFactorPredictor(one, { epochs: 1, batchSize: 4, filters: [2, 2, 2], featureUnits: 4 });
    const wrong = tf.zeros([2, 28, 28, 1]) as tf.Tensor4D;
    throwsInput(() => p.predict(wrong), 'images', '[n, 32, 32, 1]');
    wrong.dispose();
    p.dispose();
    await assert.rejects(FactorPredictor.load(dir), /factor predictor/);
  });
});
