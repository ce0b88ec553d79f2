import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { PNG } from 'pngjs';
import { EccvkitInputError } from '../../src/errors.js';
import {
  GRID_PAD_GRAY,
  barChartSvg,
  escapeHtml,
  formatNumber,
  htmlTable,
  imageGridPng,
  lineChartSvg,
  logTicks,
  niceTicks,
  pngDataUri,
  renderReportPage,
  writeReport,
} from '../../src/report/index.js';

/**
 * Checks that every start tag is closed in order (self-closing tags count as
 * closed) and returns the tag names seen, in order. Enough to catch an
 * unbalanced or truncated SVG without an XML parser.
 */
function balancedTags(xml: string): string[] {
  const stack: string[] = [];
  const seen: string[] = [];
  const stripped = xml.replace(/<!--[\s\S]*?-->/g, '');
  for (const m of stripped.matchAll(/<(\/?)([A-Za-z][\w:-]*)((?:[^>"']|"[^"]*"|'[^']*')*?)(\/?)>/g)) {
    const [, close, name, , selfClose] = m as unknown as [string, string, string, string, string];
    if (close) {
      assert.equal(stack.pop(), name, `closing </${name}> does not match`);
    } else {
      seen.push(name);
      if (!selfClose) stack.push(name);
    }
  }
  assert.deepEqual(stack, [], 'unclosed tags');
  // No stray markup characters outside tags and entities.
  const text = stripped.replace(/<(?:[^>"']|"[^"]*"|'[^']*')*>/g, '');
  assert.doesNotMatch(text, /[<>]/, 'stray < or > in text');
  assert.doesNotMatch(text, /&(?!(?:amp|lt|gt|quot|#39);)/, 'unescaped & in text');
  return seen;
}

/** Tick labels of an axis group (`x-axis` or `y-axis`) of a chart. */
function tickLabels(svg: string, axis: 'x-axis' | 'y-axis'): string[] {
  const group = svg.match(new RegExp(`<g class="${axis}">([\\s\\S]*?)</g>`))?.[1] ?? '';
  return [...group.matchAll(/<text[^>]*fill="#333">([^<]*)<\/text>/g)].map((m) => m[1] as string);
}

describe('escapeHtml and htmlTable', () => {
  it('escapes the five HTML metacharacters', () => {
    assert.equal(escapeHtml(`<&>"'`), '&lt;&amp;&gt;&quot;&#39;');
    assert.equal(escapeHtml('plain text'), 'plain text');
  });

  it('formats numbers with 4 significant digits by default', () => {
    assert.equal(formatNumber(0.123456), '0.1235');
    assert.equal(formatNumber(3.14159), '3.142');
    assert.equal(formatNumber(12345), '12345');
    assert.equal(formatNumber(12345.678), '12346');
    assert.equal(formatNumber(0.5), '0.5000');
    assert.equal(formatNumber(0.000123456), '1.235e-4');
    assert.equal(formatNumber(-0), '0');
    assert.equal(formatNumber(NaN), 'NaN');
    assert.equal(formatNumber(-Infinity), '−∞');
    assert.equal(formatNumber(2 / 3, 2), '0.67');
  });

  it('builds a table with escaped text, formatted numbers and dashes for null', () => {
    const html = htmlTable({
      columns: ['method', 'acc <%>'],
      rows: [
        ['a<b & "c"', 0.987654],
        ['d', null],
      ],
      caption: 'Table 1 & 2',
      digits: 3,
    });
    balancedTags(html);
    assert.match(html, /<caption>Table 1 &amp; 2<\/caption>/);
    assert.match(html, /<th scope="col">acc &lt;%&gt;<\/th>/);
    assert.match(html, /<td>a&lt;b &amp; &quot;c&quot;<\/td><td class="num">0\.988<\/td>/);
    assert.match(html, /<td>d<\/td><td class="empty">—<\/td>/);
    assert.throws(() => htmlTable({ columns: ['a', 'b'], rows: [[1]] }), EccvkitInputError);
  });
});

describe('ticks', () => {
  it('picks 1-2-5 steps and widens to whole steps', () => {
    assert.deepEqual(niceTicks(0, 0.97), [0, 0.2, 0.4, 0.6, 0.8, 1]);
    assert.deepEqual(niceTicks(-13, 87), [-20, 0, 20, 40, 60, 80, 100]);
    assert.deepEqual(niceTicks(0, 1000, 4), [0, 200, 400, 600, 800, 1000]);
    assert.deepEqual(niceTicks(0.1, 0.3, 4), [0.1, 0.15, 0.2, 0.25, 0.3]);
    // A constant 5 is widened to [4.5, 5.5]: width 1 / 5 → step 0.2, from 0.2·⌊4.5/0.2⌋ to 0.2·⌈5.5/0.2⌉.
    assert.deepEqual(niceTicks(5, 5), [4.4, 4.6, 4.8, 5, 5.2, 5.4, 5.6]);
    assert.throws(() => niceTicks(1, 0), EccvkitInputError);
  });

  it('puts log ticks on decades, with 2 and 5 for short ranges', () => {
    assert.deepEqual(logTicks(0.003, 0.8), [0.001, 0.01, 0.1, 1]);
    assert.deepEqual(logTicks(2, 40), [1, 2, 5, 10, 20, 50, 100]);
    assert.deepEqual(logTicks(10, 10), [10, 20, 50, 100]);
    assert.deepEqual(logTicks(1, 1e12), [1, 100, 1e4, 1e6, 1e8, 1e10, 1e12]);
    assert.throws(() => logTicks(0, 1), EccvkitInputError);
  });
});

describe('lineChartSvg', () => {
  const series = [
    { name: 'ours <RFS>', points: [[0, 0.1], [1, 0.5], [2, 0.97]] as Array<[number, number]> },
    { name: 'paper & "ref"', points: [[0, 0.2], [1, NaN], [2, 0.9]] as Array<[number, number]>, dashed: true },
    { name: 'single', points: [[1, 0.3]] as Array<[number, number]> },
    { name: 'empty', points: [] },
  ];
  const svg = lineChartSvg({ title: 'Acc vs step', xLabel: 'step', yLabel: 'accuracy', series });

  it('is a balanced SVG with one path per series and escaped legend names', () => {
    assert.ok(svg.startsWith('<svg '));
    assert.ok(svg.endsWith('</svg>'));
    const tags = balancedTags(svg);
    assert.equal(tags.filter((t) => t === 'path').length, 4);
    assert.ok(svg.includes('ours &lt;RFS&gt;'));
    assert.ok(svg.includes('paper &amp; &quot;ref&quot;'));
    assert.ok(!svg.includes('<RFS>'));
    assert.ok(svg.includes('stroke-dasharray'));
  });

  it('uses distinct colours per series', () => {
    const colours = [...svg.matchAll(/<path class="line"[^>]*stroke="([^"]+)"/g)].map((m) => m[1]);
    assert.equal(new Set(colours).size, 4);
  });

  it('has nice y ticks 0 … 1 for data in [0.1, 0.97] and x ticks over the steps', () => {
    assert.deepEqual(tickLabels(svg, 'y-axis'), ['0', '0.2', '0.4', '0.6', '0.8', '1.0']);
    assert.deepEqual(tickLabels(svg, 'x-axis').at(0), '0');
    assert.deepEqual(tickLabels(svg, 'x-axis').at(-1), '2.0');
  });

  it('breaks the line at NaN and draws an isolated point as a dot', () => {
    const d = [...svg.matchAll(/<path class="line"[^>]* d="([^"]*)"/g)].map((m) => m[1] as string);
    assert.equal((d[0]?.match(/M/g) ?? []).length, 1);
    assert.equal((d[1]?.match(/M/g) ?? []).length, 2, 'NaN splits the dashed series in two');
    assert.equal(d[3], '', 'empty series draws nothing');
    assert.equal((svg.match(/<circle/g) ?? []).length, 3, 'the two halves of the split series and the single point are dots');
  });

  it('uses decades on a log axis and skips non-positive values', () => {
    const log = lineChartSvg({ series: [{ name: 'loss', points: [[0, 0.8], [1, 0.05], [2, 0], [3, 0.003]] }], logY: true });
    balancedTags(log);
    assert.deepEqual(tickLabels(log, 'y-axis'), ['0.001', '0.01', '0.1', '1']);
  });

  it('handles constant values, a single point, no data and a fixed y range', () => {
    const constant = lineChartSvg({ series: [{ name: 'c', points: [[0, 2], [5, 2]] }] });
    balancedTags(constant);
    assert.ok(tickLabels(constant, 'y-axis').includes('2.0'));
    const one = lineChartSvg({ series: [{ name: 'p', points: [[3, 4]] }] });
    balancedTags(one);
    assert.match(one, /<circle/);
    const none = lineChartSvg({ series: [] });
    balancedTags(none);
    assert.match(none, /no data/);
    const fixed = lineChartSvg({ series: series.slice(0, 1), yRange: [0, 0.5] });
    assert.deepEqual(tickLabels(fixed, 'y-axis'), ['0', '0.1', '0.2', '0.3', '0.4', '0.5']);
    assert.match(fixed, /clip-path="url\(#eccvkit-clip-[0-9a-f]+\)"/);
    assert.throws(() => lineChartSvg({ series: [], yRange: [1, 1] }), EccvkitInputError);
  });
});

describe('barChartSvg', () => {
  it('draws bars, CI whiskers and escaped labels', () => {
    const svg = barChartSvg({
      title: 'Accuracy',
      yLabel: 'acc',
      bars: [
        { label: 'base<line>', value: 0.61, error: [0.58, 0.64] },
        { label: 'RFS', value: 0.79 },
        { label: 'missing', value: NaN },
      ],
    });
    assert.ok(svg.startsWith('<svg '));
    const tags = balancedTags(svg);
    assert.equal(tags.filter((t) => t === 'rect').length, 1 + 2, 'background + two bars');
    assert.equal(tags.filter((t) => t === 'path').length, 1, 'one whisker');
    assert.ok(svg.includes('base&lt;line&gt;'));
    assert.deepEqual(tickLabels(svg, 'y-axis'), ['0', '0.2', '0.4', '0.6', '0.8']);
    assert.throws(() => barChartSvg({ bars: [{ label: 'x', value: 1, error: [2, 1] }] }), EccvkitInputError);
  });

  it('slants long labels and keeps them distinct when shortened', () => {
    const bars = Array.from({ length: 9 }, (_, i) => ({ label: `a rather long method name number ${i}`, value: i }));
    const svg = barChartSvg({ bars, height: 240 });
    balancedTags(svg);
    assert.match(svg, /rotate\(-35 /);
    const shown = [...svg.matchAll(/<text[^>]*rotate\(-35[^>]*>([^<]*)<\/text>/g)].map((m) => m[1] as string);
    assert.equal(shown.length, 9);
    assert.equal(new Set(shown).size, 9);
    assert.ok(shown.every((l, i) => l.endsWith(String(i))));
  });
});

describe('imageGridPng', () => {
  it('tiles two images with padding and scaling, decodable by pngjs', () => {
    // Two 2×2 grayscale images: [0, 1; 0.5, 2 (clamped to 1)] and [1, 0; -1 (clamped to 0), 0.25].
    const images = Float32Array.from([0, 1, 0.5, 2, 1, 0, -1, 0.25]);
    const buf = imageGridPng(images, { count: 2, height: 2, width: 2, channels: 1, cols: 2, scale: 2, pad: 1 });
    const png = PNG.sync.read(buf);
    // width = 2 cols · (2 px · 2) + 3 pads = 11; height = 1 row · 4 + 2 pads = 6
    assert.equal(png.width, 11);
    assert.equal(png.height, 6);
    const px = (x: number, y: number): number[] => Array.from(png.data.subarray((y * png.width + x) * 4, (y * png.width + x) * 4 + 4));
    const g = (v: number): number[] => [v, v, v, 255];
    assert.deepEqual(px(0, 0), g(GRID_PAD_GRAY), 'border');
    assert.deepEqual(px(5, 3), g(GRID_PAD_GRAY), 'gap between the images');
    // image 0 starts at (1, 1); each source pixel is 2×2
    assert.deepEqual(px(1, 1), g(0));
    assert.deepEqual(px(2, 2), g(0));
    assert.deepEqual(px(3, 1), g(255));
    assert.deepEqual(px(1, 3), g(128)); // round(0.5 · 255) = 128
    assert.deepEqual(px(4, 4), g(255));
    // image 1 starts at (6, 1)
    assert.deepEqual(px(6, 1), g(255));
    assert.deepEqual(px(8, 1), g(0));
    assert.deepEqual(px(6, 3), g(0));
    assert.deepEqual(px(9, 4), g(64)); // round(0.25 · 255) = 64
  });

  it('writes RGB, fills unused cells gray and checks the length', () => {
    const rgb = Float32Array.from([1, 0, 0, 0, 1, 0, 0, 0, 1]); // three 1×1 RGB images
    const png = PNG.sync.read(imageGridPng(rgb, { count: 3, height: 1, width: 1, channels: 3, pad: 0 }));
    assert.equal(png.width, 2);
    assert.equal(png.height, 2);
    assert.deepEqual(Array.from(png.data), [255, 0, 0, 255, 0, 255, 0, 255, 0, 0, 255, 255, GRID_PAD_GRAY, GRID_PAD_GRAY, GRID_PAD_GRAY, 255]);
    assert.throws(() => imageGridPng(rgb, { count: 2, height: 1, width: 1, channels: 3 }), /images/);
    assert.throws(() => imageGridPng(rgb, { count: 3, height: 1, width: 1, channels: 3, scale: 1.5 }), /scale/);
  });

  it('makes a data URI of a PNG', () => {
    const buf = imageGridPng(new Float32Array(1), { count: 1, height: 1, width: 1, channels: 1 });
    const uri = pngDataUri(buf);
    assert.ok(uri.startsWith('data:image/png;base64,iVBORw0KGgo'));
    assert.deepEqual(Buffer.from(uri.split(',')[1] as string, 'base64'), buf);
    assert.throws(() => pngDataUri(new Uint8Array([1, 2, 3])), EccvkitInputError);
  });
});

describe('renderReportPage', () => {
  const sections = [
    { id: 'rfs', title: 'Rethinking few-shot <RFS>', html: `<p>claim</p>${lineChartSvg({ series: [{ name: 'a', points: [[0, 1], [1, 2]] }] })}` },
    { id: 'metric-learning', title: 'A metric learning reality check', html: htmlTable({ columns: ['x'], rows: [[1]] }) },
    { id: 'gc_optim', title: 'Gradient centralization', html: `<img src="${pngDataUri(imageGridPng(new Float32Array(4), { count: 1, height: 2, width: 2, channels: 1 }))}" alt="grid">` },
  ];
  const page = renderReportPage({ title: 'eccvkit & ECCV 2020', subtitle: 'seven results', generatedAt: '2024-01-02T03:04:05Z', sections });

  it('is a full HTML5 document with a table of contents linking every section', () => {
    assert.ok(page.startsWith('<!DOCTYPE html>\n<html lang="en">'));
    assert.match(page, /<meta charset="utf-8">/);
    assert.match(page, /<title>eccvkit &amp; ECCV 2020<\/title>/);
    assert.match(page, /<style>[\s\S]*@media print[\s\S]*<\/style>/);
    const toc = page.match(/<nav class="toc"[\s\S]*?<\/nav>/)?.[0] ?? '';
    for (const s of sections) {
      assert.ok(toc.includes(`<a href="#${s.id}">`), `TOC links ${s.id}`);
      assert.ok(page.includes(`<section id="${s.id}">`), `section ${s.id}`);
    }
    assert.ok(toc.includes('Rethinking few-shot &lt;RFS&gt;'));
    assert.ok(page.includes('2024-01-02T03:04:05Z'));
  });

  it('references no external resources', () => {
    assert.doesNotMatch(page, /<script/i);
    assert.doesNotMatch(page, /<link/i);
    assert.doesNotMatch(page, /(?:src|href)\s*=\s*["']?\s*(?:https?:)?\/\//i);
    assert.doesNotMatch(page, /url\(\s*["']?\s*(?:https?:)?\/\//i);
    assert.doesNotMatch(page, /@import|@font-face/i);
    // Apart from the SVG namespace name (an identifier, not fetched), no http(s) URL at all.
    assert.doesNotMatch(page.replaceAll('xmlns="http://www.w3.org/2000/svg"', ''), /https?:\/\//);
  });

  it('rejects duplicate or invalid section ids', () => {
    assert.throws(() => renderReportPage({ title: 't', generatedAt: 'now', sections: [sections[0]!, sections[0]!] }), /not used by another section/);
    assert.throws(() => renderReportPage({ title: 't', generatedAt: 'now', sections: [{ id: 'a b', title: 'x', html: '' }] }), EccvkitInputError);
  });

  it('writes the page atomically', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'eccvkit-report-'));
    try {
      const file = path.join(dir, 'sub', 'report.html');
      writeReport(file, page);
      assert.equal(fs.readFileSync(file, 'utf8'), page);
      assert.deepEqual(fs.readdirSync(path.dirname(file)), ['report.html'], 'no temporary file left');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
