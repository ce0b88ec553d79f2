/**
 * Node's side of the platform seam (`src/platform.ts`): files through `node:fs`
 * with atomic writes, `process.env`, and the native addon's neighbour ranking.
 * Installed when the Node engine (`src/engine/index.ts`) or the Node entry loads.
 */
import fs from 'node:fs';
import path from 'node:path';
import { nativeRankRows } from '../engine/node/native.js';
import { makeDirs, writeDirAtomic, writeFileAtomic } from './fs.js';
import { setPlatform, type PlatformFiles } from '../platform.js';

/** The core's file access on Node. */
export const nodeFiles: PlatformFiles = {
  readFile: (file) => {
    const buf = fs.readFileSync(file);
    return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
  },
  readText: (file) => fs.readFileSync(file, 'utf8'),
  exists: (file) => fs.existsSync(file),
  makeDirs,
  writeFile: (file, data) => fs.writeFileSync(file, data),
  writeFileAtomic,
  writeDirAtomic,
  list: (dir) => fs.readdirSync(dir),
  rename: (from, to) => fs.renameSync(from, to),
  removeEmptyDir: (dir) => fs.rmdirSync(dir),
  join: (...parts) => path.join(...parts),
};

let installed = false;

/** Installs Node's files, environment and native ranking for the core (idempotent). */
export function installNodePlatform(): void {
  if (installed) return;
  installed = true;
  setPlatform({ name: 'node', files: nodeFiles, env: (name) => process.env[name], rankRows: nativeRankRows });
}
