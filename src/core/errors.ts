/**
 * Starling's error type and its stable codes. Every code is documented in `docs/errors.md`;
 * codes never change meaning once released. Programmer misuse (a wrong argument type, a value out
 * of range) is a `TypeError`/`RangeError` carrying the code `INVALID_ARGUMENT`.
 */

/** Every stable error code Starling raises, with a one-line meaning. */
export const ERROR_CODES = {
  INVALID_ARGUMENT: 'An argument has the wrong type or is out of range (programmer misuse).',
  STORE_LOCKED:
    'The data directory is already opened by another writer (one writer per directory).',
  WAL_CORRUPTION: 'The write-ahead log is damaged somewhere other than a torn tail.',
  WAL_FAILED: 'A write or fsync of the log failed earlier; the log accepts nothing until reopened.',
  WAL_CLOSED: 'The log was closed.',
  WAL_RECORD_TOO_LARGE: 'A record is larger than the record size limit.',
  WAL_OVERLOADED: 'Too many appends are waiting for room in the log buffer.',
  WAL_TRUNCATED: 'The requested log position was removed by truncation.',
  HLC_CLOCK_SKEW: 'A remote timestamp lies further in the future than the allowed clock skew.',
  HLC_OVERFLOW: 'The hybrid logical clock cannot advance (counter or wall time out of range).',
  CODEC_MALFORMED: 'Bytes could not be decoded: truncated, out of range or of an unknown version.',
  STORAGE_FAILED: 'The storage backend failed (I/O error, or an operation it reported as failed).',
  STORAGE_CORRUPTION: 'Stored bytes could not be decoded.',
  STORAGE_INVALID_UPDATE: 'A document state given to storage is not a decodable Yjs update.',
  STORAGE_CLOSED: 'The storage adapter was closed.',
  POLICY_MISMATCH: "A key's recorded conflict policy differs from this store's policy table.",
  STORE_CLOSED: 'The store was closed.',
  STORE_FAILED: 'The store failed earlier (its log or storage failed) and must be reopened.',
  STORE_EDIT_TOO_LARGE:
    'An edit is larger than one WAL record takes; it was refused or undone, the store works on.',
  KEY_NOT_LOADED: "A CRDT key's document is still loading; await store.load(key) first.",
  POLICY_INVALID: 'A policy table or a custom resolver is invalid (e.g. a resolver is not pure).',
  DEPENDENCY_MISSING: 'An optional package a feature needs is not installed (e.g. fast-check).',
  SYNC_FRAME_MALFORMED: 'A sync frame could not be decoded (bad magic, truncated, trailing bytes).',
  SYNC_FRAME_TOO_LARGE: 'A sync frame or its declared length exceeds the frame size limit.',
  SYNC_FRAME_CHECKSUM: "A sync frame's CRC32C does not match its bytes.",
  SYNC_PROTOCOL_VERSION: 'The peer speaks a sync protocol version this node does not.',
  SYNC_PROTOCOL_VIOLATION: 'A well-formed frame arrived out of order or contradicts the protocol.',
  SYNC_UPDATE_INVALID: 'A record from a peer holds an update that is not a valid Yjs update.',
  STORE_RECORD_QUARANTINED:
    'A logged update cannot be applied (written by an older version or a bug): it is skipped.',
  SYNC_PEER_DROPPED:
    'A peer was disconnected: too many bad frames, no ack after every resend, or a newer connection.',
  SYNC_LOG_REWOUND:
    "A peer holds more of this node's log than the log has: the store was restored from an older copy.",
  SYNC_OVERLOADED: 'A sync queue reached its limit.',
  SYNC_CLOSED: 'No sync is running for the store (never started, or closed).',
  TRANSPORT_CLOSED: 'The transport (or the connection to that peer) is closed.',
  TRANSPORT_MESSAGE_TOO_LARGE: 'A message is larger than the transport accepts.',
} as const

/** A stable Starling error code. */
export type ErrorCode = keyof typeof ERROR_CODES

/** Structured, JSON-friendly context attached to an error (segment, offset, limit …). */
export type ErrorDetails = Readonly<Record<string, string | number | boolean | null>>

/** An operational error with a stable `code`; see `docs/errors.md`. */
export class StarlingError extends Error {
  /** The stable code; switch on this, never on the message. */
  readonly code: ErrorCode
  /** Machine-readable context. */
  readonly details: ErrorDetails

  constructor(code: ErrorCode, message: string, details: ErrorDetails = {}, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause })
    this.name = 'StarlingError'
    this.code = code
    this.details = details
  }
}

/** True when `value` is a Starling error, optionally with the given code. */
export function isStarlingError(value: unknown, code?: ErrorCode): value is StarlingError {
  return value instanceof StarlingError && (code === undefined || value.code === code)
}

/** A `TypeError` for programmer misuse, tagged with the code `INVALID_ARGUMENT`. */
export function invalidArgument(message: string): TypeError & { code: 'INVALID_ARGUMENT' } {
  const error = new TypeError(message) as TypeError & { code: 'INVALID_ARGUMENT' }
  error.code = 'INVALID_ARGUMENT'
  return error
}
