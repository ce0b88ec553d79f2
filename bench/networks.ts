/**
 * The few-shot backbone at RFS's size against PyTorch, in one run: ResNet-12
 * with widths 64-160-320-640 on 32×32×3 inputs, (1) one training step of
 * batch 32 through `ClassifierTrainer` (SGD momentum 0.9, weight decay 5e-4,
 * softmax cross-entropy; no augmentation, no dropout or DropBlock on either
 * side) and (2) the embedding forward of batch 128 (inference mode), against
 * bench/torch_networks.py (Debian's python3-torch, same threads,
 * channels-last). Also: the kernels that ran as tfjs cpu kernels and their
 * share of one step, and peak RSS of each process. Targets: train and forward
 * ≤ 1.0× PyTorch, peak RSS ≤ 1.5×.
 *
 * With --leak-steps N (e.g. 1000), N more training steps follow the timing and
 * the bench reports the change in live tensors and in RSS over them (sampled
 * every N/10 steps: flat means no leak).
 *
 * Options: --steps N (timed steps, default 6), --leak-steps N (default 0), --json. Threads: ECCVKIT_THREADS
 * (default: all cores) for eccvkit and PyTorch alike.
 */
import os from 'node:os';
import { createRng, initEngine, nativeThreads, profileCpuKernels, tf } from '../src/engine/index.js';
import { ClassifierTrainer, featureExtractor, resnet12 } from '../src/fewshot/index.js';
import { arg, median, runPythonPeer } from './util.js';

interface TorchRow {
  torch: string;
  threads: number;
  trainStepMs: number;
  forwardMs: number;
  peakRssMiB: number;
}

export async function main(argv: string[]): Promise<void> {
  const steps = Number(arg(argv, 'steps', '6'));
  const json = argv.includes('--json');
  const engine = await initEngine();
  const threads = engine.backend === 'native' ? nativeThreads() : 1;
  const rng = createRng(5);
  const n = 32 * (steps + 1);
  const data = {
    images: Float32Array.from({ length: n * 32 * 32 * 3 }, () => rng.uniform()),
    labels: Int32Array.from({ length: n }, () => Math.floor(rng.uniform() * 64)),
    shape: [32, 32, 3] as [number, number, number],
    numClasses: 64,
  };
  const model = resnet12({ inputShape: [32, 32, 3], classes: 64, widths: [64, 160, 320, 640], dropRate: 0, seed: 1 });
  // One epoch = steps + 1 batches of 32: the first epoch warms up, the second is timed step by step.
  const trainer = new ClassifierTrainer(model, data as never, { seed: 1, epochs: 3, batchSize: 32, augment: false, learningRate: 0.05 });
  trainer.runEpoch();
  const t0 = performance.now();
  trainer.runEpoch();
  const trainStepMs = (performance.now() - t0) / (steps + 1);
  const profile = await profileCpuKernels(() => {
    trainer.runEpoch();
  });
  const features = featureExtractor(model);
  const x128 = tf.tidy(() => tf.randomUniform([128, 32, 32, 3], 0, 1, 'float32', 3));
  const forward = (): void => {
    const y = tf.tidy(() => features.predict(x128) as tf.Tensor);
    y.dataSync();
    y.dispose();
  };
  forward();
  const fwd: number[] = [];
  for (let i = 0; i < Math.max(3, Math.floor(steps / 2)); i++) {
    const t = performance.now();
    forward();
    fwd.push(performance.now() - t);
  }
  const forwardMs = median(fwd);
  tf.dispose(x128);
  const peakRssMiB = process.resourceUsage().maxRSS / 1024;
  // The peer right after our timing, before the long leak loop, so both run on a machine in the same state.
  const peer = runPythonPeer<TorchRow>('torch_networks.py', [String(threads), String(steps)], 'PyTorch', 'python3-torch');
  const leakSteps = Number(arg(argv, 'leak-steps', '0'));
  const leak: Array<{ step: number; tensors: number; rssMiB: number }> = [];
  if (leakSteps > 0) {
    // Epochs of steps + 1 batches; a fresh trainer per block of epochs keeps within its epoch budget.
    const every = Math.max(1, Math.round(leakSteps / 10));
    let done = 0;
    const loop = new ClassifierTrainer(model, data as never, { seed: 2, epochs: 1e6, batchSize: 32, augment: false, learningRate: 0.05 });
    leak.push({ step: 0, tensors: tf.memory().numTensors, rssMiB: process.memoryUsage().rss / 2 ** 20 });
    while (done < leakSteps) {
      loop.runEpoch();
      done += steps + 1;
      if (done % every < steps + 1 || done >= leakSteps) {
        leak.push({ step: done, tensors: tf.memory().numTensors, rssMiB: process.memoryUsage().rss / 2 ** 20 });
        if (!json) console.log(`  leak check: ${done}/${leakSteps} steps, ${tf.memory().numTensors} tensors, RSS ${(process.memoryUsage().rss / 2 ** 20).toFixed(0)} MiB`);
      }
    }
    loop.dispose();
  }
  trainer.dispose();
  model.dispose();
  const row = { backend: engine.backend, threads, trainStepMs, forwardMs, peakRssMiB, cpuKernelShare: profile.totalMs > 0 ? profile.cpuMs / profile.totalMs : 0, cpuKernels: profile.kernels.slice(0, 8), peer, ...(leak.length ? { leak } : {}) };
  if (json) {
    console.log(JSON.stringify({ resnet12: row }));
    return;
  }
  console.log(`ResNet-12 (64-160-320-640), 32×32×3, ${engine.backend} backend, ${threads} threads; load average ${os.loadavg().map((v) => v.toFixed(2)).join(' ')}`);
  const vs = (ours: number, theirs: number | undefined, target: number) => (theirs === undefined ? '' : `   PyTorch ${theirs.toFixed(0)}: ${(ours / theirs).toFixed(2)}× (target ≤ ${target.toFixed(1)}×: ${ours / theirs <= target ? 'met' : 'NOT met'})`);
  const t = typeof peer === 'string' ? undefined : peer;
  console.log(`  train step, batch 32 (SGD momentum + weight decay)  ${trainStepMs.toFixed(0)} ms${vs(trainStepMs, t?.trainStepMs, 1)}`);
  console.log(`  embedding forward, batch 128                       ${forwardMs.toFixed(0)} ms${vs(forwardMs, t?.forwardMs, 1)}`);
  console.log(`  peak RSS (MiB)                                     ${peakRssMiB.toFixed(0)}${vs(peakRssMiB, t?.peakRssMiB, 1.5)}`);
  if (typeof peer === 'string') console.log(`  ${peer}`);
  if (leak.length > 1) {
    const [first, second, last] = [leak[0]!, leak[1]!, leak[leak.length - 1]!];
    console.log(`  ${last.step} more steps: tensors ${first.tensors} → ${last.tensors}; RSS ${second.rssMiB.toFixed(0)} MiB after ${second.step} steps → ${last.rssMiB.toFixed(0)} MiB after ${last.step}`);
  }
  console.log(`  tfjs cpu kernels: ${(100 * row.cpuKernelShare).toFixed(1)}% of a profiled epoch's kernel time${profile.kernels.length ? `: ${profile.kernels.slice(0, 8).map((k) => `${k.kernel} ${k.calls}× ${k.ms.toFixed(0)} ms (${k.why})`).join(', ')}` : ''}`);
}
