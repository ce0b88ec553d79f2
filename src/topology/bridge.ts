/**
 * The tfjs bridge: persistence diagrams of tensor images whose birth and death
 * tensors carry gradients back to the critical pixels.
 *
 * Every diagram coordinate equals the value of one pixel (the critical cell the
 * core reports), so the birth tensor is `gather(image, birthPixels)`: within a
 * step the pairing is fixed, and the gradient of a loss with respect to a birth
 * lands on its birth pixel (and likewise for deaths), the gradient rule of
 * TopologyLayer, TopoLoss and TopoGAN (reference §4). Ties make the diagram
 * non-differentiable; the gradient is then that of the reported pairing.
 */
import { tf } from '../engine/core.js';
import { check } from '../errors.js';
import { cubicalPersistence, type HomologyDim, type PersistenceOptions, type PersistencePairs } from './cubical.js';

/** Tensors of one dimension's diagram; `birth`/`death` hold the finite pairs, `essentialBirth` the births of classes that never die. */
export interface DiagramTensors {
  /** The plain diagram (all pairs, essential ones included). */
  pairs: PersistencePairs;
  /** Indices into `pairs` of the finite pairs, in the order of `birth` and `death`. */
  finite: Int32Array;
  birth: tf.Tensor1D;
  death: tf.Tensor1D;
  essentialBirth: tf.Tensor1D;
}

/**
 * Computes the diagram of dimension `dim` of a 2-D tensor image (reading its
 * values once) and returns birth and death tensors that are differentiable with
 * respect to `image`. The caller owns the returned tensors (use inside `tf.tidy`
 * or dispose them).
 */
export function diagramTensors(image: tf.Tensor, dim: HomologyDim, options: Omit<PersistenceOptions, 'dims'> = {}): DiagramTensors {
  check(image instanceof tf.Tensor && image.rank === 2, 'image', image, 'a rank-2 tensor [height, width]');
  check(dim === 0 || dim === 1, 'dim', dim, '0 or 1');
  const [height, width] = image.shape as [number, number];
  const pairs = cubicalPersistence(image.dataSync() as Float32Array, [height, width], { ...options, dims: [dim] }).diagrams[dim] as PersistencePairs;
  const finiteList: number[] = [];
  const essentialList: number[] = [];
  for (let i = 0; i < pairs.size; i++) ((pairs.deathPixel[i] as number) >= 0 ? finiteList : essentialList).push(i);
  const finite = Int32Array.from(finiteList);
  const tensors = tf.tidy(() => {
    const flat = tf.reshape(image, [height * width]);
    const pick = (pixels: number[]) => tf.gather(flat, tf.tensor1d(pixels, 'int32')) as tf.Tensor1D;
    return {
      birth: pick(finiteList.map((i) => pairs.birthPixel[i] as number)),
      death: pick(finiteList.map((i) => pairs.deathPixel[i] as number)),
      essentialBirth: pick(essentialList.map((i) => pairs.birthPixel[i] as number)),
    };
  });
  return { pairs, finite, ...tensors };
}
