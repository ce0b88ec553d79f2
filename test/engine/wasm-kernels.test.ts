import { describe, it } from 'node:test';
import { tf } from '../../src/engine/index.js';
import { assertClose, onBackend, randomValues, valuesOf } from '../helpers.js';
import { CONV_CASES, convCaseName } from './conv-cases.js';

async function bothBackends(fn: () => tf.Tensor): Promise<{ wasm: Float32Array; cpu: Float32Array }> {
  const wasm = await onBackend('wasm', () => valuesOf(fn));
  const cpu = await onBackend('cpu', () => valuesOf(fn));
  return { wasm, cpu };
}

describe('wasm kernel patches agree with the cpu kernels', () => {
  for (const c of CONV_CASES) {
    const name = convCaseName(c);
    it(`Conv2DBackpropFilter ${name}`, async () => {
      const xv = randomValues(c.x.reduce((a, b) => a * b), 1);
      const run = () =>
        {
          const x = tf.tensor4d(xv, c.x as [number, number, number, number]);
          const y = tf.conv2d(x, tf.zeros(c.f as [number, number, number, number]), c.strides, c.pad);
          const dy = tf.tensor(randomValues(y.size, 2), y.shape) as tf.Tensor4D;
          return tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, { strides: c.strides, pad: c.pad, dataFormat: 'NHWC', filterShape: c.f }) as tf.Tensor;
        };
      const { wasm, cpu } = await bothBackends(run);
      assertClose(wasm, cpu, 1e-5, 'filter gradient');
    });
    it(`Conv2DBackpropInput ${name}`, async () => {
      const fv = randomValues(c.f.reduce((a, b) => a * b), 3);
      const run = () =>
        {
          const filter = tf.tensor4d(fv, c.f as [number, number, number, number]);
          const y = tf.conv2d(tf.zeros(c.x as [number, number, number, number]) as tf.Tensor4D, filter as tf.Tensor4D, c.strides, c.pad);
          const dy = tf.tensor(randomValues(y.size, 4), y.shape) as tf.Tensor4D;
          return tf.conv2dTranspose(dy, filter, c.x as [number, number, number, number], c.strides, c.pad) as tf.Tensor;
        };
      const { wasm, cpu } = await bothBackends(run);
      assertClose(wasm, cpu, 1e-5, 'input gradient');
    });
  }

  for (const [ta, tb] of [
    [false, false],
    [false, true],
    [true, false],
    [true, true],
  ] as const) {
    it(`BatchMatMul transposeA=${ta} transposeB=${tb}, plain and fused`, async () => {
      const av = randomValues(3 * 7 * 5, 5);
      const bv = randomValues(3 * 5 * 6, 6);
      const biasv = randomValues(6, 7);
      const run = () =>
        {
          const a = tf.tensor3d(av, ta ? [3, 5, 7] : [3, 7, 5]);
          const b = tf.tensor3d(bv, tb ? [3, 6, 5] : [3, 5, 6]);
          const plain = tf.matMul(a, b, ta, tb);
          const fused = tf.fused.matMul({ a, b, transposeA: ta, transposeB: tb, bias: tf.tensor1d(biasv), activation: 'relu' });
          return tf.concat([plain.flatten(), fused.flatten()]);
        };
      const { wasm, cpu } = await bothBackends(run);
      assertClose(wasm, cpu, 1e-5, 'matMul');
    });
  }

  for (const [shape, size, stride, pad] of [
    [[2, 4, 4, 1], 2, 2, 'valid'],
    [[1, 4, 4, 3], 2, 2, 'valid'],
    [[3, 7, 6, 4], 3, 2, 'same'],
    [[2, 9, 9, 2], 3, 1, 'same'],
    [[4, 8, 8, 5], 2, 2, 'same'],
  ] as const) {
    it(`MaxPoolGrad ${shape.join('x')} window ${size} stride ${stride} ${pad}`, async () => {
      const n = (shape as readonly number[]).reduce((a, b) => a * b, 1);
      const xv = randomValues(n, 10);
      const run = () => {
        const x = tf.tensor4d(xv, [...shape] as [number, number, number, number]);
        const y = tf.maxPool(x, size, stride, pad);
        const w = tf.tensor(randomValues(y.size, 11), y.shape);
        return tf.grad((xx: tf.Tensor) => tf.sum(tf.mul(tf.maxPool(xx as tf.Tensor4D, size, stride, pad), w)))(x);
      };
      const { wasm, cpu } = await bothBackends(run);
      assertClose(wasm, cpu, 1e-6, 'maxPool gradient');
    });
  }

  for (const [shape, filter, stride, pad] of [
    [[2, 7, 7, 3], [3, 3, 3, 1], 1, 'same'],
    [[2, 8, 9, 2], [3, 3, 2, 3], 2, 'same'],
    [[3, 9, 8, 4], [5, 3, 4, 2], [2, 1], 'valid'],
    [[1, 6, 6, 2], [2, 2, 2, 2], 2, 'valid'],
  ] as const) {
    it(`depthwise conv gradients x${shape.join('x')} f${filter.join('x')} s${String(stride)} ${pad}`, async () => {
      const n = (shape as readonly number[]).reduce((a, b) => a * b, 1);
      const xv = randomValues(n, 12);
      const fv = randomValues((filter as readonly number[]).reduce((a, b) => a * b, 1), 13);
      const run = () => {
        const x = tf.tensor4d(xv, [...shape] as [number, number, number, number]);
        const w = tf.tensor4d(fv, [...filter] as [number, number, number, number]);
        const y = tf.depthwiseConv2d(x, w, stride as [number, number] | number, pad);
        const weights = tf.tensor(randomValues(y.size, 14), y.shape);
        const [gx, gw] = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
          tf.sum(tf.mul(tf.depthwiseConv2d(a as tf.Tensor4D, b as tf.Tensor4D, stride as [number, number] | number, pad), weights)),
        )([x, w]);
        return tf.concat([(gx as tf.Tensor).flatten(), (gw as tf.Tensor).flatten()]);
      };
      const { wasm, cpu } = await bothBackends(run);
      assertClose(wasm, cpu, 1e-5, 'depthwise gradients');
    });
  }

  it("forward conv2d, fused conv2d and depthwise conv match cpu for every 'same' stride/filter combination", async () => {
    // Stock wasm returned zeros whenever the stride exceeded the filter under 'same' padding.
    const run = () => {
      const outs: tf.Tensor[] = [];
      for (let h = 1; h <= 9; h++) {
        for (let k = 1; k <= 4; k++) {
          for (let st = 1; st <= 4; st++) {
            const x = tf.tensor4d(randomValues(h * h * 2, 100 + h), [1, h, h, 2]);
            const f = tf.tensor4d(randomValues(k * k * 2 * 3, 200 + k), [k, k, 2, 3]);
            const dw = tf.tensor4d(randomValues(k * k * 2 * 2, 300 + k), [k, k, 2, 2]);
            outs.push(tf.conv2d(x, f, st, 'same').flatten());
            outs.push(tf.fused.conv2d({ x, filter: f, strides: st, pad: 'same', bias: tf.tensor1d([0.1, -0.2, 0.3]), activation: 'relu' }).flatten());
            outs.push(tf.depthwiseConv2d(x, dw, st, 'same').flatten());
          }
        }
      }
      // Numeric padding with the output size rounded up.
      const x = tf.tensor4d(randomValues(36, 400), [1, 6, 6, 1]);
      outs.push(tf.conv2d(x, tf.tensor4d(randomValues(9, 401), [3, 3, 1, 1]), 2, 1, 'NHWC', 1, 'ceil').flatten());
      return tf.concat(outs);
    };
    const { wasm, cpu } = await bothBackends(run);
    assertClose(wasm, cpu, 1e-5, 'forward convolutions');
  });

  it('MaxPoolGrad sends a tied window\'s gradient to its first maximum, as cpu does', async () => {
    const run = () => {
      const x = tf.tensor4d(Array.from({ length: 2 * 6 * 6 * 3 }, (_, i) => (i * 7) % 3), [2, 6, 6, 3]);
      const w = tf.tensor(randomValues(2 * 3 * 3 * 3, 15), [2, 3, 3, 3]);
      return tf.grad((xx: tf.Tensor) => tf.sum(tf.mul(tf.maxPool(xx as tf.Tensor4D, 2, 2, 'valid'), w)))(x);
    };
    const { wasm, cpu } = await bothBackends(run);
    assertClose(wasm, cpu, 1e-6, 'maxPool gradient with ties');
  });

  it('UnsortedSegmentSum, and the gradient of gather through it', async () => {
    const xv = randomValues(9 * 4, 8);
    const ids = [2, 0, 2, 5, 1, 1, 7, 2, 0];
    const run = () => {
        const x = tf.tensor2d(xv, [9, 4]);
        const seg = tf.unsortedSegmentSum(x, tf.tensor1d(ids, 'int32'), 6); // id 7 is out of range: dropped
        const table = tf.tensor2d(randomValues(10 * 3, 9), [10, 3]);
        const g = tf.grad((t: tf.Tensor) => tf.sum(tf.square(tf.gather(t, tf.tensor1d([3, 3, 9, 0], 'int32')))))(table);
        return tf.concat([seg.flatten(), g.flatten()]);
      };
    const { wasm, cpu } = await bothBackends(run);
    assertClose(wasm, cpu, 1e-6, 'segment sum');
  });
});
