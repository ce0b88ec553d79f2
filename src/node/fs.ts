/**
 * File writes that never leave a half-written file behind: write a sibling
 * temporary file, flush it, then rename it over the target (atomic on POSIX).
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { EccvkitInputError } from '../errors.js';

function tempSibling(file: string): string {
  return path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
}

/**
 * Creates `dir` and its missing parents one level at a time. Node 20's
 * `mkdirSync(dir, { recursive: true })` loops forever on pseudo-filesystems
 * that answer ENOENT for a folder whose parent exists (`/proc/x`); here that
 * error is thrown.
 */
export function makeDirs(dir: string): void {
  const missing: string[] = [];
  for (let p = path.resolve(dir); !fs.existsSync(p); p = path.dirname(p)) {
    missing.push(p);
    if (path.dirname(p) === p) break;
  }
  for (const p of missing.reverse()) {
    try {
      fs.mkdirSync(p);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
}

/**
 * Checks, before any work, that `target` can be created and written as a
 * `file` or a `dir`, without leaving anything behind: an existing target must
 * be of that kind (and a file writable); otherwise its nearest existing
 * ancestor must be a folder in which a probe folder can be created (and is
 * removed at once). That refuses read-only places, paths through a file, and
 * pseudo-filesystems such as `/proc`, where creating anything fails.
 *
 * @param argument the option named in the error, e.g. `--out`
 * @throws {@link EccvkitInputError} naming `argument`, the path and why it cannot be written
 */
export function checkWritablePath(target: string, kind: 'file' | 'dir', argument: string): void {
  if (typeof target !== 'string' || target.length === 0) throw new EccvkitInputError(argument, target, `a ${kind === 'dir' ? 'folder' : 'file'} path`);
  const abs = path.resolve(target);
  const what = kind === 'dir' ? 'a folder' : 'a file';
  let st: fs.Stats | undefined;
  try {
    st = fs.statSync(abs);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOTDIR') throw new EccvkitInputError(argument, target, `${what} path that eccvkit can create (a part of it is a file, not a folder)`);
    if (code !== 'ENOENT') throw new EccvkitInputError(argument, target, `${what} path that eccvkit can create and write (${code ?? String(err)})`);
  }
  if (st && kind === 'file' && st.isDirectory()) throw new EccvkitInputError(argument, target, 'a file path (this is a folder)');
  if (st && kind === 'dir' && !st.isDirectory()) throw new EccvkitInputError(argument, target, 'a folder path (this is a file)');
  let probe = kind === 'dir' && st ? abs : path.dirname(abs);
  while (!fs.existsSync(probe) && path.dirname(probe) !== probe) probe = path.dirname(probe);
  if (!fs.statSync(probe).isDirectory()) throw new EccvkitInputError(argument, target, `${what} path that eccvkit can create (${probe} is a file, not a folder)`);
  try {
    fs.rmdirSync(fs.mkdtempSync(path.join(probe, '.eccvkit-probe-')));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? String(err);
    throw new EccvkitInputError(argument, target, `${what} path that eccvkit can create and write (creating anything in ${probe} fails: ${code})`);
  }
  if (st && kind === 'file') {
    try {
      fs.accessSync(abs, fs.constants.W_OK);
    } catch {
      throw new EccvkitInputError(argument, target, 'a file eccvkit can write (this one is read-only)');
    }
  }
}

/** Writes `data` to `file` atomically, creating parent folders. */
export function writeFileAtomic(file: string, data: string | Uint8Array): void {
  makeDirs(path.dirname(path.resolve(file)));
  const tmp = tempSibling(file);
  const fd = fs.openSync(tmp, 'w');
  try {
    fs.writeSync(fd, typeof data === 'string' ? Buffer.from(data, 'utf8') : data);
    fs.fsyncSync(fd);
  } catch (err) {
    fs.closeSync(fd);
    fs.rmSync(tmp, { force: true });
    throw err;
  }
  fs.closeSync(fd);
  fs.renameSync(tmp, file);
}

/**
 * Fills a fresh folder through `fill`, then renames it to `dir` (replacing an
 * older one), so readers see either the old complete folder or the new one.
 */
export async function writeDirAtomic(dir: string, fill: (tmpDir: string) => Promise<void> | void): Promise<void> {
  const parent = path.dirname(path.resolve(dir));
  makeDirs(parent);
  const tmp = tempSibling(dir);
  fs.mkdirSync(tmp);
  try {
    await fill(tmp);
  } catch (err) {
    fs.rmSync(tmp, { recursive: true, force: true });
    throw err;
  }
  const old = fs.existsSync(dir) ? tempSibling(dir) : undefined;
  if (old) fs.renameSync(dir, old);
  fs.renameSync(tmp, dir);
  if (old) fs.rmSync(old, { recursive: true, force: true });
}
