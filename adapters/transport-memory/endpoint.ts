/** One endpoint of the memory network as a `Transport`: start, send, disconnect, close. */
import { invalidArgument, StarlingError } from '../../src/core/errors.js'
import type { PeerId } from '../../src/core/ids.js'
import type { Transport, TransportHandlers } from '../../src/sync/transport.js'
import {
  callHandler,
  closeConnection,
  countersOf,
  currentEpoch,
  openIfReady,
  pairKey,
} from './connections.js'
import type { Connection, Delivery, Endpoint, NetworkState } from './connections.js'
import type { LinkFault } from './types.js'

/** Extra copies one fault decision may ask for (a limit on everything, docs/ARCHITECTURE.md). */
const DUPLICATES_MAX = 1_000

/** The `Transport` face of `end`. */
export function createEndpointTransport(net: NetworkState, end: Endpoint): Transport {
  return {
    localPeer: end.id,
    messageBytesMax: net.messageBytesMax,
    start: (handlers) => startEndpoint(net, end, handlers),
    send: (peer, message) => sendMessage(net, end, peer, message),
    disconnect: (peer, reason) => disconnectPeer(net, end, peer, reason ?? 'disconnected'),
    close: () => {
      closeEndpoint(net, end)
      return Promise.resolve()
    },
  }
}

/** Closes every connection of `end` and removes it (its id may be used again). Idempotent. */
export function closeEndpoint(net: NetworkState, end: Endpoint): void {
  if (end.state === 'closed') return
  end.state = 'closed'
  end.handlers = undefined
  end.up.clear()
  net.endpoints.delete(end.id)
  for (const other of net.endpoints.values()) {
    net.links.delete(pairKey(end.id, other.id))
    closeConnection(net, end.id, other.id, 'closed')
  }
}

function startEndpoint(net: NetworkState, end: Endpoint, handlers: TransportHandlers): void {
  if (end.state === 'closed') throw closedError(end)
  if (end.state === 'started') throw invalidArgument(`memory transport ${end.id}: started twice`)
  for (const name of ['onPeerUp', 'onPeerDown', 'onMessage'] as const) {
    if (typeof handlers?.[name] !== 'function') {
      throw invalidArgument(`memory transport ${end.id}: handlers.${name} must be a function`)
    }
  }
  end.state = 'started'
  end.handlers = handlers
  for (const other of net.endpoints.values()) if (other !== end) openIfReady(net, end, other)
}

function disconnectPeer(net: NetworkState, end: Endpoint, peer: PeerId, reason: string): void {
  if (typeof peer !== 'string' || typeof reason !== 'string') {
    throw invalidArgument(`memory transport ${end.id}: disconnect(peer, reason?) takes strings`)
  }
  if (end.state === 'closed') return
  net.links.delete(pairKey(end.id, peer))
  closeConnection(net, end.id, peer, reason)
}

function sendMessage(net: NetworkState, end: Endpoint, peer: PeerId, message: Uint8Array): void {
  if (!(message instanceof Uint8Array)) {
    throw invalidArgument(`memory transport ${end.id}: a message must be a Uint8Array`)
  }
  const connection = connectionFrom(net, end, peer)
  if (message.byteLength > net.messageBytesMax) {
    throw new StarlingError(
      'TRANSPORT_MESSAGE_TOO_LARGE',
      `memory transport ${end.id}: a message of ${message.byteLength} bytes exceeds the limit of ${net.messageBytesMax}`,
      { bytes: message.byteLength, limit: net.messageBytesMax },
    )
  }
  // The copy is the network's: the sender may reuse its buffer as soon as send returns.
  const bytes = message.slice()
  const counters = countersOf(net, end.id, peer)
  counters.messagesSent++
  counters.bytesSent += bytes.byteLength
  const fault = checkFault(net.faults?.(end.id, peer, bytes))
  if (fault.drop === true) {
    counters.messagesDropped++
    return
  }
  const duplicate = fault.duplicate ?? 0
  counters.messagesDuplicated += duplicate
  // Copies are made now, so each receiver buffer is its own even if one is modified.
  const copies = [bytes, ...Array.from({ length: duplicate }, () => bytes.slice())]
  for (const copy of copies) {
    scheduleDelivery(net, connection, end.id, peer, copy, fault.delayMs ?? 0)
  }
}

/** The connection `end` may send to `peer` on: up on both sides of the check, or TRANSPORT_CLOSED. */
function connectionFrom(net: NetworkState, end: Endpoint, peer: PeerId): Connection {
  if (end.state !== 'started') throw closedError(end)
  const epoch = end.up.get(peer)
  const connection = net.connections.get(pairKey(end.id, peer))
  // `end.up` lags a close until its onPeerDown fires; the open connection is the truth.
  if (epoch === undefined || connection?.epoch !== epoch) {
    throw new StarlingError(
      'TRANSPORT_CLOSED',
      `memory transport ${end.id}: no open connection to ${String(peer)}`,
      { peer: String(peer) },
    )
  }
  return connection
}

function scheduleDelivery(
  net: NetworkState,
  connection: Connection,
  from: PeerId,
  to: PeerId,
  bytes: Uint8Array,
  delayMs: number,
): void {
  const delivery: Delivery = { from, to, handle: { cancel: () => undefined } }
  delivery.handle = net.scheduler.schedule(delayMs, () => {
    connection.deliveries.delete(delivery)
    deliver(net, connection, from, to, bytes)
  })
  connection.deliveries.add(delivery)
}

function deliver(
  net: NetworkState,
  connection: Connection,
  from: PeerId,
  to: PeerId,
  bytes: Uint8Array,
): void {
  const end = net.endpoints.get(to)
  const counters = countersOf(net, from, to)
  // Closing a connection cancels its deliveries, so this is a second line of defence.
  if (
    end?.state !== 'started' ||
    end.up.get(from) !== connection.epoch ||
    currentEpoch(net, from, to) !== connection.epoch
  ) {
    counters.messagesDiscarded++
    return
  }
  counters.messagesDelivered++
  counters.bytesDelivered += bytes.byteLength
  callHandler(net, end, { peer: to, remote: from, event: 'message' }, (handlers) =>
    handlers.onMessage(from, bytes),
  )
}

/** Validates a fault decision; an invalid one is a bug in the test, so `send` throws. */
function checkFault(fault: LinkFault | undefined): LinkFault {
  if (fault === undefined || fault === null) return {}
  const { duplicate = 0, delayMs = 0 } = fault
  if (!Number.isSafeInteger(duplicate) || duplicate < 0 || duplicate > DUPLICATES_MAX) {
    throw invalidArgument(`memory network: fault.duplicate must be 0–${DUPLICATES_MAX}`)
  }
  if (!Number.isFinite(delayMs) || delayMs < 0) {
    throw invalidArgument('memory network: fault.delayMs must be a finite non-negative number')
  }
  return fault
}

function closedError(end: Endpoint): StarlingError {
  const state = end.state === 'created' ? 'not started' : 'closed'
  return new StarlingError('TRANSPORT_CLOSED', `memory transport ${end.id} is ${state}`, {
    local: end.id,
  })
}
