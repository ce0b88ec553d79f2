/**
 * The tfjs bridge and the topological losses: gradients land on critical
 * pixels, match central finite differences, the TopoGAN mask loss closes a gap,
 * and no tensor leaks.
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { createRng, initEngine, tf } from '../../src/engine/index.js';
import { bettiLoss, cubicalPersistence, diagramTensors, distanceTransform, maskFiltration, nearestPixel, topoGanBirths, topoGanLoss, topoGanMaskLoss } from '../../src/topology/index.js';
import { assertClose, availableBackends, onBackend, throwsInput } from '../helpers.js';

/** Distinct values k/n in random order, so no tie changes the pairing under a small perturbation. */
function distinctImage(n: number, seed: number): Float32Array {
  const perm = createRng(seed).permutation(n);
  return Float32Array.from(perm, (k) => (k + 0.5) / n);
}

/** Central differences of a scalar function of a flat image. */
function finiteDifferences(f: (x: Float32Array) => number, x: Float32Array, eps: number): Float32Array {
  const g = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const up = x.slice();
    const down = x.slice();
    up[i] = (up[i] as number) + eps;
    down[i] = (down[i] as number) - eps;
    g[i] = (f(up) - f(down)) / (2 * eps);
  }
  return g;
}

function scalarOf(t: tf.Tensor): number {
  const v = t.dataSync()[0] as number;
  t.dispose();
  return v;
}

