/**
 * The backend names, apart from the engine so that the CLI can offer them as
 * choices without loading TensorFlow.js.
 */

/** Backends eccvkit knows how to start. */
export const BACKENDS = ['tensorflow', 'native', 'wasm', 'cpu'] as const;
export type BackendName = (typeof BACKENDS)[number];
