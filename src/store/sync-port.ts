/**
 * The store's sync-facing port (docs/ARCHITECTURE.md, "Sync"): everything a sync node needs of a
 * store, and nothing else. The store implements it (remote-apply.ts) and hands it out only through
 * {@link syncPortOf}, which the package's public index does not export, so the user-facing `Store`
 * API carries none of it. `src/sync` sees the store through this module alone (enforced by
 * .dependency-cruiser.cjs), as the engine sees its node only through `EngineHost`.
 */
import type * as Y from 'yjs'
import { invalidArgument } from '../core/errors.js'
import type { NodeId } from '../core/ids.js'
import type { Wal, WalRecord } from '../wal/index.js'
import type { Envelope } from './remote.js'

export type { Envelope } from './remote.js'

/** What a running sync node offers through the store (`store.whenSynced`, `store.whenAcked`). */
export interface SyncAttachment {
  whenSynced(): Promise<void>
  whenAcked(lsn?: number, options?: { peers?: number }): Promise<void>
}

/** What applying a remote batch did. */
export interface RemoteApplyResult {
  /** LSN of the record written (undefined when nothing was new). */
  lsn: number | undefined
  /** Envelopes written and applied, and envelopes skipped as already contained. */
  kept: number
  skipped: number
  /** The batch started past our cursor (an earlier one is missing): nothing was done. */
  gap: boolean
}

/** A batch of envelopes received from `sender` (records of its log, or catch-up data). */
export interface RemoteBatch {
  sender: NodeId
  /** The sender's position the batch starts after (log records only). */
  fromLsn?: number
  /** Our cursor on the sender's log once the batch is durable here. */
  cursor: number
  envelopes: readonly Envelope[]
}

/** Catch-up data from `sender`: document updates with no position in its log. */
export interface CatchUpBatch {
  sender: NodeId
  /** Our cursor on the sender's log once the batch is durable here (0: it moves nothing). */
  cursor: number
  docs: readonly { key: string; update: Uint8Array }[]
}

/** How a batch is applied: `dedupe: false` writes content that is already here (tests only). */
export interface RemoteApplyOptions {
  dedupe?: boolean
}

/** The part of the store's WAL a sync node reads: positions, statistics, the outbox. */
export type SyncLog = Pick<
  Wal,
  'durability' | 'firstLsn' | 'writtenLsn' | 'durableLsn' | 'stats' | 'read' | 'sync'
>

/** The store as a sync node sees it. */
export interface SyncPort {
  readonly nodeId: NodeId
  /** The store's WAL, read side (records leave only once durable, docs/guarantees.md I2). */
  readonly log: SyncLog
  /** Our durable cursor on `sender`'s log. */
  cursorOf(sender: NodeId): number
  /** The highest cursor each peer acknowledged on our log (kept across restarts). */
  ackedCursors(): ReadonlyMap<NodeId, number>
  /** A peer acknowledged our log up to `cursor` (kept by the next checkpoint, for retention). */
  noteAck(peer: NodeId, cursor: number): void
  /** The envelopes a record of our log ships as (quarantined content never ships). */
  outboxEnvelopes(record: WalRecord): Envelope[]
  /** The document keys a record of our log touches. */
  touchedKeys(record: WalRecord): string[]
  /**
   * Makes a batch durable in the WAL, then applies it; resolves once both are done (the caller
   * acks only then, I3). Envelopes already contained here are skipped. An invalid envelope
   * rejects the whole batch with `SYNC_UPDATE_INVALID` and changes nothing. A batch whose
   * `fromLsn` lies past our cursor (after a gap) is skipped.
   */
  applyRemote(batch: RemoteBatch, options?: RemoteApplyOptions): Promise<RemoteApplyResult>
  /** Applies catch-up data as one envelope of `sender` without a log position (through applyRemote). */
  applyCatchUp(batch: CatchUpBatch, options?: RemoteApplyOptions): Promise<RemoteApplyResult>
  /** Runs `fn` with no remote batch between its WAL append and its application (nor a checkpoint). */
  exclusive<T>(fn: () => Promise<T> | T): Promise<T>
  /**
   * Runs `fn` synchronously at a moment when every local change made so far is durable, so what
   * it reads of the documents may leave this node (I2). Inside {@link exclusive} remote batches
   * are excluded too.
   */
  whenQuiescent<T>(fn: (durableLsn: number) => T): Promise<T>
  /** The document of `key` (the registry for `REGISTRY_KEY`), loaded; a bad key throws. */
  docFor(key: string): Promise<Y.Doc>
  /** Every document key the store holds: the registry and every CRDT key. */
  docKeys(): Promise<string[]>
  /** Resolves once every local change made so far is durable (`Store.flush`). */
  flush(): Promise<void>
  /** Calls `listener` with the WAL's durable LSN whenever it may have advanced. */
  onDurable(listener: (durableLsn: number) => void): () => void
  /** The sync node running for the store registers itself (undefined: stopped). */
  attachSync(sync: SyncAttachment | undefined): void
}

const ports = new WeakMap<object, SyncPort>()

/** Binds a store to its port (the Store constructor does, once). */
export function bindSyncPort(store: object, port: SyncPort): void {
  if (ports.has(store)) throw invalidArgument('bindSyncPort: this store has a port already')
  ports.set(store, port)
}

/** The sync port of `store` (a `Store`); the one way from a store to its sync-facing surface. */
export function syncPortOf(store: object): SyncPort {
  const port = ports.get(store)
  if (port === undefined) throw invalidArgument('syncPortOf: not a Starling store')
  return port
}
