/**
 * eccvkit: seven ECCV 2020 results for TensorFlow.js.
 *
 * Import `tf` from here so your code and eccvkit share one TensorFlow.js
 * instance, and call `initEngine()` once before building tensors.
 * @packageDocumentation
 */
export * from './engine/index.js';
export * from './errors.js';
export * from './stats.js';
export { writeFileAtomic, writeDirAtomic } from './fs.js';
export * from './data/index.js';
export * from './nn/io.js';
export * from './nn/model-folder.js';
export * from './nn/small-convnet.js';
export * from './nn/unet.js';
export * from './store/index.js';
export * from './report/index.js';
export * from './experiments/index.js';
export * from './optim/index.js';
export * from './topology/index.js';
export * from './metric/index.js';
export * from './gan/index.js';
export * from './fewshot/index.js';
export * from './inversion/index.js';
export * from './hpo/index.js';
export * from './hpo/storage/index.js';
