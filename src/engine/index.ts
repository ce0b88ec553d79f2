/**
 * The engine in Node: the platform-free core (`./core.ts`) plus Node's
 * backends. Order of preference: `tensorflow` (`@tensorflow/tfjs-node`, when
 * installed and loadable), then `native` (eccvkit's oneDNN addon, threaded;
 * built at install when a compiler and `libdnnl-dev` are present), then `wasm`
 * (SIMD, single-threaded in Node), then `cpu` (pure JavaScript, a correctness
 * reference). `ECCVKIT_BACKEND=tensorflow|native|wasm|cpu` forces one, as does
 * `initEngine({ backend })`. Importing this module installs Node's platform
 * (files, environment, the addon's ranking) for the core.
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import { installNodePlatform } from '../node/platform.js';
import { registerBackends, startCpu, startWasm } from './core.js';
import { NATIVE_KERNELS, registerNativeBackend } from './node/native.js';
import { tf } from './tf.js';

export * from './core.js';
export { NATIVE_KERNELS, NATIVE_PACKAGES, NativeBackend, nativeFallbacks, nativeThreads } from './node/native.js';
export { CPU_KERNEL_ALLOW_LIST, cpuKernelViolations, profileCpuKernels, SMALL_OUTPUT, type CpuKernelProfile, type CpuKernelUse } from './node/kernel-profile.js';

const require = createRequire(import.meta.url);

/** Directory holding the tfjs wasm binaries inside node_modules (no network). */
export function wasmBinaryDir(): string {
  const main = require.resolve('@tensorflow/tfjs-backend-wasm');
  // main is .../tfjs-backend-wasm/dist/tf-backend-wasm.node.js; binaries sit beside it.
  return path.dirname(main) + path.sep;
}

async function startTensorflow(): Promise<Record<string, never>> {
  // tfjs-node is optional: its install downloads libtensorflow, which many machines cannot.
  const name = '@tensorflow/tfjs-node';
  await import(name);
  if (tf.findBackend('tensorflow') === undefined) throw new Error('@tensorflow/tfjs-node loaded but registered no "tensorflow" backend');
  return {};
}

async function startNative(): Promise<{ native: { threads: number; onednn: string }; patchedKernels: string[] }> {
  const info = registerNativeBackend();
  const ok = await tf.setBackend('native');
  if (!ok) throw new Error('tf.setBackend("native") returned false');
  await tf.ready();
  return { native: info, patchedKernels: NATIVE_KERNELS.map((k) => k.kernel) };
}

installNodePlatform();
registerBackends([
  ['tensorflow', startTensorflow],
  ['native', startNative],
  ['wasm', () => startWasm(wasmBinaryDir())],
  ['cpu', startCpu],
]);
