/**
 * Public types of the write-ahead log.
 */
import type { Env } from '../core/env.js'
import type { Lsn } from '../core/ids.js'
import type { FileLayer } from './file-layer.js'
import type { RecoveryReport } from './recovery.js'

/**
 * When `append` resolves, and what a crash can take away:
 * - `sync` (default): after the record's batch is written to a segment opened with `O_DSYNC` (the
 *   write is durable when it returns; no separate `fdatasync`). Survives process crashes, kernel
 *   panics and power loss.
 * - `batched`: after the batch is written to the operating system; an `fdatasync` follows within
 *   `flushIntervalMs`. Survives a process crash; power loss or a kernel crash can take the
 *   records acknowledged in the last interval.
 * - `none`: after the batch is written to the operating system; synced only on segment rotation
 *   and `close()`. Survives a process crash; power loss can take anything since the last sync.
 */
export type Durability = 'sync' | 'batched' | 'none'

/** Options of `openWal`. Limits default to `WAL_LIMITS`. */
export interface WalOptions {
  durability?: Durability
  /** `batched` only: longest time between fsyncs (default 100 ms). */
  flushIntervalMs?: number
  recordBytesMax?: number
  batchBytesMax?: number
  segmentBytesMax?: number
  waitingAppendsMax?: number
  /**
   * On corruption, keep the valid records before it and set the damaged segment and everything
   * after it aside as `*.broken` files, instead of failing with `WAL_CORRUPTION`.
   */
  repair?: boolean
  /**
   * The LSN the log continues at, at the least (default 1). When the recovered log ends before
   * `startLsn − 1` — its records are held elsewhere, e.g. in a store's checkpoint — its segments
   * are renamed `*.superseded` and the log continues at `startLsn` in a new, empty segment, so
   * LSNs never go backwards (see `recovery.restarted`).
   */
  startLsn?: number
  /** The file layer (default: the real disk through Node's `fs`). */
  fs?: FileLayer
  /** Clock, timers and randomness (default: the real ones). */
  env?: Env
}

/** A record read back from the log. */
export interface WalRecord {
  lsn: Lsn
  type: number
  /** The payload bytes (a view; copy it to keep it beyond the iteration step). */
  payload: Uint8Array
}

/** Counters of the log's work since open. */
export interface WalStats {
  appends: number
  batches: number
  bytesWritten: number
  syncs: number
  /** Most records settled by one group commit. */
  largestBatch: number
}

/** An open write-ahead log. Obtain one with {@link openWal}. */
export interface Wal {
  /** The directory of the log. */
  readonly dir: string
  /** The durability mode it was opened with. */
  readonly durability: Durability
  /** What recovery found when the log was opened. */
  readonly recovery: RecoveryReport
  /** Oldest LSN still in the log. */
  readonly firstLsn: Lsn
  /** LSN of the newest appended record (written or not yet). 0 when empty. */
  readonly lastLsn: Lsn
  /** Newest LSN whose bytes reached the operating system. */
  readonly writtenLsn: Lsn
  /** Newest LSN known to be on stable storage (`O_DSYNC` write or `fdatasync` done). */
  readonly durableLsn: Lsn
  /** Counters since open. */
  readonly stats: Readonly<WalStats>
  /**
   * Appends a record; resolves with its LSN once it is stored under the log's durability mode
   * (`sync`: after the `O_DSYNC` write of its batch). `type` is 1–255 (default 1).
   */
  append(payload: Uint8Array, type?: number): Promise<Lsn>
  /** Records from `fromLsn` (default: the oldest) up to `toLsn` (default: `writtenLsn`). */
  read(fromLsn?: number, options?: { toLsn?: number }): AsyncIterable<WalRecord>
  /** Makes everything written so far durable; resolves the new `durableLsn`. */
  sync(): Promise<Lsn>
  /** Deletes whole segments whose records are all below `lsn`; resolves how many were deleted. */
  truncateBefore(lsn: number): Promise<number>
  /** Flushes and syncs what was accepted, closes files and releases the directory lock. */
  close(): Promise<void>
}
