/**
 * `eccvkit gan disentanglement`: MIG and DCI of latent codes against known
 * factors, both stored as `.npy` (one row per sample). Pure Float64 code, so no
 * tensor backend is started.
 */
import type { Command } from 'commander';
import { readNpy } from '../data/index.js';
import { check, EccvkitInputError } from '../errors.js';
import { dci, mutualInformationGap, type DciResult, type MigResult } from '../gan/disentanglement.js';
import { integerOption, numberOption } from './options.js';

/** Library argument names → the options that carry them. */
const OPTION_OF: Record<string, string> = { codes: '--latents', factors: '--factors', discrete: '--discrete', bins: '--bins', trainFraction: '--train-fraction', ridge: '--ridge', seed: '--seed' };

/** Re-raises a library input error under the option's name (`factors column 2` → `--factors column 2`). */
function asOption<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof EccvkitInputError) {
      const [head, ...rest] = err.argument.split(' ');
      const option = OPTION_OF[head as string];
      if (option !== undefined) throw new EccvkitInputError([option, ...rest].join(' '), err.value, err.expected);
    }
    throw err;
  }
}

/** A `.npy` of shape [N, D] (or [N] when `vector` is allowed, read as [N, 1]) as Float64 rows. */
function readMatrix(file: string, option: string, vector: boolean): { values: Float64Array; rows: number; cols: number } {
  const arr = readNpy(file, option);
  const ok = arr.shape.length === 2 || (vector && arr.shape.length === 1);
  check(ok && (arr.shape[0] as number) >= 1 && (arr.shape[1] ?? 1) >= 1, option, `${file} with shape [${arr.shape.join(', ')}]`, vector ? 'an array [N, K] (or [N]) with N ≥ 1' : 'a 2-D array [N, D] with N ≥ 1');
  // Float64 throughout (not npyToFloat32), so float64 files bin exactly as NumPy bins them.
  const values = arr.data instanceof BigInt64Array ? Float64Array.from(arr.data, (v) => Number(v)) : Float64Array.from(arr.data);
  const bad = values.findIndex((v) => !Number.isFinite(v));
  check(bad < 0, option, `${file} with ${values[bad]} at flat index ${bad}`, 'finite values only');
  return { values, rows: arr.shape[0] as number, cols: arr.shape[1] ?? 1 };
}

function parseColumns(text: string | undefined, k: number): number[] {
  if (text === undefined || text.trim() === '') return [];
  const cols = text.split(',').map((s) => Number(s.trim()));
  check(
    cols.every((c) => Number.isInteger(c) && c >= 0 && c < k) && new Set(cols).size === cols.length,
    '--discrete',
    text,
    `distinct comma-separated column indices of --factors, integers in [0, ${k - 1}]`,
  );
  return cols;
}



const fmt = (v: number) => v.toFixed(4).padStart(8);

function printTable(mig: MigResult, scores: DciResult | undefined, discrete: number[]): void {
  const k = mig.entropy.length;
  const header = Array.from({ length: k }, (_, c) => `v${c}${discrete.includes(c) ? '*' : ''}`.padStart(8)).join('');
  console.log(`MIG ${mig.mig.toFixed(4)}`);
  if (scores) {
    console.log(`DCI (ridge importances): disentanglement ${scores.disentanglement.toFixed(4)}, completeness ${scores.completeness.toFixed(4)}, informativeness ${scores.informativeness.toFixed(4)}`);
  }
  console.log(`I(code; factor) in nats${discrete.length > 0 ? ' (* discrete factor)' : ''}:`);
  console.log(''.padEnd(16) + header);
  mig.mi.forEach((row, j) => console.log(`z${j}`.padEnd(16) + row.map(fmt).join('')));
  console.log('H(factor)'.padEnd(16) + mig.entropy.map(fmt).join(''));
  console.log('gap / H'.padEnd(16) + mig.perFactor.map(fmt).join(''));
  if (scores) {
    console.log('informativeness'.padEnd(16) + scores.informativenessPerFactor.map(fmt).join(''));
    console.log('completeness'.padEnd(16) + scores.perFactor.map(fmt).join(''));
  }
}

/** Adds `gan disentanglement` to the `gan` group. */
export function registerDisentanglementCommand(group: Command): void {
  group
    .command('disentanglement')
    .description('MIG (20-bin histograms, as disentanglement_lib) and DCI (closed-form ridge importances) of latent codes against known factors, both .npy with one row per sample')
    .requiredOption('--latents <file>', 'latent codes, .npy [N, D] (D ≥ 2)')
    .requiredOption('--factors <file>', 'ground-truth factors, .npy [N, K] or [N]')
    .option('--discrete <cols>', 'comma-separated factor columns holding integer class labels (the others are binned like the codes), e.g. 0,2')
    .option('--bins <n>', 'equal-width histogram bins of continuous columns (MIG)', '20')
    .option('--train-fraction <x>', 'rows fitting the DCI predictors; the rest score informativeness', '0.8')
    .option('--seed <n>', 'seed of the DCI train/test split', '0')
    .option('--ridge <x>', 'ridge λ of the DCI regressions on standardised codes', '1e-3')
    .option('--no-dci', 'skip DCI')
    .option('--json', 'print JSON', false)
    .action((opts: { latents: string; factors: string; discrete?: string; bins: string; trainFraction: string; seed: string; ridge: string; dci: boolean; json: boolean }) => {
      const bins = integerOption(opts.bins, '--bins', 2);
      const seed = integerOption(opts.seed, '--seed', 0);
      const trainFraction = numberOption(opts.trainFraction, '--train-fraction');
      const ridge = numberOption(opts.ridge, '--ridge');
      const codes = readMatrix(opts.latents, '--latents', false);
      const factors = readMatrix(opts.factors, '--factors', true);
      check(codes.cols >= 2, '--latents', `${opts.latents} with ${codes.cols} column`, 'at least 2 code columns (D ≥ 2)');
      check(factors.rows === codes.rows, '--factors', `${opts.factors} with ${factors.rows} rows`, `${codes.rows} rows, one per row of --latents (${opts.latents})`);
      const discrete = parseColumns(opts.discrete, factors.cols);
      const mig = asOption(() => mutualInformationGap(codes, factors, { discrete, bins }));
      const scores = opts.dci ? asOption(() => dci(codes, factors, { discrete, trainFraction, seed, ridge })) : undefined;
      if (opts.json) {
        const out = {
          mig: mig.mig,
          migPerFactor: mig.perFactor,
          entropy: mig.entropy,
          mi: mig.mi,
          ...(scores
            ? {
                dci: {
                  disentanglement: scores.disentanglement,
                  completeness: scores.completeness,
                  informativeness: scores.informativeness,
                  informativenessPerFactor: scores.informativenessPerFactor,
                  perCode: scores.perCode,
                  perFactor: scores.perFactor,
                  importance: scores.importance,
                },
              }
            : {}),
          samples: codes.rows,
          codes: codes.cols,
          factors: factors.cols,
          discrete,
          bins,
        };
        console.log(JSON.stringify(out));
      } else printTable(mig, scores, discrete);
    });
}
