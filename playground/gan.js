import { drawable, ek, guarded, header, say, startEngine } from './common.js';

const $ = (id) => document.getElementById(id);
let G;
let card;
let z;
let alphas;
const rng = ek.createRng(1);

function effectiveZ() {
  const out = Float32Array.from(z);
  card.directions.forEach((d, i) => d.forEach((v, j) => (out[j] += alphas[i] * v)));
  return out;
}

function imageOf(codes, n) {
  return ek.tf.tidy(() => G.predict(ek.tf.tensor2d(codes, [n, card.config.latentDim])).add(1).div(2).clipByValue(0, 1).dataSync());
}

function render() {
  const px = imageOf(effectiveZ(), 1);
  const img = new ImageData(28, 28);
  for (let i = 0; i < 784; i++) {
    const g = Math.round(px[i] * 255);
    img.data.set([g, g, g, 255], 4 * i);
  }
  const off = new OffscreenCanvas(28, 28);
  off.getContext('2d').putImageData(img, 0, 0);
  const ctx = $('sample').getContext('2d');
  ctx.imageSmoothingEnabled = false;
  ctx.drawImage(off, 0, 0, 224, 224);
  $('sample').dataset.sum = px.reduce((a, b) => a + b, 0).toFixed(4);
}

function sliders(container, values, prefix, min, max) {
  container.innerHTML = values.map((v, i) => `<div><label>${prefix}${i + 1} <input type="range" min="${min}" max="${max}" step="0.05" value="${v}" data-i="${i}" id="${prefix}${i + 1}"></label></div>`).join('');
  for (const el of container.querySelectorAll('input')) {
    el.addEventListener('input', () => {
      values[Number(el.dataset.i)] = Number(el.value);
      guarded(render);
    });
  }
}

function refreshSliders() {
  sliders($('latents'), z, 'z', -3, 3);
  sliders($('directions'), alphas, 'd', -3, 3);
}

const drawing = drawable($('draw'), 10);

/** Adam on z from 8 random starts at once, keeping the start whose image ends closest (mean squared error in [−1, 1]). */
async function invert() {
  const { tf } = ek;
  const target = drawing.image(28);
  if (!target) throw new Error('The drawing canvas is empty: draw a digit to invert.');
  const K = 8;
  const iterations = 150;
  const d = card.config.latentDim;
  const starts = Float32Array.from({ length: K * d }, () => rng.normal());
  const codes = tf.variable(tf.tensor2d(starts, [K, d]));
  const x = tf.tidy(() => tf.tensor4d(target, [1, 28, 28, 1]).mul(2).sub(1));
  const perStart = () => tf.mean(tf.square(tf.sub(G.apply(codes), x)), [1, 2, 3]);
  const before = tf.tidy(() => Math.min(...perStart().dataSync()));
  const optimizer = tf.train.adam(0.05);
  $('invert').disabled = true;
  try {
    for (let i = 0; i < iterations; i++) {
      tf.dispose(optimizer.minimize(() => tf.sum(perStart()), false, [codes]));
      if (i % 10 === 9) {
        $('progress').value = (i + 1) / iterations;
        await tf.nextFrame();
      }
    }
    const losses = tf.tidy(() => perStart().dataSync());
    const best = losses.indexOf(Math.min(...losses));
    z = Array.from(codes.arraySync()[best]);
    alphas = alphas.map(() => 0);
    refreshSliders();
    render();
    $('inversion').innerHTML = `reconstruction error (MSE in [−1, 1]): <b id="mse">${losses[best].toFixed(4)}</b>, from <span id="mse0">${before.toFixed(4)}</span> at the best random start; move the sliders to edit it.`;
    say('');
  } finally {
    $('invert').disabled = false;
    codes.dispose();
    x.dispose();
    optimizer.dispose();
  }
}

$('random').addEventListener('click', () => {
  z = Array.from({ length: card.config.latentDim }, () => rng.normal());
  refreshSliders();
  guarded(render);
});
$('zero').addEventListener('click', () => {
  alphas = alphas.map(() => 0);
  refreshSliders();
  guarded(render);
});
$('clear').addEventListener('click', drawing.clear);
$('invert').addEventListener('click', () => guarded(invert));

header('gan.html');
$('invert').disabled = true;
guarded(async () => {
  await startEngine();
  card = await (await fetch('models/mnist-dcgan/training.json')).json();
  G = await ek.loadModel(new URL('models/mnist-dcgan/model.json', location.href).href);
  z = Array.from({ length: card.config.latentDim }, () => rng.normal());
  alphas = card.directions.map(() => 0);
  refreshSliders();
  render();
  $('info').textContent = `latent ${card.config.latentDim}-d, ${card.config.steps} training steps, ${card.directions.length} discovered directions`;
  $('invert').disabled = false;
});
