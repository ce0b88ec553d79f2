/**
 * TopoGAN's filtration of a generated mask (paper §3.1, released
 * `Utility_topo.binarize_data` + `dist_trfm_batch`): threshold the generator's
 * output, pad a frame so every branch closes a hole, then take the Euclidean
 * distance transform D(p) = min ‖p − q‖ over pixels q of value 0.
 */
import { check } from '../errors.js';
import { imageValues, type PixelArray } from './cubical.js';

/** `1` where `value > threshold`, else `0` (TopoGAN binarises tanh outputs at 0). */
export function binarize(data: PixelArray, shape: readonly number[], threshold = 0): Uint8Array {
  check(Number.isFinite(threshold), 'threshold', threshold, 'a finite number');
  const { values } = imageValues(data, shape);
  const out = new Uint8Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = (values[i] as number) > threshold ? 1 : 0;
  return out;
}

/** Surrounds a `height × width` image with `frame` pixels of `value` on every side. */
export function padFrame(data: ArrayLike<number>, height: number, width: number, frame = 1, value = 0): { data: Float64Array; height: number; width: number } {
  check(Number.isInteger(frame) && frame >= 0, 'frame', frame, 'an integer ≥ 0');
  check(data.length === height * width, 'data length', data.length, `${height} × ${width}`);
  const h = height + 2 * frame;
  const w = width + 2 * frame;
  const out = new Float64Array(h * w).fill(value);
  for (let r = 0; r < height; r++) for (let c = 0; c < width; c++) out[(r + frame) * w + c + frame] = data[r * width + c] as number;
  return { data: out, height: h, width: w };
}

/**
 * Squared distance to the nearest zero of a 1-D sampled function (Felzenszwalb &
 * Huttenlocher 2012, lower envelope of parabolas), in place on `f` with scratch space.
 */
function envelope1D(f: Float64Array, n: number, out: Float64Array, v: Int32Array, z: Float64Array): void {
  let k = 0;
  v[0] = 0;
  z[0] = -Infinity;
  z[1] = Infinity;
  for (let q = 1; q < n; q++) {
    if ((f[q] as number) === Infinity) continue;
    if ((f[v[0] as number] as number) === Infinity) {
      v[0] = q;
      continue;
    }
    const p0 = v[k] as number;
    let s = ((f[q] as number) + q * q - ((f[p0] as number) + p0 * p0)) / (2 * q - 2 * p0);
    while (s <= (z[k] as number)) {
      k--; // z[0] = −∞ stops this at k = 0
      const p = v[k] as number;
      s = ((f[q] as number) + q * q - ((f[p] as number) + p * p)) / (2 * q - 2 * p);
    }
    k++;
    v[k] = q;
    z[k] = s;
    z[k + 1] = Infinity;
  }
  const finite = (f[v[0] as number] as number) !== Infinity;
  k = 0;
  for (let q = 0; q < n; q++) {
    while ((z[k + 1] as number) < q) k++;
    const p = v[k] as number;
    out[q] = finite ? (q - p) * (q - p) + (f[p] as number) : Infinity;
  }
}

/**
 * Exact Euclidean distance transform: for each pixel, the distance to the nearest
 * pixel whose mask value is 0 (0 on those pixels; Infinity everywhere when the
 * mask has no zero). As `scipy.ndimage.distance_transform_edt(mask)`. Linear time.
 */
export function distanceTransform(mask: ArrayLike<number>, height: number, width: number): Float64Array {
  check(Number.isInteger(height) && height >= 1 && Number.isInteger(width) && width >= 1, 'shape', [height, width], 'integers ≥ 1');
  check(mask.length === height * width, 'mask length', mask.length, `${height} × ${width}`);
  const n = Math.max(height, width);
  const f = new Float64Array(n);
  const col = new Float64Array(n);
  const v = new Int32Array(n);
  const z = new Float64Array(n + 1);
  const g = new Float64Array(height * width);
  for (let c = 0; c < width; c++) {
    for (let r = 0; r < height; r++) f[r] = (mask[r * width + c] as number) === 0 ? 0 : Infinity;
    envelope1D(f, height, col, v, z);
    for (let r = 0; r < height; r++) g[r * width + c] = col[r] as number;
  }
  const out = new Float64Array(height * width);
  for (let r = 0; r < height; r++) {
    for (let c = 0; c < width; c++) f[c] = g[r * width + c] as number;
    envelope1D(f, width, col, v, z);
    for (let c = 0; c < width; c++) out[r * width + c] = Math.sqrt(col[c] as number);
  }
  return out;
}

/** Options of {@link maskFiltration}. */
export interface MaskFiltrationOptions {
  /** Binarisation threshold; pixels above it are foreground. Default 0 (TopoGAN, tanh outputs). */
  threshold?: number;
  /** Width of the zero frame padded around the mask; default 1. */
  frame?: number;
}

/**
 * TopoGAN's filtration of a grey-level mask: binarise at `threshold`, pad a zero
 * frame, Euclidean distance transform. The result is `(height + 2·frame) ×
 * (width + 2·frame)`; its sublevel-set persistence (dimension 1) has true holes
 * born at 0 and near-holes born at the distance where the gap closes.
 */
export function maskFiltration(data: PixelArray, shape: readonly number[], options: MaskFiltrationOptions = {}): { values: Float64Array; height: number; width: number; mask: Uint8Array } {
  const frame = options.frame ?? 1;
  const mask = binarize(data, shape, options.threshold ?? 0);
  const padded = padFrame(mask, shape[0] as number, shape[1] as number, frame, 0);
  return { values: distanceTransform(padded.data, padded.height, padded.width), height: padded.height, width: padded.width, mask };
}
