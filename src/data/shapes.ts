/**
 * A seeded generator of small images whose generative factors are known exactly
 * and drawn independently: the stand-in for dSprites / 3D Shapes / the Hessian
 * Penalty paper's CLEVR sets, none of which is reachable offline. Every image
 * comes with the factor values that made it, so a disentanglement metric (MIG,
 * DCI) needs no predictor for real images.
 *
 * Three variants, after the Hessian Penalty paper's CLEVR family:
 * - `'shapes'` (CLEVR-Simple analogue): one object, 6 factors;
 * - `'shapes2'` (CLEVR-Complex analogue): two objects, one per image half, 12 factors;
 * - `'shapes1'` (CLEVR-1FOV analogue): one object whose only varying property is `x`.
 *
 * Geometry. Coordinates are in pixels of a `size × size` canvas: `x` runs along
 * columns, `y` along rows (downwards), and pixel `(row r, column c)` covers
 * `[c, c+1) × [r, r+1)`, so its centre is `(c + 0.5, r + 0.5)`. An object is
 * given by its kind, its circumradius `scale · R` (R: the variant's largest
 * circumradius, see {@link shapesFactorSpec}), its rotation and its centre. The
 * three kinds, at rotation 0, circumradius 1:
 * - 0 `square`: axis-aligned, half-side 1/√2 (symmetry period 90°);
 * - 1 `triangle`: equilateral, one vertex straight up, centroid at the centre (period 120°);
 * - 2 `ellipse`: semi-axes 1 (horizontal) and 1/2, axis ratio 2:1 (period 180°).
 * Rotation is in degrees, positive counter-clockwise as seen on screen; its
 * range [−30°, 30°] is narrower than every kind's symmetry period, so rotation
 * is identifiable from the image. Every object lies inside its circumcircle, so
 * the centre ranges keep it 1 px clear of the frame at every scale and rotation.
 *
 * Rendering: 16 sub-pixel samples per pixel (one in each cell of a 4×4 grid, all
 * 16 x and y offsets distinct); coverage (inside samples / 16)
 * times the object's intensity (grey `brightness`, or the RGB of `hue` at full
 * saturation and value). Objects are composited in order, a later one over an
 * earlier one (they never overlap within the documented ranges). Background 0.
 * Plain typed arrays, no tfjs and no Node modules: it runs in a browser too.
 */
import type { ImageDataset } from './dataset.js';
import { createRng } from '../engine/core.js';
import { EccvkitInputError, check } from '../errors.js';

/** The generator's variants: `'shapes'` (one object, 6 factors), `'shapes2'` (two objects, 12 factors), `'shapes1'` (one factor, `x`). */
export const SHAPES_VARIANTS = ['shapes', 'shapes2', 'shapes1'] as const;

/** One of {@link SHAPES_VARIANTS}. */
export type ShapesVariant = (typeof SHAPES_VARIANTS)[number];

/** Object kinds by their `shape` factor value: 0 square, 1 equilateral triangle, 2 ellipse (2:1). Also the class names of `'shapes'` and `'shapes2'`. */
export const SHAPE_KINDS = ['square', 'triangle', 'ellipse'] as const;

/** Sub-pixel samples per pixel side: coverage is measured with 4×4 = 16 samples per pixel (one per cell of a 4×4 grid, see the renderer). */
export const SHAPES_SUPERSAMPLE = 4;

/**
 * A generated shapes dataset: the images (NHWC in [0, 1]), labels (the
 * `shape` of the first object; 0 for `'shapes1'`) and the exact factor values.
 */
export interface ShapesDataset extends ImageDataset {
  /** N × K factor values, row-major, in the column order of `factorNames`. */
  factors: Float32Array;
  /** The K factor names, e.g. `['shape', 'scale', 'rotation', 'x', 'y', 'brightness']`. */
  factorNames: string[];
  /** Per factor: true for a discrete factor (integer values), false for a continuous one. */
  factorDiscrete: boolean[];
  /** Per factor: the range `[lo, hi]` its values are drawn from (uniformly; discrete: the integers in it). */
  factorRanges: Array<[number, number]>;
  /** K, the number of factor columns. */
  numFactors: number;
  variant: ShapesVariant;
}

/** Options of {@link generateShapes}. */
export interface ShapesOptions {
  /** Which variant; default `'shapes'`. */
  variant?: ShapesVariant;
  /** Number of images, an integer ≥ 1; default 10000. */
  count?: number;
  /** Seed of every random draw; default 0. Image i depends only on (seed, i). */
  seed?: number;
  /** 1 (grey objects, factor `brightness`) or 3 (coloured objects, factor `hue`); default 1. */
  channels?: 1 | 3;
  /** Canvas side in pixels, an integer in [16, 512]; default 32. */
  size?: number;
}

