import assert from 'node:assert/strict';
import { test } from 'node:test';
import { generateGlyphs } from '../../src/data/index.js';
import { throwsInput } from '../helpers.js';

test('glyphs: shape, labels class-major, pixels in [0, 1], every image inked', () => {
  const ds = generateGlyphs({ classes: 7, perClass: 3, seed: 5, size: 20 });
  assert.deepEqual(ds.shape, [20, 20, 1]);
  assert.equal(ds.numClasses, 7);
  assert.equal(ds.labels.length, 21);
  assert.deepEqual(Array.from(ds.labels.slice(0, 7)), [0, 0, 0, 1, 1, 1, 2]);
  for (let i = 0; i < 21; i++) {
    const img = ds.images.subarray(i * 400, (i + 1) * 400);
    assert.ok(img.every((v) => v >= 0 && v <= 1));
    assert.ok(img.reduce((a, b) => a + b, 0) > 5, `image ${i} has almost no ink`);
  }
});

test('glyphs: same seed same pixels; more samples per class extend the classes; another seed differs', () => {
  const a = generateGlyphs({ classes: 4, perClass: 2, seed: 1 });
  const b = generateGlyphs({ classes: 4, perClass: 2, seed: 1 });
  assert.deepEqual(a.images, b.images);
  const more = generateGlyphs({ classes: 4, perClass: 3, seed: 1 });
  // Sample 0 and 1 of class 2 are the same in both.
  assert.deepEqual(more.images.subarray(2 * 3 * 784, (2 * 3 + 2) * 784), a.images.subarray(2 * 2 * 784, (2 * 2 + 2) * 784));
  const c = generateGlyphs({ classes: 4, perClass: 2, seed: 2 });
  assert.notDeepEqual(a.images, c.images);
});

test('glyphs: within-class images are closer than between-class ones on average', () => {
  const ds = generateGlyphs({ classes: 6, perClass: 6, seed: 3 });
  const d = (i: number, j: number) => {
    let s = 0;
    for (let k = 0; k < 784; k++) s += ((ds.images[i * 784 + k] as number) - (ds.images[j * 784 + k] as number)) ** 2;
    return s;
  };
  let within = 0, nw = 0, between = 0, nb = 0;
  for (let i = 0; i < 36; i++) for (let j = i + 1; j < 36; j++) {
    if (ds.labels[i] === ds.labels[j]) { within += d(i, j); nw++; } else { between += d(i, j); nb++; }
  }
  assert.ok(within / nw < 0.8 * (between / nb), `within ${within / nw} vs between ${between / nb}`);
});

test('glyphs: bad options name the argument', () => {
  throwsInput(() => generateGlyphs({ classes: 0, seed: 1 }), 'classes', 'positive integer');
  throwsInput(() => generateGlyphs({ perClass: 1.5, seed: 1 }), 'perClass');
  throwsInput(() => generateGlyphs({ seed: Number.NaN }), 'seed');
});
