/**
 * Argument and input checks shared by the storage adapters, so every adapter accepts exactly the
 * same keys and document states (the conformance suite holds them to it).
 */
import * as Y from 'yjs'
import { invalidArgument, StarlingError } from '../core/errors.js'

/** A lone UTF-16 surrogate: such a string cannot round-trip through UTF-8 storage. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/

/**
 * Checks a document key: a well-formed string (no lone surrogates) without the NUL character,
 * which adapters keep for names of their own. Throws `INVALID_ARGUMENT` otherwise.
 */
export function checkDocKey(key: unknown, method: string): asserts key is string {
  if (typeof key !== 'string') throw invalidArgument(`${method}: key must be a string`)
  if (key.includes('\u0000')) {
    throw invalidArgument(`${method}: key must not contain the NUL character`)
  }
  if (LONE_SURROGATE.test(key)) {
    throw invalidArgument(`${method}: key must be well-formed UTF-16 (no lone surrogates)`)
  }
}

/** Checks a metadata name: a well-formed string. Throws `INVALID_ARGUMENT` otherwise. */
export function checkMetaName(name: unknown, method: string): asserts name is string {
  if (typeof name !== 'string') throw invalidArgument(`${method}: name must be a string`)
  if (LONE_SURROGATE.test(name)) {
    throw invalidArgument(`${method}: name must be well-formed UTF-16 (no lone surrogates)`)
  }
}

/** Checks that a value to store is bytes. Throws `INVALID_ARGUMENT` otherwise. */
export function checkBytes(value: unknown, method: string): asserts value is Uint8Array {
  if (!(value instanceof Uint8Array)) throw invalidArgument(`${method}: value must be a Uint8Array`)
}

/**
 * Decodes a document state into a fresh scratch `Y.Doc` (which the caller must destroy), so a
 * state that would fail to load later is refused now. Applying is the check: it is the exact
 * operation every later load performs, and a scratch document cannot be left half-applied.
 * Throws `STORAGE_INVALID_UPDATE` when `state` is not a decodable Yjs update.
 */
export function decodeDocState(key: string, state: Uint8Array): Y.Doc {
  const doc = new Y.Doc()
  try {
    Y.applyUpdate(doc, state)
    return doc
  } catch (error) {
    doc.destroy()
    throw new StarlingError(
      'STORAGE_INVALID_UPDATE',
      `document state for ${JSON.stringify(key)} is not a decodable Yjs update`,
      { key, bytes: state.byteLength },
      error,
    )
  }
}

/** Throws `STORAGE_CLOSED` when `closed` is set. */
export function checkOpen(closed: boolean, method: string): void {
  if (closed) throw new StarlingError('STORAGE_CLOSED', `${method}: the storage adapter is closed`)
}
