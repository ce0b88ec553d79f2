/**
 * The `native` backend: tfjs's cpu backend with its hot kernels replaced by
 * eccvkit's N-API addon (native/eccvkit_native.cc) over oneDNN, threaded.
 *
 * It is a subclass of the cpu backend, so tensors live in the same
 * Float32Arrays and every kernel the addon does not implement runs as the
 * stock cpu kernel on the same data. The addon reads inputs and writes a
 * preallocated output in place (no copies). Where a call falls outside what
 * the addon covers (NCHW, int tensors, PReLU fusions, odd broadcasts), the
 * cpu kernel runs instead.
 *
 * The addon is built at install time (`npm ci` runs node-gyp through
 * scripts/build-native.mjs) when a C++ compiler and oneDNN's headers
 * (Debian: `g++ make python3 libdnnl-dev`) are present; without them the
 * install still succeeds and the engine uses wasm.
 */
import { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { EccvkitInputError, NOT_FINITE } from '../../errors.js';
import { convGeometry, explicitPads, poolGeometry } from '../geometry.js';
import { copyBox, gatherInto, resizeNearestInto, segmentSumInto, transposeInto } from '../array-kernels.js';
import { DISTANCE_MATRIX_KERNEL, METRIC_LOSS_KERNEL } from '../kernel-names.js';
import { tf } from '../tf.js';

/** The functions native/eccvkit_native.cc exports. */
interface NativeAddon {
  setThreads(n: number): void;
  getThreads(): number;
  version(): string;
  matMul(a: Float32Array, b: Float32Array, out: Float32Array, bias: Float32Array | null, params: Int32Array, alpha: number): void;
  conv2dForward(x: Float32Array, filter: Float32Array, bias: Float32Array | null, out: Float32Array, params: Int32Array, alpha: number): void;
  conv2dBackwardData(dy: Float32Array, filter: Float32Array, dx: Float32Array, params: Int32Array): void;
  conv2dBackwardFilter(x: Float32Array, dy: Float32Array, dw: Float32Array, params: Int32Array): void;
  pool(x: Float32Array, out: Float32Array, params: Int32Array): void;
  poolGrad(dy: Float32Array, x: Float32Array | null, dx: Float32Array, params: Int32Array): void;
  batchNorm(x: Float32Array, mean: Float32Array, variance: Float32Array, offset: Float32Array | null, scale: Float32Array | null, out: Float32Array, epsilon: number): void;
  batchNormTrain(x: Float32Array, scale: Float32Array | null, offset: Float32Array | null, y: Float32Array, mean: Float32Array, variance: Float32Array, params: Int32Array, epsilon: number): void;
  batchNormTrainGrad(x: Float32Array, dy: Float32Array, mean: Float32Array, variance: Float32Array, scale: Float32Array | null, dx: Float32Array, dscale: Float32Array, doffset: Float32Array, params: Int32Array, epsilon: number): void;
  binary(a: Float32Array, b: Float32Array, out: Float32Array | Uint8Array, params: Int32Array): void;
  select(condition: Uint8Array, t: Float32Array, e: Float32Array, out: Float32Array): void;
  leakyReluGrad(dy: Float32Array, x: Float32Array, out: Float32Array, alpha: number): void;
  adamUpdate(value: Float32Array, grad: Float32Array, m: Float32Array, v: Float32Array, outValue: Float32Array, outM: Float32Array, outV: Float32Array, params: Float32Array): void;
  momentumUpdate(value: Float32Array, grad: Float32Array, acc: Float32Array, outValue: Float32Array, outAcc: Float32Array, params: Float32Array): void;
  unary(x: Float32Array, out: Float32Array, op: number, alpha: number): void;
  sum(x: Float32Array, out: Float32Array, params: Int32Array): void;
  tile(x: Float32Array, out: Float32Array, params: Int32Array): void;
  distanceMatrix(x: Float32Array, out: Float32Array, params: Float64Array): boolean;
  /** @returns false (computing nothing) when the embeddings hold NaN or ±Infinity */
  metricLoss(embeddings: Float32Array, weights: Float32Array | null, lists: Int32Array[], outLoss: Float32Array, outDE: Float32Array, outDW: Float32Array | null, params: Float64Array): boolean;
  rankRows(query: Float32Array, ref: Float32Array, querySq: Float32Array, refSq: Float32Array, k: Int32Array, queryLabels: Int32Array, refLabels: Int32Array, outTop: Int32Array, outFirst: Int32Array, scratch: Float32Array, params: Int32Array): void;
}

/**
 * The addon's threaded ranking of distance rows (see `rankNeighbours` in
 * src/metric/knn.ts) when the native backend is the one running, else undefined.
 */
export function nativeRankRows(): NativeAddon['rankRows'] | undefined {
  return tf.getBackend() === 'native' && addon !== undefined ? addon.rankRows.bind(addon) : undefined;
}

/** Debian packages that give the native backend, for messages. */
export const NATIVE_PACKAGES = 'g++ make python3 libdnnl-dev';

const packageRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const addonPath = path.join(packageRoot, 'build', 'Release', 'eccvkit_native.node');
/** Written by scripts/build-native.mjs when the install could not build the addon. */
const buildStatusPath = path.join(packageRoot, 'build', 'eccvkit-native-status.json');

let addon: NativeAddon | undefined;

/** Threads the native backend uses: `ECCVKIT_THREADS`, else the machine's cores. */
export function nativeThreads(): number {
  const raw = process.env.ECCVKIT_THREADS?.trim();
  if (raw === undefined || raw === '') return os.availableParallelism();
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new EccvkitInputError('ECCVKIT_THREADS', raw, 'a positive integer (threads for the native backend)');
  return n;
}

function whyNotBuilt(): string {
  try {
    const status = JSON.parse(fs.readFileSync(buildStatusPath, 'utf8')) as { reason?: string };
    if (status.reason) return status.reason;
  } catch {
    // no status file: the install script did not run (e.g. --ignore-scripts)
  }
  return 'the addon was not built';
}

/** Loads the addon, or throws an Error whose message says why not and how to get it. */
export function loadNativeAddon(): NativeAddon {
  // Every native kernel call comes here: the loaded addon first, since reading process.env costs about a microsecond.
  if (addon) return addon;
  const off = process.env.ECCVKIT_NATIVE?.trim().toLowerCase();
  if (off === '0' || off === 'off' || off === 'false') throw new Error(`disabled by ECCVKIT_NATIVE=${off}`);
  if (!fs.existsSync(addonPath)) {
    throw new Error(`${whyNotBuilt()}; install ${NATIVE_PACKAGES} (Debian/Ubuntu: apt-get install ${NATIVE_PACKAGES}) and run \`npm rebuild eccvkit\` (or \`npm ci\` in a checkout)`);
  }
  // OpenMP threads that spin while waiting take the core a descheduled
  // teammate needs: on a machine busy with other work, spinning made a training
  // step 3× slower than sleeping (437 vs 148 ms). libgomp reads this when the
  // addon loads it; a user's own setting wins.
  process.env.OMP_WAIT_POLICY ??= 'PASSIVE';
  const require = createRequire(import.meta.url);
  try {
    addon = require(addonPath) as NativeAddon;
  } catch (err) {
    const first = err instanceof Error ? (err.message.split('\n')[0] ?? err.message) : String(err);
    throw new Error(`the addon did not load (${first}); is libdnnl installed? (${NATIVE_PACKAGES})`);
  }
  return addon;
}

type Values = Float32Array;
type KernelArgs = { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap };

/** Most bytes of output arrays kept for reuse. */
const POOL_BYTES = 256 * 2 ** 20;

/**
 * The cpu backend with oneDNN kernels; it shares the cpu backend's storage.
 *
 * Output arrays of the addon's kernels are recycled: allocating a fresh
 * multi-megabyte Float32Array per op (zero-filled, page-faulted) cost more
 * than the op itself (a 2.4M-element multiply: 5.7 ms median fresh, 1.1 ms
 * reused). An array goes back to the pool only when the last tensor holding it
 * is disposed and it was never handed out by `readSync`/`read` (`dataSync()`
 * returns the backend's own array on the cpu backend, and users keep those).
 */
export class NativeBackend extends MathBackendCPU {
  private readonly pool = new Map<number, Float32Array[]>();
  private pooledBytes = 0;
  /**
   * Buffers of the arrays the addon's kernels allocated, with the number of
   * live data ids holding the buffer. Keyed by buffer, not array, because cpu
   * kernels hand out views: a contiguous `slice` of an array is its
   * `subarray`, and recycling the parent while the slice lives would overwrite
   * the slice. Weak, so an array whose kernel threw before any tensor held it is simply collected.
   */
  private owned = new WeakMap<ArrayBufferLike, { array: Float32Array; count: number }>();

  constructor() {
    super();
    // The cpu backend advertises tfjs-node on first use; eccvkit reports its own choice.
    (this as unknown as { firstUse: boolean }).firstUse = false;
  }

  /** An output array of `n` floats (contents undefined: kernels write every element). */
  allocFloat32(n: number): Float32Array {
    const reused = this.pool.get(n)?.pop();
    if (reused) this.pooledBytes -= reused.byteLength;
    const out = reused ?? new Float32Array(n);
    this.owned.set(out.buffer, { array: out, count: 0 });
    return out;
  }

  private entry(values: unknown): { array: Float32Array; count: number } | undefined {
    return ArrayBuffer.isView(values) ? this.owned.get(values.buffer) : undefined;
  }

  private hold(values: unknown): void {
    const e = this.entry(values);
    if (e) e.count++;
  }

  override write(values: tf.backend_util.BackendValues, shape: number[], dtype: tf.DataType): tf.DataId {
    const id = super.write(values, shape, dtype);
    this.hold(values);
    return id;
  }

  override move(dataId: tf.DataId, values: tf.backend_util.BackendValues, shape: number[], dtype: tf.DataType, refCount: number): void {
    super.move(dataId, values, shape, dtype, refCount);
    this.hold(values);
  }

  override readSync(dataId: tf.DataId): tf.backend_util.BackendValues {
    // Whatever leaves the backend is the caller's from now on: never recycle it (nor any array sharing its buffer).
    const values = this.data.get(dataId)?.values;
    if (ArrayBuffer.isView(values)) this.owned.delete(values.buffer);
    return super.readSync(dataId);
  }

  override disposeData(dataId: tf.DataId, force = false): boolean {
    const values = this.data.get(dataId)?.values as Float32Array | undefined;
    const result = super.disposeData(dataId, force);
    if (values && !this.data.has(dataId)) this.release(values);
    return result;
  }

  /** Returns an array this backend allocated and no tensor holds (a kernel's scratch) to the pool. */
  recycle(values: Float32Array): void {
    const e = this.entry(values);
    if (e && e.count === 0) {
      e.count = 1;
      this.release(values);
    }
  }

  private release(values: Float32Array): void {
    const e = this.entry(values);
    if (e === undefined) return;
    if (e.count > 1) {
      e.count--;
      return;
    }
    this.owned.delete(values.buffer);
    const array = e.array;
    if (this.pooledBytes + array.byteLength > POOL_BYTES) return;
    const list = this.pool.get(array.length) ?? [];
    if (list.length >= 8) return;
    list.push(array);
    this.pool.set(array.length, list);
    this.pooledBytes += array.byteLength;
  }

  override dispose(): void {
    this.pool.clear();
    this.owned = new WeakMap();
    this.pooledBytes = 0;
    super.dispose();
  }
}

function valuesOf(backend: NativeBackend, t: tf.TensorInfo): Values {
  const v = backend.data.get(t.dataId).values;
  // Some cpu kernels (e.g. a cast from bool) leave a float32 tensor's values in another array type.
  return v instanceof Float32Array ? v : Float32Array.from(v as ArrayLike<number>);
}

function allFloat32(...ts: Array<tf.TensorInfo | undefined>): boolean {
  return ts.every((t) => t === undefined || t.dtype === 'float32');
}

const sizeOf = (shape: number[]): number => shape.reduce((a, b) => a * b, 1);

const ACTIVATIONS: Record<string, number> = { linear: 0, relu: 1, relu6: 2, leakyrelu: 3, sigmoid: 4, elu: 5 };

function activationCode(attrs: tf.NamedAttrMap | undefined): number | undefined {
  const name = (attrs?.activation as string | undefined) ?? 'linear';
  return ACTIVATIONS[name];
}

/** Calls and milliseconds of the native kernels that handed a call to the cpu kernel, by kernel name. */
const fallbacks = new Map<string, { calls: number; ms: number; maxOutputSize: number }>();

/**
 * Native kernels that fell back to the stock cpu kernel (a shape, dtype or
 * attribute the addon does not cover) since the last reset, with their time.
 * The profile in kernel-profile.ts adds these to the kernels native never covers.
 */
export function nativeFallbacks(reset = false): Map<string, { calls: number; ms: number; maxOutputSize: number }> {
  const copy = new Map([...fallbacks].map(([k, v]) => [k, { ...v }]));
  if (reset) fallbacks.clear();
  return copy;
}

/** The stock cpu kernel, timed and counted as a fallback. */
function cpuKernel(name: string): tf.KernelFunc {
  const k = tf.getKernel(name, 'cpu');
  if (!k) throw new Error(`eccvkit native backend: tfjs has no cpu kernel ${name}`);
  return (args) => {
    const t0 = performance.now();
    let out: tf.TensorInfo | tf.TensorInfo[] | undefined;
    try {
      out = k.kernelFunc(args);
      return out;
    } finally {
      const f = fallbacks.get(name) ?? { calls: 0, ms: 0, maxOutputSize: 0 };
      f.calls++;
      f.ms += performance.now() - t0;
      for (const t of out === undefined ? [] : Array.isArray(out) ? out : [out]) f.maxOutputSize = Math.max(f.maxOutputSize, sizeOf(t.shape));
      fallbacks.set(name, f);
    }
  };
}

// ---------------------------------------------------------------------------
// Matrix products

function batchMatMul(args: KernelArgs, fused: boolean): tf.TensorInfo {
  const backend = args.backend as NativeBackend;
  const { a, b, bias, preluActivationWeights } = args.inputs as Record<string, tf.TensorInfo | undefined>;
  const attrs = args.attrs ?? {};
  const act = fused ? activationCode(attrs) : 0;
  const A = a as tf.TensorInfo;
  const B = b as tf.TensorInfo;
  const ta = Boolean(attrs.transposeA);
  const tb = Boolean(attrs.transposeB);
  const outerA = A.shape.slice(0, -2);
  const outerB = B.shape.slice(0, -2);
  const batchA = sizeOf(outerA);
  const batchB = sizeOf(outerB);
  const M = ta ? A.shape[A.shape.length - 1]! : A.shape[A.shape.length - 2]!;
  const K = ta ? A.shape[A.shape.length - 2]! : A.shape[A.shape.length - 1]!;
  const N = tb ? B.shape[B.shape.length - 2]! : B.shape[B.shape.length - 1]!;
  // The addon loops over one batch index: both batches equal dimension by dimension, or one of them a single matrix.
  const sameBatch = outerA.length === outerB.length && outerA.every((n, i) => n === outerB[i]);
  const biasSize = bias ? sizeOf(bias.shape) : 0;
  const supported =
    A.shape.length >= 2 &&
    B.shape.length >= 2 &&
    allFloat32(A, B, bias) &&
    act !== undefined &&
    !preluActivationWeights &&
    (sameBatch || batchA === 1 || batchB === 1) &&
    (!bias || biasSize === 1 || (biasSize === N && bias.shape[bias.shape.length - 1] === N));
  if (!supported) return cpuKernel(fused ? '_FusedMatMul' : 'BatchMatMul')(args as never) as tf.TensorInfo;
  const outer = tf.backend_util.assertAndGetBroadcastShape(outerA, outerB);
  const batch = Math.max(batchA, batchB);
  const out = backend.allocFloat32(batch * M * N);
  const params = Int32Array.of(batchA, batchB, M, N, K, ta ? 1 : 0, tb ? 1 : 0, act);
  loadNativeAddon().matMul(valuesOf(backend, A), valuesOf(backend, B), out, bias ? valuesOf(backend, bias) : null, params, Number(attrs.leakyreluAlpha ?? 0.2));
  // A bias of higher rank (e.g. [1, N]) can raise the output's rank, as broadcasting does.
  const shape = [...outer, M, N];
  const biasRank = bias ? bias.shape.length : 0;
  while (shape.length < biasRank) shape.unshift(1);
  return backend.makeTensorInfo(shape, 'float32', out);
}

// ---------------------------------------------------------------------------
// Convolutions

function convParams(info: tf.backend_util.Conv2DInfo, groups: number, act: number): Int32Array {
  const pads = explicitPads(info);
  return Int32Array.of(
    info.batchSize, info.inHeight, info.inWidth, info.inChannels,
    info.outHeight, info.outWidth, info.outChannels,
    info.filterHeight, info.filterWidth, info.strideHeight, info.strideWidth,
    info.dilationHeight, info.dilationWidth,
    pads[1][0], pads[2][0], pads[1][1], pads[2][1],
    groups, act,
  );
}

function isNchw(attrs: tf.NamedAttrMap | undefined): boolean {
  return attrs?.dataFormat === 'NCHW' || attrs?.dataFormat === 'channelsFirst';
}

function convForward(args: KernelArgs, name: string, depthwise: boolean, fused: boolean): tf.TensorInfo {
  const backend = args.backend as NativeBackend;
  const { x, filter, bias, preluActivationWeights } = args.inputs as Record<string, tf.TensorInfo | undefined>;
  const act = fused ? activationCode(args.attrs) : 0;
  const X = x as tf.TensorInfo;
  const W = filter as tf.TensorInfo;
  if (!allFloat32(X, W, bias) || act === undefined || preluActivationWeights || isNchw(args.attrs) || X.shape.length !== 4) {
    return cpuKernel(name)(args as never) as tf.TensorInfo;
  }
  const info = convGeometry(X.shape, W.shape, args.attrs ?? {}, depthwise);
  if (bias && sizeOf(bias.shape) !== info.outChannels) return cpuKernel(name)(args as never) as tf.TensorInfo;
  const out = backend.allocFloat32(sizeOf(info.outShape));
  const params = convParams(info, depthwise ? info.inChannels : 1, act);
  loadNativeAddon().conv2dForward(valuesOf(backend, X), valuesOf(backend, W), bias ? valuesOf(backend, bias) : null, out, params, Number(args.attrs?.leakyreluAlpha ?? 0.2));
  return backend.makeTensorInfo(info.outShape, 'float32', out);
}

function convBackwardInput(args: KernelArgs, name: string, depthwise: boolean): tf.TensorInfo {
  const backend = args.backend as NativeBackend;
  const { dy, filter } = args.inputs as Record<string, tf.TensorInfo>;
  const inputShape = args.attrs?.inputShape as number[];
  if (!allFloat32(dy, filter) || isNchw(args.attrs)) return cpuKernel(name)(args as never) as tf.TensorInfo;
  const info = convGeometry(inputShape, filter!.shape, args.attrs ?? {}, depthwise);
  const dx = backend.allocFloat32(sizeOf(inputShape));
  loadNativeAddon().conv2dBackwardData(valuesOf(backend, dy!), valuesOf(backend, filter!), dx, convParams(info, depthwise ? info.inChannels : 1, 0));
  return backend.makeTensorInfo(inputShape, 'float32', dx);
}

function convBackwardFilter(args: KernelArgs, name: string, depthwise: boolean): tf.TensorInfo {
  const backend = args.backend as NativeBackend;
  const { x, dy } = args.inputs as Record<string, tf.TensorInfo>;
  const filterShape = args.attrs?.filterShape as number[];
  if (!allFloat32(x, dy) || isNchw(args.attrs)) return cpuKernel(name)(args as never) as tf.TensorInfo;
  const info = convGeometry(x!.shape, filterShape, args.attrs ?? {}, depthwise);
  const dw = backend.allocFloat32(sizeOf(filterShape));
  loadNativeAddon().conv2dBackwardFilter(valuesOf(backend, x!), valuesOf(backend, dy!), dw, convParams(info, depthwise ? info.inChannels : 1, 0));
  return backend.makeTensorInfo(filterShape, 'float32', dw);
}

// ---------------------------------------------------------------------------
// Pooling and batch norm

function poolParams(info: tf.backend_util.Conv2DInfo, isMax: boolean): Int32Array {
  const pads = explicitPads(info);
  return Int32Array.of(
    info.batchSize, info.inHeight, info.inWidth, info.inChannels, info.outHeight, info.outWidth,
    info.effectiveFilterHeight, info.effectiveFilterWidth, info.strideHeight, info.strideWidth,
    pads[1][0], pads[2][0], isMax ? 1 : 0,
  );
}

function pool(args: KernelArgs, name: string, isMax: boolean): tf.TensorInfo {
  const backend = args.backend as NativeBackend;
  const x = args.inputs.x as tf.TensorInfo;
  if (!allFloat32(x) || x.shape.length !== 4) return cpuKernel(name)(args as never) as tf.TensorInfo;
  const info = poolGeometry(x.shape, args.attrs ?? {});
  const out = backend.allocFloat32(sizeOf(info.outShape));
  loadNativeAddon().pool(valuesOf(backend, x), out, poolParams(info, isMax));
  return backend.makeTensorInfo(info.outShape, 'float32', out);
}

function poolGrad(args: KernelArgs, name: string, isMax: boolean): tf.TensorInfo {
  const backend = args.backend as NativeBackend;
  const { dy, input } = args.inputs as Record<string, tf.TensorInfo>;
  if (!allFloat32(dy, input)) return cpuKernel(name)(args as never) as tf.TensorInfo;
  const info = poolGeometry(input!.shape, args.attrs ?? {});
  const dx = backend.allocFloat32(sizeOf(input!.shape));
  loadNativeAddon().poolGrad(valuesOf(backend, dy!), isMax ? valuesOf(backend, input!) : null, dx, poolParams(info, isMax));
  return backend.makeTensorInfo(input!.shape, 'float32', dx);
}

function batchNorm(args: KernelArgs): tf.TensorInfo {
  const backend = args.backend as NativeBackend;
  const { x, mean, variance, offset, scale } = args.inputs as Record<string, tf.TensorInfo | undefined>;
  if (!allFloat32(x, mean, variance, offset, scale)) return cpuKernel('FusedBatchNorm')(args as never) as tf.TensorInfo;
  const out = backend.allocFloat32(sizeOf(x!.shape));
  loadNativeAddon().batchNorm(
    valuesOf(backend, x!), valuesOf(backend, mean!), valuesOf(backend, variance!),
    offset ? valuesOf(backend, offset) : null, scale ? valuesOf(backend, scale) : null,
    out, Number(args.attrs?.varianceEpsilon ?? 0.001),
  );
  return backend.makeTensorInfo(x!.shape, 'float32', out);
}

/**
 * Batch norm in training mode as two kernels of the addon: `EccvkitBatchNormTraining`
 * (x [..., C], scale, offset → y, the batch mean and biased variance over every
 * axis but the last) and its gradient `EccvkitBatchNormTrainingGrad` (x, dy,
 * mean, variance, scale → dx, dscale, doffset, through the moments). tfjs's
 * layer composes the same from moments, broadcasts and a dozen element-wise
 * passes per layer and step: two thirds of the element-wise time of a ResNet-12
 * training step. The gradient has no gradient of its own: a second derivative
 * through a batch norm in training mode (a gradient penalty on a critic with
 * batch norm) takes tfjs's path (see {@link batchNormTrainingApplies}).
 */
export const BATCH_NORM_TRAINING = 'EccvkitBatchNormTraining';
const BATCH_NORM_TRAINING_GRAD = 'EccvkitBatchNormTrainingGrad';
const LEAKY_RELU_GRAD = 'EccvkitLeakyReluGrad';
const ADAM_UPDATE = 'EccvkitAdamUpdate';
const MOMENTUM_UPDATE = 'EccvkitMomentumUpdate';
/** Kernels of eccvkit's own (no tfjs kernel of the name) that the native backend runs in the addon. */
export const NATIVE_OWN_KERNELS: readonly string[] = [BATCH_NORM_TRAINING, BATCH_NORM_TRAINING_GRAD, LEAKY_RELU_GRAD, ADAM_UPDATE, MOMENTUM_UPDATE, METRIC_LOSS_KERNEL, DISTANCE_MATRIX_KERNEL];

function leakyReluGrad(args: KernelArgs): tf.TensorInfo {
  const backend = args.backend as NativeBackend;
  const { dy, x } = args.inputs as Record<string, tf.TensorInfo>;
  const out = backend.allocFloat32(sizeOf(x!.shape));
  loadNativeAddon().leakyReluGrad(valuesOf(backend, dy!), valuesOf(backend, x!), out, Number(args.attrs?.alpha ?? 0.2));
  return backend.makeTensorInfo(x!.shape, 'float32', out);
}

/** dy·(x > 0 ? 1 : α): one addon pass on native (float32, same shapes), else tfjs's composition. */
function leakyReluBackward(dy: tf.Tensor, x: tf.Tensor, alpha: number): tf.Tensor {
  if (tf.getBackend() === 'native' && dy.dtype === 'float32' && x.dtype === 'float32' && tf.util.arraysEqual(dy.shape, x.shape)) {
    return tf.engine().runKernel(LEAKY_RELU_GRAD, { dy, x } as unknown as tf.NamedTensorMap, { alpha } as unknown as tf.NamedAttrMap) as tf.Tensor;
  }
  return tf.where(tf.greater(x, 0), dy, tf.mul(dy, alpha));
}

/**
 * LeakyRelu's gradient through {@link leakyReluBackward} (tfjs: a greater, a
 * mul and a select per activation and step). The backward kernel is itself
 * differentiable, linear in dy with the same mask, so gradient penalties through
 * LeakyReLU critics still work.
 */
function registerLeakyReluGradients(): void {
  tf.registerGradient({
    kernelName: 'LeakyRelu',
    inputsToSave: ['x'],
    gradFunc: (dy, saved, attrs) => {
      const [x] = saved as tf.Tensor[];
      const alpha = Number((attrs as { alpha?: number }).alpha ?? 0.2);
      return { x: () => leakyReluBackward(dy as tf.Tensor, x!, alpha) };
    },
  });
  tf.registerGradient({
    kernelName: LEAKY_RELU_GRAD,
    inputsToSave: ['x'],
    gradFunc: (ddx, saved, attrs) => {
      const [x] = saved as tf.Tensor[];
      const alpha = Number((attrs as { alpha?: number }).alpha ?? 0.2);
      return { dy: () => leakyReluBackward(ddx as tf.Tensor, x!, alpha), x: () => tf.zerosLike(x!) };
    },
  });
}

function batchNormTraining(args: KernelArgs): tf.TensorInfo[] {
  const backend = args.backend as NativeBackend;
  const { x, scale, offset } = args.inputs as Record<string, tf.TensorInfo | undefined>;
  const C = x!.shape[x!.shape.length - 1]!;
  const rows = sizeOf(x!.shape) / C;
  const y = backend.allocFloat32(rows * C);
  const mean = new Float32Array(C);
  const variance = new Float32Array(C);
  loadNativeAddon().batchNormTrain(valuesOf(backend, x!), scale ? valuesOf(backend, scale) : null, offset ? valuesOf(backend, offset) : null, y, mean, variance, Int32Array.of(rows, C), Number(args.attrs?.epsilon ?? 0.001));
  return [backend.makeTensorInfo(x!.shape, 'float32', y), backend.makeTensorInfo([C], 'float32', mean), backend.makeTensorInfo([C], 'float32', variance)];
}

function batchNormTrainingGrad(args: KernelArgs): tf.TensorInfo[] {
  const backend = args.backend as NativeBackend;
  const { x, dy, mean, variance, scale } = args.inputs as Record<string, tf.TensorInfo | undefined>;
  const C = x!.shape[x!.shape.length - 1]!;
  const rows = sizeOf(x!.shape) / C;
  const dx = backend.allocFloat32(rows * C);
  const dscale = new Float32Array(C);
  const doffset = new Float32Array(C);
  loadNativeAddon().batchNormTrainGrad(valuesOf(backend, x!), valuesOf(backend, dy!), valuesOf(backend, mean!), valuesOf(backend, variance!), scale ? valuesOf(backend, scale) : null, dx, dscale, doffset, Int32Array.of(rows, C), Number(args.attrs?.epsilon ?? 0.001));
  return [backend.makeTensorInfo(x!.shape, 'float32', dx), backend.makeTensorInfo([C], 'float32', dscale), backend.makeTensorInfo([C], 'float32', doffset)];
}

/** y, mean and variance of a batch norm in training mode on the native backend (x [..., C], channels last). */
export function nativeBatchNormTraining(x: tf.Tensor, scale: tf.Tensor | undefined, offset: tf.Tensor | undefined, epsilon: number): [tf.Tensor, tf.Tensor1D, tf.Tensor1D] {
  const inputs: Record<string, tf.Tensor> = { x };
  if (scale) inputs.scale = scale;
  if (offset) inputs.offset = offset;
  return tf.engine().runKernel(BATCH_NORM_TRAINING, inputs as unknown as tf.NamedTensorMap, { epsilon } as unknown as tf.NamedAttrMap) as unknown as [tf.Tensor, tf.Tensor1D, tf.Tensor1D];
}

function registerBatchNormTrainingGradient(): void {
  tf.registerGradient({
    kernelName: BATCH_NORM_TRAINING,
    inputsToSave: ['x', 'scale'],
    outputsToSave: [false, true, true],
    gradFunc: (dys, saved, attrs) => {
      const dy = (Array.isArray(dys) ? dys[0] : dys) as tf.Tensor;
      const [x, ...rest] = saved as tf.Tensor[];
      // `scale` is saved only when the op had one: then saved = [x, scale, mean, variance].
      const [scale, mean, variance] = rest.length === 3 ? rest : [undefined, ...rest];
      const inputs: Record<string, tf.Tensor> = { x: x!, dy, mean: mean!, variance: variance! };
      if (scale) inputs.scale = scale;
      const [dx, dscale, doffset] = tf.engine().runKernel(BATCH_NORM_TRAINING_GRAD, inputs as unknown as tf.NamedTensorMap, attrs as tf.NamedAttrMap) as unknown as tf.Tensor[];
      return { x: () => dx!, scale: () => dscale!, offset: () => doffset! };
    },
  });
}

/**
 * Whether a batch-norm layer's training-mode call takes the native kernels:
 * the native backend runs, the layer normalises the last axis of float32 data
 * and learns both scale and offset, and no tape above the current one records
 * (a gradient of a gradient needs tfjs's differentiable composition).
 */
function batchNormTrainingApplies(layer: { axis: number; scale: boolean; center: boolean }, input: tf.Tensor): boolean {
  if (tf.getBackend() !== 'native' || input.dtype !== 'float32' || input.rank < 2 || !layer.scale || !layer.center) return false;
  if ((layer.axis >= 0 ? layer.axis : layer.axis + input.rank) !== input.rank - 1) return false;
  const state = (tf.engine() as unknown as { state: { gradientDepth: number } }).state;
  return state.gradientDepth <= 1;
}

interface BatchNormLayer {
  axis: number;
  scale: boolean;
  center: boolean;
  momentum: number;
  epsilon: number;
  gamma: { read(): tf.Tensor };
  beta: { read(): tf.Tensor };
  movingMean: { read(): tf.Tensor; write(v: tf.Tensor): void };
  movingVariance: { read(): tf.Tensor; write(v: tf.Tensor): void };
}

let batchNormLayerPatched = false;

/**
 * Routes `tf.layers.batchNormalization`'s training-mode call through
 * {@link nativeBatchNormTraining} where {@link batchNormTrainingApplies}, and
 * updates the moving averages as tfjs does (v ← v − (v − batch)·(1 − momentum)).
 * Every other call (inference, other backends, other axes) is tfjs's own.
 */
function patchBatchNormLayer(): void {
  if (batchNormLayerPatched) return;
  const probe = tf.layers.batchNormalization({});
  const proto = Object.getPrototypeOf(probe) as { call(this: unknown, inputs: tf.Tensor | tf.Tensor[], kwargs: Record<string, unknown>): tf.Tensor | tf.Tensor[] };
  const original = proto.call;
  proto.call = function (this: BatchNormLayer, inputs: tf.Tensor | tf.Tensor[], kwargs: Record<string, unknown>) {
    const input = (Array.isArray(inputs) ? inputs[0] : inputs) as tf.Tensor;
    if (kwargs?.training !== true || !batchNormTrainingApplies(this, input)) return original.call(this, inputs, kwargs);
    return tf.tidy(() => {
      const [y, mean, variance] = nativeBatchNormTraining(input, this.gamma.read(), this.beta.read(), this.epsilon);
      for (const [variable, value] of [[this.movingMean, mean], [this.movingVariance, variance]] as const) {
        tf.tidy(() => {
          const orig = variable.read();
          variable.write(tf.sub(orig, tf.mul(tf.sub(orig, value), 1 - this.momentum)));
        });
      }
      return y;
    });
  };
  batchNormLayerPatched = true;
}

// ---------------------------------------------------------------------------
// Optimizer updates

/** value, gradient, m, v → new value, m, v of tfjs's Adam in one pass (params: see the addon's adamUpdate). */
function adamUpdate(args: KernelArgs): tf.TensorInfo[] {
  const backend = args.backend as NativeBackend;
  const { value, gradient, m, v } = args.inputs as Record<string, tf.TensorInfo>;
  const n = sizeOf(value!.shape);
  const outs = [backend.allocFloat32(n), backend.allocFloat32(n), backend.allocFloat32(n)] as const;
  loadNativeAddon().adamUpdate(valuesOf(backend, value!), valuesOf(backend, gradient!), valuesOf(backend, m!), valuesOf(backend, v!), ...outs, Float32Array.from(args.attrs?.params as number[]));
  return outs.map((o) => backend.makeTensorInfo(value!.shape, 'float32', o));
}

/** A metric loss and its gradients in one call (src/metric/fused.ts builds the attrs; the addon's metricLoss documents them). */
function metricLoss(args: KernelArgs): tf.TensorInfo[] {
  const backend = args.backend as NativeBackend;
  const { embeddings, weights } = args.inputs as Record<string, tf.TensorInfo | undefined>;
  const params = args.attrs?.params as unknown as number[];
  const lists = args.attrs?.lists as unknown as Int32Array[];
  const loss = backend.allocFloat32(1);
  const dE = backend.allocFloat32(sizeOf(embeddings!.shape));
  const dW = weights === undefined ? null : backend.allocFloat32(sizeOf(weights.shape));
  const finite = loadNativeAddon().metricLoss(valuesOf(backend, embeddings!), weights === undefined ? null : valuesOf(backend, weights), lists, loss, dE, dW, Float64Array.from(params));
  if (!finite) {
    throw new EccvkitInputError('embeddings', `a [${embeddings!.shape.join(', ')}] tensor`, NOT_FINITE);
  }
  const out = [backend.makeTensorInfo([], 'float32', loss), backend.makeTensorInfo(embeddings!.shape, 'float32', dE)];
  if (dW !== null) out.push(backend.makeTensorInfo(weights!.shape, 'float32', dW));
  return out;
}

/** A miner's [N, N] matrix of normalised embeddings (attrs.kind: 0 Lp distance, 1 cosine similarity). */
function distanceMatrix(args: KernelArgs): tf.TensorInfo {
  const backend = args.backend as NativeBackend;
  const { x } = args.inputs as Record<string, tf.TensorInfo>;
  const [n, d] = x!.shape as [number, number];
  const out = backend.allocFloat32(n * n);
  const finite = loadNativeAddon().distanceMatrix(valuesOf(backend, x!), out, Float64Array.from([n, d, args.attrs?.kind as number]));
  if (!finite) throw new EccvkitInputError('embeddings', `a [${n}, ${d}] tensor`, NOT_FINITE);
  return backend.makeTensorInfo([n, n], 'float32', out);
}

/** value, gradient, accumulation → new value and accumulation of tfjs's momentum SGD in one pass. */
function momentumUpdate(args: KernelArgs): tf.TensorInfo[] {
  const backend = args.backend as NativeBackend;
  const { value, gradient, accumulation } = args.inputs as Record<string, tf.TensorInfo>;
  const n = sizeOf(value!.shape);
  const outs = [backend.allocFloat32(n), backend.allocFloat32(n)] as const;
  loadNativeAddon().momentumUpdate(valuesOf(backend, value!), valuesOf(backend, gradient!), valuesOf(backend, accumulation!), ...outs, Float32Array.from(args.attrs?.params as number[]));
  return outs.map((o) => backend.makeTensorInfo(value!.shape, 'float32', o));
}

type NamedGradients = tf.NamedTensorMap | Array<{ name: string; tensor: tf.Tensor }>;
interface Slot {
  originalName: string;
  variable: tf.Variable;
}
interface AdamInternals {
  beta1: number;
  beta2: number;
  epsilon: number;
  learningRate: number;
  accBeta1: tf.Variable;
  accBeta2: tf.Variable;
  accumulatedFirstMoment: Array<Slot | undefined>;
  accumulatedSecondMoment: Array<Slot | undefined>;
  incrementIterations(): void;
}
interface MomentumInternals {
  m: tf.Scalar;
  c: tf.Scalar;
  useNesterov: boolean;
  accumulations: Array<Slot | undefined>;
  incrementIterations(): void;
}

/**
 * The variables and gradients of an `applyGradients` call when every one can
 * take the fused update (native backend, float32, matching sizes), else undefined.
 */
function fusableUpdate(variableGradients: NamedGradients): { names: string[]; vars: tf.Variable[]; grads: Array<tf.Tensor | undefined> } | undefined {
  if (tf.getBackend() !== 'native') return undefined;
  const names = Array.isArray(variableGradients) ? variableGradients.map((v) => v.name) : Object.keys(variableGradients);
  const grads = names.map((name, i) => (Array.isArray(variableGradients) ? variableGradients[i]!.tensor : variableGradients[name]) ?? undefined);
  const vars = names.map((name) => tf.engine().registeredVariables[name] as tf.Variable);
  const ok = vars.every((v, i) => v !== undefined && v.dtype === 'float32' && (grads[i] === undefined || (grads[i]!.dtype === 'float32' && grads[i]!.size === v.size)));
  return ok ? { names, vars, grads } : undefined;
}

/** A slot variable as tfjs's optimizers create it (zeros, not trainable, named after the variable). */
function slot(slots: Array<Slot | undefined>, i: number, value: tf.Variable, originalName: string): tf.Variable {
  let s = slots[i];
  if (s === undefined) {
    s = { originalName, variable: tf.tidy(() => tf.zerosLike(value).variable(false)) };
    slots[i] = s;
  }
  return s.variable;
}

/** The float32 value of a scalar tensor on this backend, read without handing its array out. */
function scalarValue(t: tf.Tensor): number {
  return valuesOf(tf.backend() as NativeBackend, t)[0] as number;
}

let optimizersPatched = false;

/**
 * tfjs's Adam and momentum SGD update each variable with 14 and 4 element-wise
 * ops; on native each variable takes one addon pass instead, with the same
 * float operations in the same order (bit-identical values), the same slot
 * variables and names (so `getWeights`/`setWeights` and checkpoints are
 * unchanged), and tfjs's own path on every other backend. In the reality
 * check's training step this was a third of the kernels.
 */
function patchOptimizers(): void {
  if (optimizersPatched) return;
  const adam = tf.AdamOptimizer.prototype as unknown as { applyGradients(this: AdamInternals, g: NamedGradients): void };
  const adamOriginal = adam.applyGradients;
  adam.applyGradients = function (this: AdamInternals, variableGradients: NamedGradients) {
    const fusable = fusableUpdate(variableGradients);
    if (!fusable) return adamOriginal.call(this, variableGradients);
    tf.tidy(() => {
      // As tfjs: scalars are float32 (1 − β computed in double first), 1 − β^t in float32.
      const params = [this.beta1, 1 - this.beta1, this.beta2, 1 - this.beta2, Math.fround(1 - scalarValue(this.accBeta1)), Math.fround(1 - scalarValue(this.accBeta2)), this.epsilon, -this.learningRate];
      fusable.names.forEach((name, i) => {
        const value = fusable.vars[i]!;
        const m = slot(this.accumulatedFirstMoment, i, value, `${name}/m`);
        const v = slot(this.accumulatedSecondMoment, i, value, `${name}/v`);
        const gradient = fusable.grads[i];
        if (gradient === undefined) return;
        const [newValue, newM, newV] = tf.engine().runKernel(ADAM_UPDATE, { value, gradient, m, v } as unknown as tf.NamedTensorMap, { params } as unknown as tf.NamedAttrMap) as unknown as tf.Tensor[];
        m.assign(newM!);
        v.assign(newV!);
        value.assign(newValue!);
      });
      this.accBeta1.assign(tf.mul(this.accBeta1, this.beta1));
      this.accBeta2.assign(tf.mul(this.accBeta2, this.beta2));
    });
    this.incrementIterations();
  };
  const momentum = tf.MomentumOptimizer.prototype as unknown as { applyGradients(this: MomentumInternals, g: NamedGradients): void };
  const momentumOriginal = momentum.applyGradients;
  momentum.applyGradients = function (this: MomentumInternals, variableGradients: NamedGradients) {
    const fusable = fusableUpdate(variableGradients);
    if (!fusable) return momentumOriginal.call(this, variableGradients);
    const params = [scalarValue(this.m), scalarValue(this.c), this.useNesterov ? 1 : 0];
    fusable.names.forEach((name, i) => {
      const value = fusable.vars[i]!;
      const accumulation = slot(this.accumulations, i, value, `${name}/momentum`);
      const gradient = fusable.grads[i];
      if (gradient === undefined) return;
      tf.tidy(() => {
        const [newValue, newAccumulation] = tf.engine().runKernel(MOMENTUM_UPDATE, { value, gradient, accumulation } as unknown as tf.NamedTensorMap, { params } as unknown as tf.NamedAttrMap) as unknown as tf.Tensor[];
        accumulation.assign(newAccumulation!);
        value.assign(newValue!);
      });
    });
    this.incrementIterations();
  };
  optimizersPatched = true;
}

// ---------------------------------------------------------------------------
// Element-wise ops and sums

/**
 * The broadcast of `aShape` with `bShape`, with size-1 output dimensions
 * dropped and neighbouring dimensions merged where both inputs broadcast
 * alike, so the addon's inner loop runs over the longest contiguous stretch.
 */
export function broadcastPlan(aShape: number[], bShape: number[]): { outShape: number[]; dims: number[]; aStrides: number[]; bStrides: number[] } {
  const outShape = tf.backend_util.assertAndGetBroadcastShape(aShape, bShape);
  const rank = outShape.length;
  const pad = (s: number[]) => [...new Array<number>(rank - s.length).fill(1), ...s];
  const a = pad(aShape);
  const b = pad(bShape);
  const dims: number[] = [];
  const flags: Array<[boolean, boolean]> = [];
  for (let d = 0; d < rank; d++) {
    const n = outShape[d]!;
    if (n === 1) continue;
    const f: [boolean, boolean] = [a[d] === 1, b[d] === 1];
    const last = flags[flags.length - 1];
    if (last && last[0] === f[0] && last[1] === f[1]) dims[dims.length - 1]! *= n;
    else {
      dims.push(n);
      flags.push(f);
    }
  }
  if (dims.length === 0) {
    dims.push(1);
    flags.push([false, false]);
  }
  const strides = (which: 0 | 1): number[] => {
    const out = new Array<number>(dims.length).fill(0);
    let running = 1;
    for (let d = dims.length - 1; d >= 0; d--) {
      if (!flags[d]![which]) {
        out[d] = running;
        running *= dims[d]!;
      }
    }
    return out;
  };
  return { outShape, dims, aStrides: strides(0), bStrides: strides(1) };
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

const BINARY_OPS: Record<string, number> = { Add: 0, Sub: 1, Multiply: 2, RealDiv: 3, Maximum: 4, Minimum: 5, SquaredDifference: 6, Pow: 13 };
const COMPARISON_OPS: Record<string, number> = { Greater: 7, GreaterEqual: 8, Less: 9, LessEqual: 10, Equal: 11, NotEqual: 12 };

function binary(args: KernelArgs, name: string): tf.TensorInfo {
  const backend = args.backend as NativeBackend;
  const { a, b } = args.inputs as Record<string, tf.TensorInfo>;
  if (a!.dtype !== 'float32' || b!.dtype !== 'float32') return cpuKernel(name)(args as never) as tf.TensorInfo;
  const comparison = COMPARISON_OPS[name];
  const code = comparison ?? BINARY_OPS[name]!;
  let outShape: number[];
  let params: Int32Array;
  if (sameShape(a!.shape, b!.shape)) {
    // The common case, one flat loop: skips the plan's arrays (this path runs for every element-wise op of a step).
    outShape = a!.shape;
    params = Int32Array.of(code, sizeOf(outShape), 1, 1);
  } else {
    const plan = broadcastPlan(a!.shape, b!.shape);
    const rank = plan.dims.length;
    outShape = plan.outShape;
    params = new Int32Array(1 + 3 * rank);
    params[0] = code;
    params.set(plan.dims, 1);
    params.set(plan.aStrides, 1 + rank);
    params.set(plan.bStrides, 1 + 2 * rank);
  }
  // tfjs stores bool tensors one byte per element.
  const out = comparison === undefined ? backend.allocFloat32(sizeOf(outShape)) : new Uint8Array(sizeOf(outShape));
  loadNativeAddon().binary(valuesOf(backend, a!), valuesOf(backend, b!), out, params);
  return backend.makeTensorInfo(outShape, comparison === undefined ? 'float32' : 'bool', out);
}

function select(args: KernelArgs): tf.TensorInfo {
  const backend = args.backend as NativeBackend;
  const { condition, t, e } = args.inputs as Record<string, tf.TensorInfo>;
  const c = backend.data.get(condition!.dataId).values;
  const n = sizeOf(t!.shape);
  if (!(c instanceof Uint8Array) || !allFloat32(t, e) || sizeOf(condition!.shape) !== n || sizeOf(e!.shape) !== n) {
    return cpuKernel('Select')(args as never) as tf.TensorInfo;
  }
  const out = backend.allocFloat32(n);
  loadNativeAddon().select(c, valuesOf(backend, t!), valuesOf(backend, e!), out);
  return backend.makeTensorInfo(t!.shape, 'float32', out);
}

const UNARY_OPS: Record<string, number> = {
  Relu: 0, Step: 1, Sqrt: 2, Square: 3, Neg: 4, Exp: 5, Log: 6, Abs: 7, Tanh: 8, Sigmoid: 9, Rsqrt: 10, LeakyRelu: 11, Elu: 12, Relu6: 13, Reciprocal: 14,
};

function unary(args: KernelArgs, name: string): tf.TensorInfo {
  const backend = args.backend as NativeBackend;
  const x = args.inputs.x as tf.TensorInfo;
  if (x.dtype !== 'float32') return cpuKernel(name)(args as never) as tf.TensorInfo;
  const out = backend.allocFloat32(sizeOf(x.shape));
  const alpha = name === 'Step' || name === 'LeakyRelu' ? Number(args.attrs?.alpha ?? (name === 'Step' ? 0 : 0.2)) : 0;
  loadNativeAddon().unary(valuesOf(backend, x), out, UNARY_OPS[name]!, alpha);
  return backend.makeTensorInfo(x.shape, 'float32', out);
}

/** x viewed as [A, R, B] with the summed axes merged into R, when they are contiguous. */
export function sumPlan(shape: number[], axes: number[]): [number, number, number] | undefined {
  const reduced = new Set(axes.map((a) => (a < 0 ? a + shape.length : a)));
  const runs: Array<{ size: number; reduced: boolean }> = [];
  shape.forEach((n, d) => {
    if (n === 1) return;
    const r = reduced.has(d);
    const last = runs[runs.length - 1];
    if (last && last.reduced === r) last.size *= n;
    else runs.push({ size: n, reduced: r });
  });
  const reducedRuns = runs.filter((r) => r.reduced).length;
  if (reducedRuns > 1) return undefined;
  const at = runs.findIndex((r) => r.reduced);
  if (at < 0) return [sizeOf(shape), 1, 1];
  const before = runs.slice(0, at).reduce((p, r) => p * r.size, 1);
  const after = runs.slice(at + 1).reduce((p, r) => p * r.size, 1);
  return [before, runs[at]!.size, after];
}

/**
 * The passes of a sum over any axes: each pass reduces one block of
 * consecutive axes (as {@link sumPlan}'s `[A, R, B]`), the last block first,
 * so a sum over split axes (the upsampling gradient's [N, H, 2, W, 2, C] over
 * axes 2 and 4) stays in the addon instead of the cpu kernel's index loop.
 */
export function sumPasses(shape: number[], axes: number[]): Array<[number, number, number]> {
  let rest = [...new Set(axes.map((a) => (a < 0 ? a + shape.length : a)))].sort((a, b) => a - b);
  let cur = [...shape];
  const passes: Array<[number, number, number]> = [];
  while (rest.length > 0) {
    let start = rest.length - 1;
    while (start > 0 && rest[start - 1] === (rest[start] as number) - 1) start--;
    const block = rest.slice(start);
    passes.push(sumPlan(cur, block) as [number, number, number]);
    cur = cur.filter((_, d) => !block.includes(d));
    rest = rest.slice(0, start);
  }
  if (passes.length === 0) passes.push([sizeOf(shape), 1, 1]);
  return passes;
}

/** The shape of a reduction over `axes`: those axes dropped, or kept as 1 with `keepDims`. */
function reducedShape(shape: number[], axes: number[], keepDims: boolean): number[] {
  return keepDims ? shape.map((n, d) => (axes.includes(d) ? 1 : n)) : shape.filter((_, d) => !axes.includes(d));
}

/** Sum or Mean over any axes, in one addon pass per block of consecutive axes. */
function sumOrMean(args: KernelArgs, name: 'Sum' | 'Mean'): tf.TensorInfo {
  const backend = args.backend as NativeBackend;
  const x = args.inputs.x as tf.TensorInfo;
  if (x.dtype !== 'float32') return cpuKernel(name)(args as never) as tf.TensorInfo;
  // A null axis means every axis, as in tf.sum(x).
  const axes = tf.util.parseAxisParam(args.attrs?.axis as number | number[], x.shape);
  const outShape = reducedShape(x.shape, axes, Boolean(args.attrs?.keepDims));
  const native = loadNativeAddon();
  // A mean of means over equal-sized blocks is the mean.
  const mean = name === 'Mean' ? 1 : 0;
  const input = valuesOf(backend, x);
  let values = input;
  for (const plan of sumPasses(x.shape, axes)) {
    const out = backend.allocFloat32(plan[0] * plan[2]);
    native.sum(values, out, Int32Array.of(...plan, mean));
    // Intermediate arrays go back to the pool; the input is the caller's.
    if (values !== input) backend.recycle(values);
    values = out;
  }
  return backend.makeTensorInfo(outShape, 'float32', values);
}

/**
 * Max or Min over one block of consecutive axes followed by kept ones (x as
 * {@link sumPlan}'s `[A, R, B]`, B > 1), comparing in the cpu kernels' order
 * (NaN wins), so the values are theirs; the cpu kernels first transpose the
 * reduced axes innermost, Max element by element (ProxyAnchor's max over the
 * batch axis: 175 µs against 20–35 µs here).
 */
function maxOrMin(args: KernelArgs, name: 'Max' | 'Min'): tf.TensorInfo {
  const backend = args.backend as NativeBackend;
  const x = args.inputs.x as tf.TensorInfo;
  const axes = tf.util.parseAxisParam((name === 'Max' ? args.attrs?.reductionIndices : args.attrs?.axis) as number | number[], x.shape);
  const plan = x.dtype === 'float32' && sizeOf(x.shape) > 0 ? sumPlan(x.shape, axes) : undefined;
  // With the reduced axes innermost (B = 1) the cpu kernel needs no transpose and is as fast.
  if (!plan || plan[2] === 1) return cpuKernel(name)(args as never) as tf.TensorInfo;
  const [A, R, B] = plan;
  const v = valuesOf(backend, x);
  const out = backend.allocFloat32(A * B);
  // Each (a, b) sees its values in r order, as in the cpu kernels; value !== value is NaN.
  for (let a = 0; a < A; a++) {
    const o = a * B;
    const base = a * R * B;
    for (let b = 0; b < B; b++) out[o + b] = v[base + b] as number;
    for (let r = 1; r < R; r++) {
      const row = base + r * B;
      if (name === 'Max') {
        for (let b = 0; b < B; b++) {
          const value = v[row + b] as number;
          if (value > (out[o + b] as number) || value !== value) out[o + b] = value;
        }
      } else {
        for (let b = 0; b < B; b++) {
          const value = v[row + b] as number;
          if (value < (out[o + b] as number) || value !== value) out[o + b] = value;
        }
      }
    }
  }
  return backend.makeTensorInfo(reducedShape(x.shape, axes, Boolean(args.attrs?.keepDims)), 'float32', out);
}

function tile(args: KernelArgs): tf.TensorInfo {
  const backend = args.backend as NativeBackend;
  const x = args.inputs.x as tf.TensorInfo;
  const reps = args.attrs?.reps as number[];
  if (x.dtype !== 'float32' || x.shape.length === 0 || reps.length !== x.shape.length) return cpuKernel('Tile')(args as never) as tf.TensorInfo;
  const outShape = x.shape.map((n, d) => n * reps[d]!);
  const out = backend.allocFloat32(sizeOf(outShape));
  if (out.length > 0) loadNativeAddon().tile(valuesOf(backend, x), out, Int32Array.from([x.shape.length, ...x.shape, ...reps]));
  return backend.makeTensorInfo(outShape, 'float32', out);
}

/** The gather gradient: one pass over the rows (see array-kernels.ts) instead of the cpu kernel's mask per segment. */
function unsortedSegmentSum(args: KernelArgs): tf.TensorInfo {
  const backend = args.backend as NativeBackend;
  const { x, segmentIds } = args.inputs as Record<string, tf.TensorInfo>;
  const numSegments = Number(args.attrs?.numSegments);
  const ids = backend.data.get(segmentIds!.dataId).values;
  if (x!.dtype !== 'float32' || segmentIds!.shape.length !== 1 || segmentIds!.shape[0] !== x!.shape[0] || !(ids instanceof Int32Array) || !Number.isInteger(numSegments)) {
    return cpuKernel('UnsortedSegmentSum')(args as never) as tf.TensorInfo;
  }
  const inner = sizeOf(x!.shape.slice(1));
  const out = backend.allocFloat32(numSegments * inner);
  segmentSumInto(out, valuesOf(backend, x!), ids, inner, numSegments);
  return backend.makeTensorInfo([numSegments, ...x!.shape.slice(1)], 'float32', out);
}

// ---------------------------------------------------------------------------
// Layout kernels on typed arrays (array-kernels.ts): the cpu kernels walk each element through index conversions.

/** The values of a float32 or int32 tensor, and a fresh output array of the same type. */
function typedIO(backend: NativeBackend, t: tf.TensorInfo, n: number): { values: tf.TypedArray; out: tf.TypedArray } | undefined {
  if (t.dtype === 'float32') return { values: valuesOf(backend, t), out: backend.allocFloat32(n) };
  const values = backend.data.get(t.dataId).values;
  if (t.dtype === 'int32' && values instanceof Int32Array) return { values, out: new Int32Array(n) };
  return undefined;
}

function slice(args: KernelArgs): tf.TensorInfo {
  const backend = args.backend as NativeBackend;
  const x = args.inputs.x as tf.TensorInfo;
  const [begin, size] = tf.slice_util.parseSliceParams(x as tf.Tensor, args.attrs?.begin as number[], args.attrs?.size as number[]);
  tf.slice_util.assertParamsValid(x as tf.Tensor, begin, size);
  const values = backend.data.get(x.dataId).values;
  const n = sizeOf(size);
  if (tf.slice_util.isSliceContinous(x.shape, begin, size) && ArrayBuffer.isView(values)) {
    // A view, as the cpu kernel returns: the pool keeps the parent's array while the view lives.
    const offset = tf.slice_util.computeFlatOffset(begin, tf.util.computeStrides(x.shape));
    return backend.makeTensorInfo(size, x.dtype, (values as tf.TypedArray).subarray(offset, offset + n));
  }
  const io = typedIO(backend, x, n);
  if (!io) return cpuKernel('Slice')(args as never) as tf.TensorInfo;
  copyBox(io.values, x.shape, begin, io.out, size, size.map(() => 0), size);
  return backend.makeTensorInfo(size, x.dtype, io.out);
}

/** SplitV as the cpu kernel composes it, but through this backend's Slice (the cpu kernel calls its own, which walks a non-contiguous box element by element). */
function splitV(args: KernelArgs): tf.TensorInfo[] {
  const x = args.inputs.x as tf.TensorInfo;
  const axis = tf.util.parseAxisParam(args.attrs?.axis as number, x.shape)[0]!;
  const sizes = tf.backend_util.prepareSplitSize(x, args.attrs?.numOrSizeSplits as number[] | number, axis);
  const begin = x.shape.map(() => 0);
  return sizes.map((n) => {
    const size = [...x.shape];
    size[axis] = n;
    const piece = slice({ ...args, attrs: { begin: [...begin], size } });
    begin[axis]! += n;
    return piece;
  });
}

function transpose(args: KernelArgs): tf.TensorInfo {
  const backend = args.backend as NativeBackend;
  const x = args.inputs.x as tf.TensorInfo;
  const perm = args.attrs?.perm as number[];
  const outShape = perm.map((a) => x.shape[a]!);
  const io = typedIO(backend, x, sizeOf(outShape));
  if (!io) return cpuKernel('Transpose')(args as never) as tf.TensorInfo;
  transposeInto(io.out, io.values, x.shape, perm);
  return backend.makeTensorInfo(outShape, x.dtype, io.out);
}

function padV2(args: KernelArgs): tf.TensorInfo {
  const backend = args.backend as NativeBackend;
  const x = args.inputs.x as tf.TensorInfo;
  const paddings = args.attrs?.paddings as Array<[number, number]>;
  const outShape = x.shape.map((n, d) => (paddings[d]![0] + n + paddings[d]![1]));
  const io = paddings.every(([a, b]) => a >= 0 && b >= 0) ? typedIO(backend, x, sizeOf(outShape)) : undefined;
  if (!io) return cpuKernel('PadV2')(args as never) as tf.TensorInfo;
  io.out.fill(Number(args.attrs?.constantValue ?? 0));
  copyBox(io.values, x.shape, x.shape.map(() => 0), io.out, outShape, paddings.map((p) => p[0]), x.shape);
  return backend.makeTensorInfo(outShape, x.dtype, io.out);
}

function gatherV2(args: KernelArgs): tf.TensorInfo {
  const backend = args.backend as NativeBackend;
  const { x, indices } = args.inputs as Record<string, tf.TensorInfo>;
  const axis = tf.util.parseAxisParam(args.attrs?.axis as number, x!.shape)[0]!;
  const batchDims = Number(args.attrs?.batchDims ?? 0);
  const ids = backend.data.get(indices!.dataId).values;
  const info = tf.backend_util.segment_util.collectGatherOpShapeInfo(x as tf.Tensor, indices as tf.Tensor, axis, batchDims);
  const io = ids instanceof Int32Array ? typedIO(backend, x!, sizeOf(info.outputShape)) : undefined;
  if (!io) return cpuKernel('GatherV2')(args as never) as tf.TensorInfo;
  const bad = gatherInto(io.out, io.values, ids as Int32Array, info.batchSize, info.outerSize, info.dimSize, info.sliceSize);
  if (bad !== -1) {
    if (io.out instanceof Float32Array) backend.recycle(io.out);
    // The cpu kernel's own message names the bad index.
    return cpuKernel('GatherV2')(args as never) as tf.TensorInfo;
  }
  return backend.makeTensorInfo(info.outputShape, x!.dtype, io.out);
}

function resizeNearestNeighbor(args: KernelArgs): tf.TensorInfo {
  const backend = args.backend as NativeBackend;
  const images = args.inputs.images as tf.TensorInfo;
  const [newHeight, newWidth] = args.attrs?.size as [number, number];
  if (images.dtype !== 'float32' || images.shape.length !== 4) return cpuKernel('ResizeNearestNeighbor')(args as never) as tf.TensorInfo;
  const [batch, , , channels] = images.shape as [number, number, number, number];
  const out = backend.allocFloat32(batch * newHeight * newWidth * channels);
  resizeNearestInto(out, valuesOf(backend, images), images.shape as [number, number, number, number], newHeight, newWidth, Boolean(args.attrs?.alignCorners), Boolean(args.attrs?.halfPixelCenters));
  return backend.makeTensorInfo([batch, newHeight, newWidth, channels], 'float32', out);
}

function logicalNot(args: KernelArgs): tf.TensorInfo {
  const backend = args.backend as NativeBackend;
  const x = args.inputs.x as tf.TensorInfo;
  const values = backend.data.get(x.dataId).values;
  if (x.dtype !== 'bool' || !(values instanceof Uint8Array)) return cpuKernel('LogicalNot')(args as never) as tf.TensorInfo;
  const out = new Uint8Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = values[i] ? 0 : 1;
  return backend.makeTensorInfo(x.shape, 'bool', out);
}

/** LogicalAnd / LogicalOr of two bool tensors of one shape (broadcasting ones take the cpu kernel, which walks indices per element). */
function logicalBinary(args: KernelArgs, name: 'LogicalAnd' | 'LogicalOr'): tf.TensorInfo {
  const backend = args.backend as NativeBackend;
  const { a, b } = args.inputs as Record<string, tf.TensorInfo>;
  const va = backend.data.get(a!.dataId).values;
  const vb = backend.data.get(b!.dataId).values;
  if (a!.dtype !== 'bool' || b!.dtype !== 'bool' || !(va instanceof Uint8Array) || !(vb instanceof Uint8Array) || !tf.util.arraysEqual(a!.shape, b!.shape)) return cpuKernel(name)(args as never) as tf.TensorInfo;
  const out = new Uint8Array(va.length);
  if (name === 'LogicalAnd') for (let i = 0; i < va.length; i++) out[i] = va[i]! && vb[i]! ? 1 : 0;
  else for (let i = 0; i < va.length; i++) out[i] = va[i]! || vb[i]! ? 1 : 0;
  return backend.makeTensorInfo(a!.shape, 'bool', out);
}

/** Kernels the native backend runs through the addon, and what each covers. */
export const NATIVE_KERNELS: Array<{ kernel: string; kernelFunc: (args: KernelArgs) => tf.TensorInfo | tf.TensorInfo[] }> = [
  { kernel: 'BatchMatMul', kernelFunc: (a) => batchMatMul(a, false) },
  { kernel: '_FusedMatMul', kernelFunc: (a) => batchMatMul(a, true) },
  { kernel: 'Conv2D', kernelFunc: (a) => convForward(a, 'Conv2D', false, false) },
  { kernel: 'FusedConv2D', kernelFunc: (a) => convForward(a, 'FusedConv2D', false, true) },
  { kernel: 'DepthwiseConv2dNative', kernelFunc: (a) => convForward(a, 'DepthwiseConv2dNative', true, false) },
  { kernel: 'FusedDepthwiseConv2D', kernelFunc: (a) => convForward(a, 'FusedDepthwiseConv2D', true, true) },
  { kernel: 'Conv2DBackpropInput', kernelFunc: (a) => convBackwardInput(a, 'Conv2DBackpropInput', false) },
  { kernel: 'Conv2DBackpropFilter', kernelFunc: (a) => convBackwardFilter(a, 'Conv2DBackpropFilter', false) },
  { kernel: 'DepthwiseConv2dNativeBackpropInput', kernelFunc: (a) => convBackwardInput(a, 'DepthwiseConv2dNativeBackpropInput', true) },
  { kernel: 'DepthwiseConv2dNativeBackpropFilter', kernelFunc: (a) => convBackwardFilter(a, 'DepthwiseConv2dNativeBackpropFilter', true) },
  { kernel: 'MaxPool', kernelFunc: (a) => pool(a, 'MaxPool', true) },
  { kernel: 'AvgPool', kernelFunc: (a) => pool(a, 'AvgPool', false) },
  { kernel: 'MaxPoolGrad', kernelFunc: (a) => poolGrad(a, 'MaxPoolGrad', true) },
  { kernel: 'AvgPoolGrad', kernelFunc: (a) => poolGrad(a, 'AvgPoolGrad', false) },
  { kernel: 'FusedBatchNorm', kernelFunc: batchNorm },
  { kernel: 'Sum', kernelFunc: (a) => sumOrMean(a, 'Sum') },
  { kernel: 'Mean', kernelFunc: (a) => sumOrMean(a, 'Mean') },
  { kernel: 'Max', kernelFunc: (a) => maxOrMin(a, 'Max') },
  { kernel: 'Min', kernelFunc: (a) => maxOrMin(a, 'Min') },
  { kernel: 'Tile', kernelFunc: tile },
  { kernel: 'UnsortedSegmentSum', kernelFunc: unsortedSegmentSum },
  { kernel: 'Slice', kernelFunc: slice },
  { kernel: 'SplitV', kernelFunc: splitV },
  { kernel: 'Transpose', kernelFunc: transpose },
  { kernel: 'PadV2', kernelFunc: padV2 },
  { kernel: 'GatherV2', kernelFunc: gatherV2 },
  { kernel: 'LogicalNot', kernelFunc: logicalNot },
  { kernel: 'LogicalAnd', kernelFunc: (a) => logicalBinary(a, 'LogicalAnd') },
  { kernel: 'LogicalOr', kernelFunc: (a) => logicalBinary(a, 'LogicalOr') },
  { kernel: 'ResizeNearestNeighbor', kernelFunc: resizeNearestNeighbor },
  { kernel: 'Select', kernelFunc: select },
  ...[...Object.keys(BINARY_OPS), ...Object.keys(COMPARISON_OPS)].map((kernel) => ({ kernel, kernelFunc: (a: KernelArgs) => binary(a, kernel) })),
  ...Object.keys(UNARY_OPS).map((kernel) => ({ kernel, kernelFunc: (a: KernelArgs) => unary(a, kernel) })),
];

let registered = false;

/**
 * Registers the `native` backend: every cpu kernel under the new name, then
 * the addon's kernels over them. Throws (with the reason) when the addon is
 * missing or does not load.
 * @returns the thread count and the oneDNN version
 */
export function registerNativeBackend(): { threads: number; onednn: string } {
  const native = loadNativeAddon();
  const threads = nativeThreads();
  native.setThreads(threads);
  if (!registered) {
    tf.registerBackend('native', () => new NativeBackend(), 1);
    for (const k of tf.getKernelsForBackend('cpu')) tf.registerKernel({ ...k, backendName: 'native' });
    for (const k of NATIVE_KERNELS) {
      tf.unregisterKernel(k.kernel, 'native');
      tf.registerKernel({ kernelName: k.kernel, backendName: 'native', kernelFunc: k.kernelFunc as unknown as tf.KernelFunc });
    }
    tf.registerKernel({ kernelName: BATCH_NORM_TRAINING, backendName: 'native', kernelFunc: batchNormTraining as unknown as tf.KernelFunc });
    tf.registerKernel({ kernelName: BATCH_NORM_TRAINING_GRAD, backendName: 'native', kernelFunc: batchNormTrainingGrad as unknown as tf.KernelFunc });
    tf.registerKernel({ kernelName: LEAKY_RELU_GRAD, backendName: 'native', kernelFunc: leakyReluGrad as unknown as tf.KernelFunc });
    tf.registerKernel({ kernelName: ADAM_UPDATE, backendName: 'native', kernelFunc: adamUpdate as unknown as tf.KernelFunc });
    tf.registerKernel({ kernelName: MOMENTUM_UPDATE, backendName: 'native', kernelFunc: momentumUpdate as unknown as tf.KernelFunc });
    tf.registerKernel({ kernelName: METRIC_LOSS_KERNEL, backendName: 'native', kernelFunc: metricLoss as unknown as tf.KernelFunc });
    tf.registerKernel({ kernelName: DISTANCE_MATRIX_KERNEL, backendName: 'native', kernelFunc: distanceMatrix as unknown as tf.KernelFunc });
    registerBatchNormTrainingGradient();
    registerLeakyReluGradients();
    patchBatchNormLayer();
    patchOptimizers();
    registered = true;
  }
  return { threads: native.getThreads(), onednn: native.version() };
}
