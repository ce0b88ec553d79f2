/**
 * eccvkit: seven ECCV 2020 results for TensorFlow.js.
 * @packageDocumentation
 */
export * from './engine/index.js';
export * from './errors.js';
