/**
 * Users' own masks (CREMI / ISBI12 patches, road maps, vessel segmentations):
 * a folder of mask images, binarised at a threshold, with their Betti numbers.
 * Node only (reads files); decoding is {@link loadImageFiles}'.
 */
import fs from 'node:fs';
import path from 'node:path';
import { check } from '../../errors.js';
import { IMAGE_EXTENSIONS, loadImageFiles } from './image-folder.js';
import { floodFillBetti, type MaskDataset } from '../masks.js';

/** Options of {@link loadMaskFolder}. */
export interface MaskFolderOptions {
  /** Grey level in [0, 1] above which a pixel is structure (value 1); default 0.5. */
  threshold?: number;
  /** When true, pixels at or below the threshold are the structure (dark membranes on white cells, as CREMI's label images); default false. */
  invert?: boolean;
  /** Resize every image to `size × size` before binarising; default: keep sizes, which must then all agree. */
  size?: number;
  /** Unreadable files: `fail` (default) or `skip` (listed in `skipped`). */
  onBadImage?: 'fail' | 'skip';
}

function listMaskFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    if (e.name.startsWith('.')) continue;
    const full = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...listMaskFiles(full));
    else if (e.isFile() && IMAGE_EXTENSIONS.includes(path.extname(e.name).toLowerCase())) out.push(full);
  }
  return out;
}

/**
 * Reads every PNG or JPEG under `root` (sub-folders included, sorted by path) as
 * a grey mask, resized to `size` when given, and binarises it: 1 where the grey
 * level is above `threshold` (or at most, with `invert`), else 0. Betti numbers
 * are recorded as {@link generateMasks} does.
 * @throws EccvkitInputError when `root` is not a folder or holds no image, a threshold outside [0, 1], a bad size, an unreadable file, or (without `size`) images of different sizes
 */
export function loadMaskFolder(root: string, options: MaskFolderOptions = {}): MaskDataset & { files: string[]; skipped: Array<{ file: string; reason: string }> } {
  const threshold = options.threshold ?? 0.5;
  check(Number.isFinite(threshold) && threshold >= 0 && threshold <= 1, 'threshold', threshold, 'a number in [0, 1] (grey levels are scaled to [0, 1])');
  if (options.size !== undefined) check(Number.isInteger(options.size) && options.size >= 1, 'size', options.size, 'an integer ≥ 1');
  let isDir = false;
  try {
    isDir = fs.statSync(root).isDirectory();
  } catch {
    /* reported below */
  }
  check(isDir, 'mask folder', root, 'an existing folder of mask images (PNG or JPEG)');
  const listed = listMaskFiles(root);
  check(listed.length > 0, 'mask folder', root, `a folder holding mask images (${IMAGE_EXTENSIONS.join(', ')}); found none`);
  const loaded = loadImageFiles(listed, { channels: 1, onBadImage: options.onBadImage ?? 'fail', ...(options.size === undefined ? {} : { size: [options.size, options.size] }) });
  const [h, w] = loaded.shape;
  const n = loaded.files.length;
  const images = new Float32Array(loaded.images.length);
  for (let i = 0; i < images.length; i++) images[i] = (loaded.images[i] as number) > threshold !== (options.invert ?? false) ? 1 : 0;
  const betti = new Int32Array(2 * n);
  for (let i = 0; i < n; i++) {
    const [b0, b1] = floodFillBetti(images.subarray(i * h * w, (i + 1) * h * w), h, w);
    betti[2 * i] = b0;
    betti[2 * i + 1] = b1;
  }
  return { name: path.basename(path.resolve(root)), kind: 'folder', images, labels: new Int32Array(n), shape: [h, w, 1], numClasses: 1, classNames: ['mask'], betti, files: loaded.files, skipped: loaded.skipped };
}
