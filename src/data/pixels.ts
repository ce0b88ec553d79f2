/**
 * Pixels as eccvkit's images: RGBA bytes (a decoded PNG or JPEG, a canvas's
 * `ImageData`) to `h·w·c` values in [0, 1], and resizing. Platform-free: the
 * Node file decoders (`image-folder.ts`) and the browser's `ImageData` and
 * `Blob` decoding (`browser.ts`) both end here.
 */
import { check } from '../errors.js';

/** A decoded image: `h·w·c` values in [0, 1], row-major, channels last. */
export interface RawImage {
  data: Float32Array;
  shape: [h: number, w: number, c: number];
}

/**
 * RGBA bytes (4 per pixel, row-major, as `ImageData.data` and the PNG and JPEG
 * decoders give them) to an image with `channels` 1 (luma, 0.299 R + 0.587 G
 * + 0.114 B) or 3 (RGB), values / 255; alpha is dropped.
 * @param name how errors name the input; default `"image"`.
 */
export function rgbaToImage(rgba: ArrayLike<number>, width: number, height: number, channels: 1 | 3 = 3, name = 'image'): RawImage {
  check(channels === 1 || channels === 3, 'channels', channels, '1 or 3');
  check(width > 0 && height > 0 && rgba.length >= width * height * 4, name, `a ${width}×${height} image with ${rgba.length} bytes of pixels`, 'a non-empty decodable image');
  const n = width * height;
  const data = new Float32Array(n * channels);
  for (let p = 0; p < n; p++) {
    const r = rgba[4 * p] as number;
    const g = rgba[4 * p + 1] as number;
    const b = rgba[4 * p + 2] as number;
    if (channels === 1) data[p] = (0.299 * r + 0.587 * g + 0.114 * b) / 255;
    else {
      data[3 * p] = r / 255;
      data[3 * p + 1] = g / 255;
      data[3 * p + 2] = b / 255;
    }
  }
  return { data, shape: [height, width, channels] };
}

/** A canvas's pixels (`ctx.getImageData(…)`, or any `{ data, width, height }` of RGBA bytes) as an image; see {@link rgbaToImage}. */
export function imageDataToImage(imageData: { data: ArrayLike<number>; width: number; height: number }, channels: 1 | 3 = 3): RawImage {
  check(imageData !== null && typeof imageData === 'object' && typeof imageData.width === 'number', 'imageData', imageData, 'an ImageData (or { data, width, height } of RGBA bytes)');
  return rgbaToImage(imageData.data, imageData.width, imageData.height, channels, 'imageData');
}

/** For each output index along one axis: source indices and weights (summing to 1). */
function axisWeights(src: number, dst: number): Array<{ idx: number[]; w: number[] }> {
  const scale = src / dst;
  const out: Array<{ idx: number[]; w: number[] }> = [];
  for (let o = 0; o < dst; o++) {
    if (scale > 2) {
      // Area averaging: the mean of the source cells under [o·s, (o+1)·s).
      const lo = o * scale;
      const hi = (o + 1) * scale;
      const idx: number[] = [];
      const w: number[] = [];
      for (let i = Math.floor(lo); i < Math.min(src, Math.ceil(hi)); i++) {
        const cover = Math.min(hi, i + 1) - Math.max(lo, i);
        if (cover > 1e-12) {
          idx.push(i);
          w.push(cover / scale);
        }
      }
      out.push({ idx, w });
    } else {
      // Bilinear with half-pixel centres (tf.image.resizeBilinear with halfPixelCenters, PIL, OpenCV).
      const x = Math.min(Math.max((o + 0.5) * scale - 0.5, 0), src - 1);
      const i0 = Math.floor(x);
      const i1 = Math.min(i0 + 1, src - 1);
      const f = x - i0;
      out.push(i1 === i0 || f === 0 ? { idx: [i0], w: [1] } : { idx: [i0, i1], w: [1 - f, f] });
    }
  }
  return out;
}

/**
 * Resizes an `h·w·c` channels-last image to `[dh, dw]`, separably per axis:
 * bilinear with half-pixel centres (edge pixels clamped) when an axis grows or
 * shrinks by at most 2×, area averaging (each output pixel the mean of the source
 * area it covers) when it shrinks by more, which avoids aliasing.
 */
export function resizeImage(img: RawImage, size: [h: number, w: number]): RawImage {
  const [h, w, c] = img.shape;
  check(Array.isArray(size) && size.length === 2 && size.every((d) => Number.isInteger(d) && d > 0), 'size', size, '[h, w] with positive integers');
  const [dh, dw] = size;
  if (dh === h && dw === w) return { data: img.data.slice(), shape: [h, w, c] };
  const wx = axisWeights(w, dw);
  const wy = axisWeights(h, dh);
  const tmp = new Float32Array(h * dw * c);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < dw; x++) {
      const { idx, w: ws } = wx[x] as { idx: number[]; w: number[] };
      for (let ch = 0; ch < c; ch++) {
        let s = 0;
        for (let k = 0; k < idx.length; k++) s += (ws[k] as number) * (img.data[(y * w + (idx[k] as number)) * c + ch] as number);
        tmp[(y * dw + x) * c + ch] = s;
      }
    }
  }
  const out = new Float32Array(dh * dw * c);
  for (let y = 0; y < dh; y++) {
    const { idx, w: ws } = wy[y] as { idx: number[]; w: number[] };
    for (let x = 0; x < dw; x++) {
      for (let ch = 0; ch < c; ch++) {
        let s = 0;
        for (let k = 0; k < idx.length; k++) s += (ws[k] as number) * (tmp[((idx[k] as number) * dw + x) * c + ch] as number);
        out[(y * dw + x) * c + ch] = s;
      }
    }
  }
  return { data: out, shape: [dh, dw, c] };
}
