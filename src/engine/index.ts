/**
 * The tensor engine: picks a TensorFlow.js backend, fills the kernels and
 * gradients it lacks for training, and owns seeded randomness.
 *
 * Order of preference: `tensorflow` (`@tensorflow/tfjs-node`, when installed and
 * loadable), then `native` (eccvkit's oneDNN addon, threaded; built at install
 * when a compiler and `libdnnl-dev` are present), then `wasm` (SIMD,
 * single-threaded in Node), then `cpu` (pure JavaScript, a correctness
 * reference). `ECCVKIT_BACKEND=tensorflow|native|wasm|cpu` forces one, as does
 * `initEngine({ backend })`.
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import { EccvkitInputError } from '../errors.js';
import { BACKENDS, type BackendName } from './backends.js';
import { CORRECTED_GRADIENTS, RECOMPUTED_OUTPUT_GRADIENTS, registerSecondOrderGradients, SECOND_ORDER_GRADIENTS } from './gradients.js';
import { tf } from './tf.js';
import { NATIVE_KERNELS, registerNativeBackend } from './native.js';
import { registerWasmKernels, WASM_KERNEL_PATCHES } from './wasm-kernels.js';

export { tf } from './tf.js';
export type { Tensor, TensorInfo } from './tf.js';
export { createRng, type Rng } from './rng.js';
export { stockWasmKernel, WASM_KERNEL_PATCHES } from './wasm-kernels.js';
export { NATIVE_KERNELS, NATIVE_PACKAGES, NativeBackend, nativeFallbacks, nativeThreads } from './native.js';
export { CPU_KERNEL_ALLOW_LIST, cpuKernelViolations, profileCpuKernels, SMALL_OUTPUT, type CpuKernelProfile, type CpuKernelUse } from './kernel-profile.js';
export { CORRECTED_GRADIENTS, RECOMPUTED_OUTPUT_GRADIENTS, SECOND_ORDER_GRADIENTS } from './gradients.js';

export { BACKENDS, type BackendName } from './backends.js';

/** Options of {@link initEngine}. */
export interface EngineOptions {
  /** Force a backend; default: `ECCVKIT_BACKEND`, else the fastest that loads. */
  backend?: BackendName;
}

/** What {@link initEngine} chose and why. */
export interface EngineInfo {
  backend: BackendName;
  /** Backends tried before this one, with the reason each was passed over. */
  skipped: Array<{ backend: BackendName; reason: string }>;
  /** Kernels eccvkit registered for this backend (empty when none were needed). */
  patchedKernels: string[];
  /** Gradients eccvkit registered for second-order differentiation. */
  patchedGradients: string[];
  /** For wasm: whether SIMD is on and how many threads run. */
  wasm?: { simd: boolean; threads: number };
  /** For native: threads (`ECCVKIT_THREADS`, default all cores) and the oneDNN version. */
  native?: { threads: number; onednn: string };
}

let current: EngineInfo | undefined;
const require = createRequire(import.meta.url);

/** Directory holding the tfjs wasm binaries inside node_modules (no network). */
export function wasmBinaryDir(): string {
  const main = require.resolve('@tensorflow/tfjs-backend-wasm');
  // main is .../tfjs-backend-wasm/dist/tf-backend-wasm.node.js; binaries sit beside it.
  return path.dirname(main) + path.sep;
}

async function tryTensorflow(): Promise<void> {
  // tfjs-node is optional: its install downloads libtensorflow, which many machines cannot.
  const name = '@tensorflow/tfjs-node';
  await import(name);
  if (tf.findBackend('tensorflow') === undefined) throw new Error('@tensorflow/tfjs-node loaded but registered no "tensorflow" backend');
}

