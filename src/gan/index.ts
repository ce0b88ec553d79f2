/**
 * GAN core: losses with domain scaling, Lipschitz regularisers, the Hessian
 * penalty, a training loop (with the penalty and the InfoGAN baseline),
 * classifier-feature sample metrics, disentanglement metrics and direction
 * discovery; plus the DCGAN nets, SpectralNorm and the factor predictor from `nn/`.
 */
export { GAN_LOSSES, ganLoss, type GanLoss, type GanLossName } from './losses.js';
export { WGAN_GP_LAMBDA, R1_GAMMA, WGAN_CLIP, gradientPenalty, r1Penalty, clipWeights, criticInputGradient, assertSecondOrderGradients, type Critic } from './penalties.js';
export { hessianPenalty, hessianPenaltyPerLayer, rademacher, type HessianPenaltyOptions, type HessianTarget } from './hessian-penalty.js';
export { frechetDistance, frechetDistanceFromMoments, kernelInceptionDistance, precisionRecall, modelFeatures, type Features, type KidOptions } from './metrics.js';
export { symmetricEigen, symmetricSqrt, meanAndCovariance, matMulSquare, type SquareMatrix, type SymmetricEigen } from './linalg.js';
export {
  GanTrainer,
  trainGan,
  lossesDiverged,
  normalisationOutputsModel,
  type CriticRegulariser,
  type GanTrainerOptions,
  type GanStepLosses,
  type GanProgress,
  type TrainGanOptions,
  type GeneratorHessianPenalty,
  type InfoGanOptions,
} from './train.js';
export {
  discretize,
  mutualInfo,
  entropy,
  mutualInformationGap,
  dciFromImportance,
  dci,
  hessianDiagonalness,
  activeness,
  perceptualPathLength,
  type SampleMatrix,
  type MigOptions,
  type MigResult,
  type DciScores,
  type DciOptions,
  type DciResult,
  type LatentGenerator,
  type DiagonalnessOptions,
  type DiagonalnessResult,
  type ActivenessOptions,
  type PplOptions,
  type PplResult,
} from './disentanglement.js';
export {
  gramSchmidt,
  discoverDirections,
  latentTraversal,
  DIRECTION_INITS,
  type DirectionInit,
  type DiscoverDirectionsOptions,
  type DiscoveredDirections,
  type LatentTraversalOptions,
  type LatentTraversal,
} from './directions.js';
export { SpectralNorm, spectralNorm, estimateSpectralNorm, type SpectralNormArgs } from '../nn/spectral-norm.js';
export { dcganGenerator, dcganDiscriminator, dcganDiscriminatorWithQ, GAN_IMAGE_SIZES, type GanImageSize, type GeneratorOptions, type DiscriminatorOptions, type DiscriminatorWithQOptions } from '../nn/gan-nets.js';
export { FactorPredictor, trainFactorPredictor, factorScores, type FactorData, type FactorPredictorMeta, type FactorScore, type TrainFactorPredictorOptions } from '../nn/factor-predictor.js';
