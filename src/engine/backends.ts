/**
 * The backend names, apart from the engine so that the CLI can offer them as
 * choices without loading TensorFlow.js.
 */

/** Backends eccvkit starts in Node, fastest first. */
export const BACKENDS = ['tensorflow', 'native', 'wasm', 'cpu'] as const;
/** Backends eccvkit starts in a browser, fastest first. */
export const BROWSER_BACKENDS = ['webgpu', 'webgl', 'wasm', 'cpu'] as const;
export type BackendName = (typeof BACKENDS)[number] | (typeof BROWSER_BACKENDS)[number];
