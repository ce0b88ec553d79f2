/**
 * File writes that never leave a half-written file behind: write a sibling
 * temporary file, flush it, then rename it over the target (atomic on POSIX).
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

function tempSibling(file: string): string {
  return path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
}

/** Writes `data` to `file` atomically, creating parent folders. */
export function writeFileAtomic(file: string, data: string | Uint8Array): void {
  fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
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
  fs.mkdirSync(parent, { recursive: true });
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
