/**
 * The perceptual feature map F of the inversion losses. The paper uses VGG16
 * conv4_3 on 256×256 images; no VGG16 exists offline here, so F is the last
 * conv layer of a classifier trained on the same data (the small net whose
 * hidden features score FD), or any tf.LayersModel and layer a user gives.
 * Distances in F are therefore not LPIPS and not comparable with the paper's.
 */
import { tf } from '../engine/core.js';
import { check, EccvkitInputError } from '../errors.js';

/** Where the perceptual features come from. */
export interface PerceptualOptions {
  /** A model whose input takes images of the generator's shape. */
  model: tf.LayersModel;
  /** The layer whose output is F (its name, or its index in `model.layers`); default the last Conv2D layer. */
  layer?: string | number;
  /** The value range `model` was trained on (default '[0,1]'); generator images in [−1, 1] are mapped to it. */
  inputRange?: '[0,1]' | '[-1,1]';
}

/** F: images in [−1, 1] → features [n, d] (the layer's output flattened). Shares `model`'s weights. */
export class PerceptualFeatures {
  readonly model: tf.LayersModel;
  readonly layerName: string;
  readonly inputRange: '[0,1]' | '[-1,1]';
  private readonly net: tf.LayersModel;

  constructor(options: PerceptualOptions) {
    check(options.model instanceof tf.LayersModel, 'perceptual.model', options.model, 'a tf.LayersModel');
    const layers = options.model.layers;
    let layer: tf.layers.Layer | undefined;
    if (options.layer === undefined) layer = [...layers].reverse().find((l) => l.getClassName() === 'Conv2D');
    else if (typeof options.layer === 'number') layer = layers[options.layer];
    else layer = layers.find((l) => l.name === options.layer);
    if (!layer)
      throw new EccvkitInputError(
        'perceptual.layer',
        options.layer ?? '(default: last Conv2D)',
        `a layer of the model: one of ${layers.map((l, i) => `${i}:${l.name}`).join(', ')}`,
      );
    const range = options.inputRange ?? '[0,1]';
    check(range === '[0,1]' || range === '[-1,1]', 'perceptual.inputRange', options.inputRange, "'[0,1]' or '[-1,1]'");
    this.model = options.model;
    this.layerName = layer.name;
    this.inputRange = range;
    this.net = tf.model({ inputs: options.model.inputs, outputs: layer.output as tf.SymbolicTensor });
  }

  /** The model's expected image shape [H, W, C]. */
  get inputShape(): number[] {
    return this.model.inputs[0]!.shape.slice(1) as number[];
  }

  /** F(x) flattened, for images x in [−1, 1] (differentiable: gradients reach x). */
  features(x: tf.Tensor4D): tf.Tensor2D {
    return tf.tidy(() => {
      const input = this.inputRange === '[0,1]' ? tf.div(tf.add(x, 1), 2) : x;
      const f = this.net.apply(input, { training: false }) as tf.Tensor;
      return tf.reshape(f, [x.shape[0], -1]) as tf.Tensor2D;
    });
  }

  /** Per image mean((F(a) − F(b))²): the reference's perceptual term (a mean of squares, not a norm). */
  distance(a: tf.Tensor4D, b: tf.Tensor4D): tf.Tensor1D {
    return tf.tidy(() => tf.mean(tf.squaredDifference(this.features(a), this.features(b)), 1) as tf.Tensor1D);
  }

  /** Throws unless images of shape [H, W, C] fit the feature model. */
  checkImageShape(shape: readonly number[], argument: string): void {
    const want = this.inputShape;
    if (want.join() !== shape.join()) throw new EccvkitInputError(argument, `perceptual model with input [${want.join(', ')}]`, `a model taking the generator's images [${shape.join(', ')}]`);
  }
}
