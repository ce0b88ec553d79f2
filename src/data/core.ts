/**
 * The platform-free part of `data`: `.npy` parsing and encoding from bytes,
 * dataset checks, seeded generators (glyphs, shapes, masks, micrographs),
 * splits and samplers. No Node module; `index.ts` adds the file readers.
 */
export { parseNpy, encodeNpy, npyArray, npyToFloat32, npyToInt32Labels, type NpyArray, type NpyDtype, type NpyDataTypes } from './npy.js';
export { type ImageDataset, datasetSize, checkLabels, checkIndices, checkImageDataset, groupByClass, subset, padImages } from './dataset.js';
export { toTensors } from './tensors.js';
export { imageDataToImage, resizeImage, rgbaToImage, type RawImage } from './pixels.js';
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
