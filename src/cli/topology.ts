/**
 * `eccvkit ph IMAGE.npy|IMAGE.png`: persistent homology of a 2-D image, as JSON
 * (`--json`) or a readable summary. A thin wrapper over `cubicalPersistence`.
 */
import type { Command } from 'commander';
import { Option } from 'commander';
import fs from 'node:fs';
import path from 'node:path';
import { PNG } from 'pngjs';
// The core and the .npy reader only: the topology and data indexes load TensorFlow.js.
import { parseNpy } from '../data/npy.js';
import { check, EccvkitInputError } from '../errors.js';
import { CONSTRUCTIONS, cubicalPersistence, FILTRATIONS, type Construction, type Filtration, type HomologyDim, type PixelArray, type PersistencePairs } from '../topology/cubical.js';
import { COMMAND_DESCRIPTIONS } from './groups.js';

/** A 2-D image read from disk. */
interface LoadedImage {
  data: PixelArray;
  shape: [number, number];
}

/** 8-bit PNG to gray levels 0–255: the red channel when R = G = B, else the rounded ITU-R BT.601 luma (0.299 R + 0.587 G + 0.114 B). */
function readPng(buf: Buffer, file: string): LoadedImage {
  let png: PNG;
  try {
    png = PNG.sync.read(buf);
  } catch (err) {
    throw new EccvkitInputError('IMAGE', file, `a readable PNG (${err instanceof Error ? err.message : String(err)})`);
  }
  const n = png.width * png.height;
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const r = png.data[4 * i] as number;
    const g = png.data[4 * i + 1] as number;
    const b = png.data[4 * i + 2] as number;
    out[i] = r === g && g === b ? r : Math.round((299 * r + 587 * g + 114 * b) / 1000);
  }
  return { data: out, shape: [png.height, png.width] };
}

function readNpyImage(buf: Buffer, file: string): LoadedImage {
  const arr = parseNpy(buf, file);
  check(arr.shape.length === 2, 'IMAGE', `${file} with shape [${arr.shape.join(', ')}]`, 'a 2-D array [height, width]');
  let data: PixelArray;
  if (arr.data instanceof BigInt64Array) {
    // NumPy's default integer type; exact as doubles up to 2^53.
    const d = new Float64Array(arr.data.length);
    for (let i = 0; i < d.length; i++) {
      const v = arr.data[i] as bigint;
      check(v <= BigInt(Number.MAX_SAFE_INTEGER) && v >= -BigInt(Number.MAX_SAFE_INTEGER), 'IMAGE', `${file} value ${v}`, 'int64 values within ±2^53 (exact as doubles)');
      d[i] = Number(v);
    }
    data = d;
  } else {
    data = arr.data;
  }
  return { data, shape: [arr.shape[0] as number, arr.shape[1] as number] };
}

