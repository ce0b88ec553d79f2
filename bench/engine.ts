/**
 * The reference training step on each backend, in one process:
 * conv 3×3×32 → relu → maxPool → conv 3×3×64 → relu → maxPool → dense 128 → dense 10,
 * batch 128 of 28×28×1, Adam, softmax cross-entropy (the net of
 * ../shared/reference/engine-tfjs.md). Also forward-only time and matMul 1024³.
 *
 * Options: --steps N (timed steps per backend, default 10), --cpu-steps N
 * (default 1: a stock cpu step takes minutes), --backends wasm,cpu, --json.
 * Times are medians after one warm-up step; ratios are against wasm.
 */
import { createRng, initEngine, stockWasmKernel, tf, type BackendName } from '../src/engine/index.js';
import { mnistConvNet } from '../src/experiments/mnist-baseline.js';

interface Row {
  backend: BackendName;
  trainStepMs: number;
  forwardMs: number;
  matMulGflops: number;
  steps: number;
}

function arg(argv: string[], name: string, fallback: string): string {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 && argv[i + 1] !== undefined ? (argv[i + 1] as string) : fallback;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
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

async function measure(backend: BackendName, steps: number): Promise<Row> {
  await initEngine({ backend });
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
      await c.data();
      c.dispose();
    });
    if (i > 0) mm.push(ms);
  }
  if (process.stdout.isTTY) process.stdout.write('\n');
  tf.dispose([xs, labels, a, b]);
  model.dispose();
  optimizer.dispose();
  return { backend, trainStepMs: median(train), forwardMs: median(fwd), matMulGflops: (2 * 1024 ** 3) / (median(mm) * 1e6), steps };
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
  const steps = Number(arg(argv, 'steps', '10'));
  const cpuSteps = Number(arg(argv, 'cpu-steps', '1'));
  const backends = arg(argv, 'backends', 'wasm,cpu').split(',') as BackendName[];
  const rows: Row[] = [];
  for (const backend of backends) {
    try {
      rows.push(await measure(backend, backend === 'cpu' ? cpuSteps : steps));
    } catch (err) {
      console.log(`  ${backend}: skipped (${err instanceof Error ? err.message : String(err)})`);
    }
  }
  if (backends.includes('wasm') && !argv.includes('--json')) await patchesVsStock(Math.min(steps, 5));
  const base = rows.find((r) => r.backend === 'wasm') ?? rows[0];
  if (argv.includes('--json')) {
    console.log(JSON.stringify({ rows, baseline: base?.backend }, null, 2));
    return;
  }
  console.log('\nreference net (conv32-pool-conv64-pool-dense128-dense10, batch 128, Adam), median after warm-up');
  console.log('backend     train step (ms)  ×wasm     forward (ms)  matMul 1024³ (GFLOP/s)  steps');
  for (const r of rows) {
    const ratio = base ? r.trainStepMs / base.trainStepMs : 1;
    console.log(
      `${r.backend.padEnd(11)} ${r.trainStepMs.toFixed(1).padStart(15)}  ${ratio.toFixed(2).padStart(7)}  ${r.forwardMs.toFixed(1).padStart(13)}  ${r.matMulGflops.toFixed(2).padStart(22)}  ${String(r.steps).padStart(5)}`,
    );
  }
}
