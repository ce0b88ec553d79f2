import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { initEngine, tf } from '../../src/engine/index.js';
import { ganLoss } from '../../src/gan/losses.js';
import { GanTrainer, lossesDiverged, trainGan, type CriticRegulariser } from '../../src/gan/train.js';
import { dcganDiscriminator, dcganGenerator } from '../../src/nn/gan-nets.js';
import { randomValues, throwsInput } from '../helpers.js';

function setup(real: tf.Tensor4D, regulariser: CriticRegulariser = { kind: 'none' }, sn?: number, loss = ganLoss('hinge', 0.5)) {
  const generator = dcganGenerator({ latentDim: 4, width: 2, seed: 1 });
  const ema = dcganGenerator({ latentDim: 4, width: 2, seed: 99 });
  const discriminator = dcganDiscriminator({ width: 2, seed: 2, ...(sn === undefined ? {} : { spectralNormBound: sn }) });
  const trainer = new GanTrainer({ generator, discriminator, ema, real, loss, regulariser, batchSize: 4, criticSteps: 2, emaDecay: 0.9, seed: 7 });
  const dispose = () => {
    trainer.dispose();
    [generator, ema, discriminator].forEach((m) => m.dispose());
  };
  return { trainer, generator, ema, discriminator, dispose };
}

const flatWeights = (m: tf.LayersModel) => m.getWeights().flatMap((w) => Array.from(w.dataSync()));

