/**
 * Fashion-MNIST (Xiao, Rasul and Vollgraf 2017): 70,000 28×28 gray images of
 * ten clothing classes, read from its four IDX files. By default from
 * `/usr/share/datasets/fashion-mnist`, where Debian's `dataset-fashion-mnist`
 * installs them gzipped (`train-images-idx3-ubyte.gz`, …).
 */
import fs from 'node:fs';
import path from 'node:path';
import { EccvkitInputError, check } from '../../errors.js';
import type { ImageDataset } from '../dataset.js';
import { readIdx } from './idx.js';

/** Where Debian's `dataset-fashion-mnist` package installs the IDX files. */
export const FASHION_MNIST_DEFAULT_DIR = '/usr/share/datasets/fashion-mnist';

/** Fashion-MNIST class names, by label id 0..9. */
export const FASHION_MNIST_CLASSES: readonly string[] = [
  'T-shirt/top',
  'Trouser',
  'Pullover',
  'Dress',
  'Coat',
  'Sandal',
  'Shirt',
  'Sneaker',
  'Bag',
  'Ankle boot',
];

/** The four IDX files, by role, without the optional `.gz` suffix. */
export const FASHION_MNIST_FILES = {
  trainImages: 'train-images-idx3-ubyte',
  trainLabels: 'train-labels-idx1-ubyte',
  testImages: 't10k-images-idx3-ubyte',
  testLabels: 't10k-labels-idx1-ubyte',
} as const;

type Role = keyof typeof FASHION_MNIST_FILES;

/** Options of {@link loadFashionMnist}. */
export interface FashionMnistOptions {
  /** Folder holding the four IDX files (plain or `.gz`); default {@link FASHION_MNIST_DEFAULT_DIR}. */
  dataDir?: string;
}

function candidates(base: string): string[] {
  // The canonical names, and the "train-images.idx3-ubyte" spelling some unzip tools produce.
  const dotted = base.replace(/-(idx\d-ubyte)$/, '.$1');
  return [base, `${base}.gz`, dotted, `${dotted}.gz`];
}

function findFiles(dir: string): { found: Partial<Record<Role, string>>; missing: string[] } {
  const found: Partial<Record<Role, string>> = {};
  const missing: string[] = [];
  for (const [role, base] of Object.entries(FASHION_MNIST_FILES) as Array<[Role, string]>) {
    const hit = candidates(base)
      .map((f) => path.join(dir, f))
      .find((f) => {
        try {
          return fs.statSync(f).isFile();
        } catch {
          return false;
        }
      });
    if (hit) found[role] = hit;
    else missing.push(`${base}(.gz)`);
  }
  return { found, missing };
}

/** True when `dataDir` (default {@link FASHION_MNIST_DEFAULT_DIR}) holds all four Fashion-MNIST IDX files. */
export function fashionMnistAvailable(dataDir: string = FASHION_MNIST_DEFAULT_DIR): boolean {
  return findFiles(dataDir).missing.length === 0;
}

function split(name: string, imagesFile: string, labelsFile: string): ImageDataset {
  const img = readIdx(imagesFile);
  check(img.dtype === 'uint8' && img.shape.length === 3, `images file ${imagesFile}`, `${img.dtype} [${img.shape.join(', ')}]`, 'uint8 images [N, rows, cols] (an idx3-ubyte file)');
  const lab = readIdx(labelsFile);
  check(lab.dtype === 'uint8' && lab.shape.length === 1, `labels file ${labelsFile}`, `${lab.dtype} [${lab.shape.join(', ')}]`, 'uint8 labels [N] (an idx1-ubyte file)');
  const [n, h, w] = img.shape as [number, number, number];
  check(lab.shape[0] === n, `labels file ${labelsFile}`, `${lab.shape[0]} labels`, `${n} labels, one per image in ${imagesFile}`);
  const labels = Int32Array.from(lab.data);
  labels.forEach((l, i) => {
    if (l >= 10) throw new EccvkitInputError(`labels file ${labelsFile}`, `label ${l} at index ${i}`, 'labels 0..9');
  });
  const images = new Float32Array(img.data.length);
  const src = img.data;
  for (let k = 0; k < src.length; k++) images[k] = (src[k] as number) / 255;
  return { name, images, labels, shape: [h, w, 1], numClasses: 10, classNames: [...FASHION_MNIST_CLASSES] };
}

/**
 * Loads Fashion-MNIST's train (60,000) and test (10,000) splits as
 * {@link ImageDataset}s named `"fashion-mnist-train"` / `"fashion-mnist-test"`:
 * shape [28, 28, 1], pixel values divided by 255, labels 0..9 named by
 * {@link FASHION_MNIST_CLASSES}. Each file may be plain or gzipped.
 *
 * @throws EccvkitInputError naming the folder and the missing files when any of
 *   the four is absent, with how to get them; or when a file is malformed.
 */
export function loadFashionMnist(options: FashionMnistOptions = {}): { train: ImageDataset; test: ImageDataset } {
  const dir = options.dataDir ?? FASHION_MNIST_DEFAULT_DIR;
  check(typeof dir === 'string' && dir.length > 0, 'dataDir (--data-dir)', dir, 'a folder path');
  const { found, missing } = findFiles(dir);
  if (missing.length > 0) {
    throw new EccvkitInputError(
      'dataDir (--data-dir)',
      dir,
      `a folder holding the four Fashion-MNIST IDX files (missing: ${missing.join(', ')}); ` +
        `install them with \`apt-get install dataset-fashion-mnist\` (into ${FASHION_MNIST_DEFAULT_DIR}) or pass --data-dir with a folder holding ` +
        `${Object.values(FASHION_MNIST_FILES).join(', ')} (each plain or .gz)`,
    );
  }
  const f = found as Record<Role, string>;
  return {
    train: split('fashion-mnist-train', f.trainImages, f.trainLabels),
    test: split('fashion-mnist-test', f.testImages, f.testLabels),
  };
}
