// Shared by every playground page: the header, the backend choice (?backend=webgl), and messages on the
// page instead of exceptions in the console.
import * as ek from './eccvkit.js';

export { ek };

const PAGES = [
  ['index.html', 'eccvkit playground'],
  ['topology.html', 'Topology'],
  ['metric.html', 'Metric learning'],
  ['fewshot.html', 'Few-shot'],
  ['training.html', 'Training'],
  ['gan.html', 'GAN'],
];

export function header(current) {
  const h = document.createElement('header');
  h.innerHTML = PAGES.map(([href, name]) => `<a href="${href}"${href === current ? ' class="here"' : ''}>${name}</a>`).join('') + '<span id="engine">starting the engine…</span>';
  document.body.prepend(h);
}

/** Shows `text` in the page's message line; kind: 'error' | 'note' | ''. */
export function say(text, kind = '') {
  const el = document.getElementById('message');
  if (!el) return;
  el.textContent = text;
  el.className = `message ${kind}`;
}

/** Runs `fn`, turning a thrown error into a message on the page (never an uncaught exception). */
export async function guarded(fn) {
  try {
    return await fn();
  } catch (err) {
    say(err instanceof Error ? err.message : String(err), 'error');
    return undefined;
  }
}

/**
 * Starts the engine on ?backend= when given, else the fastest that starts; a requested backend this browser
 * lacks falls back to the default order, and the page says which and why.
 */
export async function startEngine() {
  const wanted = new URLSearchParams(location.search).get('backend');
  let info;
  let fallback = '';
  if (wanted) {
    try {
      info = await ek.initEngine({ backend: wanted });
    } catch (err) {
      fallback = `${wanted} is not available here (${err instanceof Error ? err.message : String(err)}); `;
    }
  }
  if (!info) info = await ek.initEngine();
  const skipped = info.skipped.map((s) => `${s.backend}: ${s.reason}`).join('; ');
  const el = document.getElementById('engine');
  if (el) el.textContent = `backend: ${info.backend}${skipped ? ` (passed over ${skipped})` : ''}${fallback ? ` · ${fallback}using ${info.backend}` : ''}`;
  if (fallback) say(`${fallback}using ${info.backend}.`, 'note');
  return info;
}

/** Reads a dropped or chosen File as bytes. */
export async function fileBytes(file) {
  return new Uint8Array(await file.arrayBuffer());
}

/** Makes `zone` accept dropped files, calling `onFiles(files)`; `input` (a file input, or null) does the same when used. */
export function acceptFiles(zone, input, onFiles) {
  zone.addEventListener('dragover', (e) => {
    e.preventDefault();
    zone.classList.add('over');
  });
  zone.addEventListener('dragleave', () => zone.classList.remove('over'));
  zone.addEventListener('drop', (e) => {
    e.preventDefault();
    zone.classList.remove('over');
    guarded(() => onFiles([...(e.dataTransfer?.files ?? [])]));
  });
  input?.addEventListener('change', () => guarded(() => onFiles([...(input.files ?? [])])));
}

/**
 * Makes `canvas` a drawing surface: white strokes of `lineWidth` on black, following the pointer.
 * Returns `clear()` and `image(size)`: the drawing as a size×size grey image in [0, 1] (area-averaged), or
 * undefined while nothing is drawn.
 */
export function drawable(canvas, lineWidth) {
  const ctx = canvas.getContext('2d');
  const clear = () => {
    ctx.fillStyle = '#000';
    ctx.fillRect(0, 0, canvas.width, canvas.height);
  };
  clear();
  let last;
  const at = (e) => {
    const r = canvas.getBoundingClientRect();
    return [((e.clientX - r.left) / r.width) * canvas.width, ((e.clientY - r.top) / r.height) * canvas.height];
  };
  canvas.addEventListener('pointerdown', (e) => {
    canvas.setPointerCapture(e.pointerId);
    last = at(e);
  });
  canvas.addEventListener('pointermove', (e) => {
    if (!last) return;
    const p = at(e);
    ctx.strokeStyle = '#fff';
    ctx.lineWidth = lineWidth;
    ctx.lineCap = 'round';
    ctx.beginPath();
    ctx.moveTo(last[0], last[1]);
    ctx.lineTo(p[0], p[1]);
    ctx.stroke();
    last = p;
  });
  canvas.addEventListener('pointerup', () => (last = undefined));
  return {
    clear,
    image(size) {
      const img = ek.resizeImage(ek.imageDataToImage(ctx.getImageData(0, 0, canvas.width, canvas.height), 1), [size, size]);
      return img.data.some((v) => v > 0.1) ? img.data : undefined;
    },
  };
}

window.addEventListener('unhandledrejection', (e) => {
  e.preventDefault();
  say(e.reason instanceof Error ? e.reason.message : String(e.reason), 'error');
});
