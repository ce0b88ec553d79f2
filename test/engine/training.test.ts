/**
 * One training step of a conv net and one gradient-penalty step on every
 * backend that starts here, with gradients checked against the cpu backend,
 * and the second-order gradients eccvkit registers checked by finite differences.
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { tf, type BackendName } from '../../src/engine/index.js';
import { assertClose, availableBackends, onBackend, randomValues } from '../helpers.js';

type Params = Record<string, tf.Variable>;
const B = 4;

const SHAPES: Record<string, number[]> = {
  conv1: [3, 3, 1, 4],
  bnGamma: [4],
  bnBeta: [4],
  dense1: [4 * 4 * 4, 8],
  embed: [5, 3],
  dense2: [11, 4 * 4 * 2],
  deconv: [3, 3, 1, 2], // conv2dTranspose filter: [kh, kw, outChannels, inChannels]
  criticConv: [3, 3, 1, 4],
  criticDense: [16, 1],
};
const USES = {
  generator: ['conv1', 'bnGamma', 'bnBeta', 'dense1', 'embed', 'dense2', 'deconv'],
  penalty: ['criticConv', 'criticDense'],
};

function makeParams(seed: number, names: string[]): Params {
  const out: Params = {};
  let s = seed;
  for (const name of names) {
    const shape = SHAPES[name] as number[];
    const n = shape.reduce((a, b) => a * b, 1);
    const init = tf.tensor(randomValues(n, s++, -0.5, 0.5), shape);
    out[name] = tf.variable(init, true, `${name}_${seed}_${Math.floor(performance.now() * 1000)}`);
    init.dispose();
  }
  return out;
}

/** conv2d → batchNorm → leakyRelu → maxPool → dense ⊕ embedding → dense → conv2dTranspose → tanh → MSE. */
function generatorLoss(p: Params, x: tf.Tensor4D, labels: tf.Tensor1D, target: tf.Tensor4D): tf.Scalar {
  const h1 = tf.conv2d(x, p.conv1 as tf.Tensor4D, 1, 'same');
  const { mean, variance } = tf.moments(h1, [0, 1, 2]);
  const bn = tf.batchNorm(h1, mean, variance, p.bnBeta as tf.Tensor1D, p.bnGamma as tf.Tensor1D, 1e-3);
  const pooled = tf.maxPool(tf.leakyRelu(bn as tf.Tensor4D, 0.2), 2, 2, 'valid');
  const flat = tf.reshape(pooled, [B, -1]);
  const d1 = tf.leakyRelu(tf.matMul(flat, p.dense1 as tf.Tensor2D), 0.2);
  const emb = tf.gather(p.embed as tf.Tensor2D, labels);
  const d2 = tf.matMul(tf.concat([d1, emb], 1), p.dense2 as tf.Tensor2D);
  const up = tf.conv2dTranspose(tf.reshape(d2, [B, 4, 4, 2]) as tf.Tensor4D, p.deconv as tf.Tensor4D, [B, 8, 8, 1], 2, 'same');
  return tf.losses.meanSquaredError(target, tf.tanh(up)) as tf.Scalar;
}

/** A critic with every op whose double backprop tfjs 4.22 lacks: leakyRelu, maximum/minimum, maxPool, avgPool, elu. */
function critic(p: Params, x: tf.Tensor4D): tf.Tensor {
  let h: tf.Tensor4D = tf.conv2d(x, p.criticConv as tf.Tensor4D, 1, 'same');
  h = tf.leakyRelu(h, 0.2);
  h = tf.maxPool(h, 2, 2, 'same');
  h = tf.elu(h);
  h = tf.minimum(tf.maximum(h, tf.mul(h, 0.1)), 3);
  h = tf.avgPool(h, 2, 2, 'valid');
  return tf.tanh(tf.matMul(tf.reshape(h, [B, -1]), p.criticDense as tf.Tensor2D));
}

