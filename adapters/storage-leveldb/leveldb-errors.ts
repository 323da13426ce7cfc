/**
 * Turning LevelDB failures into typed Starling errors. Backend errors carry
 * abstract-level codes (`LEVEL_LOCKED`, `LEVEL_CORRUPTION`, `LEVEL_IO_ERROR`, …), sometimes one
 * level down in `cause` (`LEVEL_DATABASE_NOT_OPEN` wraps the reason an open failed).
 */
import { StarlingError, type ErrorDetails } from '../../src/core/errors.js'

/** The most specific error code (`LEVEL_…`, `EIO` …) on `error` or its chain of causes. */
export function backendCode(error: unknown): string | undefined {
  let current = error
  for (let depth = 0; depth < 8 && typeof current === 'object' && current !== null; depth++) {
    const { code, cause } = current as { code?: unknown; cause?: unknown }
    if (typeof code === 'string' && code.startsWith('LEVEL_') && code !== 'LEVEL_DATABASE_NOT_OPEN')
      return code
    if (cause === undefined) return typeof code === 'string' ? code : undefined
    current = cause
  }
  return undefined
}

/** How to read an error of an operation. */
export interface FailureContext {
  /** The adapter method, for the message. */
  method: string
  details: ErrorDetails
  /**
   * Whether the operation decodes stored bytes (loading, compacting, reading metadata): then an
   * error that is not a backend error means those bytes did not decode — `STORAGE_CORRUPTION`.
   */
  decodesStored: boolean
}

/** A typed error for `cause`, thrown by the backend or by decoding what it returned. */
export function storageError(context: FailureContext, cause: unknown): StarlingError {
  const code = backendCode(cause)
  const detail = cause instanceof Error ? cause.message : String(cause)
  const details = { ...context.details, ...(code === undefined ? {} : { backendCode: code }) }
  if (
    code === 'LEVEL_CORRUPTION' ||
    (code === undefined && context.decodesStored && isDecode(cause))
  )
    return new StarlingError(
      'STORAGE_CORRUPTION',
      `${context.method}: stored bytes could not be decoded: ${detail}`,
      details,
      cause,
    )
  return new StarlingError(
    'STORAGE_FAILED',
    `${context.method}: LevelDB operation failed: ${detail}`,
    details,
    cause,
  )
}

/** Errors lib0 and Yjs throw on malformed input (anything but a system error from Node). */
function isDecode(error: unknown): boolean {
  return error instanceof Error && typeof (error as { errno?: unknown }).errno !== 'number'
}

/**
 * The error for a read that succeeded with a value of the wrong kind: damaged stored bytes when
 * the call decodes them, a backend failure otherwise.
 */
export function unexpectedResult(context: FailureContext, value: unknown): StarlingError {
  const kind = value === null ? 'null' : typeof value
  if (context.decodesStored)
    return new StarlingError(
      'STORAGE_CORRUPTION',
      `${context.method}: stored bytes decoded to an unexpected ${kind}`,
      context.details,
    )
  return new StarlingError(
    'STORAGE_FAILED',
    `${context.method}: LevelDB returned an unexpected ${kind}`,
    context.details,
  )
}

/** `STORE_LOCKED` for an open refused because another handle holds the database's LOCK. */
export function lockedError(location: string, cause: unknown): StarlingError {
  return new StarlingError(
    'STORE_LOCKED',
    `${location} is in use by another LevelDB handle (this or another process); one writer per directory`,
    { dir: location, pid: null },
    cause,
  )
}
