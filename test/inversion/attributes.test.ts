import assert from 'node:assert/strict';
import { test } from 'node:test';
import { digitSlant, digitThickness } from '../../src/inversion/attributes.js';
import { throwsInput } from '../helpers.js';

const SIDE = 28;

/** An antialiased SIDE×SIDE drawing: each pixel's coverage of `inside` by 8×8 supersampling (x = column, y = row, pixel (r, c) spans [c, c+1) × [r, r+1)). */
function draw(inside: (x: number, y: number) => boolean, S = 8): Float32Array {
  const img = new Float32Array(SIDE * SIDE);
  for (let r = 0; r < SIDE; r++) {
    for (let c = 0; c < SIDE; c++) {
      let hit = 0;
      for (let a = 0; a < S; a++) for (let b = 0; b < S; b++) if (inside(c + (b + 0.5) / S, r + (a + 0.5) / S)) hit++;
      img[r * SIDE + c] = hit / (S * S);
    }
  }
  return img;
}

/** A bar `width` wide and `length` long centred at (cx, cy), its length at `angle` from the x axis. */
function bar(width: number, length: number, angle: number, cx = 14, cy = 14): Float32Array {
  const ca = Math.cos(angle);
  const sa = Math.sin(angle);
  return draw((x, y) => {
    const dx = x - cx;
    const dy = y - cy;
    return Math.abs(ca * dx + sa * dy) <= length / 2 && Math.abs(-sa * dx + ca * dy) <= width / 2;
  });
}

/** An upright bar 3 wide and 18 tall sheared so that x − 14 = s·(y↑ − 0), y↑ = 14 − row: top to the right for s > 0. */
function sheared(s: number): Float32Array {
  return draw((x, y) => {
    const up = 14 - y;
    return Math.abs(up) <= 9 && Math.abs(x - 14 - s * up) <= 1.5;
  });
}

test('digitThickness: bars of width 2…6, axis-aligned and rotated, within 15 %', () => {
  const widths = [2, 3, 4, 5, 6];
  const angles = [0, Math.PI / 2, Math.PI / 8, Math.PI / 4, (3 * Math.PI) / 4, 1];
  const images = new Float32Array(widths.length * angles.length * SIDE * SIDE);
  let k = 0;
  for (const a of angles) for (const w of widths) images.set(bar(w, 18, a), SIDE * SIDE * k++);
  const t = digitThickness(images, k, SIDE, SIDE);
  k = 0;
  for (const a of angles) {
    for (const w of widths) {
      const got = t[k++] as number;
      assert.ok(Math.abs(got / w - 1) <= 0.15, `width ${w} at ${a.toFixed(2)} rad: ${got}`);
    }
  }
  // Monotone in the true width at every angle.
  for (let i = 0; i < angles.length; i++) for (let j = 1; j < widths.length; j++) assert.ok((t[i * widths.length + j] as number) > (t[i * widths.length + j - 1] as number));
});

test('digitThickness: invariant to translation (exactly for whole pixels, closely for sub-pixel shifts)', () => {
  const base = digitThickness(bar(3, 16, 0.7), 1, SIDE, SIDE)[0] as number;
  const shifted = digitThickness(bar(3, 16, 0.7, 11, 16), 1, SIDE, SIDE)[0] as number;
  assert.ok(Math.abs(shifted - base) <= 1e-9 * base, `${shifted} vs ${base}`);
  for (const [dx, dy] of [
    [0.3, -0.2],
    [-2.5, 1.7],
  ] as const) {
    const sub = digitThickness(bar(3, 16, 0.7, 14 + dx, 14 + dy), 1, SIDE, SIDE)[0] as number;
    assert.ok(Math.abs(sub / base - 1) <= 0.03, `shift (${dx}, ${dy}): ${sub} vs ${base}`);
  }
});

test('digitSlant: a sheared bar gives its shear, right-leaning positive', () => {
  const shears = [-0.6, -0.25, 0, 0.3, 0.7];
  const images = new Float32Array(shears.length * SIDE * SIDE);
  shears.forEach((s, i) => images.set(sheared(s), i * SIDE * SIDE));
  const got = digitSlant(images, shears.length, SIDE, SIDE);
  shears.forEach((s, i) => assert.ok(Math.abs((got[i] as number) - s) <= 0.05, `shear ${s}: ${got[i]}`));
  // Sign convention: a bar whose top pixel is right of its bottom pixel leans right.
  const lean = new Float32Array(SIDE * SIDE);
  for (let r = 4; r < 24; r++) lean[r * SIDE + Math.round(20 - (r - 4) / 2)] = 1; // row 4 at column 20, row 23 at column 10
  assert.ok((digitSlant(lean, 1, SIDE, SIDE)[0] as number) > 0.4);
  // Thickness does not see the shear much (the sheared bar keeps its area; its width shrinks by cos θ).
  const t = digitThickness(sheared(0.3), 1, SIDE, SIDE)[0] as number;
  assert.ok(Math.abs(t / (3 / Math.hypot(1, 0.3)) - 1) <= 0.15, `thickness ${t}`);
});

test('empty images give NaN without throwing; bad inputs name the argument', () => {
  const images = new Float32Array(2 * SIDE * SIDE);
  images.set(bar(3, 16, 0), SIDE * SIDE);
  const t = digitThickness(images, 2, SIDE, SIDE);
  const s = digitSlant(images, 2, SIDE, SIDE);
  assert.ok(Number.isNaN(t[0]) && Number.isFinite(t[1]));
  assert.ok(Number.isNaN(s[0]) && Number.isFinite(s[1]));
  // All ink in one row: μ02 = 0, slant undefined.
  const line = new Float32Array(SIDE * SIDE);
  for (let c = 5; c < 20; c++) line[10 * SIDE + c] = 1;
  assert.ok(Number.isNaN(digitSlant(line, 1, SIDE, SIDE)[0]));
  assert.equal(digitThickness(new Float32Array(0), 0, SIDE, SIDE).length, 0);
  throwsInput(() => digitThickness(new Float32Array(10), 1, SIDE, SIDE), 'images', '10 values', '784');
  throwsInput(() => digitSlant(new Float32Array(4), 1, 2, 2.5), 'width', '2.5');
  const bad = new Float32Array(4);
  bad[3] = 1.5;
  throwsInput(() => digitThickness(bad, 1, 2, 2), 'images', '1.5 at image 0, row 1, column 1', '[0, 1]');
  bad[3] = NaN;
  throwsInput(() => digitSlant(bad, 1, 2, 2), 'images', 'NaN');
});
