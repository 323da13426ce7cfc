/**
 * The LevelDB storage adapter's methods (`createLeveldbStorage` in `index.ts` opens the database
 * and builds one). Methods run one at a time, in call order, so a method's direct layout reads
 * and its y-leveldb calls never interleave with another method's.
 */
import type { LeveldbPersistence } from 'y-leveldb'
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
import {
  failedCall,
  storageError,
  unexpectedResult,
  type FailureContext,
} from './leveldb-errors.js'
import { hasResidue, readDocRecord, readOnlyUpdate, type LayoutReads } from './layout.js'
import { captureTransactionErrors } from './transaction-errors.js'
import { planStore, type BatchOp, type CheckedState } from './batch-store.js'

/** The reserved y-leveldb document holding metadata; keys never contain NUL, so none collides. */
export const META_DOC_NAME = '\u0000starling-meta'

/** What a {@link LeveldbStorage} works on. */
export interface LeveldbStorageParts {
  /** Absolute path of the database directory. */
  location: string
  /** The database y-leveldb opened (already open), for direct layout reads. */
  db: object
  persistence: LeveldbPersistence
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

/** `StorageAdapter` over y-leveldb (see `index.ts` for what it adds to y-leveldb). */
export class LeveldbStorage implements StorageAdapter {
  readonly #location: string
  readonly #reads: LayoutReads
  readonly #persistence: LeveldbPersistence
  readonly #storedUpdatesMax: number
  #closed = false
  #closing: Promise<void> | undefined
  #tail: Promise<unknown> = Promise.resolve()

  constructor(parts: LeveldbStorageParts) {
    this.#location = parts.location
    this.#reads = parts.db as LayoutReads
    this.#persistence = parts.persistence
    this.#storedUpdatesMax = parts.storedUpdatesMax
  }

  /** {@inheritDoc StorageAdapter.loadDoc} */
  async loadDoc(key: string): Promise<Uint8Array | undefined> {
    checkOpen(this.#closed, 'loadDoc')
    checkDocKey(key, 'loadDoc')
    return this.#serially(() => this.#load(key))
  }

  /** {@inheritDoc StorageAdapter.storeDoc} */
  async storeDoc(key: string, state: Uint8Array): Promise<void> {
    checkOpen(this.#closed, 'storeDoc')
    checkDocKey(key, 'storeDoc')
    checkBytes(state, 'storeDoc')
    // A copy: the caller may reuse its buffer before this call's turn comes.
    const copy = state.slice()
    decodeDocState(key, copy).destroy()
    return this.#serially(() => this.#store(key, copy))
  }

  /** {@inheritDoc StorageAdapter.storeDocs} */
  async storeDocs(states: ReadonlyMap<string, Uint8Array>): Promise<void> {
    checkOpen(this.#closed, 'storeDocs')
    if (!(states instanceof Map)) throw invalidArgument('storeDocs: states must be a Map')
    const checked = new Map<string, CheckedState>()
    for (const [key, state] of states as ReadonlyMap<unknown, unknown>) {
      checkDocKey(key, 'storeDocs')
      checkBytes(state, 'storeDocs')
      const copy = state.slice()
      const doc = decodeDocState(key, copy)
      checked.set(key, { state: copy, stateVector: Y.encodeStateVector(doc) })
      doc.destroy()
    }
    return this.#serially(() => this.#storeMany(checked))
  }

  /** {@inheritDoc StorageAdapter.deleteDoc} */
  async deleteDoc(key: string): Promise<void> {
    checkOpen(this.#closed, 'deleteDoc')
    checkDocKey(key, 'deleteDoc')
    return this.#serially(async () => {
      const context = { method: 'deleteDoc', details: { key }, decodesStored: false }
      await this.#call(context, () => this.#persistence.clearDocument(key), isUndefined)
      await syncDirectory(this.#location, 'deleteDoc')
    })
  }

  /** {@inheritDoc StorageAdapter.listDocs} */
  async listDocs(): Promise<string[]> {
    checkOpen(this.#closed, 'listDocs')
    return this.#serially(async () => {
      const context = { method: 'listDocs', details: {}, decodesStored: false }
      const names = await this.#call(
        context,
        () => this.#persistence.getAllDocNames(),
        isStringArray,
      )
      // y-leveldb lists in key order, which sorts by UTF-8 length first.
      return names.filter((name) => name !== META_DOC_NAME).sort()
    })
  }

  /** {@inheritDoc StorageAdapter.getMeta} */
  async getMeta(name: string): Promise<Uint8Array | undefined> {
    checkOpen(this.#closed, 'getMeta')
    checkMetaName(name, 'getMeta')
    return this.#serially(async () => {
      const context = { method: 'getMeta', details: { name }, decodesStored: true }
      const read = () => this.#persistence.getMeta(META_DOC_NAME, name)
      const value = await this.#call(context, read, isMeta)
      return value === undefined ? undefined : value.slice()
    })
  }

