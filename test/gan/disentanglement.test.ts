import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { createRng, initEngine, tf } from '../../src/engine/index.js';
import {
  activeness,
  dci,
  dciFromImportance,
  discretize,
  entropy,
  hessianDiagonalness,
  mutualInfo,
  mutualInformationGap,
  perceptualPathLength,
  type LatentGenerator,
} from '../../src/gan/disentanglement.js';
import { assertClose, throwsInput } from '../helpers.js';
import { MIG_CASES } from './mig-fixture.js';


// Made by test/gan/fixtures/make_mig_fixture.py with NumPy 1.24.2 and scikit-learn 1.2.1 (see its docstring).

/** N × D standard normals, row-major. */
function normals(n: number, d: number, seed: number): { values: Float64Array; rows: number; cols: number } {
  const rng = createRng(seed);
  return { values: Float64Array.from({ length: n * d }, () => rng.normal()), rows: n, cols: d };
}

/** Columns `order` of m. */
function columns(m: { values: Float64Array; rows: number; cols: number }, order: number[]) {
  const values = new Float64Array(m.rows * order.length);
  for (let r = 0; r < m.rows; r++) order.forEach((c, k) => (values[r * order.length + k] = m.values[r * m.cols + c] as number));
  return { values, rows: m.rows, cols: order.length };
}

/** m with codes 0 and 1 rotated by 45°. */
function rotated(m: { values: Float64Array; rows: number; cols: number }) {
  const values = Float64Array.from(m.values);
  for (let r = 0; r < m.rows; r++) {
    const a = m.values[r * m.cols] as number;
    const b = m.values[r * m.cols + 1] as number;
    values[r * m.cols] = (a + b) / Math.SQRT2;
    values[r * m.cols + 1] = (a - b) / Math.SQRT2;
  }
  return { values, rows: m.rows, cols: m.cols };
}

describe('discretisation and mutual information', () => {
  it('discretize = np.digitize(x, np.histogram(x, bins)[1][:-1]) on every fixture column, ties on edges included', () => {
    for (const c of MIG_CASES) {
      const d = c.codes[0]!.length;
      for (let j = 0; j < d; j++) assert.deepEqual(Array.from(discretize(c.codes.map((row) => row[j]!), c.bins)), c.codeLabels[j], `${c.name}: code ${j}`);
      c.factors[0]!.forEach((_, k) => {
        if (!c.discrete.includes(k)) assert.deepEqual(Array.from(discretize(c.factors.map((row) => row[k]!), c.bins)), c.factorLabels[k], `${c.name}: factor ${k}`);
      });
    }
  });

  it('discretize: labels 1…bins, the maximum in the last bin; a constant column uses min ± 0.5 as NumPy', () => {
    assert.deepEqual(Array.from(discretize([0, 1, 2, 3, 4], 4)), [1, 2, 3, 4, 4]);
    assert.deepEqual(Array.from(discretize([0.5, -3, 10], 20)), [6, 1, 20]);
    // np.histogram([2, 2], 4) edges: 1.5, 1.75, 2, 2.25, 2.5 → digitize(2, edges[:-1]) = 3.
    assert.deepEqual(Array.from(discretize([2, 2], 4)), [3, 3]);
  });

  it('mutualInfo and entropy by hand', () => {
    // Two independent fair bits: 0. A bit with itself: ln 2.
    assert.equal(mutualInfo([0, 0, 1, 1], [0, 1, 0, 1]), 0);
    assertClose([mutualInfo([0, 0, 1, 1], [5, 5, -2, -2])], [Math.LN2], 1e-15);
    assertClose([entropy([3, 3, 3, 9])], [-(0.75 * Math.log(0.75) + 0.25 * Math.log(0.25))], 1e-15);
    assert.equal(entropy([4, 4, 4]), 0);
    assertClose([mutualInfo([0, 0, 1, 1], [0, 1, 1, 1])], [1.5 * Math.LN2 - 0.75 * Math.log(3)], 1e-15);
  });
});

