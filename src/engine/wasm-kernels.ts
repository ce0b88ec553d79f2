/**
 * Kernels the tfjs wasm backend (4.22) lacks or runs slowly, registered so that
 * conv nets, GANs and embedding models train on it.
 *
 * - `Conv2DBackpropFilter` (missing): the filter gradient written as one forward
 *   convolution over the batch/channel-swapped input, with the stride turned into
 *   a dilation. Without it no conv or conv-transpose weight can train on wasm.
 * - `UnsortedSegmentSum` (missing; the gradient of gather/embedding lookups): an
 *   O(N·D) scatter-add straight on the wasm heap. Composing it from stock kernels
 *   (one-hot × matMul) costs O(S·N·D) time and an S×N temporary, which for a
 *   50k-row embedding table is hundreds of megabytes per step.
 * - `Conv2DBackpropInput` (stock is a scalar loop, ~1.5 GFLOP/s): a forward
 *   convolution of the (zero-inserted, for stride > 1) output gradient with the
 *   flipped, in/out-swapped filter. This is also conv2dTranspose's forward pass.
 * - `DepthwiseConv2dNativeBackpropFilter` / `...BackpropInput` (missing: no
 *   depthwise conv could train): direct scatter loops on the wasm heap.
 * - `Conv2D`, `FusedConv2D` and the depthwise pair (stock gives zeros for
 *   'same' padding whenever the stride exceeds the filter): padding made explicit.
 * - `MaxPoolGrad` (stock gives wrong gradients whenever batch or channels > 1):
 *   a scatter of each window's dy to its first maximum, on the wasm heap.
 * - `BatchMatMul` / `_FusedMatMul` with a transposed operand (stock is ~15×
 *   slower than transposing first): transpose explicitly, then the stock NN kernel.
 *
 * Every kernel here calls other wasm kernels through their registered kernel
 * functions, so it needs no wasm build of its own and works wherever the stock
 * backend does. They must be registered before the wasm backend initialises, so
 * that the stock kernels they wrap have run their set-up.
 */
import { convGeometry, explicitPads, poolGeometry } from './geometry.js';
import { segmentSumInto } from './array-kernels.js';
import { tf, type TensorInfo } from './tf.js';

type WasmBackend = tf.KernelBackend & {
  makeOutput(shape: number[], dtype: tf.DataType): TensorInfo;
  typedArrayFromHeap(t: TensorInfo): tf.TypedArray;
  disposeData(dataId: object, force?: boolean): boolean;
};
type Attrs = Record<string, unknown>;
type Pads = [[number, number], [number, number], [number, number], [number, number]];

const BACKEND = 'wasm';

/** What each patch does, for `eccvkit doctor` and the engine's report. */
export const WASM_KERNEL_PATCHES: ReadonlyArray<{ kernel: string; why: string }> = [
  { kernel: 'Conv2DBackpropFilter', why: 'missing on wasm: conv filter gradients, conv2dTranspose training' },
  { kernel: 'UnsortedSegmentSum', why: 'missing on wasm: gather / embedding gradients' },
  { kernel: 'Conv2DBackpropInput', why: 'stock wasm kernel is a scalar loop; replaced by a forward conv' },
  { kernel: 'DepthwiseConv2dNativeBackpropFilter', why: 'missing on wasm: depthwise conv filter gradients' },
  { kernel: 'DepthwiseConv2dNativeBackpropInput', why: 'missing on wasm: depthwise conv input gradients' },
  { kernel: 'MaxPoolGrad', why: 'stock wasm kernel is wrong when batch or channels > 1' },
  { kernel: 'Conv2D', why: "stock wasm returns zeros for 'same' padding with stride > filter, ignores dimRoundingMode" },
  { kernel: 'FusedConv2D', why: "as Conv2D: 'same' padding passed explicitly" },
  { kernel: 'DepthwiseConv2dNative', why: "as Conv2D: 'same' padding passed explicitly" },
  { kernel: 'FusedDepthwiseConv2D', why: "as Conv2D: 'same' padding passed explicitly" },
  { kernel: 'BatchMatMul', why: 'transposed operands ~15x slower on stock wasm; transpose first' },
  { kernel: '_FusedMatMul', why: 'transposed operands ~15x slower on stock wasm; stock adds the bias wrongly for batched operands' },
];

let registered = false;
const stock = new Map<string, tf.KernelFunc>();

