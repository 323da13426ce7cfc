/**
 * The LevelDB storage adapter's methods (`createLeveldbStorage` in `index.ts` opens the database
 * and builds one). Every method reads and writes y-leveldb's layout (`layout.ts`) through
 * classic-level's public API; every write is one `batch(…, { sync: true })` followed by a fsync of
 * the database directory. Methods run one at a time, in call order, so a method's reads and the
 * batch planned from them never interleave with another method's.
 */
import * as Y from 'yjs'
import { invalidArgument } from '../../src/core/errors.js'
import type { StorageAdapter } from '../../src/store/storage.js'
import { createNodeFileLayer } from '../../src/wal/node-file-layer.js'
import {
  checkBytes,
  checkDocKey,
  checkMetaName,
  checkOpen,
  decodeDocState,
} from '../../src/store/storage-checks.js'
import { storageError, unexpectedResult, type FailureContext } from './leveldb-errors.js'
import {
  DOC_RECORD_RANGE,
  decodeMeta,
  encodeMeta,
  metaKey,
  readDocRecord,
  readValue,
  updateKeyRange,
  type LayoutReads,
} from './layout.js'
import {
  mergeStates,
  planDelete,
  planStore,
  type BatchOp,
  type CheckedState,
} from './batch-store.js'

/** The reserved y-leveldb document holding metadata; keys never contain NUL, so none collides. */
export const META_DOC_NAME = '\u0000starling-meta'

/** The public classic-level calls the adapter makes, with y-leveldb's key encoding. */
export interface LeveldbHandle extends LayoutReads {
  batch(operations: BatchOp[], options: { sync: true }): Promise<void>
  close(): Promise<void>
}

/** What a {@link LeveldbStorage} works on. */
export interface LeveldbStorageParts {
  /** Absolute path of the database directory. */
  location: string
  /** The database, already open. */
  db: LeveldbHandle
  storedUpdatesMax: number
}

const fileLayer = createNodeFileLayer()

/** Fsyncs a directory; a failure is `STORAGE_FAILED`. */
export async function syncDirectory(dir: string, method: string): Promise<void> {
  try {
    await fileLayer.syncDir(dir)
  } catch (error) {
    throw storageError({ method, details: { dir }, decodesStored: false }, error)
  }
}

/** `StorageAdapter` over LevelDB in y-leveldb's layout (see `index.ts` for what it guarantees). */
export class LeveldbStorage implements StorageAdapter {
  readonly #location: string
  readonly #db: LeveldbHandle
  readonly #storedUpdatesMax: number
  #closed = false
  #closing: Promise<void> | undefined
  #tail: Promise<unknown> = Promise.resolve()

  constructor(parts: LeveldbStorageParts) {
    this.#location = parts.location
    this.#db = parts.db
    this.#storedUpdatesMax = parts.storedUpdatesMax
  }

