/**
 * The run store: runs, configs, per-step metrics, final metrics, artifacts and
 * checkpoints in one SQLite database (`runs/eccvkit.db` by default).
 * @packageDocumentation
 */
export { canonicalJson, hashConfig } from './hash.js';
export {
  DEFAULT_KEEP_CHECKPOINTS,
  DEFAULT_STORE_PATH,
  RUN_STATUSES,
  RunStore,
  type Artifact,
  type Checkpoint,
  type MetricPoint,
  type RunRecord,
  type RunStatus,
} from './run-store.js';
