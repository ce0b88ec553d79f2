/**
 * GAN core: losses with domain scaling, Lipschitz regularisers, the Hessian
 * penalty, a training loop and classifier-feature sample metrics; plus the
 * DCGAN nets and SpectralNorm from `nn/`.
 */
export { GAN_LOSSES, ganLoss, type GanLoss, type GanLossName } from './losses.js';
export { WGAN_GP_LAMBDA, R1_GAMMA, WGAN_CLIP, gradientPenalty, r1Penalty, clipWeights, criticInputGradient, assertSecondOrderGradients, type Critic } from './penalties.js';
export { hessianPenalty, hessianPenaltyPerLayer, rademacher, type HessianPenaltyOptions, type HessianTarget } from './hessian-penalty.js';
export { frechetDistance, frechetDistanceFromMoments, kernelInceptionDistance, precisionRecall, type Features, type KidOptions } from './metrics.js';
export { symmetricEigen, symmetricSqrt, meanAndCovariance, matMulSquare, type SquareMatrix, type SymmetricEigen } from './linalg.js';
export { GanTrainer, trainGan, lossesDiverged, type CriticRegulariser, type GanTrainerOptions, type GanStepLosses, type GanProgress, type TrainGanOptions } from './train.js';
export { SpectralNorm, spectralNorm, estimateSpectralNorm, type SpectralNormArgs } from '../nn/spectral-norm.js';
export { dcganGenerator, dcganDiscriminator, GAN_IMAGE_SIZES, type GanImageSize, type GeneratorOptions, type DiscriminatorOptions } from '../nn/gan-nets.js';
