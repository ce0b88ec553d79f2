import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { createRng, initEngine, tf } from '../../src/engine/index.js';
import { boundaryTensor, fitBoundary, interpolate, layerwiseBoundary, manipulate, mixStyles, type Boundary } from '../../src/inversion/edit.js';
import { assertClose, randomValues, throwsInput } from '../helpers.js';

/** Runs `fn`, disposes what it returns, and asserts no tensor was left behind. */
function flat(fn: () => tf.Tensor | void): void {
  const before = tf.memory().numTensors;
  const out = fn();
  if (out) out.dispose();
  assert.equal(tf.memory().numTensors, before, 'tensors leaked');
}

/** 400 Gaussian 16-d codes with score = a·x + noise, and the unit a. */
function linearRule(seed: number, rows = 400, cols = 16, noise = 0.3) {
  const rng = createRng(seed);
  const a = Float64Array.from({ length: cols }, () => rng.normal());
  const na = Math.hypot(...a);
  for (let j = 0; j < cols; j++) a[j] = (a[j] as number) / na;
  const values = Float32Array.from({ length: rows * cols }, () => rng.normal());
  const scores = Float64Array.from({ length: rows }, (_, i) => {
    let s = 0;
    for (let j = 0; j < cols; j++) s += (a[j] as number) * (values[i * cols + j] as number);
    return s + noise * rng.normal();
  });
  return { codes: { values, rows, cols }, scores, a };
}

const cosine = (u: ArrayLike<number>, v: ArrayLike<number>) => {
  let uv = 0;
  let uu = 0;
  let vv = 0;
  for (let j = 0; j < u.length; j++) {
    uv += (u[j] as number) * (v[j] as number);
    uu += (u[j] as number) ** 2;
    vv += (v[j] as number) ** 2;
  }
  return uv / Math.sqrt(uu * vv);
};

