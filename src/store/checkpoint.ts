/**
 * Checkpoints: the state of every document changed since the last checkpoint goes into storage,
 * then the checkpoint LSN, then the WAL is truncated below it. Crash-safe at every step: stored
 * states are idempotent Yjs updates, the LSN is written only after them, and the WAL is cut only
 * after the LSN is durable — a crash anywhere replays at most some records twice (harmless).
 */
import * as Y from 'yjs'
import * as decoding from 'lib0/decoding'
import * as encoding from 'lib0/encoding'
import { StarlingError } from '../core/errors.js'
import type { Wal } from '../wal/index.js'
import type { CaptureBuffer } from './capture.js'
import type { DocSet } from './docs.js'
import type { StorageAdapter } from './storage.js'

/** Storage metadata names. */
export const META = {
  nodeId: 'nodeId',
  checkpointLsn: 'checkpointLsn',
  registry: 'registry',
} as const

/** What a checkpoint works on. */
export interface CheckpointTarget {
  readonly wal: Wal
  readonly storage: StorageAdapter
  readonly docs: DocSet
  readonly capture: CaptureBuffer
  readonly registryDoc: Y.Doc
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
    await capture.flush()
    const lsn = wal.lastLsn
    const bytes = this.loggedBytes
    const records = this.loggedRecords
    let stored = false
    const states = await docs.beginCheckpoint()
    try {
      for (const [key, state] of states) await storage.storeDoc(key, state)
      await storage.setMeta(META.registry, Y.encodeStateAsUpdate(registryDoc))
      await storage.setMeta(META.checkpointLsn, encodeLsn(lsn))
      stored = true
    } finally {
      docs.endCheckpoint(stored)
    }
    this.lsn = lsn
    this.loggedBytes -= bytes
    this.loggedRecords -= records
    await wal.truncateBefore(lsn + 1)
  }
}

/** Encodes an LSN for storage metadata. */
export function encodeLsn(lsn: number): Uint8Array {
  const encoder = encoding.createEncoder()
  encoding.writeVarUint(encoder, lsn)
  return encoding.toUint8Array(encoder)
}

/** Decodes a stored LSN (0 when absent). */
export function decodeLsn(bytes: Uint8Array | undefined): number {
  if (bytes === undefined) return 0
  try {
    return decoding.readVarUint(decoding.createDecoder(bytes))
  } catch (error) {
    throw new StarlingError(
      'STORAGE_CORRUPTION',
      'the stored checkpoint LSN is malformed',
      {},
      error,
    )
  }
}
