/**
 * A seeded many-class glyph generator: each class is a few random quadratic
 * strokes; each sample redraws them with stroke jitter, a random affine map and
 * a random pen width, on a 28×28 canvas. Few-shot learning (base / val / novel
 * classes) and metric learning (train / val / test classes) both need many
 * disjoint classes; this gives as many as wanted.
 *
 * First written for the metric module; it lives here so that every paper
 * module can use it without importing another paper module.
 */
import type { ImageDataset } from './dataset.js';
import { createRng, type Rng } from '../engine/core.js';
import { check } from '../errors.js';

/** Options of {@link generateGlyphs}. */
export interface GlyphOptions {
  /** Number of classes; default 200. */
  classes?: number;
  /** Samples per class; default 20. */
  perClass?: number;
  seed: number;
  /** Canvas side in pixels; default 28. */
  size?: number;
  /** Standard deviation of each control point's jitter, in canvas units (side = 1); default 0.035. */
  jitter?: number;
}

type Point = [number, number];
type Stroke = [Point, Point, Point];

/** The strokes defining class `c`: 2–4 quadratic Bézier curves inside the central 70% of the canvas. */
function classStrokes(rng: Rng): Stroke[] {
  const count = 2 + rng.int(3);
  const point = (): Point => [rng.uniform(0.15, 0.85), rng.uniform(0.15, 0.85)];
  return Array.from({ length: count }, () => [point(), point(), point()] as Stroke);
}

const SEGMENTS = 10;

/**
 * Draws `perClass` samples of each of `classes` glyph classes (labels 0…classes−1,
 * class-major order). Class shapes depend only on `seed` and the class id, so
 * the same seed with more samples per class extends, not changes, the classes.
 * Pixel values are in [0, 1] with anti-aliased strokes.
 */
export function generateGlyphs(options: GlyphOptions): ImageDataset {
  check(options !== null && typeof options === 'object', 'options', options, '{ classes?, perClass?, seed, size?, jitter? }');
  const { classes = 200, perClass = 20, seed, size = 28, jitter = 0.035 } = options;
  check(Number.isInteger(classes) && classes >= 1, 'classes', classes, 'a positive integer');
  check(Number.isInteger(perClass) && perClass >= 1, 'perClass', perClass, 'a positive integer');
  check(Number.isInteger(size) && size >= 8 && size <= 256, 'size', size, 'an integer in [8, 256]');
  check(typeof jitter === 'number' && jitter >= 0 && jitter < 0.5, 'jitter', jitter, 'a number in [0, 0.5)');
  check(typeof seed === 'number' && Number.isFinite(seed), 'seed', seed, 'a finite number');
  const n = classes * perClass;
  const images = new Float32Array(n * size * size);
  const labels = new Int32Array(n);
  const segs = new Float64Array(4 * 4 * SEGMENTS);
  const dist = new Float64Array(size * size);
  for (let c = 0; c < classes; c++) {
    const shapeRng = createRng(seed * 100_003 + c);
    const strokes = classStrokes(shapeRng);
    const sampleRng = createRng(seed * 100_003 + c + 0x5bd1e995);
    for (let s = 0; s < perClass; s++) {
      const index = c * perClass + s;
      labels[index] = c;
      // A random affine map about the centre: rotation, anisotropic scale, shear, translation.
      const angle = sampleRng.uniform(-0.35, 0.35);
      const sx = sampleRng.uniform(0.8, 1.1);
      const sy = sampleRng.uniform(0.8, 1.1);
      const shear = sampleRng.uniform(-0.2, 0.2);
      const tx = sampleRng.uniform(-0.06, 0.06);
      const ty = sampleRng.uniform(-0.06, 0.06);
      const cos = Math.cos(angle);
      const sin = Math.sin(angle);
      const map = (p: Point): Point => {
        const x = (p[0] - 0.5) * sx + shear * (p[1] - 0.5) * sy;
        const y = (p[1] - 0.5) * sy;
        return [0.5 + cos * x - sin * y + tx, 0.5 + sin * x + cos * y + ty];
      };
      const width = sampleRng.uniform(0.03, 0.055);
      let m = 0;
      for (const stroke of strokes) {
        const ctrl = stroke.map((p) => map([p[0] + sampleRng.normal(0, jitter), p[1] + sampleRng.normal(0, jitter)])) as Stroke;
        let prev = ctrl[0];
        for (let k = 1; k <= SEGMENTS; k++) {
          const t = k / SEGMENTS;
          const u = 1 - t;
          const next: Point = [u * u * ctrl[0][0] + 2 * u * t * ctrl[1][0] + t * t * ctrl[2][0], u * u * ctrl[0][1] + 2 * u * t * ctrl[1][1] + t * t * ctrl[2][1]];
          segs[m++] = prev[0];
          segs[m++] = prev[1];
          segs[m++] = next[0];
          segs[m++] = next[1];
          prev = next;
        }
      }
      const base = index * size * size;
      const pixel = 1 / size;
      const reach = width + pixel;
      dist.fill(Infinity);
      // Only pixels within reach of a segment's bounding box can be inked by it.
      for (let q = 0; q < m; q += 4) {
        const ax = segs[q] as number;
        const ay = segs[q + 1] as number;
        const bx = segs[q + 2] as number;
        const by = segs[q + 3] as number;
        const x0 = Math.max(0, Math.floor((Math.min(ax, bx) - reach) * size));
        const x1 = Math.min(size - 1, Math.ceil((Math.max(ax, bx) + reach) * size));
        const y0 = Math.max(0, Math.floor((Math.min(ay, by) - reach) * size));
        const y1 = Math.min(size - 1, Math.ceil((Math.max(ay, by) + reach) * size));
        for (let py = y0; py <= y1; py++) {
          for (let px = x0; px <= x1; px++) {
            const d = segmentDistance((px + 0.5) / size, (py + 0.5) / size, ax, ay, bx, by);
            if (d < (dist[py * size + px] as number)) dist[py * size + px] = d;
          }
        }
      }
      // Coverage falls from 1 to 0 over one pixel around the pen's edge.
      for (let k = 0; k < size * size; k++) images[base + k] = Math.min(1, Math.max(0, (width - (dist[k] as number)) / pixel + 0.5));
    }
  }
  return { name: `glyphs-${classes}x${perClass}-seed${seed}`, images, labels, shape: [size, size, 1], numClasses: classes, classNames: Array.from({ length: classes }, (_, c) => `glyph ${c}`) };
}

function segmentDistance(x: number, y: number, ax: number, ay: number, bx: number, by: number): number {
  const dx = bx - ax;
  const dy = by - ay;
  const len2 = dx * dx + dy * dy;
  const t = len2 > 0 ? Math.min(1, Math.max(0, ((x - ax) * dx + (y - ay) * dy) / len2)) : 0;
  return Math.hypot(x - ax - t * dx, y - ay - t * dy);
}
