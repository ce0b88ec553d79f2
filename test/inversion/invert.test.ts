import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { initEngine, tf } from '../../src/engine/index.js';
import { EncoderTrainer, StyleEncoder, generatorFingerprint, loadEncoder, saveEncoder, trainEncoder } from '../../src/inversion/encoder.js';
import { diffuse, inversionLossTerms, invert } from '../../src/inversion/invert.js';
import { PerceptualFeatures } from '../../src/inversion/perceptual.js';
import { smallConvNet } from '../../src/nn/small-convnet.js';
import { loadStyleGenerator, saveStyleGenerator, styleGenerator, type StyleGenerator } from '../../src/nn/style-gan.js';
import { serveFolder } from '../../src/node/static-server.js';
import { EccvkitInputError } from '../../src/errors.js';
import { assertClose, throwsInput, valuesOf } from '../helpers.js';

const tiny = { imageSize: 8, wDim: 8, width: 4, maxChannels: 8, mappingLayers: 1 };

describe('inversion', () => {
  let G: StyleGenerator;
  let E: StyleEncoder;
  let F: PerceptualFeatures;
  let feature: tf.LayersModel;

  before(async () => {
    await initEngine();
    G = styleGenerator({ ...tiny, seed: 1 });
    E = StyleEncoder.create(G, 'domainGuided', { width: 4, seed: 2 });
    feature = smallConvNet({ inputShape: [8, 8, 1], filters: [4, 4], dense: [{ units: 3 }] }, 3);
    F = new PerceptualFeatures({ model: feature });
  });
  after(() => {
    G.dispose();
    E.dispose();
    feature.dispose();
  });

  /** Generated images and their true W+ codes (a different w per layer). */
  function generated(n: number, seed: number): { x: tf.Tensor4D; codes: tf.Tensor3D } {
    const codes = tf.tidy(() => {
      const z = tf.randomNormal([n * G.numLayers, G.latentDim], 0, 1, 'float32', seed) as tf.Tensor2D;
      return tf.reshape(G.mapZ(z), [n, G.numLayers, G.wDim]) as tf.Tensor3D;
    });
    return { x: G.synthesize(codes), codes };
  }

  it('from a perturbation of the true code of a generated image, optimisation reaches MSE < 1e-4', () => {
    const { x, codes } = generated(3, 5);
    const start = tf.tidy(() => tf.add(codes, tf.randomNormal(codes.shape, 0, 0.05, 'float32', 6)) as tf.Tensor3D);
    const before = valuesOf(() => inversionLossTerms(G, x, start).mse);
    const r = invert(G, x, { init: start, iterations: 300, learningRate: 0.01 });
    try {
      assert.ok(Math.max(...before) > 1e-4, `the start is off the image (${[...before].join(', ')})`);
      for (const mse of r.losses.mse) assert.ok(mse < 1e-4, `MSE ${mse}`);
      // From the true code itself the gradient is zero and the code stays put.
      const exact = invert(G, x, { init: codes, iterations: 20 });
      assert.ok(Math.max(...exact.losses.mse) < 1e-10);
      tf.dispose([exact.codes, exact.latents, exact.reconstructions]);
    } finally {
      tf.dispose([x, codes, start, r.codes, r.latents, r.reconstructions]);
    }
  });

  it('with λ_domain = 0 the loss is exactly the reconstruction loss, and an encoder changes nothing but the start', () => {
    const { x, codes } = generated(2, 7);
    const start = tf.tidy(() => tf.add(codes, 0.3) as tf.Tensor3D);
    try {
      const t = inversionLossTerms(G, x, start, { encoder: E, perceptual: F, lambdaFeat: 0.7, lambdaDomain: 0 });
      const [total, mse, perc, dom] = [t.total, t.mse, t.perceptual, t.domain].map((v) => Array.from(v.dataSync()));
      tf.dispose([t.total, t.mse, t.perceptual, t.domain]);
      total!.forEach((v, i) => assert.equal(v, Math.fround(mse![i]! + Math.fround(0.7 * perc![i]!))));
      assert.deepEqual(dom, [0, 0]);
      const withE = invert(G, x, { encoder: E, init: start, lambdaDomain: 0, iterations: 5, perceptual: F });
      const without = invert(G, x, { init: start, iterations: 5, perceptual: F });
      assertClose(withE.codes.dataSync(), without.codes.dataSync(), 0, 'codes');
      assert.deepEqual(withE.losses.total, without.losses.total);
      tf.dispose([withE.codes, withE.latents, withE.reconstructions, without.codes, without.latents, without.reconstructions]);
    } finally {
      tf.dispose([x, codes, start]);
    }
  });

  it("the domain term's gradient reaches w through both G and E (finite differences)", () => {
    const { x, codes } = generated(1, 8);
    try {
      const domain = (w: tf.Tensor3D) => tf.sum(inversionLossTerms(G, x, w, { encoder: E, lambdaDomain: 1 }).domain) as tf.Scalar;
      const grad = valuesOf(() => tf.grad((w) => domain(w as tf.Tensor3D))(codes));
      const base = codes.dataSync();
      const h = 1e-2;
      const at = (v: Float32Array) => tf.tidy(() => domain(tf.tensor3d(v, codes.shape)).dataSync()[0] as number);
      // Only through the code itself (E's input held fixed): ∂/∂w mean((w − c)²) = 2(w − c)/N.
      const direct = valuesOf(() => {
        const c = E.encode(G.synthesize(codes));
        return tf.div(tf.mul(2, tf.sub(codes, c)), codes.size);
      });
      let maxDiff = 0;
      for (const i of [0, 3, 9, 17, 23, 28, 31]) {
        const plus = Float32Array.from(base);
        const minus = Float32Array.from(base);
        plus[i]! += h;
        minus[i]! -= h;
        const fd = (at(plus) - at(minus)) / (2 * h);
        assert.ok(Math.abs(fd - grad[i]!) <= 2e-3 * Math.max(1, Math.abs(fd)) + 2e-4, `coordinate ${i}: finite difference ${fd}, autodiff ${grad[i]}`);
        maxDiff = Math.max(maxDiff, Math.abs(grad[i]! - direct[i]!));
      }
      assert.ok(maxDiff > 1e-4, `the gradient differs from the code-only path (max diff ${maxDiff}): it flows through G and E`);
    } finally {
      tf.dispose([x, codes]);
    }
  });

  it('gives the same codes whatever the batch size, and keeps the tensor count flat', () => {
    const { x, codes } = generated(3, 9);
    try {
      const a = invert(G, x, { encoder: E, iterations: 4, batchSize: 1, perceptual: F });
      const b = invert(G, x, { encoder: E, iterations: 4, batchSize: 3, perceptual: F });
      assertClose(a.codes.dataSync(), b.codes.dataSync(), 1e-6, 'codes');
      tf.dispose([a.codes, a.latents, a.reconstructions, b.codes, b.latents, b.reconstructions]);
      const count = tf.memory().numTensors;
      for (const space of ['wplus', 'w', 'z'] as const) {
        const r = invert(G, x, { init: 'random', space, iterations: 3, seed: 1 });
        assert.deepEqual(r.codes.shape, [3, G.numLayers, G.wDim]);
        tf.dispose([r.codes, r.latents, r.reconstructions]);
      }
      assert.equal(tf.memory().numTensors, count);
    } finally {
      tf.dispose([x, codes]);
    }
  });

  it('semantic diffusion with a full mask is inversion from E(target) without the domain term', () => {
    const { x, codes } = generated(2, 10);
    const context = tf.zerosLike(x);
    const mask = tf.ones([8, 8, 1]);
    try {
      const d = diffuse(G, x, context, mask, { encoder: E, iterations: 5 });
      const init = E.encode(x);
      const r = invert(G, x, { encoder: E, init, lambdaDomain: 0, iterations: 5 });
      assertClose(d.codes.dataSync(), r.codes.dataSync(), 1e-6, 'codes');
      tf.dispose([d.codes, d.images, d.composite, init, r.codes, r.latents, r.reconstructions]);
    } finally {
      tf.dispose([x, codes, context, mask]);
    }
  });

  it('rejects bad input before any work, naming the argument', () => {
    const { x, codes } = generated(1, 11);
    const other = styleGenerator({ ...tiny, seed: 99 });
    const foreign = StyleEncoder.create(other, 'domainGuided', { width: 4 });
    const wrongSize = tf.zeros([1, 16, 16, 1]) as tf.Tensor4D;
    const outOfRange = tf.fill([1, 8, 8, 1], 2) as tf.Tensor4D;
    try {
      throwsInput(() => invert(G, wrongSize), 'images', '[n, 8, 8, 1]');
      throwsInput(() => invert(G, outOfRange), 'images', '[−1, 1]');
      throwsInput(() => invert(G, x, { encoder: foreign }), 'encoder', generatorFingerprint(G));
      throwsInput(() => invert(G, x, { iterations: -1 }), 'iterations');
      throwsInput(() => invert(G, x, { lambdaDomain: 2 }), 'lambdaDomain', 'encoder');
      throwsInput(() => invert(G, x, { init: 'encoder' }), 'init', 'encoder');
      throwsInput(() => invert(G, x, { init: tf.zeros([1, G.numLayers + 1, G.wDim]) as tf.Tensor3D }), 'init');
    } finally {
      tf.dispose([x, codes, wrongSize, outOfRange]);
      foreign.dispose();
      other.dispose();
    }
  });
});

