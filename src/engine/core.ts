/**
 * The platform-free engine: picks a TensorFlow.js backend among those the
 * platform entry registered, fills the kernels and gradients it lacks for
 * training, and owns seeded randomness. It imports no Node module; the Node
 * engine (`./index.ts`) registers `tensorflow`, `native`, and `wasm` with its
 * binaries in node_modules; the browser engine (`./browser.ts`) registers
 * `webgpu`, `webgl`, and `wasm` with its binaries beside the bundle. With no
 * platform registered, `wasm` (binaries where tfjs looks by default) and `cpu`.
 */
import { EccvkitInputError } from '../errors.js';
import { platformEnv } from '../platform.js';
import { type BackendName } from './backends.js';
import { CORRECTED_GRADIENTS, RECOMPUTED_OUTPUT_GRADIENTS, registerSecondOrderGradients, SECOND_ORDER_GRADIENTS } from './gradients.js';
import { tf } from './tf.js';
import { registerWasmKernels, WASM_KERNEL_PATCHES } from './wasm-kernels.js';

export { tf } from './tf.js';
export type { Tensor, TensorInfo } from './tf.js';
export { createRng, type Rng } from './rng.js';
export { stockWasmKernel, WASM_KERNEL_PATCHES } from './wasm-kernels.js';
export { CORRECTED_GRADIENTS, RECOMPUTED_OUTPUT_GRADIENTS, SECOND_ORDER_GRADIENTS } from './gradients.js';

export { BACKENDS, BROWSER_BACKENDS, type BackendName } from './backends.js';

/** Options of {@link initEngine}. */
export interface EngineOptions {
  /** Force a backend; default: `ECCVKIT_BACKEND`, else the fastest that loads. */
  backend?: BackendName;
  /**
   * Browser, webgpu only: start webgpu without checking that synchronous reads return the right values
   * (default false). For pages that read every result with `await data()`; eccvkit's own functions read
   * with `dataSync` and would get wrong numbers where the check fails.
   */
  skipSyncReadCheck?: boolean;
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

/** What a backend's start-up reports beyond its name. */
export type BackendStartInfo = Partial<Pick<EngineInfo, 'wasm' | 'native' | 'patchedKernels'>>;

/** Starts one backend (imports it, registers eccvkit's kernels, `tf.setBackend`); throws when it cannot start here. */
export type BackendStarter = (options: EngineOptions) => Promise<BackendStartInfo>;

let current: EngineInfo | undefined;
const starters = new Map<BackendName, BackendStarter>();
let preference: BackendName[] = [];

/** tfjs's wasm backend with eccvkit's kernel patches; `wasmPaths`: where its .wasm binaries are (a folder or URL prefix ending in a separator). */
export async function startWasm(wasmPaths?: string): Promise<BackendStartInfo> {
  // Importing the module registers the stock kernels, which the patches wrap;
  // both must be in place before setBackend runs the kernels' set-up.
  const wasm = await import('@tensorflow/tfjs-backend-wasm');
  registerWasmKernels();
  if (wasmPaths !== undefined) wasm.setWasmPaths(wasmPaths);
  const ok = await tf.setBackend('wasm');
  if (!ok) throw new Error('tf.setBackend("wasm") returned false');
  await tf.ready();
  return { wasm: { simd: Boolean(tf.env().get('WASM_HAS_SIMD_SUPPORT')), threads: wasm.getThreadsCount() }, patchedKernels: WASM_KERNEL_PATCHES.map((p) => p.kernel) };
}

/** tfjs's pure-JavaScript backend, the correctness reference. */
export async function startCpu(): Promise<BackendStartInfo> {
  await import('@tensorflow/tfjs-backend-cpu');
  const ok = await tf.setBackend('cpu');
  if (!ok) throw new Error('tf.setBackend("cpu") returned false');
  await tf.ready();
  return {};
}

/**
 * Registers the backends a platform offers, fastest first: they replace any
 * registered under the same names, and their order becomes the order
 * {@link initEngine} tries when no backend is forced.
 */
export function registerBackends(list: Array<[BackendName, BackendStarter]>): void {
  for (const [name, start] of list) starters.set(name, start);
  preference = list.map(([name]) => name);
}

registerBackends([
  ['wasm', () => startWasm()],
  ['cpu', startCpu],
]);

/** The backends {@link initEngine} can start on this platform, in the order it tries them. */
export function availableBackends(): BackendName[] {
  return [...preference];
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
  const fromEnv = platformEnv('ECCVKIT_BACKEND')?.trim();
  const forced = options.backend ?? (fromEnv ? fromEnv : undefined);
  if (forced !== undefined && !(preference as readonly string[]).includes(forced)) {
    throw new EccvkitInputError(options.backend !== undefined ? 'backend' : 'ECCVKIT_BACKEND', forced, `one of ${preference.join(', ')}`);
  }
  if (current && (forced === undefined || forced === current.backend) && tf.getBackend() === current.backend) return current;

  registerSecondOrderGradients();
  const order: BackendName[] = forced ? [forced as BackendName] : [...preference];
  const skipped: EngineInfo['skipped'] = [];
  for (const backend of order) {
    try {
      const info = await starters.get(backend)!(options);
      silenceCpuNodeNotice();
      current = {
        backend,
        skipped,
        patchedKernels: info.patchedKernels ?? [],
        patchedGradients: [...SECOND_ORDER_GRADIENTS, ...RECOMPUTED_OUTPUT_GRADIENTS, ...CORRECTED_GRADIENTS],
        ...(info.wasm ? { wasm: info.wasm } : {}),
        ...(info.native ? { native: info.native } : {}),
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
