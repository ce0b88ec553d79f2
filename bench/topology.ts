/**
 * Cubical persistence against GUDHI (Debian's `python3-gudhi`), in one run:
 *
 * 1. Check: `eccvkit ph --json` and GUDHI give the same multiset of pairs on
 *    random, smooth, tied and binary images, sublevel and superlevel, for the T
 *    construction (`CubicalComplex(top_dimensional_cells=img)`) and for the V
 *    construction (GUDHI 3.7 has no `vertices=`; V of an image equals T of its
 *    (2h−1)×(2w−1) max-refinement, whose every pixel is one cell of the V complex).
 * 2. Speed: the T construction, dimensions 0 and 1, on smooth random images of
 *    512², 1024² and 2048² (uniform noise blurred by a Gaussian of σ = 4 px),
 *    eccvkit in-process vs `gudhi.CubicalComplex(top_dimensional_cells=img).persistence()`
 *    in a Python child on the same array; medians of --reps runs; the ratio is GUDHI / eccvkit,
 *    in wall time and in CPU time (on a machine shared with other work the CPU ratio is the steadier one).
 *
 * 3. Whole process: `eccvkit --help` and `eccvkit ph` of the 1024² image, the built
 *    command started afresh each run, against GUDHI's in-process time of step 2.
 *
 * Options: --sizes 512,1024,2048, --reps N (default 5; 2 at 2048² and above), --no-check, --json.
 * eccvkit gets one untimed run at each size first (JIT, first-touch page faults).
 * Needs no install to run; without GUDHI it times eccvkit alone and says how to get GUDHI.
 * `ECCVKIT_PYTHON` picks the interpreter (default: the first of python3, /usr/bin/python3 that imports gudhi).
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeNpy } from '../src/data/index.js';
import { createRng } from '../src/engine/rng.js';
import { cubicalPersistence, type Construction, type Filtration } from '../src/topology/index.js';
import { arg, median } from './util.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** Uniform noise blurred by a separable Gaussian (σ in pixels, clamped borders). */
export function smoothRandomImage(h: number, w: number, seed: number, sigma = 4): Float64Array {
  const rng = createRng(seed);
  const img = Float64Array.from({ length: h * w }, () => rng.next());
  const radius = Math.ceil(3 * sigma);
  const kernel = Float64Array.from({ length: 2 * radius + 1 }, (_, k) => Math.exp(-((k - radius) ** 2) / (2 * sigma * sigma)));
  const total = kernel.reduce((a, b) => a + b, 0);
  for (let k = 0; k < kernel.length; k++) kernel[k] = (kernel[k] as number) / total;
  const tmp = new Float64Array(h * w);
  for (let r = 0; r < h; r++) {
    for (let c = 0; c < w; c++) {
      let s = 0;
      for (let k = -radius; k <= radius; k++) s += (kernel[k + radius] as number) * (img[r * w + Math.min(w - 1, Math.max(0, c + k))] as number);
      tmp[r * w + c] = s;
    }
  }
  const out = new Float64Array(h * w);
  for (let r = 0; r < h; r++) {
    for (let c = 0; c < w; c++) {
      let s = 0;
      for (let k = -radius; k <= radius; k++) s += (kernel[k + radius] as number) * (tmp[Math.min(h - 1, Math.max(0, r + k)) * w + c] as number);
      out[r * w + c] = s;
    }
  }
  return out;
}

const GUDHI_SCRIPT = String.raw`
import json, sys, time
import numpy as np
import gudhi
mode, file = sys.argv[1], sys.argv[2]
img = np.load(file)
if mode == 'time':
    reps = int(sys.argv[3])
    times, cpu, counts = [], [], None
    for _ in range(reps):
        t, c = time.perf_counter(), time.process_time()
        cc = gudhi.CubicalComplex(top_dimensional_cells=img)
        pers = cc.persistence()
        times.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
        counts = [sum(1 for d, _ in pers if d == k) for k in (0, 1)]
    print(json.dumps({'times': times, 'cpu': cpu, 'counts': counts, 'version': gudhi.__version__}))
else:
    sign = -1.0 if mode == 'superlevel' else 1.0
    cc = gudhi.CubicalComplex(top_dimensional_cells=sign * img)
    cc.persistence(homology_coeff_field=2, min_persistence=0)
    out = {}
    for k in (0, 1):
        iv = sign * cc.persistence_intervals_in_dimension(k)
        out[str(k)] = [[float(b), None if np.isinf(d) else float(d)] for b, d in iv.reshape(-1, 2) if b != d]
    print(json.dumps(out))
`;

