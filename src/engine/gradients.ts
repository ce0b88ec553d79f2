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
 * gradient (tanh, sigmoid, exp, elu, softmax, pow) by cloning it
 * before the kernel's own tape node is recorded; the clone therefore precedes
 * its source on the tape, and a gradient of a gradient silently drops every
 * term that flows through the saved output (∂²/∂w of ‖∇x tanh(x·w)‖² comes out
 * 1.237 where the true value is 0.665). When a gradient runs inside an outer
 * gradient scope, those kernels now recompute their output from their inputs,
 * which puts it on the tape in order; first-order backprop still uses the
 * saved output.
 */
import { poolGeometry } from './geometry.js';
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

/** First-order gradients eccvkit replaces because tfjs's are wrong. */
export const CORRECTED_GRADIENTS = ['AvgPool', 'Maximum', 'Minimum', 'SquaredDifference', 'ResizeNearestNeighbor'] as const;

/**
 * Kernels whose gradient eccvkit re-registers to be correct under double
 * backprop. `tf.logSoftmax` and `tf.losses.softmaxCrossEntropy` are not among
 * the ops this reaches: they are written with `tf.customGrad`, whose saved
 * values have the same defect and cannot be re-registered. Inside a gradient
 * penalty, write log-softmax as `x − tf.logSumExp(x, axis, true)`.
 */
export const RECOMPUTED_OUTPUT_GRADIENTS = ['Tanh', 'Sigmoid', 'Exp', 'Elu', 'Softmax', 'Pow'];

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
        const info = poolGeometry(input.shape, attrs);
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
        const info = poolGeometry(input.shape, attrs);
        const gp = padForPool(g as tf.Tensor4D, info, 0);
        return tf.avgPool(gp, [info.filterHeight, info.filterWidth], [info.strideHeight, info.strideWidth], 'valid');
      }),
    input: () => tf.zerosLike(input),
  };
}

/**
 * The gradient of avgPool. The forward pass divides each window's sum by the
 * pixels inside the input, but tfjs's AvgPoolGrad divides by the full window
 * size, so tfjs's own gradient is wrong at padded borders ('same' padding):
 * 0.111 where the true value is 0.25 for a 3×3 window in a corner. Scaling dy
 * by (window size / pixels inside) first makes AvgPoolGrad exact.
 */
function avgPoolGradient(dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[], attrs: tf.NamedAttrMap): GradientMap {
  const [x] = saved as [tf.Tensor4D];
  return {
    x: () =>
      tf.tidy(() => {
        const info = poolGeometry(x.shape, attrs);
        const scale = windowSizeOverInsideCount(info);
        const scaled = scale === undefined ? (dy as tf.Tensor) : tf.mul(dy as tf.Tensor, scale);
        return tf.engine().runKernel('AvgPoolGrad', { dy: scaled, input: x }, attrs) as tf.Tensor;
      }),
  };
}

/** [1, outH, outW, 1] of fh·fw / (pixels of the window inside the input), or undefined when every window is inside. */
function windowSizeOverInsideCount(info: tf.backend_util.Conv2DInfo): tf.Tensor4D | undefined {
  const inside = (out: number, stride: number, pad: number, size: number, extent: number): number[] =>
    Array.from({ length: out }, (_, o) => Math.min(extent, o * stride - pad + size) - Math.max(0, o * stride - pad));
  const rows = inside(info.outHeight, info.strideHeight, info.padInfo.top, info.filterHeight, info.inHeight);
  const cols = inside(info.outWidth, info.strideWidth, info.padInfo.left, info.filterWidth, info.inWidth);
  const full = info.filterHeight * info.filterWidth;
  if (rows.every((r) => r === info.filterHeight) && cols.every((c) => c === info.filterWidth)) return undefined;
  const values = new Float32Array(rows.length * cols.length);
  rows.forEach((r, i) => cols.forEach((c, j) => (values[i * cols.length + j] = full / Math.max(1, r * c))));
  return tf.tensor4d(values, [1, rows.length, cols.length, 1]);
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

/** Sums `t` over the axes along which `shape` was broadcast to `t`'s shape. */
function sumToShape(t: tf.Tensor, shape: number[]): tf.Tensor {
  const axes = tf.backend_util.getReductionAxes(shape, t.shape);
  return axes.length > 0 ? tf.reshape(tf.sum(t, axes), shape) : t;
}

/**
 * tfjs's Maximum and Minimum gradients forget to sum over broadcast axes, so
 * `tf.maximum(x, 0)` has no gradient whenever the shapes differ. Same rule as
 * tfjs for which side a tie goes to (a), with the broadcast sum added.
 */
function extremumGradient(aWins: (a: tf.Tensor, b: tf.Tensor) => tf.Tensor): tf.GradConfig['gradFunc'] {
  return (dy, saved) => {
    const [a, b] = saved as [tf.Tensor, tf.Tensor];
    const g = dy as tf.Tensor;
    return {
      a: () => tf.tidy(() => sumToShape(tf.mul(g, tf.cast(aWins(a, b), 'float32')), a.shape)),
      b: () => tf.tidy(() => sumToShape(tf.mul(g, tf.cast(tf.logicalNot(aWins(a, b)), 'float32')), b.shape)),
    };
  };
}

/** d(a − b)²: 2(a − b)·dy to a and its negative to b, summed over broadcast axes (tfjs forgets the sum). */
function squaredDifferenceGradient(dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]): GradientMap {
  const [a, b] = saved as [tf.Tensor, tf.Tensor];
  const twice = () => tf.mul(dy as tf.Tensor, tf.mul(tf.sub(a, b), 2));
  return {
    a: () => tf.tidy(() => sumToShape(twice(), a.shape)),
    b: () => tf.tidy(() => sumToShape(tf.neg(twice()), b.shape)),
  };
}

