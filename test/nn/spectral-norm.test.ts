import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createRng, initEngine, tf } from '../../src/engine/index.js';
import { symmetricEigen } from '../../src/gan/linalg.js';
import { loadModel, saveModel } from '../../src/nn/io.js';
import { estimateSpectralNorm, SpectralNorm, spectralNorm } from '../../src/nn/spectral-norm.js';
import { assertClose, throwsInput } from '../helpers.js';

/** A random n×n orthogonal matrix (Gram–Schmidt in Float64 on a seeded Gaussian matrix), row-major. */
function orthogonal(n: number, seed: number): Float64Array {
  const rng = createRng(seed);
  const q = new Float64Array(n * n);
  for (let c = 0; c < n; c++) {
    const col = Array.from({ length: n }, () => rng.normal());
    for (let p = 0; p < c; p++) {
      let dot = 0;
      for (let r = 0; r < n; r++) dot += (col[r] as number) * (q[r * n + p] as number);
      for (let r = 0; r < n; r++) col[r] = (col[r] as number) - dot * (q[r * n + p] as number);
    }
    const norm = Math.hypot(...col);
    for (let r = 0; r < n; r++) q[r * n + c] = (col[r] as number) / norm;
  }
  return q;
}

/** U·diag(s)·Vᵀ of shape rows×cols with the given singular values (rows ≥ s.length, cols ≥ s.length). */
function withSingularValues(rows: number, cols: number, s: number[], seed: number): Float32Array {
  const u = orthogonal(rows, seed);
  const v = orthogonal(cols, seed + 1);
  const out = new Float32Array(rows * cols);
  for (let i = 0; i < rows; i++)
    for (let j = 0; j < cols; j++) {
      let acc = 0;
      for (let k = 0; k < s.length; k++) acc += (u[i * rows + k] as number) * (s[k] as number) * (v[j * cols + k] as number);
      out[i * cols + j] = acc;
    }
  return out;
}

/** Largest singular value of a row-major rows×cols matrix: √ of the largest eigenvalue of MᵀM (Jacobi, Float64). */
function topSingularValue(m: ArrayLike<number>, rows: number, cols: number): number {
  const g = new Float64Array(cols * cols);
  for (let i = 0; i < cols; i++)
    for (let j = 0; j < cols; j++) {
      let acc = 0;
      for (let r = 0; r < rows; r++) acc += (m[r * cols + i] as number) * (m[r * cols + j] as number);
      g[i * cols + j] = acc;
    }
  return Math.sqrt(Math.max(...symmetricEigen({ n: cols, values: g }).eigenvalues));
}

