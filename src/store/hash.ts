/**
 * Canonical JSON and config hashes: two configs that differ only in key order
 * hash the same, so "the same run" can be found again in the store.
 */
import { createHash } from 'node:crypto';
import { EccvkitInputError } from '../errors.js';

/**
 * Serialises `value` as JSON with object keys sorted (by UTF-16 code units, the
 * order of `Array.prototype.sort`), no whitespace. Follows `JSON.stringify`
 * otherwise (`toJSON` is honoured, `undefined` object members are dropped and
 * `undefined` array items become `null`), but rejects what JSON would silently
 * mangle: non-finite numbers, bigints, functions, symbols and cycles.
 *
 * @param value any JSON-like value
 * @param argument the argument name used in error messages
 * @throws {@link EccvkitInputError} for a value JSON cannot represent faithfully
 */
export function canonicalJson(value: unknown, argument = 'config'): string {
  const seen = new Set<object>();
  const walk = (v: unknown, where: string): string | undefined => {
    if (v !== null && typeof v === 'object' && typeof (v as { toJSON?: unknown }).toJSON === 'function') {
      v = (v as { toJSON: () => unknown }).toJSON();
    }
    if (v === null) return 'null';
    switch (typeof v) {
      case 'undefined':
        return undefined;
      case 'boolean':
        return v ? 'true' : 'false';
      case 'string':
        return JSON.stringify(v);
      case 'number':
        if (!Number.isFinite(v)) throw new EccvkitInputError(where, v, 'a finite number (JSON has no NaN or Infinity)');
        return JSON.stringify(v);
      case 'object': {
        if (seen.has(v as object)) throw new EccvkitInputError(where, '[circular]', 'a value without cycles');
        seen.add(v as object);
        let out: string;
        if (Array.isArray(v)) {
          out = `[${v.map((item, i) => walk(item, `${where}[${i}]`) ?? 'null').join(',')}]`;
        } else {
          const parts: string[] = [];
          for (const key of Object.keys(v as object).sort()) {
            const s = walk((v as Record<string, unknown>)[key], `${where}.${key}`);
            if (s !== undefined) parts.push(`${JSON.stringify(key)}:${s}`);
          }
          out = `{${parts.join(',')}}`;
        }
        seen.delete(v as object);
        return out;
      }
      default:
        throw new EccvkitInputError(where, typeof v, 'a JSON value (no bigint, function or symbol)');
    }
  };
  const out = walk(value, argument);
  if (out === undefined) throw new EccvkitInputError(argument, value, 'a JSON value');
  return out;
}

/**
 * Hash of a config: the first 16 hex digits of the SHA-256 of its
 * {@link canonicalJson} form, so it does not depend on key order.
 *
 * @throws {@link EccvkitInputError} when `config` is not representable as JSON
 */
export function hashConfig(config: unknown): string {
  return createHash('sha256').update(canonicalJson(config), 'utf8').digest('hex').slice(0, 16);
}
