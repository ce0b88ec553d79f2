import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { floodFillBetti, generateMasks, loadMaskFolder, MASK_KINDS, writeImageFolder } from '../../src/data/index.js';
import { maskBettiNumbers } from '../../src/topology/index.js';
import { throwsInput } from '../helpers.js';

describe('topological mask generators', () => {
  for (const kind of MASK_KINDS) {
    it(`${kind}: binary 64×64 masks whose recorded Betti numbers equal maskBettiNumbers`, () => {
      const ds = generateMasks({ kind, count: 40, seed: 3 });
      assert.deepEqual(ds.shape, [64, 64, 1]);
      assert.equal(ds.images.length, 40 * 64 * 64);
      assert.ok(ds.images.every((v) => v === 0 || v === 1));
      const b0 = new Set<number>();
      const b1 = new Set<number>();
      for (let i = 0; i < 40; i++) {
        const mask = ds.images.subarray(i * 4096, (i + 1) * 4096);
        assert.deepEqual([ds.betti[2 * i], ds.betti[2 * i + 1]], maskBettiNumbers(mask, [64, 64]), `${kind} mask ${i}`);
        b0.add(ds.betti[2 * i] as number);
        b1.add(ds.betti[2 * i + 1] as number);
      }
      // The sets have topology to learn: Betti numbers vary from mask to mask.
      assert.ok(b0.size >= 2 || b1.size >= 2, `${kind}: β₀ ${[...b0]}, β₁ ${[...b1]}`);
      if (kind !== 'vessels') assert.ok(Math.max(...b1) >= 2, `${kind} encloses cells or blocks`);
    });
  }

  it('seeded: image i depends on (seed, i) only; other sizes; bad options name the argument', () => {
    const a = generateMasks({ kind: 'roads', count: 5, seed: 9 });
    const b = generateMasks({ kind: 'roads', count: 8, seed: 9 });
    assert.deepEqual(a.images, b.images.subarray(0, a.images.length));
    assert.notDeepEqual(a.images, generateMasks({ kind: 'roads', count: 5, seed: 10 }).images);
    const small = generateMasks({ kind: 'membranes', count: 3, size: 32 });
    assert.deepEqual(small.shape, [32, 32, 1]);
    throwsInput(() => generateMasks({ kind: 'cells' as 'roads' }), 'kind', 'membranes, vessels, roads');
    throwsInput(() => generateMasks({ count: 0 }), 'count', 'integer ≥ 1');
    throwsInput(() => generateMasks({ size: 8 }), 'size', '[16, 512]');
  });

  it('flood fill counts a ring, two blobs and a hole touching the border', () => {
    // 0: a ring (β₀ 1, β₁ 1); 1: a U open to the border (no hole); diagonal pixels are one 8-connected component.
    const ring = [0, 0, 0, 0, 0, 0, 1, 1, 1, 0, 0, 1, 0, 1, 0, 0, 1, 1, 1, 0, 0, 0, 0, 0, 0];
    assert.deepEqual(floodFillBetti(ring, 5, 5), [1, 1]);
    const u = [1, 0, 1, 1, 0, 1, 1, 1, 1];
    assert.deepEqual(floodFillBetti(u, 3, 3), [1, 0]);
    assert.deepEqual(floodFillBetti([1, 0, 0, 1], 2, 2), [1, 0]);
    assert.deepEqual(floodFillBetti([1, 0, 1, 0, 0, 0, 1, 0, 1], 3, 3), [4, 0]);
  });

  it('a folder of mask PNGs is read back, binarised at the threshold (or inverted), with its Betti numbers', () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'eccvkit-masks-'));
    try {
      const ds = generateMasks({ kind: 'membranes', count: 4, seed: 5 });
      writeImageFolder(ds, root);
      const back = loadMaskFolder(root);
      assert.deepEqual(back.images, ds.images);
      assert.deepEqual(back.betti, ds.betti);
      assert.equal(back.files.length, 4);
      const inverted = loadMaskFolder(root, { threshold: 0.3, invert: true });
      assert.ok(inverted.images.every((v, i) => v === 1 - (ds.images[i] as number)));
      const resized = loadMaskFolder(root, { size: 32 });
      assert.deepEqual(resized.shape, [32, 32, 1]);
      throwsInput(() => loadMaskFolder(root, { threshold: 2 }), 'threshold', '[0, 1]');
      throwsInput(() => loadMaskFolder(path.join(root, 'nope')), 'mask folder', 'existing folder');
      const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'eccvkit-masks-empty-'));
      throwsInput(() => loadMaskFolder(empty), 'mask folder', 'found none');
      fs.rmSync(empty, { recursive: true });
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });
});
