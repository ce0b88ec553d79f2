/**
 * Every experiment's quick preset on the native and the wasm backends, each run
 * as its own `eccvkit run <experiment> --preset quick` process in a fresh
 * store, wall time per experiment and the ratio. Target: native faster on each.
 *
 * Options: --backends native,wasm, --experiments a,b (default: all), --json.
 * Threads: ECCVKIT_THREADS for native (wasm runs one thread in Node).
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { listExperiments } from '../src/experiments/index.js';
import { arg } from './util.js';

const root = path.resolve(import.meta.dirname, '..');

export async function main(argv: string[]): Promise<void> {
  const backends = arg(argv, 'backends', 'native,wasm').split(',');
  const names = arg(argv, 'experiments', listExperiments().map((e) => e.name).join(',')).split(',');
  const json = argv.includes('--json');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'eccvkit-bench-presets-'));
  const seconds: Record<string, Record<string, number | string>> = {};
  if (!json) console.log(`quick presets, one process each, wall seconds; load average ${os.loadavg().map((v) => v.toFixed(2)).join(' ')}`);
  try {
    for (const name of names) {
      seconds[name] = {};
      for (const backend of backends) {
        const t = performance.now();
        const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(root, 'src', 'cli', 'main.ts'), 'run', name, '--preset', 'quick', '--backend', backend, '--store', path.join(dir, `${backend}.db`), '--json'], { cwd: root, encoding: 'utf8', maxBuffer: 1 << 26 });
        seconds[name]![backend] = r.status === 0 ? (performance.now() - t) / 1000 : `failed (${r.stderr.trim().split('\n').pop() ?? r.status})`;
      }
      if (!json) {
        const row = seconds[name]!;
        const cells = backends.map((b) => `${b} ${typeof row[b] === 'number' ? `${(row[b] as number).toFixed(1)} s` : row[b]}`);
        const [n, w] = [row.native, row.wasm];
        const ratio = typeof n === 'number' && typeof w === 'number' ? `   native/wasm ${(n / w).toFixed(2)} (native ${n < w ? 'faster' : 'SLOWER'})` : '';
        console.log(`  ${name.padEnd(25)} ${cells.join('   ')}${ratio}`);
      }
    }
    if (json) console.log(JSON.stringify({ presets: seconds }));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
