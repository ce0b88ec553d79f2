/**
 * The GC optimizers: the weight-sum invariant (paper §3.2) for SGD, momentum,
 * Adam_GC2 and AdamW_GC2; `gc: 'off'` against tfjs's own optimizers; hand-
 * computed steps (GC, clipping before GC, AdamW's decoupled decay);
 * model.fit; a flat tensor count; serialisation and state round trips.
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { createRng, initEngine, tf } from '../../src/engine/index.js';
import { GcAdam, GcAdamW, GcMomentum, GcSGD, type GcOptimizer } from '../../src/optim/index.js';
import { assertClose, randomValues, throwsInput } from '../helpers.js';

let uid = 0;

/** A conv kernel [3,3,2,4], its bias, a dense kernel [16,3] and a loss with a biased, non-trivial gradient. */
function problem(seed: number): { vars: tf.Variable[]; loss: () => tf.Scalar; dispose: () => void } {
  const id = uid++;
  const kernel = tf.variable(tf.tensor4d(randomValues(72, seed, -0.5, 0.5), [3, 3, 2, 4]), true, `p${id}/conv/kernel`);
  const bias = tf.variable(tf.zeros([4]), true, `p${id}/conv/bias`);
  const dense = tf.variable(tf.tensor2d(randomValues(48, seed + 1, -0.5, 0.5), [16, 3]), true, `p${id}/dense/kernel`);
  const x = tf.tensor4d(randomValues(2 * 4 * 4 * 2, seed + 2, 0, 1), [2, 4, 4, 2]);
  const y = tf.tensor2d(randomValues(6, seed + 3, 0, 2), [2, 3]);
  const loss = (): tf.Scalar =>
    tf.tidy(() => {
      const h = tf.relu(tf.conv2d(x, kernel as tf.Tensor4D, 2, 'same').add(bias)); // [2, 2, 2, 4]
      const out = h.reshape([2, 16]).matMul(dense);
      return tf.sum(tf.square(out.sub(y))).add(tf.sum(kernel)) as tf.Scalar; // + Σw: a gradient with a large mean
    });
  return { vars: [kernel, bias, dense], loss, dispose: () => tf.dispose([kernel, bias, dense, x, y]) };
}

/** Per-output-unit sums of a kernel (last axis), or per (in, mult) over the first two axes. */
function unitSums(t: tf.Tensor, depthwise = false): Float64Array {
  const v = t.dataSync();
  if (depthwise) {
    const [kh, kw, c, m] = t.shape as [number, number, number, number];
    const out = new Float64Array(c * m);
    for (let i = 0; i < kh * kw * c * m; i++) out[i % (c * m)]! += v[i] as number;
    return out;
  }
  const units = t.shape[t.shape.length - 1] as number;
  const out = new Float64Array(units);
  for (let i = 0; i < v.length; i++) out[i % units]! += v[i] as number;
  return out;
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs((a[i] as number) - (b[i] as number)));
  return m;
}

/** Trains `problem(seed)` for `steps` with `opt` and returns the largest change of any conv/dense unit sum. */
function sumDrift(opt: tf.Optimizer, steps: number, seed = 1): { conv: number; dense: number } {
  const p = problem(seed);
  const [kernel, , dense] = p.vars as [tf.Variable, tf.Variable, tf.Variable];
  const conv0 = unitSums(kernel);
  const dense0 = unitSums(dense);
  for (let s = 0; s < steps; s++) opt.minimize(p.loss, false, p.vars);
  const out = { conv: maxAbsDiff(unitSums(kernel), conv0), dense: maxAbsDiff(unitSums(dense), dense0) };
  p.dispose();
  opt.dispose();
  return out;
}