describe('spectral norm', () => {
  let dir: string;
  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'eccvkit-sn-'));
    await initEngine();
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('estimateSpectralNorm finds the constructed largest singular value', () => {
    const w = tf.tensor2d(withSingularValues(12, 8, [3, 1.5, 0.7, 0.2], 5), [12, 8]);
    assertClose([estimateSpectralNorm(w, 30)], [3], 1e-4, 'σ of U·diag(3, 1.5, 0.7, 0.2)·Vᵀ');
    // One iteration already bounds σ from below.
    assert.ok(estimateSpectralNorm(w, 1) <= 3 + 1e-4, 'one iteration overshoots σ');
    w.dispose();
  });

  it('matches the largest singular value of random Gaussian matrices to 1e-3', () => {
    for (const [rows, cols, seed] of [
      [20, 30, 1],
      [64, 16, 2],
      [3 * 3 * 4, 8, 3],
    ] as const) {
      const rng = createRng(seed);
      const values = Float32Array.from({ length: rows * cols }, () => rng.normal());
      const w = tf.tensor2d(values, [rows, cols]);
      const truth = topSingularValue(values, rows, cols);
      const est = estimateSpectralNorm(w, 500, seed);
      assert.ok(Math.abs(est - truth) / truth < 1e-3, `${rows}×${cols}: ${est} vs ${truth}`);
      w.dispose();
    }
  });

  it('a conv kernel is measured as its [kh·kw·in, out] matrix', () => {
    const values = withSingularValues(3 * 3 * 2, 4, [2, 1, 0.5], 9);
    const w = tf.tensor4d(values, [3, 3, 2, 4]);
    assertClose([estimateSpectralNorm(w, 40)], [2], 1e-4);
    w.dispose();
  });

  it('the wrapped dense layer computes x·kW/σ + b once u has converged, and predict does not move u', () => {
    const kernel = withSingularValues(6, 5, [4, 2, 1], 11);
    for (const bound of [1, 3]) {
      const layer = spectralNorm(tf.layers.dense({ units: 5, inputShape: [6], biasInitializer: 'ones' }), { bound, seed: 2 });
      const model = tf.sequential({ layers: [layer] });
      const kernelVar = layer.trainableWeights.find((w) => w.originalName.endsWith('kernel'))!;
      kernelVar.write(tf.tensor2d(kernel, [6, 5]));
      const x = tf.tensor2d(Float32Array.from({ length: 12 }, (_, i) => Math.sin(i + 1)), [2, 6]);
      for (let i = 0; i < 30; i++) tf.dispose(model.apply(x, { training: true }) as tf.Tensor);
      const uBefore = Array.from(layer.nonTrainableWeights[0]!.read().dataSync());
      const y = model.predict(x) as tf.Tensor;
      const expected = tf.tidy(() => tf.add(tf.matMul(x, tf.mul(tf.tensor2d(kernel, [6, 5]), bound / 4)), 1));
      assertClose(y.dataSync(), expected.dataSync(), 1e-4, `bound ${bound}`);
      const eff = layer.normalizedKernel(false);
      assertClose([estimateSpectralNorm(eff, 50)], [bound], 1e-4, 'σ of the effective kernel');
      assert.deepEqual(Array.from(layer.nonTrainableWeights[0]!.read().dataSync()), uBefore, 'u moved at inference');
      tf.dispose([x, y, expected, eff]);
      model.dispose();
    }
  });

  it('one training call runs exactly one power iteration on u', () => {
    const layer = spectralNorm(tf.layers.dense({ units: 3, inputShape: [4], useBias: false }), { seed: 4 });
    const model = tf.sequential({ layers: [layer] });
    const x = tf.ones([1, 4]);
    tf.dispose(model.predict(x) as tf.Tensor);
    const w = layer.trainableWeights[0]!.read();
    const [m, u0] = [w.arraySync() as number[][], Array.from(layer.nonTrainableWeights[0]!.read().dataSync())];
    // v = M u/‖M u‖, u' = Mᵀ v/‖Mᵀ v‖ by hand.
    const mu = m.map((row) => row.reduce((s, a, j) => s + a * (u0[j] as number), 0));
    const nv = Math.hypot(...mu);
    const v = mu.map((a) => a / nv);
    const mtv = [0, 1, 2].map((j) => m.reduce((s, row, i) => s + (row[j] as number) * (v[i] as number), 0));
    const nu = Math.hypot(...mtv);
    tf.dispose(model.apply(x, { training: true }) as tf.Tensor);
    assertClose(layer.nonTrainableWeights[0]!.read().dataSync(), mtv.map((a) => a / nu), 1e-5, 'u after one step');
    x.dispose();
    model.dispose();
  });

  it('the kernel gradient treats u and v as constants: G/σ − ⟨G, W⟩/σ² · v·uᵀ', () => {
    const layer = spectralNorm(tf.layers.dense({ units: 3, inputShape: [4], useBias: false }), { seed: 7 });
    const model = tf.sequential({ layers: [layer] });
    const x = tf.tensor2d([0.3, -1, 2, 0.5, 1, 1, -0.2, 0.1], [2, 4]);
    const coef = tf.tensor2d([1, -2, 0.5, 0.3, 0.7, -1], [2, 3]);
    const kernelVar = layer.trainableWeights[0]!;
    tf.dispose(model.predict(x) as tf.Tensor);
    const w = kernelVar.read().arraySync() as number[][];
    const u = Array.from(layer.nonTrainableWeights[0]!.read().dataSync());
    const mu = w.map((row) => row.reduce((s, a, j) => s + a * (u[j] as number), 0));
    const nv = Math.hypot(...mu);
    const v = mu.map((a) => a / nv);
    const sigma = nv; // vᵀ M u with v = Mu/‖Mu‖
    // L = Σ coef ⊙ (x·W/σ): G = xᵀ·coef.
    const g = (tf.matMul(x, coef, true, false).arraySync() as number[][]);
    let gw = 0;
    for (let i = 0; i < 4; i++) for (let j = 0; j < 3; j++) gw += (g[i]![j] as number) * (w[i]![j] as number);
    const expected: number[] = [];
    for (let i = 0; i < 4; i++) for (let j = 0; j < 3; j++) expected.push((g[i]![j] as number) / sigma - (gw / sigma ** 2) * (v[i] as number) * (u[j] as number));
    const { grads } = tf.variableGrads(() => tf.sum(tf.mul(coef, model.apply(x, { training: false }) as tf.Tensor)) as tf.Scalar, [kernelVar.read() as tf.Variable]);
    const grad = Object.values(grads)[0]!;
    assertClose(grad.dataSync(), expected, 1e-4, '∂L/∂W');
    tf.dispose([x, coef, grad]);
    model.dispose();
  });

  it('round-trips through model.save / loadLayersModel with u and the bound', async () => {
    const rng = createRng(3);
    const model = tf.sequential({
      layers: [
        new SpectralNorm({ layer: tf.layers.conv2d({ filters: 4, kernelSize: 3, strides: 2, padding: 'same', activation: 'relu', kernelInitializer: tf.initializers.glorotUniform({ seed: rng.seedInt() }) }), inputShape: [8, 8, 1], seed: 1 }),
        tf.layers.flatten(),
        new SpectralNorm({ layer: tf.layers.dense({ units: 1, kernelInitializer: tf.initializers.glorotUniform({ seed: rng.seedInt() }) }), bound: 2.5, seed: 2 }),
      ],
    });
    const x = tf.tidy(() => tf.randomUniform([3, 8, 8, 1], -1, 1, 'float32', 5));
    for (let i = 0; i < 3; i++) tf.dispose(model.apply(x, { training: true }) as tf.Tensor);
    await saveModel(model, path.join(dir, 'sn'));
    const loaded = await loadModel(path.join(dir, 'sn'));
    const a = model.predict(x) as tf.Tensor;
    const b = loaded.predict(x) as tf.Tensor;
    assertClose(b.dataSync(), a.dataSync(), 1e-6, 'predictions after load');
    assert.equal(loaded.weights.length, model.weights.length);
    const frozen = loaded.layers[0] as SpectralNorm;
    frozen.trainable = false;
    assert.equal(frozen.trainableWeights.length, 0);
    assert.equal(frozen.nonTrainableWeights.length, 3, 'kernel, bias and u');
    assert.equal(loaded.trainableWeights.length, 2, 'only the dense kernel and bias stay trainable');
    const sn = loaded.layers[2] as SpectralNorm;
    assert.ok(sn instanceof SpectralNorm, 'loaded layer is not a SpectralNorm');
    assert.equal(sn.bound, 2.5);
    assertClose(sn.nonTrainableWeights[0]!.read().dataSync(), (model.layers[2] as SpectralNorm).nonTrainableWeights[0]!.read().dataSync(), 0, 'u');
    tf.dispose([x, a, b]);
    model.dispose();
    loaded.dispose();
  });

  it('keeps the tensor count flat over training steps', () => {
    const model = tf.sequential({ layers: [spectralNorm(tf.layers.dense({ units: 2, inputShape: [3] }))] });
    const opt = tf.train.adam(0.01);
    const x = tf.ones([4, 3]);
    const step = () => tf.dispose(opt.minimize(() => tf.mean(model.apply(x, { training: true }) as tf.Tensor) as tf.Scalar, true) ?? []);
    step();
    const before = tf.memory().numTensors;
    for (let i = 0; i < 5; i++) step();
    assert.equal(tf.memory().numTensors, before);
    x.dispose();
    opt.dispose();
    model.dispose();
  });

  it('rejects a layer without a kernel and a bad bound', () => {
    throwsInput(() => spectralNorm(tf.layers.dense({ units: 2 }), { bound: 0 }), 'bound', 'positive');
    const layer = spectralNorm(tf.layers.batchNormalization({}));
    throwsInput(() => layer.build([null, 4]), 'layer', 'kernel');
    throwsInput(() => estimateSpectralNorm(tf.scalar(1), 5), 'weight');
  });
});
