/**
 * Gradients that tfjs 4.22 does not register, so that gradient penalties
 * (`tf.grad` of a `tf.grad`) run through the critics people actually write.
 *
 * First-order backprop of `leakyRelu`, `maximum`/`minimum`, `maxPool`, `avgPool`
 * and `elu` emits comparison ops and the `MaxPoolGrad`/`AvgPoolGrad`/`EluGrad`
 * kernels; differentiating that graph again needs gradients for those. The
 * comparisons are piecewise constant, so their gradients are zero; the pool and
 * elu gradients are linear in `dy` and are written below in closed form.
 * Registration is global (all backends) and skips any gradient tfjs already has.
 *
 * A second defect is fixed here too. tfjs saves a kernel's *output* for its
 * gradient (tanh, sigmoid, exp, elu, softmax, logSoftmax, pow) by cloning it
 * before the kernel's own tape node is recorded; the clone therefore precedes
 * its source on the tape, and a gradient of a gradient silently drops every
 * term that flows through the saved output (∂²/∂w of ‖∇x tanh(x·w)‖² comes out
 * 1.237 where the true value is 0.665). When a gradient runs inside an outer
 * gradient scope, those kernels now recompute their output from their inputs,
 * which puts it on the tape in order; first-order backprop still uses the
 * saved output.
 */
import { tf } from './tf.js';

type GradientMap = Record<string, () => tf.Tensor>;

/** Kernel names whose gradients this module supplies, for `eccvkit doctor`. */
export const SECOND_ORDER_GRADIENTS = [
  'Greater',
  'Less',
  'LessEqual',
  'Equal',
  'NotEqual',
  'LogicalAnd',
  'LogicalOr',
  'LogicalNot',
  'MaxPoolGrad',
  'AvgPoolGrad',
  'EluGrad',
] as const;

/** Kernels whose gradients read their saved output, and their input names. */
const OUTPUT_SAVING_KERNELS: Record<string, string[]> = {
  Tanh: ['x'],
  Sigmoid: ['x'],
  Exp: ['x'],
  Elu: ['x'],
  Softmax: ['logits'],
  LogSoftmax: ['logits'],
  Pow: ['a', 'b'],
};

/** Kernels whose gradient eccvkit re-registers to be correct under double backprop. */
export const RECOMPUTED_OUTPUT_GRADIENTS = Object.keys(OUTPUT_SAVING_KERNELS);

function insideOuterGradient(): boolean {
  return ((tf.engine() as unknown as { state: { gradientDepth: number } }).state.gradientDepth ?? 0) > 0;
}

/**
 * Wraps a tfjs gradient that reads the kernel's saved output so that, under an
 * outer gradient scope, it reads a recomputed output instead (see module doc).
 */
function recomputingOutput(original: tf.GradConfig, inputNames: string[]): tf.GradConfig {
  const originalInputs = original.inputsToSave ?? [];
  return {
    kernelName: original.kernelName,
    inputsToSave: inputNames,
    outputsToSave: [true],
    gradFunc: (dy, saved, attrs) => {
      const inputs = Object.fromEntries(inputNames.map((name, i) => [name, saved[i] as tf.Tensor]));
      const savedOutput = saved[inputNames.length] as tf.Tensor;
      const output = insideOuterGradient()
        ? (tf.engine().runKernel(original.kernelName, inputs as tf.NamedTensorMap, attrs) as tf.Tensor)
        : savedOutput;
      return original.gradFunc(dy, [...originalInputs.map((name) => inputs[name] as tf.Tensor), output], attrs);
    },
  };
}

let registered = false;

type PoolAttrs = {
  filterSize: number | [number, number];
  strides: number | [number, number];
  pad: 'valid' | 'same' | number;
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
};

function poolInfo(inputShape: number[], attrs: PoolAttrs): tf.backend_util.Conv2DInfo {
  return tf.backend_util.computePool2DInfo(
    inputShape as [number, number, number, number],
    attrs.filterSize,
    attrs.strides,
    1,
    attrs.pad,
    attrs.dimRoundingMode,
  );
}

/** Pads a 4-D NHWC tensor so that every pooling window lies inside it. */
function padForPool(x: tf.Tensor4D, info: tf.backend_util.Conv2DInfo, value: number): tf.Tensor4D {
  const { top, left } = info.padInfo;
  const needH = (info.outHeight - 1) * info.strideHeight + info.filterHeight;
  const needW = (info.outWidth - 1) * info.strideWidth + info.filterWidth;
  const bottom = Math.max(0, needH - top - (x.shape[1] as number));
  const right = Math.max(0, needW - left - (x.shape[2] as number));
  if (top === 0 && left === 0 && bottom === 0 && right === 0) return x;
  return tf.pad(x, [[0, 0], [top, bottom], [left, right], [0, 0]], value);
}

/** The (r, c) tap of every pooling window: shape [batch, outH, outW, channels]. */
function windowTap(xp: tf.Tensor4D, info: tf.backend_util.Conv2DInfo, r: number, c: number): tf.Tensor4D {
  const [b, , , ch] = xp.shape;
  return tf.stridedSlice(
    xp,
    [0, r, c, 0],
    [b, r + (info.outHeight - 1) * info.strideHeight + 1, c + (info.outWidth - 1) * info.strideWidth + 1, ch],
    [1, info.strideHeight, info.strideWidth, 1],
  ) as tf.Tensor4D;
}

