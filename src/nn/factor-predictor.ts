/**
 * A factor predictor: a small conv net trained on images whose factors of
 * variation are known (the shapes generators) to read every factor back from an
 * image, by regression for continuous factors and classification for discrete
 * ones. The disentanglement experiments read generated images with it, so its
 * held-out R² and accuracy say how far those readings can be trusted; its
 * penultimate layer is the feature space for FD and PPL on such images.
 */
import { createRng, tf } from '../engine/core.js';
import { check, EccvkitInputError } from '../errors.js';
import { platformFiles } from '../platform.js';
import { loadModel, saveModel } from './io.js';

/** Images with known factor values: what {@link trainFactorPredictor} learns from (a `ShapesDataset` is one). */
export interface FactorData {
  /** N·H·W·C values in [0, 1], NHWC. */
  images: Float32Array;
  shape: [number, number, number];
  /** N·K factor values, row-major. */
  factors: Float32Array;
  factorNames: string[];
  factorDiscrete: boolean[];
}

/** How the predictor's outputs map back to factor values (stored beside the model). */
export interface FactorPredictorMeta {
  factorNames: string[];
  factorDiscrete: boolean[];
  /** Per factor: the number of classes (discrete) or 1 (continuous). */
  units: number[];
  /** Per factor: the training mean and standard deviation (continuous; 0 and 1 for discrete). */
  mean: number[];
  std: number[];
  imageShape: [number, number, number];
}

/** Held-out quality of one factor's reading. */
export interface FactorScore {
  name: string;
  discrete: boolean;
  /** Accuracy (discrete) or coefficient of determination R² (continuous). */
  score: number;
  metric: 'accuracy' | 'r2';
}

const META_FILE = 'factors.json';

/** A trained factor predictor: images in [0, 1] → factor values, and its feature layer. */
export class FactorPredictor {
  /** The layer whose output {@link features} returns (dense, ReLU). */
  readonly featureModel: tf.LayersModel;

  constructor(
    readonly model: tf.LayersModel,
    readonly meta: FactorPredictorMeta,
  ) {
    const layer = model.getLayer('features');
    this.featureModel = tf.model({ inputs: model.inputs, outputs: layer.output as tf.SymbolicTensor });
  }

  get numFactors(): number {
    return this.meta.factorNames.length;
  }

  /** Factor values [N, K] for images [N, H, W, C] in [0, 1]: argmax for discrete factors, de-standardised regression for continuous ones. */
  predict(images: tf.Tensor4D, batchSize = 500): Float32Array {
    this.checkImages(images);
    const n = images.shape[0];
    const k = this.numFactors;
    const out = new Float32Array(n * k);
    for (let s = 0; s < n; s += batchSize) {
      const m = Math.min(batchSize, n - s);
      const raw = tf.tidy(() => this.model.predict(tf.slice(images, [s, 0, 0, 0], [m, -1, -1, -1])) as tf.Tensor2D);
      const values = raw.dataSync();
      const cols = raw.shape[1];
      raw.dispose();
      for (let i = 0; i < m; i++) {
        let o = 0;
        for (let f = 0; f < k; f++) {
          const u = this.meta.units[f] as number;
          if (this.meta.factorDiscrete[f]) {
            let best = 0;
            for (let c = 1; c < u; c++) if ((values[i * cols + o + c] as number) > (values[i * cols + o + best] as number)) best = c;
            out[(s + i) * k + f] = best;
          } else out[(s + i) * k + f] = (values[i * cols + o] as number) * (this.meta.std[f] as number) + (this.meta.mean[f] as number);
          o += u;
        }
      }
    }
    return out;
  }

  /** The penultimate (feature) layer for images in [0, 1], as a tensor the caller owns. */
  features(images: tf.Tensor): tf.Tensor2D {
    return tf.tidy(() => this.featureModel.predict(images) as tf.Tensor2D);
  }

  /** Held-out accuracy / R² per factor on `data`. */
  score(data: FactorData): FactorScore[] {
    checkFactorData(data, this.meta);
    const n = data.factors.length / this.numFactors;
    const x = tf.tensor4d(data.images, [n, ...data.shape]);
    const predicted = this.predict(x);
    x.dispose();
    return factorScores(predicted, data.factors, this.meta);
  }

  /** Writes the model and its factor table (atomically) to `dir`. */
  async save(dir: string): Promise<void> {
    const files = platformFiles('saving a factor predictor to a folder');
    await saveModel(this.model, dir);
    files.writeFileAtomic(files.join(dir, META_FILE), JSON.stringify(this.meta, null, 1));
  }

  /** Loads what {@link save} wrote. */
  static async load(dir: string): Promise<FactorPredictor> {
    const files = platformFiles('loading a factor predictor from a folder');
    const metaFile = files.join(dir, META_FILE);
    if (!files.exists(metaFile)) throw new EccvkitInputError('factor predictor', dir, `a folder written by FactorPredictor.save (with ${META_FILE})`);
    const meta = JSON.parse(files.readText(metaFile)) as FactorPredictorMeta;
    return new FactorPredictor(await loadModel(dir), meta);
  }

