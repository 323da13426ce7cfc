/**
 * Reading what a repair set aside: the newest LSN still found in `*.broken` segments, so a store
 * can say which records a repair lost and never hand out their LSNs again. Read-only.
 */
import type { FileLayer } from './file-layer.js'
import { joinPath } from './file-layer.js'
import {
  RECORD_ALIGN,
  RECORD_HEADER_BYTES,
  SEGMENT_HEADER_BYTES,
  decodeRecordAt,
  decodeSegmentHeader,
  parseSegmentName,
  readU64,
  saltState,
} from './format.js'
import { readWholeFile } from './recovery.js'

/** The segment name a `*.broken` (or `*.broken.<n>`) file was set aside from, if it is one. */
function originalName(file: string): string | undefined {
  const at = file.indexOf('.log.')
  return at < 0 ? undefined : file.slice(0, at + '.log'.length)
}

/**
 * The newest LSN of any intact record in the set-aside segment files `files` of `dir` (damaged
 * parts are skipped: every aligned offset is tried), or the LSN before the first one a file's
 * name says it holds, whichever is larger; 0 when there is none.
 */
export async function newestLsnIn(
  fs: FileLayer,
  dir: string,
  files: readonly string[],
  recordBytesMax: number,
): Promise<number> {
  let newest = 0
  for (const file of files) {
    const nameLsn = parseSegmentName(originalName(file) ?? '')
    if (nameLsn === undefined) continue
    newest = Math.max(newest, nameLsn - 1)
    const bytes = await readWholeFile(fs, joinPath(dir, file))
    newest = Math.max(newest, newestRecordLsn(bytes, nameLsn, recordBytesMax))
  }
  return newest
}

/**
 * The newest LSN of an intact record anywhere in a segment's bytes (0: none). A damaged header
 * still lends its salt: a record whose checksum holds with it is intact (another segment's or
 * log's records never validate with it).
 */
function newestRecordLsn(bytes: Uint8Array, nameLsn: number, recordBytesMax: number): number {
  if (bytes.length < SEGMENT_HEADER_BYTES) return 0
  const header = decodeSegmentHeader(bytes)
  const salt = saltState(typeof header === 'string' ? bytes.subarray(16, 24) : header.salt)
  let newest = 0
  for (let at = SEGMENT_HEADER_BYTES; at + RECORD_HEADER_BYTES <= bytes.length;) {
    const record =
      readU64(bytes, at + 8) >= nameLsn
        ? decodeRecordAt(bytes, at, bytes.length - at, salt, recordBytesMax)
        : 'bad-header'
    if (typeof record === 'string') {
      at += RECORD_ALIGN
      continue
    }
    newest = Math.max(newest, record.lsn)
    at = record.next
  }
  return newest
}
