/** Losses by name, with their library defaults (for the CLI, configs and experiments). */
import { check, EccvkitInputError } from '../errors.js';
import { DISTANCE_NAMES, makeDistance, type DistanceName } from './distances.js';
import type { MetricLoss } from './loss-base.js';
import { BatchHardMiner, MultiSimilarityMiner, PairMarginMiner, TripletMarginMiner, type Miner } from './miners.js';
import {
  CircleLoss,
  ContrastiveLoss,
  FastAPLoss,
  LiftedStructureLoss,
  MarginLoss,
  MultiSimilarityLoss,
  NTXentLoss,
  SignalToNoiseRatioContrastiveLoss,
  SupConLoss,
  TripletMarginLoss,
} from './losses.js';
import { ArcFaceLoss, CosFaceLoss, NormalizedSoftmaxLoss, ProxyAnchorLoss, ProxyNCALoss, SoftTripleLoss } from './weight-losses.js';

/** Losses that need only embeddings and labels. */
export const PAIR_LOSS_NAMES = ['contrastive', 'triplet', 'multi_similarity', 'ntxent', 'supcon', 'lifted_structure', 'circle', 'margin', 'fastap', 'snr_contrastive'] as const;
/** Losses that own weights and need the number of classes and the embedding size. */
export const WEIGHT_LOSS_NAMES = ['proxy_anchor', 'proxy_nca', 'normalized_softmax', 'cosface', 'arcface', 'soft_triple'] as const;
export type PairLossName = (typeof PAIR_LOSS_NAMES)[number];
export type WeightLossName = (typeof WEIGHT_LOSS_NAMES)[number];
export type LossName = PairLossName | WeightLossName;
export const LOSS_NAMES: readonly LossName[] = [...PAIR_LOSS_NAMES, ...WEIGHT_LOSS_NAMES];

/** A scalar option value as `--set key=value` gives it. */
export type OptionValue = number | boolean | string;
type OptionKind = 'number' | 'boolean' | 'distance' | readonly string[];

const DISTANCE: OptionKind = 'distance';
/**
 * The scalar options of every loss (pytorch-metric-learning's names in camel
 * case): what {@link makeLoss}'s `settings` and `--set key=value` accept.
 * `distance` takes a name of {@link DISTANCE_NAMES}.
 */
export const LOSS_OPTIONS: Record<LossName, Record<string, OptionKind>> = {
  contrastive: { posMargin: 'number', negMargin: 'number', distance: DISTANCE },
  triplet: { margin: 'number', swap: 'boolean', smoothLoss: 'boolean', distance: DISTANCE },
  multi_similarity: { alpha: 'number', beta: 'number', base: 'number', distance: DISTANCE },
  ntxent: { temperature: 'number', distance: DISTANCE },
  supcon: { temperature: 'number', distance: DISTANCE },
  lifted_structure: { posMargin: 'number', negMargin: 'number', distance: DISTANCE },
  circle: { m: 'number', gamma: 'number', distance: DISTANCE },
  margin: { margin: 'number', nu: 'number', beta: 'number', learnBeta: 'boolean', numClasses: 'number', distance: DISTANCE },
  fastap: { numBins: 'number', distance: DISTANCE },
  snr_contrastive: { posMargin: 'number', negMargin: 'number', zeroMeanWeight: 'number' },
  proxy_anchor: { margin: 'number', alpha: 'number', distance: DISTANCE },
  proxy_nca: { softmaxScale: 'number', distance: DISTANCE },
  normalized_softmax: { temperature: 'number', distance: DISTANCE },
  cosface: { margin: 'number', scale: 'number', distance: DISTANCE },
  arcface: { margin: 'number', scale: 'number', distance: DISTANCE },
  soft_triple: { centersPerClass: 'number', la: 'number', gamma: 'number', margin: 'number', distance: DISTANCE },
};

/** Miners by name. */
export const MINER_NAMES = ['multi_similarity', 'triplet_margin', 'pair_margin', 'batch_hard'] as const;
export type MinerName = (typeof MINER_NAMES)[number];

/** The scalar options of every miner, as {@link LOSS_OPTIONS}. */
export const MINER_OPTIONS: Record<MinerName, Record<string, OptionKind>> = {
  multi_similarity: { epsilon: 'number', distance: DISTANCE },
  triplet_margin: { margin: 'number', typeOfTriplets: ['all', 'hard', 'semihard', 'easy'], distance: DISTANCE },
  pair_margin: { posMargin: 'number', negMargin: 'number', distance: DISTANCE },
  batch_hard: { distance: DISTANCE },
};

