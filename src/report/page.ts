/**
 * The report page: one self-contained HTML5 file (inline CSS, inline SVG, PNGs
 * as data URIs), readable on screen and on paper, with no scripts and nothing
 * fetched from the network.
 */
import { check } from '../errors.js';
import { writeFileAtomic } from '../node/fs.js';
import { escapeHtml } from './html.js';

/** One section of the report (one paper): its anchor id, heading and trusted inner HTML. */
export interface ReportSection {
  /** Anchor id: a letter, then letters, digits, `-` or `_`; unique in the page. */
  id: string;
  title: string;
  /** Inner HTML, inserted as is (build it from {@link escapeHtml}, {@link htmlTable}, the chart helpers). */
  html: string;
}

const SECTION_ID = /^[A-Za-z][A-Za-z0-9_-]*$/;

const CSS = `
:root { color-scheme: light; --fg: #1a1a1a; --muted: #5b6270; --line: #d9dce1; --accent: #1f5fa8; --bg-soft: #f5f6f8; }
* { box-sizing: border-box; }
html { background: #fff; color: var(--fg); }
body { margin: 0 auto; max-width: 1040px; padding: 2rem 1.5rem 4rem; font: 16px/1.55 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
header { border-bottom: 2px solid var(--line); margin-bottom: 1.5rem; padding-bottom: 1rem; }
h1 { font-size: 1.9rem; line-height: 1.2; margin: 0 0 .3rem; }
h2 { font-size: 1.45rem; margin: 2.5rem 0 .8rem; padding-top: .5rem; border-top: 1px solid var(--line); }
h3 { font-size: 1.15rem; margin: 1.6rem 0 .5rem; }
.subtitle { color: var(--muted); font-size: 1.05rem; margin: 0; }
.generated { color: var(--muted); font-size: .85rem; margin: .4rem 0 0; }
a { color: var(--accent); }
nav.toc { background: var(--bg-soft); border: 1px solid var(--line); border-radius: 6px; padding: .8rem 1.2rem; margin-bottom: 2rem; }
nav.toc h2 { font-size: 1rem; margin: 0 0 .4rem; padding: 0; border: 0; }
nav.toc ol { margin: 0; padding-left: 1.4rem; }
nav.toc li { margin: .15rem 0; }
table { border-collapse: collapse; margin: 1rem 0; font-size: .92rem; font-variant-numeric: tabular-nums; }
caption { caption-side: top; text-align: left; color: var(--muted); font-size: .9rem; padding-bottom: .35rem; }
th, td { border-bottom: 1px solid var(--line); padding: .3rem .75rem; text-align: left; vertical-align: top; }
th { background: var(--bg-soft); font-weight: 600; border-bottom: 2px solid var(--line); }
td.num { text-align: right; white-space: nowrap; }
td.empty { color: var(--muted); text-align: center; }
figure { margin: 1.2rem 0; }
figcaption { color: var(--muted); font-size: .9rem; margin-top: .3rem; }
svg, img { max-width: 100%; height: auto; }
img.grid { image-rendering: pixelated; border: 1px solid var(--line); }
.claim { border-left: 4px solid var(--accent); background: var(--bg-soft); padding: .6rem 1rem; margin: 1rem 0; }
.side-by-side { display: flex; flex-wrap: wrap; gap: 1.5rem; align-items: flex-start; }
.side-by-side > * { flex: 1 1 320px; min-width: 0; }
code, pre { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace; font-size: .88em; }
pre { background: var(--bg-soft); padding: .7rem 1rem; overflow-x: auto; border-radius: 4px; }
.lead { margin-bottom: 2rem; }
.lead h2 { border-top: 0; margin-top: 0; padding-top: 0; }
table.dashboard { width: 100%; font-size: .88rem; }
table.dashboard td { vertical-align: middle; }
.badge { display: inline-block; padding: .1rem .55rem; border-radius: 999px; font-size: .8rem; font-weight: 600; white-space: nowrap; border: 1px solid transparent; }
.badge-reproduced { background: #dcfce7; color: #14532d; border-color: #86efac; }
.badge-partly { background: #fef3c7; color: #78350f; border-color: #fcd34d; }
.badge-not-reproduced { background: #fee2e2; color: #7f1d1d; border-color: #fca5a5; }
.badge-pipeline-check-only { background: #e0e7ff; color: #312e81; border-color: #a5b4fc; }
.badge-not-run { background: #f3f4f6; color: #374151; border-color: #d1d5db; }
.verdict-line { margin: .6rem 0; }
ul.findings { margin: .5rem 0; padding-left: 1.3rem; }
ul.findings li { margin: .2rem 0; }
details { margin: .5rem 0 1rem; }
details > summary { cursor: pointer; color: var(--muted); }
@media print {
  body { max-width: none; padding: 0; font-size: 11pt; }
  nav.toc { break-after: page; }
  section { break-before: page; }
  h2, h3 { break-after: avoid; }
  figure, table, svg, img, .claim { break-inside: avoid; }
  a { color: inherit; text-decoration: none; }
}
`;