async function tryWasm(): Promise<{ simd: boolean; threads: number }> {
  // Importing the module registers the stock kernels, which the patches wrap;
  // both must be in place before setBackend runs the kernels' set-up.
  const wasm = await import('@tensorflow/tfjs-backend-wasm');
  registerWasmKernels();
  wasm.setWasmPaths(wasmBinaryDir());
  const ok = await tf.setBackend('wasm');
  if (!ok) throw new Error('tf.setBackend("wasm") returned false');
  await tf.ready();
  return { simd: Boolean(tf.env().get('WASM_HAS_SIMD_SUPPORT')), threads: wasm.getThreadsCount() };
}

async function tryNative(): Promise<{ threads: number; onednn: string }> {
  const info = registerNativeBackend();
  const ok = await tf.setBackend('native');
  if (!ok) throw new Error('tf.setBackend("native") returned false');
  await tf.ready();
  return info;
}

async function tryCpu(): Promise<void> {
  await import('@tensorflow/tfjs-backend-cpu');
  const ok = await tf.setBackend('cpu');
  if (!ok) throw new Error('tf.setBackend("cpu") returned false');
  await tf.ready();
}

function silenceCpuNodeNotice(): void {
  // The cpu backend prints a banner recommending tfjs-node on its first write;
  // eccvkit reports its backend choice itself (doctor, run records).
  const cpu = tf.findBackend('cpu') as unknown as { firstUse?: boolean } | null;
  if (cpu) cpu.firstUse = false;
}

/**
 * Starts the engine (idempotent while the backend stays the same): selects and
 * initialises a backend, registers missing kernels and second-order gradients.
 * @returns the backend in use and what was patched.
 */
export async function initEngine(options: EngineOptions = {}): Promise<EngineInfo> {
  const fromEnv = process.env.ECCVKIT_BACKEND?.trim();
  const forced = options.backend ?? (fromEnv ? fromEnv : undefined);
  if (forced !== undefined && !(BACKENDS as readonly string[]).includes(forced)) {
    throw new EccvkitInputError(options.backend !== undefined ? 'backend' : 'ECCVKIT_BACKEND', forced, `one of ${BACKENDS.join(', ')}`);
  }
  if (current && (forced === undefined || forced === current.backend) && tf.getBackend() === current.backend) return current;

  registerSecondOrderGradients();
  const order: BackendName[] = forced ? [forced as BackendName] : [...BACKENDS];
  const skipped: EngineInfo['skipped'] = [];
  for (const backend of order) {
    try {
      let wasmInfo: EngineInfo['wasm'];
      let nativeInfo: EngineInfo['native'];
      if (backend === 'tensorflow') await tryTensorflow();
      else if (backend === 'native') nativeInfo = await tryNative();
      else if (backend === 'wasm') wasmInfo = await tryWasm();
      else await tryCpu();
      silenceCpuNodeNotice();
      current = {
        backend,
        skipped,
        patchedKernels: backend === 'wasm' ? WASM_KERNEL_PATCHES.map((p) => p.kernel) : backend === 'native' ? NATIVE_KERNELS.map((k) => k.kernel) : [],
        patchedGradients: [...SECOND_ORDER_GRADIENTS, ...RECOMPUTED_OUTPUT_GRADIENTS, ...CORRECTED_GRADIENTS],
        ...(wasmInfo ? { wasm: wasmInfo } : {}),
        ...(nativeInfo ? { native: nativeInfo } : {}),
      };
      return current;
    } catch (err) {
      if (err instanceof EccvkitInputError) throw err;
      const reason = err instanceof Error ? err.message.split('\n')[0] ?? String(err) : String(err);
      if (forced) {
        throw new EccvkitInputError(options.backend !== undefined ? 'backend' : 'ECCVKIT_BACKEND', backend, `a backend that starts on this machine (${backend}: ${reason})`);
      }
      skipped.push({ backend, reason });
    }
  }
  throw new Error(`eccvkit engine: no backend could start (${skipped.map((s) => `${s.backend}: ${s.reason}`).join('; ')})`);
}

/** The engine's state, or undefined before {@link initEngine}. */
export function engineInfo(): EngineInfo | undefined {
  return current;
}
