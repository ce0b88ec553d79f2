/**
 * Few-shot classification with a good embedding (RFS, Tian et al., ECCV 2020):
 * episode classifiers on feature matrices, episode evaluation with 95%
 * confidence intervals, backbone pretraining, self-distillation and a
 * Prototypical Networks baseline.
 */
export { toFeatureMatrix, l2NormalizeRows, selectRows, type FeatureMatrix, type FeaturesInput } from './features.js';
export { fitLogisticRegression, predictLogistic, logisticObjective, type LogisticModel, type LogisticOptions } from './logistic.js';
export {
  classifyEpisode,
  classifyMatrices,
  checkSupportLabels,
  prototypes,
  CLASSIFIER_NAMES,
  type ClassifierName,
  type ClassifyOptions,
  type ClassifyResult,
} from './classifiers.js';
export { evaluateEpisodes, checkClassSizes, type EpisodeMethod, type EpisodeEvalOptions, type EpisodeAccuracy } from './episodes.js';
export {
  augmentImages,
  skipAugmentDraws,
  trainClassifier,
  ClassifierTrainer,
  classBalancedAccuracy,
  type ClassifierEpoch,
  trainProtoNet,
  embedDataset,
  stepLearningRate,
  type AugmentOptions,
  type ClassifierTrainOptions,
  type ProtoNetTrainOptions,
  type EmbedOptions,
} from './train.js';
export { conv4, resnet12, featureExtractor, FEATURES_LAYER, LOGITS_LAYER, type BackboneOptions, type Conv4Options, type ResNet12Options } from '../nn/backbones.js';
export { DropBlock, type DropBlockArgs } from '../nn/dropblock.js';
