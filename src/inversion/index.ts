/**
 * In-domain GAN inversion (Zhu et al., ECCV 2020): the domain-guided and
 * traditional encoders, domain-regularised optimisation, semantic diffusion,
 * interpolation, InterFaceGAN boundaries and editing, style mixing and digit
 * attributes; plus the style-based generator from `nn/` they work on.
 */
export { PerceptualFeatures, type PerceptualOptions } from './perceptual.js';
export {
  generatorFingerprint,
  encoderNetwork,
  StyleEncoder,
  saveEncoder,
  loadEncoder,
  EncoderTrainer,
  trainEncoder,
  ENCODER_DEFAULTS,
  ENCODER_META_FILE,
  type EncoderKind,
  type EncoderMeta,
  type EncoderNetworkOptions,
  type EncoderTrainerOptions,
  type EncoderStepLosses,
  type TrainEncoderOptions,
} from './encoder.js';
export {
  invert,
  inversionLossTerms,
  evaluateCodes,
  diffuse,
  INVERSION_DEFAULTS,
  type InversionSpace,
  type InversionLosses,
  type InversionLossOptions,
  type InversionProgress,
  type InvertOptions,
  type InversionResult,
  type DiffuseOptions,
} from './invert.js';
export { interpolate, fitBoundary, layerwiseBoundary, boundaryTensor, manipulate, mixStyles, type Boundary, type BoundaryFitOptions, type FittedBoundary, type ManipulateOptions } from './edit.js';
export { digitThickness, digitSlant } from './attributes.js';
export {
  StyleGenerator,
  styleGenerator,
  saveStyleGenerator,
  loadStyleGenerator,
  isStyleGeneratorDir,
  styleLayerCount,
  STYLE_IMAGE_SIZES,
  STYLE_CONFIG_FILE,
  PixelNorm,
  EqualizedDense,
  LatentRow,
  ConstantInput,
  AdaptiveInstanceNorm,
  FixedNoise,
  type StyleGeneratorOptions,
  type StyleGeneratorConfig,
} from '../nn/style-gan.js';