  dispose(): void {
    this.model.dispose();
  }

  private checkImages(images: tf.Tensor4D): void {
    const want = this.meta.imageShape;
    check(images instanceof tf.Tensor && images.rank === 4 && images.shape.slice(1).join() === want.join(), 'images', images, `images of shape [n, ${want.join(', ')}] in [0, 1]`);
  }
}

/** Per-factor accuracy (discrete) or R² (continuous) of predicted against true factor values ([N, K] row-major each). */
export function factorScores(predicted: ArrayLike<number>, truth: ArrayLike<number>, meta: Pick<FactorPredictorMeta, 'factorNames' | 'factorDiscrete'>): FactorScore[] {
  const k = meta.factorNames.length;
  check(predicted.length === truth.length && truth.length % k === 0, 'predicted', `${predicted.length} values`, `as many values as the true factors (${truth.length}, a multiple of ${k})`);
  const n = truth.length / k;
  return meta.factorNames.map((name, f) => {
    const discrete = meta.factorDiscrete[f] as boolean;
    if (discrete) {
      let hits = 0;
      for (let i = 0; i < n; i++) if (predicted[i * k + f] === truth[i * k + f]) hits++;
      return { name, discrete, score: hits / n, metric: 'accuracy' as const };
    }
    let mean = 0;
    for (let i = 0; i < n; i++) mean += truth[i * k + f] as number;
    mean /= n;
    let ssRes = 0;
    let ssTot = 0;
    for (let i = 0; i < n; i++) {
      const t = truth[i * k + f] as number;
      ssRes += (t - (predicted[i * k + f] as number)) ** 2;
      ssTot += (t - mean) ** 2;
    }
    return { name, discrete, score: ssTot > 0 ? 1 - ssRes / ssTot : NaN, metric: 'r2' as const };
  });
}

function checkFactorData(data: FactorData, meta?: FactorPredictorMeta): number {
  check(data && data.images instanceof Float32Array && data.factors instanceof Float32Array, 'data', data, 'images and factors as Float32Arrays (a ShapesDataset)');
  const k = data.factorNames.length;
  check(k >= 1 && data.factorDiscrete.length === k, 'data.factorDiscrete', data.factorDiscrete, `one flag per factor (${k})`);
  const [h, w, c] = data.shape;
  const n = data.images.length / (h * w * c);
  check(Number.isInteger(n) && n >= 2 && data.factors.length === n * k, 'data.factors', `${data.factors.length} values`, `${n} images × ${k} factors`);
  if (meta) {
    check(data.factorNames.join() === meta.factorNames.join(), 'data.factorNames', data.factorNames, `the predictor's factors [${meta.factorNames.join(', ')}]`);
    check(data.shape.join() === meta.imageShape.join(), 'data.shape', data.shape, `the predictor's image shape [${meta.imageShape.join(', ')}]`);
  }
  return n;
}

/** Options of {@link trainFactorPredictor}. */
export interface TrainFactorPredictorOptions {
  /** Default 6. */
  epochs?: number;
  /** Default 64. */
  batchSize?: number;
  /** Adam's learning rate (default 1e-3). */
  learningRate?: number;
  /** Filters of the three conv layers (default [32, 64, 64]) and feature units (default 128). */
  filters?: [number, number, number];
  featureUnits?: number;
  seed?: number;
  /** Called after each epoch with the mean training loss. */
  onEpoch?(epoch: number, loss: number): void;
  /** Called every few batches inside an epoch. */
  onBatch?(epoch: number, batch: number, batches: number): void;
}

/**
 * Trains the predictor: conv 3×3 (f₁) → ReLU → maxPool 2 → conv 3×3 (f₂) → ReLU →
 * maxPool 2 → conv 3×3 (f₃) → ReLU → flatten → dense `featureUnits` ReLU (the
 * `features` layer) → one linear output per continuous factor (trained on the
 * standardised value with squared error) and one softmax block per discrete
 * factor (cross-entropy); the loss sums the factors' terms. Adam, seeded batches.
 */
