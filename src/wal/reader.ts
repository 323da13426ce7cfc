/**
 * Reading records back: `wal.read(from, { toLsn })` streams a segment at a time in chunks,
 * verifying every checksum and the LSN sequence again (the disk may have changed since open).
 */
import { StarlingError } from '../core/errors.js'
import type { Lsn } from '../core/ids.js'
import { WAL_LIMITS } from '../core/limits.js'
import { joinPath, type FileLayer, type LayerFile } from './file-layer.js'
import { SEGMENT_HEADER_BYTES, decodeRecordAt, decodeSegmentHeader, saltState } from './format.js'
import type { WalRecord } from './types.js'

/** A segment as the reader needs it. */
export interface ReadableSegment {
  name: string
  firstLsn: number
}

/** What to read. */
export interface ReadPlan {
  fs: FileLayer
  dir: string
  /** Segments oldest first (a snapshot). */
  segments: readonly ReadableSegment[]
  fromLsn: number
  toLsn: number
  recordBytesMax: number
}

/** Streams records `fromLsn…toLsn` of the planned segments. */
export async function* readRecords(plan: ReadPlan): AsyncGenerator<WalRecord> {
  let expected = plan.fromLsn
  for (let i = 0; i < plan.segments.length && expected <= plan.toLsn; i++) {
    const segment = plan.segments[i] as ReadableSegment
    const next = plan.segments[i + 1]
    if (next !== undefined && next.firstLsn <= expected) continue
    const file = await openSegment(plan, segment.name)
    try {
      for await (const record of readSegment(plan, segment, file)) {
        if (record.lsn < expected) continue
        if (record.lsn !== expected)
          throw readCorruption(segment.name, `LSN ${record.lsn} where ${expected} was expected`)
        yield record
        expected++
        if (expected > plan.toLsn) return
      }
    } finally {
      await file.close()
    }
  }
  if (expected <= plan.toLsn) throw readCorruption('(end)', `log ends before LSN ${plan.toLsn}`)
}

async function openSegment(plan: ReadPlan, name: string): Promise<LayerFile> {
  try {
    return await plan.fs.open(joinPath(plan.dir, name), 'read')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error
    throw new StarlingError(
      'WAL_TRUNCATED',
      `WAL segment ${name} was truncated while being read`,
      { segment: name },
      error,
    )
  }
}

async function* readSegment(
  plan: ReadPlan,
  segment: ReadableSegment,
  file: LayerFile,
): AsyncGenerator<WalRecord> {
  let buffer = new Uint8Array(Math.min(WAL_LIMITS.readChunkBytes, Math.max(await file.size(), 64)))
  let filled = await readAt(file, buffer, 0, 0)
  const header = decodeSegmentHeader(buffer.subarray(0, filled))
  if (typeof header === 'string') throw readCorruption(segment.name, header)
  const salt = saltState(header.salt)
  let start = SEGMENT_HEADER_BYTES
  let position = 0
  let ended = false
  while (true) {
    const record = decodeRecordAt(buffer, start, filled - start, salt, plan.recordBytesMax)
    if (typeof record !== 'string') {
      yield { lsn: record.lsn, type: record.type, payload: record.payload }
      start = record.next
      continue
    }
    if (record !== 'short')
      throw readCorruption(segment.name, `record ${record} at offset ${position + start}`)
    if (ended) return
    // Carry the partial record into a fresh buffer (yielded payloads keep viewing the old one).
    const rest = filled - start
    const size = Math.max(WAL_LIMITS.readChunkBytes, neededBytes(buffer, start, rest) * 2)
    const next = new Uint8Array(size)
    next.set(buffer.subarray(start, filled))
    position += start
    const got = await readAt(file, next, rest, position + rest)
    ended = got === 0
    buffer = next
    filled = rest + got
    start = 0
  }
}

function neededBytes(buffer: Uint8Array, start: number, rest: number): number {
  if (rest < 4) return 64
  const dv = new DataView(buffer.buffer, buffer.byteOffset + start, rest)
  return dv.getUint32(0, true) + 64
}

async function readAt(
  file: LayerFile,
  buffer: Uint8Array,
  offset: number,
  position: number,
): Promise<number> {
  let done = 0
  while (offset + done < buffer.length) {
    const n = await file.read(buffer, offset + done, buffer.length - offset - done, position + done)
    if (n === 0) break
    done += n
  }
  return done
}

function readCorruption(segment: string, reason: string): StarlingError {
  return new StarlingError(
    'WAL_CORRUPTION',
    `WAL segment ${segment} failed validation while reading: ${reason}`,
    {
      segment,
      reason,
    },
  )
}

export type { Lsn }
