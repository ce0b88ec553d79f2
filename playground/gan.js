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

/** Draws [0, 1] pixels of a size×size image on canvas `id`, scaled up, and records their sum (the tests read it). */
function paint(id, px, size) {
  const img = new ImageData(size, size);
  for (let i = 0; i < size * size; i++) {
    const g = Math.round(Math.min(1, Math.max(0, px[i])) * 255);
    img.data.set([g, g, g, 255], 4 * i);
  }
  const off = new OffscreenCanvas(size, size);
  off.getContext('2d').putImageData(img, 0, 0);
  const canvas = $(id);
  const ctx = canvas.getContext('2d');
  ctx.imageSmoothingEnabled = false;
  ctx.drawImage(off, 0, 0, canvas.width, canvas.height);
  canvas.dataset.sum = px.reduce((a, b) => a + b, 0).toFixed(4);
}

function render() {
  paint('sample', imageOf(effectiveZ(), 1), 28);
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

// In-domain inversion: the style generator, its domain-guided encoder and the perceptual classifier.
let styleG;
let encoder;
let perceptual;
let idCard;
let boundaries;
let idCodes;
const edits = { thickness: 0, slant: 0 };

/** G(codes) of the style generator as [0, 1] pixels. */
function synthesize01(codes) {
  return ek.tf.tidy(() => styleG.synthesize(codes).add(1).div(2).clipByValue(0, 1).dataSync());
}

function renderEdit() {
  if (!idCodes) return;
  const { tf } = ek;
  const px = tf.tidy(() => {
    let codes = idCodes;
    for (const [name, alpha] of Object.entries(edits)) {
      if (alpha !== 0) codes = tf.reshape(ek.manipulate(codes, boundaries[name], { alphas: [alpha] }), codes.shape);
    }
    return synthesize01(codes);
  });
  paint('id-edited', px, 32);
}

function editSliders() {
  $('edits').innerHTML = Object.keys(edits)
    .map((name) => `<div><label>${name} (boundary accuracy ${(100 * idCard.boundaries[name].accuracy).toFixed(0)}%) <input type="range" min="-3" max="3" step="0.25" value="${edits[name]}" id="edit-${name}" data-name="${name}"></label></div>`)
    .join('');
  for (const el of $('edits').querySelectorAll('input')) {
    el.addEventListener('input', () => {
      edits[el.dataset.name] = Number(el.value);
      guarded(renderEdit);
    });
  }
}

/** The drawing at the digits' scale (28×28 in a 32×32 frame, as MNIST is padded for the style generator), in [0, 1]. */
function drawing32() {
  const small = drawing.image(28);
  if (!small) throw new Error('The drawing canvas is empty: draw a digit to invert.');
  const out = new Float32Array(32 * 32);
  for (let r = 0; r < 28; r++) out.set(small.subarray(r * 28, r * 28 + 28), (r + 2) * 32 + 2);
  return out;
}

async function invertInDomain() {
  const { tf } = ek;
  const target = drawing32();
  paint('id-target', target, 32);
  $('invert-id').disabled = true;
  $('progress-id').value = 0;
  say('Inverting in-domain…');
  await tf.nextFrame();
  const x = tf.tidy(() => tf.tensor4d(target, [1, 32, 32, 1]).mul(2).sub(1));
  const mse = (px) => px.reduce((a, v, i) => a + (2 * v - 1 - (2 * target[i] - 1)) ** 2, 0) / px.length;
  try {
    const encoded = tf.tidy(() => encoder.encode(x));
    const encodedPx = synthesize01(encoded);
    encoded.dispose();
    paint('id-encoded', encodedPx, 32);
    await tf.nextFrame();
    const inv = idCard.config.inversion;
    const result = ek.invert(styleG, x, { encoder, perceptual, iterations: inv.iterations, learningRate: inv.learningRate, lambdaFeat: inv.lambdaFeat, lambdaDomain: inv.lambdaDomain });
    idCodes?.dispose();
    idCodes = result.codes;
    tf.dispose([result.latents, result.reconstructions]);
    const invertedPx = synthesize01(idCodes);
    paint('id-inverted', invertedPx, 32);
    edits.thickness = 0;
    edits.slant = 0;
    editSliders();
    renderEdit();
    $('progress-id').value = 1;
    $('inversion-id').innerHTML = `reconstruction error (MSE in [−1, 1]): encoder <b id="mse-encoder">${mse(encodedPx).toFixed(4)}</b>, after ${inv.iterations} steps of in-domain optimisation <b id="mse-id">${mse(invertedPx).toFixed(4)}</b> (${result.secondsPerImage.toFixed(1)} s); held-out digits at build time: ${idCard.heldOut.encoderMse.toFixed(4)} and ${idCard.heldOut.inDomainMse.toFixed(4)}.`;
    say('');
  } finally {
    x.dispose();
    $('invert-id').disabled = false;
  }
}

$('invert-id').addEventListener('click', () => guarded(invertInDomain));

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
$('invert-id').disabled = true;
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
  const base = new URL('models/mnist-idinvert/', location.href).href;
  idCard = await (await fetch(`${base}training.json`)).json();
  styleG = await ek.loadStyleGenerator(`${base}generator/`, 'generator');
  encoder = await ek.loadEncoder(`${base}encoder/`, 'encoder');
  perceptual = new ek.PerceptualFeatures({ model: await ek.loadModel(`${base}classifier/model.json`) });
  boundaries = Object.fromEntries(Object.entries(idCard.boundaries).map(([name, b]) => [name, ek.layerwiseBoundary(Float32Array.from(b.normal), styleG.numLayers)]));
  editSliders();
  $('invert-id').disabled = false;
});
