/**
 * Performs workload operations on a peer's store and records every acknowledged write: the exact
 * Yjs updates the write made (taken from the documents' `update` events while the write ran, local
 * origins only), kept once its promise resolved. At the end each of them must be contained in the
 * same document on every peer (I1 and I6: `Y.snapshotContainsUpdate`, which also sees deletions;
 * for a register, the writer's slot is then present or superseded by a later write of its own).
 */
import type * as Y from 'yjs'
import type { Store } from '../../store/store.js'
import { isLocalOrigin } from '../../store/docs.js'
import { REGISTRY_KEY } from '../../store/keys.js'
import type { ClientIds } from './client-ids.js'
import { describeOp } from './ops.js'
import { describeError, type Incarnation } from './peer.js'
import type { WorkloadOp, WorkloadWriteOp } from './types.js'
import { storeInternalsOf } from '../../store/internals.js'

/** One document update of a write. */
export interface CapturedUpdate {
  key: string
  update: Uint8Array
}

/** A write whose promise resolved. */
export interface AckedWrite {
  peer: number
  step: number
  what: string
  updates: CapturedUpdate[]
}

interface Pending {
  peer: number
  incarnation: Incarnation
  sinceMs: number
  what: string
}

/** What a write log needs from the simulation. */
export interface WriteContext {
  readonly clientIds: ClientIds
  /** Whether `key` is a CRDT document (not a register) under the policy table. */
  isDocument(key: string): boolean
  nowMs(): number
  violation(text: string): void
}

/** Issues writes and keeps the acknowledged ones (see the module comment). */
export class WriteLog {
  readonly acked: AckedWrite[] = []
  readonly #pending = new Map<number, Pending>()
  /** Incarnations with a write whose capture window is still open (see `#deleteDocument`). */
  readonly #locked = new Set<Incarnation>()
  readonly #ctx: WriteContext
  #issued = 0

  constructor(ctx: WriteContext) {
    this.#ctx = ctx
  }

  /** Whether `incarnation` can take an operation now. */
  ready(incarnation: Incarnation): boolean {
    return !this.#locked.has(incarnation)
  }

  /** Writes pending longer than `ms` on live incarnations (a write must resolve promptly). */
  stalled(ms: number): string[] {
    const now = this.#ctx.nowMs()
    return [...this.#pending.values()]
      .filter((p) => !p.incarnation.dead && now - p.sinceMs > ms)
      .map((p) => `${p.what} pending for ${now - p.sinceMs} ms`)
  }

  /** Writes pending on live incarnations. */
  get pending(): number {
    let count = 0
    for (const p of this.#pending.values()) if (!p.incarnation.dead) count++
    return count
  }

  /** Performs `op` on `incarnation` of peer `peer` at `step`. */
  async perform(op: PeerOp, peer: number, incarnation: Incarnation, step: number): Promise<void> {
    const store = incarnation.store
    const what = `${describeOp(op)}#${incarnation.number} step ${step}`
    if (op.kind === 'checkpoint') {
      store.checkpoint().catch((error: unknown) => {
        if (!incarnation.dead)
          this.#ctx.violation(`checkpoint-failed: ${what}: ${describeError(error)}`)
      })
      return
    }
    if (op.kind === 'delete' && this.#ctx.isDocument(op.key)) {
      return this.#deleteDocument(store, op.key, { peer, incarnation, step, what })
    }
    const docs = await this.#docsOf(store, documentKeys(op))
    const watch = watchLocal(docs)
    let done: Promise<unknown>
    try {
      done = issue(store, op)
    } finally {
      watch.stop()
    }
    this.#track(done, watch.captured, { peer, incarnation, step, what })
  }

  /** The documents of `keys` (loaded, with seeded client ids), and the registry. */
  async #docsOf(store: Store, keys: readonly string[]): Promise<Array<[string, Y.Doc]>> {
    const docs: Array<[string, Y.Doc]> = [[REGISTRY_KEY, storeInternalsOf(store).registry.doc]]
    for (const key of new Set(keys)) {
      const doc = await store.load(key)
      this.#ctx.clientIds.assign(doc)
      docs.push([key, doc])
    }
    return docs
  }

  /**
   * Deleting a document awaits its load inside the store before it clears it, so its capture
   * window stays open until the delete settles, and the peer takes no other write meanwhile
   * (their updates would otherwise be counted as this write's).
   */
  async #deleteDocument(
    store: Store,
    key: string,
    at: Omit<Pending, 'sinceMs'> & { step: number },
  ) {
    const doc = await store.load(key)
    this.#ctx.clientIds.assign(doc)
    const watch = watchLocal([
      [REGISTRY_KEY, storeInternalsOf(store).registry.doc],
      [key, doc],
    ])
    this.#locked.add(at.incarnation)
    const done = store.delete(key).finally(() => {
      watch.stop()
      this.#locked.delete(at.incarnation)
    })
    this.#track(done, watch.captured, at)
  }