function call(name: string, inputs: Record<string, TensorInfo>, attrs: Attrs, backend: WasmBackend): TensorInfo {
  const fn = stock.get(name) ?? tf.getKernel(name, BACKEND)?.kernelFunc;
  if (fn === undefined) throw new Error(`eccvkit engine: wasm kernel ${name} is not registered`);
  return fn({ inputs: inputs as tf.NamedTensorInfoMap, attrs: attrs as tf.NamedAttrMap, backend }) as TensorInfo;
}

/** Runs `body` with a scratch list; every TensorInfo pushed to it is freed afterwards. */
function withScratch<T>(backend: WasmBackend, body: (keep: (t: TensorInfo) => TensorInfo) => T): T {
  const scratch: TensorInfo[] = [];
  try {
    return body((t) => {
      scratch.push(t);
      return t;
    });
  } finally {
    for (const t of scratch) backend.disposeData(t.dataId);
  }
}

function transpose(x: TensorInfo, perm: number[], backend: WasmBackend): TensorInfo {
  return call('Transpose', { x }, { perm }, backend);
}

/**
 * Slices away negative paddings so that the remaining ones can be handed to
 * conv2d as explicit (non-negative) padding.
 */
function cropNegativePads(x: TensorInfo, pads: Pads, backend: WasmBackend): { x: TensorInfo; pads: Pads; cropped: boolean } {
  const begin = [0, 0, 0, 0];
  const size = [...x.shape];
  let cropped = false;
  const out = pads.map(([a, b], axis) => {
    let lo = a;
    let hi = b;
    if (lo < 0) {
      begin[axis] = -lo;
      size[axis] = (size[axis] as number) + lo;
      lo = 0;
      cropped = true;
    }
    if (hi < 0) {
      size[axis] = (size[axis] as number) + hi;
      hi = 0;
      cropped = true;
    }
    return [lo, hi];
  }) as Pads;
  if (!cropped) return { x, pads: out, cropped };
  return { x: call('Slice', { x }, { begin, size }, backend), pads: out, cropped };
}

function conv2dExplicit(
  x: TensorInfo,
  filter: TensorInfo,
  pads: Pads,
  strides: [number, number],
  dilations: [number, number],
  backend: WasmBackend,
): TensorInfo {
  return withScratch(backend, (keep) => {
    const c = cropNegativePads(x, pads, backend);
    if (c.cropped) keep(c.x);
    return call(
      'Conv2D',
      { x: c.x, filter },
      { strides, pad: c.pads, dilations, dataFormat: 'NHWC', dimRoundingMode: undefined },
      backend,
    );
  });
}

/** dW[r,c,i,o] = Σ_{b,y,x} xpad[b, y·s+r, x·s+c, i] · dy[b,y,x,o], as one conv over the batch axis. */
function conv2DBackpropFilter(args: { inputs: tf.NamedTensorInfoMap; attrs?: tf.NamedAttrMap; backend: tf.KernelBackend }): TensorInfo {
  const backend = args.backend as WasmBackend;
  const x = args.inputs.x as TensorInfo;
  const dy = args.inputs.dy as TensorInfo;
  const attrs = (args.attrs ?? {}) as Attrs;
  const filterShape = attrs.filterShape as number[];
  const info = convGeometry(x.shape, filterShape, { ...attrs, dilations: 1 });
  const [, inH, inW] = x.shape as [number, number, number, number];
  const { filterHeight: kh, filterWidth: kw, strideHeight: sh, strideWidth: sw } = info;
  const [, oh, ow] = dy.shape as [number, number, number, number];
  const { top, left } = info.padInfo;
  return withScratch(backend, (keep) => {
    const xT = keep(transpose(x, [3, 1, 2, 0], backend)); // [in, H, W, batch]
    const dyT = keep(transpose(dy, [1, 2, 0, 3], backend)); // [oh, ow, batch, out]
    const pads: Pads = [
      [0, 0],
      [top, kh + (oh - 1) * sh - inH - top],
      [left, kw + (ow - 1) * sw - inW - left],
      [0, 0],
    ];
    const g = keep(conv2dExplicit(xT, dyT, pads, [1, 1], [sh, sw], backend)); // [in, kh, kw, out]
    return transpose(g, [1, 2, 0, 3], backend);
  });
}

/**
 * dx[b,y,x,i] = Σ dy[b,p,q,o] · W[r,c,i,o] over y = p·s + r − top: a stride-1
 * correlation of the zero-inserted dy with the flipped filter.
 */
