/**
 * Users' own image datasets (CUB-200, miniImageNet and the like) laid out as one
 * sub-folder per class, decoded with `pngjs` and `jpeg-js`.
 */
import fs from 'node:fs';
import path from 'node:path';
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { EccvkitInputError, check } from '../../errors.js';
import type { ImageDataset } from '../dataset.js';
import { resizeImage, rgbaToImage, type RawImage } from '../pixels.js';
import { writeFileAtomic } from '../../node/fs.js';

export { resizeImage, type RawImage } from '../pixels.js';

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
  /**
   * A file that cannot be read or decoded: `fail` (default) stops, after
   * looking at every file, with an error listing the first few; `skip` leaves
   * it out and lists it in the result's `skipped`.
   */
  onBadImage?: 'fail' | 'skip';
  /** Files whose extension is not in `extensions`: `ignore` (default) passes over them; `bad` treats them as bad images (see `onBadImage`). */
  otherFiles?: 'ignore' | 'bad';
}

/** An {@link ImageDataset} read from a folder, with the file each image came from. */
export interface ImageFolderDataset extends ImageDataset {
  /** Path of image `i`, parallel to `labels`. */
  files: string[];
  /** Files left out under `onBadImage: 'skip'`, each with the reason. */
  skipped: Array<{ file: string; reason: string }>;
}

/** How many bad files an error lists by name. */
const BAD_LISTED = 5;

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
  return rgbaToImage(rgba, width, height, channels, name);
}


function listImages(dir: string, exts: Set<string> | undefined, recursive = true): string[] {
  const out: string[] = [];
  const entries = fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const e of entries) {
    if (e.name.startsWith('.')) continue;
    const full = path.join(dir, e.name);
    if (e.isDirectory()) {
      if (recursive) out.push(...listImages(full, exts));
    } else if (e.isFile() && (exts === undefined || exts.has(path.extname(e.name).toLowerCase()))) out.push(full);
  }
  return out;
}

/** Decoded images of `files` in order, or the reason each one failed (a read or decode error, or an extension not in `exts`). */
function decodeFiles(files: readonly string[], channels: 1 | 3, exts: Set<string>): Array<RawImage | { bad: string }> {
  return files.map((file) => {
    if (!exts.has(path.extname(file).toLowerCase())) return { bad: `not an image file (extension not one of ${[...exts].join(', ')})` };
    let buf: Buffer;
    try {
      buf = fs.readFileSync(file);
    } catch (err) {
      return { bad: `unreadable (${(err as NodeJS.ErrnoException).code ?? String(err)})` };
    }
    try {
      return decodeImage(buf, channels, file);
    } catch (err) {
      return { bad: err instanceof EccvkitInputError ? `${describeBad(err)}` : String(err) };
    }
  });
}

function describeBad(err: EccvkitInputError): string {
  return typeof err.value === 'string' ? err.value : err.message;
}

/** Throws the error that lists the first few bad files. */
function throwBad(bad: Array<{ file: string; reason: string }>, total: number): never {
  const listed = bad.slice(0, BAD_LISTED).map((b) => `${b.file}: ${b.reason}`);
  if (bad.length > BAD_LISTED) listed.push(`… and ${bad.length - BAD_LISTED} more`);
  throw new EccvkitInputError('image files', [`${bad.length} of ${total} files are not readable PNG or JPEG images`, ...listed], "only PNG or JPEG images, or onBadImage: 'skip' (--on-bad-image skip) to leave them out");
}

/** Options of {@link loadImageFiles}. */
export type ImageFilesOptions = Pick<ImageFolderOptions, 'size' | 'channels' | 'extensions' | 'onBadImage'>;

/**
 * Decodes `files` (PNG or JPEG) to one `[N, h, w, c]` block: converted to
 * `channels` (default 3), resized to `size` when given, else all of the first
 * image's size. Files that fail are handled as `onBadImage` says; every file
 * is treated as an image whatever its extension.
 * @returns the images, the files kept (in order) and those skipped.
 */
export function loadImageFiles(files: readonly string[], options: ImageFilesOptions = {}): { images: Float32Array; shape: [number, number, number]; files: string[]; skipped: Array<{ file: string; reason: string }> } {
  const channels = options.channels ?? 3;
  check(channels === 1 || channels === 3, 'channels', channels, '1 or 3');
  check(Array.isArray(files) && files.length > 0, 'files', files, 'at least one image file');
  const decoded = decodeFiles(files, channels, new Set(files.map((f) => path.extname(f).toLowerCase())));
  const bad = decoded.flatMap((d, i) => ('bad' in d ? [{ file: files[i] as string, reason: d.bad }] : []));
  if (bad.length > 0 && (options.onBadImage ?? 'fail') === 'fail') throwBad(bad, files.length);
  const kept = files.filter((_, i) => !('bad' in (decoded[i] as object)));
  check(kept.length > 0, 'files', `${files.length} files, none a readable image`, 'at least one readable PNG or JPEG image');
  const { images, shape } = stack(kept, decoded.filter((d): d is RawImage => !('bad' in d)), options.size, channels);
  return { images, shape, files: kept, skipped: bad };
}