/** Options of {@link renderShapes} and {@link shapesFactorSpec}: the same as {@link ShapesOptions}'s, with the same defaults. */
export interface ShapesRenderOptions {
  /** Default `'shapes'`. */
  variant?: ShapesVariant;
  /** Default 1. */
  channels?: 1 | 3;
  /** Default 32. */
  size?: number;
}

/** Names, kinds and ranges of a variant's factor columns (see {@link shapesFactorSpec}). */
export interface ShapesFactorSpec {
  factorNames: string[];
  factorDiscrete: boolean[];
  factorRanges: Array<[number, number]>;
  numFactors: number;
}

/**
 * The largest circumradius R in pixels: `size`/4 with one object per image,
 * 0.15·`size` with two (one per half). Computed as an integer percentage so
 * that 32 px gives exactly 8 and 4.8.
 */
function largestRadius(variant: ShapesVariant, size: number): number {
  return ((variant === 'shapes2' ? 15 : 25) * size) / 100;
}
/** Clearance between an object's circumcircle and the frame, in pixels. */
const MARGIN = 1;
/** Clearance between a `'shapes2'` object's circumcircle and the vertical mid-line, in pixels. */
const MID_MARGIN = 0.5;
const SCALE_RANGE: [number, number] = [0.5, 1];
const ROTATION_RANGE: [number, number] = [-30, 30];
const BRIGHTNESS_RANGE: [number, number] = [0.4, 1];
const HUE_RANGE: [number, number] = [0, 0.8];
/** The fixed object of `'shapes1'`: a triangle at scale 0.75, rotation 0, vertically centred, brightness 1 or hue 0 (red). */
const ONE_FOV = { shape: 1, scale: 0.75, rotation: 0, brightness: 1, hue: 0 } as const;

function checkRenderOptions(options: ShapesRenderOptions | undefined): Required<ShapesRenderOptions> {
  check(options === undefined || (options !== null && typeof options === 'object'), 'options', options, 'an object { variant?, channels?, size? } or undefined');
  const { variant = 'shapes', channels = 1, size = 32 } = options ?? {};
  check((SHAPES_VARIANTS as readonly unknown[]).includes(variant), 'variant', variant, `one of ${SHAPES_VARIANTS.map((v) => `'${v}'`).join(', ')}`);
  check(channels === 1 || channels === 3, 'channels', channels, '1 (grey) or 3 (RGB)');
  check(Number.isInteger(size) && size >= 16 && size <= 512, 'size', size, 'an integer in [16, 512]');
  return { variant, channels, size };
}

/** The 6 per-object columns: shape, scale, rotation, x, y and brightness or hue. */
function objectSpec(size: number, channels: 1 | 3, radius: number, xRange: [number, number], suffix: string): ShapesFactorSpec {
  const yRange: [number, number] = [radius + MARGIN, size - radius - MARGIN];
  const names = ['shape', 'scale', 'rotation', 'x', 'y', channels === 1 ? 'brightness' : 'hue'].map((n) => n + suffix);
  return {
    factorNames: names,
    factorDiscrete: [true, false, false, false, false, false],
    factorRanges: [[0, SHAPE_KINDS.length - 1], [...SCALE_RANGE], [...ROTATION_RANGE], xRange, yRange, channels === 1 ? [...BRIGHTNESS_RANGE] : [...HUE_RANGE]],
    numFactors: 6,
  };
}

/**
 * The factor columns of a variant, in order, with their kind and the range each
 * is drawn from (uniformly and independently; `shape` uniformly over 0, 1, 2).
 * R is the largest circumradius; pixel units for `x`, `y`; S = `size`.
 *
 * | variant   | columns                                                    | ranges |
 * |-----------|------------------------------------------------------------|--------|
 * | `shapes`  | shape, scale, rotation, x, y, brightness (1 ch) / hue (3 ch) | shape {0,1,2}; scale [0.5, 1]; rotation [−30, 30]°; x, y [R+1, S−R−1] with R = S/4 (32 px: [9, 23]); brightness [0.4, 1]; hue [0, 0.8] |
 * | `shapes2` | shape_1 … hue_1, shape_2 … hue_2 (12)                        | as `shapes` with R = 0.15·S; x_1 [R+1, S/2−R−0.5], x_2 [S/2+R+0.5, S−R−1] (32 px: [5.8, 10.7] and [21.3, 26.2]); y [R+1, S−R−1] |
 * | `shapes1` | x                                                          | x [r+1, S−r−1], r = 0.75·S/4 (32 px: [7, 25]) |
 *
 * `'shapes1'` fixes the rest: a triangle (shape 1), scale 0.75 of R = S/4,
 * rotation 0, y = S/2, brightness 1 (grey) or hue 0 (red).
 * @param options `variant` (default `'shapes'`), `channels` (default 1), `size` (default 32)
 */
