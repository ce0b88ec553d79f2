/** Losses by name, with their library defaults (for the CLI, configs and experiments). */
import { check } from '../errors.js';
import type { MetricLoss } from './loss-base.js';
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

/**
 * A loss by name with the library's defaults. Weight losses need `sizes`
 * (classes, embedding size) and take `seed` for their initial weights.
 */
export function makeLoss(name: LossName, sizes?: { numClasses: number; embeddingSize: number; seed?: number }): MetricLoss {
  check((LOSS_NAMES as readonly string[]).includes(name), 'loss', name, `one of ${LOSS_NAMES.join(', ')}`);
  if ((WEIGHT_LOSS_NAMES as readonly string[]).includes(name)) {
    check(sizes !== undefined, 'sizes', sizes, `{ numClasses, embeddingSize } for the ${name} loss, which owns weights`);
    const { numClasses, embeddingSize, seed = 0 } = sizes;
    switch (name as WeightLossName) {
      case 'proxy_anchor':
        return new ProxyAnchorLoss(numClasses, embeddingSize, { seed });
      case 'proxy_nca':
        return new ProxyNCALoss(numClasses, embeddingSize, { seed });
      case 'normalized_softmax':
        return new NormalizedSoftmaxLoss(numClasses, embeddingSize, { seed });
      case 'cosface':
        return new CosFaceLoss(numClasses, embeddingSize, { seed });
      case 'arcface':
        return new ArcFaceLoss(numClasses, embeddingSize, { seed });
      case 'soft_triple':
        return new SoftTripleLoss(numClasses, embeddingSize, { seed });
    }
  }
  switch (name as PairLossName) {
    case 'contrastive':
      return new ContrastiveLoss();
    case 'triplet':
      return new TripletMarginLoss();
    case 'multi_similarity':
      return new MultiSimilarityLoss();
    case 'ntxent':
      return new NTXentLoss();
    case 'supcon':
      return new SupConLoss();
    case 'lifted_structure':
      return new LiftedStructureLoss();
    case 'circle':
      return new CircleLoss();
    case 'margin':
      return new MarginLoss();
    case 'fastap':
      return new FastAPLoss();
    default:
      return new SignalToNoiseRatioContrastiveLoss();
  }
}
