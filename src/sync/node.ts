/**
 * A sync node: the engine bound to a store, a transport and an environment. It performs what the
 * engine asks — sends frames, reads the store's log (the outbox), makes received batches durable
 * and applies them, computes catch-up summaries and differences — and turns the engine's events
 * into status, events and promises (`whenSynced`, `whenAcked`). Awareness (presence) travels as
 * ephemeral y-protocols messages, never through the log.
 */
import * as decoding from 'lib0/decoding'
import * as awarenessProtocol from 'y-protocols/awareness'
import * as Y from 'yjs'
import { crc32c } from '../core/crc32c.js'
import { StarlingError, invalidArgument, isStarlingError } from '../core/errors.js'
import { systemEnv, type Env, type TimerHandle } from '../core/env.js'
import { Emitter, Listeners } from '../core/listeners.js'
import { Serial } from '../core/serial.js'
import type { NodeId, PeerId } from '../core/ids.js'
import type { Store } from '../store/store.js'
import { syncPortOf, type SyncPort } from '../store/sync-port.js'
import {
  SyncEngine,
  type Effect,
  type InboundBatch,
  type PeerStatus,
  type SyncEvent,
} from './engine.js'
import { SYNC_LIMITS, type DocSummary, type LogEntry, type SyncLimits } from './protocol.js'
import type { Transport } from './transport.js'

/** The sync state of a store. */
export type SyncState = 'offline' | 'connecting' | 'syncing' | 'synced'

/** A snapshot of the sync status. */
export interface SyncStatus {
  state: SyncState
  /** Newest durable LSN of the local log. */
  durableLsn: number
  /** Records of the local log some open peer has not acknowledged yet. */
  pending: number
  /** Age (ms) of the oldest record some open peer has not acknowledged; 0 when none. */
  oldestUnackedMs: number
  peers: PeerStatus[]
}

/** Per-write status: durable here, sent to and acknowledged by which peers. */
export interface WriteStatus {
  lsn: number
  durable: boolean
  sentTo: NodeId[]
  ackedBy: NodeId[]
}

/** The events of {@link SyncNode.on}: each name and the value its listeners receive. */
export interface SyncNodeEvents {
  /** The sync status changed (its `state`). */
  status: SyncStatus
  /** Something happened on a connection (the engine's events). */
  event: SyncEvent
  /** A failure with nowhere else to go (a transport, a peer, a throwing listener). */
  error: unknown
}

/** Options of {@link startSync}. */
export interface SyncOptions {
  transport: Transport
  env?: Env
  limits?: Partial<SyncLimits>
  /** Deliberately broken behaviours for harness-sanity tests (see `SyncEngine`). */
  unsafe?: { ackBeforeDurable?: boolean; noDedupe?: boolean }
}

type Listener<T> = (value: T) => void

/** Awareness clients remembered per peer (presence of a peer's users). */
const PRESENCE_CLIENTS_MAX = 1024

/** How often written records are made durable for shipping in `batched`/`none` durability. */
const SHIP_SYNC_INTERVAL_MS = 20

/** Samples of (lsn, time committed) kept for the oldest-unacked age. */
const AGE_SAMPLES_MAX = 4096

/** Starts syncing `store` over `options.transport`. Close it before closing the store. */
export function startSync(store: Store, options: SyncOptions): SyncNode {
  return new SyncNode(store, options)
}

