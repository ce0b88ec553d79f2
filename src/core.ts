/**
 * eccvkit's platform-free core: everything that runs the same in Node and in
 * a browser (engine core and kernel registrations, `tf`, seeded RNG; metric
 * learning, few-shot, GANs, inversion, topology, optimizers, networks, HPO
 * samplers; data generators; `.npy` from bytes; model save and load through
 * tfjs IO handlers). It imports no Node module: `test/platform/browser-entry.test.ts`
 * builds it for the browser and fails on any. The Node entry (`node.ts`) and
 * the browser entry (`browser.ts`) each add their platform's parts.
 * @packageDocumentation
 */
export * from './engine/core.js';
export * from './errors.js';
export * from './stats.js';
export { platform, platformEnv, platformFiles, setPlatform, type Platform, type PlatformFiles, type RankRowsFn } from './platform.js';
export * from './data/core.js';
export * from './nn/io.js';
export * from './nn/small-convnet.js';
export * from './nn/unet.js';
export * from './optim/index.js';
export * from './topology/index.js';
export * from './metric/index.js';
export * from './gan/index.js';
export * from './fewshot/index.js';
export * from './inversion/index.js';
export * from './hpo/index.js';
