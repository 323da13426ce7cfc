/**
 * The memory network's state and its connection life cycle. A connection is identified by an
 * epoch (a network-wide counter): every event and delivery carries the epoch it belongs to and is
 * checked against it when it fires, so nothing of a closed connection reaches a later one. Peer
 * events go through the same scheduler as messages, which keeps them in order with the messages:
 * an end's `onPeerUp` always fires before any message of that connection reaches it.
 */
import { assert } from '../../src/core/assert.js'
import type { TimerHandle } from '../../src/core/env.js'
import type { PeerId } from '../../src/core/ids.js'
import type { TransportHandlers } from '../../src/sync/transport.js'
import type { Scheduler } from './scheduler.js'
import type { HandlerErrorContext, LinkFaults, LinkStats } from './types.js'

/** One endpoint of the network. */
export interface Endpoint {
  readonly id: PeerId
  state: 'created' | 'started' | 'closed'
  handlers: TransportHandlers | undefined
  /** Connections this end has seen come up (peer → epoch) and not yet seen go down. */
  readonly up: Map<PeerId, number>
}

/** A message on its way, cancelled when its connection closes. */
export interface Delivery {
  readonly from: PeerId
  readonly to: PeerId
  handle: TimerHandle
}

/** One open connection between two endpoints. */
export interface Connection {
  readonly epoch: number
  readonly deliveries: Set<Delivery>
}

/** Mutable counters behind {@link LinkStats}. */
export type LinkCounters = { -readonly [K in keyof LinkStats]: LinkStats[K] }

/** Everything the network knows. */
export interface NetworkState {
  readonly messageBytesMax: number
  readonly faults: LinkFaults | undefined
  readonly onHandlerError: ((error: unknown, context: HandlerErrorContext) => void) | undefined
  readonly scheduler: Scheduler
  /** Open endpoints (created or started), in creation order. */
  readonly endpoints: Map<PeerId, Endpoint>
  /** Linked pairs, by {@link pairKey}. */
  readonly links: Set<string>
  /** Open connections, by {@link pairKey}. */
  readonly connections: Map<string, Connection>
  /** Traffic counters by directed link, `from>to`. */
  readonly counters: Map<string, LinkCounters>
  epochs: number
}

/** The key of an unordered pair of ids (ids never contain a space). */
export function pairKey(a: PeerId, b: PeerId): string {
  return a < b ? `${a} ${b}` : `${b} ${a}`
}

/** Opens a connection between `a` and `b` when they are linked, both started and not connected. */
export function openIfReady(net: NetworkState, a: Endpoint, b: Endpoint): void {
  const key = pairKey(a.id, b.id)
  if (!net.links.has(key) || net.connections.has(key)) return
  if (a.state !== 'started' || b.state !== 'started') return
  const connection: Connection = { epoch: ++net.epochs, deliveries: new Set() }
  net.connections.set(key, connection)
  announceUp(net, a, b.id, connection.epoch)
  announceUp(net, b, a.id, connection.epoch)
}

/**
 * Closes the connection between `a` and `b` if there is one: in-flight messages are discarded
 * now, and each open end that saw it come up gets `onPeerDown`.
 */
export function closeConnection(net: NetworkState, a: PeerId, b: PeerId, reason: string): void {
  const key = pairKey(a, b)
  const connection = net.connections.get(key)
  if (connection === undefined) return
  net.connections.delete(key)
  for (const delivery of connection.deliveries) {
    delivery.handle.cancel()
    countersOf(net, delivery.from, delivery.to).messagesDiscarded++
  }
  connection.deliveries.clear()
  for (const [end, peer] of [
    [a, b],
    [b, a],
  ] as const) {
    const endpoint = net.endpoints.get(end)
    if (endpoint !== undefined) announceDown(net, endpoint, peer, connection.epoch, reason)
  }
}

/** The epoch of the open connection between `a` and `b`, if any. */
export function currentEpoch(net: NetworkState, a: PeerId, b: PeerId): number | undefined {
  return net.connections.get(pairKey(a, b))?.epoch
}

/** The counters of the directed link `from` → `to`, created at zero on first use. */
export function countersOf(net: NetworkState, from: PeerId, to: PeerId): LinkCounters {
  const key = `${from}>${to}`
  let counters = net.counters.get(key)
  if (counters === undefined) {
    counters = {
      from,
      to,
      messagesSent: 0,
      bytesSent: 0,
      messagesDelivered: 0,
      bytesDelivered: 0,
      messagesDropped: 0,
      messagesDuplicated: 0,
      messagesDiscarded: 0,
    }
    net.counters.set(key, counters)
  }
  return counters
}

/**
 * Calls one of `end`'s handlers. A throwing handler is reported and delivery goes on: one broken
 * node must not stop the network for the others.
 */
export function callHandler(
  net: NetworkState,
  end: Endpoint,
  context: HandlerErrorContext,
  call: (handlers: TransportHandlers) => void,
): void {
  const handlers = end.handlers
  if (handlers === undefined) return
  try {
    call(handlers)
  } catch (error) {
    reportHandlerError(net, error, context)
  }
}

function announceUp(net: NetworkState, end: Endpoint, peer: PeerId, epoch: number): void {
  net.scheduler.schedule(0, () => {
    // The connection may have closed (or the end with it) before the event came due.
    if (end.state !== 'started' || currentEpoch(net, end.id, peer) !== epoch) return
    assert(!end.up.has(peer), `memory network: ${end.id} saw ${peer} up twice`)
    end.up.set(peer, epoch)
    callHandler(net, end, { peer: end.id, remote: peer, event: 'peerUp' }, (handlers) =>
      handlers.onPeerUp(peer),
    )
  })
}

function announceDown(
  net: NetworkState,
  end: Endpoint,
  peer: PeerId,
  epoch: number,
  reason: string,
): void {
  net.scheduler.schedule(0, () => {
    // An end that never saw this connection come up is not told it went down.
    if (end.state !== 'started' || end.up.get(peer) !== epoch) return
    end.up.delete(peer)
    callHandler(net, end, { peer: end.id, remote: peer, event: 'peerDown' }, (handlers) =>
      handlers.onPeerDown(peer, reason),
    )
  })
}

function reportHandlerError(net: NetworkState, error: unknown, context: HandlerErrorContext): void {
  const report = net.onHandlerError
  if (report === undefined) return rethrowLater(error)
  try {
    report(error, context)
  } catch (failure) {
    rethrowLater(failure)
  }
}

/** Rethrows outside the delivery loop, as an uncaught exception, so the error is never silent. */
function rethrowLater(error: unknown): void {
  queueMicrotask(() => {
    throw error
  })
}
