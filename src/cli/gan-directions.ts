/**
 * `eccvkit gan directions|traverse`: learn interpretable latent directions of
 * a frozen saved generator with the Hessian Penalty (the paper's BigGAN
 * direction discovery, §4.3) and write them as a `.npy`; draw the image grid
 * along directions (or latent coordinates). Thin wrappers over
 * `discoverDirections` and `latentTraversal` in src/gan/directions.ts.
 */
import path from 'node:path';
import { Option, type Command } from 'commander';
import { npyArray, npyToFloat32, readNpy, writeNpy } from '../data/index.js';
import { initEngine, tf, type BackendName } from '../engine/index.js';
import { check, EccvkitInputError } from '../errors.js';
import { writeFileAtomic } from '../node/fs.js';
import { DIRECTION_INITS, discoverDirections, latentTraversal, type DirectionInit } from '../gan/directions.js';
import type { LatentGenerator } from '../gan/disentanglement.js';
import { imageGridPng } from '../report/index.js';
import { loadGenerator, type LoadedGenerator } from './gan.js';
import { createProgress } from './progress.js';
import { backendOption, integerOption, positiveOption } from './options.js';

/** Library argument names → the options that carry them, per command. */
const DIRECTION_OPTIONS: Record<string, string> = {
  G: '--model',
  latentDim: '--model',
  directions: '--directions',
  steps: '--steps',
  batchSize: '--batch-size',
  pathSize: '--path-size',
  learningRate: '--lr',
  init: '--init',
  seed: '--seed',
  k: '--k',
  epsilon: '--epsilon',
};
const TRAVERSE_OPTIONS: Record<string, string> = { G: '--model', latentDim: '--model', directions: '--directions', range: '--range', steps: '--steps', seed: '--seed' };

/** Re-raises a library input error under the name of the option that carries the argument. */
function asOption<T>(names: Record<string, string>, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof EccvkitInputError && names[err.argument] !== undefined) throw new EccvkitInputError(names[err.argument]!, err.value, err.expected);
    throw err;
  }
}



/** A saved generator in inference mode (batch norm on its moving statistics), as a function of z. */
function inference(loaded: LoadedGenerator): LatentGenerator {
  return (z) => loaded.generator.apply(z, { training: false }) as tf.Tensor;
}

/** `Q.npy` → `Q.history.json`, beside it. */
function historyPath(out: string): string {
  return path.join(path.dirname(out), `${path.basename(out, path.extname(out))}.history.json`);
}


