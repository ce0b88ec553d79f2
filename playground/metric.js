import { acceptFiles, ek, fileBytes, guarded, header, say, startEngine } from './common.js';

const $ = (id) => document.getElementById(id);
const state = { embeddings: undefined, labels: undefined };

async function readNpyFile(file, role) {
  if (!file.name.toLowerCase().endsWith('.npy')) throw new Error(`${role}: expected a NumPy .npy file, got ${file.name}`);
  return ek.parseNpy(await fileBytes(file), file.name);
}

function describe(arr, file) {
  return `${file}: ${arr.dtype} [${arr.shape.join(', ')}]`;
}

function take(arr, name, role) {
  if (role === 'embeddings') {
    if (arr.shape.length !== 2) throw new Error(`embeddings (${name}): expected a 2-D array [N, D], got shape [${arr.shape.join(', ')}]`);
    state.embeddings = { arr, name };
  } else {
    if (arr.shape.length !== 1) throw new Error(`labels (${name}): expected a 1-D array [N] of integer labels, got shape [${arr.shape.join(', ')}]`);
    state.labels = { arr, name };
  }
  $('loaded').textContent = [state.embeddings && describe(state.embeddings.arr, state.embeddings.name), state.labels && describe(state.labels.arr, state.labels.name)].filter(Boolean).join(' · ');
  compute();
}

function compute() {
  $('results').innerHTML = '';
  if (!state.embeddings || !state.labels) {
    say(`Waiting for ${state.embeddings ? 'the labels' : state.labels ? 'the embeddings' : 'embeddings and labels'} (.npy).`, 'note');
    return;
  }
  const e = state.embeddings.arr;
  const labels = ek.npyToInt32Labels(state.labels.arr, 'labels');
  if (labels.length !== e.shape[0]) throw new Error(`labels: expected ${e.shape[0]} labels, one per embedding row, got ${labels.length}`);
  const t0 = performance.now();
  const x = ek.tf.tensor2d(ek.npyToFloat32(e), [e.shape[0], e.shape[1]]);
  let result;
  try {
    result = ek.accuracy(x, labels, undefined, undefined, { normalize: $('normalize').checked });
  } finally {
    x.dispose();
  }
  const ms = performance.now() - t0;
  const rows = [
    ['P@1', result.precision_at_1],
    ['R-precision', result.r_precision],
    ['MAP@R', result.mean_average_precision_at_r],
  ];
  const cells = rows.map(([k, v]) => `<tr><td>${k}</td><td data-metric="${k}">${v.toFixed(6)}</td></tr>`).join('');
  $('results').innerHTML = `<table id="metrics"><tr><th>metric</th><th>value</th></tr>${cells}</table><p>${result.queries} queries (${result.lone_queries} left out: no other item of their class), ${ms.toFixed(0)} ms.</p>`;
  say('');
}

/** A drop may hold both files: the 1-D one is the labels. */
async function onDrop(files) {
  for (const file of files) {
    const arr = await readNpyFile(file, 'dropped file');
    take(arr, file.name, arr.shape.length === 1 ? 'labels' : 'embeddings');
  }
}

acceptFiles($('drop'), null, onDrop);
for (const role of ['embeddings', 'labels']) {
  $(role).addEventListener('change', () =>
    guarded(async () => {
      const f = $(role).files[0];
      if (f) take(await readNpyFile(f, role), f.name, role);
    }),
  );
}
$('normalize').addEventListener('change', () => guarded(compute));

header('metric.html');
guarded(async () => {
  await startEngine();
  compute();
});
