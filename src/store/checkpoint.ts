/**
 * Checkpoints: the state of every document changed since the last checkpoint goes into storage,
 * then the registry, then the checkpoint LSN, then the WAL is truncated below it. Crash-safe at
 * every step: stored states are idempotent Yjs updates taken as one consistent cut whose records
 * are durable in the WAL before any of it is stored, the LSN is written only after them, and the
 * WAL is cut only after the LSN is durable — a crash anywhere replays at most some records twice
 * (harmless).
 */
import * as Y from 'yjs'
import * as encoding from 'lib0/encoding'
import { StrictDecoder, failWith } from '../core/strict-decoder.js'
import type { Wal } from '../wal/index.js'
import type { CaptureBuffer } from './capture.js'
import type { DocSet } from './docs.js'
import type { StorageAdapter } from './storage.js'

/** Storage metadata names. */
export const META = {
  nodeId: 'nodeId',
  checkpointLsn: 'checkpointLsn',
  registry: 'registry',
  /** The sync ledger (cursors and high-water marks of remote content) as of the checkpoint. */
  syncLedger: 'syncLedger',
  /**
   * The newest LSN this store may have handed out that its WAL no longer holds (records a repair
   * lost): the log always continues after it, so peers holding those LSNs never see them reused.
   */
  lsnFloor: 'lsnFloor',
} as const

/** What a checkpoint works on. */
export interface CheckpointTarget {
  readonly wal: Wal
  readonly storage: StorageAdapter
  readonly docs: DocSet
  readonly capture: CaptureBuffer
  readonly registryDoc: Y.Doc
  /** The sync ledger as of now (taken with the cut). */
  readonly ledger: { encode(): Uint8Array }
  /**
   * The oldest LSN the WAL must keep for peers that have not acknowledged it yet (log shipping);
   * the WAL is truncated below the smaller of this and the checkpoint.
   */
  retainFrom(cutLsn: number): number
}

/** Runs checkpoints, one at a time, and counts what was logged since the last one. */
export class Checkpointer {
  loggedBytes = 0
  loggedRecords = 0
  #running: Promise<void> | undefined

  constructor(
    private readonly target: CheckpointTarget,
    /** LSN of the last checkpoint (0: none). */
    public lsn: number,
  ) {}

  /** Counts one appended record. */
  logged(bytes: number): void {
    this.loggedBytes += bytes
    this.loggedRecords++
  }

  /** Whether enough was logged to checkpoint (and none is running). */
  due(bytesMax: number, recordsMax: number): boolean {
    return (
      this.#running === undefined &&
      (this.loggedBytes >= bytesMax || this.loggedRecords >= recordsMax)
    )
  }

  /** Runs a checkpoint, or joins the one running. */
  run(): Promise<void> {
    this.#running ??= this.#run().finally(() => (this.#running = undefined))
    return this.#running
  }

  /** Resolves when no checkpoint is running. */
  async idle(): Promise<void> {
    await this.#running?.catch(() => undefined)
  }

  async #run(): Promise<void> {
    const { wal, storage, docs, capture, registryDoc } = this.target
    await capture.whenDurable()
    // The cut: synchronous from here through beginCheckpoint(), so the registry and the documents
    // are taken as of one instant (a prefix of the writes made, never half a transaction), and
    // every record up to cutLsn is in them.
    const flushed = capture.flush()
    const cutLsn = wal.lastLsn
    const bytes = this.loggedBytes
    const records = this.loggedRecords
    const registry = Y.encodeStateAsUpdate(registryDoc)
    const ledger = this.target.ledger.encode()
    const taking = docs.beginCheckpoint()
    let stored = false
    try {
      const states = await taking
      await this.#durableThrough(flushed, cutLsn)
      // One durable write for every document of the cut (all old or all new after a crash).
      if (states.size > 0) await storage.storeDocs(states)
      await storage.setMeta(META.registry, registry)
      await storage.setMeta(META.syncLedger, ledger)
      await storage.setMeta(META.checkpointLsn, encodeLsn(cutLsn))
      stored = true
    } finally {
      docs.endCheckpoint(stored)
    }
    this.lsn = cutLsn
    this.loggedBytes -= bytes
    this.loggedRecords -= records
    await wal.truncateBefore(Math.min(cutLsn + 1, this.target.retainFrom(cutLsn)))
  }

  /**
   * Waits until the WAL is durable through `lsn` (the cut's records). Nothing of the cut may reach
   * storage before: a crash between two storage writes would otherwise keep part of a write the
   * WAL lost (half a transaction), and a checkpoint LSN past the WAL's durable end makes the store
   * refuse to open after a crash.
   */
  async #durableThrough(flushed: Promise<unknown>, lsn: number): Promise<void> {
    await flushed
    const { wal } = this.target
    if (wal.durableLsn < lsn) await wal.sync() // durability 'batched' or 'none'
  }
}

/** Encodes an LSN for storage metadata. */
export function encodeLsn(lsn: number): Uint8Array {
  const encoder = encoding.createEncoder()
  encoding.writeVarUint(encoder, lsn)
  return encoding.toUint8Array(encoder)
}

const LSN_FAILURE = failWith('STORAGE_CORRUPTION', 'the stored checkpoint LSN is malformed')

/**
 * Decodes a stored LSN (0 when absent): exactly one canonical varuint, else `STORAGE_CORRUPTION`.
 */
export function decodeLsn(bytes: Uint8Array | undefined): number {
  if (bytes === undefined) return 0
  const r = new StrictDecoder(bytes, LSN_FAILURE)
  const lsn = r.varuint()
  r.end('the LSN')
  return lsn
}
