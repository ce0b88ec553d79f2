/**
 * Seeded generators of binary masks with topology to learn: the stand-ins for
 * TopoGAN's datasets (Wang et al., ECCV 2020, §4), none of which is reachable
 * offline. Every mask comes with its Betti numbers, so a topology metric needs
 * no persistence computation for real data.
 *
 * Convention: the structure (membranes, vessels, roads) is foreground, value 1,
 * on a background of 0. Betti numbers are those of the foreground as a union of
 * closed pixel squares (GUDHI's T-construction, `maskBettiNumbers` in
 * src/topology): β₀ counts 8-connected foreground components, β₁ the
 * 4-connected background regions that do not touch the image border (regions
 * enclosed by the structure). They are counted here by flood fill, an
 * implementation independent of the persistence core.
 *
 * Kinds:
 * - `membranes` (CREMI / ISBI12-like): the walls of a jittered Voronoi partition
 *   of k × k cells (k in 3–5), wall width 1.4–3 px, 0–2 gaps (a disk a little
 *   wider than the wall, centred on its mid-line) that each merge neighbouring cells; β₁ counts the closed cells away from the border.
 * - `vessels` (retina-like): 1–2 branching trees of tapering curves entering
 *   from the border; a branch is broken with probability 0.25 (a 3–5 px gap), so
 *   β₀ counts the pieces.
 * - `roads` (maps-like): a noisy grid of 2–4 × 2–4 wiggling streets 2–3 px wide;
 *   each street piece between crossings is dropped (p 0.1) or cut to a dead end
 *   (p 0.15); β₁ counts the closed blocks.
 *
 * Image i depends only on (seed, i). Plain typed arrays, no tfjs and no Node
 * modules: it runs in a browser too.
 */
import type { ImageDataset } from './dataset.js';
import { createRng, type Rng } from '../engine/core.js';
import { check } from '../errors.js';

/** The mask generators by name. */
export const MASK_KINDS = ['membranes', 'vessels', 'roads'] as const;

/** One of {@link MASK_KINDS}. */
export type MaskKind = (typeof MASK_KINDS)[number];

/** A set of binary masks (`images` NHWC with one channel, values 0 or 1) and their Betti numbers. */
export interface MaskDataset extends ImageDataset {
  kind: MaskKind | 'folder';
  /** N × 2, row-major: [β₀, β₁] of each mask's foreground (see the module comment for the convention). */
  betti: Int32Array;
}

/** Options of {@link generateMasks}. */
export interface MaskOptions {
  /** Default `'membranes'`. */
  kind?: MaskKind;
  /** Number of masks, an integer ≥ 1; default 1000. */
  count?: number;
  /** Seed of every random draw; default 0. */
  seed?: number;
  /** Side of the square masks, an integer in [16, 512]; default 64 (TopoGAN's patches). */
  size?: number;
}