describe('MIG', () => {
  it('a hand-worked discrete case', () => {
    // c0 = [0, 0, 1, 1], c1 = [0, 1, 0, 1] (2 bins leave them as 1/2 labels); v0 = c0, v1 = c0 OR c1.
    // I(c0; v0) = H(v0) = ln 2, I(c1; v0) = 0  →  gap/H = 1.
    // I(c0; v1) = ¼ln(¼/(½·¼)) + ¼ln(¼/(½·¾)) + ½ln(½/(½·¾)) = 1.5 ln 2 − 0.75 ln 3 = I(c1; v1) by symmetry → gap 0.
    // H(v1) = −(¼ ln ¼ + ¾ ln ¾) = 2 ln 2 − 0.75 ln 3.  MIG = (1 + 0)/2 = 0.5.
    const codes = [
      [0, 0],
      [0, 1],
      [1, 0],
      [1, 1],
    ];
    const factors = [
      [0, 0],
      [0, 1],
      [1, 1],
      [1, 1],
    ];
    const i01 = 1.5 * Math.LN2 - 0.75 * Math.log(3);
    for (const discrete of [[0, 1], []]) {
      const r = mutualInformationGap(codes, factors, { discrete, bins: 2 });
      assertClose(r.mi.flat(), [Math.LN2, i01, 0, i01], 1e-14, `mi (discrete ${discrete})`);
      assertClose(r.entropy, [Math.LN2, 2 * Math.LN2 - 0.75 * Math.log(3)], 1e-14, 'entropy');
      assertClose(r.perFactor, [1, 0], 1e-14, 'perFactor');
      assertClose([r.mig], [0.5], 1e-14, 'mig');
    }
  });

  it('matches NumPy + scikit-learn (mutual_info_score) on the fixture to 1e-6', () => {
    for (const c of MIG_CASES) {
      const r = mutualInformationGap(c.codes, c.factors, { discrete: c.discrete, bins: c.bins });
      assertClose(r.mi.flat(), c.mi.flat(), 1e-6, `${c.name}: mi`);
      assertClose(r.entropy, c.entropy, 1e-6, `${c.name}: entropy`);
      assertClose(r.perFactor, c.perFactor, 1e-6, `${c.name}: perFactor`);
      assertClose([r.mig], [c.mig], 1e-6, `${c.name}: mig`);
      // Flat row-major input gives the same.
      const flat = { values: c.codes.flat(), rows: c.codes.length, cols: c.codes[0]!.length };
      assert.equal(mutualInformationGap(flat, c.factors, { discrete: c.discrete, bins: c.bins }).mig, r.mig);
    }
  });

  it('factors = a permutation of the codes give MIG ≈ 1, a 45° rotation of two codes ≈ 0 (N = 10000)', () => {
    const codes = normals(10000, 3, 11);
    const perm = mutualInformationGap(codes, columns(codes, [2, 0, 1]));
    // The only loss is the MI two independent 20-bin columns show at N = 10⁴ (≈ 0.02 nats of ≈ 2.4).
    assert.ok(perm.mig > 0.98 && perm.mig <= 1, `permutation: ${perm.mig}`);
    const two = normals(10000, 2, 12);
    const rot = mutualInformationGap(two, rotated(two));
    assert.ok(rot.mig < 0.03, `rotation: ${rot.mig}`);
  });

  it('bad inputs name the argument', () => {
    const codes = [
      [0, 1],
      [1, 0],
      [2, 2],
    ];
    throwsInput(() => mutualInformationGap([[0], [1]], [[0], [1]]), 'codes', 'at least 2 code columns');
    throwsInput(() => mutualInformationGap(codes, [[0], [1]]), 'factors', '2 rows', '3 rows, one per row of codes');
    throwsInput(() => mutualInformationGap(codes, [[0], [0.5], [1]], { discrete: [0] }), 'factors column 0', '0.5 at row 1', 'whole-number');
    throwsInput(() => mutualInformationGap(codes, [[1, 4], [2, 4], [3, 4]]), 'factors column 1', 'constant', 'a factor that varies');
    throwsInput(() => mutualInformationGap(codes, [[1, 4], [2, 4], [3, 4]], { discrete: [1] }), 'factors column 1', 'a factor that varies');
    throwsInput(() => mutualInformationGap(codes, [[1], [2], [3]], { discrete: [1] }), 'discrete', '[0, 0]');
    throwsInput(() => mutualInformationGap(codes, [[1], [2], [3]], { bins: 1.5 }), 'bins', '1.5');
    throwsInput(() => mutualInformationGap([[0, NaN], [1, 1]], [[0], [1]]), 'codes', 'NaN at row 0, column 1', 'finite');
    throwsInput(() => mutualInformationGap({ values: [1, 2, 3], rows: 2, cols: 2 }, [[0], [1]]), 'codes', 'rows·cols');
    throwsInput(() => mutualInformationGap([[0, 1], [1]], [[0], [1]]), 'codes', 'row 1');
    throwsInput(() => mutualInfo([0, 1], [0, 1, 1]), 'b', '3 labels', '2 labels');
    throwsInput(() => mutualInfo([0, 1.5], [0, 1]), 'a', '1.5 at index 1', 'integer labels');
    throwsInput(() => entropy([]), 'a', 'non-empty');
    throwsInput(() => discretize([1, 2], 0), 'bins', '0');
    throwsInput(() => discretize([1, Infinity]), 'column', 'Infinity at index 1');
  });
});

