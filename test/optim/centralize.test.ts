/**
 * The GC operator: hand-computed cases, the PyTorch reference rule transposed
 * to tfjs layouts, zero mean per output unit, the projection's invariants,
 * the depthwise exception and input errors.
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { centralizeGradient, defaultParameterKind, gcApplies, gcReduceAxes } from '../../src/optim/index.js';
import { initEngine, tf } from '../../src/engine/index.js';
import { assertClose, onBackend, randomValues, throwsInput, valuesOf } from '../helpers.js';

/** Row-major offset of `idx` in a tensor of `shape`. */
function offset(shape: number[], idx: number[]): number {
  let o = 0;
  for (let a = 0; a < shape.length; a++) o = o * (shape[a] as number) + (idx[a] as number);
  return o;
}

/** Every index tuple of `shape`, in row-major order. */
function* indices(shape: number[]): Generator<number[]> {
  const total = shape.reduce((a, b) => a * b, 1);
  for (let flat = 0; flat < total; flat++) {
    const idx: number[] = new Array(shape.length);
    let r = flat;
    for (let a = shape.length - 1; a >= 0; a--) {
      idx[a] = r % (shape[a] as number);
      r = Math.floor(r / (shape[a] as number));
    }
    yield idx;
  }
}

/**
 * The reference code's rule on an HWIO kernel, written the PyTorch way: view
 * it as OIHW (out-first), subtract the mean over dims 1.. per output filter,
 * and go back to HWIO. Plain loops in float64.
 */
function referenceConvGc(values: Float32Array, shape: number[]): Float64Array {
  const out = shape[shape.length - 1] as number;
  const perFilter = values.length / out;
  const means = new Float64Array(out);
  for (let i = 0; i < values.length; i++) means[i % out]! += (values[i] as number) / perFilter;
  return Float64Array.from(values, (v, i) => v - (means[i % out] as number));
}

/** PyTorch's depthwise weight is (in·mult, 1, kh, kw): the mean per output channel is over kh, kw only. */
function referenceDepthwiseGc(values: Float32Array, shape: [number, number, number, number]): Float64Array {
  const [kh, kw, cin, mult] = shape;
  const out = new Float64Array(values.length);
  for (let c = 0; c < cin; c++) {
    for (let m = 0; m < mult; m++) {
      let mean = 0;
      for (let y = 0; y < kh; y++) for (let x = 0; x < kw; x++) mean += (values[offset(shape, [y, x, c, m])] as number) / (kh * kw);
      for (let y = 0; y < kh; y++) for (let x = 0; x < kw; x++) out[offset(shape, [y, x, c, m])] = (values[offset(shape, [y, x, c, m])] as number) - mean;
    }
  }
  return out;
}

/** Means of `values` (of `shape`) over `axes`, keyed by the remaining index. */
function groupMeans(values: ArrayLike<number>, shape: number[], axes: number[]): Map<string, number> {
  const sums = new Map<string, { s: number; n: number }>();
  for (const idx of indices(shape)) {
    const key = idx.filter((_, a) => !axes.includes(a)).join(',');
    const e = sums.get(key) ?? { s: 0, n: 0 };
    e.s += values[offset(shape, idx)] as number;
    e.n++;
    sums.set(key, e);
  }
  return new Map([...sums].map(([k, e]) => [k, e.s / e.n]));
}

