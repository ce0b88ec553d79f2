import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { createRng, initEngine, tf } from '../../src/engine/index.js';
import { meanAndCovariance, symmetricEigen, symmetricSqrt } from '../../src/gan/linalg.js';
import { frechetDistance, frechetDistanceFromMoments, kernelInceptionDistance, precisionRecall } from '../../src/gan/metrics.js';
import { assertClose, throwsInput } from '../helpers.js';

/** A random symmetric positive definite 2×2 matrix R·diag(a, b)·Rᵀ. */
function spd2(rng: ReturnType<typeof createRng>): { n: 2; values: Float64Array } {
  const t = rng.uniform(0, Math.PI);
  const [c, s] = [Math.cos(t), Math.sin(t)];
  const a = rng.uniform(0.1, 4);
  const b = rng.uniform(0.1, 4);
  return { n: 2, values: Float64Array.from([a * c * c + b * s * s, (a - b) * c * s, (a - b) * c * s, a * s * s + b * c * c]) };
}

function gaussian(rows: number, cols: number, seed: number, shift = 0, scale = 1): { values: Float64Array; rows: number; cols: number } {
  const rng = createRng(seed);
  return { values: Float64Array.from({ length: rows * cols }, () => shift + scale * rng.normal()), rows, cols };
}

describe('linear algebra for the metrics', () => {
  it('Jacobi eigen-decomposition reconstructs the matrix with orthonormal vectors', () => {
    const rng = createRng(2);
    const n = 7;
    const m = new Float64Array(n * n);
    for (let i = 0; i < n; i++) for (let j = i; j < n; j++) m[i * n + j] = m[j * n + i] = rng.normal();
    const { eigenvalues: l, eigenvectors: v } = symmetricEigen({ n, values: m });
    const back = new Float64Array(n * n);
    const gram = new Float64Array(n * n);
    for (let i = 0; i < n; i++)
      for (let j = 0; j < n; j++)
        for (let k = 0; k < n; k++) {
          back[i * n + j]! += v[i * n + k]! * l[k]! * v[j * n + k]!;
          gram[i * n + j]! += v[k * n + i]! * v[k * n + j]!;
        }
    assertClose(back, m, 1e-12, 'V Λ Vᵀ');
    assertClose(gram, Float64Array.from({ length: n * n }, (_, i) => (i % (n + 1) === 0 ? 1 : 0)), 1e-12, 'VᵀV');
  });

  it('symmetric square root squares back, and the covariance divides by N − 1', () => {
    const s = spd2(createRng(4));
    const r = symmetricSqrt(s).values;
    assertClose([r[0]! * r[0]! + r[1]! * r[2]!, r[0]! * r[1]! + r[1]! * r[3]!, r[2]! * r[1]! + r[3]! * r[3]!], [s.values[0]!, s.values[1]!, s.values[3]!], 1e-12);
    const { mean, covariance } = meanAndCovariance([1, 2, 3, 6], 2, 2);
    assertClose(mean, [2, 4], 0);
    assertClose(covariance.values, [2, 4, 4, 8], 1e-12);
  });
});

