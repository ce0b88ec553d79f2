/**
 * Errors raised at eccvkit's public boundaries.
 *
 * Every message names the argument, the value received and what was expected, so
 * a user can fix the call without reading the source. The CLI maps
 * {@link EccvkitInputError} to exit code 2.
 */

/** Base class of every error eccvkit raises on purpose. */
export class EccvkitError extends Error {
  override name = 'EccvkitError';
}

/** Bad input: an argument, file or option that does not meet the documented contract. */
export class EccvkitInputError extends EccvkitError {
  override name = 'EccvkitInputError';
  /**
   * @param argument the argument, option or file role that was wrong (e.g. `--preset`, `labels`)
   * @param value the value received (rendered compactly in the message)
   * @param expected what would have been accepted
   */
  constructor(
    readonly argument: string,
    readonly value: unknown,
    readonly expected: string,
  ) {
    super(`${argument}: got ${describeValue(value)}, expected ${expected}`);
  }
}

/** Renders a value for an error message without dumping large arrays or tensors. */
export function describeValue(value: unknown): string {
  if (value === undefined) return 'undefined';
  if (value === null) return 'null';
  if (typeof value === 'string') return JSON.stringify(value.length > 200 ? value.slice(0, 200) + '…' : value);
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  if (Array.isArray(value)) {
    return value.length > 8 ? `[${value.slice(0, 8).map(describeValue).join(', ')}, … (${value.length} items)]` : `[${value.map(describeValue).join(', ')}]`;
  }
  if (ArrayBuffer.isView(value)) return `${value.constructor.name}(${(value as unknown as { length: number }).length})`;
  const shaped = value as { shape?: unknown; dtype?: unknown };
  if (Array.isArray(shaped.shape) && typeof shaped.dtype === 'string') return `tensor ${shaped.dtype}[${shaped.shape.join(', ')}]`;
  try {
    const s = JSON.stringify(value);
    return s.length > 200 ? s.slice(0, 200) + '…' : s;
  } catch {
    return Object.prototype.toString.call(value);
  }
}

/** Throws an {@link EccvkitInputError} unless `condition` holds. */
export function check(condition: unknown, argument: string, value: unknown, expected: string): asserts condition {
  if (!condition) throw new EccvkitInputError(argument, value, expected);
}

/** What a tensor that must be finite was expected to hold, for {@link EccvkitInputError}s on NaN or ±Infinity. */
export const NOT_FINITE = 'finite values (found NaN or ±Infinity)';