function conv2DBackpropInput(args: { inputs: tf.NamedTensorInfoMap; attrs?: tf.NamedAttrMap; backend: tf.KernelBackend }): TensorInfo {
  const backend = args.backend as WasmBackend;
  const dy = args.inputs.dy as TensorInfo;
  const filter = args.inputs.filter as TensorInfo;
  const attrs = (args.attrs ?? {}) as Attrs;
  const inputShape = attrs.inputShape as [number, number, number, number];
  const info = convGeometry(inputShape, filter.shape, { ...attrs, dilations: 1 });
  const [batch, inH, inW] = inputShape;
  const { filterHeight: kh, filterWidth: kw, strideHeight: sh, strideWidth: sw } = info;
  const [, oh, ow, outC] = dy.shape as [number, number, number, number];
  const { top, left } = info.padInfo;
  return withScratch(backend, (keep) => {
    const flipped = keep(call('Reverse', { x: filter }, { dims: [0, 1] }, backend));
    const w = keep(transpose(flipped, [0, 1, 3, 2], backend)); // [kh, kw, out, in]
    let src = dy;
    let srcH = oh;
    let srcW = ow;
    if (sh > 1 || sw > 1) {
      // Insert s−1 zeros after every row and column: reshape to 6-D, pad, reshape back.
      const six = keep(call('Reshape', { x: dy }, { shape: [batch, oh, 1, ow, 1, outC] }, backend));
      const padded = keep(
        call(
          'PadV2',
          { x: six },
          { paddings: [[0, 0], [0, 0], [0, sh - 1], [0, 0], [0, sw - 1], [0, 0]], constantValue: 0 },
          backend,
        ),
      );
      srcH = oh * sh;
      srcW = ow * sw;
      src = keep(call('Reshape', { x: padded }, { shape: [batch, srcH, srcW, outC] }, backend));
    }
    const padTop = kh - 1 - top;
    const padLeft = kw - 1 - left;
    const pads: Pads = [
      [0, 0],
      [padTop, inH + kh - 1 - srcH - padTop],
      [padLeft, inW + kw - 1 - srcW - padLeft],
      [0, 0],
    ];
    return conv2dExplicit(src, w, pads, [1, 1], [1, 1], backend);
  });
}

function transposeLastTwo(x: TensorInfo, backend: WasmBackend): TensorInfo {
  const r = x.shape.length;
  const perm = Array.from({ length: r }, (_, i) => i);
  perm[r - 2] = r - 1;
  perm[r - 1] = r - 2;
  return transpose(x, perm, backend);
}

function matMulTransposingFirst(kernelName: string) {
  return (args: { inputs: tf.NamedTensorInfoMap; attrs?: tf.NamedAttrMap; backend: tf.KernelBackend }): TensorInfo => {
    const backend = args.backend as WasmBackend;
    const attrs = (args.attrs ?? {}) as Attrs;
    const original = stock.get(kernelName) as tf.KernelFunc;
    const batchOf = (t: TensorInfo | undefined) => (t ? t.shape.slice(0, -2).reduce((p, d) => p * d, 1) : 1);
    const batched = kernelName === '_FusedMatMul' && Math.max(batchOf(args.inputs.a), batchOf(args.inputs.b)) > 1;
    if (batched) checkActivation(attrs, args.inputs.preluActivationWeights);
    if (!attrs.transposeA && !attrs.transposeB && !batched) return original(args) as TensorInfo;
    return withScratch(backend, (keep) => {
      const inputs = { ...args.inputs };
      if (attrs.transposeA) inputs.a = keep(transposeLastTwo(inputs.a as TensorInfo, backend));
      if (attrs.transposeB) inputs.b = keep(transposeLastTwo(inputs.b as TensorInfo, backend));
      const plain = { ...attrs, transposeA: false, transposeB: false } as tf.NamedAttrMap;
      if (!batched) return original({ inputs, backend, attrs: plain }) as TensorInfo;
      // Stock wasm _FusedMatMul adds the bias at wrong offsets when an operand has
      // batch dimensions; run the three steps unfused there.
      let out = call('BatchMatMul', { a: inputs.a as TensorInfo, b: inputs.b as TensorInfo }, plain, backend);
      if (inputs.bias !== undefined) out = call('Add', { a: keep(out), b: inputs.bias }, {}, backend);
      return applyActivation(out, attrs, inputs.preluActivationWeights, backend, keep);
    });
  };
}

