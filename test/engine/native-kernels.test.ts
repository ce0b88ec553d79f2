/**
 * Every kernel the native backend overrides, against the cpu kernel it
 * replaces: forward values and gradients to every input, to 1e-4 relative, on
 * odd shapes, strides 1 and 2, 'same' and 'valid' padding and batch 1.
 *
 * Where the addon is not built the suite is skipped with the reason, unless
 * ECCVKIT_REQUIRE_NATIVE=1 (set by .ci/run), which makes its absence a failure.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { initEngine, NATIVE_KERNELS, nativeThreads, tf } from '../../src/engine/index.js';
import { broadcastPlan, sumPasses, sumPlan } from '../../src/engine/node/native.js';
import { assertClose, onBackend, randomValues, throwsInput } from '../helpers.js';
import { CONV_CASES, convCaseName, type Shape4 } from './conv-cases.js';

const TOL = 1e-4;

let nativeReason: string | undefined;
try {
  await initEngine({ backend: 'native' });
} catch (err) {
  nativeReason = err instanceof Error ? err.message : String(err);
}
const required = process.env.ECCVKIT_REQUIRE_NATIVE === '1';
const skip = nativeReason !== undefined && !required ? `native backend unavailable: ${nativeReason}` : false;

const size = (s: number[]): number => s.reduce((a, b) => a * b, 1);

/**
 * Evaluates `f(...inputs)` and its gradient with respect to every input (for
 * the loss Σ f ⊙ r with a fixed random r) on native and on cpu, and compares.
 * `withGradients: false` compares the forward values only, where tfjs itself
 * has no gradient (broadcast batch matMul, batchNorm without offset and scale).
 */
async function compareWithCpu(shapes: number[][], f: (...xs: tf.Tensor[]) => tf.Tensor, what: string, withGradients = true): Promise<void> {
  const inputs = shapes.map((s, i) => randomValues(size(s), 31 + i));
  const run = (): Float32Array[] => {
    const xs = inputs.map((v, i) => tf.tensor(v, shapes[i]));
    const y = tf.tidy(() => f(...xs));
    const r = tf.tensor(randomValues(y.size, 48), y.shape);
    const grads = withGradients ? tf.grads((...args: tf.Tensor[]) => tf.sum(tf.mul(f(...args), r)))(xs) : [];
    const out = [Float32Array.from(y.dataSync()), ...grads.map((g) => Float32Array.from(g.dataSync()))];
    tf.dispose([...xs, y, r, ...grads]);
    return out;
  };
  const native = await onBackend('native', run);
  const cpu = await onBackend('cpu', run);
  assertClose(native[0] as Float32Array, cpu[0] as Float32Array, TOL, `${what}: forward`);
  for (let i = 1; i < cpu.length; i++) assertClose(native[i] as Float32Array, cpu[i] as Float32Array, TOL, `${what}: gradient to input ${i - 1}`);
}

