/**
 * The search benchmark, in one run: TPE against random search (best value
 * after N trials, mean ± 95% t-interval over 10 seeds) on Branin (2-d),
 * Hartmann-6 (6-d) and a mixed categorical / log / integer / continuous
 * function, with Optuna (Debian's python3-optuna, TPE multivariate, same
 * functions and seed count) as the peer when it is installed; then the
 * ask/tell overhead per trial over 1,000 trials in memory, on SQLite and on
 * PostgreSQL (a private server when initdb is installed, or ECCVKIT_PG_URL),
 * beside Optuna's in memory and on SQLite.
 *
 * Ratios: "gap" is best − known minimum; TPE/random is our TPE's mean gap
 * over random's, ours/Optuna our TPE's mean gap over Optuna's TPE's.
 *
 * Options: --trials N (default 50), --seeds N (default 10), --overhead N
 * (default 1000), --json. ECCVKIT_PYTHON: the interpreter with Optuna
 * (default /usr/bin/python3).
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createStudy, RandomSampler, TPESampler, type Sampler, type StudyStorage, type Trial } from '../src/hpo/index.js';
import { openStudyStorage } from '../src/hpo/storage/index.js';
import { meanConfidenceInterval } from '../src/stats.js';
import { postgresBinDir, startPostgres, type PgServer } from '../test/hpo/pg-server.js';
import { arg } from './util.js';

const H_A = [[10, 3, 17, 3.5, 1.7, 8], [0.05, 10, 17, 0.1, 8, 14], [3, 3.5, 1.7, 10, 17, 8], [17, 8, 0.05, 10, 0.1, 14]];
const H_P = [[1312, 1696, 5569, 124, 8283, 5886], [2329, 4135, 8307, 3736, 1004, 9991], [2348, 1451, 3522, 2883, 3047, 6650], [4047, 8828, 8732, 5743, 1091, 381]];
const H_C = [1.0, 1.2, 3.0, 3.2];
const MIXED_SHIFT: Record<string, number> = { relu: 0, gelu: 0.3, tanh: 1 };
const MIXED_CENTRE: Record<string, number> = { relu: 0.2, gelu: -0.4, tanh: 0.6 };

/** Test functions with their known minima (the same formulas as bench/optuna_peer.py). */
const FUNCTIONS: Record<string, { minimum: number; f: (t: Trial) => number }> = {
  branin: {
    minimum: 0.397887,
    f: (t) => {
      const x = t.suggestFloat('x', -5, 10);
      const y = t.suggestFloat('y', 0, 15);
      const b = 5.1 / (4 * Math.PI ** 2);
      const c = 5 / Math.PI;
      return (y - b * x * x + c * x - 6) ** 2 + 10 * (1 - 1 / (8 * Math.PI)) * Math.cos(x) + 10;
    },
  },
  hartmann6: {
    minimum: -3.32237,
    f: (t) => {
      const x = Array.from({ length: 6 }, (_, i) => t.suggestFloat(`x${i}`, 0, 1));
      let s = 0;
      for (let i = 0; i < 4; i++) {
        let inner = 0;
        for (let j = 0; j < 6; j++) inner += (H_A[i]![j] as number) * ((x[j] as number) - (H_P[i]![j] as number) * 1e-4) ** 2;
        s += (H_C[i] as number) * Math.exp(-inner);
      }
      return -s;
    },
  },
  mixed: {
    minimum: 0,
    f: (t) => {
      const act = t.suggestCategorical('activation', ['relu', 'gelu', 'tanh']);
      const x = t.suggestFloat('x', -1, 1);
      const lr = t.suggestFloat('lr', 1e-5, 1, { log: true });
      const n = t.suggestInt('layers', 1, 10);
      return (x - (MIXED_CENTRE[act] as number)) ** 2 + (Math.log10(lr) + 3) ** 2 / 4 + Math.abs(n - 4) / 6 + (MIXED_SHIFT[act] as number);
    },
  },
};

function interval(xs: number[]): string {
  const ci = meanConfidenceInterval(xs);
  return `${ci.mean.toFixed(4)} ± ${ci.halfWidth.toFixed(4)}`;
}

function mean(xs: number[]): number {
  return xs.reduce((a, b) => a + b, 0) / xs.length;
}

async function best(sampler: Sampler, f: (t: Trial) => number, trials: number): Promise<number> {
  const study = await createStudy({ sampler });
  return (await study.optimize(f, { trials })).best?.value as number;
}