const UNARY_ACTIVATIONS: Record<string, string> = { relu: 'Relu', relu6: 'Relu6', elu: 'Elu', sigmoid: 'Sigmoid' };

/** Rejects a fused activation this module cannot apply, before anything is allocated. */
function checkActivation(attrs: Attrs, preluWeights: TensorInfo | undefined): void {
  const activation = (attrs.activation as string | undefined) ?? 'linear';
  const ok = activation === 'linear' || activation === 'leakyrelu' || UNARY_ACTIVATIONS[activation] !== undefined || (activation === 'prelu' && preluWeights !== undefined);
  if (!ok) throw new Error(`eccvkit wasm kernels: unsupported fused activation ${activation}`);
}

function applyActivation(
  x: TensorInfo,
  attrs: Attrs,
  preluWeights: TensorInfo | undefined,
  backend: WasmBackend,
  keep: (t: TensorInfo) => TensorInfo,
): TensorInfo {
  const activation = (attrs.activation as string | undefined) ?? 'linear';
  if (activation === 'linear') return x;
  const unary = UNARY_ACTIVATIONS[activation];
  if (unary !== undefined) return call(unary, { x: keep(x) }, {}, backend);
  if (activation === 'leakyrelu') return call('LeakyRelu', { x: keep(x) }, { alpha: attrs.leakyreluAlpha ?? 0.2 }, backend);
  return call('Prelu', { x: keep(x), alpha: preluWeights as TensorInfo }, {}, backend);
}

/** out[s, ...] = Σ_{i: ids[i] = s} x[i, ...]; ids outside [0, numSegments) are dropped, as in TensorFlow. */
function unsortedSegmentSum(args: { inputs: tf.NamedTensorInfoMap; attrs?: tf.NamedAttrMap; backend: tf.KernelBackend }): TensorInfo {
  const backend = args.backend as WasmBackend;
  const x = args.inputs.x as TensorInfo;
  const segmentIds = args.inputs.segmentIds as TensorInfo;
  const numSegments = (args.attrs as Attrs).numSegments as number;
  if (segmentIds.shape.length !== 1 || segmentIds.shape[0] !== x.shape[0]) {
    throw new Error(`eccvkit wasm UnsortedSegmentSum: segmentIds must be 1-D with one id per row of x (shape [${x.shape[0]}]), got shape [${segmentIds.shape.join(', ')}]`);
  }
  const inner = x.shape.slice(1).reduce((a, b) => a * b, 1);
  const out = backend.makeOutput([numSegments, ...x.shape.slice(1)], x.dtype);
  segmentSumInto(backend.typedArrayFromHeap(out), backend.typedArrayFromHeap(x), backend.typedArrayFromHeap(segmentIds), inner, numSegments);
  return out;
}

/**
 * dx[argmax of window w] += dy[w], with the argmax the first maximum in
 * row-major window order (as the cpu kernel breaks ties).
 */
function maxPoolGrad(args: { inputs: tf.NamedTensorInfoMap; attrs?: tf.NamedAttrMap; backend: tf.KernelBackend }): TensorInfo {
  const backend = args.backend as WasmBackend;
  const dy = args.inputs.dy as TensorInfo;
  const input = args.inputs.input as TensorInfo;
  const attrs = (args.attrs ?? {}) as Attrs;
  const info = poolGeometry(input.shape, attrs);
  const { batchSize, inHeight, inWidth, inChannels: ch, outHeight, outWidth, strideHeight, strideWidth, filterHeight, filterWidth } = info;
  const { top, left } = info.padInfo;
  const dx = backend.makeOutput(input.shape, 'float32');
  const dst = backend.typedArrayFromHeap(dx);
  dst.fill(0);
  const x = backend.typedArrayFromHeap(input);
  const g = backend.typedArrayFromHeap(dy);
  for (let b = 0; b < batchSize; b++) {
    const xb = b * inHeight * inWidth * ch;
    for (let oy = 0; oy < outHeight; oy++) {
      const y0 = oy * strideHeight - top;
      const yLo = Math.max(0, y0);
      const yHi = Math.min(inHeight, y0 + filterHeight);
      for (let ox = 0; ox < outWidth; ox++) {
        const x0 = ox * strideWidth - left;
        const xLo = Math.max(0, x0);
        const xHi = Math.min(inWidth, x0 + filterWidth);
        const gOff = ((b * outHeight + oy) * outWidth + ox) * ch;
        for (let c = 0; c < ch; c++) {
          let best = -Infinity;
          let at = -1;
          for (let yy = yLo; yy < yHi; yy++) {
            for (let xx = xLo; xx < xHi; xx++) {
              const k = xb + (yy * inWidth + xx) * ch + c;
              const v = x[k] as number;
              if (v > best) {
                best = v;
                at = k;
              }
            }
          }
          if (at >= 0) dst[at] = (dst[at] as number) + (g[gOff + c] as number);
        }
      }
    }
  }
  return dx;
}

