/**
 * Validation of one segment's bytes, shared by recovery and the inspector. Pure: no I/O.
 *
 * A bad record in the last segment is a torn tail when nothing valid from a later group commit
 * follows it: group commits are written one after another and each is synced before the next
 * starts, so valid records of a later batch behind a bad one mean the bad one had been synced —
 * that is corruption, never a torn write (I4 in docs/guarantees.md).
 */
import type { Lsn } from '../core/ids.js'
import {
  RECORD_ALIGN,
  RECORD_HEADER_BYTES,
  SEGMENT_HEADER_BYTES,
  decodeRecordAt,
  decodeSegmentHeader,
  readU64,
  saltState,
  type SegmentHeader,
} from './format.js'

/** What is wrong at an offset of a segment, and whether it is a torn tail or corruption. */
export interface SegmentProblem {
  kind: 'torn' | 'corrupt'
  offset: number
  reason: string
}

/** Result of scanning one segment. */
export interface SegmentScan {
  header: SegmentHeader | undefined
  /** Records that validated, in order. */
  records: number
  /** LSN of the last valid record, or `firstLsn − 1` when there is none. */
  lastLsn: number
  /** End of the valid prefix (header and valid records). */
  validEnd: number
  problem: SegmentProblem | undefined
}

/** Options of {@link scanSegment}. */
export interface ScanOptions {
  /** LSN the segment's file name says it starts at. */
  nameLsn: number
  /** Whether this is the newest segment (the only place a torn tail may be). */
  isLast: boolean
  recordBytesMax: number
  /** Called for each valid record (offset of the record in `bytes`). */
  onRecord?: (lsn: Lsn, type: number, payload: Uint8Array, offset: number) => void
}

/** Validates a whole segment file held in `bytes`. */
export function scanSegment(bytes: Uint8Array, options: ScanOptions): SegmentScan {
  const header = decodeSegmentHeader(bytes)
  if (typeof header === 'string' || header.firstLsn !== options.nameLsn) {
    const reason = typeof header === 'string' ? header : 'header LSN differs from the file name'
    // A segment is created with one write of its header and first batch, and synced before
    // anything in it is acknowledged. An unfinished creation leaves a file shorter than a header
    // or a header of zeros; any other damage hit a synced header: corruption, never a silent cut.
    const torn =
      options.isLast &&
      (bytes.length < SEGMENT_HEADER_BYTES || isZero(bytes, 0, SEGMENT_HEADER_BYTES))
    return {
      header: undefined,
      records: 0,
      lastLsn: options.nameLsn - 1,
      validEnd: 0,
      problem: { kind: torn ? 'torn' : 'corrupt', offset: 0, reason },
    }
  }
  const salt = saltState(header.salt)
  let at = SEGMENT_HEADER_BYTES
  let expected = header.firstLsn as number
  let records = 0
  while (at < bytes.length) {
    const record = decodeRecordAt(bytes, at, bytes.length - at, salt, options.recordBytesMax)
    let reason: string | undefined
    if (typeof record === 'string') reason = `record ${record}`
    else if (record.lsn !== expected) reason = `LSN ${record.lsn} where ${expected} was expected`
    if (reason !== undefined || typeof record === 'string') {
      const kind =
        options.isLast && !laterBatchFollows(bytes, at, salt, expected, options)
          ? 'torn'
          : 'corrupt'
      return {
        header,
        records,
        lastLsn: expected - 1,
        validEnd: at,
        problem: { kind, offset: at, reason: reason ?? '' },
      }
    }
    options.onRecord?.(record.lsn, record.type, record.payload, at)
    records++
    expected++
    at = record.next
  }
  return { header, records, lastLsn: expected - 1, validEnd: at, problem: undefined }
}

/**
 * Whether a valid record of a later group commit than the one holding LSN `expected` exists
 * after offset `from`. Cheap pre-checks keep this linear on garbage.
 */
function laterBatchFollows(
  bytes: Uint8Array,
  from: number,
  salt: number,
  expected: number,
  options: ScanOptions,
): boolean {
  const lsnCeiling = expected + Math.ceil((bytes.length - from) / RECORD_HEADER_BYTES)
  for (let at = from + RECORD_ALIGN; at + RECORD_HEADER_BYTES <= bytes.length; at += RECORD_ALIGN) {
    const lsn = readU64(bytes, at + 8)
    if (lsn < expected || lsn > lsnCeiling) continue
    const record = decodeRecordAt(bytes, at, bytes.length - at, salt, options.recordBytesMax)
    if (typeof record === 'string') continue
    if (record.lsn - record.batchDelta > expected) return true
  }
  return false
}

function isZero(bytes: Uint8Array, start: number, end: number): boolean {
  for (let i = start; i < end; i++) if (bytes[i] !== 0) return false
  return true
}
