import { ek, guarded, header, say, startEngine, acceptFiles } from './common.js';

const N = 48;
const SCALE = 6;
const values = new Float32Array(N * N);
const canvas = document.getElementById('grid');
const ctx = canvas.getContext('2d');
const $ = (id) => document.getElementById(id);
const choice = (name) => document.querySelector(`input[name="${name}"]:checked`).value;
const COLORS = ['#1f6fd1', '#d1491f'];

function paint(x, y, ink) {
  for (let dy = -1; dy <= 1; dy++) {
    for (let dx = -1; dx <= 1; dx++) {
      const px = x + dx;
      const py = y + dy;
      if (px >= 0 && py >= 0 && px < N && py < N && dx * dx + dy * dy <= 1) values[py * N + px] = ink;
    }
  }
}

function aliveAt(birth, death, t, superlevel) {
  return superlevel ? death < t && t <= birth : birth <= t && t < death;
}

function svg(w, h, body) {
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}" font-size="11">${body}</svg>`;
}

function render() {
  const t = Number($('threshold').value);
  $('tvalue').textContent = t.toFixed(2);
  const superlevel = choice('filtration') === 'superlevel';
  const construction = choice('construction');
  // The grid: grey levels, with the set at t tinted.
  const img = ctx.createImageData(N, N);
  for (let i = 0; i < N * N; i++) {
    const v = values[i];
    const inSet = superlevel ? v >= t : v <= t;
    const g = Math.round(v * 255);
    img.data[4 * i] = inSet ? Math.min(255, 120 + g / 2) : g;
    img.data[4 * i + 1] = inSet ? Math.round(60 + g / 3) : g;
    img.data[4 * i + 2] = inSet ? 20 : g;
    img.data[4 * i + 3] = 255;
  }
  const off = new OffscreenCanvas(N, N);
  off.getContext('2d').putImageData(img, 0, 0);
  ctx.imageSmoothingEnabled = false;
  ctx.drawImage(off, 0, 0, N * SCALE, N * SCALE);

  let lo = Infinity;
  let hi = -Infinity;
  for (const v of values) {
    lo = Math.min(lo, v);
    hi = Math.max(hi, v);
  }
  if (hi === lo) {
    $('betti').textContent = '';
    $('diagram').innerHTML = '';
    $('barcode').innerHTML = '';
    say(hi === 0 ? 'The canvas is empty: draw a shape (or drop an image) to see its topology.' : 'The image is constant: draw a shape (or drop an image) with at least two values.', 'note');
    return;
  }
  say('');
  const ph = ek.cubicalPersistence(values, [N, N], { construction, filtration: superlevel ? 'superlevel' : 'sublevel' });
  const betti = [0, 1].map((d) => {
    const p = ph.diagrams[d];
    let n = 0;
    for (let i = 0; i < p.size; i++) if (aliveAt(p.birth[i], p.death[i], t, superlevel)) n++;
    return n;
  });
  $('betti').innerHTML = `β₀ = <b id="b0">${betti[0]}</b>, β₁ = <b id="b1">${betti[1]}</b> for the ${superlevel ? 'superlevel' : 'sublevel'} set at t = ${t.toFixed(2)}`;

  // Diagram: birth on x, death on y, in [0, 1]; essential classes on the top (or bottom) edge.
  const S = 220;
  const m = 24;
  const pos = (v) => m + Math.max(0, Math.min(1, v)) * S;
  let dots = `<line x1="${m}" y1="${m + S}" x2="${m + S}" y2="${m}" stroke="#aaa"/><rect x="${m}" y="${m}" width="${S}" height="${S}" fill="none" stroke="#ccc"/>`;
  dots += `<text x="${m + S / 2}" y="${m + S + 18}" text-anchor="middle">birth</text><text x="6" y="${m + S / 2}" transform="rotate(-90 10 ${m + S / 2})">death</text>`;
  for (const d of [0, 1]) {
    const p = ph.diagrams[d];
    for (let i = 0; i < p.size; i++) {
      const death = Number.isFinite(p.death[i]) ? p.death[i] : superlevel ? 0 : 1;
      dots += `<circle cx="${pos(p.birth[i])}" cy="${m + S - (pos(death) - m)}" r="${Number.isFinite(p.death[i]) ? 3.5 : 5}" fill="${COLORS[d]}" fill-opacity="0.75"><title>dim ${d}: (${p.birth[i].toFixed(2)}, ${Number.isFinite(p.death[i]) ? p.death[i].toFixed(2) : '∞'})</title></circle>`;
    }
  }
  dots += `<text x="${m}" y="14" fill="${COLORS[0]}">● dim 0</text><text x="${m + 60}" y="14" fill="${COLORS[1]}">● dim 1</text>`;
  $('diagram').innerHTML = svg(S + 2 * m, S + 2 * m, dots);

  // Barcode: one bar per pair, dim 0 then dim 1; bars alive at t drawn solid, the others faint.
  const bars = [];
  for (const d of [0, 1]) {
    const p = ph.diagrams[d];
    for (let i = 0; i < p.size; i++) bars.push([d, p.birth[i], p.death[i]]);
  }
  const W = 260;
  const rowH = Math.max(3, Math.min(12, Math.floor(240 / Math.max(1, bars.length))));
  const x = (v) => 10 + (superlevel ? 1 - Math.max(0, Math.min(1, v)) : Math.max(0, Math.min(1, v))) * (W - 20);
  let body = `<line x1="${x(t)}" y1="0" x2="${x(t)}" y2="${bars.length * rowH + 8}" stroke="#000" stroke-dasharray="3 2"/>`;
  bars.forEach(([d, b, de], i) => {
    const end = Number.isFinite(de) ? de : superlevel ? 0 : 1;
    const alive = aliveAt(b, de, t, superlevel);
    body += `<rect x="${Math.min(x(b), x(end))}" y="${4 + i * rowH}" width="${Math.max(1, Math.abs(x(end) - x(b)))}" height="${rowH - 1}" fill="${COLORS[d]}" fill-opacity="${alive ? 0.95 : 0.3}"/>`;
  });
  $('barcode').innerHTML = svg(W, bars.length * rowH + 12, body);
}

