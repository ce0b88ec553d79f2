/**
 * Kernels on flat typed arrays that the native and wasm backends share where
 * tfjs's cpu kernels are slow for layout reasons, not arithmetic: they walk
 * every element through a TensorBuffer's index conversion (slice, pad, gather:
 * 1–30 ms per call on the shapes the GANs run), or build one mask per segment
 * (the gather gradient). Each works on whole contiguous runs.
 */
import type { tf } from './tf.js';

type Values = tf.TypedArray;

/**
 * dst[s·inner + j] = Σ_{i: ids[i] = s} src[i·inner + j] for every segment s in
 * [0, numSegments); ids outside that range are dropped, as in TensorFlow.
 * `dst` must hold numSegments·inner values; it is overwritten. O(N·inner),
 * where tfjs's cpu kernel is O(S·N·inner): for a triplet loss's 2,688-row
 * gather that was most of a 337 ms step.
 */
export function segmentSumInto(dst: Values, src: Values, ids: Values, inner: number, numSegments: number): void {
  dst.fill(0);
  const n = ids.length;
  for (let i = 0; i < n; i++) {
    const s = ids[i] as number;
    if (!(s >= 0 && s < numSegments)) continue;
    const so = s * inner;
    const xo = i * inner;
    for (let j = 0; j < inner; j++) dst[so + j] = (dst[so + j] as number) + (src[xo + j] as number);
  }
}

const stridesOf = (shape: readonly number[]): number[] => {
  const out = new Array<number>(shape.length).fill(1);
  for (let d = shape.length - 2; d >= 0; d--) out[d] = (out[d + 1] as number) * (shape[d + 1] as number);
  return out;
};

/**
 * Copies the box of extent `size` starting at `srcBegin` in `src` (of shape
 * `srcShape`) to `dstBegin` in `dst` (of shape `dstShape`): a slice when dst is
 * the box itself, a pad when src is whole and dst is larger. Trailing axes that
 * both arrays hold whole merge into one run copied with `set`.
 */
export function copyBox(src: Values, srcShape: readonly number[], srcBegin: readonly number[], dst: Values, dstShape: readonly number[], dstBegin: readonly number[], size: readonly number[]): void {
  const rank = size.length;
  if (size.some((n) => n === 0)) return;
  if (rank === 0) {
    dst[0] = src[0] as number;
    return;
  }
  const ss = stridesOf(srcShape);
  const ds = stridesOf(dstShape);
  // The innermost run: axis `inner` and everything after it, contiguous in both arrays.
  let inner = rank - 1;
  let run = size[rank - 1] as number;
  while (inner > 0 && size[inner] === srcShape[inner] && size[inner] === dstShape[inner]) {
    inner--;
    run *= size[inner] as number;
  }
  let so = 0;
  let dOff = 0;
  for (let d = 0; d < rank; d++) {
    so += (srcBegin[d] as number) * (ss[d] as number);
    dOff += (dstBegin[d] as number) * (ds[d] as number);
  }
  const outer = size.slice(0, inner);
  const idx = new Array<number>(inner).fill(0);
  const count = outer.reduce((a, b) => a * b, 1);
  for (let k = 0; k < count; k++) {
    let sOff = so;
    let tOff = dOff;
    for (let d = 0; d < inner; d++) {
      sOff += (idx[d] as number) * (ss[d] as number);
      tOff += (idx[d] as number) * (ds[d] as number);
    }
    if (run >= 16) dst.set(src.subarray(sOff, sOff + run), tOff);
    else for (let j = 0; j < run; j++) dst[tOff + j] = src[sOff + j] as number;
    for (let d = inner - 1; d >= 0; d--) {
      if (++(idx[d] as number) < (outer[d] as number)) break;
      idx[d] = 0;
    }
  }
}

/**
 * out[b, o, i, :] = x[b, o, indices[b, i], :] for x viewed as
 * [batch, outer, dim, slice] and indices as [batch, n] (TensorFlow's GatherV2
 * with batch dimensions). Returns the first index outside [0, dim), or -1
 * when every index was in range (nothing is written past the first bad one).
 */
