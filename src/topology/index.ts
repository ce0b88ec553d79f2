/**
 * Persistent homology of 2-D images (TopoGAN's machinery): the exact cubical
 * persistence core on typed arrays, diagram distances and summaries, the tfjs
 * bridge with its topological losses, and topology metrics for mask sets.
 */
export * from './cubical.js';
export * from './diagram.js';
export * from './distances.js';
export * from './distance-transform.js';
export * from './bridge.js';
export * from './losses.js';
export * from './metrics.js';
export * from './topogan.js';
export * from './score.js';
