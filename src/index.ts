/**
 * eccvkit: seven ECCV 2020 results for TensorFlow.js.
 *
 * Import `tf` from here so your code and eccvkit share one TensorFlow.js
 * instance, and call `initEngine()` once before building tensors. This is the
 * Node entry (`node.ts`); bundlers that honour the `browser` condition get
 * `browser.ts`, with the same names wherever they do not need Node.
 * @packageDocumentation
 */
export * from './node.js';
