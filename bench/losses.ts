/**
 * One Adam step of each metric loss on a 128 × 64 batch (32 classes × 4), with
 * the library's defaults (triplet with its TripletMarginMiner), on the native
 * and the wasm backends and against the same formulas in PyTorch
 * (bench/torch_losses.py, Debian's python3-torch, same threads). Targets:
 * native ≤ 1.0× PyTorch and never slower than wasm. On native the losses run
 * fused (src/metric/fused.ts); `--composed` adds a native row with the fused
 * kernel turned off, the composed tfjs ops the other backends run.
 *
 * Options: --steps N (default 10), --backends native,wasm, --composed, --json.
 */
import { createRng, initEngine, nativeThreads, tf, type BackendName } from '../src/engine/index.js';
import { makeLoss, makeMiner, useFusedLosses, type LossName } from '../src/metric/index.js';
import { arg, median, runPythonPeer } from './util.js';

const N = 128;
const D = 64;
const C = 32;
/** Untimed steps first; PyTorch's peer is at steady state after one (bench/peer_timing.py). */
const WARM_UP_STEPS = 5;
const LOSSES: Array<{ loss: LossName; miner?: 'triplet_margin' }> = [{ loss: 'contrastive' }, { loss: 'triplet', miner: 'triplet_margin' }, { loss: 'multi_similarity' }, { loss: 'ntxent' }, { loss: 'proxy_anchor' }, { loss: 'arcface' }];

async function timeLosses(backend: BackendName, steps: number): Promise<Record<string, number>> {
  await initEngine({ backend });
  const labels = Int32Array.from({ length: N }, (_, i) => i % C);
  const out: Record<string, number> = {};
  for (const { loss: name, miner: minerName } of LOSSES) {
    const rng = createRng(3);
    const emb = tf.variable(tf.tensor2d(Float32Array.from({ length: N * D }, () => rng.normal()), [N, D]));
    const loss = makeLoss(name, { numClasses: C, embeddingSize: D, seed: 1 });
    const miner = minerName ? makeMiner(minerName) : undefined;
    const optimizer = tf.train.adam(1e-3);
    const vars = [emb, ...loss.trainableWeights];
    const step = (): void => {
      const value = optimizer.minimize(() => loss.compute(emb, labels, miner?.mine(emb, labels)), true, vars);
      value?.dataSync();
      value?.dispose();
    };
    // Steady state, as a training loop runs: V8 compiles the loss's JavaScript over the first steps
    // (measured: the median of 10 steps after one warm-up was 13.9 ms for contrastive, 6-7 ms after five).
    for (let i = 0; i < WARM_UP_STEPS; i++) step();
    const times: number[] = [];
    for (let i = 0; i < steps; i++) {
      const t = performance.now();
      step();
      times.push(performance.now() - t);
    }
    out[name] = median(times);
    optimizer.dispose();
    loss.dispose();
    emb.dispose();
  }
  return out;
}

export async function main(argv: string[]): Promise<void> {
  const steps = Number(arg(argv, 'steps', '10'));
  const backends = arg(argv, 'backends', 'native,wasm').split(',') as BackendName[];
  const json = argv.includes('--json');
  const rows: Record<string, Record<string, number>> = {};
  for (const b of backends) {
    try {
      rows[b] = await timeLosses(b, steps);
    } catch (err) {
      console.log(`  ${b}: not run (${err instanceof Error ? err.message : String(err)})`);
    }
  }
  if (argv.includes('--composed') && rows.native !== undefined) {
    const before = useFusedLosses(false);
    rows['native composed'] = await timeLosses('native', steps);
    useFusedLosses(before);
  }
  const threads = nativeThreads();
  const peer = runPythonPeer<Record<string, number>>('torch_losses.py', [String(threads), String(steps)], 'PyTorch', 'python3-torch');
  const torch = typeof peer === 'string' ? undefined : peer;
  if (json) {
    console.log(JSON.stringify({ losses: rows, pytorch: torch ?? null }));
    return;
  }
  console.log(`one Adam step of each loss, ${N} × ${D} (${C} classes × ${N / C}), median ms of ${steps} steps; native ${threads} threads, PyTorch the same`);
  if (typeof peer === 'string') console.log(`  ${peer}`);
  for (const { loss } of LOSSES) {
    const nat = rows.native?.[loss];
    const wasm = rows.wasm?.[loss];
    const pt = torch?.[loss];
    const parts = [`  ${loss.padEnd(17)}`];
    if (nat !== undefined) parts.push(`native ${nat.toFixed(1).padStart(7)} ms`);
    if (wasm !== undefined) parts.push(`wasm ${wasm.toFixed(1).padStart(7)} ms${nat !== undefined ? ` (native ${nat <= wasm ? 'faster' : 'SLOWER'})` : ''}`);
    const composed = rows['native composed']?.[loss];
    if (composed !== undefined) parts.push(`native composed ${composed.toFixed(1).padStart(6)} ms`);
    if (pt !== undefined) parts.push(`PyTorch ${pt.toFixed(1).padStart(6)} ms${nat !== undefined ? `: ${(nat / pt).toFixed(2)}× (target ≤ 1.0×: ${nat <= pt ? 'met' : 'NOT met'})` : ''}`);
    console.log(parts.join('   '));
  }
}
