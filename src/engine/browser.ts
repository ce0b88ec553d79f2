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
import { registerBackends, startCpu, startWasm, type BackendStartInfo, type EngineOptions } from './core.js';
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

async function startWebgpu(options: EngineOptions): Promise<BackendStartInfo> {
  const gpu = (globalThis as unknown as { navigator?: { gpu?: { requestAdapter(): Promise<unknown> } } }).navigator?.gpu;
  if (gpu === undefined) throw new Error('navigator.gpu is missing (no WebGPU in this browser)');
  const adapter = await gpu.requestAdapter();
  if (adapter === null || adapter === undefined) throw new Error('navigator.gpu.requestAdapter() returned no adapter');
  await import('@tensorflow/tfjs-backend-webgpu');
  const ok = await tf.setBackend('webgpu');
  if (!ok) throw new Error('tf.setBackend("webgpu") returned false');
  await tf.ready();
  if (options.skipSyncReadCheck !== true) checkSyncReads();
  return {};
}

/** Elements in the read probe: more than one 256-pixel row of tfjs-webgpu's canvas staging (smaller reads work everywhere). */
const SYNC_PROBE_SIZE = 1024;

/**
 * eccvkit's functions read their results with `dataSync`, which tfjs-webgpu stages through WebGPU and 2D
 * canvases. Where that canvas path does not work (measured: headless Chromium on SwiftShader's adapter,
 * where every read of 256 values or more came back as zeros) the results would be silently wrong, so the
 * backend is refused and `initEngine()` falls through to webgl.
 */
function checkSyncReads(): void {
  const probe = tf.tidy(() => tf.range(0, SYNC_PROBE_SIZE, 1, 'float32').add(1));
  let got: ArrayLike<number>;
  try {
    got = probe.dataSync() as Float32Array;
  } finally {
    probe.dispose();
  }
  for (let i = 0; i < SYNC_PROBE_SIZE; i++) {
    if (got[i] !== i + 1) {
      throw new Error(
        `webgpu's synchronous reads (dataSync) return wrong values on this adapter: element ${i} of a ${SYNC_PROBE_SIZE}-value probe read ${got[i]}, expected ${i + 1}; eccvkit reads results synchronously, so it does not compute on webgpu here`,
      );
    }
  }
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