describe('DCI', () => {
  it('from importances: diagonal → 1, constant → 0, zero → 0, and a worked 2×2 case', () => {
    const diag = dciFromImportance([
      [1, 0, 0],
      [0, 2, 0],
      [0, 0, 3],
    ]);
    assertClose([diag.disentanglement, diag.completeness], [1, 1], 1e-9, 'diagonal');
    const constant = dciFromImportance([
      [0.3, 0.3],
      [0.3, 0.3],
      [0.3, 0.3],
    ]);
    // Rows are uniform over K = 2 (D_j = 0); columns uniform over D = 3 (C_k = 0).
    assertClose([constant.disentanglement, constant.completeness], [0, 0], 1e-12, 'constant');
    const zero = dciFromImportance({ values: [0, 0, 0, 0], rows: 2, cols: 2 });
    assert.deepEqual([zero.disentanglement, zero.completeness], [0, 0]);
    // R = [[2, 0], [1, 1]]: row 0 is pure (D₀ = 1), row 1 uniform (D₁ = 0), ρ = (½, ½) → D = ½.
    // Column 0 is (2, 1)/3: C₀ = 1 − H₂(⅓) = 1 − (log₂3 − ⅔) = 5/3 − log₂3; column 1 pure: C₁ = 1.
    // Factor weights (¾, ¼) → C = ¾(5/3 − log₂3) + ¼ = 1.5 − 0.75·log₂3.
    const worked = dciFromImportance([
      [2, 0],
      [1, 1],
    ]);
    assertClose(worked.perCode, [1, 0], 1e-9, 'perCode');
    assertClose(worked.perFactor, [5 / 3 - Math.log2(3), 1], 1e-9, 'perFactor');
    assertClose([worked.disentanglement, worked.completeness], [0.5, 1.5 - 0.75 * Math.log2(3)], 1e-9, 'worked');
    throwsInput(() => dciFromImportance([[1, -0.5]]), 'importance', '-0.5 at row 0, column 1', 'non-negative');
  });

  it('a permutation of the codes gives D ≈ C ≈ I ≈ 1; a 45° rotation gives D ≈ 0 with I still ≈ 1 (N = 10000)', () => {
    const codes = normals(10000, 3, 21);
    const perm = dci(codes, columns(codes, [1, 2, 0]));
    assert.ok(perm.disentanglement > 0.99, `permutation D ${perm.disentanglement}`);
    assert.ok(perm.completeness > 0.99, `permutation C ${perm.completeness}`);
    assert.ok(perm.informativeness > 0.999, `permutation I ${perm.informativeness}`);
    assertClose([perm.importance[1]![0]!, perm.importance[2]![1]!, perm.importance[0]![2]!], [1, 1, 1], 2e-3, 'importance of the matching codes');
    const two = normals(10000, 2, 22);
    const rot = dci(two, rotated(two));
    assert.ok(rot.disentanglement < 0.01, `rotation D ${rot.disentanglement}`);
    assert.ok(rot.completeness < 0.01, `rotation C ${rot.completeness}`);
    assert.ok(rot.informativeness > 0.999, `rotation I ${rot.informativeness}`);
  });

  it('discrete factors: one-hot ridge, argmax accuracy; same seed, same result', () => {
    const codes = normals(4000, 3, 31);
    const labels = { values: new Float64Array(4000 * 2), rows: 4000, cols: 2 };
    for (let r = 0; r < 4000; r++) {
      labels.values[r * 2] = (codes.values[r * 3 + 1] as number) > 0 ? 5 : -1; // sign of code 1
      labels.values[r * 2 + 1] = codes.values[r * 3 + 2] as number; // code 2, continuous
    }
    const r = dci(codes, labels, { discrete: [0] });
    assert.ok(r.informativenessPerFactor[0]! > 0.97, `accuracy ${r.informativenessPerFactor[0]}`);
    assert.ok(r.importance[1]![0]! > 10 * Math.max(r.importance[0]![0]!, r.importance[2]![0]!), `importance ${JSON.stringify(r.importance)}`);
    assert.ok(r.disentanglement > 0.95 && r.completeness > 0.95, `D ${r.disentanglement}, C ${r.completeness}`);
    assert.deepEqual(dci(codes, labels, { discrete: [0] }), r);
    assert.notDeepEqual(dci(codes, labels, { discrete: [0], seed: 1 }).informativenessPerFactor, r.informativenessPerFactor);
  });

  it('bad inputs name the argument', () => {
    const codes = normals(20, 2, 41);
    const f = normals(20, 1, 42);
    throwsInput(() => dci(codes, normals(19, 1, 1)), 'factors', '19 rows', '20 rows');
    throwsInput(() => dci(codes, f, { trainFraction: 1 }), 'trainFraction', '1');
    throwsInput(() => dci(codes, f, { trainFraction: 0.01 }), 'trainFraction', '≥ 2 train rows');
    throwsInput(() => dci(codes, f, { ridge: -1 }), 'ridge', '-1');
    throwsInput(() => dci(codes, f, { discrete: [0] }), 'factors column 0', 'whole-number');
    throwsInput(() => dci(codes, { values: new Float64Array(20).fill(3), rows: 20, cols: 1 }), 'factors column 0', 'a factor that varies');
    throwsInput(() => dci(codes, { values: new Float64Array(20).fill(3), rows: 20, cols: 1 }, { discrete: [0] }), 'factors column 0', 'a factor that varies');
    const constantCode = { values: Float64Array.from({ length: 40 }, (_, i) => (i % 2 === 0 ? 1 : i)), rows: 20, cols: 2 };
    throwsInput(() => dci(constantCode, f, { ridge: 0 }), 'ridge', 'collinear or constant');
    // A constant code with a positive ridge is fine: it gets importance 0.
    assert.equal(dci(constantCode, f).importance[0]![0], 0);
  });
});

