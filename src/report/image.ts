/**
 * Sample grids as PNG images, for embedding in a report as data URIs.
 */
import { PNG } from 'pngjs';
import { check } from '../errors.js';

/** Gray level (0–255) of the padding between and around grid cells. */
export const GRID_PAD_GRAY = 230;

/** Largest grid {@link imageGridPng} will build, in pixels (about 64 MiB of RGBA). */
const MAX_PIXELS = 16_777_216;

/**
 * Tiles `count` images into one PNG: row-major, `cols` per row (default
 * ⌈√count⌉, at most `count`), each upscaled by the integer factor `scale`
 * (nearest neighbour, default 1), with `pad` pixels (default 2) of light gray
 * ({@link GRID_PAD_GRAY}) between cells and around the border; unused cells of
 * the last row are gray too. Output size:
 * `cols·width·scale + (cols+1)·pad` by `rows·height·scale + (rows+1)·pad`.
 *
 * @param images NHWC values in [0, 1] (clamped; NaN shows black), `count·height·width·channels` of them
 * @param o.channels 1 (grayscale) or 3 (RGB)
 * @returns the PNG file's bytes (8-bit RGBA, opaque)
 * @throws {@link EccvkitInputError} on a wrong length, non-integer sizes or a grid over 16 megapixels
 */
export function imageGridPng(
  images: Float32Array,
  o: { count: number; height: number; width: number; channels: 1 | 3; cols?: number; scale?: number; pad?: number },
): Buffer {
  check(images instanceof Float32Array, 'images', images, 'a Float32Array of NHWC values in [0, 1]');
  check(o !== null && typeof o === 'object', 'options', o, 'an object { count, height, width, channels }');
  const { count, height, width, channels } = o;
  for (const [name, v] of [
    ['count', count],
    ['height', height],
    ['width', width],
  ] as const) {
    check(Number.isSafeInteger(v) && v >= 1, name, v, 'an integer ≥ 1');
  }
  check(channels === 1 || channels === 3, 'channels', channels, '1 or 3');
  check(images.length === count * height * width * channels, 'images', images, `${count}·${height}·${width}·${channels} = ${count * height * width * channels} values`);
  const cols = Math.min(o.cols ?? Math.ceil(Math.sqrt(count)), count);
  check(Number.isSafeInteger(cols) && cols >= 1, 'cols', o.cols, 'an integer ≥ 1');
  const scale = o.scale ?? 1;
  check(Number.isSafeInteger(scale) && scale >= 1, 'scale', scale, 'an integer ≥ 1');
  const pad = o.pad ?? 2;
  check(Number.isSafeInteger(pad) && pad >= 0, 'pad', pad, 'an integer ≥ 0');
  const rows = Math.ceil(count / cols);
  const cellW = width * scale;
  const cellH = height * scale;
  const outW = cols * cellW + (cols + 1) * pad;
  const outH = rows * cellH + (rows + 1) * pad;
  check(outW * outH <= MAX_PIXELS, 'options', { outW, outH }, `a grid of at most ${MAX_PIXELS} pixels (fewer images, a smaller scale or pad)`);

  const png = new PNG({ width: outW, height: outH });
  const data = png.data;
  for (let i = 0; i < data.length; i += 4) {
    data[i] = GRID_PAD_GRAY;
    data[i + 1] = GRID_PAD_GRAY;
    data[i + 2] = GRID_PAD_GRAY;
    data[i + 3] = 255;
  }
  const byte = (v: number): number => (v > 0 ? (v < 1 ? Math.round(v * 255) : 255) : 0); // NaN → 0
  for (let n = 0; n < count; n++) {
    const x0 = pad + (n % cols) * (cellW + pad);
    const y0 = pad + Math.floor(n / cols) * (cellH + pad);
    for (let r = 0; r < height; r++) {
      for (let c = 0; c < width; c++) {
        const src = ((n * height + r) * width + c) * channels;
        const red = byte(images[src] as number);
        const green = channels === 3 ? byte(images[src + 1] as number) : red;
        const blue = channels === 3 ? byte(images[src + 2] as number) : red;
        for (let dy = 0; dy < scale; dy++) {
          let dst = ((y0 + r * scale + dy) * outW + x0 + c * scale) * 4;
          for (let dx = 0; dx < scale; dx++, dst += 4) {
            data[dst] = red;
            data[dst + 1] = green;
            data[dst + 2] = blue;
          }
        }
      }
    }
  }
  return PNG.sync.write(png);
}

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/**
 * A `data:image/png;base64,…` URI for `png`, for `<img src>` in a
 * self-contained page.
 *
 * @throws {@link EccvkitInputError} when the bytes do not start with the PNG signature
 */
export function pngDataUri(png: Uint8Array): string {
  check(png instanceof Uint8Array && png.length >= 8 && PNG_SIGNATURE.every((b, i) => png[i] === b), 'png', png, 'the bytes of a PNG file');
  return `data:image/png;base64,${Buffer.from(png.buffer, png.byteOffset, png.byteLength).toString('base64')}`;
}
