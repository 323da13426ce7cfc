/**
 * On-disk format of WAL segments (see docs/ARCHITECTURE.md, "WAL format").
 *
 * Segment file `<16-digit first LSN>.log`:
 *   header (32 bytes): magic "STARWAL\n" | u32 version | u32 crc32c(header without this field)
 *                      | u64 salt | u64 first LSN
 *   records, each 8-byte aligned:
 *     u32 payload length | u32 crc32c(salt, record without this field) | u64 lsn
 *     | u32 batch delta (lsn − first LSN of its group commit) | u8 type | 3 zero bytes
 *     | payload | zero padding to a multiple of 8
 *
 * The salt is random per segment, so bytes of another segment or another log never validate; the
 * batch delta lets recovery tell a torn final batch (cut) from damage inside a committed one
 * (corruption). All integers are little-endian.
 */
import { CRC32C_INIT, crc32cFinish, crc32cUpdate } from '../core/crc32c.js'
import type { Lsn } from '../core/ids.js'
import { readU32, writeU32 } from '../core/bytes.js'

/** `STARWAL\n` */
export const SEGMENT_MAGIC = new Uint8Array([0x53, 0x54, 0x41, 0x52, 0x57, 0x41, 0x4c, 0x0a])
/** Format version written into every segment header. */
export const FORMAT_VERSION = 1
/** Bytes of a segment header. */
export const SEGMENT_HEADER_BYTES = 32
/** Bytes of a record header. */
export const RECORD_HEADER_BYTES = 24
/** Record alignment. */
export const RECORD_ALIGN = 8
/** Record types are 1…255; 0 is never written. */
export const RECORD_TYPE_MAX = 255

const SEGMENT_NAME = /^(\d{16})\.log$/

/** Decoded segment header. */
export interface SegmentHeader {
  salt: Uint8Array
  firstLsn: Lsn
}

/** Bytes one record with a payload of `payloadLength` bytes occupies. */
export function recordBytes(payloadLength: number): number {
  return (RECORD_HEADER_BYTES + payloadLength + RECORD_ALIGN - 1) & ~(RECORD_ALIGN - 1)
}

/** File name of the segment whose first record is `firstLsn`. */
export function segmentName(firstLsn: number): string {
  return `${String(firstLsn).padStart(16, '0')}.log`
}

/** The first LSN encoded in a segment file name, or undefined for other files. */
export function parseSegmentName(name: string): number | undefined {
  const match = SEGMENT_NAME.exec(name)
  return match ? Number(match[1]) : undefined
}

// Little-endian integer access by bytes: cheaper than a DataView per record on the hot path.

export { readU32 } from '../core/bytes.js'

function writeU64(bytes: Uint8Array, at: number, value: number): void {
  writeU32(bytes, at, value >>> 0)
  writeU32(bytes, at + 4, Math.floor(value / 0x1_0000_0000))
}

/** Reads a little-endian u64 that fits a safe integer. */
export function readU64(bytes: Uint8Array, at: number): number {
  return readU32(bytes, at) + readU32(bytes, at + 4) * 0x1_0000_0000
}

/** Encodes a segment header. */
export function encodeSegmentHeader(salt: Uint8Array, firstLsn: number): Uint8Array {
  const bytes = new Uint8Array(SEGMENT_HEADER_BYTES)
  bytes.set(SEGMENT_MAGIC, 0)
  writeU32(bytes, 8, FORMAT_VERSION)
  bytes.set(salt.subarray(0, 8), 16)
  writeU64(bytes, 24, firstLsn)
  writeU32(bytes, 12, headerChecksum(bytes))
  return bytes
}

function headerChecksum(bytes: Uint8Array): number {
  return crc32cFinish(crc32cUpdate(crc32cUpdate(CRC32C_INIT, bytes, 0, 12), bytes, 16, 32))
}

