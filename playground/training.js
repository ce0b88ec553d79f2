import { ek, guarded, header, say, startEngine } from './common.js';

const $ = (id) => document.getElementById(id);
const BATCH = 64;
let data;
/** The net, its optimizer and the losses so far: each click trains one more epoch of the same net. */
let run;

async function loadData() {
  const meta = await (await fetch('data/mnist-2400.json')).json();
  const bytes = new Uint8Array(await (await fetch('data/mnist-2400.bin')).arrayBuffer());
  const px = 28 * 28;
  if (bytes.length !== meta.count * (px + 1)) throw new Error(`data/mnist-2400.bin: expected ${meta.count * (px + 1)} bytes, got ${bytes.length}`);
  const images = new Float32Array(meta.count * px);
  for (let i = 0; i < images.length; i++) images[i] = bytes[i] / 255;
  return { images, labels: bytes.slice(meta.count * px), train: meta.train, test: meta.test };
}

function chart(losses) {
  const W = 420;
  const H = 160;
  const max = Math.max(...losses, 0.1);
  const pts = losses.map((l, i) => `${(20 + (i / Math.max(1, losses.length - 1)) * (W - 30)).toFixed(1)},${(H - 20 - (l / max) * (H - 30)).toFixed(1)}`).join(' ');
  $('chart').innerHTML = `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-size="11"><rect x="20" y="10" width="${W - 30}" height="${H - 30}" fill="none" stroke="#ccc"/><text x="22" y="22">loss (max ${max.toFixed(2)})</text><polyline id="loss-line" fill="none" stroke="#1f6fd1" stroke-width="1.5" points="${pts}"/><text x="${W - 60}" y="${H - 6}">step ${losses.length}</text></svg>`;
}

async function trainEpoch() {
  $('train').disabled = true;
  try {
    const { tf } = ek;
    const steps = Math.floor(data.train / BATCH);
    run ??= {
      model: ek.smallConvNet({ filters: [16, 32], dense: [{ units: 64, activation: 'relu' }, { units: 10 }] }, 1),
      optimizer: tf.train.adam(1e-3),
      x: tf.tensor4d(data.images.subarray(0, data.train * 784), [data.train, 28, 28, 1]),
      y: tf.tidy(() => tf.oneHot(tf.tensor1d(Int32Array.from(data.labels.subarray(0, data.train)), 'int32'), 10).toFloat()),
      rng: ek.createRng(0),
      losses: [],
      epochs: 0,
    };
    const { model, optimizer, x, y, losses } = run;
    const order = run.rng.permutation(data.train);
    const times = [];
    for (let s = 0; s < steps; s++) {
      const t0 = performance.now();
      losses.push(ek.classifierStep(model, optimizer, x, y, Int32Array.from(order.slice(s * BATCH, (s + 1) * BATCH))));
      times.push(performance.now() - t0);
      $('progress').value = (s + 1) / steps;
      const sorted = [...times].sort((a, b) => a - b);
      $('status').textContent = `epoch ${run.epochs + 1}, step ${s + 1}/${steps}, ${sorted[Math.floor(sorted.length / 2)].toFixed(0)} ms a step (median)`;
      chart(losses);
      await tf.nextFrame();
    }
    const correct = tf.tidy(() => {
      const tx = tf.tensor4d(data.images.subarray(data.train * 784), [data.test, 28, 28, 1]);
      const pred = tf.argMax(model.predict(tx), 1).dataSync();
      let c = 0;
      for (let i = 0; i < data.test; i++) if (pred[i] === data.labels[data.train + i]) c++;
      return c;
    });
    run.epochs++;
    // What stays alive between epochs: the net's weights, Adam's two moments per weight and its two β products, the data.
    const kept = model.weights.length * 3 + 2 + 2;
    $('result').innerHTML = `test accuracy after ${run.epochs} epoch${run.epochs === 1 ? '' : 's'}: <b id="accuracy">${(correct / data.test).toFixed(3)}</b> (${correct} of ${data.test}); tensors alive: <span id="tensors">${tf.memory().numTensors}</span> (the net, Adam's state and the data: ${kept})`;
  } finally {
    $('train').disabled = false;
  }
}

header('training.html');
$('train').disabled = true;
guarded(async () => {
  await startEngine();
  data = await loadData();
  $('train').disabled = false;
  say(`${data.train} training digits and ${data.test} test digits loaded.`);
});
$('train').addEventListener('click', () => guarded(trainEpoch));
