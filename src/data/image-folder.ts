/**
 * Users' own image datasets (CUB-200, miniImageNet and the like) laid out as one
 * sub-folder per class, decoded with `pngjs` and `jpeg-js`.
 */
import fs from 'node:fs';
import path from 'node:path';
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { EccvkitInputError, check } from '../errors.js';
import type { ImageDataset } from './dataset.js';

/** A decoded image: `h·w·c` values in [0, 1], row-major, channels last. */
export interface RawImage {
  data: Float32Array;
  shape: [h: number, w: number, c: number];
}

/** File extensions {@link loadImageFolder} reads by default (case-insensitive). */
export const IMAGE_EXTENSIONS: readonly string[] = ['.png', '.jpg', '.jpeg'];

/** Options of {@link loadImageFolder}. */
export interface ImageFolderOptions {
  /** Resize every image to `[h, w]` (see {@link resizeImage}); default: keep sizes, which must then all agree. */
  size?: [h: number, w: number];
  /** 1 (gray, 0.299 R + 0.587 G + 0.114 B) or 3 (RGB); default 3. Alpha is dropped. */
  channels?: 1 | 3;
  /** File extensions to read, with the dot, case-insensitive; default {@link IMAGE_EXTENSIONS}. PNG is told from JPEG by content. */
  extensions?: readonly string[];
  /** Dataset name; default the root folder's base name. */
  name?: string;
}

/** An {@link ImageDataset} read from a folder, with the file each image came from. */
export interface ImageFolderDataset extends ImageDataset {
  /** Path of image `i`, parallel to `labels`. */
  files: string[];
}

/**
 * Decodes PNG or JPEG bytes (told apart by their signature) to `channels`
 * channels in [0, 1]: gray is 0.299 R + 0.587 G + 0.114 B (ITU-R BT.601), alpha is
 * dropped, 16-bit PNGs are scaled to 8 bits by pngjs first.
 * @param name how errors name the input (a file path); default `"image"`.
 * @throws EccvkitInputError when the bytes are neither PNG nor JPEG or fail to decode.
 */
export function decodeImage(buf: Uint8Array, channels: 1 | 3 = 3, name = 'image'): RawImage {
  check(channels === 1 || channels === 3, 'channels', channels, '1 or 3');
  const isPng = buf.length >= 8 && buf[0] === 0x89 && buf[1] === 0x50 && buf[2] === 0x4e && buf[3] === 0x47;
  const isJpeg = buf.length >= 3 && buf[0] === 0xff && buf[1] === 0xd8 && buf[2] === 0xff;
  if (!isPng && !isJpeg) throw new EccvkitInputError(name, `${buf.length} bytes that are neither PNG nor JPEG`, 'a PNG or JPEG image');
  let rgba: Uint8Array;
  let width: number;
  let height: number;
  try {
    if (isPng) {
      const png = PNG.sync.read(Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength));
      ({ width, height } = png);
      rgba = png.data;
    } else {
      const img = jpeg.decode(buf, { useTArray: true, formatAsRGBA: true });
      ({ width, height } = img);
      rgba = img.data;
    }
  } catch (err) {
    throw new EccvkitInputError(name, `an unreadable ${isPng ? 'PNG' : 'JPEG'} (${(err as Error).message})`, 'a valid PNG or JPEG image');
  }
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

function listImages(dir: string, exts: Set<string>): string[] {
  const out: string[] = [];
  const entries = fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const e of entries) {
    if (e.name.startsWith('.')) continue;
    const full = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...listImages(full, exts));
    else if (e.isFile() && exts.has(path.extname(e.name).toLowerCase())) out.push(full);
  }
  return out;
}

/**
 * Reads a folder laid out as `root/<class>/<image>` (torchvision's ImageFolder
 * layout): class sub-folders sorted by name get label ids 0, 1, …; their images
 * (found recursively, sorted by path) are decoded with {@link decodeImage},
 * converted to `channels` (default 3) and resized to `size` when given
 * ({@link resizeImage}). Hidden entries, files at the root and files with other
 * extensions are skipped.
 *
 * @throws EccvkitInputError when `root` is not a folder or has no class folders,
 *   a class folder has no images, a file cannot be decoded (naming its path), or,
 *   without `size`, an image's size differs from the first one's (naming both).
 */
export function loadImageFolder(root: string, options: ImageFolderOptions = {}): ImageFolderDataset {
  const channels = options.channels ?? 3;
  check(channels === 1 || channels === 3, 'channels', channels, '1 or 3');
  const exts = options.extensions ?? IMAGE_EXTENSIONS;
  check(Array.isArray(exts) && exts.length > 0 && exts.every((e) => typeof e === 'string' && e.startsWith('.')), 'extensions', exts, "a non-empty list of extensions with the dot, e.g. ['.png', '.jpg']");
  const size = options.size;
  if (size !== undefined) check(Array.isArray(size) && size.length === 2 && size.every((d) => Number.isInteger(d) && d > 0), 'size', size, '[h, w] with positive integers');
  let isDir = false;
  try {
    isDir = fs.statSync(root).isDirectory();
  } catch {
    /* reported below */
  }
  check(isDir, 'root', root, 'an existing folder with one sub-folder of images per class');
  const classNames = fs
    .readdirSync(root, { withFileTypes: true })
    .filter((e) => e.isDirectory() && !e.name.startsWith('.'))
    .map((e) => e.name)
    .sort();
  check(classNames.length > 0, 'root', root, 'a folder with one sub-folder of images per class (found no sub-folders)');
  const extSet = new Set(exts.map((e) => e.toLowerCase()));
  const files: string[] = [];
  const fileLabels: number[] = [];
  classNames.forEach((cls, label) => {
    const imgs = listImages(path.join(root, cls), extSet);
    check(imgs.length > 0, 'class folder', path.join(root, cls), `at least one image with extension ${[...extSet].join(', ')}`);
    for (const f of imgs) {
      files.push(f);
      fileLabels.push(label);
    }
  });

  let shape: [number, number, number] | undefined = size ? [size[0], size[1], channels] : undefined;
  let images = new Float32Array(0);
  const per = (): number => (shape as [number, number, number]).reduce((a, b) => a * b, 1);
  files.forEach((file, i) => {
    let buf: Buffer;
    try {
      buf = fs.readFileSync(file);
    } catch (err) {
      throw new EccvkitInputError('image file', file, `a readable file (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
    }
    let img = decodeImage(buf, channels, file);
    if (size) img = resizeImage(img, size);
    else if (shape === undefined) shape = img.shape;
    else if (img.shape[0] !== shape[0] || img.shape[1] !== shape[1]) {
      throw new EccvkitInputError(
        'image file',
        `${file} (${img.shape[0]}×${img.shape[1]})`,
        `${shape[0]}×${shape[1]} like ${files[0]}, or pass size: [h, w] to resize every image`,
      );
    }
    if (i === 0) images = new Float32Array(files.length * per());
    images.set(img.data, i * per());
  });

  return {
    name: options.name ?? path.basename(path.resolve(root)),
    images,
    labels: Int32Array.from(fileLabels),
    shape: shape as [number, number, number],
    numClasses: classNames.length,
    classNames,
    files,
  };
}
