/** `createMemoryNetwork`: the network object, its options and its topology operations. */
import { invalidArgument } from '../../src/core/errors.js'
import { toPeerId } from '../../src/core/ids.js'
import type { PeerId } from '../../src/core/ids.js'
import type { Transport } from '../../src/sync/transport.js'
import { closeConnection, openIfReady, pairKey } from './connections.js'
import type { Endpoint, NetworkState } from './connections.js'
import { createEndpointTransport } from './endpoint.js'
import { createScheduler } from './scheduler.js'
import type { LinkStats, MemoryNetwork, MemoryNetworkOptions } from './types.js'

/** Default largest message: above the sync engine's 80 MiB frame limit, so any frame fits. */
export const MEMORY_MESSAGE_BYTES_MAX_DEFAULT = 96 * 1024 * 1024

/**
 * Creates an in-memory network of transports.
 *
 * @example
 * ```ts
 * const network = createMemoryNetwork()
 * const alice = network.transport('alice')
 * const bob = network.transport('bob')
 * bob.start({
 *   onPeerUp: () => undefined,
 *   onPeerDown: () => undefined,
 *   onMessage: (peer, message) => console.log(peer, message), // 'alice' Uint8Array [ 1, 2 ]
 * })
 * alice.start({
 *   onPeerUp: (peer) => alice.send(peer, new Uint8Array([1, 2])),
 *   onPeerDown: () => undefined,
 *   onMessage: () => undefined,
 * })
 * await network.whenIdle()
 * ```
 */
export function createMemoryNetwork(options: MemoryNetworkOptions = {}): MemoryNetwork {
  const net = createState(options)
  const autoConnect = options.autoConnect ?? true

  return {
    messageBytesMax: net.messageBytesMax,
    transport: (id) => addEndpoint(net, id, autoConnect),
    link(a, b) {
      const [x, y] = openPair(net, a, b, 'link')
      net.links.add(pairKey(x.id, y.id))
      openIfReady(net, x, y)
    },
    unlink(a, b, reason = 'unlinked') {
      const [x, y] = openPair(net, a, b, 'unlink')
      net.links.delete(pairKey(x.id, y.id))
      closeConnection(net, x.id, y.id, reason)
    },
    partition: (groups) => partition(net, groups),
    heal() {
      for (const [x, y] of pairsOf(net)) {
        net.links.add(pairKey(x.id, y.id))
        openIfReady(net, x, y)
      }
    },
    isLinked(a, b) {
      const x = net.endpoints.get(a as PeerId)
      const y = net.endpoints.get(b as PeerId)
      return x !== undefined && y !== undefined && net.links.has(pairKey(x.id, y.id))
    },
    stats: () => stats(net),
    inFlight() {
      let count = 0
      for (const connection of net.connections.values()) count += connection.deliveries.size
      return count
    },
    whenIdle: () => whenIdle(net, options.env !== undefined),
  }
}

function createState(options: MemoryNetworkOptions): NetworkState {
  const { env, faults, onHandlerError, autoConnect } = options
  const messageBytesMax = options.messageBytesMax ?? MEMORY_MESSAGE_BYTES_MAX_DEFAULT
  if (!Number.isSafeInteger(messageBytesMax) || messageBytesMax < 1) {
    throw invalidArgument('memory network: messageBytesMax must be a positive safe integer')
  }
  if (env !== undefined && typeof env.setTimer !== 'function') {
    throw invalidArgument('memory network: env must be an Env')
  }
  for (const [name, value] of [
    ['faults', faults],
    ['onHandlerError', onHandlerError],
  ] as const) {
    if (value !== undefined && typeof value !== 'function') {
      throw invalidArgument(`memory network: ${name} must be a function`)
    }
  }
  if (autoConnect !== undefined && typeof autoConnect !== 'boolean') {
    throw invalidArgument('memory network: autoConnect must be a boolean')
  }
  return {
    messageBytesMax,
    faults,
    onHandlerError,
    scheduler: createScheduler(env),
    endpoints: new Map(),
    links: new Set(),
    connections: new Map(),
    counters: new Map(),
    epochs: 0,
  }
}

function addEndpoint(net: NetworkState, id: string, autoConnect: boolean): Transport {
  const peer = toPeerId(id)
  if (net.endpoints.has(peer)) {
    throw invalidArgument(`memory network: an endpoint ${peer} is already open`)
  }
  if (autoConnect) for (const other of net.endpoints.keys()) net.links.add(pairKey(peer, other))
  const end: Endpoint = { id: peer, state: 'created', handlers: undefined, up: new Map() }
  net.endpoints.set(peer, end)
  return createEndpointTransport(net, end)
}

/** The open endpoints `a` and `b`, which must differ; INVALID_ARGUMENT otherwise. */
function openPair(net: NetworkState, a: string, b: string, what: string): [Endpoint, Endpoint] {
  const x = openEndpoint(net, a, what)
  const y = openEndpoint(net, b, what)
  if (x === y) throw invalidArgument(`memory network: ${what}(${a}, ${b}): the ends must differ`)
  return [x, y]
}

function openEndpoint(net: NetworkState, id: string, what: string): Endpoint {
  const end = net.endpoints.get(id as PeerId)
  if (end === undefined) {
    throw invalidArgument(`memory network: ${what}: no open endpoint ${JSON.stringify(id)}`)
  }
  return end
}

/** Every unordered pair of open endpoints, in creation order (deterministic). */
function pairsOf(net: NetworkState): Array<[Endpoint, Endpoint]> {
  const all = [...net.endpoints.values()]
  return all.flatMap((x, i) => all.slice(i + 1).map((y): [Endpoint, Endpoint] => [x, y]))
}

function partition(net: NetworkState, groups: ReadonlyArray<ReadonlyArray<string>>): void {
  const groupOf = new Map<Endpoint, number>()
  groups.forEach((group, index) => {
    for (const id of group) {
      const end = openEndpoint(net, id, 'partition')
      if (groupOf.has(end)) throw invalidArgument(`memory network: partition lists ${id} twice`)
      groupOf.set(end, index)
    }
  })
  const together = (x: Endpoint, y: Endpoint): boolean =>
    groupOf.get(x) !== undefined && groupOf.get(x) === groupOf.get(y)
  // Cut first, then join, so every end hears of the losses before the new connections.
  for (const [x, y] of pairsOf(net)) {
    if (together(x, y)) continue
    net.links.delete(pairKey(x.id, y.id))
    closeConnection(net, x.id, y.id, 'partitioned')
  }
  for (const [x, y] of pairsOf(net)) {
    if (!together(x, y)) continue
    net.links.add(pairKey(x.id, y.id))
    openIfReady(net, x, y)
  }
}

function stats(net: NetworkState): LinkStats[] {
  return [...net.counters.values()]
    .map((counters) => ({ ...counters }))
    .sort((p, q) => (p.from === q.from ? compare(p.to, q.to) : compare(p.from, q.from)))
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}

async function whenIdle(net: NetworkState, hasEnv: boolean): Promise<void> {
  if (hasEnv) {
    throw invalidArgument('memory network: whenIdle() has no meaning with an env; run its timers')
  }
  while (net.scheduler.pending() > 0) await new Promise<void>((resolve) => setImmediate(resolve))
}