describe('the Hessian Penalty paper measures', () => {
  before(async () => {
    await initEngine();
  });

  /** Calls fn and checks that it leaves no tensor behind. */
  function flat<T>(fn: () => T): T {
    const before = tf.memory().numTensors;
    const out = fn();
    assert.equal(tf.memory().numTensors, before, 'tensors leaked');
    return out;
  }

  it('diagonal-ness: a separable generator is fully diagonal, z₀·z₁ patterns are not', () => {
    const z = tf.tensor2d(Float32Array.from(normals(6, 3, 51).values), [6, 3]);
    const patterns = tf.tensor2d(Float32Array.from({ length: 3 * 8 }, (_, i) => 0.5 + ((i * 7) % 11) / 11), [3, 8]);
    // G = Σ_i p_i·(z_i² + sin z_i): H = diag((2 − sin z_i)·p_i) per pixel.
    const separable: LatentGenerator = (x) => tf.reshape(tf.matMul(tf.add(tf.square(x), tf.sin(x)), patterns), [-1, 2, 4, 1]);
    const s = flat(() => hessianDiagonalness(separable, z));
    assert.equal(s.fractionDiagonal, 1);
    assert.equal(s.pixels, 6 * 8);
    assert.ok(s.relativeDiagonalStrength > 100, `strength ${s.relativeDiagonalStrength}`);
    // G = p·z₀·z₁: H = [[0, p], [p, 0]] (z₂ unused): the largest entry is off the diagonal.
    const pattern = tf.slice(patterns, [0, 0], [1, 8]);
    const product: LatentGenerator = (x) => tf.matMul(tf.mul(tf.slice(x, [0, 0], [-1, 1]), tf.slice(x, [0, 1], [-1, 1])), pattern);
    const p = flat(() => hessianDiagonalness(product, z));
    assert.ok(p.fractionDiagonal < 0.5, `z₀z₁ fraction ${p.fractionDiagonal}`);
    assert.ok(p.relativeDiagonalStrength < 0.01, `z₀z₁ strength ${p.relativeDiagonalStrength}`);
    tf.dispose([z, patterns, pattern]);
  });

  it('diagonal-ness of quadratic forms against the closed form H = 2A; all-zero pixels count as diagonal unless minMagnitude', () => {
    // Pixel 0: A = [[1, .2], [.2, 1]] (diagonal wins; mean|diag| / mean|off| = 2 / 0.4 = 5);
    // pixel 1: A = [[.1, 1], [1, .1]] (off-diagonal wins; 0.2 / 2 = 0.1); pixel 2: 0 (H = 0).
    const quad = (x: tf.Tensor2D, a: number, b: number) => {
      const [z0, z1] = tf.split(x, 2, 1) as [tf.Tensor2D, tf.Tensor2D];
      return tf.add(tf.mul(a, tf.add(tf.square(z0), tf.square(z1))), tf.mul(2 * b, tf.mul(z0, z1)));
    };
    const G: LatentGenerator = (x) => tf.concat([quad(x, 1, 0.2), quad(x, 0.1, 1), tf.zerosLike(tf.slice(x, [0, 0], [-1, 1]))], 1);
    const z = tf.tensor2d(Float32Array.from(normals(5, 2, 61).values), [5, 2]);
    const all = flat(() => hessianDiagonalness(G, z));
    assert.equal(all.pixels, 15);
    assertClose([all.fractionDiagonal], [2 / 3], 1e-12, 'fraction, zero pixel counted (argmax → (0, 0))');
    assertClose([all.relativeDiagonalStrength], [(5 + 0.1 + 0) / 3], 1e-3, 'strength');
    const skip = flat(() => hessianDiagonalness(G, z, { minMagnitude: 1e-3, batchSize: 4 }));
    assert.equal(skip.pixels, 10);
    assertClose([skip.fractionDiagonal, skip.relativeDiagonalStrength], [0.5, 2.55], 1e-3, 'skipping the zero pixel');
    z.dispose();
  });

  it('activeness: 4·mean(w_i²) for a linear G, 0 for a coordinate G ignores', () => {
    const w = Float32Array.from([0.5, -1, 2, 0.25, 0, 0, 0, 0, 1, 1, -1, 3]); // rows: coordinates 0, 1 (ignored), 2
    const weights = tf.tensor2d(w, [3, 4]);
    const linear: LatentGenerator = (x) => tf.matMul(x, weights);
    const scores = flat(() => activeness(linear, { latentDim: 3, samples: 7, batchSize: 5 }));
    // Unbiased variance of {−2w, 0, 2w} is 4w².
    const expected = [0, 1, 2].map((i) => (4 * Array.from(w.subarray(4 * i, 4 * i + 4)).reduce((s, v) => s + v * v, 0)) / 4);
    assertClose(scores, expected, 1e-5, 'linear');
    const bent: LatentGenerator = (x) => tf.tanh(tf.matMul(x, weights));
    const b = flat(() => activeness(bent, { latentDim: 3, samples: 20 }));
    assert.equal(b[1], 0);
    assert.ok(b[0]! > 0.01 && b[2]! > 0.01, `scores ${b}`);
    weights.dispose();
  });

  it('PPL: identity G and features give the squared angle between z₀ and z₁; scale-invariant; 0 for a constant G', () => {
    const d = 8;
    const identity: LatentGenerator = (x) => tf.reshape(x, [-1, 2, 4, 1]);
    const features = (images: tf.Tensor) => tf.reshape(images, [images.shape[0]!, -1]) as tf.Tensor2D;
    const r = flat(() => perceptualPathLength(identity, features, { latentDim: d, samples: 50, batchSize: 16, seed: 3 }));
    // The unit feature moves along a great circle at speed Ω = ∠(z₀, z₁): distance/ε² → Ω². Same draws as the library's.
    const rng = createRng(3);
    const expected = Array.from({ length: 50 }, () => {
      const z0 = Array.from({ length: d }, () => rng.normal());
      const z1 = Array.from({ length: d }, () => rng.normal());
      const dot = z0.reduce((s, v, i) => s + v * z1[i]!, 0);
      const norm = (v: number[]) => Math.sqrt(v.reduce((s, x) => s + x * x, 0));
      return Math.acos(dot / (norm(z0) * norm(z1))) ** 2;
    });
    assertClose(r.distances, expected, 2e-2, 'distances');
    const sorted = [...expected].sort((a, b) => a - b);
    const kept = expected.filter((v) => v >= sorted[0]! && v <= sorted[49]!); // 1st/99th percentile of 50: the extremes
    assertClose([r.ppl], [kept.reduce((s, v) => s + v, 0) / kept.length], 2e-2, 'ppl');
    const scaled = flat(() => perceptualPathLength((x) => tf.mul(3, identity(x)), features, { latentDim: d, samples: 50, seed: 3 }));
    assertClose([scaled.ppl], [r.ppl], 2e-2, 'scaled G');
    const full = flat(() => perceptualPathLength(identity, features, { latentDim: d, samples: 50, seed: 3, sampling: 'full' }));
    // Constant angular speed: t does not matter for this G (the draws of t come after z₀, z₁, so later samples differ).
    assertClose([full.distances[0]!], [expected[0]!], 2e-2, "'full' sampling, first sample");
    const constant = flat(() => perceptualPathLength((x) => tf.add(tf.zeros([x.shape[0], 4]), tf.tensor1d([1, 2, 3, 4])), features, { latentDim: d, samples: 20 }));
    assert.equal(constant.ppl, 0);
  });

  it('bad inputs name the argument (and leave no tensor behind)', () => {
    const before = tf.memory().numTensors;
    const z = tf.tensor2d([0, 1, 2, 3], [2, 2]);
    const G: LatentGenerator = (x) => tf.square(x);
    throwsInput(() => hessianDiagonalness('nope' as unknown as LatentGenerator, z), 'G', 'a function');
    throwsInput(() => hessianDiagonalness((() => 5) as unknown as LatentGenerator, z), 'G', 'returning a tensor');
    throwsInput(() => hessianDiagonalness((x) => tf.reshape(x, [-1]), z), 'G', 'first dimension is the batch');
    const vector = tf.tensor1d([1, 2]);
    const narrow = tf.tensor2d([1, 2], [2, 1]);
    throwsInput(() => hessianDiagonalness(G, vector as unknown as tf.Tensor2D), 'z', '2-D tensor');
    throwsInput(() => hessianDiagonalness(G, narrow), 'z', 'D ≥ 2');
    throwsInput(() => hessianDiagonalness(G, z, { epsilon: 0 }), 'epsilon');
    throwsInput(() => hessianDiagonalness(G, z, { minMagnitude: -1 }), 'minMagnitude');
    throwsInput(() => activeness(G, {} as unknown as { latentDim: number }), 'latentDim', 'undefined');
    throwsInput(() => activeness(G, { latentDim: 2, values: [1] }), 'values', 'at least 2');
    throwsInput(() => activeness((() => null) as unknown as LatentGenerator, { latentDim: 2, samples: 1 }), 'G', 'returning a tensor');
    const features = (images: tf.Tensor) => images as tf.Tensor2D;
    throwsInput(() => perceptualPathLength(G, 'x' as unknown as typeof features, { latentDim: 2 }), 'features', 'a function');
    throwsInput(() => perceptualPathLength(G, (x) => tf.reshape(x, [-1]) as unknown as tf.Tensor2D, { latentDim: 2, samples: 2 }), 'features', '2-D tensor [4, F]');
    throwsInput(() => perceptualPathLength(G, features, { latentDim: 2, sampling: 'mid' as 'end' }), 'sampling', "'full' or 'end'");
    throwsInput(() => perceptualPathLength(G, features, { latentDim: 2, epsilon: 0 }), 'epsilon');
    tf.dispose([z, vector, narrow]);
    assert.equal(tf.memory().numTensors, before, 'tensors leaked on the error paths');
  });
});