function optunaPeer(req: Record<string, unknown>): Record<string, unknown> | null {
  // Debian's python3-optuna lives in the system interpreter; ECCVKIT_PYTHON picks another.
  const python = process.env.ECCVKIT_PYTHON ?? '/usr/bin/python3';
  const r = spawnSync(python, [path.join(import.meta.dirname, 'optuna_peer.py')], { input: JSON.stringify(req), encoding: 'utf8', maxBuffer: 1 << 24 });
  if (r.status !== 0) {
    console.log(`  (Optuna peer unavailable: ${(r.stderr || r.error?.message || '').trim().split('\n').pop()}; apt-get install python3-optuna)`);
    return null;
  }
  return JSON.parse(r.stdout) as Record<string, unknown>;
}

async function overheadMs(storage: StudyStorage, n: number): Promise<number> {
  const study = await createStudy({ name: `overhead-${Date.now()}`, storage, sampler: new RandomSampler({ seed: 0 }) });
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    const t = await study.ask();
    await study.tell(t, t.suggestFloat('x', 0, 1) + t.suggestFloat('y', 0, 1));
  }
  return (performance.now() - t0) / n;
}

export async function main(argv: string[]): Promise<void> {
  const trials = Number(arg(argv, 'trials', '50'));
  const seeds = Number(arg(argv, 'seeds', '10'));
  const nOverhead = Number(arg(argv, 'overhead', '1000'));
  const json = argv.includes('--json');
  const names = Object.keys(FUNCTIONS);
  const peer = optunaPeer({ functions: names, trials, seeds, overheadTrials: nOverhead });
  const peerSearch = (peer?.search ?? {}) as Record<string, { tpe: number[]; random: number[] }>;
  const out: Record<string, unknown> = { trials, seeds, optuna: peer?.optuna ?? null, functions: {} };

  console.log(`best value after ${trials} trials, mean ± 95% CI over ${seeds} seeds${peer ? ` (peer: Optuna ${String(peer.optuna)} TPE multivariate)` : ''}`);
  console.log('function    minimum    random               TPE                  Optuna TPE           gap TPE/random  gap ours/Optuna');
  for (const name of names) {
    const { minimum, f } = FUNCTIONS[name]!;
    const random: number[] = [];
    const tpe: number[] = [];
    for (let seed = 0; seed < seeds; seed++) {
      random.push(await best(new RandomSampler({ seed }), f, trials));
      tpe.push(await best(new TPESampler({ seed }), f, trials));
    }
    const gap = (xs: number[]) => mean(xs) - minimum;
    const o = peerSearch[name]?.tpe;
    (out.functions as Record<string, unknown>)[name] = { minimum, random, tpe, optunaTpe: o ?? null, optunaRandom: peerSearch[name]?.random ?? null };
    console.log(
      `${name.padEnd(11)} ${String(minimum).padEnd(10)} ${interval(random).padEnd(20)} ${interval(tpe).padEnd(20)} ${(o ? interval(o) : 'n/a').padEnd(20)} ${(gap(tpe) / gap(random)).toFixed(3).padEnd(15)} ${o ? (gap(tpe) / gap(o)).toFixed(3) : 'n/a'}`,
    );
  }

  console.log(`\nask/tell overhead per trial over ${nOverhead} trials (random sampler, two parameters)`);
  const rows: Record<string, number | null> = {};
  rows.memory = await overheadMs(await openStudyStorage('memory:'), nOverhead);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'eccvkit-bench-hpo-'));
  let server: PgServer | null = null;
  try {
    const sqlite = await openStudyStorage(`sqlite:${path.join(dir, 'eccvkit.db')}`);
    rows.sqlite = await overheadMs(sqlite, nOverhead);
    await sqlite.close();
    let url = process.env.ECCVKIT_PG_URL;
    if (!url && postgresBinDir()) {
      server = await startPostgres();
      url = server.url;
    }
    if (url) {
      const pg = await openStudyStorage(url);
      rows.postgres = await overheadMs(pg, nOverhead);
      await pg.close();
    } else rows.postgres = null;
  } finally {
    server?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
  const peerOverhead = (peer?.overheadMs ?? {}) as Record<string, number>;
  console.log('storage     eccvkit ms/trial   Optuna ms/trial   ratio ours/Optuna');
  for (const [k, v] of Object.entries(rows)) {
    const p = peerOverhead[k];
    console.log(`${k.padEnd(11)} ${v === null ? 'n/a (no PostgreSQL)' : v.toFixed(3).padEnd(18)} ${p !== undefined ? p.toFixed(3).padEnd(17) : 'n/a'.padEnd(17)} ${v !== null && p !== undefined ? (v / p).toFixed(3) : 'n/a'}`);
  }
  out.overheadMs = { eccvkit: rows, optuna: peerOverhead };
  if (json) console.log(JSON.stringify(out));
}

if (import.meta.url === `file://${process.argv[1]}`) await main(process.argv.slice(2));
