/**
 * One simulated peer: a store on its own simulated disk (the WAL) and memory storage backing (the
 * checkpoints), a sync node on the shared network, and a wall clock that may be skewed. A crash
 * freezes the disk, cuts the storage off, closes the node, and keeps a power-loss image (or a
 * process-crash copy) of the disk; a restart opens a new store — a new incarnation — from it.
 */
import {
  createMemoryBacking,
  createMemoryStorage,
  type MemoryStorageBacking,
} from '../../../adapters/storage-memory/index.js'
import type { Env } from '../../core/env.js'
import { isStarlingError } from '../../core/errors.js'
import type { NodeId } from '../../core/ids.js'
import type { Rng } from '../../core/random.js'
import { openStore } from '../../store/open.js'
import type { Store } from '../../store/store.js'
import { startSync, type SyncNode } from '../../sync/node.js'
import { createSimFs, type SimFs } from '../sim-fs.js'
import type { VirtualEnv } from '../virtual-env.js'
import { DurableCursors } from './audit.js'
import type { ClientIds } from './client-ids.js'
import { crashableStorage, type CrashableStorage } from './crash-storage.js'
import { peerName, type SimNetwork } from './network.js'
import type { ResolvedOptions } from './options.js'
import type { CrashDamage } from './types.js'
import { storeInternalsOf } from '../../store/internals.js'

/** Where the WAL lives on each peer's simulated disk. */
const WAL_DIR = '/starling/wal'

/** What a peer needs from the simulation. */
export interface PeerContext {
  readonly options: ResolvedOptions
  readonly env: VirtualEnv
  readonly network: SimNetwork
  readonly clientIds: ClientIds
  violation(text: string): void
  syncError(error: unknown, peer: number): void
  /** A store reported an error; `where` names the peer and incarnation. */
  storeError(error: unknown, where: string): void
}

/** One life of a peer, from an open to a crash (or the end of the run). */
export interface Incarnation {
  /** The peer's name and the incarnation's number (1 for the first open). */
  readonly peer: string
  readonly number: number
  readonly fs: SimFs
  readonly storage: CrashableStorage
  readonly store: Store
  readonly node: SyncNode
  readonly cursors: DurableCursors
  dead: boolean
}

/** A simulated peer (see the module comment). */
export class SimPeer {
  readonly index: number
  readonly name: string
  readonly env: Env
  readonly backing: MemoryStorageBacking = createMemoryBacking()
  readonly #ctx: PeerContext
  /** Added to the virtual wall clock for this peer (within the HLC skew bound). */
  skewMs = 0
  nodeId: NodeId | undefined
  live: Incarnation | undefined
  /** The disk a crashed peer restarts from, and the step it restarts at. */
  image: SimFs | undefined
  restartAtStep = 0
  /** Set when the peer could not be reopened: it takes no further part. */
  broken = false
  incarnations = 0

  constructor(ctx: PeerContext, index: number) {
    this.#ctx = ctx
    this.index = index
    this.name = peerName(index)
    const base = ctx.env
    this.env = {
      nowMs: () => base.nowMs() + this.skewMs,
      monotonicMs: () => base.monotonicMs(),
      setTimer: (delayMs, callback) => base.setTimer(delayMs, callback),
      random: () => base.random(),
      randomBytes: (length) => base.randomBytes(length),
    }
  }

  /** Whether the peer is running. */
  get up(): boolean {
    return this.live !== undefined
  }

  /** Opens a store on `fs` (a new disk by default) and starts syncing it. */
  async start(fs: SimFs = createSimFs()): Promise<void> {
    const { options, network, clientIds } = this.#ctx
    const storage = crashableStorage(createMemoryStorage(this.backing))
    const store = await openStore(
      {
        policies: options.policies,
        durability: options.store.durability,
        env: this.env,
        checkpointRecords: options.store.checkpointRecords,
        syncRetainRecords: options.store.syncRetainRecords,
        memoryBudgetBytes: options.store.memoryBudgetBytes,
      },
      { walDir: WAL_DIR, fs, storage: storage.adapter },
    )
    clientIds.assign(storeInternalsOf(store).registry.doc)
    // Installed before the node starts: it may apply a batch as soon as a peer is up.
    const cursors = new DurableCursors(store)
    const node = startSync(store, {
      transport: network.net.transport(this.name),
      env: this.env,
      limits: options.limits,
      unsafe: options.unsafe,
    })
    const incarnation: Incarnation = {
      peer: this.name,
      number: ++this.incarnations,
      fs,
      storage,
      store,
      node,
      cursors,
      dead: false,
    }
    this.#watch(incarnation)
    this.nodeId = store.nodeId
    this.live = incarnation
    this.image = undefined
  }

  #watch(incarnation: Incarnation): void {
    const where = `${this.name}#${incarnation.number}`
    incarnation.store.on('error', (error) => {
      if (!incarnation.dead) this.#ctx.storeError(error, where)
    })
    incarnation.node.on('error', (error) => {
      if (!incarnation.dead) this.#ctx.syncError(error, this.index)
    })
  }

  /**
   * Crashes the peer: nothing more reaches its disk or storage, its connections go down, and
   * what survives is `damage` applied to the disk as of now.
   */
  async crash(damage: CrashDamage, rng: Rng): Promise<void> {
    const incarnation = this.live
    if (incarnation === undefined) return
    incarnation.dead = true
    this.live = undefined
    const fs = incarnation.fs
    fs.armCrash(fs.steps)
    incarnation.storage.kill()
    this.image = damage === 'process' ? fs.clone() : fs.crashImage(damage, rng)
    await incarnation.node.close()
    // The dead store's pending work fails against the frozen disk; nothing of it is kept.
    incarnation.store.close().catch(() => undefined)
  }

  /** Reopens a crashed peer from its disk image; a failure to open is a violation. */
  async restart(): Promise<void> {
    if (this.image === undefined || this.broken) return
    const image = this.image
    try {
      await this.start(image)
    } catch (error) {
      this.broken = true
      this.#ctx.violation(
        `recovery: ${this.name} failed to reopen after a crash: ${describeError(error)}`,
      )
    }
  }

  /** Stops the peer at the end of the run. */
  async close(): Promise<void> {
    const incarnation = this.live
    if (incarnation === undefined) return
    incarnation.dead = true
    this.live = undefined
    await incarnation.node.close()
    await incarnation.store.close({ checkpoint: false }).catch(() => undefined)
  }
}

/** A short description of an error for a violation line. */
export function describeError(error: unknown): string {
  if (isStarlingError(error)) return `${error.code}: ${error.message}`
  if (error instanceof Error) return `${error.name}: ${error.message}`
  return String(error)
}