export function gatherInto(out: Values, x: Values, indices: Values, batch: number, outer: number, dim: number, slice: number): number {
  const n = indices.length / batch;
  let t = 0;
  for (let b = 0; b < batch; b++) {
    for (let o = 0; o < outer; o++) {
      const base = (b * outer + o) * dim;
      for (let i = 0; i < n; i++) {
        const j = indices[b * n + i] as number;
        if (!(j >= 0 && j < dim)) return j;
        const s = (base + j) * slice;
        if (slice >= 16) out.set(x.subarray(s, s + slice), t);
        else for (let k = 0; k < slice; k++) out[t + k] = x[s + k] as number;
        t += slice;
      }
    }
  }
  return -1;
}

/**
 * Nearest-neighbour resize of NHWC images, with tfjs's source-index rule
 * (alignCorners rounds, halfPixelCenters samples pixel centres). Whole channel
 * runs are copied, and an output row whose source row repeats the previous
 * one's (every second row of a ×2 upsampling) is copied from it.
 */
export function resizeNearestInto(out: Float32Array, x: Float32Array, shape: readonly [number, number, number, number], newHeight: number, newWidth: number, alignCorners: boolean, halfPixelCenters: boolean): void {
  const [batch, h, w, c] = shape;
  const source = (outSize: number, inSize: number): Int32Array => {
    const ratio = alignCorners && outSize > 1 ? (inSize - 1) / (outSize - 1) : inSize / outSize;
    return Int32Array.from({ length: outSize }, (_, i) => {
      const frac = halfPixelCenters ? ratio * (i + 0.5) : ratio * i;
      const nearest = Math.min(inSize - 1, alignCorners ? Math.round(frac) : Math.floor(frac));
      return halfPixelCenters ? Math.max(0, nearest) : nearest;
    });
  };
  const rows = source(newHeight, h);
  const cols = source(newWidth, w);
  const outRow = newWidth * c;
  let o = 0;
  for (let b = 0; b < batch; b++) {
    for (let r = 0; r < newHeight; r++) {
      if (r > 0 && rows[r] === rows[r - 1]) {
        out.copyWithin(o, o - outRow, o);
        o += outRow;
        continue;
      }
      const rowBase = (b * h + (rows[r] as number)) * w;
      for (let q = 0; q < newWidth; q++) {
        const s = (rowBase + (cols[q] as number)) * c;
        if (c >= 16) out.set(x.subarray(s, s + c), o);
        else for (let k = 0; k < c; k++) out[o + k] = x[s + k] as number;
        o += c;
      }
    }
  }
}

/**
 * out = x transposed by `perm` (out axis d is x axis perm[d]). Axes that stay
 * neighbours in order merge first, so a batch of matrix transposes is a 3-D
 * walk; the output is written in order, its source index advanced by strides
 * (an odometer, no index division per element as the cpu kernel does).
 */
export function transposeInto(out: Values, x: Values, shape: readonly number[], perm: readonly number[]): void {
  // Merge runs of output axes whose source axes are consecutive.
  const dims: number[] = [];
  const srcAxes: number[][] = [];
  for (let d = 0; d < perm.length; d++) {
    const a = perm[d] as number;
    if ((shape[a] as number) === 1) continue;
    const last = srcAxes[srcAxes.length - 1];
    if (last !== undefined && last[last.length - 1] === a - 1) {
      last.push(a);
      dims[dims.length - 1] = (dims[dims.length - 1] as number) * (shape[a] as number);
    } else {
      srcAxes.push([a]);
      dims.push(shape[a] as number);
    }
  }
  const xs = stridesOf(shape);
  // The stride of a merged axis is that of its innermost source axis.
  const strides = srcAxes.map((axes) => xs[axes[axes.length - 1] as number] as number);
  const rank = dims.length;
  const n = out.length;
  if (rank <= 1) {
    out.set(x.subarray(0, n));
    return;
  }
  const innerDim = dims[rank - 1] as number;
  const innerStride = strides[rank - 1] as number;
  const idx = new Array<number>(rank - 1).fill(0);
  let src = 0;
  for (let o = 0; o < n; o += innerDim) {
    if (innerStride === 1) out.set(x.subarray(src, src + innerDim), o);
    else for (let j = 0, s = src; j < innerDim; j++, s += innerStride) out[o + j] = x[s] as number;
    // Advance the odometer over the outer axes.
    for (let d = rank - 2; d >= 0; d--) {
      idx[d] = (idx[d] as number) + 1;
      src += strides[d] as number;
      if ((idx[d] as number) < (dims[d] as number)) break;
      src -= (dims[d] as number) * (strides[d] as number);
      idx[d] = 0;
    }
  }
}
