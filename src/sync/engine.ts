/**
 * The sync engine: a sans-IO state machine (docs/sync.md, docs/sync.md). Inputs are transport
 * events, received frame bytes, "the local log is durable up to L", answers to the effects it
 * asked for, and clock ticks. Outputs are effects: frames to send, log reads, batches to make
 * durable and apply, catch-up computations, disconnects and events. It never touches a socket, a
 * timer, `Date.now()` or `Math.random()`: time comes in through `tick(nowMs)`, chance through the
 * injected `random`, so a seeded simulator replays any run exactly.
 *
 * Per connection it runs two independent directions:
 * - outbound (our log to them): after their RESUME(cursor), stream records after the cursor in
 *   LSN order in RECORDS frames under the batch size, at most `inflightFramesMax` /
 *   `inflightBytesMax` unacknowledged (backpressure); on an ack timeout resend from the acked
 *   cursor with exponential backoff and jitter; give up and disconnect after `retriesMax`. When
 *   the log below their cursor is gone, or the gap is large, catch up by state vectors instead.
 * - inbound (their log to us): filter what is already durable or queued, hand a batch to the
 *   host to make durable and apply, and ack the cursor only once the host says it is durable (I3).
 */
import { StarlingError, isStarlingError } from '../core/errors.js'
import type { NodeId, PeerId } from '../core/ids.js'
import { checkCatchUpDocs } from './catch-up-checks.js'
import { decodeFrame, encodeFrame } from './frames.js'
import {
  SYNC_LIMITS,
  SYNC_PROTOCOL_VERSION,
  type CatchUpDataFrame,
  type CatchUpOfferFrame,
  type CatchUpRequestFrame,
  type DocSummary,
  type Frame,
  type LogEntry,
  type RecordsFrame,
  type SyncLimits,
} from './protocol.js'

/** Resends before a peer that never acks is disconnected. */
export const RETRIES_MAX = 8

/** A batch received from a peer, to be made durable and applied by the host. */
export type InboundBatch =
  | {
      kind: 'records'
      sender: NodeId
      /** The sender's log records after `fromLsn` up to `toLsn` (the new cursor). */
      fromLsn: number
      toLsn: number
      entries: LogEntry[]
    }
  | {
      kind: 'catchUp'
      sender: NodeId
      /** Differences to apply; when `complete`, the cursor becomes `upTo`. */
      docs: { key: string; update: Uint8Array }[]
      upTo: number
      complete: boolean
    }

/** What the engine asks its driver to do. */
export type Effect =
  | { kind: 'send'; peer: PeerId; bytes: Uint8Array; frame: Frame['type'] }
  | {
      kind: 'read'
      peer: PeerId
      /** Records after `fromLsn` up to `toLsn`, at most about `bytesMax` (at least one record). */
      fromLsn: number
      toLsn: number
      bytesMax: number
      /** Envelopes whose origin is this node are left out (the peer has them). */
      exclude: NodeId
    }
  | { kind: 'apply'; peer: PeerId; batch: InboundBatch }
  | { kind: 'summarize'; peer: PeerId; round: number; sinceLsn: number }
  | { kind: 'compare'; peer: PeerId; round: number; docs: DocSummary[]; last: boolean }
  | {
      kind: 'diff'
      peer: PeerId
      round: number
      docs: { key: string; stateVector: Uint8Array }[]
      last: boolean
    }
  | { kind: 'awareness'; peer: PeerId; update: Uint8Array }
  | { kind: 'disconnect'; peer: PeerId; error: StarlingError }
  | { kind: 'event'; event: SyncEvent }

/** Something observable happened. */
export type SyncEvent =
  | { type: 'peer-open'; peer: PeerId; node: NodeId }
  | { type: 'peer-closed'; peer: PeerId; node: NodeId | undefined }
  | { type: 'sent'; node: NodeId; toLsn: number }
  | { type: 'acked'; node: NodeId; cursor: number }
  | { type: 'received'; node: NodeId; cursor: number }
  | { type: 'catch-up'; node: NodeId; direction: 'out' | 'in'; phase: 'start' | 'done' }
  | { type: 'peer-error'; peer: PeerId; node: NodeId | undefined; error: StarlingError }
  | { type: 'retry'; node: NodeId; retries: number; fromLsn: number }