/** A store's connection to its peers. Create with {@link startSync}. */
export class SyncNode {
  readonly engine: SyncEngine
  readonly #store: SyncPort
  readonly #transport: Transport
  readonly #env: Env
  readonly #unsafe: { ackBeforeDurable?: boolean; noDedupe?: boolean }
  readonly #statusListeners = new Listeners<SyncStatus>()
  readonly #eventListeners = new Listeners<SyncEvent>()
  readonly #errorListeners = new Listeners<unknown>()
  readonly #events = new Emitter<SyncNodeEvents>({
    status: this.#statusListeners,
    event: this.#eventListeners,
    error: this.#errorListeners,
  })
  readonly #acked = new Map<NodeId, number>()
  readonly #sent = new Map<NodeId, number>()
  readonly #ackWaiters = new Set<{ lsn: number; peers: number; resolve: () => void }>()
  readonly #syncedWaiters = new Set<() => void>()
  readonly #ageSamples: { lsn: number; atMs: number }[] = []
  readonly #unsubscribe: () => void
  #timer: TimerHandle | undefined
  #shipTimer: TimerHandle | undefined
  #timerDueMs: number | undefined
  readonly #catchUpWork = new Serial()
  #awareness: awarenessProtocol.Awareness | undefined
  /** Awareness clients announced through each peer (removed when it goes down). */
  readonly #presenceVia = new Map<PeerId, Set<number>>()
  #state: SyncState = 'offline'
  #closed = false
  #running = false

  constructor(store: Store, options: SyncOptions) {
    if (typeof options !== 'object' || options === null || options.transport === undefined)
      throw invalidArgument('startSync: options.transport is required')
    this.#store = syncPortOf(store)
    this.#transport = options.transport
    this.#env = options.env ?? systemEnv
    this.#unsafe = options.unsafe ?? {}
    this.engine = new SyncEngine({
      nodeId: this.#store.nodeId,
      random: () => this.#env.random(),
      limits: {
        ...options.limits,
        // Never a frame the transport cannot carry.
        frameBytesMax: Math.min(
          options.limits?.frameBytesMax ?? SYNC_LIMITS.frameBytesMax,
          options.transport.messageBytesMax,
        ),
      },
      unsafe: { ackBeforeDurable: this.#unsafe.ackBeforeDurable === true },
      host: {
        firstLsn: () => this.#store.log.firstLsn,
        backlogBytes: (afterLsn) => this.#backlogBytes(afterLsn),
        inboundCursor: (node) => this.#store.cursorOf(node),
      },
    })
    for (const [node, cursor] of this.#store.ackedCursors()) this.#acked.set(node, cursor)
    this.#unsubscribe = this.#store.onDurable((lsn) => this.#committed(lsn))
    this.#store.attachSync(this)
    this.engine.tick(this.#env.monotonicMs())
    this.engine.committed(this.#store.log.durableLsn)

    this.#transport.start({
      onPeerUp: (peer) => this.#input(() => this.engine.peerUp(peer)),
      onPeerDown: (peer) => {
        this.#input(() => this.engine.peerDown(peer))
        this.#forgetPresence(peer)
      },
      onMessage: (peer, message) => this.#input(() => this.engine.receive(peer, message)),
    })
  }

  /**
   * Presence of this node's users (a y-protocols Awareness: cursors, names). Ephemeral: sent to
   * and relayed between peers, never written to the log. Created on first use (it runs a
   * renewal interval).
   */
  get awareness(): awarenessProtocol.Awareness {
    if (this.#awareness === undefined) {
      this.#awareness = new awarenessProtocol.Awareness(new Y.Doc())
      this.#awareness.on('update', this.#onAwareness)
    }
    return this.#awareness
  }

  #forgetPresence(peer: PeerId): void {
    const clients = this.#presenceVia.get(peer)
    this.#presenceVia.delete(peer)
    if (clients === undefined || this.#awareness === undefined) return
    awarenessProtocol.removeAwarenessStates(this.#awareness, [...clients], 'peer-down')
  }

  // ---- status and events ------------------------------------------------------------------

  /** The current status. */
  get status(): SyncStatus {
    const durableLsn = this.engine.durableLsn
    const peers = this.engine.peers()
    const open = peers.filter((p) => p.open)
    const minAcked = open.length === 0 ? durableLsn : Math.min(...open.map((p) => p.acked))
    const oldest = this.#ageSamples.find((sample) => sample.lsn > minAcked)
    return {
      state: this.#state,
      durableLsn,
      pending: Math.max(0, durableLsn - minAcked),
      oldestUnackedMs: oldest === undefined ? 0 : this.#env.monotonicMs() - oldest.atMs,
      peers,
    }
  }

  /** Per-write status of the record at `lsn` of the local log. */
  writeStatus(lsn: number): WriteStatus {
    const nodes = (map: Map<NodeId, number>) =>
      [...map].filter(([, at]) => at >= lsn).map(([node]) => node)
    return {
      lsn,
      durable: lsn <= this.engine.durableLsn,
      sentTo: nodes(this.#sent),
      ackedBy: nodes(this.#acked),
    }
  }

  /** Subscribes to status changes, engine events or errors; returns the unsubscribe function. */
  on<K extends keyof SyncNodeEvents>(event: K, listener: Listener<SyncNodeEvents[K]>): () => void {
    return this.#events.on(event, listener)
  }

  /**
   * Resolves once every local change made so far is durable and acknowledged by every open peer,
   * and this node holds everything its open peers reported (state `synced`).
   */
  async whenSynced(): Promise<void> {
    await this.#store.flush()
    this.#updateState()
    if (this.#state === 'synced') return
    await new Promise<void>((resolve) => this.#syncedWaiters.add(resolve))
  }

  /**
   * Resolves once the local log up to `lsn` (default: everything written so far) is acknowledged
   * — durable — at `peers` peers (default 1).
   */
  async whenAcked(lsn?: number, options: { peers?: number } = {}): Promise<void> {
    if (lsn === undefined) {
      await this.#store.flush()
      lsn = this.#store.log.durableLsn
    }
    const peers = options.peers ?? 1
    if (!Number.isSafeInteger(peers) || peers < 1)
      throw invalidArgument('whenAcked: peers must be a positive integer')
    if (this.#ackedCount(lsn) >= peers) return
    await new Promise<void>((resolve) => this.#ackWaiters.add({ lsn, peers, resolve }))
  }

  /** Stops syncing: disconnects every peer and closes the transport. The store stays open. */
  async close(): Promise<void> {
    if (this.#closed) return
    // Every connection ends here (status lists no peer as open, `peer-closed` for each): the
    // transport's own onPeerDown calls come after the node stopped listening.
    for (const { peer } of this.engine.peers()) {
      this.#input(() => this.engine.peerDown(peer))
      this.#forgetPresence(peer)
    }
    this.#closed = true
    this.#unsubscribe()
    this.#store.attachSync(undefined)
    this.#timer?.cancel()
    this.#shipTimer?.cancel()
    this.#awareness?.off('update', this.#onAwareness)
    this.#awareness?.destroy()
    await this.#transport.close()
    this.#setState('offline')
  }

  /**
   * In `batched` and `none` durability an append resolves before its fsync, and records may only
   * leave once durable (I2): when records were written but are not durable yet and peers are
   * connected, make them durable within {@link SHIP_SYNC_INTERVAL_MS} and ship them. Armed only
   * while there is something to ship, so an idle node has no timer running.
   */
  #syncForShipping(): void {
    const wal = this.#store.log
    if (wal.durability === 'sync' || this.#shipTimer !== undefined || this.#closed) return
    if (wal.durableLsn >= wal.writtenLsn || this.engine.connectionCount === 0) return
    this.#shipTimer = this.#env.setTimer(SHIP_SYNC_INTERVAL_MS, () => {
      this.#shipTimer = undefined
      if (this.#closed) return
      wal.sync().then(
        (lsn) => this.#committed(lsn),
        (error: unknown) => this.#emitError(error),
      )
    })
  }

  // ---- engine loop --------------------------------------------------------------------------

  #committed(lsn: number): void {
    if (this.#closed) return
    this.#syncForShipping()
    const last = this.#ageSamples.at(-1)
    if (last === undefined || last.lsn < lsn) {
      this.#ageSamples.push({ lsn, atMs: this.#env.monotonicMs() })
      // Halve the resolution rather than grow: the age stays an upper bound.
      if (this.#ageSamples.length > AGE_SAMPLES_MAX) {
        const kept = this.#ageSamples.filter((_, i) => i % 2 === 0)
        this.#ageSamples.splice(0, this.#ageSamples.length, ...kept)
      }
    }
    this.#input(() => this.engine.committed(lsn))
  }

  /** Feeds one input to the engine and performs what it asks. */
  #input(step: () => void): void {
    if (this.#closed) return
    this.engine.tick(this.#env.monotonicMs())
    step()
    if (this.#running) return
    this.#running = true
    try {
      for (let effects = this.engine.drain(); effects.length > 0; effects = this.engine.drain())
        for (const effect of effects) this.#perform(effect)
    } finally {
      this.#running = false
    }
    this.#armTimer()
    this.#updateState()
  }

  #perform(effect: Effect): void {
    switch (effect.kind) {
      case 'send':
        try {
          this.#transport.send(effect.peer, effect.bytes)
        } catch (error) {
          // A connection that went away reports itself through onPeerDown.
          if (!isStarlingError(error, 'TRANSPORT_CLOSED')) this.#emitError(error)
        }
        return
      case 'disconnect':
        this.#emitError(effect.error)
        this.#transport.disconnect(effect.peer, effect.error.message)
        return
      case 'event':
        return this.#onEvent(effect.event)
      case 'awareness':
        try {
          this.#rememberPresence(effect.peer, effect.update)
          awarenessProtocol.applyAwarenessUpdate(this.awareness, effect.update, effect.peer)
        } catch (error) {
          this.#emitError(
            new StarlingError('SYNC_FRAME_MALFORMED', 'bad awareness update', {}, error),
          )
        }
        return
      case 'read':
        return this.#async(() => this.#read(effect))
      case 'apply':
        return this.#async(() => this.#apply(effect.peer, effect.batch))
      // Catch-up steps run one at a time, in order: request and data frames of a round must
      // leave in the order their offers and requests came.
      case 'summarize':
        return this.#async(() =>
          this.#catchUpWork.run(() => this.#summarize(effect.peer, effect.round, effect.sinceLsn)),
        )
      case 'compare':
        return this.#async(() => this.#catchUpWork.run(() => this.#compare(effect)))
      case 'diff':
        return this.#async(() => this.#catchUpWork.run(() => this.#diff(effect)))
    }
  }

  #async(work: () => Promise<void>): void {
    work().catch((error: unknown) => this.#emitError(error))
  }

  #armTimer(): void {
    const due = this.engine.nextDeadlineMs()
    if (due === undefined || this.#closed) return
    if (this.#timerDueMs !== undefined && this.#timerDueMs <= due) return
    this.#timer?.cancel()
    this.#timerDueMs = due
    this.#timer = this.#env.setTimer(Math.max(0, due - this.#env.monotonicMs()), () => {
      this.#timer = undefined
      this.#timerDueMs = undefined
      this.#input(() => undefined)
    })
  }

  // ---- effects ------------------------------------------------------------------------------

  /** Reads the outbox: log records after `fromLsn`, as envelopes, leaving out `exclude`'s own. */
  async #read(effect: Extract<Effect, { kind: 'read' }>): Promise<void> {
    const { peer, fromLsn, bytesMax, exclude } = effect
    const wal = this.#store.log
    if (fromLsn + 1 < wal.firstLsn) {
      this.#input(() => this.engine.readTruncated(peer))
      return
    }
    const entries: LogEntry[] = []
    let toLsn = fromLsn
    let bytes = 0
    try {
      for await (const record of wal.read(fromLsn + 1, { toLsn: effect.toLsn })) {
        const envelopes = this.#store
          .outboxEnvelopes(record)
          .filter((envelope) => envelope.origin !== exclude)
        if (envelopes.length > 0) entries.push({ lsn: record.lsn, envelopes })
        toLsn = record.lsn
        bytes += record.payload.length
        if (bytes >= bytesMax) break
      }
    } catch (error) {
      if (isStarlingError(error, 'WAL_TRUNCATED')) {
        this.#input(() => this.engine.readTruncated(peer))
        return
      }
      throw error
    }
    this.#input(() => this.engine.readDone(peer, fromLsn, toLsn, entries))
  }

  async #apply(peer: PeerId, batch: InboundBatch): Promise<void> {
    try {
      if (batch.kind === 'records') {
        const envelopes = batch.entries.flatMap((entry) => entry.envelopes)
        await this.#store.applyRemote(
          { sender: batch.sender, fromLsn: batch.fromLsn, cursor: batch.toLsn, envelopes },
          { dedupe: this.#unsafe.noDedupe !== true },
        )
      } else {
        // Catch-up data has no position in the sender's log (see SyncPort.applyCatchUp).
        await this.#store.applyCatchUp(
          { sender: batch.sender, cursor: batch.complete ? batch.upTo : 0, docs: batch.docs },
          { dedupe: this.#unsafe.noDedupe !== true },
        )
      }
    } catch (error) {
      this.#input(() => this.engine.applyFailed(peer, batch, error))
      if (!isStarlingError(error, 'SYNC_UPDATE_INVALID')) this.#emitError(error)
      return
    }
    this.#input(() => this.engine.applied(peer, batch))
  }

  /**
   * Catch-up, sending side: summaries of our documents as of a log position every one of them
   * reflects (remote batches excluded, local changes durable). `sinceLsn` < 0: every document;
   * otherwise only those touched after it.
   */
  async #summarize(peer: PeerId, round: number, sinceLsn: number): Promise<void> {
    const { upTo, docs } = await this.#store.exclusive(async () => {
      // The offered documents must cover every record up to `upTo`: the key list is read from
      // the log up to exactly the position the summaries are taken at, or the round starts over
      // (a write that slipped in between would otherwise be skipped by the receiver for good).
      const keys = new Set<string>()
      let scannedTo = await this.#touchedSince(sinceLsn, keys)
      for (;;) {
        const loaded = await this.#loadDocs([...keys])
        const taken = await this.#store.whenQuiescent((durableLsn) =>
          durableLsn === scannedTo
            ? { upTo: durableLsn, docs: loaded.map(([key, doc]) => summarize(key, doc)) }
            : undefined,
        )
        if (taken !== undefined) return taken
        scannedTo = await this.#touchedSince(scannedTo, keys)
      }
    })
    this.#input(() => this.engine.summaryDone(peer, round, upTo, docs))
  }

  async #compare(effect: Extract<Effect, { kind: 'compare' }>): Promise<void> {
    const wanted: { key: string; stateVector: Uint8Array }[] = []
    for (const offered of effect.docs) {
      const doc = await this.#store.docFor(offered.key)
      const mine = summarize(offered.key, doc)
      if (
        !covers(mine.stateVector, offered.stateVector) ||
        mine.deleteSetHash !== offered.deleteSetHash
      )
        wanted.push({ key: offered.key, stateVector: mine.stateVector })
    }
    this.#input(() => this.engine.compareDone(effect.peer, effect.round, wanted, effect.last))
  }

  async #diff(effect: Extract<Effect, { kind: 'diff' }>): Promise<void> {
    const docs = await this.#store.exclusive(async () => {
      const loaded = await this.#loadDocs(effect.docs.map((d) => d.key))
      return this.#store.whenQuiescent(() =>
        loaded.map(([key, doc], i) => ({
          key,
          update: Y.encodeStateAsUpdate(doc, effect.docs[i]?.stateVector),
        })),
      )
    })
    this.#input(() => this.engine.diffDone(effect.peer, effect.round, docs, effect.last))
  }

  async #loadDocs(keys: readonly string[]): Promise<[string, Y.Doc][]> {
    const loaded: [string, Y.Doc][] = []
    for (const key of keys) loaded.push([key, await this.#store.docFor(key)])
    return loaded
  }

  /**
   * Adds to `keys` the documents touched by log records after `lsn` (every document when `lsn`
   * is negative or that part of the log is gone); returns the position scanned to.
   */
  async #touchedSince(lsn: number, keys: Set<string>): Promise<number> {
    const wal = this.#store.log
    const to = wal.writtenLsn
    if (lsn < 0 || lsn + 1 < wal.firstLsn) {
      for (const key of await this.#store.docKeys()) keys.add(key)
      return this.#touchedSince(to, keys)
    }
    try {
      for await (const record of wal.read(lsn + 1, { toLsn: to })) {
        for (const key of this.#store.touchedKeys(record)) keys.add(key)
      }
    } catch (error) {
      if (!isStarlingError(error, 'WAL_TRUNCATED')) throw error
      return this.#touchedSince(-1, keys)
    }
    return Math.max(lsn, to)
  }

  /** Estimated bytes of the log after `lsn`: records × the average record size since open. */
  #backlogBytes(afterLsn: number): number | undefined {
    const { appends, bytesWritten } = this.#store.log.stats
    if (appends === 0) return undefined
    return Math.max(0, this.engine.durableLsn - afterLsn) * (bytesWritten / appends)
  }

  /** Notes which awareness clients a peer speaks for (from the update's client ids). */
  #rememberPresence(peer: PeerId, update: Uint8Array): void {
    const decoder = decoding.createDecoder(update)
    const count = decoding.readVarUint(decoder)
    let clients = this.#presenceVia.get(peer)
    if (clients === undefined) this.#presenceVia.set(peer, (clients = new Set()))
    for (let i = 0; i < count && clients.size < PRESENCE_CLIENTS_MAX; i++) {
      clients.add(decoding.readVarUint(decoder))
      decoding.readVarUint(decoder) // clock
      decoding.readVarString(decoder) // state JSON
    }
  }

  readonly #onAwareness = (
    changes: { added: number[]; updated: number[]; removed: number[] },
    origin: unknown,
  ): void => {
    const clients = [...changes.added, ...changes.updated, ...changes.removed]
    if (clients.length === 0 || this.#closed || this.#awareness === undefined) return
    const update = awarenessProtocol.encodeAwarenessUpdate(this.#awareness, clients)
    // Relay what a peer told us to the others (chains converge on presence too).
    const from = typeof origin === 'string' ? (origin as PeerId) : undefined
    this.#input(() => this.engine.broadcastAwareness(update, from))
  }

  // ---- status bookkeeping -------------------------------------------------------------------

  #onEvent(event: SyncEvent): void {
    if (event.type === 'peer-open') this.#syncForShipping()
    if (event.type === 'acked') {
      this.#acked.set(event.node, Math.max(this.#acked.get(event.node) ?? 0, event.cursor))
      this.#store.noteAck(event.node, event.cursor)
      for (const waiter of this.#ackWaiters) {
        if (this.#ackedCount(waiter.lsn) >= waiter.peers) {
          this.#ackWaiters.delete(waiter)
          waiter.resolve()
        }
      }
    } else if (event.type === 'sent') {
      this.#sent.set(event.node, Math.max(this.#sent.get(event.node) ?? 0, event.toLsn))
    } else if (event.type === 'peer-error') {
      this.#emitError(event.error)
    }
    this.#eventListeners.emit(event, (error) => this.#emitError(error))
  }

  #ackedCount(lsn: number): number {
    let count = 0
    for (const cursor of this.#acked.values()) if (cursor >= lsn) count++
    return count
  }

  #updateState(): void {
    const peers = this.engine.peers()
    let state: SyncState
    if (this.#closed || peers.length === 0) state = 'offline'
    else if (!peers.some((p) => p.open)) state = 'connecting'
    else state = this.engine.busy ? 'syncing' : 'synced'
    this.#setState(state)
  }

  #setState(state: SyncState): void {
    const changed = state !== this.#state
    this.#state = state
    if (state === 'synced') {
      for (const resolve of this.#syncedWaiters) resolve()
      this.#syncedWaiters.clear()
    }
    if (!changed) return
    this.#statusListeners.emit(this.status, (error) => this.#emitError(error))
  }

  #emitError(error: unknown): void {
    this.#errorListeners.emit(error)
  }
}

/** A document's catch-up summary: its state vector and a hash of its delete set. */
function summarize(key: string, doc: Y.Doc): DocSummary {
  const stateVector = Y.encodeStateVector(doc)
  // An update with no structs beyond the state vector holds exactly the delete set (sorted).
  const deleteSet = Y.encodeStateAsUpdate(doc, stateVector)
  return { key, stateVector, deleteSetHash: crc32c(deleteSet) }
}

/** Whether state vector `mine` has every clock of `theirs`. */
function covers(mine: Uint8Array, theirs: Uint8Array): boolean {
  const a = Y.decodeStateVector(mine)
  for (const [client, clock] of Y.decodeStateVector(theirs)) {
    if ((a.get(client) ?? 0) < clock) return false
  }
  return true
}
