/**
 * The sync engine: a sans-IO state machine (docs/sync.md, "Overview"). Inputs are transport
 * events, received frame bytes, "the local log is durable up to L", answers to the effects it
 * asked for, and clock ticks. Outputs are effects: frames to send, log reads, batches to make
 * durable and apply, catch-up computations, disconnects and events. It never touches a socket, a
 * timer, `Date.now()` or `Math.random()`: time comes in through `tick(nowMs)`, chance through the
 * injected `random`, so a seeded simulator replays any run exactly.
 *
 * This module holds the connections, the handshake, the dispatch of frames and answers, and
 * status. Per connection (./connection.ts) two directions run independently:
 * - outbound, our log to them (./outbound.ts): records after their cursor, under backpressure,
 *   resent with backoff;
 * - inbound, their log to us (./inbound.ts): filtered, handed to the host to make durable, acked
 *   only once durable (I3);
 * and either may be in a catch-up round by state vectors (./catch-up.ts).
 */
import { StarlingError, isStarlingError } from '../core/errors.js'
import type { NodeId, PeerId } from '../core/ids.js'
import * as catchUp from './catch-up.js'
import {
  armDeadline,
  createConnection,
  violation,
  type Connection,
  type EngineContext,
} from './connection.js'
import type {
  Effect,
  EngineHost,
  EngineOptions,
  InboundBatch,
  PeerStatus,
  SyncEvent,
} from './effects.js'
import { decodeFrame, encodeFrame } from './frames.js'
import * as inbound from './inbound.js'
import * as outbound from './outbound.js'
import {
  SYNC_LIMITS,
  SYNC_PROTOCOL_VERSION,
  type DocSummary,
  type Frame,
  type LogEntry,
  type SyncLimits,
} from './protocol.js'

export type { Effect, EngineHost, EngineOptions, InboundBatch, PeerStatus, SyncEvent }
export { RETRIES_MAX } from './outbound.js'

/** The context as the engine holds it: the clock and the durable log end are its to move. */
type EngineClockedContext = EngineContext & { nowMs: number; durableLsn: number }

/** The sync state machine of one node. */
export class SyncEngine {
  readonly nodeId: NodeId
  readonly limits: SyncLimits
  readonly #host: EngineHost
  readonly #connections = new Map<PeerId, Connection>()
  /** Highest cursor queued for apply per sender (durable or on its way). */
  readonly #queued = new Map<NodeId, number>()
  /** Shared with the direction modules; the engine alone moves its clock and log end. */
  readonly #context: EngineClockedContext
  #effects: Effect[] = []

  constructor(options: EngineOptions) {
    this.nodeId = options.nodeId
    this.#host = options.host
    this.limits = { ...SYNC_LIMITS, ...options.limits }
    this.#context = this.#createContext(options)
  }

