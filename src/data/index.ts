/**
 * Data: the platform-free core (`core.ts`: `.npy` from bytes, generators,
 * splits, samplers) plus Node's readers: `.npy` and IDX files, the embedded
 * MNIST digits, Fashion-MNIST, image folders and mask folders.
 */
export * from './core.js';
export { readNpy, writeNpy } from './node/npy-file.js';
export { parseIdx, readIdx, isGzip, type IdxArray, type IdxDtype } from './node/idx.js';
export { loadMnistDigits, mnistDigitsDir, MNIST_DIGIT_COUNTS } from './node/mnist.js';
export {
  loadFashionMnist,
  fashionMnistAvailable,
  FASHION_MNIST_DEFAULT_DIR,
  FASHION_MNIST_CLASSES,
  FASHION_MNIST_FILES,
  type FashionMnistOptions,
} from './node/fashion-mnist.js';
export {
  loadImageFolder,
  loadImageFiles,
  writeImageFolder,
  decodeImage,
  IMAGE_EXTENSIONS,
  type ImageFolderOptions,
  type ImageFolderDataset,
  type ImageFilesOptions,
} from './node/image-folder.js';
export { loadMaskFolder, type MaskFolderOptions } from './node/mask-folder.js';
