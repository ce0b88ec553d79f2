/**
 * Hyperparameter search, define-by-run as Optuna: studies and trials, the
 * random, TPE and grid samplers, the median and successive-halving pruners,
 * and the in-memory storage. This core imports no Node module (it runs in a
 * browser); the SQLite and PostgreSQL storages for several processes or
 * machines are in `hpo/storage/` (Node only).
 * @packageDocumentation
 */
export {
  categoricalDistribution,
  contains,
  describeDistribution,
  floatDistribution,
  intDistribution,
  sameDistribution,
  type CategoricalChoice,
  type CategoricalDistribution,
  type Distribution,
  type FloatDistribution,
  type IntDistribution,
  type ParamValue,
} from './distributions.js';
export { bestOf, STUDY_DIRECTIONS, TRIAL_STATES, type BestTrial, type FrozenTrial, type IntermediateValue, type StudyDirection, type StudyRecord, type TrialState } from './types.js';
export { InMemoryStorage, TrialNotHeldError, type FinishedState, type StudyStorage } from './storage.js';
export { GridSampler, RandomSampler, sampleUniform, type Sampler, type SamplerContext, type TrialStart } from './samplers.js';
export { defaultGamma, defaultWeights, TPESampler, type TPEOptions } from './tpe.js';
export { MedianPruner, NopPruner, SuccessiveHalvingPruner, type MedianPrunerOptions, type Pruner, type PrunerContext, type SuccessiveHalvingOptions } from './pruners.js';
export { createStudy, makeSampler, SAMPLER_NAMES, Study, Trial, TrialPruned, type OptimizeOptions, type OptimizeResult, type SamplerName, type StudyOptions } from './study.js';
export {
  collectUnits,
  enqueueUnits,
  isUnitStudy,
  registerUnitKind,
  runOneUnit,
  runWorker,
  unitKinds,
  unitStudyName,
  type UnitContext,
  type UnitFunction,
  type UnitJson,
  type UnitOutcome,
  type UnitSpec,
  type WorkerOptions,
} from './units.js';
