import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SHAPES_VARIANTS, generateShapes, renderShapes, shapesFactorSpec, type ShapesDataset } from '../../src/data/index.js';
import { throwsInput } from '../helpers.js';

/** Intensity moments of one image (channels summed), optionally restricted to columns [c0, c1). */
function moments(img: Float32Array, size: number, channels: number, c0 = 0, c1 = size) {
  let m = 0, sx = 0, sy = 0;
  for (let r = 0; r < size; r++) for (let c = c0; c < c1; c++) {
    let v = 0;
    for (let ch = 0; ch < channels; ch++) v += img[(r * size + c) * channels + ch] as number;
    m += v;
    sx += v * (c + 0.5);
    sy += v * (r + 0.5);
  }
  const cx = sx / m, cy = sy / m;
  let xx = 0, yy = 0, xy = 0;
  for (let r = 0; r < size; r++) for (let c = c0; c < c1; c++) {
    let v = 0;
    for (let ch = 0; ch < channels; ch++) v += img[(r * size + c) * channels + ch] as number;
    xx += v * (c + 0.5 - cx) ** 2;
    yy += v * (r + 0.5 - cy) ** 2;
    xy += v * (c + 0.5 - cx) * (r + 0.5 - cy);
  }
  return { mass: m, cx, cy, xx: xx / m, yy: yy / m, xy: xy / m };
}

const imageOf = (ds: ShapesDataset, i: number) => {
  const per = ds.shape[0] * ds.shape[1] * ds.shape[2];
  return ds.images.subarray(i * per, (i + 1) * per);
};
const factor = (ds: ShapesDataset, i: number, name: string) => ds.factors[i * ds.numFactors + ds.factorNames.indexOf(name)] as number;

function pearson(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const n = a.length;
  let ma = 0, mb = 0;
  for (let i = 0; i < n; i++) { ma += a[i] as number; mb += b[i] as number; }
  ma /= n; mb /= n;
  let sab = 0, saa = 0, sbb = 0;
  for (let i = 0; i < n; i++) {
    const da = (a[i] as number) - ma, db = (b[i] as number) - mb;
    sab += da * db; saa += da * da; sbb += db * db;
  }
  return sab / Math.sqrt(saa * sbb);
}

test('shapes: every variant has its documented columns, values in [0, 1], factors in range, objects never cut off', () => {
  const names = {
    shapes: ['shape', 'scale', 'rotation', 'x', 'y', 'brightness'],
    shapes2: ['shape_1', 'scale_1', 'rotation_1', 'x_1', 'y_1', 'brightness_1', 'shape_2', 'scale_2', 'rotation_2', 'x_2', 'y_2', 'brightness_2'],
    shapes1: ['x'],
  };
  for (const variant of SHAPES_VARIANTS) for (const channels of [1, 3] as const) {
    const ds = generateShapes({ variant, count: 300, seed: 4, channels });
    const expected = names[variant].map((n) => (channels === 3 ? n.replace('brightness', 'hue') : n));
    assert.deepEqual(ds.factorNames, expected, `${variant}/${channels}`);
    assert.equal(ds.numFactors, expected.length);
    assert.equal(ds.variant, variant);
    assert.deepEqual(ds.shape, [32, 32, channels]);
    assert.equal(ds.factors.length, 300 * ds.numFactors);
    assert.deepEqual(shapesFactorSpec({ variant, channels }), { factorNames: ds.factorNames, factorDiscrete: ds.factorDiscrete, factorRanges: ds.factorRanges, numFactors: ds.numFactors });
    assert.equal(ds.numClasses, variant === 'shapes1' ? 1 : 3);
    assert.equal(ds.classNames.length, ds.numClasses);
    assert.ok(ds.images.every((v) => v >= 0 && v <= 1), 'pixels in [0, 1]');
    for (let i = 0; i < 300; i++) {
      for (let j = 0; j < ds.numFactors; j++) {
        const v = ds.factors[i * ds.numFactors + j] as number;
        const [lo, hi] = ds.factorRanges[j] as [number, number];
        assert.ok(v >= lo && v <= hi, `${ds.factorNames[j]} = ${v} outside [${lo}, ${hi}]`);
        if (ds.factorDiscrete[j]) assert.ok(Number.isInteger(v), `${ds.factorNames[j]} = ${v} not an integer`);
      }
      assert.equal(ds.labels[i], variant === 'shapes1' ? 0 : ds.factors[i * ds.numFactors]);
      // The one-pixel border stays black: the largest object fits with room to spare.
      const img = imageOf(ds, i);
      for (let t = 0; t < 32; t++) for (let ch = 0; ch < channels; ch++) {
        for (const [r, c] of [[0, t], [31, t], [t, 0], [t, 31]] as const) assert.equal(img[(r * 32 + c) * channels + ch], 0, `${variant} image ${i} touches the frame at (${r}, ${c})`);
      }
      assert.ok(moments(img, 32, channels).mass > 4, `${variant} image ${i} is nearly empty`);
    }
  }
  assert.deepEqual(shapesFactorSpec().factorRanges, [[0, 2], [0.5, 1], [-30, 30], [9, 23], [9, 23], [0.4, 1]]);
  const hueRange = shapesFactorSpec({ channels: 3 }).factorRanges[5];
  assert.deepEqual(hueRange, [0, 0.8]);
});