export function shapesFactorSpec(options?: ShapesRenderOptions): ShapesFactorSpec {
  const { variant, channels, size } = checkRenderOptions(options);
  return factorSpec(variant, channels, size);
}

function factorSpec(variant: ShapesVariant, channels: 1 | 3, size: number): ShapesFactorSpec {
  if (variant === 'shapes') {
    const r = largestRadius(variant, size);
    return objectSpec(size, channels, r, [r + MARGIN, size - r - MARGIN], '');
  }
  if (variant === 'shapes2') {
    const r = largestRadius(variant, size);
    const a = objectSpec(size, channels, r, [r + MARGIN, size / 2 - r - MID_MARGIN], '_1');
    const b = objectSpec(size, channels, r, [size / 2 + r + MID_MARGIN, size - r - MARGIN], '_2');
    return {
      factorNames: [...a.factorNames, ...b.factorNames],
      factorDiscrete: [...a.factorDiscrete, ...b.factorDiscrete],
      factorRanges: [...a.factorRanges, ...b.factorRanges],
      numFactors: 12,
    };
  }
  const r = ONE_FOV.scale * largestRadius(variant, size);
  return { factorNames: ['x'], factorDiscrete: [false], factorRanges: [[r + MARGIN, size - r - MARGIN]], numFactors: 1 };
}

const F32 = new Float32Array(1);
const F32_BITS = new Int32Array(F32.buffer);

/** The float32 nearest `v`, moved by whole float32 steps until it lies in [lo, hi] (rounding alone can leave a range whose ends are not float32). */
function float32Within(v: number, lo: number, hi: number): number {
  F32[0] = v;
  const step = (up: boolean) => {
    const f = F32[0] as number;
    if (f === 0) F32_BITS[0] = up ? 1 : 0x80000001 | 0;
    else F32_BITS[0] = (F32_BITS[0] as number) + ((f > 0) === up ? 1 : -1);
  };
  while ((F32[0] as number) < lo) step(true);
  while ((F32[0] as number) > hi) step(false);
  return F32[0] as number;
}

