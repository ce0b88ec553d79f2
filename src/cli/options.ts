/**
 * Parsers of option values shared by the command groups: each checks one
 * option's text and throws an input error naming the option, so every command
 * reports bad values the same way.
 */
import { Option } from 'commander';
import { BACKENDS } from '../engine/backends.js';
import { check } from '../errors.js';

/** An integer ≥ `min` written as `text` (empty text is not 0). */
export function integerOption(text: string, option: string, min: number): number {
  const v = Number(text);
  check(text.trim() !== '' && Number.isSafeInteger(v) && v >= min, option, text, `an integer ≥ ${min}`);
  return v;
}

/** A finite number > 0. */
export function positiveOption(text: string, option: string): number {
  const v = Number(text);
  check(text.trim() !== '' && Number.isFinite(v) && v > 0, option, text, 'a positive number');
  return v;
}

/** Any finite number. */
export function numberOption(text: string, option: string): number {
  const v = Number(text);
  check(text.trim() !== '' && Number.isFinite(v), option, text, 'a number');
  return v;
}

/** `--backend <name>`, one of the engine's backends. */
export const backendOption = (): Option => new Option('--backend <name>', 'force a tensor backend').choices([...BACKENDS]);
