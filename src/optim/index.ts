/**
 * Gradient Centralization (Yong et al., ECCV 2020) for TensorFlow.js: the
 * operator for tfjs kernel layouts and drop-in optimizers (SGD, momentum,
 * Adam, AdamW) that apply it, on the gradient (GC) or on the update (GC2).
 * @packageDocumentation
 */
export {
  centralizeGradient,
  gcReduceAxes,
  gcApplies,
  defaultParameterKind,
  GC_MODES,
  GC_KINDS,
  type GcMode,
  type GcKind,
  type GcParameterKind,
  type CentralizeOptions,
} from './centralize.js';
export {
  GcOptimizer,
  GcSGD,
  GcMomentum,
  GcAdam,
  GcAdamW,
  GC_TARGETS,
  type GcTarget,
  type GcOptimizerOptions,
  type GcSGDOptions,
  type GcMomentumOptions,
  type GcAdamOptions,
  type GcAdamWOptions,
} from './optimizers.js';
