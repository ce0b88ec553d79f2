/**
 * Charts as plain SVG strings (no scripts, no external resources), so a report
 * page embeds them inline and stays one self-contained file.
 *
 * Axis ticks follow Heckbert's "nice numbers" (Graphics Gems, 1990): steps of
 * 1, 2 or 5 times a power of ten, with the axis widened to whole steps.
 */
import { createHash } from 'node:crypto';
import { EccvkitInputError, check } from '../errors.js';
import { escapeHtml, formatNumber } from './html.js';

/** One line of a {@link lineChartSvg}: `[x, y]` points in drawing order; non-finite points break the line. */
export interface Series {
  name: string;
  points: Array<[number, number]>;
  /** Draw dashed (e.g. a paper's reference curve beside ours). */
  dashed?: boolean;
}

/** Ten well-separated colours (Tableau 10, reordered so the first few differ most). */
const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#17becf', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22'];

/** The `i`-th series colour: the palette, then golden-angle hues. */
export function seriesColor(i: number): string {
  return i < PALETTE.length ? (PALETTE[i] as string) : `hsl(${Math.round((i * 137.508) % 360)}, 65%, 40%)`;
}

const FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, Helvetica, Arial, sans-serif";
/** Rough width of one character at the 11 px chart font. */
const CHAR_W = 6.5;

/** Angle (degrees) of bar labels too long to sit flat. */
const SLANT = 35;

/** A short value label: 3 significant digits without trailing zeros (`0.05`, `0.79`, `1235`). */
function shortNumber(v: number): string {
  return Math.abs(v) >= 1000 && Number.isFinite(v) ? String(Math.round(v)) : String(Number(v.toPrecision(3)));
}

/** Rounds pixel coordinates to 0.01 to keep the SVG short. */
function f(n: number): string {
  return String(Math.round(n * 100) / 100);
}

/** The nice step (1, 2 or 5 × 10^k) closest to `raw`, after Heckbert's rounding. */
function niceStep(raw: number): number {
  const mag = 10 ** Math.floor(Math.log10(raw));
  const norm = raw / mag;
  const nice = norm < 1.5 ? 1 : norm < 3 ? 2 : norm < 7 ? 5 : 10;
  return nice * mag;
}

/** Removes float noise such as 0.6000000000000001. */
function clean(v: number): number {
  return Number(v.toPrecision(12));
}

/**
 * Evenly spaced "nice" tick values covering `[lo, hi]`: the step is 1, 2 or 5
 * times a power of ten, chosen so there are about `target` intervals (default
 * 5), and the first and last ticks are the multiples of the step at or just
 * beyond `lo` and `hi`. Example: `[0, 0.97]` → `0, 0.2, 0.4, 0.6, 0.8, 1`.
 * A zero-width range is widened by 10% of its value (or ±1 around 0).
 *
 * @throws {@link EccvkitInputError} when `lo` or `hi` is not finite, `lo > hi`, or `target < 1`
 */
export function niceTicks(lo: number, hi: number, target = 5): number[] {
  check(Number.isFinite(lo) && Number.isFinite(hi) && lo <= hi, 'range', [lo, hi], 'finite numbers with lo ≤ hi');
  check(Number.isFinite(target) && target >= 1, 'target', target, 'a number ≥ 1');
  if (lo === hi) {
    const d = lo === 0 ? 1 : Math.abs(lo) * 0.1;
    lo -= d;
    hi += d;
  }
  const step = niceStep((hi - lo) / target);
  const k0 = Math.floor(lo / step + 1e-9);
  const k1 = Math.ceil(hi / step - 1e-9);
  const out: number[] = [];
  for (let k = k0; k <= k1; k++) out.push(clean(k * step));
  return out;
}

/**
 * Ticks for a logarithmic axis covering `[lo, hi]` (both > 0): the powers of
 * ten from the one at or below `lo` to the one at or above `hi`, plus 2× and 5×
 * each decade when the range spans at most two decades, and only every n-th
 * power when it spans more than eight. Examples: `[0.003, 0.8]` →
 * `0.001, 0.01, 0.1, 1`; `[2, 40]` → `1, 2, 5, 10, 20, 50, 100`.
 *
 * @throws {@link EccvkitInputError} when the bounds are not positive finite numbers with `lo ≤ hi`
 */
