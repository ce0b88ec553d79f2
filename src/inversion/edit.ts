/**
 * Editing in W+ code space, the applications of In-Domain GAN Inversion (Zhu et
 * al., ECCV 2020, `utils/editor.py`): linear interpolation of two inverted codes,
 * InterFaceGAN semantic manipulation `w' = w + α·n` on chosen layers, and style
 * mixing by layer. Boundaries are fitted as InterFaceGAN does (Shen et al.,
 * CVPR 2020, `train_boundary`): a linear classifier on the codes with the top
 * and bottom fraction of samples by attribute score, whose unit normal is the
 * editing direction.
 *
 * A W+ code is a tensor [layers, wDim] (one code) or [n, layers, wDim] (a batch),
 * float32.
 */
import { tf } from '../engine/core.js';
import { check } from '../errors.js';
import { fitLogisticRegression } from '../fewshot/logistic.js';

function checkCode(t: unknown, argument: string, ranks: readonly number[]): asserts t is tf.Tensor {
  check(t instanceof tf.Tensor, argument, t, `a float32 tensor of rank ${ranks.join(' or ')}`);
  check(t.dtype === 'float32' && ranks.includes(t.rank), argument, t, ranks.length === 1 ? 'a float32 tensor [n, layers, wDim]' : 'a float32 tensor [layers, wDim] or [n, layers, wDim]');
}

const shapeText = (s: readonly number[]) => `[${s.join(', ')}]`;

/**
 * Linear interpolation between two W+ codes, as IDInvert's `interpolate.py`
 * (`editor.interpolate`): `w(t) = (1 − t)·wA + t·wB` for `steps` values of t
 * evenly spaced from 0 to 1 inclusive, so the first code is exactly `wA` and the
 * last exactly `wB`. (`interpolate.py` defaults to `--step 5`.)
 *
 * @param wA codes at t = 0: [layers, wDim] or [n, layers, wDim], float32
 * @param wB codes at t = 1, the same shape as `wA`
 * @param steps number of codes on the path, an integer ≥ 2
 * @returns [steps, layers, wDim] for one code, [n, steps, layers, wDim] for a batch
 */
export function interpolate(wA: tf.Tensor, wB: tf.Tensor, steps: number): tf.Tensor {
  checkCode(wA, 'wA', [2, 3]);
  checkCode(wB, 'wB', [2, 3]);
  check(wA.rank === wB.rank && wA.shape.every((d, i) => d === wB.shape[i]), 'wB', `shape ${shapeText(wB.shape)}`, `the shape of wA, ${shapeText(wA.shape)}`);
  check(Number.isInteger(steps) && steps >= 2, 'steps', steps, 'an integer ≥ 2');
  const ts = Float32Array.from({ length: steps }, (_, i) => (i === steps - 1 ? 1 : i / (steps - 1)));
  return tf.tidy(() => {
    const axis = wA.rank === 2 ? 0 : 1;
    const tShape = wA.rank === 2 ? [steps, 1, 1] : [1, steps, 1, 1];
    const t = tf.tensor(ts, tShape);
    const a = tf.expandDims(wA, axis);
    const b = tf.expandDims(wB, axis);
    return tf.add(tf.mul(tf.sub(1, t), a), tf.mul(t, b));
  });
}

/** Options of {@link fitBoundary}. */
export interface BoundaryFitOptions {
  /**
   * Fraction of rows taken from each end of the score ranking: the top
   * ⌊fraction·rows⌋ are the positive class, the bottom ⌊fraction·rows⌋ the
   * negative one, the rest unused. Default 0.3, InterFaceGAN's `chosen_num_or_ratio`;
   * 0.5 splits all rows at the median. In (0, 0.5]. Ignored when `binary`.
   */
  fraction?: number;
  /** Inverse L2-regularisation strength of the logistic regression; default 1. */
  C?: number;
  /** Scores are already 0/1 labels (1 = has the attribute): every row is used. Default false. */
  binary?: boolean;
}

/** A fitted linear attribute boundary in code space. */
export interface FittedBoundary {
  /** Unit-L2 normal of the separating hyperplane, pointing towards higher scores (label 1). */
  normal: Float32Array;
  /** Offset b such that `normal·x + b` is the signed distance of x to the hyperplane (positive on the high side). */
  offset: number;
  /** Fraction of the used rows on the correct side of the hyperplane. */
  accuracy: number;
  /** Number of rows the classifier was fitted on. */
  used: number;
}

