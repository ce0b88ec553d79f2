/**
 * `eccvkit topo score|masks`: TopoGAN's topology table for two sets of masks
 * (Betti score, unbiased MMD of diagrams, Betti error) and the seeded mask
 * generators written as `.npy`. Thin wrappers over `topologyScores` and
 * `generateMasks`.
 */
import fs from 'node:fs';
import type { Command } from 'commander';
import { Option } from 'commander';
import { generateMasks, loadMaskFolder, MASK_KINDS, npyArray, npyToFloat32, readNpy, writeNpy, type MaskKind } from '../data/index.js';
import { check, EccvkitInputError } from '../errors.js';
import { topologyScores, type HomologyDim, type MaskStack } from '../topology/index.js';
import { integerOption } from './options.js';
import { COMMAND_DESCRIPTIONS } from './groups.js';

function parseDims(text: string): HomologyDim[] {
  const parts = text.split(',').map((s) => s.trim());
  check(parts.length > 0 && parts.every((p) => p === '0' || p === '1'), '--dims', text, 'a comma-separated list of 0 and 1, e.g. 0,1');
  return [...new Set(parts.map(Number) as HomologyDim[])].sort();
}

function parseThreshold(text: string): number {
  const t = Number(text);
  check(text.trim() !== '' && Number.isFinite(t) && t >= 0 && t <= 1, '--threshold', text, 'a number in [0, 1]');
  return t;
}

/**
 * Masks from `file`: a `.npy` [N, H, W] (or [N, H, W, 1]) of floats in [0, 1] or
 * uint8 (0–255, scaled to [0, 1]), or a folder of mask images (binarised at `threshold`).
 */
export function readMaskStack(file: string, argument: string, threshold: number): MaskStack {
  if (fs.existsSync(file) && fs.statSync(file).isDirectory()) {
    const ds = loadMaskFolder(file, { threshold });
    return { data: ds.images, count: ds.labels.length, height: ds.shape[0], width: ds.shape[1] };
  }
  const arr = readNpy(file, argument);
  const s = arr.shape;
  if (!(s.length === 3 || (s.length === 4 && s[3] === 1)))
    throw new EccvkitInputError(argument, `${file} with shape [${s.join(', ')}]`, 'masks of shape [N, H, W] (or [N, H, W, 1]): one 2-D mask per item');
  const [n, h, w] = s as [number, number, number];
  const data = npyToFloat32(arr);
  if (arr.dtype === 'uint8') for (let i = 0; i < data.length; i++) data[i] = (data[i] as number) / 255;
  else
    for (let i = 0; i < data.length; i++) {
      const v = data[i] as number;
      if (!(v >= 0 && v <= 1)) throw new EccvkitInputError(argument, `${file} with ${arr.dtype} value ${v} at flat index ${i}`, 'mask values in [0, 1] (or uint8 0–255)');
    }
  return { data, count: n, height: h, width: w };
}

/** Adds the `topo` command group. */
export function registerTopoCommands(cli: Command): void {
  const group = cli.command('topo').description(COMMAND_DESCRIPTIONS.topo);

  group
    .command('score')
    .description('Betti score per dimension, unbiased MMD of persistence diagrams per dimension and mean absolute Betti error between real and generated masks')
    .requiredOption('--real <file>', 'real masks: .npy [N, H, W] in [0, 1] or uint8, or a folder of mask images')
    .requiredOption('--fake <file>', 'generated masks, the same size as the real ones')
    .option('--dims <list>', 'homology dimensions, comma-separated', '0,1')
    .option('--threshold <t>', 'pixels above it are structure (foreground)', '0.5')
    .option('--sigma <s>', 'MMD kernel width, k = exp(−W1/σ²) (default: median heuristic on the real diagrams)')
    .option('--mmd-samples <n>', 'masks drawn from each set (seeded) for the MMD; its cost grows as the square', '64')
    .option('--seed <n>', 'seed of that draw', '0')
    .option('--json', 'print {"betti_score": {...}, "mmd": {...}, "betti_error": e, "betti": {"real": [[β0, β1], …], "fake": …}}', false)
    .action((opts: { real: string; fake: string; dims: string; threshold: string; sigma?: string; mmdSamples: string; seed: string; json: boolean }) => {
      const dims = parseDims(opts.dims);
      const threshold = parseThreshold(opts.threshold);
      const sigma = opts.sigma === undefined ? undefined : Number(opts.sigma);
      if (sigma !== undefined) check(Number.isFinite(sigma) && sigma > 0, '--sigma', opts.sigma, 'a number > 0');
      const mmdSamples = integerOption(opts.mmdSamples, '--mmd-samples', 2);
      const seed = integerOption(opts.seed, '--seed', 0);
      const real = readMaskStack(opts.real, '--real', threshold);
      const fake = readMaskStack(opts.fake, '--fake', threshold);
      check(fake.height === real.height && fake.width === real.width, '--fake', `${opts.fake} with ${fake.height}×${fake.width} masks`, `${real.height}×${real.width} masks, like --real`);
      check(real.count >= 2, '--real', `${opts.real} with ${real.count} mask`, 'at least 2 masks (the unbiased MMD needs pairs)');
      check(fake.count >= 2, '--fake', `${opts.fake} with ${fake.count} mask`, 'at least 2 masks (the unbiased MMD needs pairs)');
      const r = topologyScores(real, fake, { dims, threshold, mmdSamples, seed, ...(sigma === undefined ? {} : { sigma }) });
      if (opts.json) {
        console.log(JSON.stringify({ betti_score: r.bettiScore, mmd: r.mmd, sigma: r.sigma, betti_error: r.bettiError, betti: r.betti, real: real.count, fake: fake.count, dims }));
        return;
      }
      for (const d of dims) console.log(`dimension ${d}: Betti score ${r.bettiScore[d]?.toPrecision(4)}, unbiased MMD ${r.mmd[d]?.toPrecision(4)} (σ ${r.sigma[d]?.toPrecision(3)})`);
      console.log(`mean absolute Betti error against the nearest real: ${r.bettiError.toPrecision(4)} (${fake.count} generated, ${real.count} real masks)`);
    });

  group
    .command('masks')
    .description('write seeded binary masks with known Betti numbers as .npy [N, H, W] (float32 0/1), and their Betti numbers beside it (<out>.betti.npy, int32 [N, 2])')
    .addOption(new Option('--kind <kind>', 'generator').choices([...MASK_KINDS]).default('membranes'))
    .option('--count <n>', 'masks', '1000')
    .option('--seed <n>', 'seed', '0')
    .option('--size <n>', 'side of the masks', '64')
    .requiredOption('--out <file>', 'output .npy')
    .action((opts: { kind: MaskKind; count: string; seed: string; size: string; out: string }) => {
      check(opts.out.endsWith('.npy'), '--out', opts.out, 'a .npy file name');
      const ds = generateMasks({ kind: opts.kind, count: integerOption(opts.count, '--count', 1), seed: integerOption(opts.seed, '--seed', 0), size: integerOption(opts.size, '--size', 16) });
      const n = ds.labels.length;
      writeNpy(opts.out, npyArray(ds.images, [n, ds.shape[0], ds.shape[1]]));
      writeNpy(opts.out.replace(/\.npy$/, '.betti.npy'), npyArray(ds.betti, [n, 2]));
      console.log(`${n} ${opts.kind} masks (${ds.shape[0]}×${ds.shape[1]}) → ${opts.out}`);
    });
}