/** Adds `directions` and `traverse` to the `gan` command group. */
export function registerDirectionCommands(group: Command): void {
  group
    .command('directions')
    .description(
      'learn latent directions of a frozen generator with the Hessian Penalty (Peebles et al. 2020, BigGAN discovery): Q.npy [directions, latentDim] of unit rows, and the per-step penalty in Q.history.json',
    )
    .requiredOption('--model <dir>', 'a `gan train` output folder, or a saved generator LayersModel folder')
    .requiredOption('--out <file>', 'output .npy of the directions (rows)')
    .option('--directions <n>', "directions to learn (default: the generator's latent size)")
    .option('--steps <n>', 'Adam steps on the direction matrix', '2000')
    .option('--batch-size <n>', 'latent codes per step', '32')
    .option('--path-size <x>', 'η: codes move a distance ~ U[−η, η] along one direction', '5')
    .option('--lr <x>', 'Adam learning rate of the direction matrix', '0.01')
    .option('--no-orthogonal', 'use the direction matrix as it is instead of Gram–Schmidt-orthonormalising it every step (the reference --no_ortho)')
    .addOption(new Option('--init <kind>', 'random: He normal; identity: the first latent axes').choices([...DIRECTION_INITS]).default('random'))
    .option('--k <n>', 'Rademacher directions of the Hessian Penalty', '2')
    .option('--epsilon <x>', 'finite-difference step of the Hessian Penalty', '0.1')
    .option('--seed <n>', 'seed of the initialisation, codes, directions, distances and Rademacher draws', '0')
    .addOption(backendOption())
    .option('--json', 'print the result (with the penalty history) as JSON', false)
    .action(
      async (opts: {
        model: string;
        out: string;
        directions?: string;
        steps: string;
        batchSize: string;
        pathSize: string;
        lr: string;
        orthogonal: boolean;
        init: DirectionInit;
        k: string;
        epsilon: string;
        seed: string;
        backend?: BackendName;
        json: boolean;
      }) => {
        check(path.extname(opts.out).toLowerCase() === '.npy', '--out', opts.out, 'a .npy file name');
        const steps = integerOption(opts.steps, '--steps', 1);
        const batchSize = integerOption(opts.batchSize, '--batch-size', 1);
        const pathSize = positiveOption(opts.pathSize, '--path-size');
        const learningRate = positiveOption(opts.lr, '--lr');
        const k = integerOption(opts.k, '--k', 2);
        const epsilon = positiveOption(opts.epsilon, '--epsilon');
        const seed = integerOption(opts.seed, '--seed', 0);
        const requested = opts.directions === undefined ? undefined : integerOption(opts.directions, '--directions', 1);
        await initEngine(opts.backend ? { backend: opts.backend } : {});
        const loaded = await loadGenerator(opts.model);
        try {
          const { latentDim } = loaded;
          const count = requested ?? latentDim;
          if (opts.orthogonal)
            check(count <= latentDim, '--directions', opts.directions, `at most the generator's latent size, ${latentDim} (orthonormal directions cannot outnumber it; --no-orthogonal allows more)`);
          const progress = createProgress();
          progress.start(`gan directions (${count} in ${latentDim}-d z)`, steps);
          let result;
          try {
            result = asOption(DIRECTION_OPTIONS, () =>
              discoverDirections(inference(loaded), {
                latentDim,
                directions: count,
                steps,
                batchSize,
                pathSize,
                learningRate,
                orthogonal: opts.orthogonal,
                init: opts.init,
                seed,
                k,
                epsilon,
                onProgress: (step, penalty) => progress.update(step, { penalty }),
              }),
            );
          } finally {
            progress.stop();
          }
          const values = Float32Array.from(result.directions.dataSync());
          result.directions.dispose();
          const history = historyPath(opts.out);
          const finite = (v: number) => (Number.isFinite(v) ? v : null);
          const record = {
            model: opts.model,
            directions: count,
            latentDim,
            steps,
            batchSize,
            pathSize,
            learningRate,
            orthogonal: opts.orthogonal,
            init: opts.init,
            k,
            epsilon,
            seed,
            penalty: result.penaltyHistory.map(finite),
          };
          writeNpy(opts.out, npyArray(values, [count, latentDim]));
          writeFileAtomic(history, JSON.stringify(record));
          const tail = result.penaltyHistory.slice(-Math.max(1, Math.min(50, Math.floor(steps / 10))));
          const lastMean = tail.reduce((s, v) => s + v, 0) / tail.length;
          if (opts.json) console.log(JSON.stringify({ out: opts.out, history, shape: [count, latentDim], firstPenalty: finite(result.penaltyHistory[0]!), lastPenalty: finite(lastMean), penalty: record.penalty }));
          else console.log(`${count} directions (${latentDim}-d) → ${opts.out}; penalty ${result.penaltyHistory[0]!.toPrecision(4)} at step 1, ${lastMean.toPrecision(4)} over the last ${tail.length} steps (history ${history})`);
        } finally {
          loaded.generator.dispose();
        }
      },
    );

  group
    .command('traverse')
    .description('images along latent directions: a grid with a row per direction (rows of --directions, or each latent coordinate) and a column per step t in [−range, range]')
    .requiredOption('--model <dir>', 'a `gan train` output folder, or a saved generator LayersModel folder')
    .requiredOption('--out <file>', 'output .png (grid) or .npy [rows, steps, H, W, C] in [0, 1]')
    .option('--directions <file>', '.npy [rows, latentDim] of directions (e.g. from `gan directions`); default: the latent coordinate axes')
    .option('--range <x>', 'each row goes from −range to +range along its direction', '2')
    .option('--steps <n>', 'images per row', '7')
    .option('--seed <n>', 'seed of the base latent code', '0')
    .option('--subtract-projection', "remove the base code's component along each direction first (as the reference's visualisation does)", false)
    .option('--scale <n>', 'integer upscaling of each image in the PNG', '1')
    .addOption(backendOption())
    .action(async (opts: { model: string; out: string; directions?: string; range: string; steps: string; seed: string; subtractProjection: boolean; scale: string; backend?: BackendName }) => {
      const ext = path.extname(opts.out).toLowerCase();
      check(ext === '.png' || ext === '.npy', '--out', opts.out, 'a .png or .npy file name');
      const range = positiveOption(opts.range, '--range');
      const steps = integerOption(opts.steps, '--steps', 1);
      const seed = integerOption(opts.seed, '--seed', 0);
      const scale = integerOption(opts.scale, '--scale', 1);
      const file = opts.directions === undefined ? undefined : readNpy(opts.directions, '--directions');
      await initEngine(opts.backend ? { backend: opts.backend } : {});
      const loaded = await loadGenerator(opts.model);
      let directions: tf.Tensor2D | undefined;
      try {
        const { latentDim } = loaded;
        if (file !== undefined) {
          const shape = file.shape;
          check(
            shape.length === 2 && (shape[0] as number) >= 1 && shape[1] === latentDim,
            '--directions',
            `${opts.directions} with shape [${shape.join(', ')}]`,
            `an array [rows ≥ 1, ${latentDim}]: one direction per row in the generator's ${latentDim}-d latent space`,
          );
          const values = npyToFloat32(file);
          const bad = values.findIndex((v) => !Number.isFinite(v));
          check(bad < 0, '--directions', `${opts.directions} with ${values[bad]} at flat index ${bad}`, 'finite values only');
          directions = tf.tensor2d(values, shape as [number, number]);
        }
        const grid = asOption(TRAVERSE_OPTIONS, () =>
          latentTraversal(inference(loaded), { latentDim, range, steps, seed, subtractProjection: opts.subtractProjection, ...(directions ? { directions } : {}) }),
        );
        if (ext === '.npy') writeNpy(opts.out, npyArray(grid.images, [grid.rows, grid.cols, grid.height, grid.width, grid.channels]));
        else {
          check(grid.channels === 1 || grid.channels === 3, '--model', `${opts.model} with ${grid.channels} output channels`, '1 or 3 channels for a PNG grid (use .npy)');
          writeFileAtomic(
            opts.out,
            imageGridPng(grid.images, { count: grid.rows * grid.cols, height: grid.height, width: grid.width, channels: grid.channels as 1 | 3, cols: grid.cols, scale }),
          );
        }
        console.log(`${grid.rows} ${directions ? 'directions' : 'latent coordinates'} × ${grid.cols} steps in [−${range}, ${range}] (${grid.height}×${grid.width}×${grid.channels}) → ${opts.out}`);
      } finally {
        directions?.dispose();
        loaded.generator.dispose();
      }
    });
}