function gradientPenalty(p: Params, real: tf.Tensor4D, fake: tf.Tensor4D, eps: tf.Tensor4D): tf.Scalar {
  const xhat = tf.add(tf.mul(eps, real), tf.mul(tf.sub(1, eps), fake)) as tf.Tensor4D;
  const g = tf.grad((xx: tf.Tensor) => tf.sum(critic(p, xx as tf.Tensor4D)))(xhat);
  const norms = tf.sqrt(tf.add(tf.sum(tf.square(g), [1, 2, 3]), 1e-12));
  return tf.mean(tf.square(tf.sub(norms, 1))) as tf.Scalar;
}

interface StepResult {
  loss: number;
  grads: Record<string, Float32Array>;
  after: Record<string, Float32Array>;
}

function trainStep(kind: 'generator' | 'penalty'): StepResult {
  const p = makeParams(11, USES[kind]);
  const x = tf.tensor4d(randomValues(B * 8 * 8, 1), [B, 8, 8, 1]);
  const other = tf.tensor4d(randomValues(B * 8 * 8, 2), [B, 8, 8, 1]);
  const eps = tf.tensor4d(randomValues(B, 3, 0, 1), [B, 1, 1, 1]);
  const labels = tf.tensor1d([0, 3, 3, 4], 'int32');
  const f = kind === 'generator' ? () => generatorLoss(p, x, labels, tf.tanh(other)) : () => gradientPenalty(p, x, other, eps);
  const { value, grads } = tf.variableGrads(f, Object.values(p)) as { value: tf.Scalar; grads: Record<string, tf.Tensor> };
  const out: StepResult = { loss: value.dataSync()[0] as number, grads: {}, after: {} };
  const byVarName = new Map(Object.entries(p).map(([k, v]) => [v.name, k]));
  for (const [varName, g] of Object.entries(grads)) out.grads[byVarName.get(varName) as string] = Float32Array.from(g.dataSync());
  const opt = tf.train.adam(1e-2);
  opt.applyGradients(Object.entries(grads).map(([name, tensor]) => ({ name, tensor })));
  for (const [k, v] of Object.entries(p)) out.after[k] = Float32Array.from(v.dataSync());
  tf.dispose([value, ...Object.values(grads), x, other, eps, labels, ...Object.values(p)]);
  opt.dispose();
  return out;
}

describe('training on every backend matches the cpu backend', () => {
  let backends: BackendName[] = [];
  before(async () => {
    backends = await availableBackends();
  });

  for (const kind of ['generator', 'penalty'] as const) {
    it(`${kind === 'generator' ? 'conv net step (conv, batchNorm, maxPool, dense, conv2dTranspose, leakyRelu, tanh, embedding)' : 'gradient-penalty step (grad of grad)'}`, async () => {
      assert.ok(backends.includes('wasm'), 'the wasm backend must start on this machine');
      const reference = await onBackend('cpu', () => trainStep(kind));
      assert.ok(Number.isFinite(reference.loss) && reference.loss > 0);
      for (const name of USES[kind]) {
        const g = reference.grads[name] as Float32Array;
        assert.ok(g !== undefined, `no gradient for ${name}`);
        assert.ok(g.some((v) => v !== 0), `gradient for ${name} is all zero`);
      }
      for (const backend of backends.filter((b) => b !== 'cpu')) {
        const r = await onBackend(backend, () => trainStep(kind));
        assertClose([r.loss], [reference.loss], 1e-4, `${backend} loss`);
        for (const [name, g] of Object.entries(reference.grads)) assertClose(r.grads[name] as Float32Array, g, 1e-4, `${backend} gradient ${name}`);
        for (const [name, w] of Object.entries(reference.after)) assertClose(r.after[name] as Float32Array, w, 1e-4, `${backend} weights ${name} after Adam`);
      }
    });
  }
});