/** A 32-bit bijective mix (murmur3's finaliser). */
function fmix32(h: number): number {
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/**
 * Draws `count` images with their factors, each factor independently and
 * uniformly over its range ({@link shapesFactorSpec} lists them). Image `i`'s
 * factors come from a stream seeded by (seed, i) alone, so a larger `count`
 * with the same seed extends a smaller one. Labels: the first object's `shape`
 * (`classNames` square, triangle, ellipse); `'shapes1'` has the single class 0.
 * Images are rendered from the stored (float32) factors by {@link renderShapes},
 * so `renderShapes(ds.factors, …)` reproduces `ds.images` exactly.
 * @throws {@link EccvkitInputError} for an unknown variant, a count that is not an integer ≥ 1, channels other than 1 or 3, a size outside [16, 512] or a non-finite seed
 */
export function generateShapes(options?: ShapesOptions): ShapesDataset {
  check(options === undefined || (options !== null && typeof options === 'object'), 'options', options, 'an object { variant?, count?, seed?, channels?, size? } or undefined');
  const { count = 10000, seed = 0 } = options ?? {};
  const { variant, channels, size } = checkRenderOptions(options);
  check(Number.isSafeInteger(count) && count >= 1, 'count', count, 'an integer ≥ 1');
  check(count * size * size * channels <= 2 ** 30, 'count', count, `at most ${Math.floor(2 ** 30 / (size * size * channels))} images of ${size}×${size}×${channels} (2^30 values)`);
  check(typeof seed === 'number' && Number.isFinite(seed), 'seed', seed, 'a finite number');
  const spec = factorSpec(variant, channels, size);
  const k = spec.numFactors;
  const factors = new Float32Array(count * k);
  const key = createRng(seed).nextUint32();
  for (let i = 0; i < count; i++) {
    const rng = createRng(fmix32((key + Math.imul(i, 0x9e3779b1)) >>> 0));
    for (let j = 0; j < k; j++) {
      const [lo, hi] = spec.factorRanges[j] as [number, number];
      factors[i * k + j] = spec.factorDiscrete[j] ? lo + rng.int(hi - lo + 1) : float32Within(rng.uniform(lo, hi), lo, hi);
    }
  }
  const images = renderRows(factors, count, variant, channels, size);
  const labels = new Int32Array(count);
  if (variant !== 'shapes1') for (let i = 0; i < count; i++) labels[i] = factors[i * k] as number;
  return {
    name: `${variant}-${size}px-${channels === 1 ? 'grey' : 'rgb'}-seed${seed}-n${count}`,
    images,
    labels,
    shape: [size, size, channels],
    numClasses: variant === 'shapes1' ? 1 : SHAPE_KINDS.length,
    classNames: variant === 'shapes1' ? [SHAPE_KINDS[ONE_FOV.shape]] : [...SHAPE_KINDS],
    factors,
    ...spec,
    variant,
  };
}

/**
 * Renders one image per row of factor values, the same renderer
 * {@link generateShapes} uses: given a dataset's factors (or a predictor's
 * reading of them, or hand-picked values) it returns the images they describe.
 *
 * Columns are those of {@link shapesFactorSpec} for the same options. Values
 * need not lie in the documented ranges (objects may then be clipped by the
 * frame or overlap), but `shape` must be 0, 1 or 2, `scale` ≥ 0, `brightness`
 * in [0, 1]; `hue` is taken modulo 1; every value must be finite.
 * @param factors N × K values, row-major (a Float32Array of N·K values) or N rows of K numbers
 * @param options `variant` (default `'shapes'`), `channels` (default 1), `size` (default 32)
 * @returns N·size·size·channels values in [0, 1], NHWC
 * @throws {@link EccvkitInputError} on bad options, a wrong length or row, or a value outside what can be drawn
 */
export function renderShapes(factors: Float32Array | ArrayLike<number>[], options?: ShapesRenderOptions): Float32Array {
  const { variant, channels, size } = checkRenderOptions(options);
  const spec = factorSpec(variant, channels, size);
  const k = spec.numFactors;
  let flat: Float32Array;
  if (factors instanceof Float32Array) {
    check(factors.length % k === 0, 'factors', factors, `N × ${k} values (${spec.factorNames.join(', ')}), row-major`);
    flat = factors;
  } else {
    check(Array.isArray(factors), 'factors', factors, `a Float32Array of N × ${k} values or an array of rows of ${k} numbers`);
    flat = new Float32Array(factors.length * k);
    factors.forEach((row, i) => {
      check(row !== null && typeof row === 'object' && row.length === k, `factors[${i}]`, row, `${k} numbers (${spec.factorNames.join(', ')})`);
      for (let j = 0; j < k; j++) flat[i * k + j] = row[j] as number;
    });
  }
  const n = flat.length / k;
  check(n * size * size * channels <= 2 ** 30, 'factors', factors, `at most ${Math.floor(2 ** 30 / (size * size * channels))} rows at ${size}×${size}×${channels} (2^30 values)`);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < k; j++) {
      const v = flat[i * k + j] as number;
      const name = (spec.factorNames[j] as string).replace(/_\d$/, '');
      const where = `factors[${i}][${j}] (${spec.factorNames[j]})`;
      if (!Number.isFinite(v)) throw new EccvkitInputError(where, v, 'a finite number');
      if (name === 'shape' && !(v === 0 || v === 1 || v === 2)) throw new EccvkitInputError(where, v, '0 (square), 1 (triangle) or 2 (ellipse)');
      if (name === 'scale' && v < 0) throw new EccvkitInputError(where, v, 'a scale ≥ 0');
      if (name === 'brightness' && !(v >= 0 && v <= 1)) throw new EccvkitInputError(where, v, 'a brightness in [0, 1]');
    }
  }
  return renderRows(flat, n, variant, channels, size);
}

/** Renders validated factor rows. */
function renderRows(factors: Float32Array, n: number, variant: ShapesVariant, channels: 1 | 3, size: number): Float32Array {
  const k = variant === 'shapes1' ? 1 : variant === 'shapes2' ? 12 : 6;
  const per = size * size * channels;
  const images = new Float32Array(n * per);
  const radius = largestRadius(variant, size);
  const colour = new Float64Array(3);
  for (let i = 0; i < n; i++) {
    const image = images.subarray(i * per, (i + 1) * per);
    const row = factors.subarray(i * k, (i + 1) * k);
    if (variant === 'shapes1') {
      const last = channels === 1 ? ONE_FOV.brightness : ONE_FOV.hue;
      drawObject(image, size, channels, radius, [ONE_FOV.shape, ONE_FOV.scale, ONE_FOV.rotation, row[0] as number, size / 2, last], colour);
    } else {
      for (let o = 0; o < k; o += 6) drawObject(image, size, channels, radius, row.subarray(o, o + 6), colour);
    }
  }
  return images;
}