/** Reads `.npy` (float32/64, int32/64, uint8, bool) or `.png` (8-bit) as a 2-D image, told apart by content. */
export function readImageFile(file: string): LoadedImage {
  let buf: Buffer;
  try {
    buf = fs.readFileSync(file);
  } catch (err) {
    throw new EccvkitInputError('IMAGE', file, `a readable .npy or .png file (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }
  if (buf.length >= 8 && buf[0] === 0x89 && buf[1] === 0x50 && buf[2] === 0x4e && buf[3] === 0x47) return readPng(buf, file);
  if (buf.length >= 6 && buf[0] === 0x93 && buf.subarray(1, 6).toString('latin1') === 'NUMPY') return readNpyImage(buf, file);
  throw new EccvkitInputError('IMAGE', file, 'a .npy array or a PNG image (by content)');
}

function parseDims(text: string): HomologyDim[] {
  const parts = text.split(',').map((s) => s.trim());
  check(parts.length > 0 && parts.every((p) => p === '0' || p === '1'), '--dims', text, 'a comma-separated list of 0 and 1, e.g. 0,1');
  return [...new Set(parts.map(Number) as HomologyDim[])].sort();
}

const jsonNumber = (v: number): number | null => (Number.isFinite(v) ? v : null);

function summary(pairs: PersistencePairs, top: number): string[] {
  const lines: string[] = [];
  const essential: number[] = [];
  const finite: number[] = [];
  for (let i = 0; i < pairs.size; i++) (Number.isFinite(pairs.death[i]) ? finite : essential).push(i);
  const length = (i: number) => Math.abs((pairs.death[i] as number) - (pairs.birth[i] as number));
  lines.push(`dimension ${pairs.dim}: ${pairs.size} pairs (${essential.length} essential)`);
  for (const i of essential) lines.push(`  [${pairs.birth[i]}, ${pairs.death[i] === Infinity ? '∞' : '−∞'})  essential`);
  const longest = finite.sort((a, b) => length(b) - length(a)).slice(0, top);
  if (longest.length > 0) lines.push(`  the ${longest.length} most persistent:`);
  for (const i of longest) lines.push(`  [${pairs.birth[i]}, ${pairs.death[i]})  persistence ${Number(length(i).toPrecision(6))}`);
  return lines;
}

/** Adds `eccvkit ph`. */
export function registerTopologyCommands(cli: Command): void {
  cli
    .command('ph')
    .description(COMMAND_DESCRIPTIONS.ph)
    .argument('<image>', 'a 2-D .npy array or an 8-bit PNG (gray levels 0–255)')
    .addOption(new Option('--construction <c>', 'T: pixels are squares (GUDHI top_dimensional_cells; foreground 8-connected); V: pixels are vertices (CubicalRipser default; 4-connected)').choices([...CONSTRUCTIONS]).default('T'))
    .addOption(new Option('--filtration <f>', 'sublevel sets {f ≤ t}, or superlevel sets {f ≥ t} (values stay the image’s own)').choices([...FILTRATIONS]).default('sublevel'))
    .option('--dims <list>', 'homology dimensions, comma-separated', '0,1')
    .option('--critical', 'add the birth and death pixels [row, col] of each pair', false)
    .option('--top <n>', 'pairs listed per dimension in the summary', '10')
    .option('--json', 'print {"diagrams": {"0": [[birth, death], …], "1": …}} (death null when infinite; sorted by birth, then death)', false)
    .action((file: string, opts: { construction: Construction; filtration: Filtration; dims: string; critical: boolean; top: string; json: boolean }) => {
      const dims = parseDims(opts.dims);
      const top = Number(opts.top);
      check(Number.isInteger(top) && top >= 0, '--top', opts.top, 'an integer ≥ 0');
      const image = readImageFile(file);
      const result = cubicalPersistence(image.data, image.shape, { construction: opts.construction, filtration: opts.filtration, dims });
      const width = image.shape[1];
      const at = (p: number): [number, number] | null => (p < 0 ? null : [Math.floor(p / width), p % width]);
      if (opts.json) {
        const diagrams: Record<string, Array<[number, number | null]>> = {};
        const critical: Record<string, Array<[[number, number] | null, [number, number] | null]>> = {};
        for (const d of dims) {
          const p = result.diagrams[d] as PersistencePairs;
          diagrams[d] = Array.from({ length: p.size }, (_, i) => [p.birth[i] as number, jsonNumber(p.death[i] as number)]);
          if (opts.critical) critical[d] = Array.from({ length: p.size }, (_, i) => [at(p.birthPixel[i] as number), at(p.deathPixel[i] as number)]);
        }
        const out = { image: path.basename(file), shape: image.shape, construction: opts.construction, filtration: opts.filtration, diagrams, ...(opts.critical ? { critical } : {}) };
        console.log(JSON.stringify(out));
        return;
      }
      console.log(`${file}: ${image.shape[0]}×${image.shape[1]}, ${opts.construction}-construction, ${opts.filtration} filtration`);
      for (const d of dims) {
        const p = result.diagrams[d] as PersistencePairs;
        const lines = summary(p, top);
        if (opts.critical) {
          lines.push('  critical pixels [row, col] (birth → death), in diagram order:');
          for (let i = 0; i < p.size; i++) lines.push(`  (${p.birth[i]}, ${p.death[i]}): ${JSON.stringify(at(p.birthPixel[i] as number))} → ${JSON.stringify(at(p.deathPixel[i] as number))}`);
        }
        console.log(lines.join('\n'));
      }
    });
}