test('shapes: same seed same bytes; a larger count extends a smaller one; another seed differs', () => {
  for (const variant of SHAPES_VARIANTS) {
    const a = generateShapes({ variant, count: 40, seed: 7, channels: 3 });
    const b = generateShapes({ variant, count: 40, seed: 7, channels: 3 });
    assert.deepEqual(a.images, b.images);
    assert.deepEqual(a.factors, b.factors);
    const more = generateShapes({ variant, count: 65, seed: 7, channels: 3 });
    assert.deepEqual(more.images.subarray(0, a.images.length), a.images);
    assert.deepEqual(more.factors.subarray(0, a.factors.length), a.factors);
    const other = generateShapes({ variant, count: 40, seed: 8, channels: 3 });
    assert.notDeepEqual(other.factors, a.factors);
    assert.notDeepEqual(other.images, a.images);
  }
  assert.equal(generateShapes({ count: 3 }).name, generateShapes({ count: 3, seed: 0 }).name);
  assert.deepEqual(generateShapes({ count: 3 }).images, generateShapes({ count: 3, seed: 0, variant: 'shapes', channels: 1, size: 32 }).images);
});

test('shapes: renderShapes reproduces the generated images from their factors, flat or as rows', () => {
  for (const variant of SHAPES_VARIANTS) for (const channels of [1, 3] as const) {
    const ds = generateShapes({ variant, count: 20, seed: 2, channels, size: 24 });
    assert.deepEqual(renderShapes(ds.factors, { variant, channels, size: 24 }), ds.images);
    const rows = Array.from({ length: 20 }, (_, i) => Array.from(ds.factors.subarray(i * ds.numFactors, (i + 1) * ds.numFactors)));
    assert.deepEqual(renderShapes(rows, { variant, channels, size: 24 }), ds.images);
  }
});

test('shapes: factor columns are uncorrelated (|r| < 0.05 over 5000 draws) and shapes uniform', () => {
  for (const [variant, channels] of [['shapes', 1], ['shapes2', 3]] as const) {
    const ds = generateShapes({ variant, count: 5000, seed: 11, channels, size: 16 });
    const k = ds.numFactors;
    const col = (j: number) => Float64Array.from({ length: 5000 }, (_, i) => ds.factors[i * k + j] as number);
    const cols = Array.from({ length: k }, (_, j) => col(j));
    for (let a = 0; a < k; a++) for (let b = a + 1; b < k; b++) {
      const r = pearson(cols[a] as Float64Array, cols[b] as Float64Array);
      assert.ok(Math.abs(r) < 0.05, `${variant}: r(${ds.factorNames[a]}, ${ds.factorNames[b]}) = ${r}`);
    }
    for (let j = 0; j < k; j++) {
      if (!ds.factorDiscrete[j]) continue;
      const counts = [0, 0, 0];
      for (const v of cols[j] as Float64Array) counts[v] = (counts[v] as number) + 1;
      for (const c of counts) assert.ok(Math.abs(c / 5000 - 1 / 3) < 0.03, `${ds.factorNames[j]} counts ${counts}`);
    }
  }
});

