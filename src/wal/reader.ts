/**
 * Reading records back: `wal.read(from, { toLsn })` streams one segment at a time in chunks,
 * verifying every checksum and the LSN sequence again (the disk may have changed since open).
 * Records are decoded synchronously from a buffer that is refilled asynchronously, so a record
 * costs one generator step, not one read.
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
    const cursor = new SegmentCursor(plan, segment.name, await openSegment(plan, segment.name))
    try {
      await cursor.start()
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

/** Sequential decoding of one segment file through a refillable buffer. */
class SegmentCursor {
  #buffer = new Uint8Array(0)
  #filled = 0
  #start = 0
  /** File offset of `#buffer[0]`. */
  #position = 0
  #salt = 0
  #ended = false

  constructor(
    private readonly plan: ReadPlan,
    private readonly name: string,
    private readonly file: LayerFile,
  ) {}

  /** Reads the first chunk and validates the header. */
  async start(): Promise<void> {
    const size = await this.file.size()
    this.#buffer = new Uint8Array(Math.min(WAL_LIMITS.readChunkBytes, Math.max(size, 64)))
    this.#filled = await readAt(this.file, this.#buffer, 0, 0)
    this.#ended = this.#filled < this.#buffer.length
    const header = decodeSegmentHeader(this.#buffer.subarray(0, this.#filled))
    if (typeof header === 'string') throw readCorruption(this.name, header)
    this.#salt = saltState(header.salt)
    this.#start = SEGMENT_HEADER_BYTES
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
    const next = new Uint8Array(Math.max(WAL_LIMITS.readChunkBytes, wanted * 2))
    next.set(this.#buffer.subarray(this.#start, this.#filled))
    this.#position += this.#start
    const got = await readAt(this.file, next, rest, this.#position + rest)
    this.#ended = rest + got < next.length
    this.#buffer = next
    this.#filled = rest + got
    this.#start = 0
    return got > 0
  }

  close(): Promise<void> {
    return this.file.close()
  }
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