export function trainFactorPredictor(data: FactorData, options: TrainFactorPredictorOptions = {}): FactorPredictor {
  const n = checkFactorData(data);
  const k = data.factorNames.length;
  const epochs = options.epochs ?? 6;
  const batchSize = options.batchSize ?? 64;
  const lr = options.learningRate ?? 1e-3;
  const [f1, f2, f3] = options.filters ?? [32, 64, 64];
  const featureUnits = options.featureUnits ?? 128;
  check(Number.isInteger(epochs) && epochs >= 1, 'epochs', epochs, 'an integer ≥ 1');
  check(Number.isInteger(batchSize) && batchSize >= 2 && batchSize <= n, 'batchSize', batchSize, `an integer in [2, ${n}]`);
  check(Number.isFinite(lr) && lr > 0, 'learningRate', lr, 'a positive number');

  const units: number[] = [];
  const mean: number[] = [];
  const std: number[] = [];
  for (let f = 0; f < k; f++) {
    let lo = Infinity;
    let hi = -Infinity;
    let s = 0;
    for (let i = 0; i < n; i++) {
      const v = data.factors[i * k + f] as number;
      lo = Math.min(lo, v);
      hi = Math.max(hi, v);
      s += v;
    }
    if (data.factorDiscrete[f]) {
      for (let i = 0; i < n; i++) {
        const v = data.factors[i * k + f] as number;
        if (!(Number.isInteger(v) && v >= 0)) throw new EccvkitInputError(`data.factors[${i}, ${f}]`, v, `a class index ≥ 0 (factor ${data.factorNames[f]} is discrete)`);
      }
      units.push(hi + 1);
      mean.push(0);
      std.push(1);
    } else {
      const m = s / n;
      let v2 = 0;
      for (let i = 0; i < n; i++) v2 += ((data.factors[i * k + f] as number) - m) ** 2;
      const sd = Math.sqrt(v2 / n);
      if (!(sd > 0)) throw new EccvkitInputError(`data.factors[:, ${f}]`, `a constant ${data.factorNames[f]} (${lo})`, 'a factor that varies (nothing to learn from a constant)');
      units.push(1);
      mean.push(m);
      std.push(sd);
    }
  }
  const meta: FactorPredictorMeta = { factorNames: [...data.factorNames], factorDiscrete: [...data.factorDiscrete], units, mean, std, imageShape: [...data.shape] };

  const rng = createRng(options.seed ?? 0);
  const init = () => tf.initializers.glorotUniform({ seed: rng.seedInt() });
  const model = tf.sequential({
    layers: [
      tf.layers.conv2d({ inputShape: data.shape, filters: f1, kernelSize: 3, padding: 'same', activation: 'relu', kernelInitializer: init() }),
      tf.layers.maxPooling2d({ poolSize: 2 }),
      tf.layers.conv2d({ filters: f2, kernelSize: 3, padding: 'same', activation: 'relu', kernelInitializer: init() }),
      tf.layers.maxPooling2d({ poolSize: 2 }),
      tf.layers.conv2d({ filters: f3, kernelSize: 3, padding: 'same', activation: 'relu', kernelInitializer: init() }),
      tf.layers.flatten(),
      tf.layers.dense({ name: 'features', units: featureUnits, activation: 'relu', kernelInitializer: init() }),
      tf.layers.dense({ units: units.reduce((a, b) => a + b, 0), kernelInitializer: init() }),
    ],
  });
  // Targets laid out like the outputs: one-hot blocks for discrete factors, standardised values for continuous ones.
  const width = units.reduce((a, b) => a + b, 0);
  const targets = new Float32Array(n * width);
  for (let i = 0; i < n; i++) {
    let o = 0;
    for (let f = 0; f < k; f++) {
      const v = data.factors[i * k + f] as number;
      if (data.factorDiscrete[f]) targets[i * width + o + v] = 1;
      else targets[i * width + o] = (v - (mean[f] as number)) / (std[f] as number);
      o += units[f] as number;
    }
  }
  const x = tf.tensor4d(data.images, [n, ...data.shape]);
  const y = tf.tensor2d(targets, [n, width]);
  const optimizer = tf.train.adam(lr);
  try {
    for (let epoch = 0; epoch < epochs; epoch++) {
      const order = rng.permutation(n);
      const batches = Math.floor(n / batchSize);
      let total = 0;
      for (let b = 0; b < batches; b++) {
        const idx = tf.tensor1d(order.subarray(b * batchSize, (b + 1) * batchSize), 'int32');
        const loss = optimizer.minimize(() => factorLoss(model.apply(tf.gather(x, idx), { training: true }) as tf.Tensor2D, tf.gather(y, idx), meta), true) as tf.Scalar;
        total += loss.dataSync()[0] as number;
        tf.dispose([idx, loss]);
        if (b % 25 === 0) options.onBatch?.(epoch, b, batches);
      }
      options.onEpoch?.(epoch, total / batches);
    }
  } finally {
    tf.dispose([x, y]);
    optimizer.dispose();
  }
  return new FactorPredictor(model, meta);
}

/** Σ over factors: mean squared error (continuous, standardised) or softmax cross-entropy (discrete). */
function factorLoss(output: tf.Tensor2D, target: tf.Tensor2D, meta: FactorPredictorMeta): tf.Scalar {
  let o = 0;
  const terms: tf.Scalar[] = [];
  meta.units.forEach((u, f) => {
    const out = tf.slice(output, [0, o], [-1, u]);
    const t = tf.slice(target, [0, o], [-1, u]);
    terms.push(meta.factorDiscrete[f] ? tf.losses.softmaxCrossEntropy(t, out) : tf.mean(tf.squaredDifference(out, t)));
    o += u;
  });
  return tf.addN(terms) as tf.Scalar;
}
