#!/usr/bin/env node
// Builds eccvkit's native backend (N-API addon over oneDNN) at install time.
// It never fails the install: without a compiler or oneDNN's headers it records
// why in build/eccvkit-native-status.json and the engine falls back to wasm
// (`eccvkit doctor` prints the reason and the Debian packages to install).
// ECCVKIT_SKIP_NATIVE=1 skips the build.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const statusFile = path.join(root, 'build', 'eccvkit-native-status.json');
const PACKAGES = 'g++ make python3 libdnnl-dev';

function record(reason) {
  fs.mkdirSync(path.dirname(statusFile), { recursive: true });
  fs.writeFileSync(statusFile, JSON.stringify({ built: false, reason }, null, 2) + '\n');
  console.warn(`eccvkit: native backend not built (${reason}); using wasm. For the fast path: apt-get install ${PACKAGES}, then npm rebuild eccvkit`);
}

function nodeGyp() {
  // npm puts the path of its bundled node-gyp in the environment of install scripts.
  if (process.env.npm_config_node_gyp && fs.existsSync(process.env.npm_config_node_gyp)) return process.env.npm_config_node_gyp;
  for (const base of [process.env.npm_execpath ? path.dirname(process.env.npm_execpath) : undefined, '/usr/lib/node_modules/npm/bin', '/usr/local/lib/node_modules/npm/bin']) {
    if (!base) continue;
    const candidate = path.join(base, '..', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js');
    if (fs.existsSync(candidate)) return candidate;
  }
  try {
    return createRequire(import.meta.url).resolve('node-gyp/bin/node-gyp.js');
  } catch {
    return undefined;
  }
}

function hasHeader() {
  const dirs = ['/usr/include', '/usr/local/include', ...(process.env.CPATH ?? '').split(':').filter(Boolean)];
  return dirs.some((d) => fs.existsSync(path.join(d, 'oneapi', 'dnnl', 'dnnl.hpp')));
}

if (process.env.ECCVKIT_SKIP_NATIVE === '1') {
  record('ECCVKIT_SKIP_NATIVE=1 at install');
} else if (!hasHeader()) {
  record('oneDNN headers (oneapi/dnnl/dnnl.hpp) not found');
} else {
  const gyp = nodeGyp();
  if (!gyp) {
    record('node-gyp not found');
  } else {
    const r = spawnSync(process.execPath, [gyp, 'rebuild'], { cwd: root, encoding: 'utf8' });
    if (r.status !== 0) {
      const lines = `${r.stdout ?? ''}\n${r.stderr ?? ''}`.split('\n').filter((l) => /error|not found|No such/i.test(l));
      record(`node-gyp rebuild failed: ${(lines[0] ?? `exit ${r.status}`).trim()}`);
    } else {
      fs.rmSync(statusFile, { force: true });
      console.log('eccvkit: native backend built (oneDNN)');
    }
  }
}