interface DepthwiseGeometry {
  info: tf.backend_util.Conv2DInfo;
  multiplier: number;
}

function depthwiseGeometry(inShape: number[], filterShape: number[], attrs: Attrs, kernelName: string): DepthwiseGeometry {
  const dilations = (attrs.dilations ?? 1) as number | [number, number];
  if (!(dilations === 1 || (Array.isArray(dilations) && dilations.every((d) => d === 1)))) {
    throw new Error(`eccvkit wasm ${kernelName}: dilations must be 1 (got ${String(dilations)}), as tfjs requires for depthwise gradients`);
  }
  const info = convGeometry(inShape, filterShape, { ...attrs, dilations: 1 }, true);
  return { info, multiplier: info.outChannels / info.inChannels };
}

/**
 * Visits every (output pixel, tap) pair of a depthwise conv that lands inside
 * the input: `visit(xOffset, dyOffset, filterOffset)` with the offsets of the
 * input channel 0, the output channel 0 and the filter tap's channel 0.
 */
function forEachDepthwiseTap(g: DepthwiseGeometry, visit: (xo: number, dyo: number, fo: number) => void): void {
  const { batchSize, inHeight, inWidth, inChannels, outHeight, outWidth, outChannels, strideHeight, strideWidth, filterHeight, filterWidth } = g.info;
  const { top, left } = g.info.padInfo;
  const fRow = filterWidth * inChannels * g.multiplier;
  for (let b = 0; b < batchSize; b++) {
    for (let oy = 0; oy < outHeight; oy++) {
      for (let ox = 0; ox < outWidth; ox++) {
        const dyo = ((b * outHeight + oy) * outWidth + ox) * outChannels;
        for (let r = 0; r < filterHeight; r++) {
          const iy = oy * strideHeight + r - top;
          if (iy < 0 || iy >= inHeight) continue;
          for (let c = 0; c < filterWidth; c++) {
            const ix = ox * strideWidth + c - left;
            if (ix < 0 || ix >= inWidth) continue;
            visit(((b * inHeight + iy) * inWidth + ix) * inChannels, dyo, r * fRow + c * inChannels * g.multiplier);
          }
        }
      }
    }
  }
}

/** dW[r,c,i,m] = Σ x[b, y·s+r−top, x·s+c−left, i] · dy[b,y,x,i·M+m]. */
function depthwiseBackpropFilter(args: { inputs: tf.NamedTensorInfoMap; attrs?: tf.NamedAttrMap; backend: tf.KernelBackend }): TensorInfo {
  const backend = args.backend as WasmBackend;
  const x = args.inputs.x as TensorInfo;
  const dy = args.inputs.dy as TensorInfo;
  const attrs = (args.attrs ?? {}) as Attrs;
  const filterShape = attrs.filterShape as number[];
  const g = depthwiseGeometry(x.shape, filterShape, attrs, 'DepthwiseConv2dNativeBackpropFilter');
  const out = backend.makeOutput(filterShape, 'float32');
  const dw = backend.typedArrayFromHeap(out);
  dw.fill(0);
  const xs = backend.typedArrayFromHeap(x);
  const gs = backend.typedArrayFromHeap(dy);
  const ch = g.info.inChannels;
  const m = g.multiplier;
  forEachDepthwiseTap(g, (xo, dyo, fo) => {
    for (let i = 0; i < ch; i++) {
      const xv = xs[xo + i] as number;
      for (let k = 0; k < m; k++) dw[fo + i * m + k] = (dw[fo + i * m + k] as number) + xv * (gs[dyo + i * m + k] as number);
    }
  });
  return out;
}