test('shapes: the intensity centroid sits within 0.5 px of (x, y); the border of the range stays inside', () => {
  const ds = generateShapes({ count: 400, seed: 3 });
  let worst = 0;
  for (let i = 0; i < 400; i++) {
    const m = moments(imageOf(ds, i), 32, 1);
    worst = Math.max(worst, Math.hypot(m.cx - factor(ds, i, 'x'), m.cy - factor(ds, i, 'y')));
  }
  assert.ok(worst < 0.5, `worst centroid error ${worst} px`);
  // The extreme corners of the centre range, largest scale, every kind and rotation extreme: still no ink on the border.
  const rows: number[][] = [];
  for (const shape of [0, 1, 2]) for (const rot of [-30, 30]) for (const x of [9, 23]) for (const y of [9, 23]) rows.push([shape, 1, rot, x, y, 1]);
  const imgs = renderShapes(rows);
  for (let i = 0; i < rows.length; i++) {
    const img = imgs.subarray(i * 1024, (i + 1) * 1024);
    for (let t = 0; t < 32; t++) for (const p of [t, 31 * 32 + t, t * 32, t * 32 + 31]) assert.equal(img[p], 0, `row ${rows[i]} inks the border`);
  }
});

test('shapes: area grows with scale² and matches each kind\'s area; intensity is coverage × brightness', () => {
  const r = 8; // the largest circumradius at size 32
  const areas = [2, (3 * Math.sqrt(3)) / 4, Math.PI / 2]; // square, triangle, ellipse at circumradius 1
  for (const shape of [0, 1, 2]) for (const rot of [-17, 0, 23]) {
    const [big, small, dim] = [0, 1, 2].map((q) => renderShapes([[shape, q === 1 ? 0.5 : 1, rot, 15.3, 16.6, q === 2 ? 0.4 : 1]]));
    const mb = moments(big as Float32Array, 32, 1).mass;
    const ms = moments(small as Float32Array, 32, 1).mass;
    assert.ok(Math.abs(mb / ms / 4 - 1) < 0.08, `shape ${shape} rot ${rot}: area ratio ${mb / ms}`);
    assert.ok(Math.abs(mb / (areas[shape] as number) / r ** 2 - 1) < 0.02, `shape ${shape}: area ${mb} vs ${(areas[shape] as number) * r * r}`);
    for (let p = 0; p < 1024; p++) assert.ok(Math.abs((dim as Float32Array)[p] as number - 0.4 * ((big as Float32Array)[p] as number)) < 1e-6, 'dim = 0.4 × bright');
  }
  // In generated images: mean intensity over fully covered pixels equals brightness, and partial coverage never exceeds it.
  const ds = generateShapes({ count: 300, seed: 9 });
  for (let i = 0; i < 300; i++) {
    const b = factor(ds, i, 'brightness');
    const img = imageOf(ds, i);
    let max = 0;
    for (const v of img) max = Math.max(max, v);
    assert.ok(Math.abs(max - b) < 1e-6, `image ${i}: max ${max} vs brightness ${b}`);
    const m = moments(img, 32, 1);
    const s = factor(ds, i, 'scale');
    const area = (areas[ds.labels[i] as number] as number) * (s * r) ** 2;
    assert.ok(Math.abs(m.mass / (b * area) - 1) < 0.05, `image ${i}: mass ${m.mass} vs brightness × area ${b * area}`);
  }
});

