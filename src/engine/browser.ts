/**
 * The engine in a browser: the platform-free core plus the browser's
 * backends, fastest first: `webgpu` (only when `navigator.gpu` hands out an
 * adapter: tfjs-backend-webgpu registers without checking), `webgl`, `wasm`
 * (its `.wasm` binaries resolved beside this bundle, or where
 * {@link setBrowserWasmPaths} says), `cpu`. `initEngine({ backend })` forces
 * one; a forced backend that cannot start fails naming it and why, and
 * `initEngine()` without one falls through and reports in `skipped` what it
 * passed over and why, so a page can show it.
 */
import { registerBackends, startCpu, startWasm, type BackendStartInfo } from './core.js';
import { tf } from './tf.js';

let wasmPaths: string | undefined;

/** Where the tfjs wasm binaries are (a URL prefix ending in `/`); default: the folder of this module's bundle. */
export function setBrowserWasmPaths(prefix: string): void {
  wasmPaths = prefix;
}

function besideBundle(): string | undefined {
  try {
    return new URL('./', import.meta.url).href;
  } catch {
    return undefined;
  }
}

async function startWebgpu(): Promise<BackendStartInfo> {
  const gpu = (globalThis as unknown as { navigator?: { gpu?: { requestAdapter(): Promise<unknown> } } }).navigator?.gpu;
  if (gpu === undefined) throw new Error('navigator.gpu is missing (no WebGPU in this browser)');
  const adapter = await gpu.requestAdapter();
  if (adapter === null || adapter === undefined) throw new Error('navigator.gpu.requestAdapter() returned no adapter');
  await import('@tensorflow/tfjs-backend-webgpu');
  const ok = await tf.setBackend('webgpu');
  if (!ok) throw new Error('tf.setBackend("webgpu") returned false');
  await tf.ready();
  return {};
}

async function startWebgl(): Promise<BackendStartInfo> {
  // A software context (SwiftShader, headless machines) is refused unless this is set before setBackend.
  tf.env().set('SOFTWARE_WEBGL_ENABLED', true);
  const ok = await tf.setBackend('webgl');
  if (!ok) throw new Error('tf.setBackend("webgl") returned false (WebGL is not available)');
  await tf.ready();
  return {};
}

registerBackends([
  ['webgpu', startWebgpu],
  ['webgl', startWebgl],
  ['wasm', () => startWasm(wasmPaths ?? besideBundle())],
  ['cpu', startCpu],
]);
