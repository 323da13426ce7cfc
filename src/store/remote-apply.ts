/**
 * The store's side of sync: the {@link SyncPort} implementation. A batch received from a peer is
 * validated, written to the WAL as one remote record, made durable and only then applied to the
 * registry and the documents (docs/sync.md, "Remote apply"); the outbox, catch-up reads and the
 * consistent moments catch-up needs are read here too. The Store builds it from its parts.
 */
import * as Y from 'yjs'
import { crc32c } from '../core/crc32c.js'
import { StarlingError } from '../core/errors.js'
import type { NodeId } from '../core/ids.js'
import type { Serial } from '../core/serial.js'
import type { Wal } from '../wal/index.js'
import { REMOTE_ORIGIN, type CaptureBuffer } from './capture.js'
import type { DocSet } from './docs.js'
import { REGISTRY_KEY, assertKey } from './keys.js'
import type { Quarantine } from './quarantine.js'
import { decodeUpdates, encodeUpdates, type DocUpdate } from './record-codec.js'
import type { Registry } from './registry.js'
import {
  REMOTE_RECORD_TYPE,
  encodeRemoteRecord,
  envelopesOf,
  validateEnvelope,
  type Envelope,
  type RemoteRecord,
  type SyncLedger,
} from './remote.js'
import type { StorageAdapter } from './storage.js'
import type {
  CatchUpBatch,
  RemoteApplyOptions,
  RemoteApplyResult,
  RemoteBatch,
  SyncAttachment,
  SyncPort,
} from './sync-port.js'

/** The parts and hooks of a store its sync port works with. */
export interface RemoteApplyHost {
  nodeId: NodeId
  wal: Wal
  storage: StorageAdapter
  registry: Registry
  docs: DocSet
  capture: CaptureBuffer
  ledger: SyncLedger
  quarantine: Quarantine
  /** The store's exclusive section (remote batches, checkpoints). */
  exclusive: Serial
  /** `Store.flush`. */
  flush(): Promise<void>
  /** Throws unless the store is open and has not failed. */
  usable(): void
  /** Counts an appended record (checkpoint thresholds) and tells durable listeners. */
  appended(bytes: number): void
  onDurable(listener: (durableLsn: number) => void): () => void
  attachSync(sync: SyncAttachment | undefined): void
  /** A remote update of `key` was applied. */
  changed(key: string): void
  emitError(error: unknown): void
}

/** The sync port of the store made of `host`'s parts. */
export function createSyncPort(host: RemoteApplyHost): SyncPort {
  const port: SyncPort = {
    nodeId: host.nodeId,
    log: host.wal,
    cursorOf: (sender) => host.ledger.cursorOf(sender),
    ackedCursors: () => host.ledger.acked,
    noteAck: (peer, cursor) => host.ledger.noteAck(peer, cursor),
    outboxEnvelopes: (record) => envelopesOf(host.nodeId, record, host.quarantine),
    touchedKeys: (record) =>
      envelopesOf(host.nodeId, record).flatMap((envelope) =>
        decodeUpdates(envelope.payload).map(({ key }) => key),
      ),
    applyRemote: (batch, options) => applyRemote(host, batch, options),
    // Through the port's own applyRemote, so whoever observes that one sees catch-up too.
    applyCatchUp: (batch, options) => port.applyRemote(catchUpBatch(batch), options),
    exclusive: (fn) => host.exclusive.run(fn),
    whenQuiescent: (fn) => whenQuiescent(host, fn),
    docFor: (key) => docFor(host, key),
    docKeys: () => docKeys(host),
    flush: () => host.flush(),
    onDurable: (listener) => host.onDurable(listener),
    attachSync: (sync) => host.attachSync(sync),
  }
  return port
}

/** See {@link SyncPort.applyRemote}. */
function applyRemote(
  host: RemoteApplyHost,
  batch: RemoteBatch,
  options: RemoteApplyOptions = {},
): Promise<RemoteApplyResult> {
  return host.exclusive.run(async () => {
    host.usable()
    const { ledger, wal } = host
    const cursorNow = ledger.cursorOf(batch.sender)
    if (batch.fromLsn !== undefined && batch.fromLsn > cursorNow)
      return { lsn: undefined, kept: 0, skipped: batch.envelopes.length, gap: true }
    const fresh: Envelope[] = []
    const updates: DocUpdate[][] = []
    for (const envelope of batch.envelopes) {
      if (options.dedupe !== false && ledger.contains(envelope)) continue
      const list = validateEnvelope(envelope)
      if (options.dedupe !== false && (await holdsAll(host, envelope, list))) continue
      fresh.push(envelope)
      updates.push(list)
    }
    const cursor = Math.max(cursorNow, batch.cursor)
    const skipped = batch.envelopes.length - fresh.length
    if (fresh.length === 0) {
      // Nothing new: the cursor moves in memory only. Writing a record for it would put a new
      // record in our log, which we would ship, which the peer would answer likewise — forever.
      // Its content is here already, so losing the move in a crash costs a resend, nothing more.
      ledger.raiseInbound(batch.sender, cursor)
      return { lsn: undefined, kept: 0, skipped, gap: false }
    }
    const record: RemoteRecord = { sender: batch.sender, cursor, envelopes: fresh }
    const payload = encodeRemoteRecord(record)
    const lsn = await wal.append(payload, REMOTE_RECORD_TYPE)
    // In 'batched' and 'none' durability an append resolves before the fsync; an ack may not.
    if (wal.durableLsn < lsn) await wal.sync()
    ledger.note(record)
    updates.forEach((list, index) => applyRemoteUpdates(host, list, lsn, index))
    host.appended(payload.length)
    return { lsn, kept: fresh.length, skipped, gap: false }
  })
}

