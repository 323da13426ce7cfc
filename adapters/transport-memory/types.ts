/** Public types of the in-memory transport network. */
import type { Env } from '../../src/core/env.js'
import type { PeerId } from '../../src/core/ids.js'
import type { Transport } from '../../src/sync/transport.js'

/**
 * What a {@link LinkFaults} hook decides for one message. Every field is optional; `{}` (or
 * `undefined`) delivers the message normally.
 */
export interface LinkFault {
  /** Lose the message (counted in `messagesDropped`). */
  readonly drop?: boolean
  /** Deliver this many extra copies after the message (0–1,000; each copy is its own buffer). */
  readonly duplicate?: number
  /** Deliver it this many ms later than normal; unequal delays reorder messages. */
  readonly delayMs?: number
}

/**
 * A fault-injection hook, for the simulator only: called once per accepted `send` with the sender,
 * the receiver and the network's copy of the message (do not modify it). Dropping, duplicating and
 * reordering messages breaks the transport contract on purpose (a real transport loses messages
 * only together with their connection); use it to prove the sync engine survives anyway. A hook
 * that throws or returns an invalid decision makes `send` throw: that is a bug in the test.
 */
export type LinkFaults = (from: PeerId, to: PeerId, message: Uint8Array) => LinkFault | undefined

/** Which handler of which endpoint threw (see {@link MemoryNetworkOptions.onHandlerError}). */
export interface HandlerErrorContext {
  /** The endpoint whose handler threw. */
  readonly peer: PeerId
  /** The remote peer the event was about. */
  readonly remote: PeerId
  readonly event: 'peerUp' | 'peerDown' | 'message'
}

/** Options of `createMemoryNetwork`. */
export interface MemoryNetworkOptions {
  /**
   * Delivers every event through `env.setTimer`, so a virtual env (the simulator) owns time and
   * the run replays from its seed. Without it, events go through a FIFO queue drained by
   * `setImmediate`.
   */
  readonly env?: Env
  /** Largest message `send` accepts (default {@link MEMORY_MESSAGE_BYTES_MAX_DEFAULT}). */
  readonly messageBytesMax?: number
  /** Fault injection for the simulator; see {@link LinkFaults}. */
  readonly faults?: LinkFaults
  /** Link every new endpoint to every open endpoint (default true). */
  readonly autoConnect?: boolean
  /**
   * Receives errors thrown by `TransportHandlers`. A throwing handler never stops delivery to the
   * others; without this option the error is rethrown from a microtask (an uncaught exception, as
   * a throwing event listener would be), so it is never silent. Errors thrown by this callback
   * itself are rethrown the same way.
   */
  readonly onHandlerError?: (error: unknown, context: HandlerErrorContext) => void
}

/** Traffic counters of one directed link (from one endpoint id to another), over all connections. */
export interface LinkStats {
  readonly from: PeerId
  readonly to: PeerId
  /** Messages `send` accepted, and their bytes. */
  readonly messagesSent: number
  readonly bytesSent: number
  /** Messages handed to the receiver's `onMessage` (duplicates included), and their bytes. */
  readonly messagesDelivered: number
  readonly bytesDelivered: number
  /** Messages a fault decision dropped. */
  readonly messagesDropped: number
  /** Extra copies a fault decision added. */
  readonly messagesDuplicated: number
  /** Messages lost with their connection (unlinked, disconnected or closed before delivery). */
  readonly messagesDiscarded: number
}

/**
 * A set of in-memory endpoints and the links between them. Ids are peer ids (1–64 characters of
 * [A-Za-z0-9_-]). A link is a wish to be connected: the connection opens (both ends get
 * `onPeerUp`) once both endpoints are started, and closes (both get `onPeerDown`) on `unlink`,
 * `disconnect` or `close`. Each opening is a new connection; nothing sent on an earlier one is
 * delivered on it.
 */
export interface MemoryNetwork {
  /** Largest message each endpoint's `send` accepts. */
  readonly messageBytesMax: number
  /**
   * Creates the endpoint `id` (linked to every open endpoint when `autoConnect`). Throws
   * `INVALID_ARGUMENT` while an endpoint with that id is open; after it is closed the id may be
   * used again (a restarted node), as a new endpoint.
   */
  transport(id: string): Transport
  /** Links two open endpoints; no-op when already linked. */
  link(a: string, b: string): void
  /** Unlinks two open endpoints, closing their connection; no-op when not linked. */
  unlink(a: string, b: string, reason?: string): void
  /**
   * Links endpoints within each group and unlinks every other pair; open endpoints listed in no
   * group end up alone. Endpoints created later are still linked to all when `autoConnect`.
   */
  partition(groups: ReadonlyArray<ReadonlyArray<string>>): void
  /** Links every pair of open endpoints. */
  heal(): void
  /** True when two open endpoints are linked (connected, or connecting once both are started). */
  isLinked(a: string, b: string): boolean
  /** Counters of every directed link that carried traffic, sorted by (from, to). */
  stats(): LinkStats[]
  /** Messages sent and neither delivered, dropped nor discarded yet (copies included). */
  inFlight(): number
  /**
   * Resolves once nothing is scheduled (no message or peer event pending). Only without an `env`:
   * with one, time is the env's, so run its timers instead (`runUntilIdle`); this rejects then.
   */
  whenIdle(): Promise<void>
}