function zeroGradients(inputNames: string[]): tf.GradConfig['gradFunc'] {
  return (_dy, saved) => Object.fromEntries(inputNames.map((name, i) => [name, () => tf.zeros((saved[i] as tf.Tensor).shape)]));
}

/**
 * d resizeNearestNeighbor. tfjs 4.22's `ResizeNearestNeighborGrad` kernel (cpu,
 * and the backends that borrow it) offsets dy by the *input's* batch stride, so
 * with batch > 1 each image gets gradient from the wrong rows of dy (upsampling
 * layers couple the images of a batch). For an integer scale without
 * alignCorners every output pixel copies one input pixel of its k×k block, so
 * the gradient is the block sum of dy (differentiable again); other scales run
 * the kernel one image at a time, where the offset is right.
 */
function resizeNearestNeighborGradient(dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[], attrs?: tf.NamedAttrMap): GradientMap {
  const [images] = saved as [tf.Tensor4D];
  const g = dy as tf.Tensor4D;
  const [batch, h, w, c] = images.shape;
  const [, oh, ow] = g.shape;
  const alignCorners = attrs?.alignCorners === true;
  return {
    images: () =>
      tf.tidy(() => {
        if (!alignCorners && oh % h === 0 && ow % w === 0) return tf.sum(tf.reshape(g, [batch, h, oh / h, w, ow / w, c]), [2, 4]);
        const parts = Array.from({ length: batch }, (_, b) =>
          tf.engine().runKernel('ResizeNearestNeighborGrad', { images: tf.slice(images, [b, 0, 0, 0], [1, -1, -1, -1]), dy: tf.slice(g, [b, 0, 0, 0], [1, -1, -1, -1]) }, attrs ?? {}) as tf.Tensor,
        );
        return tf.concat(parts, 0);
      }),
  };
}

/**
 * d sum and d mean: dy broadcast back over the reduced axes (÷ their size for
 * the mean). tfjs multiplies dy by a ones tensor of x's shape, which it fills
 * element by element in JavaScript on every backward pass (1.2 s of a
 * profiled 17-step ResNet-12 run, for the weight-decay and pooling sums);
 * `broadcastTo` gives the same values through the Tile kernel, and its own
 * gradient (a sum) keeps double backprop working.
 */
function reductionGradient(kind: 'Sum' | 'Mean'): tf.GradConfig['gradFunc'] {
  return (dy, saved, attrs) => {
    const [x] = saved as [tf.Tensor];
    const axes = tf.util.parseAxisParam(attrs?.axis as number | number[], x.shape);
    const kept = x.shape.map((n, d) => (axes.includes(d) ? 1 : n));
    return {
      x: () =>
        tf.tidy(() => {
          // broadcastTo leaves a size-1 axis as it is when the target axis is 0 (tfjs tiles only axes > 1).
          if (x.size === 0) return tf.zeros(x.shape);
          const spread = tf.broadcastTo(tf.reshape(dy as tf.Tensor, kept), x.shape);
          return kind === 'Sum' ? spread : tf.div(spread, axes.reduce((size, d) => size * x.shape[d]!, 1));
        }),
    };
  };
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
  tf.registerGradient({ kernelName: 'AvgPool', inputsToSave: ['x'], gradFunc: avgPoolGradient });
  tf.registerGradient({ kernelName: 'Maximum', inputsToSave: ['a', 'b'], gradFunc: extremumGradient((a, b) => tf.greaterEqual(a, b)) });
  tf.registerGradient({ kernelName: 'SquaredDifference', inputsToSave: ['a', 'b'], gradFunc: squaredDifferenceGradient });
  tf.registerGradient({ kernelName: 'Minimum', inputsToSave: ['a', 'b'], gradFunc: extremumGradient((a, b) => tf.lessEqual(a, b)) });
  tf.registerGradient({ kernelName: 'ResizeNearestNeighbor', inputsToSave: ['images'], gradFunc: resizeNearestNeighborGradient });
  tf.registerGradient({ kernelName: 'Sum', inputsToSave: ['x'], gradFunc: reductionGradient('Sum') });
  tf.registerGradient({ kernelName: 'Mean', inputsToSave: ['x'], gradFunc: reductionGradient('Mean') });
  for (const [kernelName, inputNames] of Object.entries(OUTPUT_SAVING_KERNELS)) {
    const original = tf.getGradient(kernelName);
    if (original !== undefined && original.outputsToSave?.[0] === true) tf.registerGradient(recomputingOutput(original, inputNames));
  }
}
