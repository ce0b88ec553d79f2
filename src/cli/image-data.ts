/**
 * Images for the training and embedding commands (`fewshot pretrain`,
 * `metric train`, `embed`, `fewshot classify --model`): a folder of class
 * sub-folders, the seeded glyphs, Fashion-MNIST, a `.npy` stack, a plain
 * folder of images or one image; the bad-input checks they share (too few
 * classes or images, unreadable files, mixed sizes) and the `--out` folder
 * rule (a new folder, or the same configuration to resume).
 */
import fs from 'node:fs';
import path from 'node:path';
import { Option } from 'commander';
import {
  decodeImage,
  FASHION_MNIST_DEFAULT_DIR,
  generateGlyphs,
  groupByClass,
  IMAGE_EXTENSIONS,
  loadFashionMnist,
  loadImageFiles,
  loadImageFolder,
  resizeImage,
  type ImageDataset,
} from '../data/index.js';
import { check, EccvkitInputError } from '../errors.js';
import { writeFileAtomic } from '../node/fs.js';
import { normalizeImages, type Preprocessing } from '../nn/node/model-folder.js';
import { loadGanImages } from './gan.js';
import { integerOption } from './options.js';

export type BadImagePolicy = 'fail' | 'skip';

/** `--on-bad-image fail|skip`. */
export const badImageOption = (): Option =>
  new Option('--on-bad-image <policy>', 'unreadable or non-image files in a folder: fail (list the first few and stop) or skip them (listed on stderr)').choices(['fail', 'skip']).default('fail');

/** `--image-size` and `--channels` as the commands parse them. */
export interface ImageShapeOptions {
  imageSize?: number;
  channels?: 1 | 3;
}

/** Parses `--image-size <n>` (optional) and `--channels <1|3>` (optional). */
export function imageShapeOptions(opts: { imageSize?: string; channels?: string }): ImageShapeOptions {
  return {
    ...(opts.imageSize === undefined ? {} : { imageSize: integerOption(opts.imageSize, '--image-size', 4) }),
    ...(opts.channels === undefined ? {} : { channels: Number(opts.channels) as 1 | 3 }),
  };
}

const isDir = (p: string): boolean => fs.existsSync(p) && fs.statSync(p).isDirectory();

/** 1 when the folder's first image is grey (R = G = B everywhere), else 3: what a folder gets without `--channels`. */
function detectChannels(files: readonly string[]): 1 | 3 {
  for (const f of files) {
    try {
      const img = decodeImage(fs.readFileSync(f), 3, f);
      for (let p = 0; p < img.data.length; p += 3) if (img.data[p] !== img.data[p + 1] || img.data[p] !== img.data[p + 2]) return 3;
      return 1;
    } catch {
      /* a bad file: try the next; the loader reports it */
    }
  }
  return 3;
}

function firstFiles(root: string, limit = 50): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      if (out.length >= limit || e.name.startsWith('.')) continue;
      const full = path.join(dir, e.name);
      if (e.isDirectory()) walk(full);
      else if (IMAGE_EXTENSIONS.includes(path.extname(e.name).toLowerCase())) out.push(full);
    }
  };
  walk(root);
  return out;
}

/** Warns on stderr about files skipped under `--on-bad-image skip`, naming the first few. */
function warnSkipped(skipped: Array<{ file: string; reason: string }>, log: (m: string) => void): void {
  if (skipped.length === 0) return;
  log(`eccvkit: warning: skipped ${skipped.length} bad file(s): ${skipped.slice(0, 5).map((s) => `${s.file} (${s.reason})`).join('; ')}${skipped.length > 5 ? '; …' : ''}`);
}

/** Options of {@link loadTrainingData}. */
export interface TrainingDataOptions extends ImageShapeOptions {
  onBadImage: BadImagePolicy;
  /** Glyph classes and images per class (for `--data glyphs`). */
  glyphClasses: number;
  glyphPerClass: number;
  seed: number;
  /** Fashion-MNIST folder. */
  dataDir?: string;
  log: (message: string) => void;
}