describe('encoder training', () => {
  let G: StyleGenerator;
  before(async () => {
    await initEngine();
    G = styleGenerator({ ...tiny, seed: 4 });
  });
  after(() => G.dispose());

  it('a fresh encoder maps every image to the mean code', () => {
    const E = StyleEncoder.create(G, 'traditional', { width: 4 });
    try {
      const x = tf.randomUniform([2, 8, 8, 1], -1, 1, 'float32', 1) as tf.Tensor4D;
      const codes = E.encode(x);
      const mean = G.meanW().dataSync();
      const values = codes.dataSync();
      for (let i = 0; i < values.length; i++) assert.ok(Math.abs(values[i]! - mean[i % G.wDim]!) < 0.05, `code ${i}`);
      tf.dispose([x, codes]);
    } finally {
      E.dispose();
    }
  });

  it("one Adam step at the encoder's lr moves codes by far less than W's spread (a plain dense head moved them by ~0.3 and collapsed)", () => {
    const G32 = styleGenerator({ imageSize: 32, wDim: 32, width: 16, maxChannels: 64, mappingLayers: 1, seed: 1 });
    const E = StyleEncoder.create(G32, 'traditional', { width: 16, seed: 1 });
    const trainer = new EncoderTrainer({ generator: G32, encoder: E, learningRate: 1e-3, batchSize: 8 });
    const x = tf.randomUniform([4, 32, 32, 1], -1, 1, 'float32', 1) as tf.Tensor4D;
    try {
      const before = E.encode(x);
      trainer.trainStep();
      const after = E.encode(x);
      const moved = tf.tidy(() => tf.mean(tf.abs(tf.sub(after, before))).dataSync()[0]!);
      tf.dispose([before, after]);
      assert.ok(moved < 0.05, `mean |Δcode| after one step ${moved}`);
    } finally {
      tf.dispose(x);
      trainer.dispose();
      E.dispose();
      G32.dispose();
    }
  });

  it('the traditional encoder learns to regress codes of generated images', async () => {
    const E = StyleEncoder.create(G, 'traditional', { width: 4, seed: 1 });
    const trainer = new EncoderTrainer({ generator: G, encoder: E, learningRate: 3e-3, batchSize: 16 });
    try {
      const first = trainer.trainStep().code;
      const last = await trainEncoder(trainer, { steps: 60 });
      assert.ok(last.code < 0.8 * first, `code loss ${first} → ${last.code}`);
    } finally {
      trainer.dispose();
      E.dispose();
    }
  });

  it('the domain-guided encoder lowers the reconstruction loss on real images and resumes to the same numbers', async () => {
    const real = tf.tidy(() => {
      const c = tf.reshape(G.mapZ(tf.randomNormal([32 * G.numLayers, G.latentDim], 0, 1, 'float32', 3) as tf.Tensor2D), [32, G.numLayers, G.wDim]) as tf.Tensor3D;
      return G.synthesize(c);
    });
    const feature = smallConvNet({ inputShape: [8, 8, 1], filters: [4, 4], dense: [{ units: 3 }] }, 3);
    const F = new PerceptualFeatures({ model: feature });
    const make = () => {
      const E = StyleEncoder.create(G, 'domainGuided', { width: 4, seed: 1 });
      // The default critic is a DCGAN one (28, 32, 64 px); an 8×8 generator brings its own.
      const D = tf.sequential({ layers: [tf.layers.conv2d({ inputShape: [8, 8, 1], filters: 4, kernelSize: 3, strides: 2, padding: 'same', activation: 'relu', kernelInitializer: tf.initializers.glorotNormal({ seed: 5 }) }), tf.layers.flatten(), tf.layers.dense({ units: 1, kernelInitializer: tf.initializers.glorotNormal({ seed: 6 }) })] });
      return { E, D, trainer: new EncoderTrainer({ generator: G, encoder: E, real, perceptual: F, discriminator: D, learningRate: 3e-3, batchSize: 8, seed: 2 }) };
    };
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'encoder-'));
    const a = make();
    const b = make();
    try {
      const first = a.trainer.trainStep();
      assert.ok(first.perceptual > 0 && first.adversarial > 0 && first.discriminator > 0);
      await trainEncoder(a.trainer, { steps: 40 });
      await a.trainer.save(dir);
      const next = a.trainer.trainStep();
      await b.trainer.load(dir, 40);
      const resumed = b.trainer.trainStep();
      assert.equal(resumed.total, next.total);
      const last = await trainEncoder(a.trainer, { steps: 60 });
      assert.ok(last.mse < first.mse, `MSE ${first.mse} → ${last.mse}`);
      await saveEncoder(a.E, path.join(dir, 'saved'));
      const loaded = await loadEncoder(path.join(dir, 'saved'));
      assert.deepEqual(loaded.meta, a.E.meta);
      loaded.checkGenerator(G);
      const x = tf.slice(real, [0, 0, 0, 0], [2, -1, -1, -1]) as tf.Tensor4D;
      assertClose(valuesOf(() => loaded.encode(x)), valuesOf(() => a.E.encode(x)), 0, 'loaded encoder');
      loaded.dispose();
      // A page loads both from URLs of their folders (side files by fetch, weights through tfjs's http handler).
      await saveStyleGenerator(G, path.join(dir, 'generator'));
      const { server, url } = await serveFolder(dir);
      try {
        const byUrl = await loadEncoder(`${url}saved/`);
        assert.deepEqual(byUrl.meta, a.E.meta);
        assertClose(valuesOf(() => byUrl.encode(x)), valuesOf(() => a.E.encode(x)), 0, 'encoder loaded by URL');
        byUrl.dispose();
        const gByUrl = await loadStyleGenerator(`${url}generator`);
        const z = tf.randomNormal([2, G.latentDim], 0, 1, 'float32', 9) as tf.Tensor2D;
        assertClose(valuesOf(() => gByUrl.generate(z)), valuesOf(() => G.generate(z)), 0, 'generator loaded by URL');
        tf.dispose(z);
        gByUrl.dispose();
        await assert.rejects(loadEncoder(`${url}missing/`), (err: unknown) => err instanceof EccvkitInputError && /encoder.*missing.*HTTP 404/s.test(err.message));
        await assert.rejects(loadStyleGenerator(`${url}saved/`, 'generator'), (err: unknown) => err instanceof EccvkitInputError && /generator.*style\.json: HTTP 404/s.test(err.message));
      } finally {
        server.close();
      }
      tf.dispose(x);
    } finally {
      for (const m of [a, b]) {
        m.trainer.dispose();
        m.E.dispose();
        m.D.dispose();
      }
      feature.dispose();
      real.dispose();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
