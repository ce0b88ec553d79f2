/**
 * The README picture: a PNG of a report's claims dashboard, as headless
 * Chromium renders it.
 *
 *   npx eccvkit reproduce                      # writes runs/report.html
 *   node --import tsx scripts/dashboard-screenshot.ts [runs/report.html] [docs/dashboard.png]
 *
 * The shot is of the page's first screen at 1280 px wide, cut at the end of the
 * dashboard: what a reader sees on opening the report.
 */
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromiumUnavailable, launchChromium } from './headless-chromium.js';

const [reportArg = 'runs/report.html', outArg = 'docs/dashboard.png'] = process.argv.slice(2);
const report = path.resolve(reportArg);
if (!fs.existsSync(report)) {
  console.error(`dashboard-screenshot: REPORT ${report} does not exist (run \`npx eccvkit reproduce\` first, or pass a report.html)`);
  process.exit(2);
}
const why = await chromiumUnavailable();
if (why !== undefined) {
  console.error(`dashboard-screenshot: ${why}`);
  process.exit(1);
}
const browser = await launchChromium();
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 }, deviceScaleFactor: 1 });
  await page.goto(pathToFileURL(report).href);
  const box = await page.locator('section#claims').boundingBox();
  if (box === null) throw new Error(`${report} has no claims dashboard (section#claims): is it an eccvkit report?`);
  const out = path.resolve(outArg);
  fs.mkdirSync(path.dirname(out), { recursive: true });
  const tmp = `${out}.tmp-${process.pid}.png`;
  await page.screenshot({ path: tmp, fullPage: true, clip: { x: 0, y: 0, width: 1280, height: Math.ceil(box.y + box.height + 16) } });
  fs.renameSync(tmp, out);
  console.log(out);
} finally {
  await browser.close();
}
