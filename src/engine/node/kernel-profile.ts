/**
 * Which kernels of a workload run as tfjs's stock cpu kernels on the native
 * backend, and their share of its kernel time: the kernels native never covers
 * (registered as copies of the cpu kernels) plus the calls a native kernel
 * handed to its cpu kernel. The speed bench prints this per workload, and a
 * test holds every experiment's training step to a short allow-list.
 */
import { NATIVE_KERNELS, NATIVE_OWN_KERNELS, nativeFallbacks } from './native.js';
import { tf } from '../tf.js';

/** One kernel name's cpu-kernel calls within a profile. */
export interface CpuKernelUse {
  kernel: string;
  calls: number;
  ms: number;
  /** `'uncovered'`: native has no kernel of this name; `'fallback'`: native's kernel passed these calls on. */
  why: 'uncovered' | 'fallback';
  /** Largest output, in elements, among the profiled calls. */
  maxOutputSize: number;
}

/** What {@link profileCpuKernels} measured. */
export interface CpuKernelProfile {
  /** Kernel time of the whole workload under the profiler, ms. */
  totalMs: number;
  /** Time in cpu kernels, ms (uncovered kernels and fallbacks). */
  cpuMs: number;
  /** Per kernel, the largest share first. */
  kernels: CpuKernelUse[];
}

const covered = new Set([...NATIVE_KERNELS.map((k) => k.kernel), ...NATIVE_OWN_KERNELS]);

/**
 * Runs `fn` once under `tf.profile` on the current backend (meant for `native`)
 * and reports its cpu kernels. The profiler's timings include its own
 * bookkeeping: use the shares, not the absolute times, to compare workloads.
 */
export async function profileCpuKernels(fn: () => void | Promise<void>): Promise<CpuKernelProfile> {
  nativeFallbacks(true);
  const info = await tf.profile(async () => {
    await fn();
  });
  const fell = nativeFallbacks(true);
  const byName = new Map<string, CpuKernelUse>();
  let totalMs = 0;
  for (const k of info.kernels) {
    // `name__op` entries are ops with custom gradients (fused conv and matMul, softmax cross-entropy): their time
    // is the kernels they ran, which the profile lists on their own.
    if (k.name.endsWith('__op') || k.name === 'unnamed scope') continue;
    const ms = Number(k.kernelTimeMs) || 0;
    totalMs += ms;
    if (covered.has(k.name)) continue;
    const use = byName.get(k.name) ?? { kernel: k.name, calls: 0, ms: 0, why: 'uncovered', maxOutputSize: 0 };
    use.calls++;
    use.ms += ms;
    for (const shape of k.outputShapes ?? []) use.maxOutputSize = Math.max(use.maxOutputSize, (shape ?? []).reduce((a, b) => a * b, 1));
    byName.set(k.name, use);
  }
  for (const [kernel, f] of fell) byName.set(`${kernel} (fallback)`, { kernel, calls: f.calls, ms: f.ms, why: 'fallback', maxOutputSize: f.maxOutputSize });
  const kernels = [...byName.values()].sort((a, b) => b.ms - a.ms);
  return { totalMs, cpuMs: kernels.reduce((s, k) => s + k.ms, 0), kernels };
}

/**
 * The cpu kernels a training step may run on the native backend, and why each
 * is cheap. `any` size: the kernel moves no data or writes each element once
 * (Reshape and Identity share their input's storage; a Cast to the same dtype
 * does too). `small`: only with outputs of at most {@link SMALL_OUTPUT}
 * elements (optimizer scalars such as Adam's β^t, per-example vectors, loss reductions).
 */
export const CPU_KERNEL_ALLOW_LIST: Readonly<Record<string, 'any' | 'small'>> = {
  Reshape: 'any',
  Identity: 'any',
  ExpandDims: 'any',
  Squeeze: 'any',
  Cast: 'any',
  Fill: 'any',
  ZerosLike: 'any',
  OnesLike: 'any',
  Pow: 'small',
  Max: 'small',
  Min: 'small',
  IsFinite: 'small',
  IsNan: 'small',
  LogicalAnd: 'small',
  Softplus: 'small',
  Floor: 'small',
  AddN: 'small',
  Pack: 'small',
  Unpack: 'small',
  Concat: 'small',
  Prod: 'small',
  Range: 'small',
  OneHot: 'small',
  ArgMax: 'small',
  Transpose: 'small',
  ClipByValue: 'small',
  Softmax: 'small',
  All: 'small',
  Any: 'small',
  Cumsum: 'small',
  LinSpace: 'small',
};

/** Largest output, in elements, of a `small` allow-listed kernel. */
export const SMALL_OUTPUT = 65_536;

/**
 * The profile's kernels that break {@link CPU_KERNEL_ALLOW_LIST}: unlisted
 * kernels, `small` ones on large outputs, and fallbacks (a native kernel
 * passing a call on) with outputs over {@link SMALL_OUTPUT} elements — a small
 * int32 add or sum is cheap anywhere.
 */
export function cpuKernelViolations(profile: CpuKernelProfile): CpuKernelUse[] {
  return profile.kernels.filter((k) => {
    if (k.why === 'fallback') return k.maxOutputSize > SMALL_OUTPUT;
    const allowed = CPU_KERNEL_ALLOW_LIST[k.kernel];
    return allowed === undefined || (allowed === 'small' && k.maxOutputSize > SMALL_OUTPUT);
  });
}
