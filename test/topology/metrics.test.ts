/**
 * Topology metrics for mask sets: Betti numbers of masks against brute-force
 * component counts, the Betti score and the unbiased MMD against hand values.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createRng } from '../../src/engine/rng.js';
import { bettiScore, maskBettiNumbers, unbiasedMmd, type DiagramPoints } from '../../src/topology/index.js';
import { throwsInput } from '../helpers.js';
import { bettiBrute } from './brute.js';

describe('topology metrics', () => {
  it('maskBettiNumbers: a ring, two blobs, an empty mask, and brute force on random masks', () => {
    const ring = [0, 0, 0, 0, 0, 0, 1, 1, 1, 0, 0, 1, 0, 1, 0, 0, 1, 1, 1, 0, 0, 0, 0, 0, 0];
    assert.deepEqual(maskBettiNumbers(ring, [5, 5]), [1, 1]);
    assert.deepEqual(maskBettiNumbers([1, 0, 1, 1, 0, 1], [2, 3]), [2, 0]);
    assert.deepEqual(maskBettiNumbers([0, 0, 0, 0], [2, 2]), [0, 0]);
    const rng = createRng(70);
    for (let trial = 0; trial < 10; trial++) {
      const h = 4 + rng.int(6);
      const w = 4 + rng.int(6);
      const mask = Float64Array.from({ length: h * w }, () => rng.next());
      for (const construction of ['T', 'V'] as const) {
        const expected = bettiBrute((r, c) => (mask[r * w + c] as number) > 0.5, h, w, construction);
        assert.deepEqual(maskBettiNumbers(mask, [h, w], { construction }), expected);
      }
    }
  });

  it('bettiScore is the χ² distance between normalised histograms', () => {
    assert.equal(bettiScore([1, 2, 2], [2, 1, 2]), 0);
    assert.equal(bettiScore([0, 0], [3, 3, 3]), 1);
    // p = {1: ½, 2: ½}, q = {1: 1}: ½ [ (½ − 1)² / (3/2) + (½)² / ½ ] = ⅓.
    assert.ok(Math.abs(bettiScore([1, 1, 2, 2], [1, 1, 1, 1]) - 1 / 3) < 1e-15);
    throwsInput(() => bettiScore([], [1]), 'real');
    throwsInput(() => bettiScore([1], [1.5]), 'generated[0]');
  });

  it('unbiasedMmd with k = exp(−W1/σ²): hand values', () => {
    const a: DiagramPoints = [[0, 2]];
    const b: DiagramPoints = [];
    const k = Math.exp(-1); // W1(a, b) = 1 (half of the bar's length, to the diagonal)
    assert.ok(Math.abs(unbiasedMmd([a, a], [b, b]) - (2 - 2 * k)) < 1e-15);
    assert.ok(Math.abs(unbiasedMmd([a, b], [a, b]) - (k - 1)) < 1e-15, 'unbiased: can be negative');
    assert.ok(Math.abs(unbiasedMmd([a, a], [b, b], { sigma: 2 }) - (2 - 2 * Math.exp(-1 / 4))) < 1e-15);
    assert.equal(unbiasedMmd([[[0, Infinity], ...a], a], [a, a]), 0, 'essential classes dropped by default');
    throwsInput(() => unbiasedMmd([a], [b, b]), 'x', 'at least two');
    throwsInput(() => unbiasedMmd([a, a], [b, b], { sigma: 0 }), 'sigma');
  });
});