describe('topology bridge and losses', () => {
  before(async () => {
    await initEngine({ backend: 'cpu' });
  });

  it('birth and death tensors equal the diagram, and their gradients are one-hots at the critical pixels (every backend)', async () => {
    for (const backend of await availableBackends()) await onBackend(backend, () => {
      const h = 7;
      const w = 6;
      const img = distinctImage(h * w, 1);
      const x = tf.tensor2d(img, [h, w]);
      const pairs = cubicalPersistence(img, [h, w], { dims: [1] }).diagrams[1]!;
      const grad = tf.grad((t: tf.Tensor) => {
        const d = diagramTensors(t, 1);
        assertClose(d.birth.dataSync(), Float32Array.from(pairs.birth), 0, 'births');
        assertClose(d.death.dataSync(), Float32Array.from(pairs.death), 0, 'deaths');
        return tf.add(tf.sum(d.birth), tf.mul(2, tf.sum(d.death)));
      })(x);
      const expected = new Float32Array(h * w);
      for (let i = 0; i < pairs.size; i++) {
        expected[pairs.birthPixel[i] as number] += 1;
        expected[pairs.deathPixel[i] as number] += 2;
      }
      assert.ok(pairs.size > 0, 'the test image has holes');
      assertClose(grad.dataSync(), expected, 0, `gradient on ${backend}`);
      tf.dispose([x, grad]);
    });
    await initEngine({ backend: 'cpu' });
  });

  it('the Betti-number loss matches finite differences (T and V, several targets)', async () => {
    await onBackend('cpu', () => {
      const h = 6;
      const w = 7;
      for (const [construction, target, seed] of [
        ['T', { 0: 1, 1: 1 }, 2],
        ['V', { 0: 2 }, 3],
        ['T', { 1: 3 }, 4],
      ] as const) {
        const img = distinctImage(h * w, seed);
        const loss = (v: Float32Array) => scalarOf(tf.tidy(() => bettiLoss(tf.tensor2d(v, [h, w]), target, { construction })));
        const x = tf.tensor2d(img, [h, w]);
        const analytic = tf.grad((t: tf.Tensor) => bettiLoss(t, target, { construction }))(x);
        const numeric = finiteDifferences(loss, img, 1e-3);
        assert.ok(numeric.some((v) => v !== 0), 'the loss depends on the image');
        assertClose(analytic.dataSync(), numeric, 2e-3, `${construction} ${JSON.stringify(target)}`);
        tf.dispose([x, analytic]);
      }
    });
  });

  it('the Betti-number loss has the hand-worked value on a ring', () => {
    // A ring of 0.9 around a 0.2 centre in a 0.1 background, superlevel: one component [0.9, floor 0] and one hole [0.9, 0.2].
    const ring = [0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.9, 0.9, 0.9, 0.1, 0.1, 0.9, 0.2, 0.9, 0.1, 0.1, 0.9, 0.9, 0.9, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1];
    const x = tf.tensor2d(ring, [5, 5]);
    const l = (target: Record<number, number>) => scalarOf(bettiLoss(x, target));
    assert.ok(Math.abs(l({ 0: 1, 1: 1 }) - ((1 - 0.9 ** 2) + (1 - 0.7 ** 2))) < 1e-6);
    assert.ok(Math.abs(l({ 0: 1, 1: 0 }) - ((1 - 0.9 ** 2) + 0.7 ** 2)) < 1e-6);
    assert.ok(Math.abs(l({ 1: 2 }) - ((1 - 0.7 ** 2) + 1)) < 1e-6, 'a missing bar counts 1');
    x.dispose();
  });

  it('the TopoGAN loss on filtrations matches finite differences and its value is Σ W1 to the matched real diagram', async () => {
    await onBackend('cpu', () => {
      const n = 3;
      const h = 6;
      const w = 6;
      const imgs = new Float32Array(n * h * w);
      for (let i = 0; i < n; i++) imgs.set(distinctImage(h * w, 10 + i), i * h * w);
      const pool = [[0.1, 0.5], [0.3], [0.2, 0.25, 0.9], [0.05, 0.6, 0.7, 0.8]];
      const loss = (v: Float32Array) => scalarOf(tf.tidy(() => topoGanLoss(tf.tensor3d(v, [n, h, w]), pool).loss));
      const x = tf.tensor3d(imgs, [n, h, w]);
      const r = topoGanLoss(x, pool);
      assert.ok(Math.abs((r.loss.dataSync()[0] as number) - r.distances.reduce((a, b) => a + b, 0)) < 1e-5);
      r.loss.dispose();
      const analytic = tf.grad((t: tf.Tensor) => topoGanLoss(t, pool).loss)(x);
      const numeric = finiteDifferences(loss, imgs, 1e-3);
      assert.ok(numeric.some((v) => v !== 0));
      assertClose(analytic.dataSync(), numeric, 2e-3, 'TopoGAN gradient');
      // One sample, reshaped inside the differentiated function: W1 between uniform {births} and {0.2, 0.5}.
      const one = tf.tensor2d(imgs.subarray(0, h * w), [h, w]);
      const single = tf.grad((t: tf.Tensor) => topoGanLoss(tf.reshape(t, [1, h, w]), [[0.2, 0.5]]).loss)(one);
      const numericOne = finiteDifferences((v) => scalarOf(tf.tidy(() => topoGanLoss(tf.tensor3d(v, [1, h, w]), [[0.2, 0.5]]).loss)), imgs.slice(0, h * w), 1e-3);
      assertClose(single.dataSync(), numericOne, 2e-3, 'one sample');
      tf.dispose([x, analytic, one, single]);
    });
  });

  it('the TopoGAN mask loss: a gap of two pixels is a near-hole born at 1; its gradient steps close it', async () => {
    await onBackend('cpu', () => {
      const h = 12;
      const w = 12;
      // Two cells (foreground, +1) split by a membrane column (background, −1) inside a background border.
      const closed = new Float32Array(h * w).fill(1);
      for (let k = 0; k < h; k++) for (const [r, c] of [[0, k], [11, k], [k, 0], [k, 11], [k, 6]] as const) closed[r * w + c] = -1;
      const gapped = closed.slice();
      gapped[5 * w + 6] = 1;
      gapped[6 * w + 6] = 1;
      // Real pool: the closed membrane, two true holes born at 0. With the gap the cells make one hole (born at 0)
      // until the distance transform closes the gap at 1 (the gap pixels are 1 from the membrane): a near-hole born at 1.
      const realBirths = topoGanBirths(closed, [h, w]);
      assert.deepEqual(realBirths, [0, 0]);
      assert.deepEqual(topoGanBirths(gapped, [h, w]), [0, 1]);
      let g = tf.tensor3d(gapped, [1, h, w]);
      const first = topoGanMaskLoss(g, [realBirths]);
      assert.equal(first.loss.dataSync()[0], 0.5, 'W1 between uniform {0, 1} and {0, 0}');
      first.loss.dispose();
      for (let step = 0; step < 4; step++) {
        const grad = tf.grad((t: tf.Tensor) => topoGanMaskLoss(t, [realBirths]).loss)(g);
        const next = tf.tidy(() => tf.sub(g, tf.mul(4, grad)));
        tf.dispose([g, grad]);
        g = next as tf.Tensor3D;
      }
      // The other way round: a real pool with a near-hole asks the closed mask to open one; the push lands on one
      // membrane (background) pixel, upward.
      const closedT = tf.tensor3d(closed, [1, h, w]);
      const up = tf.grad((t: tf.Tensor) => topoGanMaskLoss(t, [[0, 1]]).loss)(closedT);
      const pushed = Array.from(up.dataSync()).flatMap((v, i) => (v !== 0 ? [[i, v]] : []));
      assert.equal(pushed.length, 1, JSON.stringify(pushed));
      assert.equal(pushed[0]?.[1], -0.5);
      assert.equal(closed[pushed[0]?.[0] as number], -1, 'a background pixel');
      tf.dispose([closedT, up]);
      const last = topoGanMaskLoss(g, [realBirths]);
      assert.equal(last.loss.dataSync()[0], 0, 'the gap is closed');
      const changed = Array.from(g.dataSync()).reduce((s: number, v: number, i: number) => s + (Math.sign(v) !== Math.sign(gapped[i] as number) ? 1 : 0), 0);
      assert.equal(changed, 2, 'exactly the two gap pixels flipped');
      tf.dispose([last.loss, g]);
    });
  });

  it('nearestPixel finds what a scan of the whole image finds (nearest, first in raster order among ties), from any starting radius', () => {
    const rng = createRng(12);
    for (let trial = 0; trial < 300; trial++) {
      const [h, w] = [1 + rng.int(12), 1 + rng.int(12)];
      const density = [0.02, 0.2, 0.7][trial % 3] as number;
      const ok = Uint8Array.from({ length: h * w }, () => (rng.next() < density ? 1 : 0));
      const [r, c] = [rng.int(h), rng.int(w)];
      let brute = -1;
      let bestD = Infinity;
      for (let q = 0; q < h * w; q++) {
        const d = (Math.floor(q / w) - r) ** 2 + ((q % w) - c) ** 2;
        if (ok[q] && d < bestD) [brute, bestD] = [q, d];
      }
      for (const radius of [0, 1, 2.5, 20]) assert.equal(nearestPixel(r, c, h, w, (q) => ok[q] === 1, radius), brute, `trial ${trial}, radius ${radius}`);
    }
  });

  it('the distance transform is the exact Euclidean distance to the nearest zero', () => {
    const rng = createRng(50);
    for (const [h, w] of [
      [7, 9],
      [1, 6],
      [10, 3],
    ] as const) {
      const mask = Float64Array.from({ length: h * w }, () => (rng.next() < 0.2 ? 0 : 1));
      mask[rng.int(h * w)] = 0;
      const dt = distanceTransform(mask, h, w);
      for (let p = 0; p < h * w; p++) {
        let best = Infinity;
        for (let q = 0; q < h * w; q++) if (mask[q] === 0) best = Math.min(best, Math.hypot(Math.floor(p / w) - Math.floor(q / w), (p % w) - (q % w)));
        assert.ok(Math.abs((dt[p] as number) - best) < 1e-12, `pixel ${p}`);
      }
    }
    assert.deepEqual([...distanceTransform([1, 1], 1, 2)], [Infinity, Infinity]);
    const f = maskFiltration([1, 1, 1, 1], [2, 2]);
    assert.deepEqual([f.height, f.width], [4, 4]);
    assert.equal(f.values[5], 1);
  });

  it('long loops keep the tensor count flat; bad input names the argument', async () => {
    await onBackend('cpu', () => {
      const x = tf.tensor2d(distinctImage(25, 60), [5, 5]);
      const before = tf.memory().numTensors;
      for (let k = 0; k < 5; k++) {
        const g = tf.grad((t: tf.Tensor) => bettiLoss(t, { 0: 1, 1: 1 }))(x);
        g.dispose();
        tf.tidy(() => topoGanLoss(tf.reshape(x, [1, 5, 5]), [[0.5]]).loss).dispose();
      }
      assert.equal(tf.memory().numTensors, before);
      const cube = tf.zeros([1, 2, 2]);
      const square = tf.zeros([2, 2]);
      throwsInput(() => diagramTensors(cube, 0), 'image', 'rank-2');
      throwsInput(() => bettiLoss(x, { 2: 1 } as Record<number, number>), 'target');
      throwsInput(() => topoGanLoss(square, [[0]]), 'filtrations');
      throwsInput(() => topoGanLoss(cube, []), 'realBirths');
      throwsInput(() => topoGanLoss(cube, [[NaN]]), 'realBirths[0][0]');
      throwsInput(() => topoGanMaskLoss(square, [[0]]), 'generated');
      tf.dispose([x, cube, square]);
    });
  });
});
