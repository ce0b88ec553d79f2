import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { initEngine, tf } from '../../src/engine/index.js';
import { hessianPenalty } from '../../src/gan/hessian-penalty.js';
import { ganLoss } from '../../src/gan/losses.js';
import { GanTrainer, normalisationOutputsModel, trainGan, type GanTrainerOptions } from '../../src/gan/train.js';
import { dcganDiscriminator, dcganDiscriminatorWithQ, dcganGenerator } from '../../src/nn/gan-nets.js';
import { randomValues, throwsInput } from '../helpers.js';

type Extra = Pick<GanTrainerOptions, 'hessianPenalty'> & { info?: boolean; infoWeight?: number };

function setup(real: tf.Tensor4D, extra: Extra = {}) {
  const generator = dcganGenerator({ latentDim: 3, width: 4, seed: 1 });
  const ema = dcganGenerator({ latentDim: 3, width: 4, seed: 99 });
  const withQ = extra.info ? dcganDiscriminatorWithQ({ width: 2, seed: 2, codes: 2 }) : undefined;
  const discriminator = withQ?.discriminator ?? dcganDiscriminator({ width: 2, seed: 2 });
  const q = withQ?.q;
  const trainer = new GanTrainer({
    generator,
    discriminator,
    ema,
    real,
    loss: ganLoss('hinge'),
    batchSize: 4,
    seed: 5,
    // A large step, so a few updates show the terms' effect.
    generatorOptimizer: tf.train.adam(0.01, 0.5, 0.999),
    discriminatorOptimizer: tf.train.adam(0.01, 0.5, 0.999),
    ...(extra.hessianPenalty ? { hessianPenalty: extra.hessianPenalty } : {}),
    ...(q ? { infoGan: { q, ...(extra.infoWeight === undefined ? {} : { weight: extra.infoWeight }) } } : {}),
  });
  const dispose = () => {
    trainer.dispose();
    [generator, ema].forEach((m) => m.dispose());
    if (withQ) withQ.dispose();
    else discriminator.dispose();
  };
  return { trainer, generator, ema, discriminator, q, dispose };
}

const flatWeights = (m: tf.LayersModel) => m.getWeights().flatMap((w) => Array.from(w.dataSync()));

/**
 * The generator's Hessian penalty on fixed codes, many directions, in training
 * mode: after a few steps batch norm's moving statistics are still near their
 * initial values, so inference mode would see an almost constant G.
 */
function measuredPenalty(g: tf.LayersModel, z: tf.Tensor2D): number {
  const v = hessianPenalty((x) => g.apply(x, { training: true }) as tf.Tensor, z, { k: 8, reduction: 'mean', seed: 3 });
  const out = v.dataSync()[0] as number;
  v.dispose();
  return out;
}