/**
 * Fits an InterFaceGAN attribute boundary: a linear classifier separating codes
 * with high attribute scores from codes with low ones, whose unit normal n is the
 * editing direction (`w' = w + α·n` raises the attribute for α > 0).
 *
 * Rows are sorted by score; the top and bottom ⌊fraction·rows⌋ form the two
 * classes (InterFaceGAN's `train_boundary` with `chosen_num_or_ratio = 0.3`).
 * InterFaceGAN fits a linear SVM; we fit eccvkit's L2-penalised two-class logistic
 * regression ({@link fitLogisticRegression}, objective ½‖W‖² + C·Σ cross-entropy)
 * and take the difference of the class weight rows, w₁ − w₀, normalised, with
 * offset (b₁ − b₀)/‖w₁ − w₀‖. The codes are used raw, not standardised, since
 * edits are applied in raw code space.
 *
 * @param codes row-major codes, one per row (`values.length = rows·cols`), e.g. W codes or flattened W+ codes
 * @param scores one finite attribute score per row (or 0/1 labels with `binary`)
 * @throws EccvkitInputError when rows < 4, shapes disagree, values are not finite, a class is empty,
 *   the selection splits tied scores, or the codes do not determine a direction
 */
export function fitBoundary(codes: { values: ArrayLike<number>; rows: number; cols: number }, scores: ArrayLike<number>, options: BoundaryFitOptions = {}): FittedBoundary {
  const { fraction = 0.3, C = 1, binary = false } = options;
  check(codes !== null && typeof codes === 'object' && codes.values !== undefined && typeof codes.values.length === 'number', 'codes', codes, '{ values, rows, cols }');
  const { values, rows, cols } = codes;
  check(Number.isInteger(rows) && rows >= 4, 'codes.rows', rows, 'an integer ≥ 4');
  check(Number.isInteger(cols) && cols >= 1, 'codes.cols', cols, 'a positive integer');
  check(values.length === rows * cols, 'codes.values', `${values.length} values`, `rows × cols = ${rows * cols}`);
  for (let k = 0; k < values.length; k++) if (!(Number.isFinite(values[k]))) check(false, 'codes.values', `${values[k]} at row ${Math.floor(k / cols)}, column ${k % cols}`, 'finite numbers');
  check(scores !== null && typeof scores === 'object' && typeof scores.length === 'number', 'scores', scores, 'an array of numbers');
  check(scores.length === rows, 'scores', `${scores.length} scores`, `${rows}, one per code row`);
  for (let i = 0; i < rows; i++) if (!(Number.isFinite(scores[i]))) check(false, 'scores', `${scores[i]} at ${i}`, 'finite numbers');
  check(typeof binary === 'boolean', 'binary', binary, 'a boolean');
  check(typeof C === 'number' && Number.isFinite(C) && C > 0, 'C', C, 'a positive number');

  let chosen: number[];
  let labels: number[];
  if (binary) {
    for (let i = 0; i < rows; i++) if (!(scores[i] === 0 || scores[i] === 1)) check(false, 'scores', `${scores[i]} at ${i}`, '0/1 labels (binary: true)');
    chosen = Array.from({ length: rows }, (_, i) => i);
    labels = chosen.map((i) => scores[i] as number);
  } else {
    check(typeof fraction === 'number' && fraction > 0 && fraction <= 0.5, 'fraction', fraction, 'a number in (0, 0.5]');
    const k = Math.floor(fraction * rows);
    check(k >= 1, 'fraction', fraction, `a fraction that keeps at least one row per class of ${rows} (⌊fraction·rows⌋ ≥ 1)`);
    const order = Array.from({ length: rows }, (_, i) => i).sort((a, b) => (scores[b] as number) - (scores[a] as number) || a - b);
    const top = order.slice(0, k);
    const bottom = order.slice(rows - k);
    const lowestTop = scores[top[k - 1] as number] as number;
    const highestBottom = scores[bottom[0] as number] as number;
    check(lowestTop > highestBottom, 'scores', `the top ${k} reaching down to ${lowestTop} and the bottom ${k} up to ${highestBottom}`, 'scores whose selected top and bottom rows differ (ties across the split: pass 0/1 labels with binary: true, or a smaller fraction)');
    chosen = [...top, ...bottom];
    labels = [...top.map(() => 1), ...bottom.map(() => 0)];
  }
  const positives = labels.reduce((s, y) => s + y, 0);
  check(positives > 0 && positives < labels.length, 'scores', `${positives} positive of ${labels.length} used rows`, 'both classes present');

  const m = chosen.length;
  const data = new Float64Array(m * cols);
  chosen.forEach((row, i) => {
    for (let j = 0; j < cols; j++) data[i * cols + j] = values[row * cols + j] as number;
  });
  const y = Int32Array.from(labels);
  const model = fitLogisticRegression({ data, rows: m, cols }, y, 2, { C });
  const diff = new Float64Array(cols);
  let norm2 = 0;
  for (let j = 0; j < cols; j++) {
    const d = (model.weights[cols + j] as number) - (model.weights[j] as number);
    diff[j] = d;
    norm2 += d * d;
  }
  const norm = Math.sqrt(norm2);
  check(norm > 0 && Number.isFinite(norm), 'codes', `rows that give a zero classifier normal`, 'codes that vary with the score');
  const normal = Float32Array.from(diff, (d) => d / norm);
  const offset = ((model.bias[1] as number) - (model.bias[0] as number)) / norm;
  let correct = 0;
  for (let i = 0; i < m; i++) {
    let s = offset;
    for (let j = 0; j < cols; j++) s += ((diff[j] as number) / norm) * (data[i * cols + j] as number);
    if (s > 0 === (labels[i] === 1)) correct++;
  }
  return { normal, offset, accuracy: correct / m, used: m };
}

