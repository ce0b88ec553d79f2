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

/**
 * Flags that give headless Chromium a WebGPU adapter on a machine without a GPU: Dawn over SwiftShader's
 * software Vulkan, which ships inside Debian's chromium. Off by default: there tfjs-webgpu's synchronous
 * reads fail, and after that failure the page's 2D canvases read back empty too (measured), which would
 * break every drawing page that starts the engine with webgpu first.
 */
const WEBGPU_FLAGS = ['--enable-unsafe-webgpu', '--use-webgpu-adapter=swiftshader'];

/**
 * A headless Chromium (playwright gives it a fresh temporary profile); close it with `browser.close()`.
 * `webgpu`: hand pages a (software) WebGPU adapter.
 */
export async function launchChromium(options: { webgpu?: boolean } = {}): Promise<Browser> {
  const executablePath = chromiumPath();
  if (executablePath === undefined) throw new Error('no Chromium found: apt-get install chromium, or set ECCVKIT_CHROMIUM to its path');
  const { chromium } = await import('playwright-core');
  return chromium.launch({ executablePath, headless: true, args: ['--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-default-apps', ...(options.webgpu === true ? WEBGPU_FLAGS : [])] });
}