describe('GC optimizers keep each filter’s weight sum (the projected-gradient view)', () => {
  before(async () => {
    await initEngine({ backend: 'wasm' });
  });

  const keepers: Array<[string, () => tf.Optimizer]> = [
    ['SGD + GC', () => new GcSGD({ learningRate: 0.02, gc: 'all' })],
    ['momentum SGD + GC, coupled L2 5e-4', () => new GcMomentum({ learningRate: 0.01, momentum: 0.9, weightDecay: 5e-4, gc: 'all' })],
    ['Nesterov momentum + GC', () => new GcMomentum({ learningRate: 0.01, momentum: 0.9, nesterov: true, gc: 'all' })],
    ['Adam + GC2 (centralise the update)', () => new GcAdam({ learningRate: 0.01, gc: 'all', centralize: 'update' })],
    ['AdamW + GC2, decay included', () => new GcAdamW({ learningRate: 0.01, weightDecay: 0.1, gc: 'all', centralize: 'update' })],
  ];
  for (const [name, make] of keepers) {
    it(`${name}: unit sums constant to 1e-5 over 100 steps`, () => {
      const drift = sumDrift(make(), 100);
      assert.ok(drift.conv <= 1e-5, `conv filter sums drifted by ${drift.conv}`);
      assert.ok(drift.dense <= 1e-5, `dense unit sums drifted by ${drift.dense}`);
    });
  }

  it('without GC, or with GC on Adam’s raw gradient, the sums move (so the checks above can fail)', () => {
    const off = sumDrift(new GcMomentum({ learningRate: 0.01, gc: 'off' }), 100);
    assert.ok(off.conv > 1e-2, `momentum without GC: conv drift ${off.conv}`);
    const adamGc = sumDrift(new GcAdam({ learningRate: 0.01, gc: 'all', centralize: 'gradient' }), 100);
    assert.ok(adamGc.conv > 1e-3, `Adam_GC (gradient): conv drift ${adamGc.conv}`);
    const gcc = sumDrift(new GcSGD({ learningRate: 0.02, gc: 'conv' }), 100);
    assert.ok(gcc.conv <= 1e-5, `GCC keeps conv sums (${gcc.conv})`);
    assert.ok(gcc.dense > 1e-3, `GCC leaves dense kernels alone (${gcc.dense})`);
  });
});

describe('gc off equals tfjs’s own optimizers', () => {
  const pairs: Array<[string, () => tf.Optimizer, () => tf.Optimizer]> = [
    ['sgd', () => tf.train.sgd(0.05), () => new GcSGD({ learningRate: 0.05, gc: 'off' })],
    ['momentum', () => tf.train.momentum(0.02, 0.9), () => new GcMomentum({ learningRate: 0.02, momentum: 0.9, gc: 'off' })],
    ['nesterov', () => tf.train.momentum(0.02, 0.8, true), () => new GcMomentum({ learningRate: 0.02, momentum: 0.8, nesterov: true, gc: 'off' })],
    ['adam', () => tf.train.adam(0.01, 0.85, 0.99), () => new GcAdam({ learningRate: 0.01, beta1: 0.85, beta2: 0.99, gc: 'off' })],
  ];
  for (const backend of ['wasm', 'cpu'] as const) {
    for (const [name, theirs, ours] of pairs) {
      it(`${name} on ${backend}: identical weights after 20 steps`, async () => {
        await initEngine({ backend });
        const a = problem(7);
        const b = problem(7);
        const optA = theirs();
        const optB = ours();
        for (let s = 0; s < 20; s++) {
          optA.minimize(a.loss, false, a.vars);
          optB.minimize(b.loss, false, b.vars);
        }
        for (let v = 0; v < a.vars.length; v++) {
          assert.deepEqual(Array.from(b.vars[v]!.dataSync()), Array.from(a.vars[v]!.dataSync()), `${a.vars[v]!.name}`);
        }
        a.dispose();
        b.dispose();
        optA.dispose();
        optB.dispose();
      });
    }
  }
});