/**
 * Labelled training images from `--data`: `glyphs` (seeded, `glyphClasses` ×
 * `glyphPerClass`, side `imageSize` or 28), `fashion-mnist` (its training
 * split), or a folder of class sub-folders (resized to `imageSize` when given,
 * else every image must have the first one's size; grey or RGB as the first
 * image, or `channels`).
 */
export function loadTrainingData(spec: string, o: TrainingDataOptions, argument = '--data'): ImageDataset {
  if (spec === 'glyphs') {
    check(o.channels === undefined || o.channels === 1, '--channels', o.channels, '1 for glyphs (they are grey)');
    return generateGlyphs({ classes: o.glyphClasses, perClass: o.glyphPerClass, seed: o.seed, size: o.imageSize ?? 28 });
  }
  if (spec === 'fashion-mnist') {
    check(o.imageSize === undefined || o.imageSize === 28, '--image-size', o.imageSize, '28 (or nothing) for fashion-mnist');
    return loadFashionMnist({ dataDir: o.dataDir ?? FASHION_MNIST_DEFAULT_DIR }).train;
  }
  check(isDir(spec), argument, spec, "'glyphs', 'fashion-mnist' or a folder with one sub-folder of images per class");
  const channels = o.channels ?? detectChannels(firstFiles(spec));
  const ds = loadImageFolder(spec, { channels, onBadImage: o.onBadImage, otherFiles: 'bad', ...(o.imageSize === undefined ? {} : { size: [o.imageSize, o.imageSize] }) });
  warnSkipped(ds.skipped, o.log);
  return ds;
}

/**
 * Checks that `ds` has at least two classes and every class at least `need`
 * images, naming the first class that has fewer, with its count; `why` says what needs them.
 */
export function checkClassCounts(ds: ImageDataset, need: number, why: string, argument = '--data'): void {
  const groups = groupByClass(ds.labels);
  check(groups.size >= 2, argument, `${ds.name} with ${groups.size} class${groups.size === 1 ? '' : 'es'}`, 'at least two classes (one sub-folder of images per class)');
  for (const [c, idx] of groups) {
    if (idx.length < need) throw new EccvkitInputError(argument, `class '${ds.classNames[c] ?? String(c)}' with ${idx.length} image${idx.length === 1 ? '' : 's'}`, `at least ${need} images in every class (${why})`);
  }
}

/** Images read for a model, with labels when they came from class sub-folders. */
export interface ModelInputs {
  /** N·h·w·c values, preprocessed for the model. */
  images: Float32Array;
  count: number;
  shape: [number, number, number];
  /** Class id of each image (class folders, sorted by name), or undefined. */
  labels?: Int32Array;
  classNames?: string[];
  /** The file of each image (folders and single images). */
  files?: string[];
}

function convertChannels(data: Float32Array, n: number, from: number, to: 1 | 3): Float32Array {
  if (from === to) return data;
  const px = data.length / from;
  const out = new Float32Array(px * to);
  for (let p = 0; p < px; p++) {
    if (to === 1) out[p] = 0.299 * (data[3 * p] as number) + 0.587 * (data[3 * p + 1] as number) + 0.114 * (data[3 * p + 2] as number);
    else out[3 * p] = out[3 * p + 1] = out[3 * p + 2] = data[p] as number;
  }
  void n;
  return out;
}

/**
 * Reads `spec` for a model whose inputs need `pre`: a folder of class
 * sub-folders (labelled), a plain folder of images, one image file, or a
 * `.npy` of [N, H, W(, C)] images in [0, 1] (or uint8), each resized to
 * `pre.size`, converted to `pre.channels` and normalised as the card says.
 */
