/**
 * Reading records back: `wal.read(from, { toLsn })` streams one segment at a time in chunks,
 * verifying every checksum and the LSN sequence again (the disk may have changed since open).
 * Records are decoded synchronously from a buffer that is refilled asynchronously, so a record
 * costs one generator step, not one read.
 *
 * A segment's read index ({@link PositionIndex}) says where to start: at most one index stride
 * before `from`, and where to stop: the first indexed record after `toLsn`. A read near the tail
 * of a large segment therefore costs what it reads plus at most one stride, not the segment.
 */
import { StarlingError } from '../core/errors.js'
import { WAL_LIMITS } from '../core/limits.js'
import { joinPath, type FileLayer, type LayerFile } from './file-layer.js'
import {
  SEGMENT_HEADER_BYTES,
  decodeRecordAt,
  decodeSegmentHeader,
  readU32,
  saltState,
  type DecodedRecord,
} from './format.js'
import type { PositionIndex } from './position-index.js'
import type { WalRecord } from './types.js'

/** A segment as the reader needs it. */
export interface ReadableSegment {
  name: string
  firstLsn: number
  /** Where records start; without one the segment is read from its first record. */
  index?: PositionIndex | undefined
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
    const cursor = new SegmentCursor(plan, segment.name, await openSegment(plan, segment.name))
    try {
      await cursor.start(startOffset(segment, expected), stopOffset(segment, plan.toLsn))
      do {
        let record: DecodedRecord | undefined
        while (expected <= plan.toLsn && (record = cursor.next()) !== undefined) {
          if (record.lsn < expected) continue
          if (record.lsn !== expected) {
            throw readCorruption(segment.name, `LSN ${record.lsn} where ${expected} was expected`)
          }
          expected++
          yield { lsn: record.lsn, type: record.type, payload: record.payload }
        }
      } while (expected <= plan.toLsn && (await cursor.refill()))
    } finally {
      await cursor.close()
    }
  }
  if (expected <= plan.toLsn) throw readCorruption('(end)', `log ends before LSN ${plan.toLsn}`)
}

/** File offset of the last indexed record at or before `lsn` (the first record without an index). */
function startOffset(segment: ReadableSegment, lsn: number): number {
  return segment.index?.floor(lsn)?.offset ?? SEGMENT_HEADER_BYTES
}

/** File offset before which every record up to `lsn` lies (infinite without an index). */
function stopOffset(segment: ReadableSegment, lsn: number): number {
  return segment.index?.after(lsn)?.offset ?? Number.POSITIVE_INFINITY
}

/** Sequential decoding of one segment file through a refillable buffer. */
class SegmentCursor {
  #buffer: Uint8Array = new Uint8Array(0)
  #filled = 0
  #start = 0
  /** File offset of `#buffer[0]`. */
  #position = 0
  /** File offset where reading stops: the file's end or the reader's stop offset. */
  #limit = 0
  #salt = 0
  #ended = false

  constructor(
    private readonly plan: ReadPlan,
    private readonly name: string,
    private readonly file: LayerFile,
  ) {}

  /**
   * Validates the header and reads the first chunk from file offset `from`; nothing at or after
   * `stop` is read.
   */
  async start(from: number, stop: number): Promise<void> {
    this.#limit = Math.min(await this.file.size(), stop)
    let header: Uint8Array
    if (from <= SEGMENT_HEADER_BYTES) {
      // The header comes with the first chunk.
      await this.#fill(new Uint8Array(chunkBytes(this.#limit)), 0)
      header = this.#buffer.subarray(0, this.#filled)
      this.#start = SEGMENT_HEADER_BYTES
    } else {
      header = new Uint8Array(SEGMENT_HEADER_BYTES)
      header = header.subarray(0, await readAt(this.file, header, 0, 0, header.length))
      this.#position = from
      await this.#fill(new Uint8Array(chunkBytes(this.#limit - from)), 0)
    }
    const decoded = decodeSegmentHeader(header)
    if (typeof decoded === 'string') throw readCorruption(this.name, decoded)
    this.#salt = saltState(decoded.salt)
  }

  /** The next complete record in the buffer, or undefined when more bytes are needed. */
  next(): DecodedRecord | undefined {
    const available = this.#filled - this.#start
    if (available === 0) return undefined
    const record = decodeRecordAt(
      this.#buffer,
      this.#start,
      available,
      this.#salt,
      this.plan.recordBytesMax,
    )
    if (typeof record !== 'string') {
      this.#start = record.next
      return record
    }
    if (record === 'short') return undefined
    throw readCorruption(this.name, `record ${record} at offset ${this.#position + this.#start}`)
  }

  /**
   * Moves the unread bytes into a fresh buffer (payloads already handed out keep viewing the
   * old one) and reads more; resolves false at the end of the file.
   */
  async refill(): Promise<boolean> {
    if (this.#ended) return false
    const rest = this.#filled - this.#start
    const wanted = rest >= 4 ? readU32(this.#buffer, this.#start) + 64 : 64
    this.#position += this.#start
    const next = new Uint8Array(Math.max(chunkBytes(this.#limit - this.#position), wanted * 2))
    next.set(this.#buffer.subarray(this.#start, this.#filled))
    this.#start = 0
    return (await this.#fill(next, rest)) > 0
  }

  /** Reads into `buffer[offset…]` from file offset `#position + offset`, up to the limit. */
  async #fill(buffer: Uint8Array, offset: number): Promise<number> {
    const room = this.#limit - this.#position - offset
    const wanted = Math.max(0, Math.min(buffer.length - offset, room))
    const got = await readAt(this.file, buffer, offset, this.#position + offset, wanted)
    this.#buffer = buffer
    this.#filled = offset + got
    this.#ended = got < wanted || this.#position + this.#filled >= this.#limit
    return got
  }

  close(): Promise<void> {
    return this.file.close()
  }
}

/** Size of a read buffer for `remaining` bytes: at most one read chunk. */
function chunkBytes(remaining: number): number {
  return Math.min(WAL_LIMITS.readChunkBytes, Math.max(remaining, 64))
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

/** Reads up to `length` bytes at file offset `position` into `buffer[offset…]`. */
async function readAt(
  file: LayerFile,
  buffer: Uint8Array,
  offset: number,
  position: number,
  length: number,
): Promise<number> {
  let done = 0
  while (done < length) {
    const n = await file.read(buffer, offset + done, length - done, position + done)
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