export function logTicks(lo: number, hi: number): number[] {
  check(Number.isFinite(lo) && Number.isFinite(hi) && lo > 0 && lo <= hi, 'range', [lo, hi], 'positive finite numbers with lo ≤ hi');
  const e0 = Math.floor(Math.log10(lo) + 1e-9);
  let e1 = Math.ceil(Math.log10(hi) - 1e-9);
  if (e1 === e0) e1 = e0 + 1;
  const decades = e1 - e0;
  const out: number[] = [];
  if (decades <= 2) {
    for (let e = e0; e < e1; e++) for (const m of [1, 2, 5]) out.push(clean(m * 10 ** e));
    out.push(clean(10 ** e1));
    return out;
  }
  const stride = Math.ceil(decades / 8);
  const first = Math.floor(e0 / stride) * stride;
  const last = Math.ceil(e1 / stride) * stride;
  for (let e = first; e <= last; e += stride) out.push(clean(10 ** e));
  return out;
}

/** Label for tick `v` on an axis whose ticks are `step` apart (or, on a log axis, `v` itself). */
function formatTick(v: number, step: number): string {
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1e6 || a < 1e-4) {
    const [m, e] = v.toExponential().split('e') as [string, string];
    return `${clean(Number(m))}e${Number(e)}`;
  }
  const decimals = Math.max(0, -Math.floor(Math.log10(Math.abs(step)) + 1e-9));
  return v.toFixed(Math.min(decimals, 20));
}

interface Frame {
  width: number;
  height: number;
  left: number;
  right: number;
  top: number;
  bottom: number;
}

/** Throws unless `series` is an array of { name, points: [x, y][] } (line and scatter charts). */
function checkSeries(series: unknown): asserts series is { name: string; points: [number, number][] }[] {
  check(Array.isArray(series), 'series', series, 'an array of { name, points }');
  series.forEach((s: { name?: unknown; points?: unknown } | null, i) => {
    check(s !== null && typeof s === 'object' && typeof s.name === 'string', `series[${i}].name`, s?.name, 'a string');
    check(Array.isArray(s.points), `series[${i}].points`, s.points, 'an array of [x, y] pairs');
    (s.points as unknown[]).forEach((p, j) => check(Array.isArray(p) && p.length === 2, `series[${i}].points[${j}]`, p, 'an [x, y] pair'));
  });
}

function checkSize(value: number | undefined, fallback: number, argument: string, min: number): number {
  const v = value ?? fallback;
  check(Number.isFinite(v) && v >= min && v <= 10000, argument, v, `a number from ${min} to 10000`);
  return v;
}

function svgOpen(width: number, height: number, title: string | undefined): string {
  const label = title === undefined ? '' : ` aria-label="${escapeHtml(title)}"`;
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${f(width)} ${f(height)}" width="${f(width)}" height="${f(height)}" role="img"${label}` +
    ` font-family="${escapeHtml(FONT)}" font-size="11">` +
    (title === undefined ? '' : `<title>${escapeHtml(title)}</title>`) +
    `<rect width="${f(width)}" height="${f(height)}" fill="#ffffff"/>`
  );
}

function titleText(fr: Frame, title: string | undefined): string {
  return title === undefined ? '' : `<text x="${f(fr.width / 2)}" y="18" text-anchor="middle" font-size="14" font-weight="600" fill="#111">${escapeHtml(title)}</text>`;
}

function yAxis(fr: Frame, ticks: number[], labels: string[], y: (v: number) => number, yLabel: string | undefined): string {
  const parts: string[] = ['<g class="y-axis">'];
  ticks.forEach((t, i) => {
    const py = y(t);
    parts.push(`<line x1="${f(fr.left)}" x2="${f(fr.right)}" y1="${f(py)}" y2="${f(py)}" stroke="#e5e7eb" stroke-width="1"/>`);
    parts.push(`<line x1="${f(fr.left - 4)}" x2="${f(fr.left)}" y1="${f(py)}" y2="${f(py)}" stroke="#333" stroke-width="1"/>`);
    parts.push(`<text x="${f(fr.left - 7)}" y="${f(py)}" text-anchor="end" dominant-baseline="middle" fill="#333">${escapeHtml(labels[i] as string)}</text>`);
  });
  parts.push(`<line x1="${f(fr.left)}" x2="${f(fr.left)}" y1="${f(fr.top)}" y2="${f(fr.bottom)}" stroke="#333" stroke-width="1"/>`);
  if (yLabel !== undefined) {
    const cy = (fr.top + fr.bottom) / 2;
    const lx = Math.max(14, fr.left - 7 - Math.max(1, ...labels.map((l) => l.length)) * CHAR_W - 10);
    parts.push(`<text x="${f(lx)}" y="${f(cy)}" text-anchor="middle" transform="rotate(-90 ${f(lx)} ${f(cy)})" fill="#111">${escapeHtml(yLabel)}</text>`);
  }
  parts.push('</g>');
  return parts.join('');
}