function gridPoint(e) {
  const r = canvas.getBoundingClientRect();
  return [Math.floor(((e.clientX - r.left) / r.width) * N), Math.floor(((e.clientY - r.top) / r.height) * N)];
}

let drawing = false;
canvas.addEventListener('pointerdown', (e) => {
  drawing = true;
  canvas.setPointerCapture(e.pointerId);
  const [x, y] = gridPoint(e);
  paint(x, y, choice('tool') === 'draw' ? 1 : 0);
  guarded(render);
});
canvas.addEventListener('pointermove', (e) => {
  if (!drawing) return;
  const [x, y] = gridPoint(e);
  paint(x, y, choice('tool') === 'draw' ? 1 : 0);
  guarded(render);
});
canvas.addEventListener('pointerup', () => (drawing = false));
$('clear').addEventListener('click', () => {
  values.fill(0);
  guarded(render);
});
$('ring').addEventListener('click', () => {
  values.fill(0);
  for (let a = 0; a < 360; a += 2) paint(Math.round(24 + 14 * Math.cos((a * Math.PI) / 180)), Math.round(24 + 14 * Math.sin((a * Math.PI) / 180)), 1);
  guarded(render);
});
for (const el of document.querySelectorAll('input[name="construction"], input[name="filtration"], #threshold')) el.addEventListener('input', () => guarded(render));

acceptFiles($('drop'), $('file'), async (files) => {
  const file = files[0];
  if (!file) return;
  if (!file.type.startsWith('image/')) throw new Error(`${file.name}: expected an image (PNG, JPEG, WebP), got ${file.type || 'a file of unknown type'}`);
  const img = ek.resizeImage(await ek.decodeImageBlob(file, 1, file.name), [N, N]);
  values.set(img.data);
  guarded(render);
});
// The canvas accepts drops too.
canvas.addEventListener('dragover', (e) => e.preventDefault());
canvas.addEventListener('drop', (e) => {
  e.preventDefault();
  $('drop').dispatchEvent(new DragEvent('drop', { dataTransfer: e.dataTransfer }));
});

header('topology.html');
guarded(async () => {
  await startEngine();
  render();
});