describe('GAN training loop', () => {
  let dir: string;
  let real: tf.Tensor4D;
  before(async () => {
    await initEngine();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'eccvkit-gan-'));
    real = tf.tensor4d(randomValues(12 * 28 * 28, 3), [12, 28, 28, 1]);
  });
  after(() => {
    real.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('same seed, same losses; the tensor count stays flat; EMA follows G', async () => {
    const a = setup(real);
    const b = setup(real);
    const la = await trainGan(a.trainer, { steps: 2 });
    const lb = await trainGan(b.trainer, { steps: 2 });
    assert.deepEqual(la, lb);
    const before = tf.memory().numTensors;
    await trainGan(a.trainer, { steps: 4 });
    assert.equal(tf.memory().numTensors, before, 'tensors leaked during training');
    a.dispose();
    // One step from ema₀ = G₀ with the warm-up decay min(0.9, (1 + 0)/(10 + 0)) = 0.1:
    // trainable weights 0.1·G₀ + 0.9·G₁, batch-norm statistics copied from G₁.
    const c = setup(real);
    const g0 = c.generator.getWeights().map((w) => Array.from(w.dataSync()));
    c.trainer.trainStep();
    const g1 = c.generator.getWeights().map((w) => Array.from(w.dataSync()));
    const e1 = c.ema.getWeights().map((w) => Array.from(w.dataSync()));
    c.generator.weights.forEach((w, i) => {
      const expected = w.trainable ? g0[i]!.map((v, j) => 0.1 * v + 0.9 * g1[i]![j]!) : g1[i]!;
      const worst = Math.max(...e1[i]!.map((v, j) => Math.abs(v - expected[j]!)));
      assert.ok(worst < 1e-6, `${w.name}: EMA off by ${worst}`);
    });
    c.dispose();
    b.dispose();
  });

  it('a run saved after 2 steps and resumed to 4 ends with the same weights as an uninterrupted one', async () => {
    const straight = setup(real, { kind: 'gradientPenalty' }, 1);
    await trainGan(straight.trainer, { steps: 4 });
    const first = setup(real, { kind: 'gradientPenalty' }, 1);
    let saved = false;
    await trainGan(first.trainer, {
      steps: 2,
      checkpointEvery: 1,
      onCheckpoint: async (step) => {
        await first.trainer.save(path.join(dir, 'ckpt'));
        saved = step === 1;
      },
    });
    assert.ok(saved, 'checkpoint hook ran at step 1');
    await first.trainer.save(path.join(dir, 'ckpt'));
    first.dispose();
    const resumed = setup(real, { kind: 'gradientPenalty' }, 1);
    await resumed.trainer.load(path.join(dir, 'ckpt'), 2);
    const samples: number[] = [];
    await trainGan(resumed.trainer, { steps: 4, sampleEvery: 2, onSample: (s) => void samples.push(s) });
    assert.deepEqual(samples, [4]);
    for (const key of ['generator', 'discriminator', 'ema'] as const) {
      const x = flatWeights(resumed[key]);
      const y = flatWeights(straight[key]);
      let worst = 0;
      for (let i = 0; i < x.length; i++) worst = Math.max(worst, Math.abs(x[i]! - y[i]!));
      assert.ok(worst < 1e-5, `${key} differs by ${worst}`);
    }
    straight.dispose();
    resumed.dispose();
  });

  it('weight clipping keeps the critic in [−c, c]; R1 reports its penalty', async () => {
    const c = setup(real, { kind: 'clip', clip: 0.005 });
    await trainGan(c.trainer, { steps: 1 });
    assert.ok(flatWeights(c.discriminator).every((w) => Math.abs(w) <= 0.005 + 1e-9), 'a critic weight escaped the clip');
    c.dispose();
    const r = setup(real, { kind: 'r1', weight: 5 });
    const out = r.trainer.trainStep();
    assert.ok(out.penalty > 0 && Number.isFinite(out.discriminator), JSON.stringify(out));
    r.dispose();
  });

  it('stops at the first non-finite loss: that window is logged, no sample or checkpoint hook runs for it', async () => {
    // exp of α·d with α = 1e30 overflows float32 on the first critic step.
    const c = setup(real, { kind: 'none' }, undefined, ganLoss('exp', 1e30));
    const logs: Array<[number, Record<string, number>]> = [];
    const hooks: number[] = [];
    const last = await trainGan(c.trainer, {
      steps: 6,
      logEvery: 3,
      onLog: (step, values) => logs.push([step, values]),
      sampleEvery: 1,
      onSample: (step) => void hooks.push(step),
      checkpointEvery: 1,
      onCheckpoint: async (step) => void hooks.push(step),
    });
    assert.ok(lossesDiverged(last), JSON.stringify(last));
    assert.equal(c.trainer.step, 1);
    assert.deepEqual(hooks, []);
    assert.equal(logs.length, 1);
    assert.equal(logs[0]![0], 1);
    assert.ok(!Number.isFinite(logs[0]![1].d_loss!), JSON.stringify(logs));
    // Without the stop, training goes on to the requested step.
    await trainGan(c.trainer, { steps: 3, stopOnNonFinite: false });
    assert.equal(c.trainer.step, 3);
    c.dispose();
    assert.equal(lossesDiverged({ discriminator: 1, generator: 2, penalty: 0 }), false);
  });

  it('fails before training on a shape mismatch, images outside [−1, 1] and a bad batch size', () => {
    const g = dcganGenerator({ latentDim: 4, width: 2 });
    const d32 = dcganDiscriminator({ imageSize: 32, width: 2 });
    const d = dcganDiscriminator({ width: 2 });
    throwsInput(() => new GanTrainer({ generator: g, discriminator: d32, real, loss: ganLoss('hinge') }), 'discriminator', '[28, 28, 1]');
    const bright = tf.tidy(() => tf.add(real, 1) as tf.Tensor4D);
    throwsInput(() => new GanTrainer({ generator: g, discriminator: d, real: bright, loss: ganLoss('hinge') }), 'real', '[−1, 1]');
    throwsInput(() => new GanTrainer({ generator: g, discriminator: d, real, loss: ganLoss('hinge'), batchSize: 100 }), 'batchSize');
    tf.dispose(bright);
    [g, d32, d].forEach((m) => m.dispose());
  });
});
