/**
 * In-memory storage adapter: for tests and for stores opened without a path. Nothing survives the
 * process, so "durable when resolved" holds only for the adapter's own lifetime — or, with a shared
 * {@link MemoryStorageBacking}, for the backing's: adapters created on one backing see the same
 * data, like adapters reopened on one disk (crash tests "reopen" storage that way). It checks keys
 * and document states exactly like the LevelDB adapter, and passes the same conformance suite.
 */
import * as Y from 'yjs'
import { invalidArgument } from '../../src/core/errors.js'
import type { StorageAdapter } from '../../src/store/storage.js'
import {
  checkBytes,
  checkDocKey,
  checkMetaName,
  checkOpen,
  decodeDocState,
} from '../../src/store/storage-checks.js'

/**
 * Where in-memory adapters keep their data: document states and metadata by name. Share one
 * between adapters to make it outlive them, like a disk. Treat it as opaque outside tests.
 */
export interface MemoryStorageBacking {
  readonly docs: Map<string, Uint8Array>
  readonly meta: Map<string, Uint8Array>
}

/** Creates an empty {@link MemoryStorageBacking}. */
export function createMemoryBacking(): MemoryStorageBacking {
  return { docs: new Map(), meta: new Map() }
}

/**
 * Creates an in-memory storage adapter: on `backing` when given (its data survives `close()` and
 * is seen by every adapter on it), otherwise on a private, empty one (cleared by `close()`). Each
 * stored document is kept as one merged Yjs update; stored and returned bytes are copies, so
 * callers may reuse their buffers.
 *
 * @example
 * ```ts
 * const storage = createMemoryStorage()
 * const doc = new Y.Doc()
 * doc.getText('body').insert(0, 'hello')
 * await storage.storeDoc('notes/today', Y.encodeStateAsUpdate(doc))
 * console.log(await storage.listDocs()) // ['notes/today']
 * await storage.close()
 *
 * const disk = createMemoryBacking()
 * await createMemoryStorage(disk).setMeta('lsn', new Uint8Array([7]))
 * console.log(await createMemoryStorage(disk).getMeta('lsn')) // Uint8Array [ 7 ]
 * ```
 */
export function createMemoryStorage(backing?: MemoryStorageBacking): StorageAdapter {
  const { docs, meta } = backing ?? createMemoryBacking()
  let closed = false

  return {
    loadDoc: (key) =>
      settle(() => {
        checkOpen(closed, 'loadDoc')
        checkDocKey(key, 'loadDoc')
        return docs.get(key)?.slice()
      }),
    storeDoc: (key, state) =>
      settle(() => {
        checkOpen(closed, 'storeDoc')
        checkDocKey(key, 'storeDoc')
        checkBytes(state, 'storeDoc')
        docs.set(key, mergeState(key, docs.get(key), state))
      }),
    storeDocs: (states) =>
      settle(() => {
        checkOpen(closed, 'storeDocs')
        if (!(states instanceof Map)) throw invalidArgument('storeDocs: states must be a Map')
        const merged = new Map<string, Uint8Array>()
        for (const [key, state] of states as ReadonlyMap<unknown, unknown>) {
          checkDocKey(key, 'storeDocs')
          checkBytes(state, 'storeDocs')
          merged.set(key, mergeState(key, docs.get(key), state))
        }
        // Every state is checked before any is stored: all or nothing.
        for (const [key, state] of merged) docs.set(key, state)
      }),
    deleteDoc: (key) =>
      settle(() => {
        checkOpen(closed, 'deleteDoc')
        checkDocKey(key, 'deleteDoc')
        docs.delete(key)
      }),
    listDocs: () =>
      settle(() => {
        checkOpen(closed, 'listDocs')
        return [...docs.keys()].sort()
      }),
    getMeta: (name) =>
      settle(() => {
        checkOpen(closed, 'getMeta')
        checkMetaName(name, 'getMeta')
        return meta.get(name)?.slice()
      }),
    setMeta: (name, value) =>
      settle(() => {
        checkOpen(closed, 'setMeta')
        checkMetaName(name, 'setMeta')
        checkBytes(value, 'setMeta')
        meta.set(name, value.slice())
      }),
    close: () =>
      settle(() => {
        closed = true
        if (backing !== undefined) return
        docs.clear()
        meta.clear()
      }),
  }
}

/** Runs synchronous `work` as a method of the async port: a throw becomes a rejection. */
function settle<T>(work: () => T): Promise<T> {
  return new Promise((resolve) => resolve(work()))
}

/**
 * The new stored state of a document: `state` merged over what was stored, re-encoded from a
 * Y.Doc (the compaction docs/ARCHITECTURE.md recommends over `Y.mergeUpdates`). Throws
 * `STORAGE_INVALID_UPDATE`, leaving the stored state untouched, when `state` does not decode.
 */
function mergeState(key: string, stored: Uint8Array | undefined, state: Uint8Array): Uint8Array {
  const doc = decodeDocState(key, state)
  try {
    if (stored !== undefined) Y.applyUpdate(doc, stored)
    return Y.encodeStateAsUpdate(doc)
  } finally {
    doc.destroy()
  }
}
