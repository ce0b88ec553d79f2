/**
 * The GAN steps the experiments train, against PyTorch in one run
 * (bench/torch_gans.py, Debian's python3-torch, same threads):
 * (1) WGAN-GP on topogan's 64×64 DCGAN (width 16, latent 64, one channel):
 * 5 critic steps with the gradient penalty (λ 10, second-order gradient) and
 * 1 generator step, batch 64 — target ≤ 1.2× PyTorch;
 * (2) lipschitz-domain-scaling's 28×28 DCGAN with spectral norm k = 1 on every
 * critic layer, one critic and one generator step of the non-saturating loss,
 * batch 64 — target ≤ 1.0×. Adam 2e-4 (0.5, 0.999) on both sides, no EMA.
 * Also the kernels that ran as tfjs cpu kernels and their share of a step.
 *
 * Options: --steps N (timed steps, default 5), --json. Threads: ECCVKIT_THREADS (default: all cores) for both.
 */
import os from 'node:os';
import { initEngine, nativeThreads, profileCpuKernels, tf } from '../src/engine/index.js';
import { ganLoss } from '../src/gan/losses.js';
import { GanTrainer } from '../src/gan/train.js';
import { dcganDiscriminator, dcganGenerator } from '../src/nn/gan-nets.js';
import { arg, median, runPythonPeer } from './util.js';

interface TorchRow {
  torch: string;
  threads: number;
  wganGpStepMs: number;
  snDcganStepMs: number;
}

interface Workload {
  name: string;
  what: string;
  target: number;
  peerKey: 'wganGpStepMs' | 'snDcganStepMs';
  make(real: tf.Tensor4D): { trainer: GanTrainer; dispose(): void };
  size: 28 | 64;
}

const WORKLOADS: Workload[] = [
  {
    name: 'wgan-gp-64',
    what: 'WGAN-GP step, 64×64 DCGAN (5 critic steps with the penalty + 1 G step), batch 64',
    target: 1.2,
    peerKey: 'wganGpStepMs',
    size: 64,
    make(real) {
      const generator = dcganGenerator({ imageSize: 64, channels: 1, latentDim: 64, width: 16, seed: 1 });
      const discriminator = dcganDiscriminator({ imageSize: 64, channels: 1, width: 16, seed: 2 });
      const trainer = new GanTrainer({ generator, discriminator, real, loss: ganLoss('wasserstein', 1), regulariser: { kind: 'gradientPenalty' }, criticSteps: 5, batchSize: 64, seed: 3 });
      return { trainer, dispose: () => [trainer, generator, discriminator].forEach((m) => m.dispose()) };
    },
  },
  {
    name: 'sn-dcgan-28',
    what: 'SN-DCGAN step, 28×28 (k = 1 on every critic layer; D and G), batch 64',
    target: 1.0,
    peerKey: 'snDcganStepMs',
    size: 28,
    make(real) {
      const generator = dcganGenerator({ latentDim: 32, width: 16, seed: 1 });
      const discriminator = dcganDiscriminator({ width: 16, spectralNormBound: 1, seed: 2 });
      const trainer = new GanTrainer({ generator, discriminator, real, loss: ganLoss('nonSaturating', 1), batchSize: 64, seed: 3 });
      return { trainer, dispose: () => [trainer, generator, discriminator].forEach((m) => m.dispose()) };
    },
  },
];

export async function main(argv: string[]): Promise<void> {
  const steps = Number(arg(argv, 'steps', '5'));
  const json = argv.includes('--json');
  const engine = await initEngine();
  const threads = engine.backend === 'native' ? nativeThreads() : 1;
  const rows = [];
  for (const w of WORKLOADS) {
    const real = tf.randomUniform([1024, w.size, w.size, 1], -1, 1, 'float32', 7) as tf.Tensor4D;
    const { trainer, dispose } = w.make(real);
    trainer.trainStep();
    const times: number[] = [];
    for (let i = 0; i < steps; i++) {
      const t0 = performance.now();
      trainer.trainStep();
      times.push(performance.now() - t0);
    }
    const profile = await profileCpuKernels(() => {
      trainer.trainStep();
    });
    dispose();
    real.dispose();
    rows.push({ name: w.name, what: w.what, target: w.target, peerKey: w.peerKey, stepMs: median(times), cpuKernelShare: profile.totalMs > 0 ? profile.cpuMs / profile.totalMs : 0, cpuKernels: profile.kernels.slice(0, 6) });
  }
  const peer = runPythonPeer<TorchRow>('torch_gans.py', [String(threads), String(steps)], 'PyTorch', 'python3-torch');
  if (json) {
    console.log(JSON.stringify({ backend: engine.backend, threads, rows, peer }));
    return;
  }
  console.log(`GAN steps, ${engine.backend} backend, ${threads} threads; load average ${os.loadavg().map((v) => v.toFixed(2)).join(' ')}`);
  for (const r of rows) {
    const theirs = typeof peer === 'string' ? undefined : peer[r.peerKey];
    const ratio = theirs === undefined ? '' : `   PyTorch ${theirs.toFixed(0)} ms: ${(r.stepMs / theirs).toFixed(2)}× (target ≤ ${r.target.toFixed(1)}×: ${r.stepMs / theirs <= r.target ? 'met' : 'NOT met'})`;
    console.log(`  ${r.what.padEnd(82)} ${r.stepMs.toFixed(0)} ms${ratio}`);
    console.log(`    tfjs cpu kernels: ${(100 * r.cpuKernelShare).toFixed(1)}% of a profiled step's kernel time${r.cpuKernels.length ? `: ${r.cpuKernels.map((k) => `${k.kernel} ${k.calls}× ${k.ms.toFixed(0)} ms (${k.why})`).join(', ')}` : ''}`);
  }
  if (typeof peer === 'string') console.log(`  ${peer}`);
}