/**
 * A complete HTML5 document: title, optional subtitle, generation time, an
 * optional `lead` section (the first thing on screen, before the contents:
 * the claims dashboard), a table of contents linking to each section, then the sections (each a
 * `<section id>` with an `<h2>`). Styles are inline (light theme, readable
 * measure, print rules that start each section on a new page); there are no
 * scripts, stylesheets, fonts or images from outside the page.
 *
 * Section `html` is inserted as is; the title, subtitle, time and section
 * titles are escaped.
 *
 * @throws {@link EccvkitInputError} for a section id that is not a valid anchor or appears twice
 */
export function renderReportPage(o: { title: string; subtitle?: string; generatedAt: string; sections: ReportSection[]; lead?: ReportSection }): string {
  check(typeof o?.title === 'string', 'title', o?.title, 'a string');
  check(typeof o.generatedAt === 'string', 'generatedAt', o.generatedAt, 'a string (e.g. an ISO 8601 time)');
  check(Array.isArray(o.sections), 'sections', o.sections, 'an array of { id, title, html }');
  const seen = new Set<string>();
  o.sections.forEach((s, i) => {
    check(typeof s?.id === 'string' && SECTION_ID.test(s.id), `sections[${i}].id`, s?.id, 'a letter followed by letters, digits, "-" or "_"');
    check(!seen.has(s.id), `sections[${i}].id`, s.id, 'an id not used by another section');
    seen.add(s.id);
    check(typeof s.title === 'string', `sections[${i}].title`, s.title, 'a string');
    check(typeof s.html === 'string', `sections[${i}].html`, s.html, 'a string of HTML');
  });
  if (o.lead !== undefined) {
    check(typeof o.lead?.id === 'string' && SECTION_ID.test(o.lead.id) && !seen.has(o.lead.id), 'lead.id', o.lead?.id, 'a valid anchor id not used by a section');
    check(typeof o.lead.title === 'string' && typeof o.lead.html === 'string', 'lead', o.lead, 'a { id, title, html } section');
  }
  const lead = o.lead === undefined ? '' : `<section id="${o.lead.id}" class="lead">\n<h2>${escapeHtml(o.lead.title)}</h2>\n${o.lead.html}\n</section>`;
  const toc = o.sections.length
    ? `<nav class="toc" aria-label="Contents"><h2>Contents</h2><ol>\n${o.sections
        .map((s) => `<li><a href="#${s.id}">${escapeHtml(s.title)}</a></li>`)
        .join('\n')}\n</ol></nav>`
    : '';
  const sections = o.sections.map((s) => `<section id="${s.id}">\n<h2>${escapeHtml(s.title)}</h2>\n${s.html}\n</section>`).join('\n');
  return [
    '<!DOCTYPE html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    '<meta name="generator" content="eccvkit">',
    `<title>${escapeHtml(o.title)}</title>`,
    `<style>${CSS}</style>`,
    '</head>',
    '<body>',
    '<header>',
    `<h1>${escapeHtml(o.title)}</h1>`,
    o.subtitle !== undefined ? `<p class="subtitle">${escapeHtml(o.subtitle)}</p>` : '',
    `<p class="generated">Generated <time>${escapeHtml(o.generatedAt)}</time></p>`,
    '</header>',
    lead,
    toc,
    '<main>',
    sections,
    '</main>',
    '</body>',
    '</html>',
    '',
  ]
    .filter((line, i, all) => line !== '' || i === all.length - 1)
    .join('\n');
}

/** Writes a report page to `file` atomically (temporary sibling, then rename), creating parent folders. */
export function writeReport(file: string, html: string): void {
  check(typeof file === 'string' && file.length > 0, 'file', file, 'a non-empty path');
  check(typeof html === 'string', 'html', html, 'a string of HTML');
  writeFileAtomic(file, html);
}