describe('centralizeGradient', () => {
  before(async () => {
    await initEngine({ backend: 'wasm' });
  });

  it('subtracts each output unit’s mean from a dense gradient (hand-computed)', async () => {
    await onBackend('wasm', () => {
      // columns are output units: means 2 and 4.
      const got = valuesOf(() => centralizeGradient(tf.tensor2d([[1, 2], [3, 6]]), { kind: 'dense' }));
      assert.deepEqual(Array.from(got), [-1, -2, 1, 2]);
    });
  });

  it('equals the reference (PyTorch, out-first) rule transposed to HWIO for conv kernels', async () => {
    await onBackend('wasm', () => {
      for (const shape of [[3, 3, 2, 4], [5, 3, 6], [2, 2, 2, 3, 2], [7, 5]]) {
        const values = randomValues(shape.reduce((a, b) => a * b, 1), shape.length, -1, 3);
        const kind = shape.length === 2 ? 'dense' : 'conv';
        const got = valuesOf(() => centralizeGradient(tf.tensor(values, shape), { kind }));
        assertClose(got, referenceConvGc(values, shape), 1e-6, `conv GC of [${shape}]`);
        const auto = valuesOf(() => centralizeGradient(tf.tensor(values, shape)));
        assert.deepEqual(auto, got, `auto equals ${kind} for [${shape}]`);
      }
    });
  });

  it('leaves zero mean per output unit, is idempotent and orthogonal (a projection)', async () => {
    await onBackend('wasm', () => {
      const shape = [3, 3, 4, 5];
      const values = randomValues(180, 11, 0, 2); // a clearly non-zero mean
      const g = valuesOf(() => centralizeGradient(tf.tensor(values, shape), { kind: 'conv' }));
      for (const [unit, mean] of groupMeans(g, shape, [0, 1, 2])) assert.ok(Math.abs(mean) < 1e-6, `unit ${unit} mean ${mean}`);
      for (const [unit, mean] of groupMeans(values, shape, [0, 1, 2])) assert.ok(Math.abs(mean) > 0.3, `input unit ${unit} has mean ${mean}`);
      const twice = valuesOf(() => centralizeGradient(centralizeGradient(tf.tensor(values, shape), { kind: 'conv' }), { kind: 'conv' }));
      assertClose(twice, g, 1e-6, 'Φ(Φ(g)) = Φ(g)');
      // ⟨Φg, g − Φg⟩ = 0 per output unit: the removed part is orthogonal to what is kept.
      const out = 5;
      const dots = new Float64Array(out);
      for (let i = 0; i < values.length; i++) dots[i % out]! += (g[i] as number) * ((values[i] as number) - (g[i] as number));
      for (const d of dots) assert.ok(Math.abs(d) < 1e-4, `inner product ${d}`);
    });
  });

  it('averages depthwise kernels over the two spatial axes only, unlike the dense/conv rule', async () => {
    await onBackend('wasm', () => {
      const shape: [number, number, number, number] = [3, 3, 4, 2];
      const values = randomValues(72, 5, -1, 2);
      const depthwise = valuesOf(() => centralizeGradient(tf.tensor(values, shape), { kind: 'depthwise' }));
      assertClose(depthwise, referenceDepthwiseGc(values, shape), 1e-6, 'depthwise GC');
      for (const [unit, mean] of groupMeans(depthwise, shape, [0, 1])) assert.ok(Math.abs(mean) < 1e-6, `(in, mult) ${unit} mean ${mean}`);
      const convRule = valuesOf(() => centralizeGradient(tf.tensor(values, shape), { kind: 'conv' }));
      let maxDiff = 0;
      for (let i = 0; i < 72; i++) maxDiff = Math.max(maxDiff, Math.abs((convRule[i] as number) - (depthwise[i] as number)));
      assert.ok(maxDiff > 0.1, `the conv rule should differ from the depthwise rule (max diff ${maxDiff})`);
      // The conv rule leaves per-(in, mult) means that are not zero: it only zeroes the mean across input channels.
      const leftover = Math.max(...[...groupMeans(convRule, shape, [0, 1]).values()].map(Math.abs));
      assert.ok(leftover > 0.05, `conv rule leaves per-channel means (max ${leftover})`);
    });
  });

  it('returns a copy for parameters it leaves alone', async () => {
    await onBackend('wasm', () => {
      const bias = tf.tensor1d([1, 2, 3]);
      const out = centralizeGradient(bias);
      assert.notEqual(out, bias);
      assert.deepEqual(Array.from(out.dataSync()), [1, 2, 3]);
      const kernel = tf.tensor2d([[1, 2], [3, 4]]);
      const none = centralizeGradient(kernel, { kind: 'none' });
      assert.deepEqual(Array.from(none.dataSync()), [1, 2, 3, 4]);
      tf.dispose([bias, out, kernel, none]);
    });
  });

  it('rejects bad input naming the argument', async () => {
    await onBackend('wasm', () => {
      const k4 = tf.zeros([3, 3, 2, 2]);
      const k1 = tf.zeros([4]);
      const ints = tf.zeros([2, 2], 'int32');
      throwsInput(() => centralizeGradient(k4, { kind: 'dense' }), 'kind', 'rank-2');
      throwsInput(() => centralizeGradient(k1, { kind: 'conv' }), 'kind', 'rank-3 to rank-5');
      throwsInput(() => centralizeGradient(k1, { kind: 'depthwise' }), 'rank-4');
      throwsInput(() => centralizeGradient(k4, { kind: 'columns' as never }), 'kind', '"columns"', 'one of auto, dense');
      throwsInput(() => centralizeGradient(ints), 'grad', 'int32', 'float32');
      throwsInput(() => centralizeGradient([1, 2] as never), 'grad', 'a tf.Tensor');
      tf.dispose([k4, k1, ints]);
    });
  });
});

describe('parameter kinds and modes', () => {
  it('infers tfjs layer weights from their names and shapes', () => {
    assert.equal(defaultParameterKind('conv2d_Conv2D1/kernel', [3, 3, 1, 8]), 'conv');
    assert.equal(defaultParameterKind('conv1d_Conv1D1/kernel', [5, 4, 8]), 'conv');
    assert.equal(defaultParameterKind('conv2d_Conv2D1/bias', [8]), 'none');
    assert.equal(defaultParameterKind('depthwise_conv2d_DepthwiseConv2D1/depthwise_kernel', [3, 3, 8, 2]), 'depthwise');
    assert.equal(defaultParameterKind('separable_conv2d_SeparableConv2D1/depthwise_kernel', [3, 3, 8, 1]), 'depthwise');
    assert.equal(defaultParameterKind('separable_conv2d_SeparableConv2D1/pointwise_kernel', [1, 1, 8, 16]), 'conv');
    assert.equal(defaultParameterKind('dense_Dense1/kernel', [64, 10]), 'dense');
    assert.equal(defaultParameterKind('embedding_Embedding1/embeddings', [1000, 16]), 'none');
    assert.equal(defaultParameterKind('batch_normalization_BatchNormalization1/gamma', [16]), 'none');
  });

  it('GC takes conv and dense kernels; GCC only kernels of rank ≥ 4, as the reference code', () => {
    assert.equal(gcApplies('all', 'dense', 2), true);
    assert.equal(gcApplies('all', 'conv', 3), true);
    assert.equal(gcApplies('conv', 'dense', 2), false);
    assert.equal(gcApplies('conv', 'conv', 3), false);
    assert.equal(gcApplies('conv', 'conv', 4), true);
    assert.equal(gcApplies('conv', 'depthwise', 4), true);
    assert.equal(gcApplies('off', 'conv', 4), false);
    assert.equal(gcApplies('all', 'none', 2), false);
    assert.deepEqual(gcReduceAxes([3, 3, 4, 2], 'depthwise'), [0, 1]);
    assert.deepEqual(gcReduceAxes([3, 3, 4, 2], 'conv'), [0, 1, 2]);
    assert.equal(gcReduceAxes([7]), null);
  });
});
