/**
 * `.npy` files on disk (Node): {@link readNpy} and {@link writeNpy} over the
 * platform-free parser and encoder in `npy.ts`.
 */
import fs from 'node:fs';
import { EccvkitInputError } from '../../errors.js';
import { writeFileAtomic } from '../../node/fs.js';
import { encodeNpy, parseNpy, type NpyArray } from '../npy.js';

/**
 * Reads a `.npy` file (see {@link parseNpy}).
 * @param argument how errors name the file's role (e.g. `--labels`); default `"file"`.
 * @throws EccvkitInputError when the file is missing or unreadable, or its content is invalid.
 */
export function readNpy(file: string, argument = 'file'): NpyArray {
  let buf: Uint8Array;
  try {
    buf = fs.readFileSync(file);
  } catch (err) {
    throw new EccvkitInputError(argument, file, `a readable .npy file (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }
  return parseNpy(buf, file);
}

/** Writes `arr` to `file` as `.npy` (see {@link encodeNpy}), atomically, creating parent folders. */
export function writeNpy(file: string, arr: NpyArray): void {
  writeFileAtomic(file, encodeNpy(arr));
}