/** Stacks decoded images, resizing to `size` or checking that all share the first one's size. */
function stack(files: readonly string[], imgs: RawImage[], size: [number, number] | undefined, channels: 1 | 3): { images: Float32Array; shape: [number, number, number] } {
  let shape: [number, number, number] | undefined = size ? [size[0], size[1], channels] : undefined;
  let images = new Float32Array(0);
  const per = (): number => (shape as [number, number, number]).reduce((a, b) => a * b, 1);
  imgs.forEach((raw, i) => {
    let img = raw;
    const file = files[i] as string;
    if (size) img = resizeImage(img, size);
    else if (shape === undefined) shape = img.shape;
    else if (img.shape[0] !== shape[0] || img.shape[1] !== shape[1]) {
      throw new EccvkitInputError(
        'image file',
        `${file} (${img.shape[0]}×${img.shape[1]})`,
        `${shape[0]}×${shape[1]} like ${files[0]}, or pass size: [h, w] (--image-size) to resize every image`,
      );
    }
    if (i === 0) images = new Float32Array(imgs.length * per());
    images.set(img.data, i * per());
  });
  return { images, shape: shape as [number, number, number] };
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
  const otherFiles = options.otherFiles ?? 'ignore';
  check(otherFiles === 'ignore' || otherFiles === 'bad', 'otherFiles', otherFiles, "'ignore' or 'bad'");
  const onBadImage = options.onBadImage ?? 'fail';
  check(onBadImage === 'fail' || onBadImage === 'skip', 'onBadImage', onBadImage, "'fail' or 'skip'");
  const listed: string[] = [];
  const listedLabels: number[] = [];
  classNames.forEach((cls, label) => {
    const imgs = listImages(path.join(root, cls), otherFiles === 'bad' ? undefined : extSet);
    check(imgs.length > 0, 'class folder', path.join(root, cls), `at least one image with extension ${[...extSet].join(', ')}`);
    for (const f of imgs) {
      listed.push(f);
      listedLabels.push(label);
    }
  });
  const decoded = decodeFiles(listed, channels, extSet);
  const skipped = decoded.flatMap((d, i) => ('bad' in d ? [{ file: listed[i] as string, reason: d.bad }] : []));
  if (skipped.length > 0 && onBadImage === 'fail') throwBad(skipped, listed.length);
  const keep = decoded.map((d) => !('bad' in d));
  const files = listed.filter((_, i) => keep[i]);
  const fileLabels = listedLabels.filter((_, i) => keep[i]);
  classNames.forEach((cls, label) => {
    if (!fileLabels.includes(label)) throw new EccvkitInputError('class folder', path.join(root, cls), 'at least one readable image (every file in it was skipped as unreadable)');
  });
  const { images, shape } = stack(files, decoded.filter((d): d is RawImage => !('bad' in d)), size, channels);

  return {
    name: options.name ?? path.basename(path.resolve(root)),
    images,
    labels: Int32Array.from(fileLabels),
    shape: shape as [number, number, number],
    numClasses: classNames.length,
    classNames,
    files,
    skipped,
  };
}

/**
 * Writes `ds` as an image folder {@link loadImageFolder} reads back:
 * `root/<class name>/<class name>-<k>.png`, one sub-folder per class that has
 * images, values in [0, 1] quantised to 8 bits (grey images as R = G = B, so
 * they read back as one channel). Class names are used as folder names; any
 * `/`, `\` or leading dot is replaced by `_`. Each file is written atomically.
 * @returns the files written, in dataset order.
 */
export function writeImageFolder(ds: ImageDataset, root: string): string[] {
  const [h, w, c] = ds.shape;
  check(c === 1 || c === 3, 'ds.shape', ds.shape, '[h, w, 1 or 3]');
  const per = h * w * c;
  const safe = ds.classNames.map((n) => n.replace(/[/\\]/g, '_').replace(/^\./, '_'));
  const counts = new Map<number, number>();
  const files: string[] = [];
  for (let i = 0; i < ds.labels.length; i++) {
    const label = ds.labels[i] as number;
    const k = counts.get(label) ?? 0;
    counts.set(label, k + 1);
    const png = new PNG({ width: w, height: h });
    for (let p = 0; p < h * w; p++) {
      for (let ch = 0; ch < 3; ch++) {
        const v = ds.images[i * per + p * c + (c === 1 ? 0 : ch)] as number;
        png.data[4 * p + ch] = Math.round(255 * Math.min(1, Math.max(0, v)));
      }
      png.data[4 * p + 3] = 255;
    }
    const name = safe[label] ?? String(label);
    const file = path.join(root, name, `${name}-${String(k).padStart(4, '0')}.png`);
    writeFileAtomic(file, PNG.sync.write(png));
    files.push(file);
  }
  return files;
}
