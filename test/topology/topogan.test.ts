import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { generateMasks } from '../../src/data/index.js';
import { tf } from '../../src/engine/index.js';
import { maskBettiNumbers, TopoGanTerm } from '../../src/topology/index.js';
import { onBackend, throwsInput } from '../helpers.js';

/** A 64×64 membrane mask (structure 1): walls 2 px wide at rows and columns 20–21 and 42–43, 3 × 3 cells. */
function grid(): Float32Array {
  const m = new Float32Array(64 * 64);
  for (let r = 0; r < 64; r++)
    for (let c = 0; c < 64; c++) if ([20, 21, 42, 43].includes(r) || [20, 21, 42, 43].includes(c)) m[r * 64 + c] = 1;
  return m;
}

describe('TopoGAN term (pool, subsets, eq. 5 matching, W1 on births)', () => {
  it('a membrane with one gap closes under a few steps of gradient descent on the loss alone', async () => {
    await onBackend('cpu', () => {
      const real = grid();
      const gapped = real.slice();
      for (let r = 30; r < 34; r++) for (const c of [20, 21]) gapped[r * 64 + c] = 0; // a 4-px gap in the left wall of the centre cell
      assert.deepEqual(maskBettiNumbers(real, [64, 64]), [1, 1]);
      assert.deepEqual(maskBettiNumbers(gapped, [64, 64]), [1, 0]);
      const term = new TopoGanTerm(real, [1, 64, 64], { subsetRate: 1 });
      // With the frame, all 9 cells are holes born at 0; the gap leaves 8 and a near-hole born where the gap closes.
      assert.deepEqual(term.pool, [[0, 0, 0, 0, 0, 0, 0, 0, 0]]);
      let g = tf.tensor4d(Float32Array.from(gapped, (v) => 2 * v - 1), [1, 64, 64, 1]); // tanh scale
      const first = term.loss(g, 0);
      assert.ok(first.value > 0.2 && first.value < 0.25, `W1 = birth of the near-hole / 9, got ${first.value}`);
      first.loss.dispose();
      for (let step = 0; step < 3; step++) {
        const grad = tf.grad((x: tf.Tensor) => term.loss(x, step).loss)(g);
        const next = tf.tidy(() => tf.clipByValue(tf.sub(g, tf.mul(20, grad)), -1, 1));
        tf.dispose([g, grad]);
        g = next as tf.Tensor4D;
      }
      const last = term.loss(g, 3);
      assert.equal(last.value, 0, 'no near-hole left');
      last.loss.dispose();
      const values = Float32Array.from(g.dataSync(), (v) => (v > 0 ? 1 : 0));
      assert.deepEqual(maskBettiNumbers(values, [64, 64]), [1, 1], 'the centre cell is closed again');
      const changed = values.reduce((s, v, i) => s + (v !== gapped[i] ? 1 : 0), 0);
      assert.ok(changed >= 2 && changed <= 8, `only pixels of the gap change (${changed})`);
      g.dispose();
    });
  });

  it('the weight scales the loss, subsets are seeded per step, and matching indexes the real pool', async () => {
    await onBackend('cpu', () => {
      const ds = generateMasks({ kind: 'membranes', count: 20, seed: 1 });
      const term = new TopoGanTerm(ds.images, [20, 64, 64, 1], { weight: 2.5, subsetRate: 0.25, seed: 4 });
      assert.equal(term.subsetSize, 5);
      const s0 = term.subsetAt(7);
      assert.deepEqual(s0, term.subsetAt(7));
      assert.equal(new Set(s0).size, 5);
      assert.notDeepEqual(s0, term.subsetAt(8));
      const fake = tf.tensor4d(Float32Array.from(generateMasks({ kind: 'membranes', count: 3, seed: 99 }).images, (v) => 2 * v - 1), [3, 64, 64, 1]);
      const before = tf.memory().numTensors;
      const r = term.loss(fake, 7);
      assert.ok(Math.abs((r.loss.dataSync()[0] as number) - 2.5 * r.value) < 1e-4 * Math.max(1, r.value));
      assert.ok([...r.matched].every((j) => s0.includes(j)));
      assert.ok(r.persistenceMs >= 0);
      r.loss.dispose();
      for (let k = 0; k < 3; k++) tf.grad((x: tf.Tensor) => term.loss(x, k).loss)(fake).dispose();
      assert.equal(tf.memory().numTensors, before, 'no tensor left behind');
      fake.dispose();
    });
  });

  it('dim 0 matches deaths; bad input names the argument', async () => {
    await onBackend('cpu', () => {
      const vessels = generateMasks({ kind: 'vessels', count: 10, seed: 2 });
      const term = new TopoGanTerm(vessels.images, [10, 64, 64], { dim: 0, subsetRate: 1 });
      assert.equal(term.project, 'death');
      assert.ok(term.pool.some((d) => d.length > 0 && d.every((v) => v > 0)), 'broken branches merge at a positive distance');
      const empty = new Float32Array(2 * 64 * 64);
      throwsInput(() => new TopoGanTerm(empty, [2, 64, 64], { dim: 0 }), 'realMasks', 'all empty', 'loss would be zero');
      throwsInput(() => new TopoGanTerm(empty, [2, 64, 64], { dim: 2 as 0 }), 'dim', '0 (components) or 1');
      throwsInput(() => new TopoGanTerm(empty, [2, 64, 64], { project: 'death' }), 'project', 'dim 0 only');
      throwsInput(() => new TopoGanTerm(empty, [2, 64, 64], { subsetRate: 0 }), 'subsetRate', '(0, 1]');
      throwsInput(() => new TopoGanTerm(empty, [2, 64, 64, 3], {}), 'shape');
      throwsInput(() => new TopoGanTerm(Float32Array.from(empty, () => 2), [2, 64, 64]), 'realMasks[0]', '[0, 1]');
      const x = tf.zeros([1, 32, 32, 1]);
      throwsInput(() => term.loss(x, 0), 'generated', '[n, 64, 64]');
      x.dispose();
    });
  });
});