test('shapes: an ellipse\'s principal axis angle matches its rotation; rotation is visible for every kind', () => {
  const ds = generateShapes({ count: 600, seed: 5 });
  let worst = 0, n = 0;
  for (let i = 0; i < 600; i++) {
    if (ds.labels[i] !== 2) continue;
    n++;
    const m = moments(imageOf(ds, i), 32, 1);
    // Screen y points down, rotation is counter-clockwise on screen: hence the minus sign.
    const angle = (-0.5 * Math.atan2(2 * m.xy, m.xx - m.yy) * 180) / Math.PI;
    worst = Math.max(worst, Math.abs(angle - factor(ds, i, 'rotation')));
  }
  assert.ok(n > 150);
  assert.ok(worst < 3, `worst ellipse angle error ${worst}°`);
  for (const shape of [0, 1, 2]) {
    const [a, b] = [renderShapes([[shape, 1, -20, 16, 16, 1]]), renderShapes([[shape, 1, 20, 16, 16, 1]])];
    let diff = 0;
    for (let p = 0; p < 1024; p++) diff += Math.abs((a[p] as number) - (b[p] as number));
    assert.ok(diff > 3, `shape ${shape}: ±20° look alike (L1 ${diff})`);
    // Each kind is mirror-symmetric about its vertical axis at rotation 0, so −θ is the mirror image of +θ
    // (up to the sample pattern, which is not mirror-symmetric itself).
    let mirrored = 0;
    for (let row = 0; row < 32; row++) for (let c = 0; c < 32; c++) mirrored += Math.abs((a[row * 32 + c] as number) - (b[row * 32 + 31 - c] as number));
    assert.ok(mirrored < 0.15 * diff, `shape ${shape}: +θ is not the mirror image of −θ (L1 ${mirrored} vs ${diff})`);
  }
});

test('shapes: with 3 channels the object\'s hue matches the factor, at full saturation', () => {
  const ds = generateShapes({ count: 300, seed: 6, channels: 3 });
  let worst = 0;
  for (let i = 0; i < 300; i++) {
    const img = imageOf(ds, i);
    const sum = [0, 0, 0];
    for (let p = 0; p < 1024; p++) for (let ch = 0; ch < 3; ch++) sum[ch] = (sum[ch] as number) + (img[p * 3 + ch] as number);
    const [r, g, b] = sum as [number, number, number];
    const max = Math.max(r, g, b), min = Math.min(r, g, b), d = max - min;
    assert.ok(min / max < 1e-6, `image ${i}: not fully saturated (${sum})`);
    let h = max === r ? (g - b) / d : max === g ? 2 + (b - r) / d : 4 + (r - g) / d;
    h = (((h / 6) % 1) + 1) % 1;
    const want = factor(ds, i, 'hue');
    worst = Math.max(worst, Math.min(Math.abs(h - want), 1 - Math.abs(h - want)));
  }
  assert.ok(worst < 0.005, `worst hue error ${worst}`);
});

test('shapes2: object 1 lies in the left half, object 2 in the right, and they never overlap', () => {
  const ds = generateShapes({ variant: 'shapes2', count: 300, seed: 8 });
  const k = 12;
  const alone = (i: number, which: 0 | 1) => {
    const row = Array.from(ds.factors.subarray(i * k, (i + 1) * k));
    row[(1 - which) * 6 + 1] = 0; // the other object at scale 0 draws nothing
    return renderShapes([row], { variant: 'shapes2' });
  };
  let worst = 0;
  for (let i = 0; i < 300; i++) {
    const img = imageOf(ds, i);
    const [one, two] = [alone(i, 0), alone(i, 1)];
    for (let p = 0; p < 1024; p++) {
      const c = p % 32;
      assert.equal(c < 16 ? two[p] : one[p], 0, `image ${i}: an object crosses the mid-line at pixel ${p}`);
      assert.equal(img[p], (one[p] as number) + (two[p] as number), `image ${i}: objects overlap at pixel ${p}`);
    }
    const left = moments(img, 32, 1, 0, 16);
    const right = moments(img, 32, 1, 16, 32);
    worst = Math.max(worst, Math.hypot(left.cx - factor(ds, i, 'x_1'), left.cy - factor(ds, i, 'y_1')), Math.hypot(right.cx - factor(ds, i, 'x_2'), right.cy - factor(ds, i, 'y_2')));
    assert.equal(ds.labels[i], factor(ds, i, 'shape_1'));
  }
  assert.ok(worst < 0.5, `worst centroid error ${worst} px`);
});

