/**
 * Store keys: non-empty strings of at most {@link KEY_LENGTH_MAX} characters without NUL (NUL
 * prefixes Starling's own reserved documents, so user keys can never collide with them).
 */
import { invalidArgument } from '../core/errors.js'

/** Longest key, in UTF-16 code units. */
export const KEY_LENGTH_MAX = 1024

/** Document key of the registry that holds every register (lww/custom) key. */
export const REGISTRY_KEY = '\u0000registry'

/** Throws `INVALID_ARGUMENT` unless `key` is a valid user key. */
export function assertKey(key: unknown, method: string): asserts key is string {
  if (typeof key !== 'string')
    throw invalidArgument(`${method}: key must be a string, got ${typeof key}`)
  if (key.length === 0) throw invalidArgument(`${method}: key must not be empty`)
  if (key.length > KEY_LENGTH_MAX) {
    throw invalidArgument(
      `${method}: key is ${key.length} characters, the limit is ${KEY_LENGTH_MAX}`,
    )
  }
  if (key.includes('\u0000')) throw invalidArgument(`${method}: key must not contain NUL`)
}