  /** {@inheritDoc StorageAdapter.loadDoc} */
  async loadDoc(key: string): Promise<Uint8Array | undefined> {
    checkOpen(this.#closed, 'loadDoc')
    checkDocKey(key, 'loadDoc')
    const context = { method: 'loadDoc', details: { key }, decodesStored: true }
    return this.#serially(() => this.#read(context, () => this.#load(key)))
  }

  /** {@inheritDoc StorageAdapter.storeDoc} */
  async storeDoc(key: string, state: Uint8Array): Promise<void> {
    checkOpen(this.#closed, 'storeDoc')
    checkDocKey(key, 'storeDoc')
    checkBytes(state, 'storeDoc')
    return this.#storeAll('storeDoc', { key }, new Map([[key, state]]))
  }

  /** {@inheritDoc StorageAdapter.storeDocs} */
  async storeDocs(states: ReadonlyMap<string, Uint8Array>): Promise<void> {
    checkOpen(this.#closed, 'storeDocs')
    if (!(states instanceof Map)) throw invalidArgument('storeDocs: states must be a Map')
    for (const [key, state] of states as ReadonlyMap<unknown, unknown>) {
      checkDocKey(key, 'storeDocs')
      checkBytes(state, 'storeDocs')
    }
    return this.#storeAll('storeDocs', { docs: states.size }, states)
  }

  /** {@inheritDoc StorageAdapter.deleteDoc} */
  async deleteDoc(key: string): Promise<void> {
    checkOpen(this.#closed, 'deleteDoc')
    checkDocKey(key, 'deleteDoc')
    const context = { method: 'deleteDoc', details: { key }, decodesStored: false }
    return this.#serially(async () => {
      const ops = await this.#read(context, () => planDelete(this.#db, key))
      await this.#write(context, ops)
    })
  }

  /** {@inheritDoc StorageAdapter.listDocs} */
  async listDocs(): Promise<string[]> {
    checkOpen(this.#closed, 'listDocs')
    const context = { method: 'listDocs', details: {}, decodesStored: false }
    return this.#serially(async () => {
      const keys = await this.#read(context, () => this.#db.keys(DOC_RECORD_RANGE).all())
      const names = keys.map((key) => key[1])
      if (!names.every((name) => typeof name === 'string'))
        throw unexpectedResult({ ...context, decodesStored: true }, names)
      // Key order sorts by UTF-8 length first.
      return names.filter((name) => name !== META_DOC_NAME).sort()
    })
  }

  /** {@inheritDoc StorageAdapter.getMeta} */
  async getMeta(name: string): Promise<Uint8Array | undefined> {
    checkOpen(this.#closed, 'getMeta')
    checkMetaName(name, 'getMeta')
    const context = { method: 'getMeta', details: { name }, decodesStored: true }
    return this.#serially(async () => {
      const read = async () => {
        const stored = await readValue(this.#db, metaKey(META_DOC_NAME, name))
        return stored === undefined ? undefined : { value: decodeMeta(stored) }
      }
      const found = await this.#read(context, read)
      if (found === undefined) return undefined
      // Starling stores only bytes here; anything else is a damaged or foreign record.
      if (!(found.value instanceof Uint8Array)) throw unexpectedResult(context, found.value)
      return found.value.slice()
    })
  }

  /** {@inheritDoc StorageAdapter.setMeta} */
  async setMeta(name: string, value: Uint8Array): Promise<void> {
    checkOpen(this.#closed, 'setMeta')
    checkMetaName(name, 'setMeta')
    checkBytes(value, 'setMeta')
    const op: BatchOp = { type: 'put', key: metaKey(META_DOC_NAME, name), value: encodeMeta(value) }
    const context = { method: 'setMeta', details: { name }, decodesStored: false }
    return this.#serially(() => this.#write(context, [op]))
  }

  /** {@inheritDoc StorageAdapter.close} Waits for the calls made before it. */
  close(): Promise<void> {
    if (this.#closing !== undefined) return this.#closing
    this.#closed = true
    const context = { method: 'close', details: { location: this.#location }, decodesStored: false }
    this.#closing = this.#serially(async () => {
      try {
        await this.#db.close()
      } catch (error) {
        throw storageError(context, error)
      }
    })
    return this.#closing
  }

  async #load(key: string): Promise<Uint8Array | undefined> {
    // "Never stored" is the absence of the state-vector record, not an empty or failed read.
    if ((await readDocRecord(this.#db, key)) === undefined) return undefined
    const updates = await this.#db.values(updateKeyRange(key)).all()
    // One stored update (the common case after a checkpoint and every compaction) is the state
    // itself: returned as stored, decoded once without building a document, so damaged bytes
    // are STORAGE_CORRUPTION here rather than a load failing halfway through applying them.
    const [only] = updates
    if (updates.length === 1 && only !== undefined) {
      const state = new Uint8Array(only)
      Y.decodeUpdate(state)
      return state
    }
    return mergeStates(updates).state
  }

  /** Validates `states`, then stores all of them in one synced batch. */
  async #storeAll(
    method: string,
    details: FailureContext['details'],
    states: ReadonlyMap<string, Uint8Array>,
  ): Promise<void> {
    const checked = new Map<string, CheckedState>()
    for (const [key, state] of states) {
      // A copy: the caller may reuse its buffer before this call's turn comes.
      const copy = state.slice()
      const doc = decodeDocState(key, copy)
      checked.set(key, { state: copy, stateVector: Y.encodeStateVector(doc) })
      doc.destroy()
    }
    if (checked.size === 0) return
    const context = { method, details, decodesStored: false }
    return this.#serially(async () => {
      const ops: BatchOp[] = []
      for (const [key, value] of checked) {
        const plan = () => planStore(this.#db, this.#storedUpdatesMax, key, value)
        ops.push(...(await this.#read(context, plan)))
      }
      await this.#write(context, ops)
    })
  }

  /** Runs `work` after every earlier call (one at a time, in call order). */
  #serially<T>(work: () => Promise<T>): Promise<T> {
    const result = this.#tail.then(work)
    this.#tail = result.catch(() => undefined)
    return result
  }

  /** Reads (and decodes) stored bytes; an error that is not the backend's is a decode error. */
  async #read<T>(context: FailureContext, invoke: () => Promise<T>): Promise<T> {
    try {
      return await invoke()
    } catch (error) {
      throw storageError({ ...context, decodesStored: true }, error)
    }
  }

  /** The one write path: one atomic batch, synced, then the directory fsynced. */
  async #write(context: FailureContext, ops: BatchOp[]): Promise<void> {
    try {
      await this.#db.batch(ops, { sync: true })
    } catch (error) {
      throw storageError(context, error)
    }
    await syncDirectory(this.#location, context.method)
  }
}