  #createContext(options: EngineOptions): EngineClockedContext {
    return {
      nodeId: this.nodeId,
      limits: this.limits,
      host: this.#host,
      random: options.random,
      unsafe: options.unsafe ?? {},
      nowMs: 0,
      durableLsn: 0,
      queued: this.#queued,
      effect: (effect) => this.#effects.push(effect),
      send: (connection, frame) => this.#send(connection, frame),
      event: (event) => this.#event(event),
      drop: (connection, error) => this.#drop(connection, error),
      bad: (connection, error) => this.#bad(connection, error),
    }
  }

  /** Takes the effects produced so far (in order). */
  drain(): Effect[] {
    const effects = this.#effects
    this.#effects = []
    return effects
  }

  /** The local log is durable up to `lsn` (local commits and applied remote batches). */
  committed(lsn: number): void {
    if (lsn <= this.#context.durableLsn) return
    this.#context.durableLsn = lsn
    for (const connection of this.#connections.values()) outbound.pump(this.#context, connection)
  }

  /** The local log is durable up to here (the engine ships nothing beyond it, I2). */
  get durableLsn(): number {
    return this.#context.durableLsn
  }

  /** Moves the engine's clock (monotonic ms) and fires due ack timeouts. */
  tick(nowMs: number): void {
    this.#context.nowMs = Math.max(this.#context.nowMs, nowMs)
    for (const connection of this.#connections.values()) {
      const { deadlineMs } = connection.outbound
      if (deadlineMs !== undefined && this.#context.nowMs >= deadlineMs)
        outbound.timeout(this.#context, connection)
    }
  }

  /** The earliest time `tick` has something to do, if any. */
  nextDeadlineMs(): number | undefined {
    let next: number | undefined
    for (const { outbound: out } of this.#connections.values()) {
      const { deadlineMs } = out
      if (deadlineMs !== undefined && (next === undefined || deadlineMs < next)) next = deadlineMs
    }
    return next
  }

  // ---- transport events -----------------------------------------------------------------

  /** The transport reached `peer`: greet it (a connection already up for it is replaced). */
  peerUp(peer: PeerId): void {
    if (this.#connections.has(peer)) this.peerDown(peer)
    const connection = createConnection(peer, this.#context.nowMs)
    this.#connections.set(peer, connection)
    outbound.sendHello(this.#context, connection)
    armDeadline(this.#context, connection)
  }

  /** The transport lost `peer` (or the engine dropped it): forget the connection. */
  peerDown(peer: PeerId): void {
    const connection = this.#connections.get(peer)
    if (connection === undefined) return
    this.#connections.delete(peer)
    // What was queued from this peer but not made durable will be asked for again.
    if (connection.node !== undefined) this.#queued.delete(connection.node)
    this.#event({ type: 'peer-closed', peer, node: connection.node })
  }

  /** A message from `peer`. Bad bytes are counted against the peer, never thrown. */
  receive(peer: PeerId, bytes: Uint8Array): void {
    const connection = this.#connections.get(peer)
    if (connection === undefined) return
    connection.lastSeenMs = this.#context.nowMs
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
    const connection = this.#connections.get(peer)
    if (connection !== undefined)
      outbound.readDone(this.#context, connection, fromLsn, readTo, entries)
  }

  /** Answer to a `read` that found the log truncated below the peer's cursor. */
  readTruncated(peer: PeerId): void {
    const connection = this.#connections.get(peer)
    if (connection !== undefined) outbound.readTruncated(this.#context, connection)
  }

  /** Answer to `apply`: the batch is durable here (and applied). Sends the ack. */
  applied(peer: PeerId, batch: InboundBatch): void {
    inbound.applied(this.#context, this.#connections.get(peer), batch)
  }

  /** Answer to `apply`: the batch was refused (invalid content) or could not be stored. */
  applyFailed(peer: PeerId, batch: InboundBatch, error: unknown): void {
    inbound.applyFailed(this.#context, this.#connections.get(peer), batch, error)
  }

  /** Answer to `summarize`: our documents as of our log position `upTo`. */
  summaryDone(peer: PeerId, round: number, upTo: number, docs: DocSummary[]): void {
    const connection = this.#connections.get(peer)
    if (connection !== undefined) catchUp.summaryDone(this.#context, connection, round, upTo, docs)
  }

  /** Answer to `compare`: the offered documents we lack something of, with our state vectors. */
  compareDone(
    peer: PeerId,
    round: number,
    wanted: { key: string; stateVector: Uint8Array }[],
    last: boolean,
  ): void {
    const connection = this.#connections.get(peer)
    if (connection !== undefined)
      catchUp.compareDone(this.#context, connection, round, wanted, last)
  }

  /** Answer to `diff`: the differences for the requested documents. */
  diffDone(
    peer: PeerId,
    round: number,
    docs: { key: string; update: Uint8Array }[],
    last: boolean,
  ): void {
    const connection = this.#connections.get(peer)
    if (connection !== undefined) catchUp.diffDone(this.#context, connection, round, docs, last)
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
      acked: c.outbound.acked,
      behind: c.outbound.resumed ? Math.max(0, this.#context.durableLsn - c.outbound.acked) : 0,
      ahead:
        c.node === undefined
          ? 0
          : Math.max(0, c.inbound.peerLastLsn - this.#host.inboundCursor(c.node)),
      mode: c.outbound.mode,
      lastSeenMs: c.lastSeenMs,
      badFrames: c.badFrames,
    }))
  }

  /** Whether any connection still has work in either direction. */
  get busy(): boolean {
    for (const c of this.#connections.values()) {
      if (c.node === undefined || !c.outbound.resumed) return true
      if (c.outbound.mode === 'catchUp' || c.outbound.acked < this.#context.durableLsn) return true
      if (this.#host.inboundCursor(c.node) < c.inbound.peerLastLsn) return true
    }
    return false
  }

  /** Connections up, open (HELLO received) or not. */
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
    const context = this.#context
    switch (frame.type) {
      case 'resume':
        return outbound.onResume(context, connection, frame.cursor)
      case 'records':
        return inbound.onRecords(context, connection, node, frame)
      case 'ack':
        return outbound.onAck(context, connection, frame.cursor)
      case 'catchUpOffer':
        return catchUp.onOffer(context, connection, frame)
      case 'catchUpRequest':
        return catchUp.onRequest(context, connection, frame)
      case 'catchUpData':
        return catchUp.onData(context, connection, node, frame)
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
    connection.inbound.peerLastLsn = frame.lastLsn
    this.#send(connection, { type: 'resume', cursor: this.#host.inboundCursor(node) })
    this.#event({ type: 'peer-open', peer: connection.peer, node })
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