describe('registered second-order gradients agree with finite differences', () => {
  // h(w) = ‖∇x Σ op(x ⊙ w)‖²: its gradient in w runs through the op's gradient's gradient.
  const ops: Record<string, (t: tf.Tensor4D) => tf.Tensor> = {
    leakyRelu: (t) => tf.leakyRelu(t, 0.2),
    maximum: (t) => tf.maximum(t, tf.mul(t, 0.3)),
    minimum: (t) => tf.minimum(t, tf.mul(t, 0.3)),
    maxPool: (t) => tf.mul(tf.maxPool(t, [2, 2], [1, 1], 'same'), tf.linspace(0.5, 2, 2 * 5 * 5 * 2).reshape([2, 5, 5, 2])),
    maxPoolStrided: (t) => tf.mul(tf.maxPool(t, 3, 2, 'valid'), tf.linspace(0.5, 2, 2 * 2 * 2 * 2).reshape([2, 2, 2, 2])),
    avgPool: (t) => tf.square(tf.avgPool(t, [2, 2], [1, 1], 'valid')),
    avgPoolSame: (t) => tf.square(tf.avgPool(t, [3, 3], [2, 2], 'same')),
    logSoftmaxComposed: (t) => tf.mul(tf.sub(t, tf.logSumExp(t, -1, true)), tf.linspace(-1, 2, 2 * 5 * 5 * 2).reshape([2, 5, 5, 2])),
    elu: (t) => tf.elu(t),
    tanh: (t) => tf.tanh(t),
    sigmoid: (t) => tf.sigmoid(t),
    exp: (t) => tf.exp(tf.mul(t, 0.5)),
    softmax: (t) => tf.mul(tf.softmax(tf.mul(t, 3)), tf.linspace(-3, 5, 2 * 5 * 5 * 2).reshape([2, 5, 5, 2])),
    pow: (t) => tf.pow(tf.add(tf.abs(t), 0.5), tf.linspace(0.5, 2.5, 2 * 5 * 5 * 2).reshape([2, 5, 5, 2])),
    // Sum and mean over some axes, squared so the second derivative is not zero.
    sumAxes: (t) => tf.square(tf.sum(tf.square(t), [1, 3])),
    meanAxes: (t) => tf.square(tf.mean(tf.tanh(t), [0, 2], true)),
  };
  for (const [name, op] of Object.entries(ops)) {
    it(name, async () => {
      await onBackend('cpu', () => {
        const x = tf.tensor4d(randomValues(2 * 5 * 5 * 2, 21), [2, 5, 5, 2]);
        const w0 = tf.tensor4d(randomValues(2 * 5 * 5 * 2, 22, 0.5, 1.5), [2, 5, 5, 2]);
        const v = tf.tensor4d(randomValues(2 * 5 * 5 * 2, 23), [2, 5, 5, 2]);
        const h = (w: tf.Tensor4D): tf.Scalar =>
          tf.tidy(() => tf.sum(tf.square(tf.grad((xx: tf.Tensor) => tf.sum(op(tf.mul(xx, w) as tf.Tensor4D)))(x))) as tf.Scalar);
        const analytic = tf.tidy(() => tf.sum(tf.mul(tf.grad((w: tf.Tensor) => h(w as tf.Tensor4D))(w0), v)).dataSync()[0] as number);
        const e = 1e-3;
        const hp = tf.tidy(() => h(tf.add(w0, tf.mul(v, e)) as tf.Tensor4D).dataSync()[0] as number);
        const hm = tf.tidy(() => h(tf.sub(w0, tf.mul(v, e)) as tf.Tensor4D).dataSync()[0] as number);
        const numeric = (hp - hm) / (2 * e);
        tf.dispose([x, w0, v]);
        assert.ok(Math.abs(analytic) > 1e-3, `${name}: directional derivative ${analytic} is too small to test`);
        assert.ok(Math.abs(analytic - numeric) <= 2e-2 * Math.abs(numeric) + 1e-3, `${name}: analytic ${analytic} vs finite difference ${numeric}`);
      });
    });
  }
});