describe('inversion editing', () => {
  before(async () => {
    await initEngine();
  });

  test('interpolate: endpoints are the inputs, the midpoint their mean; one code and a batch', () => {
    const a = tf.tensor2d(randomValues(12, 1), [3, 4]);
    const b = tf.tensor2d(randomValues(12, 2), [3, 4]);
    flat(() => {
      const path = interpolate(a, b, 5);
      assert.deepEqual(path.shape, [5, 3, 4]);
      const v = path.dataSync();
      assert.deepEqual(Array.from(v.slice(0, 12)), Array.from(a.dataSync()));
      assert.deepEqual(Array.from(v.slice(48, 60)), Array.from(b.dataSync()));
      const mean = Array.from(a.dataSync(), (x, i) => (x + (b.dataSync()[i] as number)) / 2);
      assertClose(v.slice(24, 36), mean, 1e-7, 'midpoint');
      return path;
    });
    const A = tf.tensor3d(randomValues(24, 3), [2, 3, 4]);
    const B = tf.tensor3d(randomValues(24, 4), [2, 3, 4]);
    flat(() => {
      const path = interpolate(A, B, 3);
      assert.deepEqual(path.shape, [2, 3, 3, 4]);
      const v = path.dataSync();
      // Code 1, step 0 = A[1]; code 1, step 2 = B[1].
      assert.deepEqual(Array.from(v.slice(36, 48)), Array.from(A.dataSync().slice(12, 24)));
      assert.deepEqual(Array.from(v.slice(60, 72)), Array.from(B.dataSync().slice(12, 24)));
      return path;
    });
    const vector = tf.zeros([4]);
    flat(() => {
      throwsInput(() => interpolate(a, A, 3), 'wB', '[2, 3, 4]', '[3, 4]');
      throwsInput(() => interpolate(a, b, 1), 'steps', '1');
      throwsInput(() => interpolate(a, b, 2.5), 'steps');
      throwsInput(() => interpolate(vector, b, 3), 'wA');
    });
    tf.dispose([a, b, A, B, vector]);
  });

  test('fitBoundary recovers the direction of a linear rule (|cos| ≥ 0.95, pointing to higher scores)', () => {
    for (const seed of [1, 2, 3]) {
      const { codes, scores, a } = linearRule(seed);
      const fit = fitBoundary(codes, scores);
      assert.equal(fit.used, 240);
      assert.ok(Math.abs(Math.hypot(...fit.normal) - 1) < 1e-6, 'unit normal');
      const c = cosine(fit.normal, a);
      assert.ok(c >= 0.95, `seed ${seed}: cos ${c}`);
      assert.ok(fit.accuracy >= 0.95, `accuracy ${fit.accuracy}`);
      // The offset makes normal·x + offset the signed decision: positive for the top rows.
      const order = Array.from({ length: codes.rows }, (_, i) => i).sort((i, j) => (scores[j] as number) - (scores[i] as number));
      const decision = (i: number) => fit.offset + Array.from(fit.normal).reduce((s, nj, j) => s + nj * (codes.values[i * codes.cols + j] as number), 0);
      assert.ok(decision(order[0] as number) > 0 && decision(order[codes.rows - 1] as number) < 0);
      // Negated scores flip the normal.
      const flipped = fitBoundary(codes, Array.from(scores, (s) => -s));
      assert.ok(cosine(flipped.normal, fit.normal) < -0.99);
    }
  });

  test('fitBoundary: fraction 0.5 uses every row, binary labels are used as they are', () => {
    const { codes, scores, a } = linearRule(7, 101);
    const half = fitBoundary(codes, scores, { fraction: 0.5 });
    assert.equal(half.used, 100);
    assert.ok(cosine(half.normal, a) >= 0.9);
    const labels = Array.from(scores, (s) => (s > 0 ? 1 : 0));
    const bin = fitBoundary(codes, labels, { binary: true, C: 10 });
    assert.equal(bin.used, 101);
    assert.ok(cosine(bin.normal, a) >= 0.9, `cos ${cosine(bin.normal, a)}`);
  });

  test('fitBoundary errors name the argument', () => {
    const { codes, scores } = linearRule(4, 20, 3);
    throwsInput(() => fitBoundary({ values: new Float32Array(9), rows: 3, cols: 3 }, [1, 2, 3]), 'codes.rows', '3');
    throwsInput(() => fitBoundary({ ...codes, values: codes.values.slice(1) }, scores), 'codes.values', '59 values');
    throwsInput(() => fitBoundary(codes, scores.slice(1)), 'scores', '19 scores', '20');
    throwsInput(() => fitBoundary(codes, Array.from(scores, (s, i) => (i === 5 ? NaN : s))), 'scores', 'NaN at 5');
    const bad = Float32Array.from(codes.values);
    bad[4] = Infinity;
    throwsInput(() => fitBoundary({ ...codes, values: bad }, scores), 'codes.values', 'row 1, column 1');
    throwsInput(() => fitBoundary(codes, new Array(20).fill(1)), 'scores', 'ties');
    throwsInput(() => fitBoundary(codes, new Array(20).fill(1), { binary: true }), 'scores', 'both classes');
    throwsInput(() => fitBoundary(codes, Array.from(scores), { binary: true }), 'scores', '0/1');
    throwsInput(() => fitBoundary(codes, scores, { fraction: 0.6 }), 'fraction', '0.6');
    throwsInput(() => fitBoundary(codes, scores, { fraction: 0.01 }), 'fraction');
    throwsInput(() => fitBoundary(codes, scores, { C: 0 }), 'C');
  });

  test('layerwiseBoundary and boundaryTensor: unit normal on the chosen layers, zero rows elsewhere', () => {
    const b = layerwiseBoundary(Float32Array.from([3, 0, 4]), 4, [2, 0, 2]);
    assert.deepEqual(b.manipulateLayers, [0, 2]);
    assert.equal(b.layers, 4);
    assert.equal(b.wDim, 3);
    assertClose(b.values, [0.6, 0, 0.8, 0, 0, 0, 0.6, 0, 0.8, 0, 0, 0], 1e-7, 'values');
    flat(() => {
      const t = boundaryTensor(b);
      assert.deepEqual(t.shape, [4, 3]);
      assertClose(t.dataSync(), b.values, 0, 'tensor');
      return t;
    });
    // A shipped-style boundary with normals on every layer: boundaryTensor keeps manipulateLayers only.
    const shipped: Boundary = { values: Float32Array.from({ length: 6 }, () => 1), layers: 2, wDim: 3, manipulateLayers: [1] };
    flat(() => {
      const t = boundaryTensor(shipped);
      assert.deepEqual(Array.from(t.dataSync()), [0, 0, 0, 1, 1, 1]);
      return t;
    });
    assert.deepEqual(layerwiseBoundary(Float32Array.from([1, 1]), 3).manipulateLayers, [0, 1, 2]);
    throwsInput(() => layerwiseBoundary(new Float32Array(3), 4), 'normal', 'norm 0');
    throwsInput(() => layerwiseBoundary(Float32Array.from([1]), 4, [4]), 'manipulateLayers', '[0, 3]');
    throwsInput(() => layerwiseBoundary(Float32Array.from([1]), 0), 'layers');
    throwsInput(() => boundaryTensor({ ...shipped, values: new Float32Array(5) }), 'boundary.values', '5 values');
  });

  test('manipulate: α = 0 returns the codes, α = 2 moves exactly 2·normal on the chosen layers only', () => {
    const L = 5;
    const D = 6;
    const codes = tf.tensor3d(randomValues(2 * L * D, 11), [2, L, D]);
    const normal = randomValues(D, 12);
    const b = layerwiseBoundary(normal, L, [1, 3]);
    const unit = b.values.slice(1 * D, 2 * D);
    const w = codes.dataSync();
    flat(() => {
      const out = manipulate(codes, b, { alphas: [0, 2] });
      assert.deepEqual(out.shape, [2, 2, L, D]);
      const v = out.dataSync();
      for (let i = 0; i < 2; i++) {
        const code = w.slice(i * L * D, (i + 1) * L * D);
        assert.deepEqual(Array.from(v.slice((i * 2 + 0) * L * D, (i * 2 + 1) * L * D)), Array.from(code), 'α = 0');
        const moved = v.slice((i * 2 + 1) * L * D, (i * 2 + 2) * L * D);
        for (let l = 0; l < L; l++) {
          const got = Array.from(moved.slice(l * D, (l + 1) * D), (x, j) => x - (code[l * D + j] as number));
          if (l === 1 || l === 3) assertClose(got, Array.from(unit, (u) => 2 * u), 1e-6, `layer ${l} moved`);
          else assert.deepEqual(Array.from(moved.slice(l * D, (l + 1) * D)), Array.from(code.slice(l * D, (l + 1) * D)), `layer ${l} untouched`);
        }
      }
      return out;
    });
    flat(() => {
      // Default alphas (−3…3) and an explicit layer override.
      const out = manipulate(codes, b, { layers: [3] });
      assert.deepEqual(out.shape, [2, 7, L, D]);
      const v = out.dataSync();
      // Code 0, α = −3 (index 0): layer 1 untouched, layer 3 moved by −3·n.
      assert.deepEqual(Array.from(v.slice(D, 2 * D)), Array.from(w.slice(D, 2 * D)));
      assertClose(Array.from(v.slice(3 * D, 4 * D), (x, j) => x - (w[3 * D + j] as number)), Array.from(unit, (u) => -3 * u), 1e-6, 'α = −3');
      return out;
    });
    const single = tf.zeros([L, D]) as unknown as tf.Tensor3D;
    flat(() => {
      throwsInput(() => manipulate(codes, layerwiseBoundary(normal, L + 1)), 'boundary', `[${L + 1}, ${D}]`, `[${L}, ${D}]`);
      throwsInput(() => manipulate(codes, layerwiseBoundary(Float32Array.from([1, 2]), L)), 'boundary', `[${L}, 2]`, `[${L}, ${D}]`);
      throwsInput(() => manipulate(codes, b, { layers: [5] }), 'layers', '[0, 4]');
      throwsInput(() => manipulate(codes, b, { alphas: [] }), 'alphas');
      throwsInput(() => manipulate(single, b), 'codes', '[n, layers, wDim]');
    });
    tf.dispose([codes, single]);
  });

  test('mixStyles: layers below fromLayer from content, the rest from style; style broadcast from n = 1', () => {
    const L = 4;
    const D = 2;
    const content = tf.tensor3d(Float32Array.from({ length: 2 * L * D }, () => 1), [2, L, D]);
    const style = tf.tensor3d(Float32Array.from({ length: 2 * L * D }, () => 2), [2, L, D]);
    const one = tf.tensor3d(Float32Array.from({ length: L * D }, (_, k) => 10 + k), [1, L, D]);
    flat(() => {
      const out = mixStyles(content, style, 3);
      assert.deepEqual(out.shape, [2, L, D]);
      assert.deepEqual(Array.from(out.dataSync()), [1, 1, 1, 1, 1, 1, 2, 2, 1, 1, 1, 1, 1, 1, 2, 2]);
      return out;
    });
    flat(() => {
      const out = mixStyles(content, one, 1);
      assert.deepEqual(Array.from(out.dataSync()), [1, 1, 12, 13, 14, 15, 16, 17, 1, 1, 12, 13, 14, 15, 16, 17]);
      return out;
    });
    flat(() => {
      const out = mixStyles(content, style, 0);
      assert.ok(Array.from(out.dataSync()).every((x) => x === 2));
      return out;
    });
    flat(() => {
      const out = mixStyles(content, style, L);
      assert.ok(Array.from(out.dataSync()).every((x) => x === 1));
      return out;
    });
    const three = tf.zeros([3, L, D]) as tf.Tensor3D;
    const wide = tf.zeros([2, L, 3]) as tf.Tensor3D;
    flat(() => {
      throwsInput(() => mixStyles(content, three, 1), 'style', '[3, 4, 2]', '[2, 4, 2]');
      throwsInput(() => mixStyles(content, wide, 1), 'style');
      throwsInput(() => mixStyles(content, style, 5), 'fromLayer', '5', '[0, 4]');
      throwsInput(() => mixStyles(content, style, 1.5), 'fromLayer');
    });
    tf.dispose([content, style, one, three, wide]);
  });
});
