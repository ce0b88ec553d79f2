/**
 * Data: `.npy` and IDX readers, the embedded MNIST digits, Fashion-MNIST, image
 * folders, splits and seeded samplers.
 */
export { parseNpy, encodeNpy, readNpy, writeNpy, npyArray, npyToFloat32, npyToInt32Labels, type NpyArray, type NpyDtype, type NpyDataTypes } from './npy.js';
export { parseIdx, readIdx, isGzip, type IdxArray, type IdxDtype } from './idx.js';
export { type ImageDataset, datasetSize, checkLabels, checkIndices, checkImageDataset, groupByClass, subset, padImages } from './dataset.js';
export { toTensors } from './tensors.js';
export { loadMnistDigits, mnistDigitsDir, MNIST_DIGIT_COUNTS } from './mnist.js';
export {
  loadFashionMnist,
  fashionMnistAvailable,
  FASHION_MNIST_DEFAULT_DIR,
  FASHION_MNIST_CLASSES,
  FASHION_MNIST_FILES,
  type FashionMnistOptions,
} from './fashion-mnist.js';
export {
  loadImageFolder,
  loadImageFiles,
  writeImageFolder,
  decodeImage,
  resizeImage,
  IMAGE_EXTENSIONS,
  type ImageFolderOptions,
  type ImageFolderDataset,
  type ImageFilesOptions,
  type RawImage,
} from './image-folder.js';
export { stratifiedSplit, classDisjointSplit, partitionClasses, kFoldClasses, type ClassDisjointOptions, type ClassFold } from './splits.js';
export {
  MPerClassSampler,
  EpisodeSampler,
  BatchSampler,
  shuffledBatches,
  type MPerClassOptions,
  type EpisodeOptions,
  type Episode,
  type BatchSamplerOptions,
} from './samplers.js';
export { generateGlyphs, type GlyphOptions } from './glyphs.js';
export { generateShapes, renderShapes, shapesFactorSpec, SHAPES_VARIANTS, SHAPE_KINDS, SHAPES_SUPERSAMPLE, type ShapesVariant, type ShapesDataset, type ShapesOptions, type ShapesRenderOptions, type ShapesFactorSpec } from './shapes.js';
export { generateMasks, floodFillBetti, MASK_KINDS, type MaskKind, type MaskDataset, type MaskOptions } from './masks.js';
export { renderMicrograph, type MicrographOptions } from './micrograph.js';
export { loadMaskFolder, type MaskFolderOptions } from './mask-folder.js';