/**
 * A layer-wise W+ boundary, as IDInvert ships them: one unit normal per layer
 * (`boundary` of shape (1, layers, wDim)) and the layers an edit moves
 * (`meta_data.manipulate_layers`, e.g. FFHQ age [0–5], pose [0–2]).
 */
export interface Boundary {
  /** layers × wDim normals, row-major (row l is layer l's direction). */
  values: Float32Array;
  layers: number;
  wDim: number;
  /** Layers moved by default, sorted ascending, each in [0, layers). */
  manipulateLayers: number[];
}

function checkLayerList(list: unknown, argument: string, layers: number): number[] {
  check(Array.isArray(list) && list.length > 0, argument, list, `a non-empty array of layer indices in [0, ${layers - 1}]`);
  for (const l of list) if (!(Number.isInteger(l) && l >= 0 && l < layers)) check(false, argument, list, `layer indices, integers in [0, ${layers - 1}]`);
  return [...new Set(list as number[])].sort((a, b) => a - b);
}

function checkBoundary(b: unknown): asserts b is Boundary {
  check(b !== null && typeof b === 'object' && (b as Boundary).values instanceof Float32Array, 'boundary', b, '{ values: Float32Array, layers, wDim, manipulateLayers }');
  const { values, layers, wDim, manipulateLayers } = b as Boundary;
  check(Number.isInteger(layers) && layers >= 1 && Number.isInteger(wDim) && wDim >= 1, 'boundary', `layers ${layers}, wDim ${wDim}`, 'positive integers');
  check(values.length === layers * wDim, 'boundary.values', `${values.length} values`, `layers × wDim = ${layers * wDim}`);
  checkLayerList(manipulateLayers, 'boundary.manipulateLayers', layers);
}

/**
 * Spreads a boundary fitted in W (one wDim normal) over W+: each layer in
 * `manipulateLayers` holds the normal rescaled to unit L2 norm, the other layers
 * zeros. Using a W boundary on every chosen W+ layer is what InterFaceGAN's
 * authors advise for W+ (interfacegan#74): the w's of W+ are i.i.d. in training.
 *
 * @param normal the direction, length wDim, finite and non-zero (normalised here)
 * @param layers number of W+ layers (14 for IDInvert's 256×256 StyleGAN)
 * @param manipulateLayers layers the edit moves; default all. Duplicates are dropped, order sorted.
 */
export function layerwiseBoundary(normal: Float32Array, layers: number, manipulateLayers?: number[]): Boundary {
  check(normal instanceof Float32Array && normal.length > 0, 'normal', normal, 'a non-empty Float32Array');
  check(Number.isInteger(layers) && layers >= 1, 'layers', layers, 'a positive integer');
  let n2 = 0;
  for (let j = 0; j < normal.length; j++) n2 += (normal[j] as number) ** 2;
  const norm = Math.sqrt(n2);
  check(norm > 0 && Number.isFinite(norm), 'normal', `a vector of norm ${norm}`, 'a finite, non-zero vector');
  const chosen = manipulateLayers === undefined ? Array.from({ length: layers }, (_, l) => l) : checkLayerList(manipulateLayers, 'manipulateLayers', layers);
  const wDim = normal.length;
  const values = new Float32Array(layers * wDim);
  for (const l of chosen) for (let j = 0; j < wDim; j++) values[l * wDim + j] = (normal[j] as number) / norm;
  return { values, layers, wDim, manipulateLayers: chosen };
}

