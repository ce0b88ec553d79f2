/**
 * Saving and loading tfjs models and optimizer state as files without
 * `@tensorflow/tfjs-node` (whose `file://` handler is the usual way). The
 * layout is tfjs's own: `model.json` (topology + weights manifest) beside
 * `weights.bin`, so `tf.loadLayersModel` in a browser or tfjs-node reads it too.
 * Files are written atomically, through the platform's files (Node's); a
 * model can also go to or come from any tfjs IO handler (in a browser:
 * `tf.io.browserDownloads()`, `'indexeddb://name'`, `tf.io.browserFiles`).
 */
import { tf } from '../engine/core.js';
import { EccvkitInputError } from '../errors.js';
import { platformFiles } from '../platform.js';

const MODEL_JSON = 'model.json';
const WEIGHTS_BIN = 'weights.bin';
const OPTIMIZER_JSON = 'optimizer.json';
const OPTIMIZER_BIN = 'optimizer.bin';

function concatBytes(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}

function joinWeights(data: tf.io.WeightData | undefined): ArrayBuffer {
  if (data === undefined) return new ArrayBuffer(0);
  return tf.io.CompositeArrayBuffer.join(data);
}

/** A tfjs IOHandler that writes `model.json` and `weights.bin` into `dir`. */
export function fileSaveHandler(dir: string): tf.io.IOHandler {
  return {
    save: async (artifacts: tf.io.ModelArtifacts): Promise<tf.io.SaveResult> => {
      const fs = platformFiles('saving a model to a folder');
      fs.makeDirs(dir);
      const weights = joinWeights(artifacts.weightData);
      const modelJson = {
        modelTopology: artifacts.modelTopology,
        format: artifacts.format ?? 'layers-model',
        generatedBy: artifacts.generatedBy,
        convertedBy: artifacts.convertedBy ?? null,
        trainingConfig: artifacts.trainingConfig,
        userDefinedMetadata: artifacts.userDefinedMetadata,
        weightsManifest: [{ paths: [`./${WEIGHTS_BIN}`], weights: artifacts.weightSpecs ?? [] }],
      };
      fs.writeFileAtomic(fs.join(dir, WEIGHTS_BIN), new Uint8Array(weights));
      fs.writeFileAtomic(fs.join(dir, MODEL_JSON), JSON.stringify(modelJson));
      return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(artifacts) };
    },
  };
}

/** A tfjs IOHandler that reads a model saved by {@link fileSaveHandler} (or by tfjs-node's `file://`). */
export function fileLoadHandler(dir: string): tf.io.IOHandler {
  return {
    load: async (): Promise<tf.io.ModelArtifacts> => {
      const fs = platformFiles('loading a model from a folder');
      const jsonPath = fs.join(dir, MODEL_JSON);
      if (!fs.exists(jsonPath)) throw new EccvkitInputError('model directory', dir, `a folder containing ${MODEL_JSON} and its weight files`);
      const json = JSON.parse(fs.readText(jsonPath)) as tf.io.ModelJSON;
      const specs: tf.io.WeightsManifestEntry[] = [];
      const buffers: Uint8Array[] = [];
      for (const group of json.weightsManifest ?? []) {
        specs.push(...group.weights);
        for (const p of group.paths) buffers.push(fs.readFile(fs.join(dir, p)));
      }
      const all = concatBytes(buffers);
      return {
        modelTopology: json.modelTopology,
        format: json.format,
        generatedBy: json.generatedBy,
        convertedBy: json.convertedBy,
        trainingConfig: json.trainingConfig,
        userDefinedMetadata: json.userDefinedMetadata,
        weightSpecs: specs,
        weightData: all.buffer as ArrayBuffer,
      };
    },
  };
}

/** Saves a LayersModel's topology and weights to the folder `dir`, or through a tfjs IO handler (a browser's `tf.io.browserDownloads()`, `'indexeddb://name'`). */
export async function saveModel(model: tf.LayersModel, dir: string | tf.io.IOHandler): Promise<void> {
  await model.save(typeof dir === 'string' && !isUrl(dir) ? fileSaveHandler(dir) : dir);
}

/** True for a URL (`http://…`, `indexeddb://…`), which the loaders read through tfjs and fetch rather than the platform's files. */
export function isUrl(location: string): boolean {
  return location.includes('://');
}

/**
 * A saved folder's side file (a generator's `style.json`, an encoder's `encoder.json`): read from the
 * folder, or fetched beside `model.json` when `location` is a URL of the folder (`http://…/generator/`).
 * Throws an {@link EccvkitInputError} naming `argument` when it is missing.
 */
