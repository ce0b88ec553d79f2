/** Every experiment registers itself on import; this module imports them all. */
import './mnist-baseline.js';
import './gc-ablation.js';
import './metric-reality-check.js';
import './lipschitz-domain-scaling.js';
import './fewshot-rfs.js';
import './hessian-penalty.js';
import './idinvert.js';
import './topogan.js';
import './claims/index.js';

export * from './registry.js';
export * from './runner.js';
export { mnistBaseline, mnistConvNet, wilsonInterval, type MnistBaselineConfig } from './mnist-baseline.js';
export { buildReport, writeStoreReport } from './report.js';
export { claimRow, claimRows, claimsOf, claimsTableText, combineVerdict, registerClaims, VERDICTS, type ClaimAssessment, type ClaimRow, type ExperimentClaims, type Verdict } from './claims.js';
export { gcAblation, gcAblationNet, gcVerdict, GC_ABLATION_ARMS, type GcAblationConfig } from './gc-ablation.js';
export { metricRealityCheck, glyphEmbeddingNet, realityCheckFindings, contiguousClassFolds, SEARCH_SPACES, PAPER_CUB_VAL_MAP_AT_R, type MetricRealityCheckConfig, type SearchParam } from './metric-reality-check.js';
export { lipschitzDomainScaling, domainScalingFindings, fdSpread, type DomainScalingCell, type LipschitzDomainScalingConfig } from './lipschitz-domain-scaling.js';
export { fewshotRfs, RFS_PUBLISHED, type FewshotRfsConfig } from './fewshot-rfs.js';
export { hessianPenaltyExperiment, hessianPenaltyFindings, directionEffects, HESSIAN_ARMS, DIRECTION_METHODS, type HessianPenaltyConfig, type ArmResult, type DirectionResult, type DirectionEffects } from './hessian-penalty.js';
export { interval, intervalDirection, fmt, fmtInterval } from './intervals.js';
export { idInvertExperiment, idInvertFindings, INVERSION_METHODS, type IdInvertConfig, type MethodResult, type InversionMethod } from './idinvert.js';
export { topoGanExperiment, topoGanFindings, topoGanCellUnit, releaseTopoGanUnitData, bettiBins, TOPOGAN_ARMS, TOPOGAN_DATASETS, TOPOGAN_DIMS, TOPOGAN_PAPER, type TopoGanConfig, type TopoGanCell, type TopoGanArm, type TopoGanDataset, type TopoGanRealStage, type TopoScores } from './topogan.js';
