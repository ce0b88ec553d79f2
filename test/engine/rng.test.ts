import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createRng, EccvkitInputError, initEngine } from '../../src/index.js';

describe('createRng', () => {
  it('gives the same stream for the same seed and different streams otherwise', () => {
    const a = createRng(42);
    const b = createRng(42);
    const c = createRng(43);
    const xa = Array.from({ length: 100 }, () => a.nextUint32());
    const xb = Array.from({ length: 100 }, () => b.nextUint32());
    const xc = Array.from({ length: 100 }, () => c.nextUint32());
    assert.deepEqual(xa, xb);
    assert.notDeepEqual(xa, xc);
    assert.equal(new Set(xa).size, 100);
  });

  it('draws uniform floats in [0, 1) with the right mean and variance', () => {
    const r = createRng(1);
    const n = 200_000;
    let sum = 0;
    let sq = 0;
    for (let i = 0; i < n; i++) {
      const u = r.next();
      assert.ok(u >= 0 && u < 1);
      sum += u;
      sq += u * u;
    }
    const mean = sum / n;
    const variance = sq / n - mean * mean;
    // Standard errors: 0.289/√n ≈ 6.5e-4 for the mean; 0.075/√n ≈ 1.7e-4 for the variance.
    assert.ok(Math.abs(mean - 0.5) < 4e-3, `mean ${mean}`);
    assert.ok(Math.abs(variance - 1 / 12) < 1e-3, `variance ${variance}`);
  });

  it('draws unbiased integers (chi-square over 7 bins)', () => {
    const r = createRng(2);
    const counts = new Array<number>(7).fill(0);
    const n = 70_000;
    for (let i = 0; i < n; i++) counts[r.int(7)]! += 1;
    const e = n / 7;
    const chi2 = counts.reduce((s, c) => s + ((c - e) * (c - e)) / e, 0);
    // 6 degrees of freedom: P(χ² > 22.46) = 0.001.
    assert.ok(chi2 < 22.46, `chi-square ${chi2} for counts ${counts}`);
  });

  it('draws standard normals with mean 0 and variance 1', () => {
    const r = createRng(3);
    const n = 100_000;
    let sum = 0;
    let sq = 0;
    for (let i = 0; i < n; i++) {
      const z = r.normal();
      sum += z;
      sq += z * z;
    }
    assert.ok(Math.abs(sum / n) < 0.015);
    assert.ok(Math.abs(sq / n - 1) < 0.02);
  });

  it('permutes, samples without replacement and forks independent streams', () => {
    const r = createRng(4);
    const p = Array.from(r.permutation(50)).sort((a, b) => a - b);
    assert.deepEqual(p, Array.from({ length: 50 }, (_, i) => i));
    const s = r.sample(1_000_000, 500);
    assert.equal(new Set(s).size, 500);
    assert.ok(s.every((v) => Number.isInteger(v) && v >= 0 && v < 1_000_000));
    const child = createRng(5).fork();
    const sibling = createRng(5).fork();
    assert.equal(child.nextUint32(), sibling.nextUint32());
    assert.ok(Number.isInteger(r.seedInt()) && r.seedInt() < 2 ** 31);
  });

  it('rejects seeds that are not finite numbers', () => {
    assert.throws(() => createRng(Number.NaN), EccvkitInputError);
    assert.throws(() => createRng(Infinity), /seed: got Infinity, expected a finite number/);
    assert.throws(() => createRng(1).int(0), /n: got 0/);
  });
});

describe('initEngine', () => {
  it('rejects an unknown ECCVKIT_BACKEND with the variable, the value and the choices', async () => {
    const saved = process.env.ECCVKIT_BACKEND;
    process.env.ECCVKIT_BACKEND = 'gpu';
    try {
      await assert.rejects(initEngine(), /ECCVKIT_BACKEND: got "gpu", expected one of tensorflow, native, wasm, cpu/);
    } finally {
      if (saved === undefined) delete process.env.ECCVKIT_BACKEND;
      else process.env.ECCVKIT_BACKEND = saved;
    }
  });

  it('honours ECCVKIT_BACKEND and reports what it patched', async () => {
    process.env.ECCVKIT_BACKEND = 'cpu';
    try {
      const info = await initEngine();
      assert.equal(info.backend, 'cpu');
      assert.deepEqual(info.patchedKernels, []);
      assert.ok(info.patchedGradients.includes('MaxPoolGrad'));
    } finally {
      delete process.env.ECCVKIT_BACKEND;
    }
    const wasm = await initEngine({ backend: 'wasm' });
    assert.equal(wasm.backend, 'wasm');
    assert.ok(wasm.patchedKernels.includes('Conv2DBackpropFilter'));
    assert.equal(wasm.wasm?.threads, 1);
  });
});