function noData(fr: Frame): string {
  return `<text x="${f((fr.left + fr.right) / 2)}" y="${f((fr.top + fr.bottom) / 2)}" text-anchor="middle" dominant-baseline="middle" fill="#888">no data</text>`;
}

/** A stable id for a clip path: identical charts share it harmlessly, different charts on one page do not collide. */
function clipId(o: unknown): string {
  return `eccvkit-clip-${createHash('sha1').update(JSON.stringify(o) ?? '').digest('hex').slice(0, 12)}`;
}

function truncate(s: string, maxChars: number): string {
  return s.length <= maxChars ? s : `${s.slice(0, Math.max(1, maxChars - 1))}…`;
}

/** Shortens `s` to `maxChars` by cutting its middle, so labels that differ only at the end stay distinct. */
function truncateMiddle(s: string, maxChars: number): string {
  if (s.length <= maxChars) return s;
  const head = Math.max(1, Math.ceil((maxChars - 1) * 0.6));
  const tail = Math.max(0, maxChars - 1 - head);
  return `${s.slice(0, head)}…${tail ? s.slice(-tail) : ''}`;
}

/**
 * A line chart as an SVG string: axes with nice 1-2-5 ticks (or decades on a
 * log axis) and light gridlines, one coloured line per series (dashed when
 * asked), a legend on the right, optional title and axis labels.
 *
 * Points with a non-finite coordinate (and, with `logY`, y ≤ 0) are skipped
 * and break the line; an isolated point is drawn as a dot. Empty series still
 * get a legend entry (and an empty path). Constant data gets a widened axis.
 * `yRange` fixes the y axis (lines are clipped to it); otherwise it is fitted
 * to the data and widened to whole ticks.
 *
 * @param o.width default 640 px; `o.height` default 360 px
 * @throws {@link EccvkitInputError} for malformed series, a bad size or a `yRange` that is not increasing (or not positive with `logY`)
 */
