/**
 * eccvkit for Node (`eccvkit` and `eccvkit/node`): the platform-free core
 * plus what needs Node: the native oneDNN backend and tfjs-node, files (`.npy`,
 * IDX, image and mask folders, model folders, atomic writes), the embedded
 * MNIST digits and Fashion-MNIST, the run store (SQLite), study storage
 * (SQLite, PostgreSQL), the HTML report and the experiments.
 * @packageDocumentation
 */
export * from './core.js';
export * from './engine/index.js';
export * from './data/index.js';
export { writeFileAtomic, writeDirAtomic } from './node/fs.js';
export * from './nn/node/model-folder.js';
export * from './store/index.js';
export * from './report/index.js';
export * from './experiments/index.js';
export * from './hpo/storage/index.js';