describe('first-order gradients eccvkit corrects', () => {
  it("avgPool with 'same' padding: border windows divide by the pixels inside", async () => {
    await onBackend('cpu', () => {
      const x = tf.tensor4d(randomValues(5 * 5, 40), [1, 5, 5, 1]);
      const g = tf.tidy(() => Array.from(tf.grad((xx: tf.Tensor) => tf.sum(tf.avgPool(xx as tf.Tensor4D, 3, 2, 'same')))(x).dataSync()));
      x.dispose();
      // 3×3 windows, stride 2, one pixel of padding: window rows cover {0,1}, {1,2,3}, {3,4}.
      const rows = [[0], [0, 1], [1], [1, 2], [2]];
      const size = [2, 3, 2];
      const expected = (r: number, c: number) =>
        (rows[r] as number[]).reduce((s, i) => s + (rows[c] as number[]).reduce((t, j) => t + 1 / ((size[i] as number) * (size[j] as number)), 0), 0);
      assertClose(g, Array.from({ length: 25 }, (_, p) => expected(Math.floor(p / 5), p % 5)), 1e-6, 'avgPool gradient');
      assert.ok(Math.abs((g[0] as number) - 0.25) < 1e-6);
    });
  });

  it('maximum, minimum and squaredDifference sum their gradient over broadcast axes', async () => {
    await onBackend('cpu', () => {
      // x is 2×3, c broadcasts along rows; ties go to x, as in tfjs.
      const x = tf.tensor2d([1, 5, 3, 4, 0, 3], [2, 3]);
      const c = tf.tensor1d([2, 2, 3]);
      const grads = (f: (a: tf.Tensor, b: tf.Tensor) => tf.Tensor) =>
        tf.tidy(() => tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(f(a, b)))([x, c]).map((g) => Array.from(g.dataSync())));
      assert.deepEqual(grads(tf.maximum), [[0, 1, 1, 1, 0, 1], [1, 1, 0]]);
      assert.deepEqual(grads(tf.minimum), [[1, 0, 1, 0, 1, 1], [1, 1, 0]]);
      // d/dx Σ(x − c)² = 2(x − c); d/dc = −Σ_rows 2(x − c).
      assert.deepEqual(grads(tf.squaredDifference), [[-2, 6, 0, 4, -4, 0], [-2, -2, 0]]);
      tf.dispose([x, c]);
    });
  });

  it('sum and mean spread dy over the reduced axes (÷ their size for the mean), on every backend', async () => {
    for (const backend of await availableBackends()) {
      await onBackend(backend, () => {
        const x = tf.tensor3d(randomValues(2 * 3 * 4, 41), [2, 3, 4]);
        const r = tf.tensor2d([1, -2, 3, 0.5, 4, -1, 2, 5], [2, 4]);
        const [gs, gm, gAll] = tf.tidy(() => [
          Array.from(tf.grad((a: tf.Tensor) => tf.sum(tf.mul(tf.sum(a, 1), r)))(x).dataSync()),
          Array.from(tf.grad((a: tf.Tensor) => tf.sum(tf.mul(tf.mean(a, 1), r)))(x).dataSync()),
          Array.from(tf.grad((a: tf.Tensor) => tf.mul(tf.mean(a), 6))(x).dataSync()),
        ]);
        const rv = r.dataSync();
        const at = (i: number, j: number, k: number) => rv[i * 4 + k] as number;
        const idx = Array.from({ length: 24 }, (_, p) => [Math.floor(p / 12), Math.floor(p / 4) % 3, p % 4] as const);
        assertClose(gs, idx.map(([i, j, k]) => at(i, j, k)), 1e-6, `${backend}: d sum`);
        assertClose(gm, idx.map(([i, j, k]) => at(i, j, k) / 3), 1e-6, `${backend}: d mean`);
        assertClose(gAll, idx.map(() => 6 / 24), 1e-6, `${backend}: d mean of all`);
        // An empty input has an empty gradient of its own shape.
        const empty = tf.zeros([0, 3]);
        const ge = tf.grad((a: tf.Tensor) => tf.sum(a))(empty);
        assert.deepEqual(ge.shape, [0, 3]);
        tf.dispose([x, r, empty, ge]);
      });
    }
  });

  it('nearest-neighbour upsampling sends each image only its own gradient (tfjs mixes the images of a batch)', async () => {
    for (const backend of await availableBackends()) {
      await onBackend(backend, () => {
        const x = tf.tensor4d(randomValues(3 * 2 * 2 * 2, 41), [3, 2, 2, 2]);
        const weights = tf.tensor4d(randomValues(3 * 5 * 5 * 2, 42), [3, 5, 5, 2]);
        for (const [size, align] of [[[4, 4], false], [[3, 5], false], [[4, 4], true]] as const) {
          const w = tf.slice(weights, [0, 0, 0, 0], [-1, size[0], size[1], -1]);
          const g = tf.tidy(() => Array.from(tf.grad((xx: tf.Tensor) => tf.sum(tf.mul(tf.image.resizeNearestNeighbor(xx as tf.Tensor4D, [...size], align), w)))(x).dataSync()));
          // By hand: each input pixel collects the weights of the output pixels that copy it, within its own image.
          const wv = w.dataSync();
          const expected = new Array<number>(x.size).fill(0);
          const [oh, ow] = size;
          for (let b = 0; b < 3; b++)
            for (let r = 0; r < oh; r++)
              for (let c = 0; c < ow; c++) {
                const sr = align ? Math.min(1, Math.round((r * 1) / (oh - 1))) : Math.min(1, Math.floor((r * 2) / oh));
                const sc = align ? Math.min(1, Math.round((c * 1) / (ow - 1))) : Math.min(1, Math.floor((c * 2) / ow));
                for (let d = 0; d < 2; d++) expected[((b * 2 + sr) * 2 + sc) * 2 + d]! += wv[((b * oh + r) * ow + c) * 2 + d]!;
              }
          assertClose(g, expected, 1e-5, `${backend} resize to ${size.join('×')}${align ? ' aligned' : ''}`);
          w.dispose();
        }
        tf.dispose([x, weights]);
      });
    }
  });
});