export function lineChartSvg(o: {
  title?: string;
  xLabel?: string;
  yLabel?: string;
  series: Series[];
  width?: number;
  height?: number;
  logY?: boolean;
  yRange?: [number, number];
}): string {
  checkSeries(o?.series);
  const width = checkSize(o.width, 640, 'width', 160);
  const height = checkSize(o.height, 360, 'height', 120);
  const logY = o.logY === true;
  if (o.yRange !== undefined) {
    const [a, b] = o.yRange;
    check(Number.isFinite(a) && Number.isFinite(b) && a < b && (!logY || a > 0), 'yRange', o.yRange, logY ? 'positive finite [lo, hi] with lo < hi' : 'finite [lo, hi] with lo < hi');
  }

  const valid = (p: [number, number]): boolean => Number.isFinite(p[0]) && Number.isFinite(p[1]) && (!logY || p[1] > 0);
  let xlo = Infinity;
  let xhi = -Infinity;
  let ylo = Infinity;
  let yhi = -Infinity;
  for (const s of o.series) {
    for (const p of s.points) {
      if (!valid(p)) continue;
      xlo = Math.min(xlo, p[0]);
      xhi = Math.max(xhi, p[0]);
      ylo = Math.min(ylo, p[1]);
      yhi = Math.max(yhi, p[1]);
    }
  }
  const hasData = xlo <= xhi;
  if (!hasData) {
    xlo = 0;
    xhi = 1;
    [ylo, yhi] = logY ? [1, 10] : [0, 1];
  }

  // vertical frame first: the number of y ticks follows the plot's height
  const top = 12 + (o.title !== undefined ? 22 : 0);
  const bottom = height - 26 - (o.xLabel !== undefined ? 18 : 0);
  const yTarget = Math.max(2, Math.min(8, Math.floor((bottom - top) / 60)));

  // y ticks and domain
  let yTicks: number[];
  let yDomain: [number, number];
  if (o.yRange !== undefined) {
    yDomain = [o.yRange[0], o.yRange[1]];
    const eps = (yDomain[1] - yDomain[0]) * 1e-9;
    const all = logY ? logTicks(yDomain[0], yDomain[1]) : niceTicks(yDomain[0], yDomain[1], yTarget);
    yTicks = all.filter((t) => t >= yDomain[0] - eps * (logY ? t : 1) && t <= yDomain[1] + eps * (logY ? t : 1));
  } else {
    yTicks = logY ? logTicks(ylo, yhi) : niceTicks(ylo, yhi, yTarget);
    yDomain = [yTicks[0] as number, yTicks[yTicks.length - 1] as number];
  }
  const yStep = yTicks.length > 1 ? (yTicks[1] as number) - (yTicks[0] as number) : 1;
  const yLabels = yTicks.map((t) => formatTick(t, logY ? t : yStep));

  // horizontal frame
  const maxYLabel = Math.max(1, ...yLabels.map((l) => l.length));
  const left = 10 + maxYLabel * CHAR_W + 8 + (o.yLabel !== undefined ? 18 : 0);
  const maxName = Math.max(0, ...o.series.map((s) => s.name.length));
  const legendW = o.series.length ? Math.min(width * 0.35, 34 + maxName * CHAR_W) : 0;
  const fr: Frame = { width, height, left, right: width - (legendW ? legendW + 12 : 16), top, bottom };
  check(fr.right - fr.left >= 40 && fr.bottom - fr.top >= 40, 'width/height', [width, height], 'a size leaving room for the plot (try a larger width or height)');

  // x ticks and domain
  const xTicks = niceTicks(xlo, xhi, Math.max(2, Math.floor((fr.right - fr.left) / 90)));
  const xDomain: [number, number] = [xTicks[0] as number, xTicks[xTicks.length - 1] as number];
  const xStep = xTicks.length > 1 ? (xTicks[1] as number) - (xTicks[0] as number) : 1;

  const ty = (v: number): number => (logY ? Math.log10(v) : v);
  const x = (v: number): number => fr.left + ((v - xDomain[0]) / (xDomain[1] - xDomain[0])) * (fr.right - fr.left);
  const y = (v: number): number => fr.bottom - ((ty(v) - ty(yDomain[0])) / (ty(yDomain[1]) - ty(yDomain[0]))) * (fr.bottom - fr.top);

  const parts: string[] = [svgOpen(width, height, o.title), titleText(fr, o.title)];
  parts.push(yAxis(fr, yTicks, yLabels, y, o.yLabel));
  // x axis
  parts.push('<g class="x-axis">');
  for (const t of xTicks) {
    const px = x(t);
    parts.push(`<line x1="${f(px)}" x2="${f(px)}" y1="${f(fr.top)}" y2="${f(fr.bottom)}" stroke="#e5e7eb" stroke-width="1"/>`);
    parts.push(`<line x1="${f(px)}" x2="${f(px)}" y1="${f(fr.bottom)}" y2="${f(fr.bottom + 4)}" stroke="#333" stroke-width="1"/>`);
    parts.push(`<text x="${f(px)}" y="${f(fr.bottom + 16)}" text-anchor="middle" fill="#333">${escapeHtml(formatTick(t, xStep))}</text>`);
  }
  parts.push(`<line x1="${f(fr.left)}" x2="${f(fr.right)}" y1="${f(fr.bottom)}" y2="${f(fr.bottom)}" stroke="#333" stroke-width="1"/>`);
  if (o.xLabel !== undefined) {
    parts.push(`<text x="${f((fr.left + fr.right) / 2)}" y="${f(height - 8)}" text-anchor="middle" fill="#111">${escapeHtml(o.xLabel)}</text>`);
  }
  parts.push('</g>');

  // series
  const id = clipId(o);
  // A few pixels of slack so dots and line widths on the plot's edge are not cut in half.
  const slack = 4;
  parts.push(
    `<defs><clipPath id="${id}"><rect x="${f(fr.left - slack)}" y="${f(fr.top - slack)}" width="${f(fr.right - fr.left + 2 * slack)}" height="${f(fr.bottom - fr.top + 2 * slack)}"/></clipPath></defs>`,
  );
  parts.push(`<g class="series" clip-path="url(#${id})" fill="none" stroke-width="2" stroke-linejoin="round" stroke-linecap="round">`);
  o.series.forEach((s, i) => {
    const color = seriesColor(i);
    const d: string[] = [];
    const dots: string[] = [];
    let run: Array<[number, number]> = [];
    const flush = (): void => {
      if (run.length === 1) {
        const [px, py] = run[0] as [number, number];
        dots.push(`<circle cx="${f(px)}" cy="${f(py)}" r="3" fill="${color}" stroke="none"/>`);
      }
      if (run.length >= 1) d.push(run.map(([px, py], k) => `${k === 0 ? 'M' : 'L'}${f(px)} ${f(py)}`).join(''));
      run = [];
    };
    for (const p of s.points) {
      if (valid(p)) run.push([x(p[0]), y(p[1])]);
      else flush();
    }
    flush();
    const dash = s.dashed ? ' stroke-dasharray="6 4"' : '';
    parts.push(`<path class="line" data-series="${escapeHtml(s.name)}" d="${d.join('')}" stroke="${color}"${dash}/>`);
    parts.push(...dots);
  });
  parts.push('</g>');
  if (!hasData) parts.push(noData(fr));

  // legend
  if (o.series.length) {
    const lx = fr.right + 12;
    const maxChars = Math.max(3, Math.floor((legendW - 34) / CHAR_W));
    parts.push('<g class="legend">');
    o.series.forEach((s, i) => {
      const ly = fr.top + 8 + i * 16;
      const dash = s.dashed ? ' stroke-dasharray="6 4"' : '';
      parts.push(
        `<g><title>${escapeHtml(s.name)}</title>` +
          `<line x1="${f(lx)}" x2="${f(lx + 22)}" y1="${f(ly)}" y2="${f(ly)}" stroke="${seriesColor(i)}" stroke-width="2"${dash}/>` +
          `<text x="${f(lx + 28)}" y="${f(ly)}" dominant-baseline="middle" fill="#111">${escapeHtml(truncate(s.name, maxChars))}</text></g>`,
      );
    });
    parts.push('</g>');
  }
  parts.push('</svg>');
  return parts.join('');
}

