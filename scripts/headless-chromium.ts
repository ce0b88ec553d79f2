/**
 * Debian's Chromium driven by playwright-core, the way this machine allows:
 * no browser download (playwright's own browsers come from the internet), and
 * flags that keep Chromium from dialling outside hosts on a closed network.
 * Used by the dashboard screenshot script and the report's browser test.
 */
import fs from 'node:fs';
import type { Browser } from 'playwright-core';

/** Where Debian's `chromium` package puts the browser (ECCVKIT_CHROMIUM overrides). */
export function chromiumPath(): string | undefined {
  const candidates = [process.env.ECCVKIT_CHROMIUM, '/usr/bin/chromium', '/usr/bin/chromium-browser'];
  return candidates.find((p): p is string => p !== undefined && p !== '' && fs.existsSync(p));
}

/** Why a browser cannot start here, or undefined when it can. */
export async function chromiumUnavailable(): Promise<string | undefined> {
  if (chromiumPath() === undefined) return 'no Chromium (apt-get install chromium, or set ECCVKIT_CHROMIUM)';
  try {
    await import('playwright-core');
  } catch {
    return 'playwright-core is not installed (npm ci installs it as a dev dependency)';
  }
  return undefined;
}

/** A headless Chromium (playwright gives it a fresh temporary profile); close it with `browser.close()`. */
export async function launchChromium(): Promise<Browser> {
  const executablePath = chromiumPath();
  if (executablePath === undefined) throw new Error('no Chromium found: apt-get install chromium, or set ECCVKIT_CHROMIUM to its path');
  const { chromium } = await import('playwright-core');
  return chromium.launch({ executablePath, headless: true, args: ['--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-default-apps'] });
}
