/**
 * The writer behind `openWal`: LSN assignment, group commit, rotation, backpressure, the failed
 * state (I5 in docs/guarantees.md), truncation and close.
 */
import { StarlingError, invalidArgument } from '../core/errors.js'
import type { Env, TimerHandle } from '../core/env.js'
import { WAL_LIMITS } from '../core/limits.js'
import type { Lsn } from '../core/ids.js'
import { Batch, type SegmentState } from './batch.js'
import { joinPath, type DirectoryLock, type FileLayer, type LayerFile } from './file-layer.js'
import {
  RECORD_TYPE_MAX,
  SEGMENT_HEADER_BYTES,
  encodeSegmentHeader,
  recordBytes,
  saltState,
  segmentName,
} from './format.js'
import type { ResolvedWalOptions } from './options.js'
import { PositionIndex } from './position-index.js'
import { readRecords } from './reader.js'
import type { RecoveredSegment, RecoveryReport } from './recovery.js'
import type { Durability, Wal, WalRecord, WalStats } from './types.js'

interface Waiting {
  payload: Uint8Array
  type: number
  resolve: (lsn: Lsn) => void
  reject: (error: unknown) => void
}

interface SegmentEntry {
  name: string
  firstLsn: number
  index: PositionIndex
}

/** The open log. Public methods validate, private ones do the work. */
export class WalWriter implements Wal {
  readonly stats: WalStats = { appends: 0, batches: 0, bytesWritten: 0, syncs: 0, largestBatch: 0 }
  #segments: SegmentEntry[]
  #tail: SegmentState
  #tailFile: LayerFile
  #open = new Batch()
  #spare = new Batch()
  #waiting: Waiting[] = []
  #nextLsn: number
  #writtenLsn: number
  #durableLsn: number
  #flushing = false
  #drained: Array<() => void> = []
  #syncRequested = false
  #syncTimer: TimerHandle | undefined
  #failure: StarlingError | undefined
  #closed = false
  #closing: Promise<void> | undefined

