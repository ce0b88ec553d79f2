/**
 * Convolution and pooling geometry (output size, padding) for the engine's
 * kernels and gradients, from tfjs's own `computeConv2DInfo`/`computePool2DInfo`
 * so that eccvkit and tfjs always agree on shapes. NHWC only.
 */
import { tf } from './tf.js';

type Attrs = Record<string, unknown>;
type Rounding = 'floor' | 'round' | 'ceil' | undefined;
export type ExplicitPads = [[number, number], [number, number], [number, number], [number, number]];

function assertNhwc(attrs: Attrs): void {
  const f = attrs.dataFormat;
  if (f !== undefined && f !== 'NHWC' && f !== 'channelsLast') {
    throw new Error(`eccvkit engine: only NHWC data is supported here, got dataFormat ${String(f)}`);
  }
}

/** Geometry of a (depthwise when `depthwise`) convolution of `xShape` with `filterShape` under kernel `attrs`. */
export function convGeometry(xShape: number[], filterShape: number[], attrs: Attrs, depthwise = false): tf.backend_util.Conv2DInfo {
  assertNhwc(attrs);
  return tf.backend_util.computeConv2DInfo(
    xShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    attrs.strides as [number, number] | number,
    (attrs.dilations ?? 1) as [number, number] | number,
    attrs.pad as 'valid' | 'same' | number,
    attrs.dimRoundingMode as Rounding,
    depthwise,
    'channelsLast',
  );
}

/** Geometry of a max or average pool of `inputShape` under kernel `attrs` (filterSize, strides, pad). */
export function poolGeometry(inputShape: number[], attrs: Attrs): tf.backend_util.Conv2DInfo {
  return tf.backend_util.computePool2DInfo(
    inputShape as [number, number, number, number],
    attrs.filterSize as [number, number] | number,
    attrs.strides as [number, number] | number,
    1,
    attrs.pad as 'valid' | 'same' | number,
    attrs.dimRoundingMode as Rounding,
  );
}

/**
 * The explicit, non-negative paddings that give exactly `info`'s output size:
 * tfjs's own top/left padding, with bottom/right extended when the output size
 * was rounded up (`dimRoundingMode: 'ceil'`).
 */
export function explicitPads(info: tf.backend_util.Conv2DInfo): ExplicitPads {
  const top = Math.max(0, info.padInfo.top);
  const left = Math.max(0, info.padInfo.left);
  const bottom = Math.max(0, info.padInfo.bottom, (info.outHeight - 1) * info.strideHeight + info.effectiveFilterHeight - info.inHeight - top);
  const right = Math.max(0, info.padInfo.right, (info.outWidth - 1) * info.strideWidth + info.effectiveFilterWidth - info.inWidth - left);
  return [
    [0, 0],
    [top, bottom],
    [left, right],
    [0, 0],
  ];
}