function findPython(): string | undefined {
  const candidates = [process.env.ECCVKIT_PYTHON, 'python3', '/usr/bin/python3'].filter((c): c is string => !!c);
  for (const py of candidates) {
    const r = spawnSync(py, ['-c', 'import gudhi, numpy'], { encoding: 'utf8' });
    if (r.status === 0) return py;
  }
  return undefined;
}

function runGudhi(python: string, args: string[]): unknown {
  const r = spawnSync(python, ['-c', GUDHI_SCRIPT, ...args], { encoding: 'utf8', maxBuffer: 1 << 30 });
  if (r.status !== 0) throw new Error(`GUDHI failed: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

type Pair = [number, number | null];
const key = (p: Pair) => `${p[0]},${p[1]}`;

function sameMultiset(a: Pair[], b: Pair[]): boolean {
  if (a.length !== b.length) return false;
  const x = a.map(key).sort();
  const y = b.map(key).sort();
  return x.every((v, i) => v === y[i]);
}

/** The (2h−1)×(2w−1) refinement whose pixels are the cells of the V complex (value: max, or min for superlevel, of their vertices). */
function refine(img: Float64Array, h: number, w: number, pick: (a: number, b: number) => number): Float64Array {
  const W = 2 * w - 1;
  const out = new Float64Array((2 * h - 1) * W);
  for (let r = 0; r < 2 * h - 1; r++) {
    for (let c = 0; c < W; c++) {
      let v = img[(r >> 1) * w + (c >> 1)] as number;
      if (r % 2) v = pick(v, img[((r + 1) >> 1) * w + (c >> 1)] as number);
      if (c % 2) v = pick(v, img[(r >> 1) * w + ((c + 1) >> 1)] as number);
      if (r % 2 && c % 2) v = pick(v, img[((r + 1) >> 1) * w + ((c + 1) >> 1)] as number);
      out[r * W + c] = v;
    }
  }
  return out;
}

function eccvkitPh(file: string, construction: Construction, filtration: Filtration): Record<string, Pair[]> {
  const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(root, 'src', 'cli', 'main.ts'), 'ph', file, '--json', '--construction', construction, '--filtration', filtration], {
    cwd: root,
    encoding: 'utf8',
    maxBuffer: 1 << 30,
  });
  if (r.status !== 0) throw new Error(`eccvkit ph failed: ${r.stderr}`);
  return (JSON.parse(r.stdout) as { diagrams: Record<string, Pair[]> }).diagrams;
}

function check(python: string, dir: string, json: boolean): boolean {
  const rng = createRng(2020);
  const images: Array<[string, number, number, Float64Array]> = [
    ['random 64×48', 64, 48, Float64Array.from({ length: 64 * 48 }, () => rng.next())],
    ['smooth 256×256', 256, 256, smoothRandomImage(256, 256, 7)],
    ['tied 64×64 (5 levels)', 64, 64, Float64Array.from({ length: 64 * 64 }, () => rng.int(5))],
    ['binary 64×64', 64, 64, Float64Array.from({ length: 64 * 64 }, () => rng.int(2))],
    ['one row 1×50', 1, 50, Float64Array.from({ length: 50 }, () => rng.int(4))],
    ['one column 40×1', 40, 1, Float64Array.from({ length: 40 }, () => rng.next())],
    ['random 17×31', 17, 31, Float64Array.from({ length: 17 * 31 }, () => rng.normal())],
    ['tied 30×41 (3 levels)', 30, 41, Float64Array.from({ length: 30 * 41 }, () => rng.int(3) - 1)],
    ['constant 6×7', 6, 7, new Float64Array(42).fill(2.5)],
    ['binary blobs 128×96', 128, 96, smoothRandomImage(128, 96, 9, 3).map((v) => (v > 0.5 ? 1 : 0))],
  ];
  let ok = true;
  const rows: Array<Record<string, unknown>> = [];
  for (const [name, h, w, img] of images) {
    const file = path.join(dir, 'check.npy');
    writeNpy(file, { data: img, shape: [h, w], dtype: 'float64' });
    for (const construction of ['T', 'V'] as const) {
      for (const filtration of ['sublevel', 'superlevel'] as const) {
        const ours = eccvkitPh(file, construction, filtration);
        let refFile = file;
        if (construction === 'V') {
          refFile = path.join(dir, 'refined.npy');
          writeNpy(refFile, { data: refine(img, h, w, filtration === 'sublevel' ? Math.max : Math.min), shape: [2 * h - 1, 2 * w - 1], dtype: 'float64' });
        }
        const ref = runGudhi(python, [filtration, refFile]) as Record<string, Pair[]>;
        for (const d of ['0', '1']) {
          const same = sameMultiset(ours[d] ?? [], ref[d] ?? []);
          ok &&= same;
          rows.push({ image: name, construction, filtration, dim: Number(d), pairs: (ours[d] ?? []).length, gudhiPairs: (ref[d] ?? []).length, same });
          if (!json) console.log(`  ${name.padEnd(22)} ${construction} ${filtration.padEnd(10)} dim ${d}: ${String((ours[d] ?? []).length).padStart(6)} pairs  ${same ? 'same as GUDHI' : 'DIFFERENT from GUDHI'}`);
        }
      }
    }
  }
  if (json) console.log(JSON.stringify({ check: rows }));
  return ok;
}

/** Wall seconds of one run of the built command (`dist/cli/main.js`, as `npm i -g` installs it). */
function timeCommand(args: string[]): number {
  const t = performance.now();
  const r = spawnSync(process.execPath, [path.join(root, 'dist', 'cli', 'main.js'), ...args], { encoding: 'utf8', maxBuffer: 1 << 30 });
  const seconds = (performance.now() - t) / 1000;
  if (r.status !== 0) throw new Error(`eccvkit ${args.join(' ')} failed (${r.status}): ${r.stderr}`);
  return seconds;
}

/**
 * The command as a user meets it: `eccvkit --help`, and `eccvkit ph` of a
 * 1024² image as a whole process (start, read, compute, print JSON) against
 * GUDHI in-process on the same array. Targets: --help ≤ 0.3 s; ph ≥ 5× faster.
 */
function wholeProcess(dir: string, reps: number, gudhi1024: number | undefined): { help: number; ph: number; gudhi?: number; lines: string[] } {
  const lines = ['\nwhole process: the built command (dist/cli/main.js), median of runs'];
  if (!fs.existsSync(path.join(root, 'dist', 'cli', 'main.js'))) {
    lines.push('  dist/cli/main.js is missing: run `npm run build` first');
    return { help: NaN, ph: NaN, lines };
  }
  const file = path.join(dir, 'smooth1024.npy');
  if (!fs.existsSync(file)) writeNpy(file, { data: smoothRandomImage(1024, 1024, 1024), shape: [1024, 1024], dtype: 'float64' });
  const n = Math.max(3, reps);
  const help = median(Array.from({ length: n }, () => timeCommand(['--help'])));
  const ph = median(Array.from({ length: n }, () => timeCommand(['ph', file, '--json'])));
  lines.push(`  eccvkit --help           ${help.toFixed(3)} s   target ≤ 0.300 s: ${help <= 0.3 ? 'met' : 'NOT met'}`);
  lines.push(
    `  eccvkit ph 1024² --json  ${ph.toFixed(3)} s` +
      (gudhi1024 === undefined ? '   (GUDHI 1024² in-process not measured: include 1024 in --sizes, with GUDHI installed)' : `   GUDHI in-process ${gudhi1024.toFixed(3)} s   GUDHI / eccvkit = ${(gudhi1024 / ph).toFixed(1)}×, target ≥ 5×: ${gudhi1024 / ph >= 5 ? 'met' : 'NOT met'}`),
  );
  return { help, ph, ...(gudhi1024 === undefined ? {} : { gudhi: gudhi1024 }), lines };
}

export async function main(argv: string[]): Promise<void> {
  const sizes = arg(argv, 'sizes', '512,1024,2048').split(',').map(Number);
  const reps = Number(arg(argv, 'reps', '5'));
  const json = argv.includes('--json');
  const python = findPython();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'eccvkit-bench-topology-'));
  try {
    if (python === undefined) {
      console.log('GUDHI not found (tried $ECCVKIT_PYTHON, python3, /usr/bin/python3): timing eccvkit alone.');
      console.log('To compare: apt-get install -y python3-gudhi (Debian; it installs for /usr/bin/python3), or set ECCVKIT_PYTHON to a Python with gudhi and numpy.');
    } else if (!argv.includes('--no-check')) {
      if (!json) console.log(`check: eccvkit ph vs GUDHI (${python}), multisets of (birth, death) pairs`);
      const ok = check(python, dir, json);
      if (!json) console.log(ok ? 'check: all identical' : 'check: DIFFERENCES FOUND');
      if (!ok) process.exitCode = 1;
    }
    const rows: Array<Record<string, unknown>> = [];
    if (!json) console.log(`\nspeed: T construction, dims 0 and 1, smooth random images (σ = 4 px), median of runs`);
    for (const n of sizes) {
      const img = smoothRandomImage(n, n, n);
      const runs = n >= 2048 ? Math.min(reps, 2) : reps;
      const times: number[] = [];
      const cpu: number[] = [];
      let counts: number[] = [];
      cubicalPersistence(img, [n, n]); // untimed: JIT and first-touch page faults
      for (let k = 0; k < runs; k++) {
        const t = performance.now();
        const c = process.cpuUsage();
        const r = cubicalPersistence(img, [n, n]);
        times.push((performance.now() - t) / 1000);
        const used = process.cpuUsage(c);
        cpu.push((used.user + used.system) / 1e6);
        counts = [r.diagrams[0]?.size ?? 0, r.diagrams[1]?.size ?? 0];
      }
      const ours = median(times);
      const oursCpu = median(cpu);
      const row: Record<string, unknown> = { size: n, eccvkitSeconds: ours, eccvkitCpuSeconds: oursCpu, eccvkitPairs: counts, runs };
      if (python !== undefined) {
        const file = path.join(dir, `smooth${n}.npy`);
        writeNpy(file, { data: img, shape: [n, n], dtype: 'float64' });
        const g = runGudhi(python, ['time', file, String(runs)]) as { times: number[]; cpu: number[]; counts: number[]; version: string };
        Object.assign(row, {
          gudhiSeconds: median(g.times),
          gudhiCpuSeconds: median(g.cpu),
          gudhiPairs: g.counts,
          gudhiVersion: g.version,
          ratio: median(g.times) / ours,
          cpuRatio: median(g.cpu) / oursCpu,
        });
      }
      rows.push(row);
      if (!json) {
        const g = row.gudhiSeconds as number | undefined;
        console.log(
          `  ${`${n}²`.padEnd(6)} eccvkit ${ours.toFixed(3)} s wall, ${oursCpu.toFixed(3)} s CPU (pairs ${counts.join(' + ')})` +
            (g === undefined
              ? ''
              : `   GUDHI ${g.toFixed(3)} s wall, ${(row.gudhiCpuSeconds as number).toFixed(3)} s CPU (pairs ${(row.gudhiPairs as number[]).join(' + ')})` +
                `   GUDHI / eccvkit = ${(row.ratio as number).toFixed(1)}× wall, ${(row.cpuRatio as number).toFixed(1)}× CPU`),
        );
      }
    }
    if (json) console.log(JSON.stringify({ speed: rows }));
    const whole = wholeProcess(dir, reps, rows.find((r) => r.size === 1024)?.gudhiSeconds as number | undefined);
    if (json) console.log(JSON.stringify({ wholeProcess: whole }));
    else for (const line of whole.lines) console.log(line);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) await main(process.argv.slice(2));
