/**
 * The engine benchmark, in one process: the reference training step
 * (conv 3×3×32 → relu → maxPool → conv 3×3×64 → relu → maxPool → dense 128 →
 * dense 10, batch 128 of 28×28×1, Adam, softmax cross-entropy: the net of
 * ../shared/reference/engine-tfjs.md), forward only, matMul 1024³ and a 3×3
 * conv forward (128×28×28×32 → 64, 'same'), on each of our backends and on
 * PyTorch (Debian's python3-torch, same shapes, same thread count) when it is
 * installed. Ratios are to PyTorch (to the first backend when it is absent).
 * After timing, each backend runs --leak-steps more steps and reports the
 * change in tensors and in process RSS.
 *
 * Options: --steps N (timed steps, default 20), --cpu-steps N (default 1: a
 * cpu step takes minutes), --backends native,wasm,cpu, --leak-steps N
 * (default 200), --json. Threads: ECCVKIT_THREADS (default: all cores) for
 * native and PyTorch alike; wasm runs one thread in Node.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { createRng, initEngine, nativeThreads, stockWasmKernel, tf, type BackendName } from '../src/engine/index.js';
import { mnistConvNet } from '../src/experiments/mnist-baseline.js';
import { arg, median } from './util.js';

interface Row {
  backend: BackendName | 'pytorch';
  threads: number;
  trainStepMs: number;
  forwardMs: number;
  matMulGflops: number;
  convGflops: number;
  steps: number;
  /** After --leak-steps more steps: change in live tensors and in RSS (MiB). */
  leak?: { steps: number; tensors: number; rssMiB: number };
}

const MATMUL_FLOP = 2 * 1024 ** 3;
/** 128×28×28×32 ⊛ 3×3×32×64, 'same': 2·N·H·W·Cout·kh·kw·Cin. */
const CONV_FLOP = 2 * 128 * 28 * 28 * 64 * 9 * 32;

/**
 * Waits for a result by reading its first element, as the PyTorch peer does
 * (`[0, 0].item()`). Reading the whole array (`data()`) hands it to the caller,
 * so the native backend cannot recycle it and every call would also time a
 * fresh, zero-filled allocation of the output (26 MB for the conv: about 20 ms
 * of the 39 ms measured that way, the conv itself 17 ms by ONEDNN_VERBOSE).
 */
async function firstValue(t: tf.Tensor): Promise<void> {
  // A sum of the slice, not the slice itself: a contiguous slice is a view of the output's buffer, and reading it would hand that buffer out too.
  const first = tf.tidy(() => tf.sum(tf.slice(t, new Array<number>(t.rank).fill(0), new Array<number>(t.rank).fill(1))));
  await first.data();
  first.dispose();
}

/** The reference net is mnist-baseline's conv net at widths 32/64 and a 128-unit hidden layer. */
export function referenceNet(seed: number): tf.Sequential {
  return mnistConvNet({ filters: [32, 64], hidden: 128 }, seed);
}