/** What the engine may ask of its host synchronously (pure queries, no I/O). */
export interface EngineHost {
  /** Oldest LSN still readable from the local log. */
  firstLsn(): number
  /** Bytes of log records after `lsn`, if known. */
  backlogBytes(afterLsn: number): number | undefined
  /** Our durable cursor on `node`'s log (what we hold of it, on disk). */
  inboundCursor(node: NodeId): number
}

/** Options of the engine. */
export interface EngineOptions {
  nodeId: NodeId
  host: EngineHost
  /** A uniformly distributed float in [0, 1) (from the env: seeded in the simulator). */
  random: () => number
  limits?: Partial<SyncLimits>
  /**
   * Deliberately broken behaviours, for proving that the simulator's oracles catch them. Never
   * set outside such tests.
   */
  unsafe?: { ackBeforeDurable?: boolean }
}

interface Inflight {
  toLsn: number
  bytes: number
}

interface Connection {
  readonly peer: PeerId
  node: NodeId | undefined
  badFrames: number
  lastSeenMs: number
  // outbound
  resumed: boolean
  acked: number
  sent: number
  inflight: Inflight[]
  inflightBytes: number
  reading: boolean
  deadlineMs: number | undefined
  retries: number
  mode: 'log' | 'catchUp'
  outRound: number
  outUpTo: number
  // inbound
  peerLastLsn: number
  inRound: number
  requested: Set<string>
  receivedDocs: Set<string>
  offersDone: boolean
}

/** Per-peer figures for status. */
export interface PeerStatus {
  peer: PeerId
  node: NodeId | undefined
  open: boolean
  /** Their durable cursor on our log. */
  acked: number
  /** Records of ours they do not have yet. */
  behind: number
  /** Records of theirs we do not have yet (as far as we know). */
  ahead: number
  mode: 'log' | 'catchUp'
  lastSeenMs: number
  badFrames: number
}

/** The sync state machine of one node. */
export class SyncEngine {
  readonly nodeId: NodeId
  readonly limits: SyncLimits
  readonly #host: EngineHost
  readonly #random: () => number
  readonly #unsafe: { ackBeforeDurable?: boolean }
  readonly #connections = new Map<PeerId, Connection>()
  /** Highest cursor queued for apply per sender (durable or on its way). */
  readonly #queued = new Map<NodeId, number>()
  /** Batches handed to the host and not answered, per connection. */
  readonly #applying = new Map<PeerId, number>()
  #effects: Effect[] = []
  #durableLsn = 0
  #nowMs = 0

  constructor(options: EngineOptions) {
    this.nodeId = options.nodeId
    this.#host = options.host
    this.#random = options.random
    this.#unsafe = options.unsafe ?? {}
    this.limits = { ...SYNC_LIMITS, ...options.limits }
  }

  /** Takes the effects produced so far (in order). */
  drain(): Effect[] {
    const effects = this.#effects
    this.#effects = []
    return effects
  }

