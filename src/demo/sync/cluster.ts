/**
 * The three peers of `starling demo`: on-disk stores `alpha`, `beta` and `gamma`, each synced
 * through its own endpoint of one in-memory network (alpha–beta, beta–gamma, alpha–gamma), and
 * the bookkeeping the demo shows — which of alpha's records each peer acknowledged, what travelled
 * on each link, and every error a node or store reported.
 */
import { rm } from 'node:fs/promises'
import { join } from 'node:path'
import {
  createMemoryNetwork,
  type MemoryNetwork,
} from '../../../adapters/transport-memory/index.js'
import type { NodeId, PeerId } from '../../core/ids.js'
import { createStore } from '../../create-store.js'
import { crdt, lww } from '../../policy/index.js'
import type { Store } from '../../store/index.js'
import { startSync, type SyncNode } from '../../sync/node.js'
import { FRAME_TYPE } from '../../sync/protocol.js'
import type { Transport } from '../../sync/transport.js'

/** The peers, in the order they are shown. */
export const PEER_NAMES = ['alpha', 'beta', 'gamma'] as const
export type PeerName = (typeof PEER_NAMES)[number]

/** The policy table of every demo store. */
export const DEMO_POLICIES = { 'notes/*': crdt('text'), 'settings/**': lww() }

/** Offset of the frame type byte in a sync frame (after magic and version). */
const FRAME_TYPE_OFFSET = 2

/** Traffic a peer sent, counted at its transport. */
export interface SentCounters {
  frames: number
  bytes: number
  /** RECORDS frames (log shipping) among them, and their bytes. */
  recordFrames: number
  recordBytes: number
}

/** One peer: its store, its sync node and what the demo counts of it. */
export interface DemoPeer {
  readonly name: PeerName
  readonly store: Store
  readonly node: SyncNode
  readonly sent: SentCounters
  /** Per sender: the highest cursor on its log this peer made durable ('received' events). */
  readonly received: Map<NodeId, number>
  /** Log positions of other peers made durable here (sum of cursor advances). */
  receivedRecords: number
  /** Acknowledgements (cumulative acks) this peer got from the others. */
  acks: number
  /** State-vector catch-ups this peer completed as receiver. */
  catchUpsIn: number
}

/** The running demo network. */
export interface DemoCluster {
  readonly network: MemoryNetwork
  readonly peers: Readonly<Record<PeerName, DemoPeer>>
  /** Errors reported by any node or store, as `peer: message` (at most {@link ERRORS_MAX}). */
  readonly errors: string[]
  /** The name of the peer with `node` id. */
  nameOf(node: NodeId | undefined): PeerName | undefined
  /** Closes every sync node, then every store (checkpointing). */
  close(): Promise<void>
}

/** Errors kept for the report. */
export const ERRORS_MAX = 20

/** Deletes the three store directories under `dir` (only those: `dir` may hold other things). */
export async function wipeDemoDirs(dir: string): Promise<void> {
  for (const name of PEER_NAMES) await rm(join(dir, name), { recursive: true, force: true })
}

/** Opens the three stores under `dir`, starts syncing them and links every pair. */
export async function openCluster(dir: string): Promise<DemoCluster> {
  const network = createMemoryNetwork({ autoConnect: false })
  const errors: string[] = []
  const stores: Store[] = []
  try {
    for (const name of PEER_NAMES)
      stores.push(await createStore({ path: join(dir, name), policies: DEMO_POLICIES }))
  } catch (error) {
    await Promise.all(stores.map((store) => store.close()))
    throw error
  }
  const peerList = PEER_NAMES.map((name, i) => startPeer(name, stores[i] as Store, network, errors))
  const peers = Object.fromEntries(peerList.map((peer) => [peer.name, peer])) as Record<
    PeerName,
    DemoPeer
  >
  const names = new Map<NodeId, PeerName>(peerList.map((peer) => [peer.store.nodeId, peer.name]))
  for (const [a, b] of [
    ['alpha', 'beta'],
    ['beta', 'gamma'],
    ['alpha', 'gamma'],
  ] as const)
    network.link(a, b)
  return {
    network,
    peers,
    errors,
    nameOf: (node) => (node === undefined ? undefined : names.get(node)),
    async close() {
      await Promise.all(peerList.map((peer) => peer.node.close()))
      await Promise.all(peerList.map((peer) => peer.store.close()))
    },
  }
}

function startPeer(
  name: PeerName,
  store: Store,
  network: MemoryNetwork,
  errors: string[],
): DemoPeer {
  const sent: SentCounters = { frames: 0, bytes: 0, recordFrames: 0, recordBytes: 0 }
  const node = startSync(store, { transport: countingTransport(network.transport(name), sent) })
  const peer: DemoPeer = {
    name,
    store,
    node,
    sent,
    received: new Map(),
    receivedRecords: 0,
    acks: 0,
    catchUpsIn: 0,
  }
  const noteError = (error: unknown): void => {
    if (errors.length < ERRORS_MAX) errors.push(`${name}: ${describeError(error)}`)
  }
  node.on('error', noteError)
  store.on('error', noteError)
  node.on('event', (event) => {
    if (event.type === 'acked') peer.acks++
    else if (event.type === 'catch-up' && event.direction === 'in' && event.phase === 'done')
      peer.catchUpsIn++
    else if (event.type === 'received') {
      const before = peer.received.get(event.node) ?? 0
      if (event.cursor > before) {
        peer.receivedRecords += event.cursor - before
        peer.received.set(event.node, event.cursor)
      }
    }
  })
  return peer
}

/** `transport`, counting every frame it sends into `counters`. */
function countingTransport(transport: Transport, counters: SentCounters): Transport {
  return {
    localPeer: transport.localPeer,
    messageBytesMax: transport.messageBytesMax,
    start: (handlers) => transport.start(handlers),
    send(peer: PeerId, message: Uint8Array) {
      transport.send(peer, message)
      counters.frames++
      counters.bytes += message.length
      if (message[FRAME_TYPE_OFFSET] === FRAME_TYPE.records) {
        counters.recordFrames++
        counters.recordBytes += message.length
      }
    },
    disconnect: (peer, reason) => transport.disconnect(peer, reason),
    close: () => transport.close(),
  }
}

function describeError(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code
    return typeof code === 'string' ? `${error.message} (${code})` : error.message
  }
  return String(error)
}