  /** {@inheritDoc StorageAdapter.setMeta} */
  async setMeta(name: string, value: Uint8Array): Promise<void> {
    checkOpen(this.#closed, 'setMeta')
    checkMetaName(name, 'setMeta')
    checkBytes(value, 'setMeta')
    const copy = value.slice()
    return this.#serially(async () => {
      const context = { method: 'setMeta', details: { name }, decodesStored: false }
      const write = () => this.#persistence.setMeta(META_DOC_NAME, name, copy)
      await this.#call(context, write, isUndefined)
      await syncDirectory(this.#location, 'setMeta')
    })
  }

  /** {@inheritDoc StorageAdapter.close} Waits for the calls made before it. */
  close(): Promise<void> {
    if (this.#closing !== undefined) return this.#closing
    this.#closed = true
    const context = { method: 'close', details: { location: this.#location }, decodesStored: false }
    this.#closing = this.#serially(() =>
      this.#call(context, () => this.#persistence.destroy(), isUndefined),
    )
    return this.#closing
  }

  async #load(key: string): Promise<Uint8Array | undefined> {
    const context = { method: 'loadDoc', details: { key }, decodesStored: true }
    // "Never stored" is the absence of the state-vector record, not an empty or failed read.
    if ((await this.#read(context, () => readDocRecord(this.#reads, key))) === undefined)
      return undefined
    // One stored update is the state itself: returned as stored, without y-leveldb decoding it
    // into a Y.Doc and this adapter encoding it again (two thirds of a reopen's work). It is
    // decoded once, without building a document, so damaged bytes are STORAGE_CORRUPTION here
    // rather than a load failing halfway through applying them.
    const only = await this.#read(context, () => readOnlyUpdate(this.#reads, key))
    if (only !== undefined) {
      const state = new Uint8Array(only)
      await this.#read(context, () => Promise.resolve(Y.decodeUpdate(state)))
      return state
    }
    const doc = await this.#call(context, () => this.#persistence.getYDoc(key), isYDoc)
    try {
      return Y.encodeStateAsUpdate(doc)
    } finally {
      doc.destroy()
    }
  }

  async #store(key: string, state: Uint8Array): Promise<void> {
    const context = { method: 'storeDoc', details: { key }, decodesStored: false }
    const persistence = this.#persistence
    const record = await this.#read(context, () => readDocRecord(this.#reads, key))
    // Leftovers of a delete cut short by a crash would merge into the new document: clear them.
    if (record === undefined && (await this.#read(context, () => hasResidue(this.#reads, key))))
      await this.#call(context, () => persistence.clearDocument(key), isUndefined)
    const clock = await this.#call(context, () => persistence.storeUpdate(key, state), isClock)
    // Updates stored now: from the record's clock (the oldest one) to `clock`.
    if (clock - (record?.clock ?? 0) + 1 > this.#storedUpdatesMax) {
      const compact = { ...context, decodesStored: true }
      await this.#call(compact, () => persistence.flushDocument(key), isUndefined)
    }
    await syncDirectory(this.#location, 'storeDoc')
  }

  async #storeMany(states: ReadonlyMap<string, CheckedState>): Promise<void> {
    if (states.size === 0) return
    const context = { method: 'storeDocs', details: { docs: states.size }, decodesStored: false }
    const plan = {
      reads: this.#reads,
      storedUpdatesMax: this.#storedUpdatesMax,
      clearResidue: (key: string) =>
        this.#call(context, () => this.#persistence.clearDocument(key), isUndefined),
    }
    const ops: BatchOp[] = []
    for (const [key, checked] of states)
      ops.push(...(await this.#read(context, () => planStore(plan, key, checked))))
    try {
      // One synced write (SyncedClassicLevel), atomic: every document old or every one new.
      await (this.#reads as unknown as BatchWrites).batch(ops)
    } catch (error) {
      throw storageError(context, error)
    }
    await syncDirectory(this.#location, 'storeDocs')
  }

  /** Runs `work` after every earlier call (one at a time, in call order). */
  #serially<T>(work: () => Promise<T>): Promise<T> {
    const result = this.#tail.then(work)
    this.#tail = result.catch(() => undefined)
    return result
  }

  /** One y-leveldb call: `null` (a swallowed error) or a result `accept` refuses is a failure. */
  async #call<T>(
    context: FailureContext,
    invoke: () => Promise<unknown>,
    accept: (value: unknown) => value is T,
  ): Promise<T> {
    const { value, errors } = await captureTransactionErrors(invoke)
    if (value === null || errors.length > 0) throw failedCall(context, errors)
    if (!accept(value)) throw unexpectedResult(context, value)
    return value
  }

  /** A direct read of y-leveldb's layout; an error that is not the backend's is a decode error. */
  async #read<T>(context: FailureContext, invoke: () => Promise<T>): Promise<T> {
    try {
      return await invoke()
    } catch (error) {
      throw storageError({ ...context, decodesStored: true }, error)
    }
  }
}

/** The database's batch write, with y-leveldb's key encoding. */
interface BatchWrites {
  batch(operations: BatchOp[]): Promise<void>
}

function isUndefined(value: unknown): value is undefined {
  return value === undefined
}

function isClock(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0
}

function isYDoc(value: unknown): value is Y.Doc {
  return value instanceof Y.Doc
}

function isStringArray(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((item) => typeof item === 'string')
}

function isMeta(value: unknown): value is Uint8Array | undefined {
  return value === undefined || value instanceof Uint8Array
}