  #track(
    done: Promise<unknown>,
    captured: CapturedUpdate[],
    at: Omit<Pending, 'sinceMs'> & { step: number },
  ): void {
    const id = ++this.#issued
    this.#pending.set(id, { ...at, sinceMs: this.#ctx.nowMs() })
    done.then(
      () => {
        this.#pending.delete(id)
        // A client whose process crashed never saw the promise resolve.
        if (at.incarnation.dead || captured.length === 0) return
        this.acked.push({ peer: at.peer, step: at.step, what: at.what, updates: captured })
      },
      (error: unknown) => {
        this.#pending.delete(id)
        if (!at.incarnation.dead)
          this.#ctx.violation(`write-failed: ${at.what}: ${describeError(error)}`)
      },
    )
  }
}

/** The operations performed on a peer's store. */
export type PeerOp = Exclude<WorkloadOp, { kind: 'idle' | 'partition' | 'heal' }>

/** The CRDT documents an operation edits (registers live in the registry). */
function documentKeys(op: Exclude<PeerOp, { kind: 'checkpoint' }>): string[] {
  switch (op.kind) {
    case 'custom':
      return [...(op.keys ?? [])]
    case 'transact':
      return op.ops.flatMap(documentKeys)
    case 'set':
    case 'delete':
      return []
    default:
      return [op.key]
  }
}

/** Starts an operation (its synchronous part runs now); resolves once it is durable. */
function issue(store: Store, op: Exclude<PeerOp, { kind: 'checkpoint' }>): Promise<unknown> {
  switch (op.kind) {
    case 'delete':
      return store.delete(op.key)
    case 'custom':
      return Promise.resolve(op.run(store))
    case 'transact':
      return store
        .transact(() => op.ops.map((write) => applyWrite(store, write, true)))
        .then((all) => Promise.all(all))
    default:
      return applyWrite(store, op, false)
  }
}

/** Performs the synchronous part of one write; resolves once it is durable. */
function applyWrite(
  store: Store,
  write: WorkloadWriteOp,
  inTransaction: boolean,
): Promise<unknown> {
  switch (write.kind) {
    case 'set':
      return store.set(write.key, write.value)
    case 'text': {
      const text = store.text(write.key)
      const edit = (): void => {
        for (const { at, remove, insert } of write.edits) {
          const position = Math.floor(at * (text.length + 1))
          const count = Math.min(remove, text.length - position)
          if (count > 0) text.delete(position, count)
          if (insert.length > 0) text.insert(position, insert)
        }
      }
      if (inTransaction || !write.transact) {
        edit()
        return inTransaction ? Promise.resolve() : store.flush()
      }
      return store.transact(edit)
    }
    case 'array': {
      const array = store.array(write.key)
      return store.transact(() => {
        if (write.push.length > 0) array.push(write.push)
        if (write.removeAt !== undefined && array.length > 0)
          array.delete(Math.floor(write.removeAt * array.length), 1)
      })
    }
    case 'map': {
      const map = store.map(write.key)
      return store.transact(() => map.set(write.field, write.value))
    }
  }
}

/** Collects the local-origin updates of `docs` until stopped. */
function watchLocal(docs: ReadonlyArray<[string, Y.Doc]>): {
  captured: CapturedUpdate[]
  stop(): void
} {
  const captured: CapturedUpdate[] = []
  const handlers = docs.map(([key, doc]) => {
    const handler = (update: Uint8Array, origin: unknown): void => {
      if (isLocalOrigin(origin)) captured.push({ key, update })
    }
    doc.on('update', handler)
    return () => doc.off('update', handler)
  })
  return { captured, stop: () => handlers.forEach((off) => off()) }
}