describe('native backend kernels agree with the cpu kernels', { skip }, () => {
  before(() => {
    assert.equal(nativeReason, undefined, `ECCVKIT_REQUIRE_NATIVE=1 but the native backend did not start: ${nativeReason}`);
  });

  for (const c of CONV_CASES) {
    const name = convCaseName(c);
    it(`conv2d ${name} (Conv2D, Conv2DBackpropInput, Conv2DBackpropFilter)`, async () => {
      await compareWithCpu([c.x, c.f], (x, f) => tf.conv2d(x as tf.Tensor4D, f as tf.Tensor4D, c.strides, c.pad), name);
    });
  }

  it('a strided 1×1 conv with few input channels trains for 300 steps without corrupting the heap', async () => {
    // oneDNN 2.6's strided 1×1 filter gradient overran its scratch buffer at these sizes (free(): invalid size within ~100 steps).
    const x = tf.randomNormal([4, 32, 32, 4], 0, 1, 'float32', 3) as tf.Tensor4D;
    const w = tf.randomNormal([1, 1, 4, 8], 0, 1, 'float32', 4) as tf.Tensor4D;
    for (let i = 0; i < 300; i++) tf.tidy(() => tf.grad((f: tf.Tensor) => tf.sum(tf.conv2d(x, f as tf.Tensor4D, 2, 'same')))(w).dataSync());
    const g = tf.tidy(() => tf.grad((f: tf.Tensor) => tf.sum(tf.conv2d(x, f as tf.Tensor4D, 2, 'same')))(w));
    // Σ over outputs of x·w has gradient Σ of the strided x per input channel, the same for every output channel.
    const expected = tf.tidy(() => tf.sum(tf.stridedSlice(x, [0, 0, 0, 0], [4, 32, 32, 4], [1, 2, 2, 1]), [0, 1, 2]).dataSync());
    const got = g.dataSync();
    for (let ic = 0; ic < 4; ic++) for (let oc = 0; oc < 8; oc++) assert.ok(Math.abs((got[ic * 8 + oc] as number) - (expected[ic] as number)) < 1e-3, `dw[${ic}, ${oc}]`);
    tf.dispose([x, w, g]);
  });

  it('products survive a storm of profiler signals (node --cpu-prof)', () => {
    // Before the addon blocked asynchronous signals during its kernels, a SIGPROF handled in the middle of
    // oneDNN's sgemm corrupted the heap: this child aborted ("corrupted size vs. prev_size") within 300 products.
    const addonPath = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'build', 'Release', 'eccvkit_native.node');
    const script = [
      `const addon = require(${JSON.stringify(addonPath)});`,
      'addon.setThreads(1);',
      'const a = new Float32Array(64 * 512).fill(1), b = new Float32Array(512 * 64).fill(1), c = new Float32Array(64 * 64);',
      'for (let i = 0; i < 600; i++) addon.matMul(a, b, c, null, Int32Array.of(1, 1, 64, 64, 512, 0, 0, 0), 0.2);',
      'if (c[0] !== 512) throw new Error(`c[0] = ${c[0]}`);',
    ].join('\n');
    const dir = path.join(os.tmpdir(), `eccvkit-prof-${process.pid}`);
    const child = spawnSync(process.execPath, ['--cpu-prof', '--cpu-prof-interval', '50', '--cpu-prof-dir', dir, '-e', script], { encoding: 'utf8', env: { ...process.env, OMP_WAIT_POLICY: 'PASSIVE' } });
    fs.rmSync(dir, { recursive: true, force: true });
    assert.equal(child.status, 0, `the profiled child exited with ${child.status} (signal ${child.signal}): ${child.stderr.slice(-400)}`);
  });

  it('dilated conv2d forward', async () => {
    const x = randomValues(2 * 11 * 10 * 3, 5);
    const f = randomValues(3 * 3 * 3 * 4, 6);
    for (const pad of ['same', 'valid'] as const) {
      const run = () => {
        const y = tf.tidy(() => tf.conv2d(tf.tensor4d(x, [2, 11, 10, 3]), tf.tensor4d(f, [3, 3, 3, 4]), 1, pad, 'NHWC', [2, 2]));
        const v = Float32Array.from(y.dataSync());
        y.dispose();
        return v;
      };
      assertClose(await onBackend('native', run), await onBackend('cpu', run), TOL, `dilation 2 ${pad}`);
    }
  });

  for (const activation of ['linear', 'relu', 'relu6', 'leakyrelu', 'sigmoid', 'elu'] as const) {
    it(`fused conv2d with bias and ${activation} (FusedConv2D)`, async () => {
      await compareWithCpu(
        [[2, 7, 6, 3], [3, 3, 3, 5], [5]],
        (x, f, b) => tf.fused.conv2d({ x: tf.mul(x, 3) as tf.Tensor4D, filter: f as tf.Tensor4D, strides: 2, pad: 'same', bias: b, activation, leakyreluAlpha: 0.15 }),
        `fused conv ${activation}`,
      );
    });
  }

  for (const c of [
    { x: [2, 7, 7, 3] as Shape4, f: [3, 3, 3, 2] as Shape4, s: 1, pad: 'same' as const },
    { x: [1, 9, 8, 2] as Shape4, f: [3, 3, 2, 1] as Shape4, s: 2, pad: 'valid' as const },
    { x: [2, 6, 5, 4] as Shape4, f: [5, 5, 4, 3] as Shape4, s: 2, pad: 'same' as const },
  ]) {
    const name = `x${c.x.join('x')} f${c.f.join('x')} s${c.s} ${c.pad}`;
    it(`depthwise conv ${name} (DepthwiseConv2dNative and its gradients)`, async () => {
      await compareWithCpu([c.x, c.f], (x, f) => tf.depthwiseConv2d(x as tf.Tensor4D, f as tf.Tensor4D, c.s, c.pad), name);
    });
  }

  it('fused depthwise conv with bias and relu (FusedDepthwiseConv2D)', async () => {
    await compareWithCpu(
      [[2, 7, 7, 3], [3, 3, 3, 2], [6]],
      (x, f, b) => tf.fused.depthwiseConv2d({ x: x as tf.Tensor4D, filter: f as tf.Tensor4D, strides: 1, pad: 'same', bias: b, activation: 'relu' }),
      'fused depthwise',
    );
  });

  for (const c of [
    { x: [2, 5, 4, 3] as Shape4, out: [2, 10, 8, 2] as Shape4, f: [4, 4, 2, 3] as Shape4, s: 2, pad: 'same' as const },
    { x: [1, 4, 4, 2] as Shape4, out: [1, 9, 9, 3] as Shape4, f: [3, 3, 3, 2] as Shape4, s: 2, pad: 'valid' as const },
    { x: [2, 6, 5, 2] as Shape4, out: [2, 6, 5, 4] as Shape4, f: [3, 3, 4, 2] as Shape4, s: 1, pad: 'same' as const },
  ]) {
    it(`conv2dTranspose x${c.x.join('x')} → ${c.out.join('x')} s${c.s} ${c.pad}`, async () => {
      await compareWithCpu([c.x, c.f], (x, f) => tf.conv2dTranspose(x as tf.Tensor4D, f as tf.Tensor4D, c.out, c.s, c.pad), 'conv2dTranspose');
    });
  }

  for (const [ta, tb] of [
    [false, false],
    [false, true],
    [true, false],
    [true, true],
  ] as const) {
    it(`matMul transposeA=${ta} transposeB=${tb}: 2-D, batched and broadcast batch (BatchMatMul)`, async () => {
      await compareWithCpu([ta ? [5, 7] : [7, 5], tb ? [6, 5] : [5, 6]], (a, b) => tf.matMul(a, b, ta, tb), '2-D');
      await compareWithCpu([ta ? [3, 5, 7] : [3, 7, 5], tb ? [3, 6, 5] : [3, 5, 6]], (a, b) => tf.matMul(a, b, ta, tb), 'batched');
      await compareWithCpu([ta ? [1, 5, 7] : [1, 7, 5], tb ? [4, 6, 5] : [4, 5, 6]], (a, b) => tf.matMul(a, b, ta, tb), 'broadcast a', false);
      await compareWithCpu([ta ? [2, 2, 5, 7] : [2, 2, 7, 5], tb ? [6, 5] : [5, 6]], (a, b) => tf.matMul(a, b, ta, tb), 'rank 4 × rank 2', false);
      await compareWithCpu([ta ? [3, 5, 7] : [3, 7, 5], tb ? [1, 1, 6, 5] : [1, 1, 5, 6]], (a, b) => tf.matMul(a, b, ta, tb), 'rank 3 × rank 4 of ones', false);
      await compareWithCpu([ta ? [2, 1, 5, 7] : [2, 1, 7, 5], tb ? [3, 6, 5] : [3, 5, 6]], (a, b) => tf.matMul(a, b, ta, tb), 'batches 2×1 and 3 (cpu path)', false);
    });
  }

  for (const activation of ['linear', 'relu', 'relu6', 'leakyrelu', 'sigmoid', 'elu'] as const) {
    it(`fused matMul with bias and ${activation} (_FusedMatMul)`, async () => {
      await compareWithCpu(
        [[9, 4], [4, 6], [6]],
        (a, b, bias) => tf.fused.matMul({ a: tf.mul(a, 2) as tf.Tensor2D, b: b as tf.Tensor2D, bias, activation, leakyreluAlpha: 0.3 }),
        `fused matMul ${activation}`,
      );
    });
  }

  it('fused matMul with a PReLU falls back to the cpu kernel and still agrees', async () => {
    await compareWithCpu([[5, 4], [4, 3], [3], [3]], (a, b, bias, alpha) => tf.fused.matMul({ a: a as tf.Tensor2D, b: b as tf.Tensor2D, bias, activation: 'prelu', preluActivationWeights: alpha }), 'prelu');
  });

  for (const [shape, window, stride, pad] of [
    [[2, 4, 4, 1], 2, 2, 'valid'],
    [[1, 7, 6, 3], 3, 2, 'same'],
    [[3, 9, 9, 2], 3, 1, 'same'],
    [[2, 8, 7, 5], 2, 2, 'same'],
    [[1, 10, 11, 2], 3, 3, 'valid'],
  ] as Array<[Shape4, number, number, 'same' | 'valid']>) {
    const name = `${shape.join('x')} window ${window} stride ${stride} ${pad}`;
    it(`maxPool ${name} (MaxPool, MaxPoolGrad)`, async () => {
      await compareWithCpu([shape], (x) => tf.maxPool(x as tf.Tensor4D, window, stride, pad), name);
    });
    it(`avgPool ${name} (AvgPool, AvgPoolGrad)`, async () => {
      // The AvgPoolGrad kernel itself, called directly: eccvkit corrects avgPool's gradient on top of it.
      await compareWithCpu([shape], (x) => tf.avgPool(x as tf.Tensor4D, window, stride, pad), name);
      const dyShape = tf.tidy(() => tf.avgPool(tf.zeros(shape) as tf.Tensor4D, window, stride, pad).shape);
      const run = () => {
        const dy = tf.tensor(randomValues(size(dyShape), 9), dyShape);
        const input = tf.zeros(shape);
        const dx = tf.engine().runKernel('AvgPoolGrad', { dy, input }, { filterSize: window, strides: stride, pad }) as tf.Tensor;
        const v = Float32Array.from(dx.dataSync());
        tf.dispose([dy, input, dx]);
        return v;
      };
      assertClose(await onBackend('native', run), await onBackend('cpu', run), TOL, 'AvgPoolGrad kernel');
    });
  }

  it('maxPool sends a tied window\'s gradient to its first maximum, as cpu does', async () => {
    await compareWithCpu([[2, 6, 6, 3]], (x) => tf.maxPool(tf.relu(tf.sub(x, 0.5)) as tf.Tensor4D, 2, 2, 'valid'), 'ties after relu');
    const run = () => {
      const x = tf.zeros([1, 4, 4, 2]);
      const dx = tf.grad((t: tf.Tensor) => tf.sum(tf.maxPool(t as tf.Tensor4D, 2, 2, 'valid')))(x);
      const v = Float32Array.from(dx.dataSync());
      tf.dispose([x, dx]);
      return v;
    };
    assert.deepEqual(Array.from(await onBackend('native', run)), Array.from(await onBackend('cpu', run)));
  });

  it('mean over contiguous and split axes (Mean), and tile (Tile)', async () => {
    await compareWithCpu([[6, 5, 4, 3]], (x) => tf.mean(x, [0, 1, 2]), 'mean over N, H, W');
    await compareWithCpu([[6, 5, 4]], (x) => tf.mean(x, -1, true), 'mean over the last axis');
    await compareWithCpu([[6, 5, 4]], (x) => tf.mean(x, [0, 2]), 'mean over split axes (two passes)');
    await compareWithCpu([[3, 4, 2, 5, 2, 3]], (x) => tf.sum(x, [2, 4]), 'sum over split axes (the upsampling gradient)');
    await compareWithCpu([[3, 4, 5, 2, 3]], (x) => tf.sum(x, [0, 2, 4], true), 'sum over three separated axes, keepDims');
    await compareWithCpu([[6, 5, 4]], (x) => tf.mean(x), 'mean of everything');
    await compareWithCpu([[1, 1, 1, 3]], (x) => tf.tile(x, [4, 2, 3, 1]), 'tile a per-channel vector');
    await compareWithCpu([[2, 3]], (x) => tf.tile(x, [3, 2]), 'tile both axes');
  });

  it('segment sums and the gather gradient through them (UnsortedSegmentSum)', async () => {
    const ids = [2, 0, 2, 5, 1, 1, 7, -1, 0]; // 7 and -1 are out of range: dropped, as in TensorFlow
    // (The gradient of a segment sum is a gather, which rejects out-of-range ids: forward only here.)
    await compareWithCpu([[9, 4]], (x) => tf.unsortedSegmentSum(x, tf.tensor1d(ids, 'int32'), 6), 'rows, 6 segments', false);
    await compareWithCpu([[9, 3, 5]], (x) => tf.unsortedSegmentSum(x, tf.tensor1d(ids, 'int32'), 8), 'rank-3 rows', false);
    await compareWithCpu([[9]], (x) => tf.unsortedSegmentSum(x, tf.tensor1d(ids, 'int32'), 3), 'scalars per row, most ids dropped', false);
    await compareWithCpu([[7, 3]], (x) => tf.unsortedSegmentSum(x, tf.tensor1d([4, 0, 4, 1, 1, 0, 2], 'int32'), 5), 'in range, with its gradient');
    await compareWithCpu([[10, 7]], (t) => tf.gather(t, tf.tensor1d([3, 3, 9, 0, 3, 4], 'int32')), 'gather rows (axis 0)');
    await compareWithCpu([[4, 10, 3]], (t) => tf.gather(t, tf.tensor2d([1, 1, 8, 0, 9, 1], [2, 3], 'int32'), 1), 'gather on axis 1 with 2-D indices');
  });

  it('slices, pads and gathers, with their gradients (Slice, PadV2, GatherV2)', async () => {
    await compareWithCpu([[5, 6, 7]], (x) => tf.slice(x, [1, 2, 3], [3, 2, 4]), 'slice inside every axis');
    await compareWithCpu([[5, 6, 7]], (x) => tf.slice(x, [2, 0, 0], [2, 6, 7]), 'contiguous slice (a view)');
    await compareWithCpu([[4, 3, 5, 6, 2]], (x) => tf.slice(x, [0, 1, 0, 2, 0], [4, 2, 5, 3, 2]), 'rank-5 slice, whole trailing axis');
    await compareWithCpu([[32, 8, 20]], (x) => tf.slice(x, [0, 3, 0], [32, 1, 20]), 'one row of W+ (the style layers)');
    await compareWithCpu([[9]], (x) => tf.slice(x, [4], [0]), 'empty slice');
    await compareWithCpu([[3, 4, 5, 2]], (x) => tf.pad(x, [[0, 0], [1, 2], [2, 1], [0, 0]]), 'spatial zero pad');
    await compareWithCpu([[3, 4]], (x) => tf.pad(x, [[2, 0], [0, 3]], -1.5), 'pad with a constant');
    await compareWithCpu([[2, 3, 40]], (x) => tf.pad(x, [[1, 1], [0, 0], [0, 0]]), 'pad the leading axis (one run per row)');
    await compareWithCpu([[6, 5]], (x) => tf.gather(x, tf.tensor1d([5, 0, 0, 3], 'int32')), 'gather rows');
    await compareWithCpu([[4, 6, 3]], (x) => tf.gather(x, tf.tensor2d([5, 1, 1, 0], [2, 2], 'int32'), 1), 'gather axis 1, 2-D indices');
    await compareWithCpu([[4, 6, 3]], (x) => tf.gather(x, tf.tensor1d([2, 2, 0], 'int32'), 2), 'gather the last axis');
    await compareWithCpu([[3, 5, 2]], (x) => tf.gather(x, tf.tensor2d([4, 0, 1, 1, 3, 3], [3, 2], 'int32'), 1, 1), 'gather with batchDims 1');
    const intRun = () => {
      const x = tf.tensor3d(Array.from({ length: 60 }, (_, i) => i * 7 - 100), [3, 4, 5], 'int32');
      const outs = tf.tidy(() => [tf.slice(x, [1, 1, 1], [2, 2, 3]), tf.pad(x, [[0, 1], [1, 0], [0, 0]], 9), tf.gather(x, tf.tensor1d([3, 0], 'int32'), 1)]);
      assert.ok(outs.every((t) => t.dtype === 'int32'));
      const v = outs.map((t) => Array.from(t.dataSync()));
      tf.dispose([x, ...outs]);
      return v;
    };
    assert.deepEqual(await onBackend('native', intRun), await onBackend('cpu', intRun), 'int32 slice, pad, gather');
    await onBackend('native', () => {
      const x = tf.tensor2d([1, 2, 3, 4], [2, 2]);
      const bad = tf.tensor1d([0, 2], 'int32');
      assert.throws(() => tf.gather(x, bad), /index value 2 is not in \[0, 1\]/);
      tf.dispose([x, bad]);
    });
  });

  it('transposes of every kind, with their gradients (Transpose): matrix, batched, 4-D permutations, size-1 axes, int32', async () => {
    const cases: Array<[number[], number[]]> = [[[5, 7], [1, 0]], [[3, 4, 5], [0, 2, 1]], [[3, 4, 5], [2, 0, 1]], [[2, 3, 4, 5], [0, 3, 1, 2]], [[2, 3, 4, 5], [3, 2, 1, 0]], [[2, 1, 4, 1, 3], [4, 1, 2, 0, 3]], [[6, 1], [1, 0]], [[2, 3, 4], [0, 1, 2]]];
    for (const [shape, perm] of cases) await compareWithCpu([shape], (x) => tf.transpose(x, perm), `transpose [${shape.join(',')}] by [${perm.join(',')}]`);
    const run = () => {
      const x = tf.tensor3d(Int32Array.from({ length: 24 }, (_, i) => i * 7 - 30), [2, 3, 4], 'int32');
      const y = tf.transpose(x, [2, 0, 1]);
      const v = Array.from(y.dataSync());
      tf.dispose([x, y]);
      return v;
    };
    assert.deepEqual(await onBackend('native', run), await onBackend('cpu', run));
  });

  it('nearest-neighbour resizing in every corner/centre mode (ResizeNearestNeighbor)', async () => {
    for (const [alignCorners, halfPixelCenters] of [[false, false], [true, false], [false, true]] as const) {
      for (const [shape, size] of [
        [[2, 4, 3, 20], [8, 6]],
        [[1, 5, 7, 3], [3, 11]],
        [[3, 2, 2, 1], [7, 5]],
        [[1, 6, 6, 2], [1, 1]],
      ] as Array<[number[], [number, number]]>) {
        const what = `[${shape.join(',')}] -> ${size.join('×')}, alignCorners ${alignCorners}, halfPixelCenters ${halfPixelCenters}`;
        await compareWithCpu([shape], (x) => tf.image.resizeNearestNeighbor(x as tf.Tensor4D, size, alignCorners, halfPixelCenters), what, false);
      }
    }
  });

  it('logical not of bool tensors (LogicalNot), as in the gradient of where()', async () => {
    const run = () => {
      const c = tf.tidy(() => tf.greater(tf.tensor([1, -2, 3, 0, NaN, 5]), 0));
      const n = tf.logicalNot(c);
      assert.equal(n.dtype, 'bool');
      const v = Array.from(n.dataSync());
      tf.dispose([c, n]);
      return v;
    };
    assert.deepEqual(await onBackend('native', run), await onBackend('cpu', run));
    await compareWithCpu([[5, 4], [5, 4]], (x, y) => tf.where(tf.greater(x, y), tf.mul(x, 2), tf.square(y)), 'where() and its gradient');
  });

  it('split along every axis, even and uneven (SplitV through the native Slice), with its gradient; int32 and bool too', async () => {
    for (const [axis, sizes] of [[0, [1, 2]], [1, [2, 2, 1]], [2, 2], [-1, [3, 1]]] as Array<[number, number[] | number]>) {
      await compareWithCpu([[3, 5, 4, 4]], (x) => tf.concat(tf.split(x, sizes, axis).map((p, i) => tf.mul(p, i + 1)), axis), `split ${JSON.stringify(sizes)} on axis ${axis}`);
    }
    const run = () =>
      tf.tidy(() => {
        const ints = tf.split(tf.tensor3d(Int32Array.from({ length: 24 }, (_, i) => i - 7), [2, 3, 4], 'int32'), [1, 3], 2);
        const bools = tf.split(tf.greater(tf.tensor2d([1, -1, 2, 0, 3, -2], [2, 3]), 0), 3, 1);
        return [...ints, ...bools].map((t) => [t.dtype, t.shape, Array.from(t.dataSync())]);
      });
    assert.deepEqual(await onBackend('native', run), await onBackend('cpu', run));
  });

  it('logical and / or of bool tensors (LogicalAnd, LogicalOr), same shape and broadcast', async () => {
    const run = () =>
      tf.tidy(() => {
        const a = tf.greater(tf.tensor([[1, -2, 3], [0, NaN, 5]]), 0);
        const b = tf.less(tf.tensor([[2, -1, 4], [-3, 1, 9]]), 3);
        const row = tf.greater(tf.tensor([[1, 0, -1]]), 0);
        return [tf.logicalAnd(a, b), tf.logicalOr(a, b), tf.logicalAnd(a, row), tf.logicalOr(row, b)].map((t) => {
          assert.equal(t.dtype, 'bool');
          return [t.shape, Array.from(t.dataSync())];
        });
      });
    assert.deepEqual(await onBackend('native', run), await onBackend('cpu', run));
  });

  it('training-mode batch norm: moments, their gradient (Tile) and leakyRelu\'s (Greater, Select)', async () => {
    await compareWithCpu([[4, 6, 5, 3], [3], [3]], (x, offset, scale) => {
      const { mean, variance } = tf.moments(x, [0, 1, 2]);
      return tf.leakyRelu(tf.batchNorm(x, mean, variance, offset, scale, 1e-3), 0.1);
    }, 'batch-norm moments + leakyRelu');
  });

  for (const shape of [[4, 6, 5, 3], [1, 3, 7, 13], [9, 2], [2, 2, 1, 33]]) {
    it(`batch-norm layer in training mode on [${shape.join(',')}]: output, moving averages and gradients to x, gamma, beta (EccvkitBatchNormTraining and its gradient)`, async () => {
      const C = shape[shape.length - 1]!;
      const x = randomValues(size(shape), 71);
      const gamma = randomValues(C, 72).map((v) => 1 + v);
      const beta = randomValues(C, 73);
      const r = randomValues(size(shape), 74);
      const run = (): Float32Array[] => {
        const model = tf.sequential({ layers: [tf.layers.batchNormalization({ momentum: 0.9, epsilon: 1e-3, inputShape: shape.slice(1) })] });
        const layer = model.layers[0]!;
        const init = [tf.tensor1d(gamma), tf.tensor1d(beta), tf.zeros([C]), tf.ones([C])];
        layer.setWeights(init);
        tf.dispose(init);
        const xs = tf.tensor(x, shape);
        const rt = tf.tensor(r, shape);
        const { value, grads } = tf.variableGrads(() => tf.sum(tf.mul(layer.apply(xs, { training: true }) as tf.Tensor, rt)) as tf.Scalar, layer.trainableWeights.map((w) => w.read() as tf.Variable));
        const dx = tf.grad((xx: tf.Tensor) => tf.sum(tf.mul(layer.apply(xx, { training: true }) as tf.Tensor, rt)))(xs);
        const y = tf.tidy(() => layer.apply(xs, { training: true }) as tf.Tensor);
        // getWeights() hands out the variables' own tensors: read, not disposed.
        const moving = layer.getWeights().slice(2);
        const out = [y, dx, ...Object.values(grads), ...moving].map((t) => Float32Array.from(t.dataSync()));
        tf.dispose([xs, rt, value, y, dx, ...Object.values(grads)]);
        model.dispose();
        return out;
      };
      const native = await onBackend('native', run);
      const cpu = await onBackend('cpu', run);
      const names = ['output', 'gradient to x', 'gradient to gamma', 'gradient to beta', 'moving mean (3 updates)', 'moving variance (3 updates)'];
      for (let i = 0; i < cpu.length; i++) assertClose(native[i] as Float32Array, cpu[i] as Float32Array, TOL, `${shape.join('x')}: ${names[i]}`);
    });
  }

  it('leakyRelu gradient in one pass (EccvkitLeakyReluGrad), and its own gradient for penalties', async () => {
    await compareWithCpu([[3, 5, 7]], (x) => tf.leakyRelu(x, 0.1), 'leakyRelu 0.1');
    await compareWithCpu([[4, 9]], (x) => tf.grad((z: tf.Tensor) => tf.sum(tf.square(tf.leakyRelu(tf.mul(z, 1.5), 0.2))))(x), 'gradient of a leakyRelu penalty');
  });

  it('a second derivative through a training-mode batch norm takes the differentiable tfjs path and agrees with cpu', async () => {
    const x = randomValues(3 * 4 * 5, 81);
    const r = randomValues(3 * 4 * 5, 82);
    const run = (): Float32Array => {
      const model = tf.sequential({ layers: [tf.layers.batchNormalization({ epsilon: 1e-3, inputShape: [4, 5] })] });
      const xs = tf.tensor3d(x, [3, 4, 5]);
      const rt = tf.tensor3d(r, [3, 4, 5]);
      // d/dx of Σ r ⊙ ∂/∂x Σ tanh(BN(x))², as a gradient penalty differentiates a critic's input gradient.
      const penalty = (xx: tf.Tensor) => tf.sum(tf.mul(tf.grad((z: tf.Tensor) => tf.sum(tf.square(tf.tanh(model.apply(z, { training: true }) as tf.Tensor))))(xx), rt));
      const g = tf.grad(penalty)(xs);
      const out = Float32Array.from(g.dataSync());
      tf.dispose([xs, rt, g]);
      model.dispose();
      return out;
    };
    assertClose(await onBackend('native', run), await onBackend('cpu', run), TOL, 'gradient penalty through batch norm');
  });

  it('batchNorm with per-channel and full-shape parameters (FusedBatchNorm)', async () => {
    await compareWithCpu([[3, 4, 5, 6], [6], [6], [6], [6]], (x, m, v, o, s) => tf.batchNorm(x, m, tf.add(tf.abs(v), 0.5), o, s, 1e-3), 'per channel');
    await compareWithCpu([[3, 5], [3, 5], [3, 5]], (x, m, v) => tf.batchNorm(x, m, tf.add(tf.abs(v), 0.5)), 'full shape, no offset or scale', false);
  });

  for (const [a, b] of [
    [[4, 5, 6], [4, 5, 6]],
    [[4, 5, 6], [6]],
    [[4, 5, 6], []],
    [[], [3, 2]],
    [[4, 1, 6], [1, 5, 1]],
    [[3, 1], [3, 7]],
    [[2, 3, 4, 5], [3, 1, 5]],
    [[1, 1, 7], [2, 1, 1]],
  ] as number[][][]) {
    it(`element-wise ops with broadcast [${a.join(',')}] ∘ [${b.join(',')}]`, async () => {
      await compareWithCpu([a, b], (x, y) => tf.add(x, y), 'add');
      await compareWithCpu([a, b], (x, y) => tf.sub(x, y), 'sub');
      await compareWithCpu([a, b], (x, y) => tf.mul(x, y), 'mul');
      await compareWithCpu([a, b], (x, y) => tf.div(x, tf.add(tf.abs(y), 0.5)), 'div');
      await compareWithCpu([a, b], (x, y) => tf.maximum(x, y), 'maximum');
      await compareWithCpu([a, b], (x, y) => tf.minimum(x, y), 'minimum');
      await compareWithCpu([a, b], (x, y) => tf.squaredDifference(x, y), 'squaredDifference');
      // Pow on a positive base (the gradient takes log(base)), and a fractional exponent.
      await compareWithCpu([a, b], (x, y) => tf.pow(tf.add(tf.abs(x), 0.5), tf.mul(y, 1.5)), 'pow');
      // Comparisons (bool outputs) and select, through where(); rounding makes ties common.
      for (const [name, cmp] of [
        ['greater', tf.greater],
        ['greaterEqual', tf.greaterEqual],
        ['less', tf.less],
        ['lessEqual', tf.lessEqual],
        ['equal', tf.equal],
        ['notEqual', tf.notEqual],
      ] as const) {
        await compareWithCpu([a, b], (x, y) => {
          const [rx, ry] = [tf.round(tf.mul(x, 2)), tf.round(tf.mul(y, 2))];
          const shape = tf.broadcastTo(rx, tf.add(rx, ry).shape).shape;
          return tf.where(cmp(rx, ry), tf.broadcastTo(tf.mul(x, 3), shape), tf.broadcastTo(tf.add(y, 5), shape));
        }, name);
      }
    });
  }

  it('max and min over contiguous and split axes (Max, Min) equal the cpu kernels exactly, NaN and ties included, with their gradients', async () => {
    const shape = [4, 5, 6];
    const run = () => {
      const base = Array.from(randomValues(120, 21), (v) => Math.round(v * 4) / 4);
      base[7] = NaN;
      base[64] = -Infinity;
      const x = tf.tensor(base, shape);
      const out = tf.tidy(() =>
        ([[0], [1], [2], [0, 1], [1, 2], [0, 2], null, [-1]] as Array<number[] | null>).flatMap((axis) => [tf.max(x, axis ?? undefined), tf.min(x, axis ?? undefined, true), tf.max(tf.reshape(x, [1, 4, 1, 30]), [1, 2])]),
      );
      const v = out.map((t) => [t.shape, Array.from(t.dataSync())]);
      tf.dispose([x, ...out]);
      return v;
    };
    assert.deepEqual(await onBackend('native', run), await onBackend('cpu', run));
    await compareWithCpu([shape], (x) => tf.add(tf.max(x, 1), tf.sum(tf.min(x, [0, 2], true))), 'max/min gradients');
  });

  it('pow by a scalar 2 (the fast square path) equals the cpu kernel bit for bit, negative bases, zeros and huge values included', async () => {
    const run = () => {
      const x = tf.tensor([...randomValues(997, 12, -30, 30), 0, -0, 1e20, -1e-30, 3.4e38, NaN, Infinity, -Infinity]);
      const out = tf.tidy(() => [tf.pow(x, 2), tf.pow(x, tf.scalar(2, 'int32')), tf.pow(tf.reshape(x, [1005, 1]), tf.fill([1005, 3], 2))]);
      const v = out.map((t) => Array.from(t.dataSync()));
      tf.dispose([x, ...out]);
      return v;
    };
    assert.deepEqual(await onBackend('native', run), await onBackend('cpu', run));
  });

  it('comparisons return bool tensors with the cpu backend\'s values', async () => {
    const run = () => {
      const a = tf.tensor([1, NaN, 3, 2]);
      const b = tf.tensor([1, 1, NaN, 3]);
      const out = [tf.greater(a, b), tf.lessEqual(a, b), tf.equal(a, b), tf.notEqual(a, b)];
      assert.ok(out.every((t) => t.dtype === 'bool'));
      const v = out.map((t) => Array.from(t.dataSync()));
      tf.dispose([a, b, ...out]);
      return v;
    };
    assert.deepEqual(await onBackend('native', run), await onBackend('cpu', run));
  });

  it('unary ops (Relu, Step, Sqrt, Square, Neg, Exp, Log, Abs, Tanh, Sigmoid, Rsqrt, LeakyRelu, Elu, Relu6, Reciprocal)', async () => {
    const shape = [3, 7, 5];
    const positive = (x: tf.Tensor) => tf.add(tf.abs(x), 0.25);
    const cases: Array<[string, (x: tf.Tensor) => tf.Tensor]> = [
      ['relu', (x) => tf.relu(x)],
      ['step', (x) => tf.step(x, 0.3)],
      ['sqrt', (x) => tf.sqrt(positive(x))],
      ['square', (x) => tf.square(x)],
      ['neg', (x) => tf.neg(x)],
      ['exp', (x) => tf.exp(x)],
      ['log', (x) => tf.log(positive(x))],
      ['abs', (x) => tf.abs(x)],
      ['tanh', (x) => tf.tanh(tf.mul(x, 3))],
      ['sigmoid', (x) => tf.sigmoid(tf.mul(x, 3))],
      ['rsqrt', (x) => tf.rsqrt(positive(x))],
      ['leakyRelu', (x) => tf.leakyRelu(x, 0.1)],
      ['elu', (x) => tf.elu(x)],
      ['relu6', (x) => tf.relu6(tf.mul(x, 8))],
      ['reciprocal', (x) => tf.reciprocal(positive(x))],
    ];
    for (const [name, f] of cases) await compareWithCpu([shape], f, name);
  });

  for (const [shape, axis, keepDims] of [
    [[4, 5, 6], [0], false],
    [[4, 5, 6], [1], true],
    [[4, 5, 6], [2], false],
    [[4, 5, 6], [0, 1], false],
    [[4, 5, 6], [1, 2], true],
    [[4, 5, 6], [0, 2], false],
    [[4, 5, 6], null, false],
    [[64, 9, 9, 33], [0, 1, 2], false],
    [[1, 5, 1, 3], [1], false],
  ] as Array<[number[], number[] | null, boolean]>) {
    it(`sum of [${shape.join(',')}] over ${JSON.stringify(axis)}${keepDims ? ' keeping dims' : ''} (Sum)`, async () => {
      await compareWithCpu([shape], (x) => tf.sum(x, axis ?? undefined, keepDims), 'sum');
    });
  }

  it('a 1,000-step training loop keeps the tensor and buffer counts flat', async () => {
    await initEngine({ backend: 'native' });
    const model = tf.sequential({
      layers: [
        tf.layers.conv2d({ inputShape: [8, 8, 2], filters: 4, kernelSize: 3, padding: 'same', activation: 'relu' }),
        tf.layers.maxPooling2d({ poolSize: 2 }),
        tf.layers.flatten(),
        tf.layers.dense({ units: 3 }),
      ],
    });
    const optimizer = tf.train.adam(1e-3);
    const x = tf.tensor4d(randomValues(4 * 8 * 8 * 2, 3), [4, 8, 8, 2]);
    const y = tf.oneHot(tf.tensor1d([0, 1, 2, 1], 'int32'), 3);
    const step = () => tf.dispose(optimizer.minimize(() => tf.losses.softmaxCrossEntropy(y, model.apply(x) as tf.Tensor) as tf.Scalar, true) ?? []);
    const dataIds = () => (tf.backend() as unknown as { numDataIds(): number }).numDataIds();
    step();
    const tensors = tf.memory().numTensors;
    const ids = dataIds();
    for (let i = 0; i < 1000; i++) step();
    assert.equal(tf.memory().numTensors, tensors);
    assert.equal(dataIds(), ids);
    tf.dispose([x, y]);
    optimizer.dispose();
    model.dispose();
  });

  it('recycles output arrays without touching what dataSync() handed out', async () => {
    await onBackend('native', () => {
      const a = tf.tensor(randomValues(4096, 1), [64, 64]);
      const b = tf.tensor(randomValues(4096, 2), [64, 64]);
      const first = tf.mul(a, b);
      const kept = first.dataSync();
      const expected = Float32Array.from(kept);
      first.dispose();
      // Same size again and again: recycled arrays must not be the one the caller holds.
      for (let i = 0; i < 20; i++) tf.dispose(tf.add(a, b));
      assert.deepEqual(Array.from(kept), Array.from(expected));
      // A recycled array gives the same answer as a fresh one.
      const again = tf.mul(a, b);
      assert.deepEqual(Array.from(again.dataSync()), Array.from(expected));
      // An array shared by two tensors (a cpu kernel aliasing it) is recycled only after both go.
      const shared = tf.sub(a, b);
      const alias = tf.reshape(shared, [4096]);
      shared.dispose();
      for (let i = 0; i < 5; i++) tf.tidy(() => tf.div(a, tf.add(tf.abs(b), 1)).dispose());
      assertClose(alias.dataSync(), Array.from(expected, (_, k) => (a.dataSync()[k] as number) - (b.dataSync()[k] as number)), 1e-6, 'aliased values');
      tf.dispose([a, b, again, alias]);
    });
  });

  it('never recycles an array while a view of it lives (contiguous slice, split, unstack)', async () => {
    await onBackend('native', () => {
      const x = tf.tensor(randomValues(4096, 3), [64, 64]);
      const want = Array.from(x.dataSync(), (v) => Math.fround(v + 1));
      const parent = tf.add(x, 1);
      // The cpu kernels return these as subarrays of parent's array.
      const parts = tf.split(parent, 4, 0);
      const rows = tf.unstack(parent);
      const views = [tf.slice(parent, [0, 0], [16, 64]), ...parts.slice(1), rows[63] as tf.Tensor];
      parent.dispose();
      // Same-sized outputs would reuse parent's array if it had gone back to the pool.
      for (let i = 0; i < 10; i++) tf.dispose(tf.mul(x, -7));
      assert.deepEqual(Array.from(views[0]!.dataSync()), want.slice(0, 1024), 'slice');
      assert.deepEqual(Array.from(views[3]!.dataSync()), want.slice(3072, 4096), 'split');
      assert.deepEqual(Array.from(views[4]!.dataSync()), want.slice(4032), 'unstack');
      tf.dispose([x, ...views, parts[0]!, ...rows.slice(0, 63)]);
    });
  });

  for (const [name, make, fused] of [
    ['adam', () => tf.train.adam(0.01, 0.8, 0.95, 1e-6), 'EccvkitAdamUpdate'],
    ['adam (tfjs defaults)', () => tf.train.adam(), 'EccvkitAdamUpdate'],
    ['momentum', () => tf.train.momentum(0.05, 0.9), 'EccvkitMomentumUpdate'],
    ['nesterov momentum', () => tf.train.momentum(0.05, 0.9, true), 'EccvkitMomentumUpdate'],
  ] as Array<[string, () => tf.Optimizer, string]>) {
    it(`${name}: the fused update (${fused}) is bit-identical to tfjs's composed one, slots and all`, async () => {
      // Odd shapes, one above the addon's threading grain, and a variable whose gradient is missing every third step.
      const shapes = [[3, 5, 2], [7], [40000], [1]];
      const run = async (): Promise<{ values: Float32Array[]; slots: Array<[string, Float32Array]>; fusedCalls: number }> => {
        const vars = shapes.map((s, i) => tf.tidy(() => tf.variable(tf.tensor(randomValues(size(s), 70 + i), s), true, `fused_${name}_${i}`)));
        const optimizer = make();
        let fusedCalls = 0;
        for (let step = 0; step < 6; step++) {
          const grads = tf.tidy(() => shapes.map((s, i) => tf.mul(tf.tensor(randomValues(size(s), 100 * step + i), s), (i + 1) * 3)));
          const named = vars.map((v, i) => ({ name: v.name, tensor: (step % 3 === 2 && i === 1 ? null : grads[i]) as tf.Tensor }));
          const profile = await tf.profile(() => optimizer.applyGradients(named));
          fusedCalls += profile.kernels.filter((k) => k.name === fused).length;
          tf.dispose(grads);
        }
        const values = vars.map((v) => Float32Array.from(v.dataSync()));
        const weights = await optimizer.getWeights();
        const slots = weights.map((w): [string, Float32Array] => [w.name, Float32Array.from(w.tensor.dataSync())]);
        tf.dispose(weights.slice(0, 1).map((w) => w.tensor));
        tf.dispose(vars);
        optimizer.dispose();
        // tfjs's MomentumOptimizer.dispose() forgets its parent's learning-rate scalar.
        (optimizer as unknown as { c?: tf.Tensor }).c?.dispose();
        return { values, slots, fusedCalls };
      };
      const native = await onBackend('native', run);
      const cpu = await onBackend('cpu', run);
      assert.equal(native.fusedCalls, 6 * shapes.length - 2, `${name}: one fused update per variable and step with a gradient`);
      assert.equal(cpu.fusedCalls, 0);
      native.values.forEach((v, i) => assert.deepEqual(Array.from(v), Array.from(cpu.values[i]!), `${name}: variable ${i} after 6 steps`));
      assert.deepEqual(native.slots.map((w) => w[0]), cpu.slots.map((w) => w[0]), `${name}: slot names`);
      native.slots.forEach((w, i) => assert.deepEqual(Array.from(w[1]), Array.from(cpu.slots[i]![1]), `${name}: slot ${w[0]}`));
    });
  }

  it('covers the kernels it claims, and every other kernel still runs as the cpu kernel', async () => {
    for (const k of NATIVE_KERNELS) assert.ok(tf.getKernel(k.kernel, 'native'), `${k.kernel} not registered`);
    const cpuKernels = tf.getKernelsForBackend('cpu').map((k) => k.kernelName);
    const nativeKernels = new Set(tf.getKernelsForBackend('native').map((k) => k.kernelName));
    for (const k of cpuKernels) assert.ok(nativeKernels.has(k), `cpu kernel ${k} missing on native`);
    await compareWithCpu([[4, 3]], (x) => tf.cumsum(tf.softmax(x), 1), 'softmax + cumsum (cpu kernels on native storage)');
  });
});

