/**
 * A seeded renderer that turns binary structure masks into grey "micrographs",
 * so that every mask (real or GAN-drawn) becomes a segmentation training pair
 * (image, mask). It stands in for the pix2pix texturing of TopoGAN's Table 2
 * (Wang et al., ECCV 2020, §4): the downstream check needs images whose
 * membranes a U-Net must find, not the masks themselves.
 *
 * Per image, in this order:
 * 1. levels: a membrane pixel (mask value m, in [0, 1]) gets
 *    `interior + (membrane − interior)·m`, with both levels jittered per image
 *    by a uniform draw in ±`levelJitter` (lighting and staining vary);
 * 2. texture: plus `texture` × a smooth random field (values on a coarse grid
 *    every `textureScale` px, uniform in [−1, 1], bilinearly interpolated), the
 *    cytoplasm's mottling;
 * 3. blur: a Gaussian of standard deviation `blur` px (separable, edges
 *    clamped; 0 skips it), the optics' point-spread function;
 * 4. noise: plus a zero-mean normal draw of standard deviation `noise` per
 *    pixel (shot and read noise);
 * 5. clamped to [0, 1].
 *
 * Membranes are darker than interiors whenever `membrane + levelJitter <
 * interior − levelJitter` (the defaults: 0.25 vs 0.7, jitter 0.05).
 * Image i depends only on (seed, i), so rendering a prefix of a set gives a
 * prefix of the rendering. Plain typed arrays, no tfjs and no Node modules.
 */
import { createRng } from '../engine/core.js';
import { check } from '../errors.js';

/** Options of {@link renderMicrograph}. */
export interface MicrographOptions {
  /** Seed of every random draw; default 0. */
  seed?: number;
  /** Height and width of each mask; default: the masks' `shape` when a dataset is passed, else required. */
  height?: number;
  width?: number;
  /** Grey level of membrane (foreground) pixels, in [0, 1]; default 0.25. */
  membrane?: number;
  /** Grey level of cell interiors (background), in [0, 1]; default 0.7. */
  interior?: number;
  /** Half-width of the per-image uniform jitter of both levels, ≥ 0; default 0.05. */
  levelJitter?: number;
  /** Amplitude of the smooth texture field, ≥ 0; default 0.08. */
  texture?: number;
  /** Grid spacing of the texture field in px, ≥ 1; default 6. */
  textureScale?: number;
  /** Standard deviation of the Gaussian blur in px, ≥ 0 (0: none); default 1. */
  blur?: number;
  /** Standard deviation of the per-pixel normal noise, ≥ 0; default 0.04. */
  noise?: number;
}

/** A 32-bit bijective mix (murmur3's finaliser). */
function fmix32(h: number): number {
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** Normalised 1-D Gaussian taps of standard deviation `sigma`, radius ⌈3σ⌉. */
function gaussianTaps(sigma: number): Float32Array {
  const r = Math.max(1, Math.ceil(3 * sigma));
  const taps = new Float32Array(2 * r + 1);
  let sum = 0;
  for (let k = -r; k <= r; k++) sum += taps[k + r] = Math.exp(-(k * k) / (2 * sigma * sigma));
  for (let k = 0; k < taps.length; k++) (taps[k] as number) /= sum;
  return taps;
}

/** Separable blur of one `h × w` image in place, edges clamped. */
function blurInPlace(img: Float32Array, h: number, w: number, taps: Float32Array, tmp: Float32Array): void {
  const r = (taps.length - 1) / 2;
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      let s = 0;
      for (let k = -r; k <= r; k++) s += (taps[k + r] as number) * (img[y * w + Math.min(w - 1, Math.max(0, x + k))] as number);
      tmp[y * w + x] = s;
    }
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      let s = 0;
      for (let k = -r; k <= r; k++) s += (taps[k + r] as number) * (tmp[Math.min(h - 1, Math.max(0, y + k)) * w + x] as number);
      img[y * w + x] = s;
    }
}

/**
 * Renders masks (`N·H·W` values in [0, 1], foreground = membrane; or a dataset
 * with `images` and `shape` [H, W, 1]) into grey micrographs of the same
 * layout, values in [0, 1]. See the module comment for the steps.
 * @throws EccvkitInputError naming the option for a bad size, level, scale or seed, or masks outside [0, 1]
 */
