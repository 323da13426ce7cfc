/**
 * The state the engine keeps per connection, split by direction (docs/sync.md, "Log shipping"):
 * outbound is our log on its way to the peer (cursors, in-flight frames, ack deadline and
 * backoff, the catch-up round we run), inbound is the peer's log on its way to us (how far it
 * goes, batches handed to the host, the catch-up round we answer). Also the context the engine's
 * modules share: limits, host, clock, injected chance, and the ways to emit effects.
 */
import { StarlingError } from '../core/errors.js'
import type { NodeId, PeerId } from '../core/ids.js'
import type { Effect, EngineHost, SyncEvent } from './effects.js'
import type { Frame, SyncLimits } from './protocol.js'

/** A RECORDS frame sent and not yet acknowledged. */
export interface Inflight {
  toLsn: number
  bytes: number
}

/** Our log to the peer. */
export interface Outbound {
  /** The peer's RESUME arrived: `acked` and `sent` are known. */
  resumed: boolean
  /** The peer's durable cursor on our log. */
  acked: number
  /** How far RECORDS frames have gone out (≥ `acked`). */
  sent: number
  inflight: Inflight[]
  inflightBytes: number
  /** A `read` effect is outstanding. */
  reading: boolean
  /** When the ack (or the handshake, or the catch-up round) times out. */
  deadlineMs: number | undefined
  /** Timeouts without progress (the backoff exponent). */
  retries: number
  mode: 'log' | 'catchUp'
  /** The number of the newest catch-up round we started (grows per connection). */
  round: number
  /** The log position the current round's offer was taken at. */
  upTo: number
}

/** The catch-up round the peer runs towards us. */
export interface InboundRound {
  /** The newest round offered (older frames are ignored). */
  round: number
  /** Documents we asked for in this round. */
  requested: Set<string>
  /** Documents whose data arrived in this round. */
  received: Set<string>
  /** The final offer of the round was answered. */
  offersDone: boolean
}

/** The peer's log to us. */
export interface Inbound {
  /** How far the peer's log goes, as far as it told us. */
  peerLastLsn: number
  /** Batches handed to the host to make durable and not yet answered. */
  applying: number
  catchUp: InboundRound
}

/** One connection: the peer, its node once HELLO named it, and both directions. */
export interface Connection {
  readonly peer: PeerId
  node: NodeId | undefined
  badFrames: number
  lastSeenMs: number
  readonly outbound: Outbound
  readonly inbound: Inbound
}

/** What the engine's modules share: configuration, clock, chance, and the effect queue. */
export interface EngineContext {
  readonly nodeId: NodeId
  readonly limits: SyncLimits
  readonly host: EngineHost
  /** A uniformly distributed float in [0, 1), injected (seeded in the simulator). */
  readonly random: () => number
  readonly unsafe: { readonly ackBeforeDurable?: boolean }
  /** The engine's clock (monotonic ms, moved by `tick`). */
  readonly nowMs: number
  /** The local log is durable up to here. */
  readonly durableLsn: number
  /**
   * Highest cursor queued for apply per sending node (durable or on its way). Our durable cursor
   * on a peer's log is the host's (`inboundCursor`); this is per node rather than per connection,
   * so an answer that arrives after its connection is gone still clears its node's position.
   */
  readonly queued: Map<NodeId, number>
  /** Queues an effect. */
  effect(effect: Effect): void
  /** Encodes and queues a frame; returns its size (a frame over the limit throws). */
  send(connection: Connection, frame: Frame): number
  /** Queues an event. */
  event(event: SyncEvent): void
  /** Tells the peer why (when it can understand), disconnects and forgets the connection. */
  drop(connection: Connection, error: StarlingError): void
  /** Counts a bad frame against the peer, dropping it past `badFramesMax`. */
  bad(connection: Connection, error: unknown): void
}

/** A fresh connection to `peer`, seen at `nowMs`: nothing known of either log yet. */
export function createConnection(peer: PeerId, nowMs: number): Connection {
  return {
    peer,
    node: undefined,
    badFrames: 0,
    lastSeenMs: nowMs,
    outbound: {
      resumed: false,
      acked: 0,
      sent: 0,
      inflight: [],
      inflightBytes: 0,
      reading: false,
      deadlineMs: undefined,
      retries: 0,
      mode: 'log',
      round: 0,
      upTo: 0,
    },
    inbound: { peerLastLsn: 0, applying: 0, catchUp: createInboundRound(0) },
  }
}

/** The state of inbound catch-up round `round` before any of its frames was answered. */
export function createInboundRound(round: number): InboundRound {
  return { round, requested: new Set(), received: new Set(), offersDone: false }
}

/**
 * Arms the outbound deadline unless one is armed or nothing waits for the peer: the first
 * timeout (`ackTimeoutMs`, or `catchUpTimeoutMs` during a catch-up) doubled per retry, capped,
 * with jitter in [50 %, 100 %] (docs/sync.md, "Retry").
 */
export function armDeadline(context: EngineContext, connection: Connection): void {
  const out = connection.outbound
  if (out.deadlineMs !== undefined) return
  // Armed while the handshake is open too: a lost HELLO or RESUME would otherwise stall it.
  if (out.resumed && out.mode === 'log' && out.inflight.length === 0) return
  const { ackTimeoutMs, ackTimeoutMsMax, catchUpTimeoutMs } = context.limits
  const first = out.mode === 'catchUp' ? catchUpTimeoutMs : ackTimeoutMs
  const base = Math.min(Math.max(ackTimeoutMsMax, first), first * 2 ** out.retries)
  out.deadlineMs = context.nowMs + Math.ceil(base * (0.5 + context.random() / 2))
}

/** A `SYNC_PROTOCOL_VIOLATION`: the peer broke the protocol. */
export function violation(message: string): StarlingError {
  return new StarlingError('SYNC_PROTOCOL_VIOLATION', message)
}
