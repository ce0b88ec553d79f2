import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { generateMasks, renderMicrograph } from '../../src/data/index.js';
import { throwsInput } from '../helpers.js';

describe('renderMicrograph', () => {
  const ds = generateMasks({ kind: 'membranes', count: 6, seed: 2 });

  it('is seeded: same seed same images, another seed others, image i depends on (seed, i) only', () => {
    const a = renderMicrograph(ds, { seed: 4 });
    assert.deepEqual(a, renderMicrograph(ds.images, { seed: 4, height: 64, width: 64 }));
    assert.notDeepEqual(a, renderMicrograph(ds, { seed: 5 }));
    const prefix = renderMicrograph(ds.images.subarray(0, 2 * 4096), { seed: 4, height: 64 });
    assert.deepEqual(prefix, a.subarray(0, 2 * 4096));
  });

  it('membrane pixels are darker than interiors in every image; values in [0, 1]', () => {
    const img = renderMicrograph(ds, { seed: 1 });
    assert.equal(img.length, ds.images.length);
    assert.ok(img.every((v) => v >= 0 && v <= 1));
    for (let i = 0; i < 6; i++) {
      let mem = 0, nm = 0, inn = 0, ni = 0;
      for (let k = i * 4096; k < (i + 1) * 4096; k++) {
        if (ds.images[k] === 1) {
          mem += img[k] as number;
          nm++;
        } else {
          inn += img[k] as number;
          ni++;
        }
      }
      assert.ok(mem / nm < inn / ni - 0.2, `image ${i}: membrane ${mem / nm}, interior ${inn / ni}`);
    }
    // Without blur, texture, jitter or noise the levels come out exactly.
    const flat = renderMicrograph([0, 1, 1, 0], { height: 2, blur: 0, texture: 0, levelJitter: 0, noise: 0 });
    assert.deepEqual(Array.from(flat), [0.7, 0.25, 0.25, 0.7].map(Math.fround));
    // Heavy noise is clamped, not wrapped.
    const noisy = renderMicrograph(ds, { noise: 2 });
    assert.ok(noisy.every((v) => v >= 0 && v <= 1) && noisy.some((v) => v === 0) && noisy.some((v) => v === 1));
  });

  it('bad input names the option', () => {
    throwsInput(() => renderMicrograph(new Float32Array(10), { height: 3 }), 'masks', 'multiple of 3×3');
    throwsInput(() => renderMicrograph(new Float32Array(16)), 'height', 'integer ≥ 1');
    throwsInput(() => renderMicrograph([0, 2, 0, 0], { height: 2 }), 'masks[1]', '[0, 1]');
    throwsInput(() => renderMicrograph(ds, { membrane: 1.5 }), 'membrane', '[0, 1]');
    throwsInput(() => renderMicrograph(ds, { blur: -1 }), 'blur', '≥ 0');
    throwsInput(() => renderMicrograph(ds, { textureScale: 0 }), 'textureScale', '≥ 1');
  });
});