/**
 * Sub-pixel sample offsets in [0, 1)²: one sample in each cell of a 4×4 grid,
 * shifted within its cell so that the 16 samples have 16 different x and 16
 * different y offsets (the canonical correlated multi-jittered pattern). Axis-
 * aligned edges are then resolved to 1/16 px, not 1/4 px, so areas and
 * centroids stay accurate for the square at rotation 0.
 */
const SAMPLE_X = new Float64Array(SHAPES_SUPERSAMPLE * SHAPES_SUPERSAMPLE);
const SAMPLE_Y = new Float64Array(SHAPES_SUPERSAMPLE * SHAPES_SUPERSAMPLE);
for (let i = 0; i < SHAPES_SUPERSAMPLE; i++) {
  for (let j = 0; j < SHAPES_SUPERSAMPLE; j++) {
    const n = SHAPES_SUPERSAMPLE;
    SAMPLE_X[i * n + j] = (i * n + j + 0.5) / (n * n);
    SAMPLE_Y[i * n + j] = (j * n + i + 0.5) / (n * n);
  }
}

const HALF_SIDE = Math.SQRT1_2;
const SIN60 = Math.sqrt(3) / 2;

/** Composites one object `[shape, scale, rotation, x, y, brightness|hue]` over `image`. */
function drawObject(image: Float32Array, size: number, channels: 1 | 3, radius: number, f: ArrayLike<number>, colour: Float64Array): void {
  const shape = f[0] as number;
  const r = (f[1] as number) * radius;
  if (!(r > 0)) return;
  const theta = ((f[2] as number) * Math.PI) / 180;
  const cx = f[3] as number;
  const cy = f[4] as number;
  if (channels === 1) colour[0] = f[5] as number;
  else hueToRgb(f[5] as number, colour);
  // Unit-frame coordinates (circumradius 1, y up) of a point (dx, dy) from the centre (y down):
  // rotate by −θ after flipping y, then divide by r.
  const c = Math.cos(theta) / r;
  const s = Math.sin(theta) / r;
  const x0 = Math.max(0, Math.floor(cx - r - 1));
  const x1 = Math.min(size - 1, Math.ceil(cx + r + 1));
  const y0 = Math.max(0, Math.floor(cy - r - 1));
  const y1 = Math.min(size - 1, Math.ceil(cy + r + 1));
  const total = SAMPLE_X.length;
  for (let py = y0; py <= y1; py++) {
    for (let px = x0; px <= x1; px++) {
      let inside = 0;
      for (let q = 0; q < total; q++) {
        const dx = px + (SAMPLE_X[q] as number) - cx;
        const dy = py + (SAMPLE_Y[q] as number) - cy;
        const ox = c * dx - s * dy;
        const oy = -s * dx - c * dy;
        let hit: boolean;
        if (shape === 0) hit = Math.abs(ox) <= HALF_SIDE && Math.abs(oy) <= HALF_SIDE;
        else if (shape === 1) hit = oy >= -0.5 && SIN60 * ox + 0.5 * oy <= 0.5 && -SIN60 * ox + 0.5 * oy <= 0.5;
        else hit = ox * ox + 4 * oy * oy <= 1;
        if (hit) inside++;
      }
      if (inside === 0) continue;
      const cov = inside / total;
      const base = (py * size + px) * channels;
      for (let ch = 0; ch < channels; ch++) image[base + ch] = (image[base + ch] as number) * (1 - cov) + cov * (colour[ch] as number);
    }
  }
}

/** RGB of hue `h` (turns, taken modulo 1) at full saturation and value. */
function hueToRgb(h: number, out: Float64Array): void {
  const h6 = (((h % 1) + 1) % 1) * 6;
  const sector = Math.min(5, Math.floor(h6));
  const f = h6 - sector;
  const rgb: [number, number, number][] = [
    [1, f, 0],
    [1 - f, 1, 0],
    [0, 1, f],
    [0, 1 - f, 1],
    [f, 0, 1],
    [1, 0, 1 - f],
  ];
  const [r, g, b] = rgb[sector] as [number, number, number];
  out[0] = r;
  out[1] = g;
  out[2] = b;
}