/**
 * MaxPoolGrad(dy, x, y) routes each dy to the first maximum of its window
 * (row-major, as the cpu kernel breaks ties). It is linear in dy, so its
 * gradient with respect to dy gathers the upstream gradient at those same
 * positions; with respect to x and y it is zero almost everywhere.
 */
function maxPoolGradGrad(dyOut: tf.Tensor | tf.Tensor[], saved: tf.Tensor[], attrs: tf.NamedAttrMap): GradientMap {
  const g = dyOut as tf.Tensor;
  const [, input, output] = saved as [tf.Tensor4D, tf.Tensor4D, tf.Tensor4D];
  return {
    dy: () =>
      tf.tidy(() => {
        const info = poolInfo(input.shape, attrs as unknown as PoolAttrs);
        const xp = padForPool(input, info, -Infinity);
        const gp = padForPool(g as tf.Tensor4D, info, 0);
        let taken = tf.zeros(output.shape, 'bool') as tf.Tensor4D;
        let acc = tf.zeros(output.shape) as tf.Tensor4D;
        for (let r = 0; r < info.filterHeight; r++) {
          for (let c = 0; c < info.filterWidth; c++) {
            const isMax = tf.logicalAnd(tf.equal(windowTap(xp, info, r, c), output), tf.logicalNot(taken));
            acc = tf.add(acc, tf.where(isMax, windowTap(gp, info, r, c), tf.zerosLike(acc)));
            taken = tf.logicalOr(taken, isMax);
          }
        }
        return acc;
      }),
    input: () => tf.zerosLike(input),
    output: () => tf.zerosLike(output),
  };
}

/**
 * AvgPoolGrad(dy, x) spreads dy/(fh·fw) over each window (tfjs uses the full
 * window size as divisor here, padding included). Its gradient with respect to
 * dy is therefore the window sum of the upstream gradient divided by fh·fw:
 * a 'valid' average pool of the zero-padded upstream gradient.
 */
function avgPoolGradGrad(dyOut: tf.Tensor | tf.Tensor[], saved: tf.Tensor[], attrs: tf.NamedAttrMap): GradientMap {
  const g = dyOut as tf.Tensor;
  const [, input] = saved as [tf.Tensor4D, tf.Tensor4D];
  return {
    dy: () =>
      tf.tidy(() => {
        const info = poolInfo(input.shape, attrs as unknown as PoolAttrs);
        const gp = padForPool(g as tf.Tensor4D, info, 0);
        return tf.avgPool(gp, [info.filterHeight, info.filterWidth], [info.strideHeight, info.strideWidth], 'valid');
      }),
    input: () => tf.zerosLike(input),
  };
}

/** EluGrad(dy, y) = dy where y > 0, dy·(y + 1) elsewhere. */
function eluGradGrad(dyOut: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]): GradientMap {
  const g = dyOut as tf.Tensor;
  const [dy, y] = saved as [tf.Tensor, tf.Tensor];
  return {
    dy: () => tf.tidy(() => tf.where(tf.greater(y, 0), g, tf.mul(g, tf.add(y, 1)))),
    y: () => tf.tidy(() => tf.where(tf.greater(y, 0), tf.zerosLike(y), tf.mul(g, dy))),
  };
}

function zeroGradients(inputNames: string[]): tf.GradConfig['gradFunc'] {
  return (_dy, saved) => Object.fromEntries(inputNames.map((name, i) => [name, () => tf.zeros((saved[i] as tf.Tensor).shape)]));
}

/** Registers the missing gradients (idempotent; existing tfjs gradients win). */
export function registerSecondOrderGradients(): void {
  if (registered) return;
  registered = true;
  const add = (config: tf.GradConfig): void => {
    if (tf.getGradient(config.kernelName) === undefined) tf.registerGradient(config);
  };
  for (const name of ['Greater', 'Less', 'LessEqual', 'Equal', 'NotEqual', 'LogicalAnd', 'LogicalOr']) {
    add({ kernelName: name, inputsToSave: ['a', 'b'], gradFunc: zeroGradients(['a', 'b']) });
  }
  add({ kernelName: 'LogicalNot', inputsToSave: ['x'], gradFunc: zeroGradients(['x']) });
  add({ kernelName: 'MaxPoolGrad', inputsToSave: ['dy', 'input', 'output'], gradFunc: maxPoolGradGrad });
  add({ kernelName: 'AvgPoolGrad', inputsToSave: ['dy', 'input'], gradFunc: avgPoolGradGrad });
  add({ kernelName: 'EluGrad', inputsToSave: ['dy', 'y'], gradFunc: eluGradGrad });
  for (const [kernelName, inputNames] of Object.entries(OUTPUT_SAVING_KERNELS)) {
    const original = tf.getGradient(kernelName);
    if (original !== undefined && original.outputsToSave?.[0] === true) tf.registerGradient(recomputingOutput(original, inputNames));
  }
}