async function timeMs(fn: () => Promise<void>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

async function measure(backend: BackendName, steps: number, leakSteps: number): Promise<Row> {
  const engine = await initEngine({ backend });
  const rng = createRng(7);
  const xs = tf.tidy(() => tf.randomUniform([128, 28, 28, 1], 0, 1, 'float32', rng.seedInt()));
  const labels = tf.tidy(() => tf.oneHot(tf.randomUniform([128], 0, 10, 'int32', rng.seedInt()) as tf.Tensor1D, 10).toFloat());
  const model = referenceNet(1);
  const optimizer = tf.train.adam(1e-3);
  const step = async (): Promise<void> => {
    const loss = optimizer.minimize(() => tf.losses.softmaxCrossEntropy(labels, model.apply(xs) as tf.Tensor) as tf.Scalar, true);
    await loss?.data();
    loss?.dispose();
  };
  const forward = async (): Promise<void> => {
    const y = tf.tidy(() => model.predict(xs) as tf.Tensor);
    await y.data();
    y.dispose();
  };
  await step();
  const train: number[] = [];
  for (let i = 0; i < steps; i++) {
    train.push(await timeMs(step));
    const line = `  ${backend}: train step ${i + 1}/${steps} ${train[i]?.toFixed(0)} ms`;
    if (process.stdout.isTTY) process.stdout.write(`\r${line}   `);
    else console.log(line);
  }
  await forward();
  const fwd: number[] = [];
  for (let i = 0; i < Math.max(3, steps); i++) fwd.push(await timeMs(forward));
  const a = tf.tidy(() => tf.randomUniform([1024, 1024], -1, 1, 'float32', rng.seedInt()));
  const b = tf.tidy(() => tf.randomUniform([1024, 1024], -1, 1, 'float32', rng.seedInt()));
  const mm: number[] = [];
  const mmReps = backend === 'cpu' ? 1 : 5;
  for (let i = 0; i <= mmReps; i++) {
    const ms = await timeMs(async () => {
      const c = tf.matMul(a, b);
      await firstValue(c);
      c.dispose();
    });
    if (i > 0) mm.push(ms);
  }
  const cx = tf.tidy(() => tf.randomUniform([128, 28, 28, 32], 0, 1, 'float32', rng.seedInt()));
  const cw = tf.tidy(() => tf.randomUniform([3, 3, 32, 64], 0, 1, 'float32', rng.seedInt()));
  const conv: number[] = [];
  for (let i = 0; i <= mmReps; i++) {
    const ms = await timeMs(async () => {
      const y = tf.conv2d(cx as tf.Tensor4D, cw as tf.Tensor4D, 1, 'same');
      await firstValue(y);
      y.dispose();
    });
    if (i > 0) conv.push(ms);
  }
  if (process.stdout.isTTY) process.stdout.write('\n');
  let leak: Row['leak'];
  if (backend !== 'cpu' && leakSteps > 0) {
    const tensors = tf.memory().numTensors;
    const rss = process.memoryUsage().rss;
    for (let i = 0; i < leakSteps; i++) await step();
    leak = { steps: leakSteps, tensors: tf.memory().numTensors - tensors, rssMiB: (process.memoryUsage().rss - rss) / 2 ** 20 };
  }
  tf.dispose([xs, labels, a, b, cx, cw]);
  model.dispose();
  optimizer.dispose();
  return {
    backend,
    threads: engine.native?.threads ?? engine.wasm?.threads ?? 1,
    trainStepMs: median(train),
    forwardMs: median(fwd),
    matMulGflops: MATMUL_FLOP / (median(mm) * 1e6),
    convGflops: CONV_FLOP / (median(conv) * 1e6),
    steps,
    ...(leak ? { leak } : {}),
  };
}

/** PyTorch on the same shapes, or a line saying how to get it. */
function measureTorch(threads: number, steps: number): Row | string {
  const python = '/usr/bin/python3';
  const script = path.join(import.meta.dirname, 'torch_peer.py');
  const r = spawnSync(python, [script, String(threads), String(steps)], { encoding: 'utf8' });
  if (r.error || r.status !== 0) {
    const why = r.error ? r.error.message : (r.stderr.trim().split('\n').pop() ?? `exit ${r.status}`);
    return `PyTorch peer not run (${why}); install it with: apt-get install python3-torch`;
  }
  const t = JSON.parse(r.stdout.trim().split('\n').pop() as string) as { threads: number; trainStepMs: number; forwardMs: number; matMulMs: number; convMs: number };
  return { backend: 'pytorch', threads: t.threads, trainStepMs: t.trainStepMs, forwardMs: t.forwardMs, matMulGflops: MATMUL_FLOP / (t.matMulMs * 1e6), convGflops: CONV_FLOP / (t.convMs * 1e6), steps };
}

/** Median time of a kernel call (patched through tf, or a stock kernel function directly). */
async function kernelMs(run: () => tf.TensorInfo | tf.Tensor, reps: number): Promise<number> {
  const times: number[] = [];
  const backend = tf.backend() as tf.KernelBackend & { disposeData(id: object): void };
  for (let i = 0; i <= reps; i++) {
    const t0 = performance.now();
    const out = run();
    if (out instanceof tf.Tensor) {
      await out.data();
      out.dispose();
    } else {
      await backend.read(out.dataId);
      backend.disposeData(out.dataId);
    }
    if (i > 0) times.push(performance.now() - t0);
  }
  return median(times);
}

/** The wasm speed patches against the stock kernels they replace, same inputs, same process. */
async function patchesVsStock(reps: number): Promise<void> {
  await initEngine({ backend: 'wasm' });
  const backend = tf.backend();
  const rng = createRng(11);
  const u = (shape: number[]) => tf.tidy(() => tf.randomUniform(shape, -1, 1, 'float32', rng.seedInt()));
  const rows: Array<[string, number, number]> = [];
  const a = u([128, 3136]);
  const b = u([128, 3136]);
  const stockMatMul = stockWasmKernel('BatchMatMul') as tf.KernelFunc;
  const a3 = a.reshape([1, 128, 3136]);
  const b3 = b.reshape([1, 128, 3136]);
  rows.push([
    'matMul A·Bᵀ [128,3136]×[3136,128]',
    await kernelMs(() => tf.matMul(a, b, false, true), reps),
    await kernelMs(() => stockMatMul({ inputs: { a: a3, b: b3 }, attrs: { transposeA: false, transposeB: true }, backend }) as tf.TensorInfo, reps),
  ]);
  const stockInput = stockWasmKernel('Conv2DBackpropInput') as tf.KernelFunc;
  for (const [label, inShape, filterShape, stride] of [
    ['conv backprop-input 128×14×14×64 → 32, stride 1', [128, 14, 14, 32], [3, 3, 32, 64], 1],
    ['conv2dTranspose 64×7×7×64 → 14×14×32, stride 2', [64, 14, 14, 32], [4, 4, 32, 64], 2],
  ] as const) {
    const outH = inShape[1] / stride;
    const dy = u([inShape[0], outH, outH, filterShape[3]]);
    const w = u([...filterShape]);
    const attrs = { strides: [stride, stride], pad: 'same', dataFormat: 'NHWC', dimRoundingMode: undefined, inputShape: [...inShape] };
    rows.push([
      label,
      await kernelMs(() => tf.conv2dTranspose(dy as tf.Tensor4D, w as tf.Tensor4D, [...inShape], stride, 'same'), reps),
      await kernelMs(() => stockInput({ inputs: { dy, filter: w }, attrs: attrs as unknown as tf.NamedAttrMap, backend }) as tf.TensorInfo, Math.min(reps, 3)),
    ]);
    tf.dispose([dy, w]);
  }
  tf.dispose([a, b, a3, b3]);
  console.log('\nwasm speed patches vs the stock kernels (median ms, same inputs)');
  console.log('kernel                                               patched     stock   stock/patched');
  for (const [label, patched, stockMs] of rows) {
    console.log(`${label.padEnd(50)} ${patched.toFixed(1).padStart(9)} ${stockMs.toFixed(1).padStart(9)} ${(stockMs / patched).toFixed(1).padStart(15)}`);
  }
}

export async function main(argv: string[]): Promise<void> {
  const steps = Number(arg(argv, 'steps', '20'));
  const cpuSteps = Number(arg(argv, 'cpu-steps', '1'));
  const leakSteps = Number(arg(argv, 'leak-steps', '200'));
  const backends = arg(argv, 'backends', 'native,wasm,cpu').split(',') as BackendName[];
  const rows: Row[] = [];
  const threads = nativeThreads();
  const torch = measureTorch(threads, steps);
  if (typeof torch === 'string') console.log(`  ${torch}`);
  else rows.push(torch);
  for (const backend of backends) {
    try {
      rows.push(await measure(backend, backend === 'cpu' ? cpuSteps : steps, leakSteps));
    } catch (err) {
      console.log(`  ${backend}: skipped (${err instanceof Error ? err.message : String(err)})`);
    }
  }
  if (backends.includes('wasm') && !argv.includes('--json')) await patchesVsStock(Math.min(steps, 5));
  const base = rows[0];
  if (argv.includes('--json')) {
    console.log(JSON.stringify({ rows, baseline: base?.backend }, null, 2));
    return;
  }
  const ratio = (x: number, b: number | undefined) => (b ? `${(x / b).toFixed(2)}×` : '');
  console.log(`\nreference net (conv32-pool-conv64-pool-dense128-dense10, batch 128, Adam), median after warm-up; ratios to ${base?.backend ?? '—'}`);
  console.log('backend   threads  train step (ms)   ratio  forward (ms)   ratio  matMul 1024³ GFLOP/s  share  conv 3×3 GFLOP/s  share  steps  leak (tensors, RSS MiB / steps)');
  for (const r of rows) {
    console.log(
      [
        r.backend.padEnd(9),
        String(r.threads).padStart(7),
        r.trainStepMs.toFixed(1).padStart(16),
        ratio(r.trainStepMs, base?.trainStepMs).padStart(7),
        r.forwardMs.toFixed(1).padStart(13),
        ratio(r.forwardMs, base?.forwardMs).padStart(7),
        r.matMulGflops.toFixed(1).padStart(21),
        (base ? `${((100 * r.matMulGflops) / base.matMulGflops).toFixed(0)}%` : '').padStart(6),
        r.convGflops.toFixed(1).padStart(17),
        (base ? `${((100 * r.convGflops) / base.convGflops).toFixed(0)}%` : '').padStart(6),
        String(r.steps).padStart(6),
        r.leak ? `  ${r.leak.tensors >= 0 ? '+' : ''}${r.leak.tensors}, ${r.leak.rssMiB >= 0 ? '+' : ''}${r.leak.rssMiB.toFixed(1)} / ${r.leak.steps}` : '',
      ].join(' '),
    );
  }
}
