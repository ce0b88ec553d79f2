/**
 * Trained-model folders: tfjs's own `model.json` + `weights.bin` (so
 * `tf.loadLayersModel` in a browser reads them unchanged) beside an
 * `eccvkit.json` card that says what trained the model, the class names of
 * its data and the preprocessing its inputs need (size, channels,
 * normalisation), so that embedding new images applies the same steps.
 * Node-only, like `io.ts`. Folders are written atomically.
 */
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { tf } from '../../engine/index.js';
import { check, EccvkitInputError } from '../../errors.js';
import { writeDirAtomic } from '../../node/fs.js';
import { loadModel, saveModel } from '../io.js';

/** The card's file name. */
export const MODEL_CARD_FILE = 'eccvkit.json';
/** The card's `format` field. */
export const MODEL_CARD_FORMAT = 'eccvkit-model';

/**
 * How an image becomes a model input: decoded to `channels` with values in
 * [0, 1] (pixel / 255), resized to `size` ([h, w]), then `(v − mean[c]) / std[c]` per channel.
 */
export interface Preprocessing {
  size: [h: number, w: number];
  channels: 1 | 3;
  mean: number[];
  std: number[];
}

/** What `eccvkit.json` holds. */
export interface ModelCard {
  format: typeof MODEL_CARD_FORMAT;
  version: 1;
  /** What the model is: an RFS-pretrained classifier, an RFS-distill generation, or a metric-learning embedding. */
  kind: 'fewshot-pretrain' | 'fewshot-distill' | 'metric-embedding';
  /** The eccvkit version that wrote it. */
  eccvkit: string;
  /** The command and its resolved options. */
  trainedBy: { command: string; options: Record<string, unknown> };
  /** Class names of the training data, in label order. */
  classNames: string[];
  preprocessing: Preprocessing;
  /** Layer names: the embedding (`features`) and, for classifiers, the class scores (`logits`). */
  layers: { features: string; logits?: string };
  /** Final numbers of the run (validation accuracy, MAP@R, …). */
  metrics?: Record<string, number>;
}

/** The installed eccvkit version (for `ModelCard.eccvkit`). */
export function eccvkitVersion(): string {
  const require = createRequire(import.meta.url);
  return (require('../../../package.json') as { version: string }).version;
}

/** Identity preprocessing for `size`, `channels`: values stay in [0, 1]. */
export function unitPreprocessing(size: [number, number], channels: 1 | 3): Preprocessing {
  return { size, channels, mean: Array.from({ length: channels }, () => 0), std: Array.from({ length: channels }, () => 1) };
}

/** Applies the card's normalisation `(v − mean) / std` per channel to NHWC values in [0, 1], in place; returns them. */
export function normalizeImages(images: Float32Array, p: Preprocessing): Float32Array {
  const c = p.channels;
  if (p.mean.every((m) => m === 0) && p.std.every((s) => s === 1)) return images;
  for (let i = 0; i < images.length; i++) images[i] = ((images[i] as number) - (p.mean[i % c] as number)) / (p.std[i % c] as number);
  return images;
}

/** Writes `model` and its card to `dir` atomically (a temporary folder renamed over the old one). */
export async function writeModelFolder(dir: string, model: tf.LayersModel, card: Omit<ModelCard, 'format' | 'version' | 'eccvkit'>): Promise<void> {
  const full: ModelCard = { format: MODEL_CARD_FORMAT, version: 1, eccvkit: eccvkitVersion(), ...card };
  await writeDirAtomic(dir, async (tmp) => {
    await saveModel(model, tmp);
    fs.writeFileSync(path.join(tmp, MODEL_CARD_FILE), JSON.stringify(full, null, 1));
  });
}

/**
 * Writes `model` and its card into `dir` itself, beside other files a run
 * keeps there (config.json, checkpoint/): a complete temporary folder is
 * written first, then its files are renamed in, `eccvkit.json` last, so a
 * folder with a card holds the model it describes.
 */
export async function writeModelInto(dir: string, model: tf.LayersModel, card: Omit<ModelCard, 'format' | 'version' | 'eccvkit'>): Promise<void> {
  const tmp = path.join(dir, '.model-tmp');
  await writeModelFolder(tmp, model, card);
  const rank = (f: string) => (f === MODEL_CARD_FILE ? 2 : f === 'model.json' ? 1 : 0);
  for (const f of fs.readdirSync(tmp).sort((a, b) => rank(a) - rank(b))) fs.renameSync(path.join(tmp, f), path.join(dir, f));
  fs.rmdirSync(tmp);
}