describe('one step by hand', () => {
  before(async () => {
    await initEngine({ backend: 'wasm' });
  });

  // loss = Σ W ⊙ A has gradient A exactly.
  const A = [
    [4, -1],
    [0, 3],
    [2, 10],
  ];
  function step(opt: GcOptimizer, w0 = [[0, 0], [0, 0], [0, 0]]): number[][] {
    const w = tf.variable(tf.tensor2d(w0), true, `hand${uid++}/dense/kernel`);
    const a = tf.tensor2d(A);
    opt.minimize(() => tf.sum(w.mul(a)) as tf.Scalar, false, [w]);
    const out = w.arraySync() as number[][];
    tf.dispose([w, a]);
    opt.dispose();
    return out;
  }
  const flat = (m: number[][]) => m.flat();

  it('SGD + GC: w − lr·(A − column means of A)', () => {
    // column means: 2 and 4.
    const expected = [[-0.1 * 2, -0.1 * -5], [-0.1 * -2, -0.1 * -1], [-0.1 * 0, -0.1 * 6]];
    assertClose(flat(step(new GcSGD({ learningRate: 0.1 }))), flat(expected), 1e-6, 'GC step');
  });

  it('clips by value before centralising', () => {
    // clip to [−3, 3]: [[3, −1], [0, 3], [2, 3]]; column means 5/3 and 5/3.
    const clipped = [[3, -1], [0, 3], [2, 3]];
    const expected = clipped.map((row) => row.map((g) => -0.1 * (g - 5 / 3)));
    assertClose(flat(step(new GcSGD({ learningRate: 0.1, clipValue: 3 }))), flat(expected), 1e-6, 'clip, then GC');
    // GC first and then clipping would give another answer: make sure the two orders differ here.
    const other = [[2, -5], [-2, -1], [0, 6]].map((row) => row.map((g) => -0.1 * Math.max(-3, Math.min(3, g))));
    assert.ok(maxAbsDiff(flat(expected), flat(other)) > 0.05);
  });

  it('clips by norm (per tensor) before centralising', () => {
    const norm = Math.hypot(...A.flat()); // √130
    const s = 2 / norm;
    const scaled = A.map((row) => row.map((g) => g * s));
    const means = [0, 1].map((j) => (scaled[0]![j]! + scaled[1]![j]! + scaled[2]![j]!) / 3);
    const expected = scaled.map((row) => row.map((g, j) => -0.5 * (g - means[j]!)));
    assertClose(flat(step(new GcSGD({ learningRate: 0.5, clipNorm: 2 }))), flat(expected), 1e-6, 'clipNorm, then GC');
    assertClose(flat(step(new GcSGD({ learningRate: 0.5, globalClipNorm: 2 }))), flat(expected), 1e-6, 'one tensor: global = per-tensor');
  });

  it('AdamW: Δ = lr·(m̂/(√v̂ + ε) + wd·w) on the first step', () => {
    const w0 = [[1, -2], [0.5, 0], [3, 1]];
    const lr = 0.01;
    const wd = 0.1;
    const eps = 1e-7;
    // first step: m̂ = g, v̂ = g², so m̂/(√v̂+ε) = g/(|g|+ε).
    const expected = w0.map((row, i) => row.map((w, j) => w - lr * (A[i]![j]! / (Math.abs(A[i]![j]!) + eps) + wd * w)));
    assertClose(flat(step(new GcAdamW({ learningRate: lr, weightDecay: wd, gc: 'off' }), w0)), flat(expected), 1e-6, 'AdamW step');
    // GC2 centralises that Δ per column.
    const deltas = w0.map((row, i) => row.map((w, j) => w - (expected[i]![j] as number)));
    const means = [0, 1].map((j) => (deltas[0]![j]! + deltas[1]![j]! + deltas[2]![j]!) / 3);
    const gc2 = w0.map((row, i) => row.map((w, j) => w - (deltas[i]![j]! - means[j]!)));
    assertClose(flat(step(new GcAdamW({ learningRate: lr, weightDecay: wd, centralize: 'update' }), w0)), flat(gc2), 1e-6, 'AdamW_GC2 step');
  });
});

