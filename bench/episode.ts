/**
 * RFS's per-episode classifier against scikit-learn, in one run: 5-way 5-shot
 * episodes with 75 queries of 640-d features (class means N(0, 1), points at
 * σ = 1.5 around them, seeded), `classifyEpisode` with `lr` (L2-normalised
 * rows, C = 1) against `LogisticRegression(lbfgs, multinomial, C=1)` fit +
 * predict on the same episodes (bench/sklearn_episode.py, Debian's
 * python3-sklearn). Target: ≤ 1.0× its median time per episode, the same
 * predictions.
 *
 * Options: --episodes N (default 30), --dim D (640), --json.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { writeNpy } from '../src/data/node/npy-file.js';
import { createRng } from '../src/engine/rng.js';
import { classifyEpisode } from '../src/fewshot/classifiers.js';
import { arg, median, runPythonPeer } from './util.js';

const WAYS = 5;
const SHOTS = 5;
const QUERIES = 15;

export async function main(argv: string[]): Promise<void> {
  const episodes = Number(arg(argv, 'episodes', '30'));
  const dim = Number(arg(argv, 'dim', '640'));
  const json = argv.includes('--json');
  const rng = createRng(9);
  const s = WAYS * SHOTS;
  const q = WAYS * QUERIES;
  const support = new Float32Array(episodes * s * dim);
  const query = new Float32Array(episodes * q * dim);
  const labels = new Int32Array(episodes * s);
  for (let e = 0; e < episodes; e++) {
    const means = Float32Array.from({ length: WAYS * dim }, () => rng.normal());
    for (let i = 0; i < s + q; i++) {
      const c = i < s ? i % WAYS : (i - s) % WAYS;
      const target = i < s ? support.subarray((e * s + i) * dim) : query.subarray((e * q + i - s) * dim);
      for (let j = 0; j < dim; j++) target[j] = (means[c * dim + j] as number) + 1.5 * rng.normal();
      if (i < s) labels[e * s + i] = c;
    }
  }
  const ours: number[][] = [];
  const times: number[] = [];
  for (let e = 0; e < episodes; e++) {
    const t = performance.now();
    const r = classifyEpisode({ data: support.subarray(e * s * dim, (e + 1) * s * dim), rows: s, cols: dim }, labels.subarray(e * s, (e + 1) * s), { data: query.subarray(e * q * dim, (e + 1) * q * dim), rows: q, cols: dim }, { classifier: 'lr' });
    times.push(performance.now() - t);
    ours.push(Array.from(r.predictions));
  }
  const oursMs = median(times.slice(1));
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'eccvkit-bench-episode-'));
  let peer: { sklearn: string; medianMs: number; predictions: number[][] } | string;
  try {
    const files = ['support', 'labels', 'query'].map((n) => path.join(dir, `${n}.npy`));
    writeNpy(files[0]!, { data: support, shape: [episodes, s, dim], dtype: 'float32' });
    writeNpy(files[1]!, { data: labels, shape: [episodes, s], dtype: 'int32' });
    writeNpy(files[2]!, { data: query, shape: [episodes, q, dim], dtype: 'float32' });
    peer = runPythonPeer('sklearn_episode.py', files, 'scikit-learn', 'python3-sklearn');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  let same = 0;
  if (typeof peer !== 'string') for (let e = 0; e < episodes; e++) for (let i = 0; i < q; i++) if (ours[e]![i] === peer.predictions[e]![i]) same++;
  const row = { episodes, dim, eccvkitMs: oursMs, ...(typeof peer === 'string' ? { peer } : { sklearnMs: peer.medianMs, ratio: oursMs / peer.medianMs, samePredictions: same / (episodes * q), sklearn: peer.sklearn }) };
  if (json) {
    console.log(JSON.stringify({ episode: row }));
    return;
  }
  console.log(`5-way 5-shot episodes, ${QUERIES * WAYS} queries, ${dim}-d features, ${episodes} episodes (median per episode)`);
  if (typeof peer === 'string') console.log(`  classifyEpisode lr ${oursMs.toFixed(1)} ms; ${peer}`);
  else {
    const ratio = oursMs / peer.medianMs;
    console.log(`  classifyEpisode lr ${oursMs.toFixed(1)} ms, scikit-learn ${peer.sklearn} LogisticRegression ${peer.medianMs.toFixed(1)} ms: ${ratio.toFixed(2)}× (target ≤ 1.0×: ${ratio <= 1 ? 'met' : 'NOT met'}); same predictions on ${(100 * same / (episodes * q)).toFixed(2)}% of queries`);
  }
}