describe('native backend settings and plans', () => {
  it('reads ECCVKIT_THREADS, defaulting to every core, and rejects a bad value by name', () => {
    const saved = process.env.ECCVKIT_THREADS;
    try {
      delete process.env.ECCVKIT_THREADS;
      assert.ok(nativeThreads() >= 1);
      process.env.ECCVKIT_THREADS = '3';
      assert.equal(nativeThreads(), 3);
      process.env.ECCVKIT_THREADS = 'two';
      throwsInput(() => nativeThreads(), 'ECCVKIT_THREADS', '"two"', 'positive integer');
      process.env.ECCVKIT_THREADS = '0';
      throwsInput(() => nativeThreads(), 'ECCVKIT_THREADS');
    } finally {
      if (saved === undefined) delete process.env.ECCVKIT_THREADS;
      else process.env.ECCVKIT_THREADS = saved;
    }
  });

  it('merges broadcast dimensions so the inner loop is long', () => {
    // A bias over NHWC: the three leading dimensions merge; the bias repeats per row.
    assert.deepEqual(broadcastPlan([8, 5, 5, 3], [3]), { outShape: [8, 5, 5, 3], dims: [200, 3], aStrides: [3, 1], bStrides: [0, 1] });
    assert.deepEqual(broadcastPlan([4, 6], []), { outShape: [4, 6], dims: [24], aStrides: [1], bStrides: [0] });
    assert.deepEqual(broadcastPlan([4, 1, 6], [1, 5, 1]), { outShape: [4, 5, 6], dims: [4, 5, 6], aStrides: [6, 0, 1], bStrides: [0, 1, 0] });
    assert.deepEqual(broadcastPlan([], []), { outShape: [], dims: [1], aStrides: [1], bStrides: [1] });
  });

  it('views a sum as [A, R, B] when the summed axes are contiguous (size-1 axes ignored)', () => {
    assert.deepEqual(sumPlan([8, 5, 5, 3], [0, 1, 2]), [1, 200, 3]);
    assert.deepEqual(sumPlan([4, 5, 6], [1]), [4, 5, 6]);
    assert.deepEqual(sumPlan([4, 1, 5, 6], [2, 3]), [4, 30, 1]);
    assert.deepEqual(sumPlan([4, 5, 6], [0, 2]), undefined);
    assert.deepEqual(sumPlan([4, 5, 6], []), [120, 1, 1]);
  });

  it('splits a sum over separated axes into passes, the last block first', () => {
    assert.deepEqual(sumPasses([4, 5, 6], [0, 2]), [[20, 6, 1], [1, 4, 5]]);
    assert.deepEqual(sumPasses([32, 16, 2, 16, 2, 8], [2, 4]), [[32 * 16 * 2 * 16, 2, 8], [32 * 16, 2, 16 * 8]]);
    assert.deepEqual(sumPasses([3, 4, 5, 6, 7], [-1, 0, 1, 3]), [[60, 42, 1], [1, 12, 5]]);
    assert.deepEqual(sumPasses([8, 5, 5, 3], [0, 1, 2]), [[1, 200, 3]]);
    assert.deepEqual(sumPasses([4, 5], []), [[20, 1, 1]]);
  });
});
