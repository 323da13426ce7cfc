/**
 * A group-commit batch: encoded records waiting to be written with one `write` per segment (an
 * `O_DSYNC` write in `sync` durability), plus the promises to settle when that is done.
 */
import { assert } from '../core/assert.js'
import type { Lsn } from '../core/ids.js'
import { encodeRecordInto, recordBytes } from './format.js'
import type { PositionIndex } from './position-index.js'

/** The writer's view of a segment (the tail, or one created by a rotation in this batch). */
export interface SegmentState {
  name: string
  firstLsn: number
  /** 8-byte salt from the header. */
  salt: Uint8Array
  /** CRC state after the salt. */
  saltCrc: number
  /** Bytes assigned so far, including records not yet written. */
  size: number
  /** The segment's read index; records are noted as they are assigned. */
  index: PositionIndex
}

/** A contiguous run of bytes of one segment inside the batch buffer. */
export interface Chunk {
  segment: SegmentState
  /** File offset the bytes go to. */
  position: number
  start: number
  end: number
  /** Whether the segment file must be created (the chunk starts with its header). */
  creates: boolean
}

const INITIAL_BYTES = 64 * 1024

/** Records accumulated for one group commit. */
export class Batch {
  buffer = new Uint8Array(INITIAL_BYTES)
  used = 0
  chunks: Chunk[] = []
  firstLsn = 0
  count = 0
  resolvers: Array<(lsn: Lsn) => void> = []
  rejecters: Array<(error: unknown) => void> = []

  /** Empties the batch, keeping its buffer for reuse. */
  reset(): void {
    this.used = 0
    this.chunks = []
    this.firstLsn = 0
    this.count = 0
    this.resolvers = []
    this.rejecters = []
  }

  /** Whether `bytes` more bytes fit under `limit`. */
  fits(bytes: number, limit: number): boolean {
    return this.used + bytes <= limit
  }

  /** Copies a new segment's header into the batch and opens a chunk for it. */
  addSegment(segment: SegmentState, header: Uint8Array): void {
    this.ensure(header.length)
    this.buffer.set(header, this.used)
    this.chunks.push({
      segment,
      position: 0,
      start: this.used,
      end: this.used + header.length,
      creates: true,
    })
    this.used += header.length
  }

  /** Encodes a record for `segment` at the end of the batch. */
  addRecord(segment: SegmentState, lsn: number, type: number, payload: Uint8Array): void {
    const bytes = recordBytes(payload.length)
    if (this.count === 0) this.firstLsn = lsn
    this.ensure(bytes)
    let chunk = this.chunks[this.chunks.length - 1]
    if (chunk === undefined || chunk.segment !== segment) {
      chunk = { segment, position: segment.size, start: this.used, end: this.used, creates: false }
      this.chunks.push(chunk)
    }
    assert(chunk.position + (chunk.end - chunk.start) === segment.size, 'chunk is contiguous')
    const end = encodeRecordInto(
      this.buffer,
      this.used,
      segment.saltCrc,
      lsn,
      lsn - this.firstLsn,
      type,
      payload,
    )
    chunk.end = end
    segment.size += bytes
    this.used = end
    this.count++
  }

  private ensure(bytes: number): void {
    if (this.used + bytes <= this.buffer.length) return
    let size = this.buffer.length * 2
    while (size < this.used + bytes) size *= 2
    const next = new Uint8Array(size)
    next.set(this.buffer.subarray(0, this.used))
    this.buffer = next
  }
}
