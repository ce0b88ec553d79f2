import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { before, describe, it } from 'node:test';
import { initEngine, tf } from '../../src/engine/index.js';
import { loadModel } from '../../src/nn/io.js';
import { isStyleGeneratorDir, loadStyleGenerator, ModulatedConv2D, saveStyleGenerator, STYLE_BLOCKS, styleGenerator, styleLayerCount } from '../../src/nn/style-gan.js';
import { assertClose, throwsInput, valuesOf } from '../helpers.js';

const small = { imageSize: 16, wDim: 16, width: 8, maxChannels: 16, mappingLayers: 2 };

describe('style generator', () => {
  before(async () => {
    await initEngine();
  });

  it('has two W+ rows per resolution from 4×4 and the image shape asked for', () => {
    assert.equal(styleLayerCount(32), 8);
    assert.equal(styleLayerCount(256), 14);
    const g = styleGenerator({ ...small, channels: 3 });
    try {
      assert.equal(g.numLayers, 6);
      assert.deepEqual(g.synthesis.inputs[0]!.shape, [null, 6, 16]);
      assert.deepEqual(g.generator.outputs[0]!.shape, [null, 16, 16, 3]);
      assert.equal(g.latentDim, 16);
    } finally {
      g.dispose();
    }
  });

  for (const block of STYLE_BLOCKS)
    it(`synthesis(repeat(mapping(z))) equals generate(z) (${block} layers)`, () => {
      const g = styleGenerator({ ...small, block, noise: true, seed: 3 });
      try {
        const z = tf.randomNormal([5, g.latentDim], 0, 1, 'float32', 1) as tf.Tensor2D;
        const direct = valuesOf(() => g.generate(z));
        const viaW = valuesOf(() => g.synthesize(g.broadcast(g.mapZ(z))));
        assertClose(viaW, direct, 1e-6, 'G(z) through W+');
        z.dispose();
      } finally {
        g.dispose();
      }
    });

  it("a modulated conv equals the convolution with each image's own scaled and demodulated kernel (StyleGAN2 eq. 1–3)", () => {
    const [n, side, cin, cout, wDim] = [3, 5, 4, 6, 7];
    for (const demodulate of [true, false]) {
      const layer = new ModulatedConv2D({ filters: cout, kernelSize: 3, demodulate, seed: 11 });
      const x = tf.randomNormal([n, side, side, cin], 0, 1, 'float32', 1) as tf.Tensor4D;
      const w = tf.randomNormal([n, wDim], 0, 1, 'float32', 2) as tf.Tensor2D;
      const got = valuesOf(() => layer.apply([x, w]) as tf.Tensor);
      // Move the zero bias so it is checked too.
      const [kernel, styleKernel, styleBias] = layer.getWeights().map((t) => t.arraySync()) as [number[][][][], number[][], number[]];
      const bias = Array.from({ length: cout }, (_, j) => 0.1 * j);
      layer.setWeights([...layer.getWeights().slice(0, 3), tf.tensor1d(bias)]);
      const withBias = valuesOf(() => layer.apply([x, w]) as tf.Tensor);
      const ws = w.arraySync();
      const expected: number[] = [];
      const xs = x.arraySync();
      for (let b = 0; b < n; b++) {
        const s = Array.from({ length: cin }, (_, i) => styleBias[i]! + ws[b]!.reduce((acc, v, k) => acc + (v * styleKernel[k]![i]!) / Math.sqrt(wDim), 0));
        const scaled = kernel.map((row) => row.map((col) => col.map((ins, i) => ins.map((v) => (v / Math.sqrt(9 * cin)) * s[i]!))));
        const d = Array.from({ length: cout }, (_, j) => {
          let e = 0;
          for (const row of scaled) for (const col of row) for (let i = 0; i < cin; i++) e += col[i]![j]! ** 2;
          return demodulate ? 1 / Math.sqrt(e + 1e-8) : 1;
        });
        for (let y = 0; y < side; y++)
          for (let xx = 0; xx < side; xx++)
            for (let j = 0; j < cout; j++) {
              let acc = 0;
              for (let dy = -1; dy <= 1; dy++)
                for (let dx = -1; dx <= 1; dx++) {
                  const yy = y + dy;
                  const xc = xx + dx;
                  if (yy < 0 || yy >= side || xc < 0 || xc >= side) continue;
                  for (let i = 0; i < cin; i++) acc += xs[b]![yy]![xc]![i]! * scaled[dy + 1]![dx + 1]![i]![j]!;
                }
              expected.push(acc * d[j]!);
            }
      }
      assertClose(got, Float32Array.from(expected), 1e-4, `modulated conv (demodulate ${demodulate})`);
      assertClose(withBias, Float32Array.from(expected.map((v, i) => v + bias[i % cout]!)), 1e-4, 'with a bias');
      tf.dispose([x, w]);
      layer.dispose();
    }
  });

  it('takes a different w on each layer: changing any one row changes the image', () => {
    const g = styleGenerator({ ...small, seed: 1 });
    try {
      const n = g.numLayers;
      const base = tf.randomNormal([1, n, g.wDim], 0, 1, 'float32', 2) as tf.Tensor3D;
      const ref = valuesOf(() => g.synthesize(base));
      for (let row = 0; row < n; row++) {
        const moved = valuesOf(() => {
          const mask = tf.oneHot([row], n).reshape([1, n, 1]);
          return g.synthesize(tf.add(base, tf.mul(mask, 3)) as tf.Tensor3D);
        });
        const diff = moved.reduce((s, v, i) => s + Math.abs(v - ref[i]!), 0);
        assert.ok(diff > 1e-3, `row ${row} has an effect (${diff})`);
      }
      base.dispose();
    } finally {
      g.dispose();
    }
  });

  it('truncation ψ = 0 gives the mean-w image for every z; ψ = 1 is no truncation', () => {
    const g = styleGenerator({ ...small, seed: 2 });
    try {
      const z = tf.randomNormal([3, g.latentDim], 0, 1, 'float32', 4) as tf.Tensor2D;
      const zero = valuesOf(() => g.generate(z, { truncation: 0 }));
      const per = zero.length / 3;
      assertClose(zero.subarray(per, 2 * per), zero.subarray(0, per), 1e-6, 'ψ = 0 images');
      const meanImage = valuesOf(() => g.synthesize(g.broadcast(tf.expandDims(g.meanW(), 0) as tf.Tensor2D)));
      assertClose(zero.subarray(0, per), meanImage, 1e-5, 'mean-w image');
      assertClose(valuesOf(() => g.generate(z, { truncation: 1 })), valuesOf(() => g.generate(z)), 0, 'ψ = 1');
      throwsInput(() => g.generate(z, { truncation: -1 }), 'truncation');
      z.dispose();
    } finally {
      g.dispose();
    }
  });

  for (const block of STYLE_BLOCKS)
  it(`saves and loads to the same images, and the saved model loads as a plain z → image LayersModel (${block} layers)`, async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'style-'));
    const g = styleGenerator({ ...small, block, noise: true, seed: 5 });
    const z = tf.randomNormal([4, g.latentDim], 0, 1, 'float32', 6) as tf.Tensor2D;
    try {
      // Move the weights off their initial values so the check is not trivially true.
      g.generator.setWeights(g.generator.getWeights().map((w, i) => tf.add(w, tf.randomNormal(w.shape, 0, 0.05, 'float32', i))));
      await saveStyleGenerator(g, dir);
      assert.ok(isStyleGeneratorDir(dir));
      const loaded = await loadStyleGenerator(dir);
      try {
        assertClose(valuesOf(() => loaded.generate(z)), valuesOf(() => g.generate(z)), 0, 'loaded images');
        assert.deepEqual(loaded.config, g.config);
      } finally {
        loaded.dispose();
      }
      const plain = await loadModel(dir);
      try {
        assertClose(valuesOf(() => plain.predict(z) as tf.Tensor), valuesOf(() => g.generate(z)), 1e-6, 'plain model');
      } finally {
        plain.dispose();
      }
      await assert.rejects(loadStyleGenerator(os.tmpdir()), /style generator/);
    } finally {
      z.dispose();
      g.dispose();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('rejects bad options and codes of the wrong shape, naming the argument', () => {
    throwsInput(() => styleGenerator({ imageSize: 28 }), 'imageSize', '8, 16, 32, 64');
    throwsInput(() => styleGenerator({ wDim: 0 }), 'wDim');
    throwsInput(() => styleGenerator({ block: 'conv' as 'adain' }), 'block', 'modulated, adain');
    throwsInput(() => styleGenerator({ output: 'relu' as 'tanh' }), 'output');
    const g = styleGenerator(small);
    try {
      const bad = tf.zeros([2, g.numLayers + 1, g.wDim]) as tf.Tensor3D;
      throwsInput(() => g.synthesize(bad), 'wPlus', `[n, ${g.numLayers}, ${g.wDim}]`);
      bad.dispose();
    } finally {
      g.dispose();
    }
  });

  for (const block of STYLE_BLOCKS)
  it(`trains: gradients reach every weight, and the tensor count stays flat (${block} layers)`, () => {
    const g = styleGenerator({ ...small, block, noise: true });
    try {
      const opt = tf.train.adam(1e-3);
      const z = tf.randomNormal([4, g.latentDim], 0, 1, 'float32', 7) as tf.Tensor2D;
      const target = tf.zeros([4, 16, 16, 1]);
      const step = () =>
        tf.tidy(() => {
          const { grads, value } = tf.variableGrads(() => tf.mean(tf.square(tf.sub(g.generator.apply(z, { training: true }) as tf.Tensor, target))) as tf.Scalar, g.generator.trainableWeights.map((w) => w.read() as tf.Variable));
          opt.applyGradients(Object.entries(grads).map(([name, tensor]) => ({ name, tensor })));
          return [value, ...Object.values(grads).map((gr) => tf.max(tf.abs(gr)))];
        });
      const first = step();
      const magnitudes = first.slice(1).map((t) => t.dataSync()[0] as number);
      // The noise strengths start at 0, yet their gradient is the noise-weighted upstream gradient: non-zero.
      assert.ok(magnitudes.every((m) => m > 0), `every trainable weight gets a gradient: ${magnitudes.join(', ')}`);
      tf.dispose(first);
      tf.dispose(step());
      const count = tf.memory().numTensors;
      for (let i = 0; i < 3; i++) tf.dispose(step());
      assert.equal(tf.memory().numTensors, count);
      tf.dispose([z, target]);
      opt.dispose();
    } finally {
      g.dispose();
    }
  });
});