/** A 32-bit bijective mix (murmur3's finaliser). */
function fmix32(h: number): number {
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** Sets to `value` every pixel whose centre lies within `r` of (x, y) (x along columns). */
function disk(mask: Uint8Array, size: number, x: number, y: number, r: number, value: 0 | 1): void {
  const r0 = Math.max(0, Math.floor(y - r - 0.5));
  const r1 = Math.min(size - 1, Math.ceil(y + r - 0.5));
  const c0 = Math.max(0, Math.floor(x - r - 0.5));
  const c1 = Math.min(size - 1, Math.ceil(x + r - 0.5));
  for (let row = r0; row <= r1; row++)
    for (let col = c0; col <= c1; col++) if ((col + 0.5 - x) ** 2 + (row + 0.5 - y) ** 2 <= r * r) mask[row * size + col] = value;
}

/**
 * [β₀, β₁] of the foreground {value > threshold} of a `height × width` mask, by
 * flood fill: 8-connected foreground components, and 4-connected background
 * regions not touching the border.
 */
export function floodFillBetti(mask: ArrayLike<number>, height: number, width: number, threshold = 0.5): [number, number] {
  check(mask.length === height * width, 'mask length', mask.length, `${height} × ${width}`);
  const n = height * width;
  const seen = new Uint8Array(n);
  const stack = new Int32Array(n);
  const fg = (p: number) => (mask[p] as number) > threshold;
  let b0 = 0;
  let b1 = 0;
  for (let start = 0; start < n; start++) {
    if (seen[start]) continue;
    const isFg = fg(start);
    let top = 0;
    stack[top++] = start;
    seen[start] = 1;
    let border = false;
    while (top > 0) {
      const p = stack[--top] as number;
      const r = Math.floor(p / width);
      const c = p - r * width;
      if (r === 0 || c === 0 || r === height - 1 || c === width - 1) border = true;
      for (let dr = -1; dr <= 1; dr++)
        for (let dc = -1; dc <= 1; dc++) {
          if ((dr === 0 && dc === 0) || (!isFg && dr !== 0 && dc !== 0)) continue;
          const rr = r + dr;
          const cc = c + dc;
          if (rr < 0 || cc < 0 || rr >= height || cc >= width) continue;
          const q = rr * width + cc;
          if (seen[q] || fg(q) !== isFg) continue;
          seen[q] = 1;
          stack[top++] = q;
        }
    }
    if (isFg) b0++;
    else if (!border) b1++;
  }
  return [b0, b1];
}

function membranes(rng: Rng, size: number): Uint8Array {
  const k = 3 + rng.int(3);
  const cell = size / k;
  const seeds: Array<[number, number]> = [];
  for (let i = 0; i < k; i++) for (let j = 0; j < k; j++) seeds.push([(j + 0.5 + rng.uniform(-0.35, 0.35)) * cell, (i + 0.5 + rng.uniform(-0.35, 0.35)) * cell]);
  const half = rng.uniform(0.7, 1.5) * (size / 64);
  const mask = new Uint8Array(size * size);
  const centres: number[] = []; // wall pixels within 0.5 px of their bisector
  for (let r = 0; r < size; r++)
    for (let c = 0; c < size; c++) {
      const x = c + 0.5;
      const y = r + 0.5;
      let a = -1;
      let b = -1;
      let da = Infinity;
      let db = Infinity;
      seeds.forEach(([sx, sy], s) => {
        const d = (x - sx) ** 2 + (y - sy) ** 2;
        if (d < da) [b, db, a, da] = [a, da, s, d];
        else if (d < db) [b, db] = [s, d];
      });
      const [ax, ay] = seeds[a] as [number, number];
      const [bx, by] = seeds[b] as [number, number];
      // Distance from the pixel centre to the bisector of its two nearest seeds.
      const off = (db - da) / (2 * Math.hypot(ax - bx, ay - by));
      if (off < half) mask[r * size + c] = 1;
      if (off < 0.5) centres.push(r * size + c);
    }
  const gaps = rng.int(3);
  for (let g = 0; g < gaps && centres.length > 0; g++) {
    // A disk centred on the wall's mid-line, a little wider than the wall, cuts it through.
    const p = centres[rng.int(centres.length)] as number;
    disk(mask, size, (p % size) + 0.5, Math.floor(p / size) + 0.5, half + rng.uniform(1, 2) * (size / 64), 0);
  }
  return mask;
}

function vessels(rng: Rng, size: number): Uint8Array {
  const mask = new Uint8Array(size * size);
  const scale = size / 64;
  const branch = (x0: number, y0: number, angle0: number, width: number, length: number, depth: number, broken: boolean) => {
    let x = x0;
    let y = y0;
    let angle = angle0;
    const gapAt = broken ? rng.uniform(0.15, 0.5) * length : -1;
    const gapLength = rng.uniform(3, 5) * scale;
    const forks: number[] = [];
    if (depth > 0) for (let f = depth === 3 ? 2 : 1; f > 0; f--) forks.push(rng.uniform(0.25, 0.8) * length);
    for (let t = 0; t < length; t += 0.5) {
      angle += rng.normal(0, 0.06);
      x += 0.5 * Math.cos(angle);
      y += 0.5 * Math.sin(angle);
      if (x < -2 || y < -2 || x > size + 2 || y > size + 2) return;
      const w = width * (1 - 0.5 * (t / length));
      if (!(t >= gapAt && t < gapAt + gapLength)) disk(mask, size, x, y, Math.max(0.6, w / 2), 1);
      for (const f of forks)
        if (t < f && t + 0.5 >= f) {
          const side = rng.next() < 0.5 ? -1 : 1;
          branch(x, y, angle + side * rng.uniform(0.5, 1), w * 0.7, length * rng.uniform(0.45, 0.7), depth - 1, depth < 3 && rng.next() < 0.25);
        }
    }
  };
  for (let tree = 1 + rng.int(2); tree > 0; tree--) {
    // Enter from a random side, pointing inward.
    const side = rng.int(4);
    const u = rng.uniform(0.2, 0.8) * size;
    const [x, y, angle] = side === 0 ? [u, 0, Math.PI / 2] : side === 1 ? [size, u, Math.PI] : side === 2 ? [u, size, -Math.PI / 2] : [0, u, 0];
    branch(x, y, angle + rng.uniform(-0.4, 0.4), rng.uniform(3, 4.5) * scale, rng.uniform(40, 70) * scale, 3, false);
  }
  return mask;
}

function roads(rng: Rng, size: number): Uint8Array {
  const mask = new Uint8Array(size * size);
  // A street: offset(t) for t along its axis, a random walk around its base.
  const streets = (count: number) =>
    Array.from({ length: count }, (_, i) => {
      const base = ((i + 0.5 + rng.uniform(-0.25, 0.25)) * size) / count;
      const offset = new Float64Array(size + 1);
      let o = base;
      let drift = rng.normal(0, 0.05);
      for (let t = 0; t <= size; t++) {
        drift = 0.9 * drift + rng.normal(0, 0.05);
        o = Math.min(size - 2, Math.max(2, o + drift));
        offset[t] = o;
      }
      return { offset, half: rng.uniform(1, 1.5) * (size / 64) };
    });
  const vertical = streets(2 + rng.int(3));
  const horizontal = streets(2 + rng.int(3));
  const draw = (s: { offset: Float64Array; half: number }, across: typeof horizontal, isVertical: boolean) => {
    // Pieces run between crossings with the other direction's streets.
    const cuts = across.map((o) => o.offset[Math.round(s.offset[Math.round(o.offset[0] as number)] as number)] as number).sort((a, b) => a - b);
    const bounds = [0, ...cuts, size];
    for (let p = 0; p + 1 < bounds.length; p++) {
      let lo = bounds[p] as number;
      let hi = bounds[p + 1] as number;
      const u = rng.next();
      if (u < 0.1) continue;
      if (u < 0.25) {
        // A dead end: only the part from one crossing to somewhere short of the next.
        const keep = rng.uniform(0.3, 0.6) * (hi - lo);
        if (rng.next() < 0.5) hi = lo + keep;
        else lo = hi - keep;
      }
      for (let t = lo; t <= hi; t += 0.5) {
        const i = Math.min(size, Math.max(0, Math.round(t)));
        const o = s.offset[i] as number;
        if (isVertical) disk(mask, size, o, t, s.half, 1);
        else disk(mask, size, t, o, s.half, 1);
      }
    }
  };
  for (const s of vertical) draw(s, horizontal, true);
  for (const s of horizontal) draw(s, vertical, false);
  return mask;
}

const GENERATORS: Record<MaskKind, (rng: Rng, size: number) => Uint8Array> = { membranes, vessels, roads };

/**
 * Draws `count` masks of `kind` (see the module comment), each from a stream
 * seeded by (seed, i) alone, so a larger `count` extends a smaller one, and
 * records their Betti numbers. One class (label 0).
 * @throws EccvkitInputError for an unknown kind, a count that is not an integer ≥ 1, a size outside [16, 512] or a non-finite seed
 */
export function generateMasks(options: MaskOptions = {}): MaskDataset {
  check(options !== null && typeof options === 'object', 'options', options, 'an object { kind?, count?, seed?, size? }');
  const { kind = 'membranes', count = 1000, seed = 0, size = 64 } = options;
  check((MASK_KINDS as readonly string[]).includes(kind), 'kind', kind, `one of ${MASK_KINDS.join(', ')}`);
  check(Number.isSafeInteger(count) && count >= 1, 'count', count, 'an integer ≥ 1');
  check(Number.isInteger(size) && size >= 16 && size <= 512, 'size', size, 'an integer in [16, 512]');
  check(count * size * size <= 2 ** 30, 'count', count, `at most ${Math.floor(2 ** 30 / (size * size))} masks of ${size}×${size}`);
  check(typeof seed === 'number' && Number.isFinite(seed), 'seed', seed, 'a finite number');
  const per = size * size;
  const images = new Float32Array(count * per);
  const betti = new Int32Array(2 * count);
  const key = createRng(seed).nextUint32();
  for (let i = 0; i < count; i++) {
    const rng = createRng(fmix32((key + Math.imul(i, 0x9e3779b1) + 0x51ed27) >>> 0));
    const mask = GENERATORS[kind](rng, size);
    images.set(mask, i * per);
    const [b0, b1] = floodFillBetti(mask, size, size);
    betti[2 * i] = b0;
    betti[2 * i + 1] = b1;
  }
  return { name: `${kind}-${size}px-seed${seed}-n${count}`, kind, images, labels: new Int32Array(count), shape: [size, size, 1], numClasses: 1, classNames: [kind], betti };
}
