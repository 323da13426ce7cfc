/**
 * Shared pieces of the sync benchmark: two on-disk stores A and B (durability `sync`, in fresh
 * scratch directories) with sync nodes on one in-memory network, both with the trace's note open
 * (as an editor would have it), and the same store alone for the baselines.
 */
import { createMemoryNetwork, type MemoryNetwork } from '../adapters/transport-memory/index.js'
import { createStore, type Store } from '../src/index.js'
import { startSync, type SyncNode } from '../src/sync/node.js'
import type { SyncLimits } from '../src/sync/protocol.js'
import type { BenchContext } from './context.js'
import { TEXT_KEY, TEXT_POLICIES } from './store-support.js'

/** Two synced stores. */
export interface SyncPair {
  readonly a: Store
  readonly b: Store
  readonly nodeA: SyncNode
  readonly nodeB: SyncNode
  readonly network: MemoryNetwork
  /** Links A and B and resolves once both nodes report `synced`. */
  link(): Promise<void>
  /** Bytes A sent to B (and B to A) so far, from the network's counters. */
  bytesSent(from: 'a' | 'b'): number
  /** Messages A sent to B (and B to A) so far. */
  messagesSent(from: 'a' | 'b'): number
  /** Throws if a node reported an error. */
  assertNoErrors(): void
  /** Closes the nodes and the stores (no checkpoint) and deletes the directories. */
  close(): Promise<void>
}

/** Opens an on-disk store for the trace in a fresh scratch directory, its note loaded. */
export async function openTraceStore(
  ctx: BenchContext,
  label: string,
): Promise<{ store: Store; dir: string }> {
  const dir = await ctx.freshDir(label)
  const store = await createStore({ path: dir, policies: TEXT_POLICIES, durability: 'sync' })
  await store.load(TEXT_KEY)
  return { store, dir }
}

/** Opens two stores and their sync nodes (with `limits`, if given), not linked yet. */
export async function openPair(
  ctx: BenchContext,
  limits: Partial<SyncLimits> = {},
): Promise<SyncPair> {
  const network = createMemoryNetwork({ autoConnect: false })
  const { store: a, dir: dirA } = await openTraceStore(ctx, 'sync-a')
  const { store: b, dir: dirB } = await openTraceStore(ctx, 'sync-b')
  const errors: unknown[] = []
  const nodeA = startSync(a, { transport: network.transport('a'), limits })
  const nodeB = startSync(b, { transport: network.transport('b'), limits })
  for (const node of [nodeA, nodeB]) node.on('error', (error) => errors.push(error))
  const counter = (from: 'a' | 'b', pick: 'bytesSent' | 'messagesSent'): number =>
    network.stats().find((link) => link.from === from)?.[pick] ?? 0
  return {
    a,
    b,
    nodeA,
    nodeB,
    network,
    async link() {
      network.link('a', 'b')
      await Promise.all([nodeA.whenSynced(), nodeB.whenSynced()])
    },
    bytesSent: (from) => counter(from, 'bytesSent'),
    messagesSent: (from) => counter(from, 'messagesSent'),
    assertNoErrors() {
      if (errors.length > 0) throw new Error(`sync errors: ${errors.map(String).join('; ')}`)
    },
    async close() {
      await Promise.all([nodeA.close(), nodeB.close()])
      await Promise.all([a.close({ checkpoint: false }), b.close({ checkpoint: false })])
      await Promise.all([ctx.removeDir(dirA), ctx.removeDir(dirB)])
    },
  }
}
