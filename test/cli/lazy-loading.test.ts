/**
 * The command starts at once: `--help`, `ph` and the argument checks of
 * `metric accuracy` never import TensorFlow.js (it alone takes ~0.4 s), while
 * the command being run still gets its whole group. A preloaded resolve hook
 * prints each @tensorflow/ import; `gan --help` is the control that it sees them.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { writeNpy } from '../../src/data/node/npy-file.js';
import { runCli } from '../helpers.js';

const TRACE = ['--import', path.join(import.meta.dirname, 'trace-tfjs.mjs')];
const traced = (args: string[]) => runCli(args, {}, TRACE);
const tfjsImports = (stderr: string) => stderr.split('\n').filter((l) => l.startsWith('trace: imported'));

describe('the CLI loads only the command being run', () => {
  let dir: string;
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'eccvkit-lazy-'));
    writeNpy(path.join(dir, 'ring.npy'), { data: Float32Array.from([9, 9, 9, 9, 1, 9, 9, 9, 9]), shape: [3, 3], dtype: 'float32' });
    writeNpy(path.join(dir, 'emb.npy'), { data: new Float32Array(12), shape: [4, 3], dtype: 'float32' });
    writeNpy(path.join(dir, 'labels3.npy'), { data: Int32Array.from([0, 0, 1]), shape: [3], dtype: 'int32' });
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('the hook sees TensorFlow.js when a group that needs it is loaded (the control)', () => {
    const r = traced(['gan', '--help']);
    assert.equal(r.status, 0, r.stderr);
    assert.ok(tfjsImports(r.stderr).length > 0, r.stderr);
    assert.match(r.stdout, /train/);
  });

  it('--help lists every group without importing TensorFlow.js', () => {
    const r = traced(['--help']);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(tfjsImports(r.stderr), []);
    for (const name of ['run', 'doctor', 'ph', 'metric', 'fewshot', 'gan', 'inversion', 'invert', 'edit', 'interpolate', 'embed', 'hpo', 'topo', 'worker']) assert.match(r.stdout, new RegExp(`\\n  ${name} `), name);
  });

  it('`help gan` and `--store F gan --help` load the group they name', () => {
    for (const args of [['help', 'gan'], ['--store', path.join(dir, 'x.db'), 'gan', '--help']]) {
      const r = traced(args);
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, /\n {2}train /, args.join(' '));
      assert.match(r.stdout, /\n {2}sample /, args.join(' '));
    }
  });

  it('ph computes a diagram without importing TensorFlow.js', () => {
    const r = traced(['ph', path.join(dir, 'ring.npy'), '--json']);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(tfjsImports(r.stderr), []);
    const out = JSON.parse(r.stdout) as { diagrams: Record<string, Array<[number, number]>> };
    assert.ok(out.diagrams['0']!.length >= 1);
  });

  it("metric accuracy rejects its arguments and files before importing TensorFlow.js, and lists the group's other commands", () => {
    const cases: Array<[string[], RegExp]> = [
      [['--embeddings', path.join(dir, 'emb.npy'), '--labels', path.join(dir, 'labels3.npy')], /--labels.*3 labels.*4 labels/],
      [['--embeddings', path.join(dir, 'missing.npy'), '--labels', path.join(dir, 'labels3.npy')], /--embeddings/],
      [['--embeddings', path.join(dir, 'emb.npy'), '--labels', path.join(dir, 'labels3.npy'), '--query', path.join(dir, 'emb.npy')], /--query-labels/],
    ];
    for (const [args, message] of cases) {
      const r = traced(['metric', 'accuracy', ...args]);
      assert.equal(r.status, 2, r.stderr);
      assert.match(r.stderr, message);
      assert.deepEqual(tfjsImports(r.stderr), [], args.join(' '));
    }
    const help = traced(['metric', 'accuracy', '--help']);
    assert.deepEqual(tfjsImports(help.stderr), []);
    const group = traced(['metric', '--help']);
    for (const name of ['train', 'accuracy', 'loss']) assert.match(group.stdout, new RegExp(`\\n  ${name} `), name);
  });

  it('metric accuracy still computes (the engine is loaded once the inputs are read)', () => {
    writeNpy(path.join(dir, 'emb4.npy'), { data: Float32Array.from([0, 0, 0.1, 0, 5, 5, 5.1, 5]), shape: [4, 2], dtype: 'float32' });
    writeNpy(path.join(dir, 'labels4.npy'), { data: Int32Array.from([0, 0, 1, 1]), shape: [4], dtype: 'int32' });
    const r = runCli(['metric', 'accuracy', '--embeddings', path.join(dir, 'emb4.npy'), '--labels', path.join(dir, 'labels4.npy'), '--no-nmi', '--json']);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), { precision_at_1: 1, r_precision: 1, mean_average_precision_at_r: 1, mean_reciprocal_rank: 1, NMI: null, queries: 4, lone_queries: 0 });
  });
});
