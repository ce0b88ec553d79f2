/**
 * The seam between eccvkit's platform-free core and the platform it runs on.
 *
 * The core (engine core, `metric`, `fewshot`, `gan`, `inversion`, `topology`,
 * `optim`, `nn`, `hpo` samplers, data generators) imports no Node module, so
 * one build runs in Node and in a browser. What it needs from a platform, it
 * asks for here: files for the few classes that save to and load from a
 * folder (GAN and encoder checkpoints, model folders), environment settings,
 * and optional accelerated routines (the native addon's neighbour ranking).
 * The Node entry (`eccvkit/node`, which `src/engine/index.ts` loads) fills
 * these in with `node:fs` and the addon; the browser entry leaves files out,
 * so a folder path there fails with a message that says what to use instead.
 */
import { EccvkitError } from './errors.js';

/** Synchronous file access on paths, as the core's folder-based save and load need it. */
export interface PlatformFiles {
  readFile(file: string): Uint8Array;
  readText(file: string): string;
  exists(file: string): boolean;
  /** Creates a folder and its missing parents. */
  makeDirs(dir: string): void;
  /** Plain (non-atomic) write, for files inside a folder that is itself renamed into place. */
  writeFile(file: string, data: string | Uint8Array): void;
  /** Writes through a temporary sibling and a rename, so a reader never sees half a file. */
  writeFileAtomic(file: string, data: string | Uint8Array): void;
  /** Fills a fresh temporary folder, then renames it over `dir`. */
  writeDirAtomic(dir: string, fill: (tmpDir: string) => Promise<void> | void): Promise<void>;
  list(dir: string): string[];
  rename(from: string, to: string): void;
  removeEmptyDir(dir: string): void;
  join(...parts: string[]): string;
}

/**
 * Ranks the rows of one block of squared distances in native code: see
 * `rankNeighbours` in `metric/knn.ts` for the contract. Node's native backend
 * provides it; elsewhere the JavaScript ranking runs.
 */
export type RankRowsFn = (
  query: Float32Array,
  ref: Float32Array,
  querySq: Float32Array,
  refSq: Float32Array,
  k: Int32Array,
  queryLabels: Int32Array,
  refLabels: Int32Array,
  outTop: Int32Array,
  outFirst: Int32Array,
  scratch: Float32Array,
  /** [rows, refRows, dim, kStride, selfOffset (−1: the query is not the reference)] */
  params: Int32Array,
) => void;

/** What a platform entry installs. Every field is optional: the core has a fallback or a clear error for each. */
export interface Platform {
  /** `node` or `browser`, for messages. */
  name: string;
  files?: PlatformFiles;
  /** An environment setting (`ECCVKIT_BACKEND` and the like); browsers have none. */
  env?: (name: string) => string | undefined;
  /** Native neighbour ranking, when the running backend has it. */
  rankRows?: () => RankRowsFn | undefined;
}

let current: Platform = { name: 'core' };

/** Installs what the platform provides (merged over what an earlier call installed). */
export function setPlatform(platform: Platform): void {
  current = { ...current, ...platform };
}

/** The platform installed so far (`name: 'core'` when no entry installed one). */
export function platform(): Platform {
  return current;
}

/**
 * The platform's files, for `what` (a phrase such as "saving a model to a
 * folder"). Throws, naming it, where there are none (a browser): there,
 * models save and load through tfjs IO handlers (`tf.io.browserDownloads()`,
 * `indexeddb://…`, `tf.io.browserFiles`).
 */
export function platformFiles(what: string): PlatformFiles {
  const files = current.files;
  if (files === undefined) {
    throw new EccvkitError(
      `${what} needs a file system, which this platform (${current.name}) does not have: in a browser, save and load models through tfjs IO handlers (tf.io.browserDownloads(), 'indexeddb://name', tf.io.browserFiles), and in Node import eccvkit (or eccvkit/node), which provides files`,
    );
  }
  return files;
}

/** An environment setting, or undefined where the platform has none. */
export function platformEnv(name: string): string | undefined {
  return current.env?.(name);
}