describe('tfjs-layers model.fit on wasm', () => {
  it('trains a conv net with batch norm, depthwise conv, pooling, dropout and conv2dTranspose', async () => {
    await onBackend('wasm', async () => {
      const init = (seed: number) => tf.initializers.glorotUniform({ seed });
      const model = tf.sequential({
        layers: [
          tf.layers.conv2d({ inputShape: [12, 12, 1], filters: 6, kernelSize: 3, padding: 'same', kernelInitializer: init(1) }),
          tf.layers.batchNormalization(),
          tf.layers.leakyReLU({ alpha: 0.2 }),
          tf.layers.depthwiseConv2d({ kernelSize: 3, depthMultiplier: 2, padding: 'same', depthwiseInitializer: init(2) }),
          tf.layers.maxPooling2d({ poolSize: 2 }),
          tf.layers.conv2dTranspose({ filters: 4, kernelSize: 3, strides: 2, padding: 'same', kernelInitializer: init(3) }),
          tf.layers.averagePooling2d({ poolSize: 4 }),
          tf.layers.flatten(),
          tf.layers.dropout({ rate: 0.1, seed: 4 }),
          tf.layers.dense({ units: 3, activation: 'softmax', kernelInitializer: init(5) }),
        ],
      });
      const optimizer = tf.train.adam(0.01);
      model.compile({ optimizer, loss: 'categoricalCrossentropy' });
      const labels = Array.from({ length: 48 }, (_, i) => i % 3);
      // Class k lights the k-th third of each image: learnable in a few epochs.
      const xs = tf.tidy(() => {
        const base = tf.tensor4d(randomValues(48 * 12 * 12, 30, 0, 0.3), [48, 12, 12, 1]);
        const rows = tf.tensor(labels.flatMap((k) => Array.from({ length: 144 }, (_, p) => (Math.floor(Math.floor(p / 12) / 4) === k ? 1 : 0))), [48, 12, 12, 1]);
        return tf.add(base, rows);
      });
      const ys = tf.tidy(() => tf.oneHot(tf.tensor1d(labels, 'int32'), 3));
      const history = await model.fit(xs, ys, { epochs: 8, batchSize: 16, shuffle: false, verbose: 0 });
      const losses = history.history.loss as number[];
      tf.dispose([xs, ys]);
      model.dispose();
      optimizer.dispose();
      assert.ok(losses.every(Number.isFinite), `losses ${losses}`);
      assert.ok((losses.at(-1) as number) < 0.7 * (losses[0] as number), `loss did not fall: ${losses.map((l) => l.toFixed(3)).join(', ')}`);
    });
  });
});