/** The direction rows of `b` on `layers`, zeros elsewhere, as a Float32Array (layers × wDim). */
function maskedRows(b: Boundary, layers: readonly number[]): Float32Array {
  const out = new Float32Array(b.layers * b.wDim);
  for (const l of layers) out.set(b.values.subarray(l * b.wDim, (l + 1) * b.wDim), l * b.wDim);
  return out;
}

/**
 * The boundary as a tensor [layers, wDim]: its normals on `manipulateLayers`,
 * zero rows on the other layers, so `w + α·boundaryTensor(b)` is the edit.
 */
export function boundaryTensor(b: Boundary): tf.Tensor2D {
  checkBoundary(b);
  return tf.tensor2d(maskedRows(b, b.manipulateLayers), [b.layers, b.wDim]);
}

/** Options of {@link manipulate}. */
export interface ManipulateOptions {
  /** Edit strengths α; default [−3, −2, −1, 0, 1, 2, 3], IDInvert `manipulate.py`'s 7 steps from −3 to 3. */
  alphas?: number[];
  /** Layers to move; default `boundary.manipulateLayers`. Each moves by α times the boundary's row for that layer. */
  layers?: number[];
}

/**
 * InterFaceGAN semantic manipulation of W+ codes (IDInvert `editor.manipulate`):
 * `w'[l] = w[l] + α·n[l]` for each chosen layer l, other layers unchanged, for
 * every α.
 *
 * @param codes [n, layers, wDim], float32
 * @returns [n, alphas.length, layers, wDim]
 * @throws EccvkitInputError naming `boundary` when its [layers, wDim] differs from the codes', or `layers` when an index is out of range
 */
export function manipulate(codes: tf.Tensor3D, boundary: Boundary, options: ManipulateOptions = {}): tf.Tensor4D {
  checkCode(codes, 'codes', [3]);
  checkBoundary(boundary);
  const [, L, D] = codes.shape;
  check(boundary.layers === L && boundary.wDim === D, 'boundary', `shape [${boundary.layers}, ${boundary.wDim}]`, `[layers, wDim] = [${L}, ${D}], the codes' (codes are ${shapeText(codes.shape)})`);
  const { alphas = [-3, -2, -1, 0, 1, 2, 3] } = options;
  check(Array.isArray(alphas) && alphas.length > 0 && alphas.every((a) => typeof a === 'number' && Number.isFinite(a)), 'alphas', alphas, 'a non-empty array of finite numbers');
  const layers = options.layers === undefined ? boundary.manipulateLayers : checkLayerList(options.layers, 'layers', L);
  const direction = maskedRows(boundary, layers);
  return tf.tidy(() => {
    const dir = tf.tensor4d(direction, [1, 1, L, D]);
    const a = tf.tensor4d(Float32Array.from(alphas), [1, alphas.length, 1, 1]);
    return tf.add(tf.expandDims(codes, 1), tf.mul(a, dir)) as tf.Tensor4D;
  });
}

/**
 * Style mixing in W+ (IDInvert `mix_style.py`): layers below `fromLayer` come
 * from `content`, layers from `fromLayer` on from `style`. IDInvert uses
 * `mix_layer_start_idx = 10` of 14 (the fine layers: colour and texture); the
 * caller picks the layer.
 *
 * @param content [n, layers, wDim], float32
 * @param style [n, layers, wDim], or [1, layers, wDim] to give every content code the same style
 * @param fromLayer integer in [0, layers]: 0 gives all style, `layers` all content
 * @returns [n, layers, wDim]
 */
export function mixStyles(content: tf.Tensor3D, style: tf.Tensor3D, fromLayer: number): tf.Tensor3D {
  checkCode(content, 'content', [3]);
  checkCode(style, 'style', [3]);
  const [n, L, D] = content.shape;
  const [ns, Ls, Ds] = style.shape;
  check((ns === n || ns === 1) && Ls === L && Ds === D, 'style', `shape ${shapeText(style.shape)}`, `[${n}, ${L}, ${D}] or [1, ${L}, ${D}], matching content ${shapeText(content.shape)}`);
  check(Number.isInteger(fromLayer) && fromLayer >= 0 && fromLayer <= L, 'fromLayer', fromLayer, `an integer in [0, ${L}]`);
  return tf.tidy(() => {
    const s = ns === n ? style : tf.tile(style, [n, 1, 1]);
    if (fromLayer === L) return tf.clone(content);
    if (fromLayer === 0) return tf.clone(s);
    return tf.concat([tf.slice(content, [0, 0, 0], [n, fromLayer, D]), tf.slice(s, [0, fromLayer, 0], [n, L - fromLayer, D])], 1) as tf.Tensor3D;
  });
}
