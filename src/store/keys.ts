/**
 * Store keys: non-empty, well-formed UTF-16 strings of at most {@link KEY_LENGTH_MAX} characters
 * without NUL (NUL prefixes Starling's own reserved documents, so user keys can never collide
 * with them). A lone surrogate is refused: UTF-8 (the WAL, storage, sync frames) cannot carry it,
 * so it would come back as U+FFFD — another key — after a reopen or on a peer.
 */
import { invalidArgument } from '../core/errors.js'

/** Longest key, in UTF-16 code units. */
export const KEY_LENGTH_MAX = 1024

/** Document key of the registry that holds every register (lww/custom) key. */
export const REGISTRY_KEY = '\u0000registry'

/** In a unicode-mode pattern a surrogate range matches only unpaired (lone) surrogates. */
const LONE_SURROGATE = /[\uD800-\uDFFF]/u

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
  assertWellFormed(key, method, 'key')
}

/**
 * Throws `INVALID_ARGUMENT` unless `text` is well-formed UTF-16 (no lone surrogate); `what` names
 * it in the message (`key`, `prefix`).
 */
export function assertWellFormed(text: string, method: string, what: string): void {
  const lone = LONE_SURROGATE.exec(text)
  if (lone !== null) {
    const unit = lone[0].charCodeAt(0).toString(16).toUpperCase()
    throw invalidArgument(
      `${method}: ${what} has a lone surrogate U+${unit} at index ${lone.index} (not well-formed UTF-16)`,
    )
  }
}