/** dx[b, y·s+r−top, x·s+c−left, i] += W[r,c,i,m] · dy[b,y,x,i·M+m]. */
function depthwiseBackpropInput(args: { inputs: tf.NamedTensorInfoMap; attrs?: tf.NamedAttrMap; backend: tf.KernelBackend }): TensorInfo {
  const backend = args.backend as WasmBackend;
  const dy = args.inputs.dy as TensorInfo;
  const filter = args.inputs.filter as TensorInfo;
  const attrs = (args.attrs ?? {}) as Attrs;
  const inputShape = attrs.inputShape as number[];
  const g = depthwiseGeometry(inputShape, filter.shape, attrs, 'DepthwiseConv2dNativeBackpropInput');
  const out = backend.makeOutput(inputShape, 'float32');
  const dx = backend.typedArrayFromHeap(out);
  dx.fill(0);
  const ws = backend.typedArrayFromHeap(filter);
  const gs = backend.typedArrayFromHeap(dy);
  const ch = g.info.inChannels;
  const m = g.multiplier;
  forEachDepthwiseTap(g, (xo, dyo, fo) => {
    for (let i = 0; i < ch; i++) {
      let acc = 0;
      for (let k = 0; k < m; k++) acc += (ws[fo + i * m + k] as number) * (gs[dyo + i * m + k] as number);
      dx[xo + i] = (dx[xo + i] as number) + acc;
    }
  });
  return out;
}

/**
 * Stock wasm convolutions hand 'same' padding to XNNPACK, whose own SAME rule
 * disagrees with TensorFlow's when the stride exceeds the filter (the output
 * comes back all zeros), and they ignore `dimRoundingMode`. Passing tfjs's
 * padding explicitly gives TensorFlow's results in every case.
 */
function convWithExplicitPadding(kernelName: string, depthwise: boolean) {
  return (args: { inputs: tf.NamedTensorInfoMap; attrs?: tf.NamedAttrMap; backend: tf.KernelBackend }): TensorInfo => {
    const attrs = (args.attrs ?? {}) as Attrs;
    const info = convGeometry((args.inputs.x as TensorInfo).shape, (args.inputs.filter as TensorInfo).shape, attrs, depthwise);
    const original = stock.get(kernelName) as tf.KernelFunc;
    return original({ ...args, attrs: { ...attrs, pad: explicitPads(info), dimRoundingMode: undefined } as unknown as tf.NamedAttrMap }) as TensorInfo;
  };
}

/**
 * The stock wasm kernel a patch replaced, for benchmarks that compare the two
 * in one process; undefined for kernels wasm never had.
 */
export function stockWasmKernel(kernelName: string): tf.KernelFunc | undefined {
  return stock.get(kernelName);
}

/**
 * Registers the wasm kernel patches. Idempotent. Call before `tf.setBackend('wasm')`
 * (as {@link initEngine} does) so the stock kernels they wrap are set up.
 */
export function registerWasmKernels(): void {
  if (registered) return;
  registered = true;
  const replace = (kernelName: string, kernelFunc: tf.KernelFunc): void => {
    const existing = tf.getKernel(kernelName, BACKEND);
    if (existing !== undefined) {
      stock.set(kernelName, existing.kernelFunc);
      tf.unregisterKernel(kernelName, BACKEND);
    }
    tf.registerKernel({ kernelName, backendName: BACKEND, kernelFunc, setupFunc: existing?.setupFunc, disposeFunc: existing?.disposeFunc });
  };
  replace('Conv2DBackpropFilter', conv2DBackpropFilter as tf.KernelFunc);
  replace('UnsortedSegmentSum', unsortedSegmentSum as tf.KernelFunc);
  replace('Conv2DBackpropInput', conv2DBackpropInput as tf.KernelFunc);
  replace('MaxPoolGrad', maxPoolGrad as tf.KernelFunc);
  replace('Conv2D', convWithExplicitPadding('Conv2D', false) as tf.KernelFunc);
  replace('FusedConv2D', convWithExplicitPadding('FusedConv2D', false) as tf.KernelFunc);
  replace('DepthwiseConv2dNative', convWithExplicitPadding('DepthwiseConv2dNative', true) as tf.KernelFunc);
  replace('FusedDepthwiseConv2D', convWithExplicitPadding('FusedDepthwiseConv2D', true) as tf.KernelFunc);
  replace('DepthwiseConv2dNativeBackpropFilter', depthwiseBackpropFilter as tf.KernelFunc);
  replace('DepthwiseConv2dNativeBackpropInput', depthwiseBackpropInput as tf.KernelFunc);
  replace('BatchMatMul', matMulTransposingFirst('BatchMatMul') as tf.KernelFunc);
  replace('_FusedMatMul', matMulTransposingFirst('_FusedMatMul') as tf.KernelFunc);
}