/**
 * A bar chart as an SVG string: one coloured bar per entry from a zero
 * baseline (negative values go down), optional confidence-interval whiskers
 * (`error: [low, high]`, absolute values), the value printed on each bar, nice
 * 1-2-5 ticks, labels under the bars (slanted when they do not fit). A bar
 * whose value is NaN is left empty.
 *
 * @param o.width default 640 px; `o.height` default 360 px
 * @throws {@link EccvkitInputError} for a non-string label, a non-number value or an interval that is not finite `[low ≤ high]`
 */
export function barChartSvg(o: {
  title?: string;
  yLabel?: string;
  bars: Array<{ label: string; value: number; error?: [number, number] }>;
  width?: number;
  height?: number;
}): string {
  check(o !== null && typeof o === 'object' && Array.isArray(o.bars), 'bars', o?.bars, 'an array of { label, value, error? }');
  const width = checkSize(o.width, 640, 'width', 160);
  const height = checkSize(o.height, 360, 'height', 120);
  o.bars.forEach((b, i) => {
    check(b !== null && typeof b === 'object' && typeof b.label === 'string', `bars[${i}].label`, b?.label, 'a string');
    check(typeof b.value === 'number' && (Number.isFinite(b.value) || Number.isNaN(b.value)), `bars[${i}].value`, b.value, 'a finite number (or NaN for a missing bar)');
    if (b.error !== undefined) {
      const e = b.error;
      if (!(Array.isArray(e) && e.length === 2 && Number.isFinite(e[0]) && Number.isFinite(e[1]) && e[0] <= e[1])) {
        throw new EccvkitInputError(`bars[${i}].error`, e, 'finite [low, high] with low ≤ high');
      }
    }
  });

  let lo = 0;
  let hi = 0;
  for (const b of o.bars) {
    for (const v of [b.value, ...(b.error ?? [])]) {
      if (!Number.isFinite(v)) continue;
      lo = Math.min(lo, v);
      hi = Math.max(hi, v);
    }
  }
  if (lo === hi) hi = lo + 1;

  // Labels slant when they do not fit under their bar (judged with a typical 60 px left margin).
  const n = o.bars.length;
  const right = width - 16;
  const maxLabel = Math.max(0, ...o.bars.map((b) => b.label.length));
  const slanted = n > 0 && maxLabel * CHAR_W > (right - 60) / n - 6;
  const [cos, sin] = [Math.cos((SLANT * Math.PI) / 180), Math.sin((SLANT * Math.PI) / 180)];
  const labelDepth = slanted ? Math.min(height * 0.3, maxLabel * CHAR_W * sin + 12) : 0;
  const top = 12 + (o.title !== undefined ? 22 : 0);
  const bottom = height - 24 - labelDepth;

  const ticks = niceTicks(lo, hi, Math.max(2, Math.min(8, Math.floor((bottom - top) / 60))));
  const step = ticks.length > 1 ? (ticks[1] as number) - (ticks[0] as number) : 1;
  const labels = ticks.map((t) => formatTick(t, step));
  const domain: [number, number] = [ticks[0] as number, ticks[ticks.length - 1] as number];

  const maxYLabel = Math.max(1, ...labels.map((l) => l.length));
  let left = 10 + maxYLabel * CHAR_W + 8 + (o.yLabel !== undefined ? 18 : 0);
  let slot = n ? (right - left) / n : right - left;
  if (slanted) {
    // The first slanted label reaches left of its bar: widen the left margin a little (up to 20% of the width).
    const need = Math.min(width * 0.2, maxLabel * CHAR_W * cos - slot / 2 + 4);
    if (need > left) {
      left = need;
      slot = (right - left) / n;
    }
  }
  /** How many characters of bar `i`'s label fit (slanted: within the left edge and the label band). */
  const labelChars = (i: number): number =>
    slanted ? Math.max(3, Math.floor(Math.min((left + slot * (i + 0.5) - 4) / cos, (labelDepth - 8) / sin) / CHAR_W)) : Infinity;
  const fr: Frame = { width, height, left, right, top, bottom };
  check(fr.right - fr.left >= 40 && fr.bottom - fr.top >= 40, 'width/height', [width, height], 'a size leaving room for the plot (try a larger width or height)');
  const y = (v: number): number => fr.bottom - ((v - domain[0]) / (domain[1] - domain[0])) * (fr.bottom - fr.top);

  const parts: string[] = [svgOpen(width, height, o.title), titleText(fr, o.title)];
  parts.push(yAxis(fr, ticks, labels, y, o.yLabel));
  const y0 = y(0);
  parts.push(`<line x1="${f(fr.left)}" x2="${f(fr.right)}" y1="${f(y0)}" y2="${f(y0)}" stroke="#333" stroke-width="1"/>`);
  if (n === 0) parts.push(noData(fr));
  const barW = Math.min(slot * 0.6, 90);
  parts.push('<g class="bars">');
  o.bars.forEach((b, i) => {
    const cx = fr.left + slot * (i + 0.5);
    const color = seriesColor(i);
    parts.push(`<g><title>${escapeHtml(`${b.label}: ${formatNumber(b.value)}${b.error ? ` [${formatNumber(b.error[0])}, ${formatNumber(b.error[1])}]` : ''}`)}</title>`);
    if (Number.isFinite(b.value)) {
      const yv = y(b.value);
      parts.push(`<rect x="${f(cx - barW / 2)}" y="${f(Math.min(yv, y0))}" width="${f(barW)}" height="${f(Math.abs(y0 - yv))}" fill="${color}" fill-opacity="0.85"/>`);
      // Above the bar (and its whisker); for a negative bar, above the zero line so it never meets the category label.
      const ty = b.value >= 0 ? Math.min(b.error ? y(b.error[1]) : yv, yv) - 5 : Math.min(y0, b.error ? y(b.error[1]) : y0) - 5;
      parts.push(`<text x="${f(cx)}" y="${f(ty)}" text-anchor="middle" fill="#111">${escapeHtml(shortNumber(b.value))}</text>`);
    } else {
      parts.push(`<text x="${f(cx)}" y="${f(y0 - 5)}" text-anchor="middle" fill="#888">n/a</text>`);
    }
    if (b.error) {
      const [ya, yb] = [y(b.error[0]), y(b.error[1])];
      const cap = Math.min(barW * 0.3, 8);
      parts.push(
        `<path d="M${f(cx)} ${f(ya)}L${f(cx)} ${f(yb)}M${f(cx - cap)} ${f(ya)}L${f(cx + cap)} ${f(ya)}M${f(cx - cap)} ${f(yb)}L${f(cx + cap)} ${f(yb)}" stroke="#111" stroke-width="1.5" fill="none"/>`,
      );
    }
    const ly = fr.bottom + 14;
    if (slanted) {
      parts.push(`<text x="${f(cx)}" y="${f(ly)}" text-anchor="end" transform="rotate(-${SLANT} ${f(cx)} ${f(ly)})" fill="#333">${escapeHtml(truncateMiddle(b.label, labelChars(i)))}</text>`);
    } else {
      parts.push(`<text x="${f(cx)}" y="${f(ly)}" text-anchor="middle" fill="#333">${escapeHtml(b.label)}</text>`);
    }
    parts.push('</g>');
  });
  parts.push('</g></svg>');
  return parts.join('');
}