  /** The local log is durable up to `lsn` (local commits and applied remote batches). */
  committed(lsn: number): void {
    if (lsn <= this.#durableLsn) return
    this.#durableLsn = lsn
    for (const connection of this.#connections.values()) this.#pump(connection)
  }

  get durableLsn(): number {
    return this.#durableLsn
  }

  /** Moves the engine's clock (monotonic ms) and fires due ack timeouts. */
  tick(nowMs: number): void {
    this.#nowMs = Math.max(this.#nowMs, nowMs)
    for (const connection of this.#connections.values()) {
      if (connection.deadlineMs !== undefined && this.#nowMs >= connection.deadlineMs)
        this.#timeout(connection)
    }
  }

  /** The earliest time `tick` has something to do, if any. */
  nextDeadlineMs(): number | undefined {
    let next: number | undefined
    for (const { deadlineMs } of this.#connections.values()) {
      if (deadlineMs !== undefined && (next === undefined || deadlineMs < next)) next = deadlineMs
    }
    return next
  }

  // ---- transport events -----------------------------------------------------------------

  peerUp(peer: PeerId): void {
    if (this.#connections.has(peer)) this.peerDown(peer)
    const connection: Connection = {
      peer,
      node: undefined,
      badFrames: 0,
      lastSeenMs: this.#nowMs,
      resumed: false,
      acked: 0,
      sent: 0,
      inflight: [],
      inflightBytes: 0,
      reading: false,
      deadlineMs: undefined,
      retries: 0,
      mode: 'log',
      outRound: 0,
      outUpTo: 0,
      peerLastLsn: 0,
      inRound: 0,
      requested: new Set(),
      receivedDocs: new Set(),
      offersDone: false,
    }
    this.#connections.set(peer, connection)
    this.#sendHello(connection)
    this.#armDeadline(connection)
  }

  #sendHello(connection: Connection): void {
    this.#send(connection, {
      type: 'hello',
      protocolVersion: SYNC_PROTOCOL_VERSION,
      nodeId: this.nodeId,
      lastLsn: this.#durableLsn,
    })
  }

  peerDown(peer: PeerId): void {
    const connection = this.#connections.get(peer)
    if (connection === undefined) return
    this.#connections.delete(peer)
    this.#applying.delete(peer)
    // What was queued from this peer but not made durable will be asked for again.
    if (connection.node !== undefined) this.#queued.delete(connection.node)
    this.#event({ type: 'peer-closed', peer, node: connection.node })
  }

  /** A message from `peer`. Bad bytes are counted against the peer, never thrown. */
  receive(peer: PeerId, bytes: Uint8Array): void {
    const connection = this.#connections.get(peer)
    if (connection === undefined) return
    connection.lastSeenMs = this.#nowMs
    let frame: Frame
    try {
      frame = decodeFrame(bytes, this.#frameLimits())
    } catch (error) {
      // Another frame format: nothing this node says would be understood. Say so and hang up.
      if (isStarlingError(error, 'SYNC_PROTOCOL_VERSION')) this.#drop(connection, error)
      else this.#bad(connection, error)
      return
    }
    try {
      this.#handle(connection, frame)
    } catch (error) {
      this.#bad(connection, error)
    }
  }

  // ---- answers to effects ---------------------------------------------------------------

  /** Answer to a `read`: the records found (entries may be empty when all were excluded). */
  readDone(peer: PeerId, fromLsn: number, readTo: number, entries: LogEntry[]): void {
    let toLsn = readTo
    const connection = this.#connections.get(peer)
    if (connection === undefined) return
    connection.reading = false
    // A read issued before a resend or a catch-up is stale.
    if (connection.mode !== 'log' || fromLsn !== connection.sent || toLsn <= fromLsn) {
      this.#pump(connection)
      return
    }
    const sent = this.#sendRecords(connection, fromLsn, toLsn, entries)
    if (sent === undefined) return
    const { bytes } = sent
    toLsn = sent.toLsn
    connection.sent = toLsn
    connection.inflight.push({ toLsn, bytes })
    connection.inflightBytes += bytes
    this.#armDeadline(connection)
    if (connection.node !== undefined) this.#event({ type: 'sent', node: connection.node, toLsn })
    this.#pump(connection)
  }

  /**
   * Sends a RECORDS frame; when it would exceed the frame limit, sends the records before the last
   * one (the rest follows in the next frame). A single record too large for any frame cannot be
   * shipped: the peer catches up by state vectors instead. Returns what was sent.
   */
  #sendRecords(
    connection: Connection,
    fromLsn: number,
    toLsn: number,
    entries: LogEntry[],
  ): { toLsn: number; bytes: number } | undefined {
    for (;;) {
      try {
        const frame: RecordsFrame = { type: 'records', fromLsn, toLsn, entries }
        return { toLsn, bytes: this.#send(connection, frame) }
      } catch (error) {
        if (!isStarlingError(error, 'SYNC_FRAME_TOO_LARGE')) throw error
        const last = entries.at(-1)
        if (entries.length <= 1 || last === undefined) {
          this.#event({ type: 'peer-error', peer: connection.peer, node: connection.node, error })
          this.#startCatchUp(connection)
          return undefined
        }
        entries = entries.slice(0, -1)
        toLsn = last.lsn - 1
      }
    }
  }

  /** Answer to a `read` that found the log truncated below the peer's cursor. */
  readTruncated(peer: PeerId): void {
    const connection = this.#connections.get(peer)
    if (connection === undefined) return
    connection.reading = false
    if (connection.mode === 'log') this.#startCatchUp(connection)
  }

  /** Answer to `apply`: the batch is durable here (and applied). Sends the ack. */
  applied(peer: PeerId, batch: InboundBatch): void {
    this.#settled(peer)
    const connection = this.#connections.get(peer)
    if (connection === undefined) return
    const cursor = this.#host.inboundCursor(batch.sender)
    this.#event({ type: 'received', node: batch.sender, cursor })
    if (batch.kind === 'catchUp' && batch.complete) {
      this.#event({ type: 'catch-up', node: batch.sender, direction: 'in', phase: 'done' })
    }
    if (batch.kind === 'records' || batch.complete) this.#send(connection, { type: 'ack', cursor })
  }

  /** Answer to `apply`: the batch was refused (invalid content) or could not be stored. */
  applyFailed(peer: PeerId, batch: InboundBatch, error: unknown): void {
    this.#settled(peer)
    this.#queued.delete(batch.sender)
    const connection = this.#connections.get(peer)
    if (connection !== undefined && isStarlingError(error, 'SYNC_UPDATE_INVALID'))
      this.#bad(connection, error)
  }

  /** Answer to `summarize`: our documents as of our log position `upTo`. */
  summaryDone(peer: PeerId, round: number, upTo: number, docs: DocSummary[]): void {
    const connection = this.#connections.get(peer)
    if (connection === undefined || connection.mode !== 'catchUp' || round !== connection.outRound)
      return
    connection.outUpTo = upTo
    const per = this.limits.catchUpDocsPerFrame
    for (let at = 0; at < docs.length || at === 0; at += per) {
      const frame: CatchUpOfferFrame = {
        type: 'catchUpOffer',
        round,
        upTo,
        docs: docs.slice(at, at + per),
        last: at + per >= docs.length,
      }
      this.#send(connection, frame)
    }
    this.#armDeadline(connection)
  }

  /** Answer to `compare`: the offered documents we lack something of, with our state vectors. */
  compareDone(
    peer: PeerId,
    round: number,
    wanted: { key: string; stateVector: Uint8Array }[],
    last: boolean,
  ): void {
    const connection = this.#connections.get(peer)
    if (connection === undefined || round !== connection.inRound) return
    for (const { key } of wanted) connection.requested.add(key)
    if (last) connection.offersDone = true
    const frame: CatchUpRequestFrame = { type: 'catchUpRequest', round, docs: wanted, last }
    this.#send(connection, frame)
  }

  /** Answer to `diff`: the differences for the requested documents. */
  diffDone(
    peer: PeerId,
    round: number,
    docs: { key: string; update: Uint8Array }[],
    last: boolean,
  ): void {
    const connection = this.#connections.get(peer)
    if (connection === undefined || connection.mode !== 'catchUp' || round !== connection.outRound)
      return
    const chunks = chunkBySize(docs, this.limits.batchBytesTarget)
    try {
      chunks.forEach((chunk, i) => {
        const frame: CatchUpDataFrame = {
          type: 'catchUpData',
          round,
          upTo: connection.outUpTo,
          docs: chunk,
          last: last && i === chunks.length - 1,
        }
        this.#send(connection, frame)
      })
    } catch (error) {
      // One document's difference larger than a frame: it cannot be sent (docs/sync.md, limits).
      if (!isStarlingError(error, 'SYNC_FRAME_TOO_LARGE')) throw error
      this.#drop(connection, error)
      return
    }
    this.#armDeadline(connection)
  }

  /** Sends an awareness update to every open peer except `except`. */
  broadcastAwareness(update: Uint8Array, except?: PeerId): void {
    for (const connection of this.#connections.values()) {
      if (connection.node !== undefined && connection.peer !== except)
        this.#send(connection, { type: 'awareness', update })
    }
  }

  // ---- status -----------------------------------------------------------------------------

  /** Per-connection figures. */
  peers(): PeerStatus[] {
    return [...this.#connections.values()].map((c) => ({
      peer: c.peer,
      node: c.node,
      open: c.node !== undefined,
      acked: c.acked,
      behind: c.resumed ? Math.max(0, this.#durableLsn - c.acked) : 0,
      ahead:
        c.node === undefined ? 0 : Math.max(0, c.peerLastLsn - this.#host.inboundCursor(c.node)),
      mode: c.mode,
      lastSeenMs: c.lastSeenMs,
      badFrames: c.badFrames,
    }))
  }

  /** Whether any connection still has work in either direction. */
  get busy(): boolean {
    for (const c of this.#connections.values()) {
      if (c.node === undefined || !c.resumed) return true
      if (c.mode === 'catchUp' || c.acked < this.#durableLsn) return true
      if (this.#host.inboundCursor(c.node) < c.peerLastLsn) return true
    }
    return false
  }

  get connectionCount(): number {
    return this.#connections.size
  }

  // ---- frames -------------------------------------------------------------------------------

  #handle(connection: Connection, frame: Frame): void {
    if (frame.type === 'hello') return this.#onHello(connection, frame.nodeId, frame)
    if (frame.type === 'error') {
      this.#event({
        type: 'peer-error',
        peer: connection.peer,
        node: connection.node,
        error: new StarlingError('SYNC_PROTOCOL_VIOLATION', `peer reported ${frame.code}`, {
          code: frame.code,
          message: frame.message,
        }),
      })
      return
    }
    const node = connection.node
    if (node === undefined) throw violation(`${frame.type} before hello`)
    switch (frame.type) {
      case 'resume':
        return this.#onResume(connection, frame.cursor)
      case 'records':
        return this.#onRecords(connection, node, frame)
      case 'ack':
        return this.#onAck(connection, frame.cursor)
      case 'catchUpOffer':
        return this.#onOffer(connection, frame)
      case 'catchUpRequest':
        return this.#onRequest(connection, frame)
      case 'catchUpData':
        return this.#onData(connection, node, frame)
      case 'awareness':
        this.#effects.push({ kind: 'awareness', peer: connection.peer, update: frame.update })
        return
    }
  }

  #onHello(
    connection: Connection,
    node: NodeId,
    frame: { lastLsn: number; protocolVersion: number },
  ): void {
    if (connection.node !== undefined) {
      // A repeated HELLO (ours or our RESUME was lost, and the peer timed out): answer again.
      if (node !== connection.node) throw violation('a second hello naming another node')
      this.#send(connection, { type: 'resume', cursor: this.#host.inboundCursor(node) })
      return
    }
    if (frame.protocolVersion !== SYNC_PROTOCOL_VERSION) {
      this.#drop(
        connection,
        new StarlingError(
          'SYNC_PROTOCOL_VERSION',
          `peer speaks sync protocol ${frame.protocolVersion}, this node ${SYNC_PROTOCOL_VERSION}`,
          { theirs: frame.protocolVersion, ours: SYNC_PROTOCOL_VERSION },
        ),
      )
      return
    }
    if (node === this.nodeId) {
      this.#drop(connection, violation('connected to itself'))
      return
    }
    // One connection per node: a newer one replaces an older one (a reconnect we saw first).
    for (const other of this.#connections.values()) {
      if (other !== connection && other.node === node)
        this.#drop(other, new StarlingError('SYNC_PEER_DROPPED', 'replaced by a newer connection'))
    }
    connection.node = node
    connection.peerLastLsn = frame.lastLsn
    this.#send(connection, { type: 'resume', cursor: this.#host.inboundCursor(node) })
    this.#event({ type: 'peer-open', peer: connection.peer, node })
  }

  #onResume(connection: Connection, cursor: number): void {
    if (connection.resumed) {
      // An answer to a repeated HELLO, or a duplicate: it can only confirm more of our log.
      if (cursor > connection.acked && cursor <= this.#durableLsn) this.#onAck(connection, cursor)
      return
    }
    if (cursor > this.#durableLsn) {
      // The peer holds our log further than it goes. Records only leave once durable (I2), so
      // this log lost synced records: its directory was restored from an older copy (or its
      // disk lies). The LSNs we write next are ones the peer holds already, with other content:
      // it would take them for duplicates and drop them for good. Refuse, and say so.
      this.#drop(connection, rewound(connection.node, cursor, this.#durableLsn))
      return
    }
    connection.deadlineMs = undefined
    connection.retries = 0
    connection.resumed = true
    connection.acked = cursor
    connection.sent = cursor
    if (this.#needsCatchUp(cursor)) this.#startCatchUp(connection)
    else this.#pump(connection)
  }

  #needsCatchUp(cursor: number): boolean {
    if (cursor >= this.#durableLsn) return false
    if (cursor + 1 < this.#host.firstLsn()) return true
    if (this.#durableLsn - cursor > this.limits.catchUpRecordsMin) return true
    const bytes = this.#host.backlogBytes(cursor)
    return bytes !== undefined && bytes > this.limits.catchUpBytesMin
  }

  #onRecords(connection: Connection, node: NodeId, frame: RecordsFrame): void {
    connection.peerLastLsn = Math.max(connection.peerLastLsn, frame.toLsn)
    const durable = this.#host.inboundCursor(node)
    const queued = Math.max(durable, this.#queued.get(node) ?? 0)
    if (frame.toLsn <= queued) {
      // A duplicate or a resend of what we hold: repeat the ack so the sender moves on.
      if (frame.toLsn <= durable) this.#send(connection, { type: 'ack', cursor: durable })
      return
    }
    // A gap (an earlier frame was lost): ignore; the sender resends from our cursor.
    if (frame.fromLsn > queued) return
    // Too much queued from this connection: drop; the ack timeout brings it back (backpressure).
    if ((this.#applying.get(connection.peer) ?? 0) >= this.limits.applyQueueMax) return
    const entries = frame.entries.filter((entry) => entry.lsn > queued)
    this.#queued.set(node, frame.toLsn)
    this.#apply(connection, {
      kind: 'records',
      sender: node,
      fromLsn: queued,
      toLsn: frame.toLsn,
      entries,
    })
    if (this.#unsafe.ackBeforeDurable === true)
      this.#send(connection, { type: 'ack', cursor: frame.toLsn })
  }

  #onAck(connection: Connection, cursor: number): void {
    if (!connection.resumed) throw violation('ack before resume')
    if (cursor > this.#durableLsn) throw violation(`ack of ${cursor} past our log end`)
    if (cursor <= connection.acked) return
    connection.acked = cursor
    if (connection.mode === 'catchUp') {
      if (cursor < connection.outUpTo) return
      connection.mode = 'log'
      if (connection.node !== undefined) {
        this.#event({ type: 'catch-up', node: connection.node, direction: 'out', phase: 'done' })
      }
    }
    if (connection.sent < cursor) connection.sent = cursor
    const kept = connection.inflight.filter((f) => f.toLsn > cursor)
    connection.inflight = kept
    connection.inflightBytes = kept.reduce((sum, f) => sum + f.bytes, 0)
    connection.retries = 0
    connection.deadlineMs = undefined
    if (kept.length > 0) this.#armDeadline(connection)
    if (connection.node !== undefined) this.#event({ type: 'acked', node: connection.node, cursor })
    this.#pump(connection)
  }

  #onOffer(connection: Connection, frame: CatchUpOfferFrame): void {
    checkCatchUpDocs(frame.type, frame.docs)
    if (frame.round < connection.inRound) return
    if (frame.round > connection.inRound) {
      connection.inRound = frame.round
      connection.requested = new Set()
      connection.receivedDocs = new Set()
      connection.offersDone = false
      if (connection.node !== undefined) {
        this.#event({ type: 'catch-up', node: connection.node, direction: 'in', phase: 'start' })
      }
    }
    connection.peerLastLsn = Math.max(connection.peerLastLsn, frame.upTo)
    this.#effects.push({
      kind: 'compare',
      peer: connection.peer,
      round: frame.round,
      docs: frame.docs,
      last: frame.last,
    })
  }

  #onRequest(connection: Connection, frame: CatchUpRequestFrame): void {
    checkCatchUpDocs(frame.type, frame.docs)
    if (connection.mode !== 'catchUp' || frame.round !== connection.outRound) return
    // The round makes progress: its deadline starts again from the data about to be sent.
    connection.deadlineMs = undefined
    this.#effects.push({
      kind: 'diff',
      peer: connection.peer,
      round: frame.round,
      docs: frame.docs,
      last: frame.last,
    })
  }

  #onData(connection: Connection, node: NodeId, frame: CatchUpDataFrame): void {
    checkCatchUpDocs(frame.type, frame.docs)
    if (frame.round !== connection.inRound) return
    for (const { key } of frame.docs) connection.receivedDocs.add(key)
    // The cursor may only jump to `upTo` when every requested document arrived in this round
    // (a lost data frame would otherwise skip its documents for good).
    let complete = frame.last && connection.offersDone
    if (complete)
      for (const key of connection.requested) complete &&= connection.receivedDocs.has(key)
    this.#apply(connection, {
      kind: 'catchUp',
      sender: node,
      docs: frame.docs,
      upTo: frame.upTo,
      complete,
    })
  }

  // ---- outbound -----------------------------------------------------------------------------

  #pump(connection: Connection): void {
    if (!connection.resumed || connection.mode !== 'log' || connection.reading) return
    if (connection.node === undefined || connection.sent >= this.#durableLsn) return
    if (connection.inflight.length >= this.limits.inflightFramesMax) return
    if (connection.inflightBytes >= this.limits.inflightBytesMax) return
    connection.reading = true
    this.#effects.push({
      kind: 'read',
      peer: connection.peer,
      fromLsn: connection.sent,
      toLsn: this.#durableLsn,
      bytesMax: this.limits.batchBytesTarget,
      exclude: connection.node,
    })
  }

  #startCatchUp(connection: Connection): void {
    connection.mode = 'catchUp'
    connection.outRound++
    connection.inflight = []
    connection.inflightBytes = 0
    connection.sent = connection.acked
    if (connection.node !== undefined) {
      this.#event({ type: 'catch-up', node: connection.node, direction: 'out', phase: 'start' })
    }
    this.#effects.push({
      kind: 'summarize',
      peer: connection.peer,
      round: connection.outRound,
      sinceLsn: connection.acked + 1 < this.#host.firstLsn() ? -1 : connection.acked,
    })
    this.#armDeadline(connection)
  }

  #timeout(connection: Connection): void {
    connection.deadlineMs = undefined
    connection.retries++
    if (connection.retries > RETRIES_MAX) {
      this.#drop(
        connection,
        new StarlingError('SYNC_PEER_DROPPED', `no ack after ${RETRIES_MAX} resends`, {
          retries: RETRIES_MAX,
        }),
      )
      return
    }
    if (!connection.resumed) {
      // No RESUME yet: our HELLO or their answer was lost. Greet again (HELLO is idempotent).
      this.#sendHello(connection)
      this.#armDeadline(connection)
      return
    }
    if (connection.node !== undefined) {
      this.#event({
        type: 'retry',
        node: connection.node,
        retries: connection.retries,
        fromLsn: connection.acked,
      })
    }
    connection.inflight = []
    connection.inflightBytes = 0
    connection.sent = connection.acked
    if (connection.mode === 'catchUp' || this.#needsCatchUp(connection.acked))
      this.#startCatchUp(connection)
    else this.#pump(connection)
    this.#armDeadline(connection)
  }

  /** Ack deadline: base timeout doubled per retry, with jitter in [50 %, 100 %], bounded. */
  #armDeadline(connection: Connection): void {
    if (connection.deadlineMs !== undefined) return
    // Armed while the handshake is open too: a lost HELLO or RESUME would otherwise stall it.
    if (connection.resumed && connection.mode === 'log' && connection.inflight.length === 0) return
    const { ackTimeoutMs, ackTimeoutMsMax, catchUpTimeoutMs } = this.limits
    const first = connection.mode === 'catchUp' ? catchUpTimeoutMs : ackTimeoutMs
    const base = Math.min(Math.max(ackTimeoutMsMax, first), first * 2 ** connection.retries)
    connection.deadlineMs = this.#nowMs + Math.ceil(base * (0.5 + this.#random() / 2))
  }

  // ---- inbound ------------------------------------------------------------------------------

  #apply(connection: Connection, batch: InboundBatch): void {
    this.#applying.set(connection.peer, (this.#applying.get(connection.peer) ?? 0) + 1)
    this.#effects.push({ kind: 'apply', peer: connection.peer, batch })
  }

  #settled(peer: PeerId): void {
    const count = this.#applying.get(peer)
    if (count !== undefined) this.#applying.set(peer, Math.max(0, count - 1))
  }

  // ---- plumbing -----------------------------------------------------------------------------

  #frameLimits() {
    return {
      frameBytesMax: this.limits.frameBytesMax,
      awarenessBytesMax: this.limits.awarenessBytesMax,
    }
  }

  /** Encodes and queues a frame (never larger than the frame limit: that throws). */
  #send(connection: Connection, frame: Frame): number {
    const bytes = encodeFrame(frame, this.#frameLimits())
    this.#effects.push({ kind: 'send', peer: connection.peer, bytes, frame: frame.type })
    return bytes.length
  }

  #bad(connection: Connection, error: unknown): void {
    const typed = isStarlingError(error)
      ? error
      : new StarlingError('SYNC_PROTOCOL_VIOLATION', String(error), {}, error)
    connection.badFrames++
    this.#event({ type: 'peer-error', peer: connection.peer, node: connection.node, error: typed })
    if (connection.badFrames >= this.limits.badFramesMax) {
      this.#drop(
        connection,
        new StarlingError(
          'SYNC_PEER_DROPPED',
          `${connection.badFrames} bad frames (last: ${typed.code})`,
          { badFrames: connection.badFrames, last: typed.code },
        ),
      )
    }
  }

  #drop(connection: Connection, error: StarlingError): void {
    if (connection.node !== undefined || error.code !== 'SYNC_PEER_DROPPED') {
      this.#send(connection, { type: 'error', code: error.code, message: error.message })
    }
    this.#effects.push({ kind: 'disconnect', peer: connection.peer, error })
    this.peerDown(connection.peer)
  }

  #event(event: SyncEvent): void {
    this.#effects.push({ kind: 'event', event })
  }
}

