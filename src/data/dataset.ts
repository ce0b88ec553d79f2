/**
 * The in-memory image dataset every loader returns, and label helpers shared by
 * the splits and samplers.
 */
import { EccvkitInputError, check } from '../errors.js';

/**
 * A labelled image dataset held in plain typed arrays.
 *
 * `images` holds `N·H·W·C` values in [0, 1], NHWC order (image-major, then rows,
 * columns, channels); `labels[i]` in `[0, numClasses)` is the class of image `i`
 * and `classNames[labels[i]]` its name.
 */
export interface ImageDataset {
  name: string;
  /** N·H·W·C values in [0, 1], NHWC. */
  images: Float32Array;
  labels: Int32Array;
  shape: [h: number, w: number, c: number];
  numClasses: number;
  classNames: string[];
}

/** Number of images in `ds`. */
export function datasetSize(ds: ImageDataset): number {
  return ds.labels.length;
}

/**
 * Checks that `labels` are non-negative integers below 2^31 and returns them as
 * an Int32Array (the same array when it already is one).
 * @param argument how errors name the input; default `"labels"`.
 */
export function checkLabels(labels: ArrayLike<number>, argument = 'labels'): Int32Array {
  check(labels !== null && typeof labels === 'object' && typeof labels.length === 'number', argument, labels, 'an array of integer class labels');
  for (let i = 0; i < labels.length; i++) {
    const v = labels[i] as number;
    if (!(Number.isInteger(v) && v >= 0 && v < 2 ** 31)) throw new EccvkitInputError(`${argument}[${i}]`, v, 'a non-negative integer class label below 2^31');
  }
  return labels instanceof Int32Array ? labels : Int32Array.from(labels);
}

/**
 * Groups sample indices by class: a map from each label present (in ascending
 * label order) to the ascending indices carrying it.
 */
export function groupByClass(labels: ArrayLike<number>, argument = 'labels'): Map<number, Int32Array> {
  const ls = checkLabels(labels, argument);
  const counts = new Map<number, number>();
  for (const l of ls) counts.set(l, (counts.get(l) ?? 0) + 1);
  const classes = [...counts.keys()].sort((a, b) => a - b);
  const out = new Map<number, Int32Array>();
  const fill = new Map<number, number>();
  for (const c of classes) {
    out.set(c, new Int32Array(counts.get(c) as number));
    fill.set(c, 0);
  }
  for (let i = 0; i < ls.length; i++) {
    const c = ls[i] as number;
    const k = fill.get(c) as number;
    (out.get(c) as Int32Array)[k] = i;
    fill.set(c, k + 1);
  }
  return out;
}

/** Checks `indices` are integers in [0, n) and returns them as an Int32Array. */
export function checkIndices(indices: ArrayLike<number>, n: number, argument = 'indices'): Int32Array {
  check(indices !== null && typeof indices === 'object' && typeof indices.length === 'number', argument, indices, 'an array of sample indices');
  for (let k = 0; k < indices.length; k++) {
    const v = indices[k] as number;
    if (!(Number.isInteger(v) && v >= 0 && v < n)) throw new EccvkitInputError(`${argument}[${k}]`, v, `an integer index in [0, ${n})`);
  }
  return indices instanceof Int32Array ? indices : Int32Array.from(indices);
}

/** Checks the internal consistency of an {@link ImageDataset} (sizes, label range, class names). */
export function checkImageDataset(ds: ImageDataset, argument = 'dataset'): void {
  check(ds !== null && typeof ds === 'object', argument, ds, 'an ImageDataset { name, images, labels, shape, numClasses, classNames }');
  check(ds.images instanceof Float32Array, `${argument}.images`, ds.images, 'a Float32Array');
  check(ds.labels instanceof Int32Array, `${argument}.labels`, ds.labels, 'an Int32Array');
  check(
    Array.isArray(ds.shape) && ds.shape.length === 3 && ds.shape.every((d) => Number.isInteger(d) && d > 0),
    `${argument}.shape`,
    ds.shape,
    '[h, w, c] with positive integers',
  );
  const per = ds.shape[0] * ds.shape[1] * ds.shape[2];
  check(ds.images.length === ds.labels.length * per, `${argument}.images`, ds.images, `${ds.labels.length} × ${per} values (labels × h·w·c)`);
  check(Number.isInteger(ds.numClasses) && ds.numClasses > 0, `${argument}.numClasses`, ds.numClasses, 'a positive integer');
  check(ds.classNames.length === ds.numClasses, `${argument}.classNames`, ds.classNames, `${ds.numClasses} names`);
  for (let i = 0; i < ds.labels.length; i++) {
    const l = ds.labels[i] as number;
    if (l < 0 || l >= ds.numClasses) throw new EccvkitInputError(`${argument}.labels[${i}]`, l, `a class id in [0, ${ds.numClasses})`);
  }
}

/**
 * The images and labels at `indices` (in that order, repeats allowed) as a new
 * dataset with copied arrays; class ids and names are kept as they are.
 * @param name the new dataset's name; default `"<ds.name>[subset]"`.
 */
export function subset(ds: ImageDataset, indices: ArrayLike<number>, name = `${ds.name}[subset]`): ImageDataset {
  const idx = checkIndices(indices, ds.labels.length);
  const per = ds.shape[0] * ds.shape[1] * ds.shape[2];
  const images = new Float32Array(idx.length * per);
  const labels = new Int32Array(idx.length);
  for (let k = 0; k < idx.length; k++) {
    const i = idx[k] as number;
    images.set(ds.images.subarray(i * per, (i + 1) * per), k * per);
    labels[k] = ds.labels[i] as number;
  }
  return { name, images, labels, shape: [...ds.shape], numClasses: ds.numClasses, classNames: [...ds.classNames] };
}

/**
 * The dataset with every image centred on a `size`×`size` canvas filled with
 * `value` (default 0, the background of digits): how 28×28 MNIST meets a
 * generator whose side is a power of two (StyleGAN grows from 4×4 to 32×32).
 */
export function padImages(ds: ImageDataset, size: number, value = 0): ImageDataset {
  const [h, w, c] = ds.shape;
  check(Number.isInteger(size) && size >= Math.max(h, w), 'size', size, `an integer ≥ the images' side (${h}×${w})`);
  if (size === h && size === w) return ds;
  const top = Math.floor((size - h) / 2);
  const left = Math.floor((size - w) / 2);
  const n = ds.labels.length;
  const images = new Float32Array(n * size * size * c).fill(value);
  for (let i = 0; i < n; i++)
    for (let y = 0; y < h; y++) {
      const from = ((i * h + y) * w) * c;
      images.set(ds.images.subarray(from, from + w * c), ((i * size + y + top) * size + left) * c);
    }
  return { ...ds, images, shape: [size, size, c] };
}