export function renderMicrograph(masks: ArrayLike<number> | { images: ArrayLike<number>; shape: readonly number[] }, options: MicrographOptions = {}): Float32Array {
  check(options !== null && typeof options === 'object', 'options', options, 'an object { seed?, height?, width?, membrane?, interior?, … }');
  const isDataset = masks !== null && typeof masks === 'object' && 'images' in masks && 'shape' in masks;
  const values: ArrayLike<number> = isDataset ? masks.images : (masks as ArrayLike<number>);
  check(values !== null && typeof values === 'object' && typeof values.length === 'number', 'masks', masks, 'an array of N·H·W mask values or a dataset { images, shape }');
  const height = options.height ?? (isDataset ? masks.shape[0] : undefined);
  const width = options.width ?? (isDataset ? masks.shape[1] : height);
  check(Number.isInteger(height) && (height as number) >= 1, 'height', height, 'an integer ≥ 1 (the masks’ height)');
  check(Number.isInteger(width) && (width as number) >= 1, 'width', width, 'an integer ≥ 1 (the masks’ width)');
  if (isDataset) check(masks.shape[2] === undefined || masks.shape[2] === 1, 'masks.shape', masks.shape, '[H, W, 1] (one channel)');
  const h = height as number;
  const w = width as number;
  const per = h * w;
  check(values.length > 0 && values.length % per === 0, 'masks', `${values.length} values`, `a positive multiple of ${h}×${w} = ${per}`);
  const { seed = 0, membrane = 0.25, interior = 0.7, levelJitter = 0.05, texture = 0.08, textureScale = 6, blur = 1, noise = 0.04 } = options;
  check(typeof seed === 'number' && Number.isFinite(seed), 'seed', seed, 'a finite number');
  for (const [name, v] of [['membrane', membrane], ['interior', interior]] as const) check(typeof v === 'number' && v >= 0 && v <= 1, name, v, 'a grey level in [0, 1]');
  for (const [name, v] of [['levelJitter', levelJitter], ['texture', texture], ['blur', blur], ['noise', noise]] as const)
    check(typeof v === 'number' && Number.isFinite(v) && v >= 0, name, v, 'a finite number ≥ 0');
  check(typeof textureScale === 'number' && Number.isFinite(textureScale) && textureScale >= 1, 'textureScale', textureScale, 'a grid spacing ≥ 1 px');

  const n = values.length / per;
  const out = new Float32Array(values.length);
  const taps = blur > 0 ? gaussianTaps(blur) : null;
  const tmp = new Float32Array(per);
  const gh = Math.ceil((h - 1) / textureScale) + 2;
  const gw = Math.ceil((w - 1) / textureScale) + 2;
  const grid = new Float32Array(gh * gw);
  const key = createRng(seed).nextUint32();
  for (let i = 0; i < n; i++) {
    const rng = createRng(fmix32((key + Math.imul(i, 0x9e3779b1) + 0x2545f491) >>> 0));
    const mem = membrane + rng.uniform(-levelJitter, levelJitter);
    const inn = interior + rng.uniform(-levelJitter, levelJitter);
    for (let k = 0; k < grid.length; k++) grid[k] = rng.uniform(-1, 1);
    const img = out.subarray(i * per, (i + 1) * per);
    for (let y = 0; y < h; y++) {
      const gy = y / textureScale;
      const y0 = Math.floor(gy);
      const fy = gy - y0;
      for (let x = 0; x < w; x++) {
        const m = values[i * per + y * w + x] as number;
        if (!(m >= 0 && m <= 1)) check(false, `masks[${i * per + y * w + x}]`, m, 'a mask value in [0, 1]');
        const gx = x / textureScale;
        const x0 = Math.floor(gx);
        const fx = gx - x0;
        const t =
          (1 - fy) * ((1 - fx) * (grid[y0 * gw + x0] as number) + fx * (grid[y0 * gw + x0 + 1] as number)) +
          fy * ((1 - fx) * (grid[(y0 + 1) * gw + x0] as number) + fx * (grid[(y0 + 1) * gw + x0 + 1] as number));
        img[y * w + x] = inn + (mem - inn) * m + texture * t;
      }
    }
    if (taps) blurInPlace(img, h, w, taps, tmp);
    for (let k = 0; k < per; k++) img[k] = Math.min(1, Math.max(0, (img[k] as number) + (noise > 0 ? rng.normal(0, noise) : 0)));
  }
  return out;
}