describe('GAN training with the Hessian penalty and the InfoGAN baseline', () => {
  let dir: string;
  let real: tf.Tensor4D;
  before(async () => {
    await initEngine();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'eccvkit-gan-hp-'));
    real = tf.tensor4d(randomValues(12 * 28 * 28, 3), [12, 28, 28, 1]);
  });
  after(() => {
    real.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('λ_t is 0 before fromStep, then ramps linearly to λ', () => {
    const c = setup(real, { hessianPenalty: { weight: 0.4, fromStep: 10, rampSteps: 4 } });
    assert.deepEqual([0, 9, 10, 11, 12, 13, 14, 100].map((t) => c.trainer.hessianWeight(t)), [0, 0, 0.1, 0.2, 0.30000000000000004, 0.4, 0.4, 0.4]);
    assert.equal(c.trainer.hessian?.variance, 'biased', "the paper's estimator by default");
    assert.equal(c.trainer.hessian?.reduction, 'max');
    c.dispose();
    const d = setup(real, { hessianPenalty: { weight: 0.4 } });
    assert.equal(d.trainer.hessianWeight(0), 0.4);
    d.dispose();
  });

  it('the penalty is reported apart from the GAN loss, is off before fromStep, and a large λ makes G more separable than λ = 0', async () => {
    const z = tf.randomNormal([8, 3], 0, 1, 'float32', 11) as tf.Tensor2D;
    const off = setup(real, { hessianPenalty: { weight: 0.1, fromStep: 2 } });
    const first = off.trainer.trainStep();
    assert.equal(first.hessian, 0, 'no penalty before fromStep');
    const later = off.trainer.trainStep();
    const third = off.trainer.trainStep();
    assert.equal(later.hessian, 0);
    assert.ok(third.hessian! > 0 && Number.isFinite(third.generator), JSON.stringify(third));
    off.dispose();
    // On a subset of the batch: the same kind of number from fewer codes.
    const sub = setup(real, { hessianPenalty: { weight: 0.1, batchSubset: 2 } });
    const subStep = sub.trainer.trainStep();
    assert.ok(subStep.hessian! > 0 && Number.isFinite(subStep.hessian!), JSON.stringify(subStep));
    sub.dispose();

    const plain = setup(real);
    const strong = setup(real, { hessianPenalty: { weight: 1000, reduction: 'mean' } });
    const before0 = measuredPenalty(plain.generator, z);
    assert.equal(before0, measuredPenalty(strong.generator, z), 'same initial G');
    // A first step creates the optimizers' slots.
    plain.trainer.trainStep();
    strong.trainer.trainStep();
    const n0 = tf.memory().numTensors;
    await trainGan(plain.trainer, { steps: 8 });
    await trainGan(strong.trainer, { steps: 8 });
    assert.equal(tf.memory().numTensors, n0, 'tensors leaked');
    const p = measuredPenalty(plain.generator, z);
    const s = measuredPenalty(strong.generator, z);
    assert.ok(s < 0.5 * p, `penalised G ${s} should be well below unpenalised ${p}`);
    plain.dispose();
    strong.dispose();
    z.dispose();
  });

  it("'all' regularises every batch-norm output and the image", () => {
    const g = dcganGenerator({ latentDim: 3, width: 2, seed: 1 });
    const m = normalisationOutputsModel(g);
    assert.equal(m.outputs.length, 4, '3 batch norms (dense + 2 deconvs) and the image');
    const z = tf.randomNormal([2, 3], 0, 1, 'float32', 1);
    const outs = m.predict(z) as tf.Tensor[];
    const image = g.predict(z) as tf.Tensor;
    assert.deepEqual(Array.from(outs[3]!.dataSync()), Array.from(image.dataSync()));
    tf.dispose([z, image, ...outs]);
    const c = setup(real, { hessianPenalty: { weight: 0.1, layers: 'all' } });
    const out = c.trainer.trainStep();
    assert.ok(out.hessian! > 0, JSON.stringify(out));
    c.dispose();
    const flat = tf.sequential({ layers: [tf.layers.dense({ inputShape: [3], units: 4 })] });
    throwsInput(() => normalisationOutputsModel(flat), 'hessianPenalty.layers', 'normalisation');
    flat.dispose();
    g.dispose();
  });

  it("InfoGAN: D's weights are those of the plain critic, and training lowers Q's error on G's codes", async () => {
    const plain = dcganDiscriminator({ width: 2, seed: 2, spectralNormBound: 1 });
    const withQ = dcganDiscriminatorWithQ({ width: 2, seed: 2, spectralNormBound: 1, codes: 2 });
    const x = tf.tensor4d(randomValues(2 * 28 * 28, 9), [2, 28, 28, 1]);
    const a = plain.predict(x) as tf.Tensor;
    const b = withQ.discriminator.predict(x) as tf.Tensor;
    assert.deepEqual(Array.from(a.dataSync()), Array.from(b.dataSync()), 'adding the Q head leaves D as it was');
    tf.dispose([a, b, x]);
    plain.dispose();
    const n0 = tf.memory().numTensors;
    withQ.dispose();
    assert.equal(n0 - tf.memory().numTensors, 13, "dispose frees the trunk, both heads and SN's u vectors, each once");

    const c = setup(real, { info: true, infoWeight: 10 });
    const z = tf.randomNormal([64, 3], 0, 1, 'float32', 4) as tf.Tensor2D;
    const qError = () =>
      tf.tidy(() => tf.mean(tf.squaredDifference(tf.slice(z, [0, 0], [-1, 2]), c.q!.apply(c.generator.apply(z, { training: true }) as tf.Tensor) as tf.Tensor)).dataSync()[0] as number);
    const start = qError();
    await trainGan(c.trainer, { steps: 60 });
    const end = qError();
    assert.ok(start > 0 && end < 0.7 * start, `Q's MSE ${start} → ${end}`);
    z.dispose();
    c.dispose();
  });

  it('a run with the penalty and InfoGAN saved after 2 steps and resumed to 4 equals an uninterrupted one', async () => {
    const extra: Extra = { info: true, hessianPenalty: { weight: 0.5, fromStep: 1 } };
    const straight = setup(real, extra);
    await trainGan(straight.trainer, { steps: 4 });
    const first = setup(real, extra);
    await trainGan(first.trainer, { steps: 2 });
    await first.trainer.save(path.join(dir, 'ckpt'));
    first.dispose();
    const resumed = setup(real, extra);
    await resumed.trainer.load(path.join(dir, 'ckpt'), 2);
    await trainGan(resumed.trainer, { steps: 4 });
    for (const key of ['generator', 'discriminator', 'ema', 'q'] as const) {
      const x = flatWeights(resumed[key]!);
      const y = flatWeights(straight[key]!);
      let worst = 0;
      for (let i = 0; i < x.length; i++) worst = Math.max(worst, Math.abs(x[i]! - y[i]!));
      assert.ok(worst < 1e-5, `${key} differs by ${worst}`);
    }
    straight.dispose();
    resumed.dispose();
  });

  it('bad options name the argument', () => {
    const g = dcganGenerator({ latentDim: 3, width: 2 });
    const d = dcganDiscriminator({ width: 2 });
    const base = { generator: g, discriminator: d, real, loss: ganLoss('hinge'), batchSize: 4 };
    throwsInput(() => new GanTrainer({ ...base, hessianPenalty: { weight: -1 } }), 'hessianPenalty.weight');
    throwsInput(() => new GanTrainer({ ...base, hessianPenalty: { weight: 1, k: 1 } }), 'hessianPenalty.k');
    throwsInput(() => new GanTrainer({ ...base, hessianPenalty: { weight: 1, fromStep: 1.5 } }), 'hessianPenalty.fromStep');
    throwsInput(() => new GanTrainer({ ...base, hessianPenalty: { weight: 1, layers: 'some' as 'all' } }), 'hessianPenalty.layers');
    throwsInput(() => new GanTrainer({ ...base, hessianPenalty: { weight: 1, batchSubset: 5 } }), 'hessianPenalty.batchSubset', '[1, 4]');
    const tooMany = dcganDiscriminatorWithQ({ width: 2, codes: 4 });
    throwsInput(() => new GanTrainer({ ...base, infoGan: { q: tooMany.q } }), 'infoGan.q', 'codes ≤ the latent size 3');
    const wrongSize = dcganDiscriminatorWithQ({ imageSize: 32, width: 2, codes: 2 });
    throwsInput(() => new GanTrainer({ ...base, infoGan: { q: wrongSize.q } }), 'infoGan.q', '[28, 28, 1]');
    [g, d].forEach((m) => m.dispose());
    [tooMany, wrongSize].forEach((m) => m.dispose());
  });
});