describe('sample metrics', () => {
  before(async () => {
    await initEngine();
  });

  it('Fréchet distance of known Gaussians: equal covariances give ‖Δμ‖²; 2×2 gives Tr Σ₁ + Tr Σ₂ − 2√(Tr Σ₁Σ₂ + 2√det Σ₁Σ₂)', () => {
    const id = { n: 3, values: Float64Array.from([1, 0, 0, 0, 1, 0, 0, 0, 1]) };
    assertClose([frechetDistanceFromMoments([0, 0, 0], id, [1, 1, 1], id)], [3], 1e-12, 'μ 0 vs 1, Σ = I');
    assertClose([frechetDistanceFromMoments([0, 0], { n: 2, values: Float64Array.from([4, 0, 0, 9]) }, [0, 0], { n: 2, values: Float64Array.from([1, 0, 0, 1]) })], [(2 - 1) ** 2 + (3 - 1) ** 2], 1e-12, 'diagonal: Σ(σ₁ − σ₂)²');
    const rng = createRng(7);
    for (let t = 0; t < 20; t++) {
      const a = spd2(rng);
      const b = spd2(rng);
      // For 2×2, (√λ₁ + √λ₂)² = tr + 2√det of Σ₁Σ₂, whose eigenvalues are real and positive.
      const p = [a.values[0]! * b.values[0]! + a.values[1]! * b.values[2]!, a.values[0]! * b.values[1]! + a.values[1]! * b.values[3]!, a.values[2]! * b.values[0]! + a.values[3]! * b.values[2]!, a.values[2]! * b.values[1]! + a.values[3]! * b.values[3]!];
      const trSqrt = Math.sqrt(p[0]! + p[3]! + 2 * Math.sqrt(p[0]! * p[3]! - p[1]! * p[2]!));
      const expected = 0.25 + a.values[0]! + a.values[3]! + b.values[0]! + b.values[3]! - 2 * trSqrt;
      assertClose([frechetDistanceFromMoments([0.5, 0], a, [0, 0], b)], [expected], 1e-10, `pair ${t}`);
      assertClose([frechetDistanceFromMoments([0, 0], b, [0.5, 0], a)], [expected], 1e-10, `symmetric ${t}`);
    }
  });

  it('FD of a set against itself is ~0 and grows as ‖shift‖² with a known shift', () => {
    const x = gaussian(500, 10, 1);
    const self = frechetDistance(x, x);
    assert.ok(Math.abs(self) < 1e-8, `FD(x, x) = ${self}`);
    for (const shift of [0.5, 1, 2]) {
      const y = { ...x, values: x.values.map((v) => v + shift) };
      assertClose([frechetDistance(x, y)], [10 * shift * shift], 1e-8, `shift ${shift}`);
    }
    // A singular covariance (rank 1 in 3-D, trace 128) stays finite and near 0: eigenvalues that
    // are 0 in exact arithmetic come out ~1e-13 and their square roots ~1e-6 (as with scipy sqrtm).
    const line = { values: Float64Array.from({ length: 30 }, (_, i) => Math.floor(i / 3) * (1 + (i % 3))), rows: 10, cols: 3 };
    const singular = frechetDistance(line, line);
    assert.ok(Math.abs(singular) < 1e-4, `FD of a rank-1 set with itself: ${singular}`);
    const t = tf.tensor2d(Float32Array.from(x.values), [500, 10]);
    assertClose([frechetDistance(t, x)], [0], 1e-4, 'tensor input');
    t.dispose();
  });

  it('KID: the unbiased cubic-kernel MMD² on a hand example, ~0 for one distribution, larger for a shift', () => {
    // d = 1, real {0, 1}, fake {1, 2}: k = (xy + 1)³. K_rr off-diagonal 1, K_gg 27, K_rg mean (1 + 1 + 8 + 27)/4.
    const hand = kernelInceptionDistance({ values: [0, 1], rows: 2, cols: 1 }, { values: [1, 2], rows: 2, cols: 1 }, { subsets: 1 });
    assertClose([hand.mean, hand.std], [1 + 27 - 2 * 9.25, 0], 1e-12);
    const same = kernelInceptionDistance(gaussian(400, 8, 1), gaussian(400, 8, 2), { subsetSize: 200, subsets: 10 });
    const shifted = kernelInceptionDistance(gaussian(400, 8, 1), gaussian(400, 8, 2, 0.5), { subsetSize: 200, subsets: 10 });
    assert.ok(Math.abs(same.mean) < 0.05, `same ${same.mean}`);
    assert.ok(shifted.mean > 10 * Math.abs(same.mean) && shifted.mean > 0.1, `shifted ${shifted.mean}`);
    assert.deepEqual(kernelInceptionDistance(gaussian(400, 8, 1), gaussian(400, 8, 2), { subsetSize: 50, subsets: 3, seed: 5 }), kernelInceptionDistance(gaussian(400, 8, 1), gaussian(400, 8, 2), { subsetSize: 50, subsets: 3, seed: 5 }));
  });

  it('precision and recall: a hand-worked 1-D case, identical sets give 1, far sets 0', () => {
    // real {0, 1, 2, 10}, k = 1: radii² 1, 1, 1, 64 (10's nearest is 2). fake {0.5, 5, 20}: 0.5 and 5 inside, 20 outside → 2/3.
    // fake radii² (k = 1): 0.5→5: 20.25; 5→0.5: 20.25; 20→5: 225; real inside: 0, 1, 2, 10 all within 20.25 of 0.5 or 5 → 1.
    const pr = precisionRecall({ values: [0, 1, 2, 10], rows: 4, cols: 1 }, { values: [0.5, 5, 20], rows: 3, cols: 1 }, { k: 1 });
    assertClose([pr.precision, pr.recall], [2 / 3, 1], 1e-7);
    const x = gaussian(300, 5, 3);
    assert.deepEqual(precisionRecall(x, x), { precision: 1, recall: 1 });
    const far = precisionRecall(x, gaussian(300, 5, 4, 100));
    assert.deepEqual(far, { precision: 0, recall: 0 });
    // A generator covering half the modes: high precision, recall about ½.
    const modes = (seed: number, count: number) => {
      const rng = createRng(seed);
      return { values: Float64Array.from({ length: 400 * 2 }, (_, i) => (i % 2 === 0 ? 20 * rng.int(count) : 0) + 0.3 * rng.normal()), rows: 400, cols: 2 };
    };
    const half = precisionRecall(modes(5, 4), modes(6, 2));
    assert.ok(half.precision > 0.9 && half.recall > 0.35 && half.recall < 0.65, JSON.stringify(half));
  });

  it('rejects mismatched widths and too few samples', () => {
    throwsInput(() => frechetDistance(gaussian(5, 3, 1), gaussian(5, 4, 1)), 'features2', '3 columns');
    throwsInput(() => frechetDistance(gaussian(1, 3, 1), gaussian(5, 3, 1)), 'features1', 'at least 2');
    throwsInput(() => precisionRecall(gaussian(3, 2, 1), gaussian(3, 2, 1), { k: 3 }), 'k');
    throwsInput(() => kernelInceptionDistance({ values: [1, 2], rows: 3, cols: 1 }, gaussian(3, 1, 1)), 'real');
  });
});