  constructor(
    readonly dir: string,
    private readonly fs: FileLayer,
    private readonly env: Env,
    private readonly lock: DirectoryLock,
    private readonly options: ResolvedWalOptions,
    readonly recovery: RecoveryReport,
    segments: RecoveredSegment[],
    tailFile: LayerFile,
  ) {
    const tail = segments[segments.length - 1] as RecoveredSegment
    this.#segments = segments.map(({ name, firstLsn, index }) => ({ name, firstLsn, index }))
    this.#tail = {
      name: tail.name,
      firstLsn: tail.firstLsn,
      salt: tail.salt,
      saltCrc: saltState(tail.salt),
      size: tail.size,
      index: tail.index,
    }
    this.#tailFile = tailFile
    this.#nextLsn = tail.lastLsn + 1
    this.#writtenLsn = tail.lastLsn
    this.#durableLsn = tail.lastLsn
  }

  /** In `sync` durability the tail is opened with synced writes (O_DSYNC). */
  get #syncWrites(): boolean {
    return this.options.durability === 'sync'
  }

  get durability(): Durability {
    return this.options.durability
  }
  get firstLsn(): Lsn {
    return (this.#segments[0] as SegmentEntry).firstLsn as Lsn
  }
  get lastLsn(): Lsn {
    return (this.#nextLsn - 1) as Lsn
  }
  get writtenLsn(): Lsn {
    return this.#writtenLsn as Lsn
  }
  get durableLsn(): Lsn {
    return this.#durableLsn as Lsn
  }

  append(payload: Uint8Array, type = 1): Promise<Lsn> {
    if (!(payload instanceof Uint8Array))
      return Promise.reject(invalidArgument('append: payload must be a Uint8Array'))
    if (!Number.isInteger(type) || type < 1 || type > RECORD_TYPE_MAX) {
      return Promise.reject(
        invalidArgument(
          `append: type must be an integer in [1, ${RECORD_TYPE_MAX}], got ${String(type)}`,
        ),
      )
    }
    const refused = this.#refusal(payload)
    if (refused) return Promise.reject(refused)
    return new Promise<Lsn>((resolve, reject) => {
      if (this.#waiting.length === 0 && this.#tryAdd(payload, type, resolve, reject)) return
      if (this.#waiting.length >= this.options.waitingAppendsMax) {
        reject(
          new StarlingError(
            'WAL_OVERLOADED',
            `more than ${this.options.waitingAppendsMax} appends are waiting for room in the log buffer`,
            { waitingAppendsMax: this.options.waitingAppendsMax },
          ),
        )
        return
      }
      this.#waiting.push({ payload, type, resolve, reject })
    })
  }

  /** Why the log refuses any operation now (failed or closed), if it does. */
  #stateRefusal(): StarlingError | undefined {
    if (this.#failure) return this.#failedError()
    if (this.#closed) return closedError()
    return undefined
  }

  #refusal(payload: Uint8Array): StarlingError | undefined {
    const refused = this.#stateRefusal()
    if (refused) return refused
    if (payload.length > this.options.recordBytesMax) {
      return new StarlingError(
        'WAL_RECORD_TOO_LARGE',
        `record of ${payload.length} bytes exceeds recordBytesMax ${this.options.recordBytesMax}`,
        { bytes: payload.length, recordBytesMax: this.options.recordBytesMax },
      )
    }
    return undefined
  }

  #failedError(): StarlingError {
    const cause = this.#failure?.cause
    return new StarlingError(
      'WAL_FAILED',
      `the log failed earlier and accepts nothing until reopened: ${String((cause as Error | undefined)?.message ?? cause)}`,
      {},
      cause,
    )
  }

  /** Encodes a record into the open batch if it fits; rotates the segment when it must. */
  #tryAdd(
    payload: Uint8Array,
    type: number,
    resolve: (lsn: Lsn) => void,
    reject: (e: unknown) => void,
  ): boolean {
    const bytes = recordBytes(payload.length)
    const rotate =
      this.#tail.size > SEGMENT_HEADER_BYTES &&
      this.#tail.size + bytes > this.options.segmentBytesMax
    if (!this.#open.fits(bytes + (rotate ? SEGMENT_HEADER_BYTES : 0), this.options.batchBytesMax))
      return false
    const lsn = this.#nextLsn++
    if (rotate) this.#rotate(lsn)
    // Readers only ask for written LSNs, so an entry of a record still in the batch is never used.
    this.#tail.index.note(lsn, this.#tail.size)
    this.#open.addRecord(this.#tail, lsn, type, payload)
    this.#open.resolvers.push(resolve)
    this.#open.rejecters.push(reject)
    this.stats.appends++
    this.#kick()
    return true
  }

  #rotate(firstLsn: number): void {
    const salt = this.env.randomBytes(8)
    const segment: SegmentState = {
      name: segmentName(firstLsn),
      firstLsn,
      salt,
      saltCrc: saltState(salt),
      size: SEGMENT_HEADER_BYTES,
      index: new PositionIndex(WAL_LIMITS.readIndexStrideBytes),
    }
    this.#open.addSegment(segment, encodeSegmentHeader(salt, firstLsn))
    this.#tail = segment
  }

  #kick(): void {
    if (this.#flushing) return
    this.#flushing = true
    setImmediate(() => void this.#flushLoop())
  }

  async #flushLoop(): Promise<void> {
    try {
      while (!this.#failure && (this.#open.count > 0 || this.#syncRequested)) {
        if (this.#open.count > 0) await this.#flushBatch(this.#takeBatch())
        else await this.#syncNow()
        // One turn of the event loop between batches: every writer resumed by the batch just
        // settled appends before the next one is taken, and timers and I/O callbacks run even
        // when the file layer settles without real I/O.
        await new Promise<void>((resolve) => setImmediate(resolve))
      }
    } catch (error) {
      this.#fail(error)
    } finally {
      this.#flushing = false
      for (const done of this.#drained.splice(0)) done()
    }
  }

  /** Swaps the open batch out for flushing and lets waiting appends into the new one. */
  #takeBatch(): Batch {
    const batch = this.#open
    this.#open = this.#spare
    this.#spare = batch
    this.#open.reset()
    while (this.#waiting.length > 0) {
      const next = this.#waiting[0] as Waiting
      if (!this.#tryAdd(next.payload, next.type, next.resolve, next.reject)) break
      this.#waiting.shift()
    }
    return batch
  }

  async #flushBatch(batch: Batch): Promise<void> {
    const created: SegmentState[] = []
    try {
      for (const chunk of batch.chunks) {
        if (chunk.creates) {
          // A segment created earlier in this batch must be durably named before a later one
          // exists, or a crash could keep the later segment and lose the earlier (a gap).
          if (created.length > 0) await this.fs.syncDir(this.dir)
          await this.#openNewSegment(chunk.segment)
          created.push(chunk.segment)
        }
        await this.#tailFile.write(batch.buffer.subarray(chunk.start, chunk.end), chunk.position)
        this.stats.bytesWritten += chunk.end - chunk.start
      }
      const lastLsn = batch.firstLsn + batch.count - 1
      this.#writtenLsn = lastLsn
      if (this.#syncWrites) {
        // Opened with O_DSYNC: each write above was durable when it returned.
        this.stats.syncs += batch.chunks.length
        if (created.length > 0) await this.fs.syncDir(this.dir)
        this.#durableLsn = lastLsn
      } else if (created.length > 0) await this.#syncTail(lastLsn, true)
      else this.#scheduleSync()
    } catch (error) {
      this.#fail(error)
      const failed = this.#failedError()
      for (const reject of batch.rejecters) reject(failed)
      return
    }
    this.stats.batches++
    this.stats.largestBatch = Math.max(this.stats.largestBatch, batch.count)
    for (let i = 0; i < batch.resolvers.length; i++)
      (batch.resolvers[i] as (lsn: Lsn) => void)((batch.firstLsn + i) as Lsn)
  }

  /**
   * Rotation: the previous segment is synced before the next one exists, so only the newest
   * segment can ever hold a torn tail; the new file is synced with its directory entry.
   */
  async #openNewSegment(segment: SegmentState): Promise<void> {
    if (!this.#syncWrites) {
      await this.#tailFile.sync()
      this.stats.syncs++
      this.#durableLsn = this.#writtenLsn
    }
    await this.#tailFile.close()
    this.#tailFile = await this.fs.open(joinPath(this.dir, segment.name), 'create', {
      syncWrites: this.#syncWrites,
    })
    this.#segments.push({
      name: segment.name,
      firstLsn: segment.firstLsn,
      index: segment.index,
    })
  }

  async #syncTail(lsn: number, dirChanged: boolean): Promise<void> {
    await this.#tailFile.sync()
    this.stats.syncs++
    if (dirChanged) await this.fs.syncDir(this.dir)
    this.#durableLsn = Math.max(this.#durableLsn, lsn)
  }

  async #syncNow(): Promise<void> {
    this.#syncRequested = false
    if (this.#durableLsn < this.#writtenLsn) await this.#syncTail(this.#writtenLsn, false)
  }

  #scheduleSync(): void {
    if (this.options.durability !== 'batched' || this.#syncTimer) return
    this.#syncTimer = this.env.setTimer(this.options.flushIntervalMs, () => {
      this.#syncTimer = undefined
      this.#requestSync()
    })
  }

  #requestSync(): void {
    if (this.#failure || this.#durableLsn >= this.#writtenLsn) return
    this.#syncRequested = true
    this.#kick()
  }

  /** Enters the failed state: rejects everything waiting; nothing is retried (I5 in docs/guarantees.md). */
  #fail(error: unknown): void {
    if (this.#failure) return
    this.#failure = new StarlingError('WAL_FAILED', 'log write failed', {}, error)
    this.#syncTimer?.cancel()
    const failed = this.#failedError()
    for (const reject of this.#open.rejecters) reject(failed)
    this.#open.reset()
    for (const waiting of this.#waiting.splice(0)) waiting.reject(failed)
  }

  /** Resolves when no flush is running and nothing is queued. */
  #drain(): Promise<void> {
    if (!this.#flushing && this.#open.count === 0 && this.#waiting.length === 0)
      return Promise.resolve()
    return new Promise<void>((resolve) => this.#drained.push(resolve)).then(() => this.#drain())
  }

  async sync(): Promise<Lsn> {
    const refused = this.#stateRefusal()
    if (refused) throw refused
    await this.#drain()
    this.#syncRequested = true
    this.#kick()
    await this.#drain()
    if (this.#failure) throw this.#failedError()
    return this.#durableLsn as Lsn
  }

  read(fromLsn?: number, options: { toLsn?: number } = {}): AsyncIterable<WalRecord> {
    const from = fromLsn ?? this.firstLsn
    const to = options.toLsn ?? this.#writtenLsn
    if (!Number.isSafeInteger(from) || from < 1)
      throw invalidArgument(`read: fromLsn must be a positive integer, got ${String(fromLsn)}`)
    if (!Number.isSafeInteger(to) || to > this.#writtenLsn) {
      throw invalidArgument(
        `read: toLsn must be an integer ≤ writtenLsn (${this.#writtenLsn}), got ${String(options.toLsn)}`,
      )
    }
    if (this.#closed) throw closedError()
    if (from < this.firstLsn) {
      throw new StarlingError(
        'WAL_TRUNCATED',
        `LSN ${from} was truncated; the log starts at ${this.firstLsn}`,
        { fromLsn: from, firstLsn: this.firstLsn },
      )
    }
    return readRecords({
      fs: this.fs,
      dir: this.dir,
      segments: [...this.#segments],
      fromLsn: from,
      toLsn: to,
      recordBytesMax: this.options.recordBytesMax,
    })
  }

  async truncateBefore(lsn: number): Promise<number> {
    if (!Number.isSafeInteger(lsn) || lsn < 0)
      throw invalidArgument(
        `truncateBefore: lsn must be a non-negative integer, got ${String(lsn)}`,
      )
    if (this.#closed) throw closedError()
    let removed = 0
    // Oldest first with a directory sync after each, so a crash leaves a gap-free suffix.
    while (this.#segments.length > 1 && (this.#segments[1] as SegmentEntry).firstLsn <= lsn) {
      const oldest = this.#segments[0] as SegmentEntry
      await this.fs.remove(joinPath(this.dir, oldest.name))
      await this.fs.syncDir(this.dir)
      this.#segments.shift()
      removed++
    }
    return removed
  }

  close(): Promise<void> {
    this.#closing ??= this.#close()
    return this.#closing
  }

  async #close(): Promise<void> {
    this.#closed = true
    try {
      await this.#drain()
      if (!this.#failure && this.#durableLsn < this.#writtenLsn)
        await this.#syncTail(this.#writtenLsn, false)
    } finally {
      this.#syncTimer?.cancel()
      await this.#tailFile.close().catch(() => undefined)
      await this.lock.release()
    }
  }
}

function closedError(): StarlingError {
  return new StarlingError('WAL_CLOSED', 'the log is closed')
}
