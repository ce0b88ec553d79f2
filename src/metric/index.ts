/**
 * Metric learning after "A Metric Learning Reality Check" (Musgrave, Belongie &
 * Lim, ECCV 2020) and pytorch-metric-learning: distances, reducers, losses,
 * miners, exact retrieval accuracy (P@1, R-precision, MAP@R, MRR, NMI) and a trainer.
 * Samplers (`MPerClassSampler`) live in the data module.
 */
export { Distance, LpDistance, CosineSimilarity, DotProductSimilarity, SNRDistance, l2Normalize, makeDistance, DISTANCE_NAMES, type DistanceName, type DistanceOptions, type LpDistanceOptions } from './distances.js';
export { Reducer, MeanReducer, ThresholdReducer, AvgNonZeroReducer, DivisorReducer, PerAnchorReducer, reduceTerms, type LossTerm, type LossTerms, type ReducerSpec, type ReductionType } from './reducers.js';
export { allPairs, allTriplets, toPairs, toTriplets, tupleWeights, type PairIndices, type TripletIndices, type IndicesTuple } from './tuples.js';
export { MetricLoss, maskedLogSumExp, type LossOptions } from './loss-base.js';
export { useFusedLosses, fusedLossesAvailable, type FusedLossSpec } from './fused.js';
export {
  ContrastiveLoss,
  SignalToNoiseRatioContrastiveLoss,
  TripletMarginLoss,
  MultiSimilarityLoss,
  NTXentLoss,
  SupConLoss,
  LiftedStructureLoss,
  CircleLoss,
  MarginLoss,
  FastAPLoss,
  type ContrastiveOptions,
  type SnrContrastiveOptions,
  type TripletMarginOptions,
  type MultiSimilarityOptions,
  type TemperatureOptions,
  type LiftedStructureOptions,
  type CircleOptions,
  type MarginOptions,
  type FastAPOptions,
} from './losses.js';
export {
  WeightLoss,
  ProxyAnchorLoss,
  ProxyNCALoss,
  NormalizedSoftmaxLoss,
  CosFaceLoss,
  ArcFaceLoss,
  SoftTripleLoss,
  type WeightLossOptions,
  type ProxyAnchorOptions,
  type ProxyNCAOptions,
  type NormalizedSoftmaxOptions,
  type MarginSoftmaxOptions,
  type SoftTripleOptions,
} from './weight-losses.js';
export { Miner, MultiSimilarityMiner, TripletMarginMiner, PairMarginMiner, BatchHardMiner, type MinerOptions, type MultiSimilarityMinerOptions, type TripletMarginMinerOptions, type PairMarginMinerOptions } from './miners.js';
export { accuracy, scoreRetrieved, type AccuracyMetrics, type AccuracyResult, type AccuracyOptions, type QueryScores } from './accuracy.js';
export { kMeans, normalizedMutualInfo, type KMeansOptions } from './clustering.js';
export { forEachDistanceRow, kSmallestIndices, kthSmallest, rankRow, type RankedRow } from './knn.js';
export { makeLoss, makeMiner, parseOptionSettings, LOSS_OPTIONS, MINER_OPTIONS, MINER_NAMES, type MinerName, type OptionValue, LOSS_NAMES, PAIR_LOSS_NAMES, WEIGHT_LOSS_NAMES, type LossName, type PairLossName, type WeightLossName } from './registry.js';
export { checkEmbeddings, toLabelArray, type LabelsInput } from './inputs.js';
export { trainMetricModel, MetricTrainer, validationMapAtR, embed, type MetricTrainerState, type TrainMetricOptions, type TrainMetricResult, type TrainEpoch, type IndexBatchSource } from './trainer.js';