function checkPreprocessing(p: unknown, where: string): asserts p is Preprocessing {
  const q = p as Preprocessing;
  check(
    q !== null &&
      typeof q === 'object' &&
      Array.isArray(q.size) &&
      q.size.length === 2 &&
      q.size.every((d) => Number.isInteger(d) && d > 0) &&
      (q.channels === 1 || q.channels === 3) &&
      Array.isArray(q.mean) &&
      q.mean.length === q.channels &&
      Array.isArray(q.std) &&
      q.std.length === q.channels &&
      q.std.every((s) => typeof s === 'number' && s > 0),
    where,
    p,
    '{ size: [h, w], channels: 1 | 3, mean: [one per channel], std: [one positive per channel] }',
  );
}

/**
 * Reads `dir/eccvkit.json`; `null` when the folder holds a tfjs `model.json`
 * without one (a model from elsewhere). `argument` names the option in errors.
 * @throws EccvkitInputError when there is no `model.json`, or the card is not an eccvkit model card.
 */
export function readModelCard(dir: string, argument = '--model'): ModelCard | null {
  check(fs.existsSync(path.join(dir, 'model.json')), argument, dir, 'a folder holding a tfjs model.json (an eccvkit model folder, or any tfjs layers model)');
  const file = path.join(dir, MODEL_CARD_FILE);
  if (!fs.existsSync(file)) return null;
  let card: ModelCard;
  try {
    card = JSON.parse(fs.readFileSync(file, 'utf8')) as ModelCard;
  } catch (err) {
    throw new EccvkitInputError(argument, `${file} (${(err as Error).message})`, `valid JSON in ${MODEL_CARD_FILE}`);
  }
  check(card !== null && typeof card === 'object' && card.format === MODEL_CARD_FORMAT, argument, `${file} with format ${JSON.stringify((card as { format?: unknown } | null)?.format)}`, `an eccvkit model folder (${MODEL_CARD_FILE} with format "${MODEL_CARD_FORMAT}"), e.g. from eccvkit fewshot pretrain or eccvkit metric train`);
  check(card.version === 1, argument, `${file} version ${card.version}`, 'version 1');
  checkPreprocessing(card.preprocessing, `${argument} ${MODEL_CARD_FILE} preprocessing`);
  check(card.layers !== null && typeof card.layers === 'object' && typeof card.layers.features === 'string', `${argument} ${MODEL_CARD_FILE} layers`, card.layers, '{ features: layer name, logits?: layer name }');
  return card;
}

/** A loaded model folder: the model and its card (`null` for a plain tfjs model). */
export interface LoadedModelFolder {
  model: tf.LayersModel;
  card: ModelCard | null;
}

/** Loads a model folder written by {@link writeModelFolder}, or any folder with a tfjs layers-model `model.json`. */
export async function loadModelFolder(dir: string, argument = '--model'): Promise<LoadedModelFolder> {
  const card = readModelCard(dir, argument);
  let format: unknown;
  try {
    format = (JSON.parse(fs.readFileSync(path.join(dir, 'model.json'), 'utf8')) as { format?: unknown }).format;
  } catch (err) {
    throw new EccvkitInputError(argument, `${path.join(dir, 'model.json')} (${(err as Error).message})`, 'a valid tfjs model.json');
  }
  check(format === undefined || format === 'layers-model', argument, `${dir} (model.json format ${JSON.stringify(format)})`, 'a tfjs layers model (format "layers-model"); graph models from the converter have no named layers to embed with');
  const model = await loadModel(dir);
  return { model, card };
}

/**
 * A model from `model`'s input to layer `name` (sharing weights), its output
 * flattened to `[batch, features]`. `features` and `logits` are looked up in
 * the card first. Throws, listing the layers, when there is no such layer.
 */
export function layerModel(model: tf.LayersModel, name: string, card: ModelCard | null, argument = '--layer'): tf.LayersModel {
  const resolved = name === 'features' || name === 'logits' ? (card?.layers[name] ?? name) : name;
  let layer: tf.layers.Layer | undefined;
  try {
    layer = model.getLayer(resolved);
  } catch {
    layer = undefined;
  }
  if (layer === undefined) throw new EccvkitInputError(argument, name, `a layer of the model: ${model.layers.map((l) => l.name).join(', ')}`);
  let out = layer.output as tf.SymbolicTensor;
  check(!Array.isArray(out), argument, name, 'a layer with one output');
  if (out.shape.length > 2) out = tf.layers.flatten().apply(out) as tf.SymbolicTensor;
  return out === model.outputs[0] ? model : tf.model({ inputs: model.inputs, outputs: out, name: `${model.name}_${resolved}` });
}