function rewound(peer: NodeId | undefined, cursor: number, logEnd: number): StarlingError {
  return new StarlingError(
    'SYNC_LOG_REWOUND',
    `peer ${String(peer)} holds this node's log up to LSN ${cursor}, but the log ends at ` +
      `${logEnd}: this store was restored from an older copy of its directory. Writes made ` +
      'here would reuse log positions the peer already holds and never reach it; open a fresh ' +
      'store (a new node id) and copy what was written here since the restore into it',
    { peer: String(peer), peerCursor: cursor, logEnd },
  )
}

function violation(message: string): StarlingError {
  return new StarlingError('SYNC_PROTOCOL_VIOLATION', message)
}

/** Splits documents into chunks of about `bytes` each (at least one document per chunk). */
function chunkBySize<T extends { update: Uint8Array; key: string }>(
  items: T[],
  bytes: number,
): T[][] {
  const chunks: T[][] = []
  let chunk: T[] = []
  let size = 0
  for (const item of items) {
    const itemBytes = item.update.length + item.key.length + 16
    if (chunk.length > 0 && size + itemBytes > bytes) {
      chunks.push(chunk)
      chunk = []
      size = 0
    }
    chunk.push(item)
    size += itemBytes
  }
  if (chunk.length > 0 || chunks.length === 0) chunks.push(chunk)
  return chunks
}