/** Decodes a segment header, or returns a reason why it is not one. */
export function decodeSegmentHeader(bytes: Uint8Array): SegmentHeader | string {
  if (bytes.length < SEGMENT_HEADER_BYTES) return 'segment header is truncated'
  for (let i = 0; i < SEGMENT_MAGIC.length; i++) {
    if (bytes[i] !== SEGMENT_MAGIC[i]) return 'bad segment magic'
  }
  if (readU32(bytes, 12) !== headerChecksum(bytes)) return 'segment header checksum mismatch'
  const version = readU32(bytes, 8)
  if (version !== FORMAT_VERSION) return `unsupported WAL format version ${version}`
  return { salt: bytes.slice(16, 24), firstLsn: readU64(bytes, 24) as Lsn }
}

/** The CRC state after hashing a segment's salt; every record checksum starts from it. */
export function saltState(salt: Uint8Array): number {
  return crc32cUpdate(CRC32C_INIT, salt, 0, 8)
}

/**
 * Encodes one record into `target` at `at` (the caller guarantees room for
 * `recordBytes(payload.length)` zeroed bytes); returns the offset after it.
 */
export function encodeRecordInto(
  target: Uint8Array,
  at: number,
  salt: number,
  lsn: number,
  batchDelta: number,
  type: number,
  payload: Uint8Array,
): number {
  const length = payload.length
  writeU32(target, at, length)
  writeU64(target, at + 8, lsn)
  writeU32(target, at + 16, batchDelta)
  target[at + 20] = type
  target[at + 21] = 0
  target[at + 22] = 0
  target[at + 23] = 0
  const start = at + RECORD_HEADER_BYTES
  // Small payloads: a byte loop beats the fixed cost of TypedArray.set.
  if (length <= 64) for (let i = 0; i < length; i++) target[start + i] = payload[i] as number
  else target.set(payload, start)
  const end = start + length
  writeU32(target, at + 4, recordChecksum(target, at, end, salt))
  const padded = at + recordBytes(length)
  for (let i = end; i < padded; i++) target[i] = 0
  return padded
}

function recordChecksum(bytes: Uint8Array, at: number, end: number, salt: number): number {
  return crc32cFinish(crc32cUpdate(crc32cUpdate(salt, bytes, at, at + 4), bytes, at + 8, end))
}

/** A record decoded in place. */
export interface DecodedRecord {
  lsn: Lsn
  type: number
  batchDelta: number
  /** A view into the buffer it was decoded from. */
  payload: Uint8Array
  /** Offset just after the record (including padding). */
  next: number
}

/** Why the bytes at an offset are not a valid record. */
export type RecordProblem = 'short' | 'bad-length' | 'checksum' | 'bad-header'

/**
 * Decodes and verifies the record at `bytes[at…]` (`available` bytes are valid from `at`).
 * Returns the record, or the problem when the bytes there are not a valid record.
 */
export function decodeRecordAt(
  bytes: Uint8Array,
  at: number,
  available: number,
  salt: number,
  recordBytesMax: number,
): DecodedRecord | RecordProblem {
  if (available < RECORD_HEADER_BYTES) return 'short'
  const length = readU32(bytes, at)
  if (length > recordBytesMax) return 'bad-length'
  const total = recordBytes(length)
  if (total > available) return 'short'
  const end = at + RECORD_HEADER_BYTES + length
  if (readU32(bytes, at + 4) !== recordChecksum(bytes, at, end, salt)) return 'checksum'
  const type = bytes[at + 20] as number
  if (type === 0 || bytes[at + 21] !== 0 || bytes[at + 22] !== 0 || bytes[at + 23] !== 0) {
    return 'bad-header'
  }
  for (let i = end; i < at + total; i++) if (bytes[i] !== 0) return 'bad-header'
  return {
    lsn: readU64(bytes, at + 8) as Lsn,
    type,
    batchDelta: readU32(bytes, at + 16),
    payload: bytes.subarray(at + RECORD_HEADER_BYTES, end),
    next: at + total,
  }
}