export async function readSideFile(location: string, name: string, argument: string, expected: string): Promise<string> {
  if (isUrl(location)) {
    const url = new URL(name, location.endsWith('/') ? location : `${location}/`).href;
    let response: Response;
    try {
      response = await fetch(url);
    } catch (err) {
      throw new EccvkitInputError(argument, location, `${expected} (fetching ${url} failed: ${err instanceof Error ? err.message : String(err)})`);
    }
    if (!response.ok) throw new EccvkitInputError(argument, location, `${expected} (${url}: HTTP ${response.status})`);
    return response.text();
  }
  const files = platformFiles(`reading ${name} from a folder`);
  const file = files.join(location, name);
  if (!files.exists(file)) throw new EccvkitInputError(argument, location, expected);
  return files.readText(file);
}

/** `model.json` of a saved folder, or of the folder a URL names. */
export function modelLocation(location: string): string {
  return isUrl(location) ? new URL('model.json', location.endsWith('/') ? location : `${location}/`).href : location;
}

/** Loads a LayersModel saved with {@link saveModel}: from a folder, or through a tfjs IO handler or URL (`'indexeddb://name'`, `http://…/model.json`). */
export async function loadModel(dir: string | tf.io.IOHandler): Promise<tf.LayersModel> {
  return tf.loadLayersModel(typeof dir === 'string' && !isUrl(dir) ? fileLoadHandler(dir) : dir);
}

/** Sets `model`'s weights to those of the model saved in `dir` (a folder, URL or IO handler; same architecture), freeing the loaded copy. */
export async function loadWeightsInto(model: tf.LayersModel, dir: string | tf.io.IOHandler): Promise<void> {
  const loaded = await loadModel(dir);
  try {
    model.setWeights(loaded.getWeights());
  } finally {
    loaded.dispose();
  }
}

/**
 * Running products Adam-style optimizers keep (β₁ᵗ, β₂ᵗ). tfjs's `setWeights`
 * rebuilds them as pow(β, t + 1), which differs in the last bits from the
 * product the optimizer stepped, so they are saved as they are and a resumed
 * run stays bit-identical to an uninterrupted one.
 */
const RUNNING_PRODUCTS = ['accBeta1', 'accBeta2'] as const;

/** Saves an optimizer's state (moments, iteration counters, Adam's running β products) to `dir`. */
export async function saveOptimizerState(optimizer: tf.Optimizer, dir: string): Promise<void> {
  const named = await optimizer.getWeights();
  const { data, specs } = await tf.io.encodeWeights(named);
  // getWeights() makes a fresh scalar for the iteration count ('iter'); the rest are the optimizer's own variables.
  tf.dispose(named.filter((w) => w.name === 'iter').map((w) => w.tensor));
  const scalars: Record<string, number> = {};
  for (const key of RUNNING_PRODUCTS) {
    const v = (optimizer as unknown as Record<string, unknown>)[key];
    if (v instanceof tf.Variable) scalars[key] = v.dataSync()[0] as number;
  }
  const fs = platformFiles('saving optimizer state to a folder');
  fs.makeDirs(dir);
  fs.writeFileAtomic(fs.join(dir, OPTIMIZER_BIN), new Uint8Array(joinWeights(data)));
  fs.writeFileAtomic(fs.join(dir, OPTIMIZER_JSON), JSON.stringify({ className: optimizer.getClassName(), specs, scalars }));
}

/**
 * Restores optimizer state saved with {@link saveOptimizerState}. The optimizer
 * must be of the same class and must already have seen the same variables
 * (apply one step or call this before the first step: tfjs creates the slots from the state).
 */
export async function loadOptimizerState(optimizer: tf.Optimizer, dir: string): Promise<void> {
  const fs = platformFiles('loading optimizer state from a folder');
  const jsonPath = fs.join(dir, OPTIMIZER_JSON);
  if (!fs.exists(jsonPath)) throw new EccvkitInputError('optimizer state', dir, `a folder containing ${OPTIMIZER_JSON}`);
  const meta = JSON.parse(fs.readText(jsonPath)) as { className: string; specs: tf.io.WeightsManifestEntry[]; scalars?: Record<string, number> };
  if (meta.className !== optimizer.getClassName()) {
    throw new EccvkitInputError('optimizer', optimizer.getClassName(), `the optimizer class the state was saved from (${meta.className})`);
  }
  const buf = fs.readFile(fs.join(dir, OPTIMIZER_BIN));
  const map = tf.io.decodeWeights(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength) as ArrayBuffer, meta.specs);
  const named = meta.specs.map((s) => ({ name: s.name, tensor: map[s.name] as tf.Tensor }));
  try {
    await optimizer.setWeights(named);
    for (const [key, value] of Object.entries(meta.scalars ?? {})) {
      const v = (optimizer as unknown as Record<string, unknown>)[key];
      if ((RUNNING_PRODUCTS as readonly string[]).includes(key) && v instanceof tf.Variable) tf.tidy(() => v.assign(tf.scalar(value)));
    }
  } finally {
    // setWeights copies into fresh variables; the decoded tensors are ours to free.
    tf.dispose(Object.values(map));
  }
}