describe('with tfjs training loops', () => {
  before(async () => {
    await initEngine({ backend: 'wasm' });
  });

  /** Images whose class is which half (top or bottom) is brighter, plus noise. */
  function halves(n: number, seed: number): { x: tf.Tensor4D; y: tf.Tensor2D } {
    const rng = createRng(seed);
    const px = new Float32Array(n * 8 * 8);
    const labels: number[] = [];
    for (let i = 0; i < n; i++) {
      const c = rng.int(2);
      labels.push(c);
      for (let r = 0; r < 8; r++) for (let q = 0; q < 8; q++) px[i * 64 + r * 8 + q] = ((r < 4) === (c === 0) ? 0.7 : 0.3) + rng.normal(0, 0.2);
    }
    return { x: tf.tensor4d(px, [n, 8, 8, 1]), y: tf.oneHot(tf.tensor1d(labels, 'int32'), 2).toFloat() as tf.Tensor2D };
  }

  it('model.fit trains a LayersModel (conv, depthwise, batch norm, dense) and keeps the kernels’ unit sums', async () => {
    const seed = createRng(3);
    const init = () => tf.initializers.glorotUniform({ seed: seed.seedInt() });
    const model = tf.sequential({
      layers: [
        tf.layers.conv2d({ inputShape: [8, 8, 1], filters: 4, kernelSize: 3, padding: 'same', kernelInitializer: init() }),
        tf.layers.batchNormalization({ momentum: 0.5 }),
        tf.layers.reLU(),
        tf.layers.depthwiseConv2d({ kernelSize: 3, depthMultiplier: 2, padding: 'same', depthwiseInitializer: init() }),
        tf.layers.reLU(),
        tf.layers.flatten(),
        tf.layers.dense({ units: 2, activation: 'softmax', kernelInitializer: init() }),
      ],
    });
    const opt = new GcMomentum({ learningRate: 0.05, momentum: 0.9, gc: 'all' });
    model.compile({ optimizer: opt, loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
    const kernels = model.trainableWeights.filter((w) => w.shape.length >= 2);
    assert.equal(kernels.length, 3);
    const sums0 = kernels.map((w) => unitSums(w.read(), w.name.endsWith('depthwise_kernel')));
    const data = halves(128, 1);
    const before = model.evaluate(data.x, data.y) as tf.Scalar[];
    const loss0 = before[0]!.dataSync()[0] as number;
    const history = await model.fit(data.x, data.y, { epochs: 6, batchSize: 32, shuffle: false, verbose: 0 });
    const after = model.evaluate(data.x, data.y) as tf.Scalar[];
    const [loss1, acc1] = [after[0]!.dataSync()[0] as number, after[1]!.dataSync()[0] as number];
    assert.equal(history.history.loss!.length, 6);
    assert.ok(loss1 < 0.5 * loss0, `loss ${loss0} → ${loss1}`);
    assert.ok(acc1 > 0.9, `accuracy ${acc1}`);
    kernels.forEach((w, k) => {
      const drift = maxAbsDiff(unitSums(w.read(), w.name.endsWith('depthwise_kernel')), sums0[k]!);
      assert.ok(drift < 1e-5, `${w.name}: unit sums drifted by ${drift}`);
    });
    tf.dispose([...before, ...after, data.x, data.y]);
    model.dispose();
    opt.dispose();
  });

  it('keeps the tensor count flat across minimize steps', () => {
    for (const opt of [new GcSGD({ clipNorm: 1 }), new GcMomentum({ globalClipNorm: 1 }), new GcAdam({ centralize: 'update', clipValue: 1 }), new GcAdamW()]) {
      const p = problem(4);
      opt.minimize(p.loss, false, p.vars); // creates the slots
      const count = tf.memory().numTensors;
      for (let s = 0; s < 30; s++) {
        const cost = opt.minimize(p.loss, true, p.vars);
        cost?.dispose();
      }
      assert.equal(tf.memory().numTensors, count, `${opt.getClassName()} leaked tensors`);
      p.dispose();
      const beforeDispose = tf.memory().numTensors;
      opt.dispose();
      // SGD keeps no state; the others hold slots (and Adam its β accumulators) until dispose.
      if (!(opt instanceof GcSGD)) assert.ok(tf.memory().numTensors < beforeDispose, `${opt.getClassName()} freed its state`);
    }
  });
});

describe('serialisation', () => {
  before(async () => {
    await initEngine({ backend: 'wasm' });
  });

  it('round-trips through model.save / tf.loadLayersModel with the optimizer', async () => {
    const model = tf.sequential({ layers: [tf.layers.dense({ inputShape: [3], units: 2, kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }) })] });
    const opt = new GcAdamW({ learningRate: 0.003, weightDecay: 0.05, gc: 'conv', centralize: 'update', clipNorm: 2, beta1: 0.8 });
    model.compile({ optimizer: opt, loss: 'meanSquaredError' });
    const x = tf.tensor2d(randomValues(12, 1), [4, 3]);
    const y = tf.tensor2d(randomValues(8, 2), [4, 2]);
    await model.fit(x, y, { epochs: 2, batchSize: 4, verbose: 0 });
    let saved: tf.io.ModelArtifacts | undefined;
    await model.save(
      tf.io.withSaveHandler(async (artifacts) => {
        saved = artifacts;
        return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
      }),
      { includeOptimizer: true },
    );
    const loaded = await tf.loadLayersModel(tf.io.fromMemory(saved as tf.io.ModelArtifacts));
    const lopt = loaded.optimizer as GcAdamW;
    assert.ok(lopt instanceof GcAdamW, `loaded optimizer is ${lopt?.getClassName()}`);
    assert.deepEqual(lopt.getConfig(), opt.getConfig());
    assert.equal(lopt.iterations, 2);
    tf.dispose([x, y]);
    model.dispose();
    loaded.dispose();
    opt.dispose();
    lopt.dispose();
  });

  it('getConfig → fromConfig through the registry, for every class', () => {
    const map = tf.serialization.SerializationMap.getMap().classNameMap;
    const made = [
      new GcSGD({ learningRate: 0.2, weightDecay: 1e-4, gc: 'conv', clipValue: 5 }),
      new GcMomentum({ learningRate: 0.1, momentum: 0.5, nesterov: true, gc: 'off' }),
      new GcAdam({ epsilon: 1e-6, centralize: 'update', weightDecay: 1e-3 }),
      new GcAdamW({ weightDecay: 0.02, globalClipNorm: 3 }),
    ];
    for (const opt of made) {
      const entry = map[opt.getClassName()];
      assert.ok(entry, `${opt.getClassName()} is registered`);
      const [cls, fromConfig] = entry;
      const copy = fromConfig(cls, JSON.parse(JSON.stringify(opt.getConfig()))) as GcOptimizer;
      assert.equal(copy.constructor, opt.constructor);
      assert.deepEqual(copy.getConfig(), opt.getConfig());
      copy.dispose();
      opt.dispose();
    }
  });

  it('getWeights / setWeights resume training exactly', async () => {
    for (const make of [() => new GcMomentum({ learningRate: 0.01 }), () => new GcAdam({ learningRate: 0.01, centralize: 'update' }), () => new GcAdamW({ learningRate: 0.01 })]) {
      const straight = problem(9);
      const resumed = problem(9);
      const a = make();
      const b = make();
      for (let s = 0; s < 3; s++) {
        a.minimize(straight.loss, false, straight.vars);
        b.minimize(resumed.loss, false, resumed.vars);
      }
      const state = await b.getWeights();
      const copies = state.map((w) => ({ name: w.name, tensor: w.tensor.clone() }));
      tf.dispose(state.filter((w) => w.name === 'iter').map((w) => w.tensor));
      b.dispose();
      const c = make();
      await c.setWeights(copies);
      tf.dispose(copies.map((w) => w.tensor));
      assert.equal(c.iterations, 3);
      for (let s = 0; s < 3; s++) {
        a.minimize(straight.loss, false, straight.vars);
        c.minimize(resumed.loss, false, resumed.vars);
      }
      for (let v = 0; v < 3; v++) assert.deepEqual(Array.from(resumed.vars[v]!.dataSync()), Array.from(straight.vars[v]!.dataSync()), `${a.getClassName()} var ${v}`);
      straight.dispose();
      resumed.dispose();
      a.dispose();
      c.dispose();
    }
  });

  it('rejects bad options naming the argument', () => {
    throwsInput(() => new GcSGD({ gc: 'filters' as never }), 'gc', '"filters"', 'one of off, conv, all');
    throwsInput(() => new GcSGD({ learningRate: -1 }), 'learningRate', '-1');
    throwsInput(() => new GcMomentum({ momentum: 1.5 }), 'momentum', '1.5', '[0, 1)');
    throwsInput(() => new GcAdam({ centralize: 'moments' as never }), 'centralize', 'gradient, update');
    throwsInput(() => new GcAdamW({ clipNorm: 1, globalClipNorm: 1 }), 'clipNorm', 'at most one');
    throwsInput(() => new GcAdam({ clipValue: 0 }), 'clipValue', '> 0');
    throwsInput(() => new GcSGD({ weightDecay: -0.1 }), 'weightDecay');
    const opt = new GcSGD();
    throwsInput(() => opt.setLearningRate(Number.NaN), 'learningRate', 'NaN');
    opt.dispose();
  });
});
