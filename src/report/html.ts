/**
 * HTML text helpers: escaping and tables with consistently formatted numbers.
 */
import { check } from '../errors.js';

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/**
 * Escapes `& < > " '` so `s` can be placed in HTML (or SVG/XML) text and in
 * quoted attribute values.
 */
export function escapeHtml(s: string): string {
  return String(s).replace(/[&<>"']/g, (c) => ESCAPES[c] as string);
}

/**
 * Formats a number for a table cell with `digits` significant digits
 * (default 4): integers print in full (`12345`), non-integers as
 * `toPrecision(digits)` (`0.1235`, `3.142`), rounded to an integer when they
 * have more integer digits than `digits` (`12346`), and in exponent form when
 * tiny (`1.235e-5` below 1e-3). Negative zero prints `0`; non-finite values
 * print `NaN`, `∞`, `−∞`.
 */
export function formatNumber(v: number, digits = 4): string {
  check(Number.isInteger(digits) && digits >= 1 && digits <= 21, 'digits', digits, 'an integer from 1 to 21');
  if (Number.isNaN(v)) return 'NaN';
  if (!Number.isFinite(v)) return v > 0 ? '∞' : '−∞';
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (Number.isInteger(v) && a < 1e21) return String(v);
  if (a >= 10 ** digits) return a < 1e21 ? Math.round(v).toString() : v.toExponential(digits - 1).replace('e+', 'e');
  if (a < 1e-3) return v.toExponential(digits - 1).replace('e+', 'e');
  return v.toPrecision(digits);
}

/**
 * An HTML `<table>`: a header row of `columns`, then `rows`. Text is escaped;
 * numbers are formatted with {@link formatNumber} (`digits` significant, default
 * 4) and right-aligned (class `num`); `null` prints as an em dash `—`.
 *
 * @throws {@link EccvkitInputError} when a row's length differs from the number of columns
 */
export function htmlTable(o: { columns: string[]; rows: Array<Array<string | number | null>>; caption?: string; digits?: number }): string {
  check(Array.isArray(o?.columns), 'columns', o?.columns, 'an array of column names');
  check(Array.isArray(o.rows), 'rows', o.rows, 'an array of rows');
  const digits = o.digits ?? 4;
  check(Number.isInteger(digits) && digits >= 1 && digits <= 21, 'digits', digits, 'an integer from 1 to 21');
  o.rows.forEach((row, i) => check(Array.isArray(row) && row.length === o.columns.length, `rows[${i}]`, row, `an array of ${o.columns.length} cells`));
  const cell = (v: string | number | null): string => {
    if (v === null || v === undefined) return '<td class="empty">—</td>';
    if (typeof v === 'number') return `<td class="num">${escapeHtml(formatNumber(v, digits))}</td>`;
    return `<td>${escapeHtml(String(v))}</td>`;
  };
  const parts = ['<table>'];
  if (o.caption !== undefined) parts.push(`<caption>${escapeHtml(o.caption)}</caption>`);
  parts.push(`<thead><tr>${o.columns.map((c) => `<th scope="col">${escapeHtml(c)}</th>`).join('')}</tr></thead>`);
  parts.push('<tbody>');
  for (const row of o.rows) parts.push(`<tr>${row.map(cell).join('')}</tr>`);
  parts.push('</tbody></table>');
  return parts.join('\n');
}

/**
 * A pill-shaped label, e.g. a verdict: `<span class="badge badge-<slug>">label</span>`,
 * where the slug is the label in lower case with runs of other characters as `-`
 * (`not reproduced` → `badge-not-reproduced`); the report page styles the verdicts.
 */
export function badgeHtml(label: string): string {
  const slug = String(label).toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '');
  return `<span class="badge badge-${slug}">${escapeHtml(label)}</span>`;
}

/**
 * Findings that read: the short statements (with their numbers) as a bulleted
 * list, the longer reasoning folded under a `<details>` with `summary` as its
 * handle (left out when there is none). Text is escaped.
 */
export function findingsHtml(short: readonly string[], long: readonly string[] = [], summary = 'The reasoning behind these findings'): string {
  const items = (xs: readonly string[]) => xs.map((x) => `<li>${escapeHtml(x)}</li>`).join('');
  const head = short.length ? `<ul class="findings">${items(short)}</ul>` : '';
  const more = long.length ? `<details><summary>${escapeHtml(summary)}</summary><ul class="findings">${items(long)}</ul></details>` : '';
  return head + more;
}