export function loadModelInputs(spec: string, pre: Preprocessing, onBadImage: BadImagePolicy, argument: string, log: (m: string) => void): ModelInputs {
  const [h, w] = pre.size;
  const c = pre.channels;
  const per = h * w * c;
  check(fs.existsSync(spec), argument, spec, 'an existing image file, folder of images, folder of class sub-folders, or .npy file');
  if (!isDir(spec) && spec.toLowerCase().endsWith('.npy')) {
    const ds = loadGanImages(spec, {});
    const [sh, sw, sc] = ds.shape;
    const n = ds.labels.length;
    const images = new Float32Array(n * per);
    for (let i = 0; i < n; i++) {
      const one = convertChannels(ds.images.subarray(i * sh * sw * sc, (i + 1) * sh * sw * sc), 1, sc, c);
      images.set(resizeImage({ data: one, shape: [sh, sw, c] }, [h, w]).data, i * per);
    }
    return { images: normalizeImages(images, pre), count: n, shape: [h, w, c] };
  }
  if (isDir(spec)) {
    const hasClasses = fs.readdirSync(spec, { withFileTypes: true }).some((e) => e.isDirectory() && !e.name.startsWith('.'));
    if (hasClasses) {
      const ds = loadImageFolder(spec, { size: [h, w], channels: c, onBadImage, otherFiles: 'bad' });
      warnSkipped(ds.skipped, log);
      return { images: normalizeImages(ds.images, pre), count: ds.labels.length, shape: [h, w, c], labels: ds.labels, classNames: ds.classNames, files: ds.files };
    }
    const files = fs
      .readdirSync(spec, { withFileTypes: true })
      .filter((e) => e.isFile() && !e.name.startsWith('.'))
      .map((e) => path.join(spec, e.name))
      .sort();
    check(files.length > 0, argument, spec, 'a folder holding images (or one sub-folder of images per class)');
    const r = loadImageFiles(files, { size: [h, w], channels: c, onBadImage });
    warnSkipped(r.skipped, log);
    return { images: normalizeImages(r.images, pre), count: r.files.length, shape: [h, w, c], files: r.files };
  }
  const r = loadImageFiles([spec], { size: [h, w], channels: c, onBadImage: 'fail' });
  return { images: normalizeImages(r.images, pre), count: 1, shape: [h, w, c], files: r.files };
}

/**
 * The `--out` rule of the training commands (as `gan train`): a new or empty
 * folder gets `config.json`; a folder whose `config.json` equals `config` is
 * resumed (returns true); anything else is refused, naming what differs,
 * and nothing is written.
 */
export function claimOutFolder(out: string, config: Record<string, unknown>, command: string): boolean {
  const file = path.join(out, 'config.json');
  if (fs.existsSync(file)) {
    let stored: Record<string, unknown>;
    try {
      stored = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
    } catch {
      throw new EccvkitInputError('--out', out, `a new folder, or one written by ${command} (its config.json is not valid JSON)`);
    }
    if (stored.command !== command) throw new EccvkitInputError('--out', out, `a new folder, or one written by ${command} (it holds a ${String(stored.command ?? 'different tool')} run)`);
    const differing = Object.keys({ ...stored, ...config }).filter((k) => JSON.stringify(stored[k]) !== JSON.stringify(config[k]));
    if (differing.length > 0)
      throw new EccvkitInputError('--out', out, `a new folder, or the options of the run it holds (differs in ${differing.map((k) => `${k}: ${JSON.stringify(stored[k])} there, ${JSON.stringify(config[k])} now`).join('; ')})`);
    return true;
  }
  if (fs.existsSync(out)) {
    check(isDir(out) && fs.readdirSync(out).length === 0, '--out', out, `a new or empty folder (it exists and holds files that are not a ${command} run; nothing was overwritten)`);
  }
  fs.mkdirSync(out, { recursive: true });
  writeFileAtomic(file, JSON.stringify(config, null, 1));
  return false;
}
