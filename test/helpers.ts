import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import path from 'node:path';
import { BACKENDS, createRng, initEngine, tf, type BackendName } from '../src/engine/index.js';
import { EccvkitInputError } from '../src/errors.js';
import type { ProgressReporter } from '../src/experiments/registry.js';

/** Backends that start on this machine (tensorflow only where tfjs-node is installed). */
export async function availableBackends(): Promise<BackendName[]> {
  const out: BackendName[] = [];
  for (const b of BACKENDS) {
    try {
      await initEngine({ backend: b });
      out.push(b);
    } catch {
      /* not installed here */
    }
  }
  return out;
}

/** Runs `fn` on `backend` and returns plain arrays (the result must not depend on the backend's tensors). */
export async function onBackend<T>(backend: BackendName, fn: () => T | Promise<T>): Promise<T> {
  await initEngine({ backend });
  // numDataIds also sees buffers a kernel left on the backend without a tensor.
  const dataIds = () => (tf.backend() as unknown as { numDataIds(): number }).numDataIds();
  const before = tf.memory().numTensors;
  const beforeIds = dataIds();
  const out = await fn();
  assert.equal(tf.memory().numTensors, before, `tensors leaked on ${backend}`);
  assert.equal(dataIds(), beforeIds, `backend buffers leaked on ${backend}`);
  return out;
}

/** Deterministic float32 values in [lo, hi). */
export function randomValues(n: number, seed: number, lo = -1, hi = 1): Float32Array {
  const rng = createRng(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = rng.uniform(lo, hi);
  return out;
}

/** Asserts max |a − b| ≤ tol · max(1, max |b|), naming the first offending index. */
export function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: number, what = 'values'): void {
  assert.equal(actual.length, expected.length, `${what}: length ${actual.length} vs ${expected.length}`);
  let scale = 1;
  for (let i = 0; i < expected.length; i++) scale = Math.max(scale, Math.abs(expected[i] as number));
  let worst = 0;
  let at = -1;
  for (let i = 0; i < expected.length; i++) {
    const d = Math.abs((actual[i] as number) - (expected[i] as number));
    if (!(d <= worst)) {
      worst = d;
      at = i;
    }
  }
  assert.ok(worst <= tol * scale, `${what}: max |diff| ${worst} at ${at} (${actual[at]} vs ${expected[at]}) exceeds ${tol} × scale ${scale}`);
}

/** Runs `fn` in a tidy scope and returns the values of the tensor it builds, disposing it. */
export function valuesOf(fn: () => tf.Tensor): Float32Array {
  const t = tf.tidy(fn);
  const v = Float32Array.from(t.dataSync());
  t.dispose();
  return v;
}

/** Asserts `fn` throws an EccvkitInputError whose message contains every string fragment and matches every pattern. */
export function throwsInput(fn: () => unknown, ...fragments: (string | RegExp)[]): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof EccvkitInputError, `expected EccvkitInputError, got ${String(err)}`);
    for (const f of fragments) {
      if (typeof f === 'string') assert.ok(err.message.includes(f), `message ${JSON.stringify(err.message)} lacks ${JSON.stringify(f)}`);
      else assert.match(err.message, f);
    }
    return true;
  });
}

/** The repository root. */
export const ROOT = path.resolve(import.meta.dirname, '..');
const CLI_ARGS = ['--import', 'tsx', path.join(ROOT, 'src', 'cli', 'main.ts')];

export interface CliResult {
  status: number;
  stdout: string;
  stderr: string;
}

/** Runs the `eccvkit` command from source and waits for it (`nodeArgs`: more options for node, e.g. `--import` of a hook). */
export function runCli(args: string[], env: NodeJS.ProcessEnv = {}, nodeArgs: string[] = []): CliResult {
  const r = spawnSync(process.execPath, [...nodeArgs, ...CLI_ARGS, ...args], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, FORCE_COLOR: '0', ...env } });
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** {@link runCli} without blocking, so tests can start several processes at once. */
export function runCliAsync(args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [...CLI_ARGS, ...args], { cwd: ROOT, env: { ...process.env, FORCE_COLOR: '0', ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => resolve({ status: code ?? -1, stdout, stderr }));
  });
}

/**
 * A progress reporter that throws "interrupted" when the phase whose label starts
 * with `labelPrefix` reaches `atStep`: how the experiment tests kill a run mid-stage.
 */
export function interruptingProgress(labelPrefix: string, atStep: number): ProgressReporter {
  let label = '';
  return {
    start(l: string) {
      label = l;
    },
    update(done: number) {
      if (label.startsWith(labelPrefix) && done === atStep) throw new Error('interrupted');
    },
    stop() {},
    log() {},
  };
}

/** A progress reporter that records every phase label and log line (to check what a resumed run redid). */
export function recordingProgress(): { progress: ProgressReporter; labels: string[]; logs: string[] } {
  const labels: string[] = [];
  const logs: string[] = [];
  return { progress: { start: (l: string) => void labels.push(l), update() {}, stop() {}, log: (m: string) => void logs.push(m) }, labels, logs };
}
