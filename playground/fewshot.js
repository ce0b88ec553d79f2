import { drawable, ek, guarded, header, say, startEngine } from './common.js';

const $ = (id) => document.getElementById(id);
const MAX_CLASSES = 5;
/** Examples per symbol: 28×28 images (Float32Array, ink 1 on 0). */
const examples = [[], []];
let current = 0;
let model;

// Stroke width about that of the glyphs the embedding was trained on (≈ 0.08 of the side).
const example = drawable($('example'), 9);
const query = drawable($('query'), 9);

function renderClasses() {
  $('classes').innerHTML = examples.map((ex, k) => `<button data-class="${k}"${k === current ? ' style="font-weight:700"' : ''}>symbol ${k + 1} (${ex.length})</button>`).join(' ');
  $('current').textContent = `symbol ${current + 1}`;
  for (const b of $('classes').querySelectorAll('button')) b.addEventListener('click', () => {
    current = Number(b.dataset.class);
    renderClasses();
  });
  $('add-class').disabled = examples.length >= MAX_CLASSES;
  $('examples').innerHTML = examples.map((ex, k) => `<div>symbol ${k + 1}: ${ex.length} example${ex.length === 1 ? '' : 's'}</div>`).join('');
}

function embed(images) {
  return ek.tf.tidy(() => {
    const x = ek.tf.tensor4d(Float32Array.from(images.flatMap((im) => Array.from(im))), [images.length, 28, 28, 1]);
    return model.predict(x).arraySync();
  });
}

function classify() {
  const q = query.image(28);
  if (!q) throw new Error('The query canvas is empty: draw the symbol to classify.');
  const used = examples.map((ex, k) => [ex, k]).filter(([ex]) => ex.length > 0);
  if (used.length < 2) throw new Error(`Draw at least one example of at least 2 symbols (you have examples of ${used.length}).`);
  const support = used.flatMap(([ex]) => ex);
  const supportLabels = used.flatMap(([ex], j) => ex.map(() => j));
  const feats = embed([...support, q]);
  const r = ek.classifyEpisode(feats.slice(0, support.length), supportLabels, [feats[support.length]], { classifier: 'lr' });
  const probs = r.probabilities[0];
  const best = r.predictions[0];
  $('prediction').innerHTML = `<p>prediction: <b id="predicted">symbol ${used[best][1] + 1}</b></p>` + used.map(([, k], j) => `<div>symbol ${k + 1} <meter min="0" max="1" value="${probs[j]}"></meter> <span data-prob="${k + 1}">${probs[j].toFixed(3)}</span></div>`).join('');
  say('');
}

$('add-class').addEventListener('click', () => {
  if (examples.length < MAX_CLASSES) examples.push([]);
  current = examples.length - 1;
  renderClasses();
});
$('add-example').addEventListener('click', () =>
  guarded(() => {
    const img = example.image(28);
    if (!img) throw new Error('The example canvas is empty: draw an example of the symbol first.');
    examples[current].push(img);
    example.clear();
    renderClasses();
    say(`Added an example of symbol ${current + 1}.`);
  }),
);
$('clear-example').addEventListener('click', () => example.clear());
$('clear-query').addEventListener('click', () => query.clear());
$('classify').addEventListener('click', () => guarded(classify));

header('fewshot.html');
renderClasses();
$('classify').disabled = true;
guarded(async () => {
  await startEngine();
  model = await ek.loadModel(new URL('models/glyph-conv4/model.json', location.href).href);
  $('classify').disabled = false;
});