/**
 * Catch-up data has no position in the sender's log (originLsn 0). It must not claim one: the
 * envelope is relayed as it is, and a position would tell every later receiver that it holds the
 * sender's log up to there, when the data only covers what this node lacked.
 */
function catchUpBatch(batch: CatchUpBatch): RemoteBatch {
  if (batch.docs.length === 0) return { sender: batch.sender, cursor: batch.cursor, envelopes: [] }
  const payload = encodeUpdates(batch.docs)
  const envelope: Envelope = {
    origin: batch.sender,
    originLsn: 0,
    hlc: { wallMs: 0, counter: 0 },
    payload,
    crc: crc32c(payload),
  }
  return { sender: batch.sender, cursor: batch.cursor, envelopes: [envelope] }
}

/**
 * Whether every update of an envelope without an origin position (part of a state-vector
 * catch-up) is already contained in our documents. Attributed envelopes are checked by origin
 * position alone (cheap and exact); these need the documents themselves, or they would travel
 * between relaying peers forever.
 */
async function holdsAll(
  host: RemoteApplyHost,
  envelope: Envelope,
  updates: readonly DocUpdate[],
): Promise<boolean> {
  if (envelope.originLsn !== 0) return false
  for (const { key, update } of updates) {
    const doc = await docFor(host, key)
    if (!Y.snapshotContainsUpdate(Y.snapshot(doc), update)) return false
  }
  return true
}

/**
 * Applies the updates of envelope `index` of the remote record at `lsn` (durable here) to the
 * registry and the documents. They were checked before the append (validateEnvelope); should
 * one throw all the same, the envelope is quarantined and reported, never thrown (I10).
 */
function applyRemoteUpdates(
  host: RemoteApplyHost,
  updates: readonly DocUpdate[],
  lsn: number,
  index: number,
): void {
  const { registry, docs, quarantine } = host
  const registryUpdates = updates.filter(({ key }) => key === REGISTRY_KEY)
  if (registryUpdates.length > 0) {
    try {
      registry.doc.transact(() => {
        for (const { update } of registryUpdates) Y.applyUpdate(registry.doc, update, REMOTE_ORIGIN)
      }, REMOTE_ORIGIN)
    } catch (error) {
      host.emitError(unappliable(quarantine, REGISTRY_KEY, { lsn, index }, error))
    }
  }
  for (const { key, update } of updates) {
    if (key === REGISTRY_KEY) continue
    try {
      docs.addExternal(key, update, REMOTE_ORIGIN)
    } catch (error) {
      host.emitError(unappliable(quarantine, key, { lsn, index }, error))
    }
    host.changed(key)
  }
}

/** The typed report of an update that threw; quarantined when its log position is known. */
export function unappliable(
  quarantine: Quarantine,
  key: string,
  at: { lsn: number; index: number } | undefined,
  error: unknown,
): StarlingError {
  const reason = error instanceof Error ? error.message : String(error)
  if (at !== undefined) return quarantine.add({ lsn: at.lsn, envelope: at.index, key, reason })
  return new StarlingError(
    'STORE_RECORD_QUARANTINED',
    `a logged update of ${JSON.stringify(key.slice(0, 80))} cannot be applied and is skipped: ${reason}`,
    { key },
    error,
  )
}

/** See {@link SyncPort.whenQuiescent}. */
async function whenQuiescent<T>(host: RemoteApplyHost, fn: (durableLsn: number) => T): Promise<T> {
  const { capture, wal } = host
  for (;;) {
    host.usable()
    await capture.flush()
    if (capture.idle && wal.durableLsn === wal.lastLsn) return fn(wal.durableLsn)
    // In 'batched' and 'none' durability a flushed write is written, not yet synced; waiting
    // for the interval sync here would spin on resolved promises and starve the very timer.
    if (wal.durableLsn < wal.lastLsn) await wal.sync()
  }
}

/** See {@link SyncPort.docFor}. */
async function docFor(host: RemoteApplyHost, key: string): Promise<Y.Doc> {
  if (key === REGISTRY_KEY) return host.registry.doc
  // Keys from peers pass the same validator as keys from the API (a bad one loads nothing).
  assertKey(key, 'sync')
  const entry = host.docs.get(key)
  await entry.loaded
  return entry.doc
}

/** See {@link SyncPort.docKeys}. */
async function docKeys(host: RemoteApplyHost): Promise<string[]> {
  const keys = new Set<string>([REGISTRY_KEY])
  for (const [key, recorded] of host.registry.recordedPolicies())
    if (recorded.startsWith('crdt:')) keys.add(key)
  for (const key of await host.storage.listDocs()) keys.add(key)
  for (const key of host.docs.knownKeys()) keys.add(key)
  return [...keys]
}