test('shapes1: only x varies; images are translates of one another with constant mass', () => {
  for (const channels of [1, 3] as const) {
    const ds = generateShapes({ variant: 'shapes1', count: 200, seed: 1, channels });
    assert.deepEqual(ds.factorNames, ['x']);
    assert.deepEqual(ds.factorRanges, [[7, 25]]);
    assert.ok(ds.labels.every((l) => l === 0));
    const ms = Array.from({ length: 200 }, (_, i) => moments(imageOf(ds, i), 32, channels));
    const mean = ms.reduce((a, m) => a + m.mass, 0) / 200;
    for (let i = 0; i < 200; i++) {
      const m = ms[i] as ReturnType<typeof moments>;
      assert.ok(Math.abs(m.mass / mean - 1) < 0.01, `image ${i}: mass ${m.mass} vs mean ${mean}`);
      assert.ok(Math.abs(m.cx - factor(ds, i, 'x')) < 0.5 && Math.abs(m.cy - 16) < 0.5, `image ${i}: centroid (${m.cx}, ${m.cy})`);
      assert.ok(Math.abs(m.yy / (ms[0] as typeof m).yy - 1) < 0.06, `image ${i}: vertical spread ${m.yy} vs ${(ms[0] as typeof m).yy}`);
    }
    // An integer shift of x shifts the image by whole pixels.
    const imgs = renderShapes([[9.3], [14.3]], { variant: 'shapes1', channels });
    const per = 1024 * channels;
    for (let row = 0; row < 32; row++) for (let c = 0; c < 27; c++) for (let ch = 0; ch < channels; ch++) {
      assert.ok(Math.abs((imgs[(row * 32 + c) * channels + ch] as number) - (imgs[per + (row * 32 + c + 5) * channels + ch] as number)) <= 1 / 16 + 1e-6);
    }
  }
});

test('shapes: bad input names the argument, the value and what was expected', () => {
  throwsInput(() => generateShapes({ variant: 'dsprites' as never }), 'variant', '"dsprites"', "'shapes'");
  throwsInput(() => generateShapes({ count: 0 }), 'count', 'got 0', 'integer ≥ 1');
  throwsInput(() => generateShapes({ count: 2.5 }), 'count', '2.5');
  throwsInput(() => generateShapes({ channels: 2 as never }), 'channels', 'got 2', '1 (grey) or 3 (RGB)');
  throwsInput(() => generateShapes({ size: 8 }), 'size', 'got 8', '[16, 512]');
  throwsInput(() => generateShapes({ size: 20.5 }), 'size');
  throwsInput(() => generateShapes({ seed: Number.NaN }), 'seed', 'finite');
  throwsInput(() => generateShapes({ count: 2 ** 25 }), 'count', '2^30');
  throwsInput(() => generateShapes(null as never), 'options');
  throwsInput(() => renderShapes(new Float32Array(7)), 'factors', 'N × 6');
  throwsInput(() => renderShapes([[0, 1, 0, 16, 16]]), 'factors[0]', '6 numbers');
  throwsInput(() => renderShapes([[3, 1, 0, 16, 16, 1]]), 'factors[0][0] (shape)', 'got 3');
  throwsInput(() => renderShapes([[0, 1, 0, 16, 16, 1.5]]), 'factors[0][5] (brightness)', '[0, 1]');
  throwsInput(() => renderShapes([[0, -1, 0, 16, 16, 1]]), 'factors[0][1] (scale)');
  throwsInput(() => renderShapes([[0, 1, Number.NaN, 16, 16, 1]]), 'factors[0][2] (rotation)', 'finite');
  throwsInput(() => renderShapes([[0, 1, 0, 16, 16, 1, 5, 1, 0, 16, 16, 1]], { variant: 'shapes2' }), 'factors[0][6] (shape_2)');
  throwsInput(() => renderShapes([[0]], { variant: 'shapes3' as never }), 'variant');
});
