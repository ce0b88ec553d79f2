/**
 * Leave-one-out retrieval accuracy at scale against faiss, in one run:
 * `accuracy()` (P@1, R-precision, MAP@R, MRR; no NMI) on N × 128 embeddings
 * of 100 and of 10 classes (Gaussian clusters, seeded), against faiss
 * `IndexFlatL2` exact search with k = the largest class (Debian's
 * python3-faiss, same threads), whose neighbours give the same three metrics
 * in the peer. Target: eccvkit ≤ 0.5× faiss's time, same values.
 *
 * Options: --rows N (default 60000), --classes 100,10, --json. Threads:
 * ECCVKIT_THREADS (default: all cores) for eccvkit and faiss alike.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { writeNpy } from '../src/data/node/npy-file.js';
import { createRng, initEngine, nativeThreads, tf } from '../src/engine/index.js';
import { accuracy } from '../src/metric/accuracy.js';
import { arg, runPythonPeer } from './util.js';

const DIM = 128;

/** Class centres N(0, 1) per coordinate, points at σ = 2 around them: MAP@R well inside (0, 1). */
function clusteredEmbeddings(rows: number, classes: number, seed: number): { values: Float32Array; labels: Int32Array } {
  const rng = createRng(seed);
  const centres = Float32Array.from({ length: classes * DIM }, () => rng.normal());
  const labels = Int32Array.from({ length: rows }, (_, i) => i % classes);
  const values = new Float32Array(rows * DIM);
  for (let i = 0; i < rows; i++) for (let d = 0; d < DIM; d++) values[i * DIM + d] = (centres[(labels[i] as number) * DIM + d] as number) + 2 * rng.normal();
  return { values, labels };
}

interface FaissRow {
  seconds: number;
  threads: number;
  k: number;
  faiss: string;
  precision_at_1: number;
  r_precision: number;
  mean_average_precision_at_r: number;
}

export async function main(argv: string[]): Promise<void> {
  const rows = Number(arg(argv, 'rows', '60000'));
  const classList = arg(argv, 'classes', '100,10').split(',').map(Number);
  const json = argv.includes('--json');
  const engine = await initEngine();
  const threads = engine.backend === 'native' ? nativeThreads() : 1;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'eccvkit-bench-retrieval-'));
  const out: Array<Record<string, unknown>> = [];
  if (!json) console.log(`retrieval: leave-one-out accuracy() on ${rows} × ${DIM}, ${engine.backend} backend, ${threads} threads; load average ${os.loadavg().map((v) => v.toFixed(2)).join(' ')}`);
  try {
    for (const classes of classList) {
      const { values, labels } = clusteredEmbeddings(rows, classes, classes);
      const embFile = path.join(dir, `emb${classes}.npy`);
      const labelFile = path.join(dir, `labels${classes}.npy`);
      writeNpy(embFile, { data: values, shape: [rows, DIM], dtype: 'float32' });
      writeNpy(labelFile, { data: labels, shape: [rows], dtype: 'int32' });
      const emb = tf.tensor2d(values, [rows, DIM]);
      const t = performance.now();
      const ours = accuracy(emb, labels, undefined, undefined, { nmi: false });
      const seconds = (performance.now() - t) / 1000;
      emb.dispose();
      const peer = runPythonPeer<FaissRow>('faiss_peer.py', [String(threads), embFile, labelFile], 'faiss', 'python3-faiss');
      const row: Record<string, unknown> = { classes, rows, eccvkitSeconds: seconds, metrics: ours };
      if (typeof peer !== 'string') {
        const diff = Math.max(...(['precision_at_1', 'r_precision', 'mean_average_precision_at_r'] as const).map((m) => Math.abs(ours[m] - peer[m])));
        Object.assign(row, { faissSeconds: peer.seconds, ratio: seconds / peer.seconds, maxMetricDifference: diff, faiss: peer });
      }
      out.push(row);
      if (!json) {
        const m = `P@1 ${ours.precision_at_1.toFixed(5)}, R-precision ${ours.r_precision.toFixed(5)}, MAP@R ${ours.mean_average_precision_at_r.toFixed(5)}`;
        if (typeof peer === 'string') console.log(`  ${classes} classes: eccvkit ${seconds.toFixed(2)} s (${m}); ${peer}`);
        else {
          const ratio = row.ratio as number;
          console.log(
            `  ${String(classes).padStart(3)} classes: eccvkit ${seconds.toFixed(2)} s, faiss IndexFlatL2 (k ${peer.k}) ${peer.seconds.toFixed(2)} s: ${ratio.toFixed(2)}× (target ≤ 0.5×: ${ratio <= 0.5 ? 'met' : 'NOT met'}); ${m}; largest metric difference to faiss's ${(row.maxMetricDifference as number).toExponential(1)}`,
          );
        }
      }
    }
    if (json) console.log(JSON.stringify({ retrieval: out }));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