/** Checks `settings` against `spec` (naming `what` and listing the options on an unknown key) and turns a distance name into a Distance. */
function resolveOptions(what: string, spec: Record<string, OptionKind>, settings: Record<string, OptionValue>): Record<string, unknown> {
  check(settings !== null && typeof settings === 'object', 'settings', settings, 'an object of option values');
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(settings)) {
    const kind = spec[key];
    if (kind === undefined) throw new EccvkitInputError(`${what} option`, key, Object.keys(spec).length ? `one of ${Object.keys(spec).join(', ')}` : 'no options (this one takes none)');
    if (kind === 'number') check(typeof value === 'number' && Number.isFinite(value), `${what} option ${key}`, value, 'a finite number');
    else if (kind === 'boolean') check(typeof value === 'boolean', `${what} option ${key}`, value, 'true or false');
    else if (kind === 'distance') {
      check((DISTANCE_NAMES as readonly string[]).includes(String(value)), `${what} option ${key}`, value, `one of ${DISTANCE_NAMES.join(', ')}`);
      out[key] = makeDistance(value as DistanceName);
      continue;
    } else check((kind as readonly string[]).includes(String(value)), `${what} option ${key}`, value, `one of ${(kind as readonly string[]).join(', ')}`);
    out[key] = value;
  }
  return out;
}

/** Parses `key=value` texts (`--set margin=0.1`): numbers, `true`/`false`, else the text. */
export function parseOptionSettings(items: readonly string[], argument = '--set'): Record<string, OptionValue> {
  const out: Record<string, OptionValue> = {};
  for (const item of items) {
    const eq = item.indexOf('=');
    check(eq > 0, argument, item, 'key=value, e.g. margin=0.1');
    const key = item.slice(0, eq).trim();
    const text = item.slice(eq + 1).trim();
    out[key] = text === 'true' ? true : text === 'false' ? false : text !== '' && Number.isFinite(Number(text)) ? Number(text) : text;
  }
  return out;
}

/** A miner by name with its defaults, overridden by `settings` (see {@link MINER_OPTIONS}). */
export function makeMiner(name: MinerName, settings: Record<string, OptionValue> = {}): Miner {
  check((MINER_NAMES as readonly string[]).includes(name), 'miner', name, `one of ${MINER_NAMES.join(', ')}`);
  const o = resolveOptions(`miner ${name}`, MINER_OPTIONS[name], settings);
  switch (name) {
    case 'multi_similarity':
      return new MultiSimilarityMiner(o);
    case 'triplet_margin':
      return new TripletMarginMiner(o);
    case 'pair_margin':
      return new PairMarginMiner(o);
    default:
      return new BatchHardMiner(o);
  }
}

/**
 * A loss by name with the library's defaults, overridden by `settings`
 * (scalar options by name, see {@link LOSS_OPTIONS}; an unknown key is an
 * error listing the valid ones). Weight losses need `sizes` (classes,
 * embedding size) and take `seed` for their initial weights.
 */
export function makeLoss(name: LossName, sizes?: { numClasses: number; embeddingSize: number; seed?: number }, settings: Record<string, OptionValue> = {}): MetricLoss {
  check((LOSS_NAMES as readonly string[]).includes(name), 'loss', name, `one of ${LOSS_NAMES.join(', ')}`);
  const o = resolveOptions(`loss ${name}`, LOSS_OPTIONS[name], settings);
  if ((WEIGHT_LOSS_NAMES as readonly string[]).includes(name)) {
    check(sizes !== undefined, 'sizes', sizes, `{ numClasses, embeddingSize } for the ${name} loss, which owns weights`);
    const { numClasses, embeddingSize, seed = 0 } = sizes;
    switch (name as WeightLossName) {
      case 'proxy_anchor':
        return new ProxyAnchorLoss(numClasses, embeddingSize, { ...o, seed });
      case 'proxy_nca':
        return new ProxyNCALoss(numClasses, embeddingSize, { ...o, seed });
      case 'normalized_softmax':
        return new NormalizedSoftmaxLoss(numClasses, embeddingSize, { ...o, seed });
      case 'cosface':
        return new CosFaceLoss(numClasses, embeddingSize, { ...o, seed });
      case 'arcface':
        return new ArcFaceLoss(numClasses, embeddingSize, { ...o, seed });
      case 'soft_triple':
        return new SoftTripleLoss(numClasses, embeddingSize, { ...o, seed });
    }
  }
  switch (name as PairLossName) {
    case 'contrastive':
      return new ContrastiveLoss(o);
    case 'triplet':
      return new TripletMarginLoss(o);
    case 'multi_similarity':
      return new MultiSimilarityLoss(o);
    case 'ntxent':
      return new NTXentLoss(o);
    case 'supcon':
      return new SupConLoss(o);
    case 'lifted_structure':
      return new LiftedStructureLoss(o);
    case 'circle':
      return new CircleLoss(o);
    case 'margin':
      return new MarginLoss(o);
    case 'fastap':
      return new FastAPLoss(o);
    default:
      return new SignalToNoiseRatioContrastiveLoss(o);
  }
}