/** One set of points of a {@link scatterChartSvg}: dots, or a line through them in x order when `line`. */
export interface ScatterSeries {
  name: string;
  points: Array<[number, number]>;
  /** Draw a stepless line through the points (e.g. a best-so-far curve) instead of dots. */
  line?: boolean;
}

/**
 * A scatter chart as an SVG string: dots per series (or a line, for series
 * with `line`), nice 1-2-5 ticks on both axes, or decades on a logarithmic x
 * axis (`logX`, for log-scaled hyperparameters), a legend on the right. Made
 * for hyperparameter studies: the value of each trial against its number or
 * against one parameter. Points with a non-finite coordinate (or x ≤ 0 with
 * `logX`) are skipped.
 *
 * @param o.width default 480 px; `o.height` default 300 px
 * @throws {@link EccvkitInputError} for malformed series or a bad size
 */
export function scatterChartSvg(o: { title?: string; xLabel?: string; yLabel?: string; series: ScatterSeries[]; logX?: boolean; width?: number; height?: number }): string {
  checkSeries(o?.series);
  const width = checkSize(o.width, 480, 'width', 160);
  const height = checkSize(o.height, 300, 'height', 120);
  const logX = o.logX === true;
  const valid = (p: [number, number]): boolean => Number.isFinite(p[0]) && Number.isFinite(p[1]) && (!logX || p[0] > 0);
  let [xlo, xhi, ylo, yhi] = [Infinity, -Infinity, Infinity, -Infinity];
  for (const s of o.series) {
    for (const p of s.points) {
      if (!valid(p)) continue;
      [xlo, xhi, ylo, yhi] = [Math.min(xlo, p[0]), Math.max(xhi, p[0]), Math.min(ylo, p[1]), Math.max(yhi, p[1])];
    }
  }
  const hasData = xlo <= xhi;
  if (!hasData) [xlo, xhi, ylo, yhi] = logX ? [1, 10, 0, 1] : [0, 1, 0, 1];
  const top = 12 + (o.title !== undefined ? 22 : 0);
  const bottom = height - 26 - (o.xLabel !== undefined ? 18 : 0);
  const yTicks = niceTicks(ylo, yhi, Math.max(2, Math.min(8, Math.floor((bottom - top) / 60))));
  const yDomain: [number, number] = [yTicks[0] as number, yTicks[yTicks.length - 1] as number];
  const yStep = yTicks.length > 1 ? (yTicks[1] as number) - (yTicks[0] as number) : 1;
  const yLabels = yTicks.map((t) => formatTick(t, yStep));
  const left = 10 + Math.max(1, ...yLabels.map((l) => l.length)) * CHAR_W + 8 + (o.yLabel !== undefined ? 18 : 0);
  const maxName = Math.max(0, ...o.series.map((s) => s.name.length));
  const legendW = o.series.length ? Math.min(width * 0.35, 34 + maxName * CHAR_W) : 0;
  const fr: Frame = { width, height, left, right: width - (legendW ? legendW + 12 : 16), top, bottom };
  check(fr.right - fr.left >= 40 && fr.bottom - fr.top >= 40, 'width/height', [width, height], 'a size leaving room for the plot (try a larger width or height)');
  const xTicks = logX ? logTicks(xlo, xhi) : niceTicks(xlo, xhi, Math.max(2, Math.floor((fr.right - fr.left) / 90)));
  const xDomain: [number, number] = [xTicks[0] as number, xTicks[xTicks.length - 1] as number];
  const xStep = xTicks.length > 1 ? (xTicks[1] as number) - (xTicks[0] as number) : 1;
  const tx = (v: number): number => (logX ? Math.log10(v) : v);
  const x = (v: number): number => fr.left + ((tx(v) - tx(xDomain[0])) / (tx(xDomain[1]) - tx(xDomain[0]))) * (fr.right - fr.left);
  const y = (v: number): number => fr.bottom - ((v - yDomain[0]) / (yDomain[1] - yDomain[0])) * (fr.bottom - fr.top);

  const parts: string[] = [svgOpen(width, height, o.title), titleText(fr, o.title), yAxis(fr, yTicks, yLabels, y, o.yLabel), '<g class="x-axis">'];
  for (const t of xTicks) {
    const px = x(t);
    parts.push(`<line x1="${f(px)}" x2="${f(px)}" y1="${f(fr.top)}" y2="${f(fr.bottom)}" stroke="#e5e7eb" stroke-width="1"/>`);
    parts.push(`<text x="${f(px)}" y="${f(fr.bottom + 16)}" text-anchor="middle" fill="#333">${escapeHtml(formatTick(t, logX ? t : xStep))}</text>`);
  }
  parts.push(`<line x1="${f(fr.left)}" x2="${f(fr.right)}" y1="${f(fr.bottom)}" y2="${f(fr.bottom)}" stroke="#333" stroke-width="1"/>`);
  if (o.xLabel !== undefined) parts.push(`<text x="${f((fr.left + fr.right) / 2)}" y="${f(height - 8)}" text-anchor="middle" fill="#111">${escapeHtml(o.xLabel)}</text>`);
  parts.push('</g>', '<g class="series">');
  o.series.forEach((s, i) => {
    const color = seriesColor(i);
    const pts = s.points.filter(valid);
    if (s.line) {
      const sorted = [...pts].sort((a, b) => a[0] - b[0]);
      const d = sorted.map(([px, py], k) => `${k === 0 ? 'M' : 'L'}${f(x(px))} ${f(y(py))}`).join('');
      parts.push(`<path class="line" data-series="${escapeHtml(s.name)}" d="${d}" stroke="${color}" stroke-width="2" fill="none"/>`);
    } else {
      for (const [px, py] of pts) parts.push(`<circle class="dot" cx="${f(x(px))}" cy="${f(y(py))}" r="3.5" fill="${color}" fill-opacity="0.75"><title>${escapeHtml(`${s.name}: (${formatNumber(px)}, ${formatNumber(py)})`)}</title></circle>`);
    }
  });
  parts.push('</g>');
  if (!hasData) parts.push(noData(fr));
  if (o.series.length) {
    const lx = fr.right + 12;
    const maxChars = Math.max(3, Math.floor((legendW - 34) / CHAR_W));
    parts.push('<g class="legend">');
    o.series.forEach((s, i) => {
      const ly = fr.top + 8 + i * 16;
      const mark = s.line
        ? `<line x1="${f(lx)}" x2="${f(lx + 22)}" y1="${f(ly)}" y2="${f(ly)}" stroke="${seriesColor(i)}" stroke-width="2"/>`
        : `<circle cx="${f(lx + 11)}" cy="${f(ly)}" r="3.5" fill="${seriesColor(i)}"/>`;
      parts.push(`<g><title>${escapeHtml(s.name)}</title>${mark}<text x="${f(lx + 28)}" y="${f(ly)}" dominant-baseline="middle" fill="#111">${escapeHtml(truncate(s.name, maxChars))}</text></g>`);
    });
    parts.push('</g>');
  }
  parts.push('</svg>');
  return parts.join('');
}
