/** Helpers shared by the benchmarks. */
import { spawnSync } from 'node:child_process';
import path from 'node:path';

/** The value after `--name` in argv, or `fallback`. */
export function arg(argv: string[], name: string, fallback: string): string {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 && argv[i + 1] !== undefined ? (argv[i + 1] as string) : fallback;
}

/** Median of a non-empty list. */
export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

/**
 * Runs a peer script of bench/ with Debian's python3 and parses the JSON
 * object on its last line of output; when it cannot run, a line saying why
 * and which Debian package provides it.
 */
export function runPythonPeer<T>(script: string, args: string[], what: string, debianPackage: string): T | string {
  const r = spawnSync('/usr/bin/python3', [path.join(import.meta.dirname, script), ...args], { encoding: 'utf8', maxBuffer: 1 << 26 });
  if (r.error || r.status !== 0) {
    const why = r.error ? r.error.message : (r.stderr.trim().split('\n').pop() ?? `exit ${r.status}`);
    return `${what} peer not run (${why}); install it with: apt-get install ${debianPackage}`;
  }
  return JSON.parse(r.stdout.trim().split('\n').pop() as string) as T;
}
