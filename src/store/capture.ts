/**
 * Capture of local changes into the WAL. Every local change of a store document (from
 * `store.set`, or an editor typing into a Y type the store handed out) is buffered and written as
 * one WAL record per turn of the event loop, per {@link CAPTURE_BYTES_MAX} of captured bytes, or
 * per `store.transact()` (held until the transaction ends: one record, atomic).
 *
 * A document's changes reach the buffer through its {@link DocCapture} window, in one of two
 * ways. A window starts by taking each transaction's own update (Yjs's `update` event). Encoding
 * an update per transaction costs about as much again as the edit itself when an editor types a
 * long burst without yielding, so once a window has taken enough (see {@link DocCapture}) it
 * stops listening and, when sealed, emits ONE update: the document's state since the window
 * switched over (`Y.encodeStateAsUpdate(doc, stateVector)`). Sealing happens before the buffer is
 * written (every window is sealed by every flush) and before any transaction that is not local
 * (see {@link isLocalOrigin}), so a window's update never carries loaded or received content.
 */
import * as Y from 'yjs'
import type { Lsn } from '../core/ids.js'
import { EDIT_BYTES_MAX, undoTransaction } from './edit-limit.js'
import { encodeUpdates, type DocUpdate, type RecordClock } from './record-codec.js'

/** Buffered updates are written once they reach this size (unless a transaction holds them). */
export const CAPTURE_BYTES_MAX = 256 * 1024

/** Transaction origin of updates applied while loading (never captured again). */
export const LOAD_ORIGIN = Symbol('starling-load')

/**
 * Transaction origin of remote updates applied by the sync engine: they are durable in the WAL
 * before they are applied (docs/ARCHITECTURE.md), so they are never captured as local changes.
 */
export const REMOTE_ORIGIN = Symbol('starling-remote')

/** Origins of the transactions the store applies itself: loaded or received content. */
const STORE_ORIGINS: ReadonlySet<unknown> = new Set([LOAD_ORIGIN, REMOTE_ORIGIN])

/**
 * Whether a transaction with `origin` is a local change to capture: anything but the store's own
 * origins — no origin, an editor binding's, an application's.
 */
export function isLocalOrigin(origin: unknown): boolean {
  return !STORE_ORIGINS.has(origin)
}

interface Waiter {
  resolve: (lsn: Lsn) => void
  reject: (error: unknown) => void
}

/** Captured content held outside the buffer until sealed: a document's open window. */
export interface OpenWindow {
  /** Adds the window's content to the buffer (with `CaptureBuffer.push`) and closes it. */
  seal(): void
  /** Whether a transaction of the window's document is running: it must not be cut in half. */
  readonly busy: boolean
}

/** Buffers captured updates and appends them to the WAL. */
export class CaptureBuffer {
  #updates: DocUpdate[] = []
  #windows = new Set<OpenWindow>()
  #bytes = 0
  #holds = 0
  #scheduled = false
  #waiters: Waiter[] = []
  #last: Promise<Lsn | undefined> = Promise.resolve(undefined)
  /** Writes started so far: a window ends at every write (see {@link DocCapture}). */
  writes = 0

  constructor(
    private readonly append: (payload: Uint8Array) => Promise<Lsn>,
    private readonly onError: (error: unknown) => void,
    /** The clock reading each record is stamped with (it travels with the record to peers). */
    private readonly clock: () => RecordClock,
  ) {}

  /** Buffers one update. */
  add(key: string, update: Uint8Array): void {
    this.push(key, update)
    this.#schedule()
  }

  /** Buffers one update without scheduling a write (for windows being sealed). */
  push(key: string, update: Uint8Array): void {
    this.#updates.push({ key, update })
    this.#bytes += update.length + key.length + 8
  }

  /** Notes that `window` holds about `bytes` more captured bytes, to be sealed before a write. */
  extend(window: OpenWindow, bytes: number): void {
    this.#windows.add(window)
    this.#bytes += bytes
    this.#schedule()
  }

  /** Seals `window` into the buffer now if it is open (its estimated bytes stay counted). */
  seal(window: OpenWindow): void {
    if (this.#windows.delete(window)) window.seal()
  }

  #schedule(): void {
    if (this.#holds > 0) return
    if (this.#bytes >= CAPTURE_BYTES_MAX) void this.flush()
    else if (!this.#scheduled) {
      this.#scheduled = true
      queueMicrotask(() => {
        this.#scheduled = false
        if (this.#holds === 0) void this.flush()
      })
    }
  }

  /** Runs `fn` with writes held, then writes everything it captured as one record. */
  hold<T>(fn: () => T): T {
    this.#holds++
    try {
      return fn()
    } finally {
      if (--this.#holds === 0) void this.flush()
    }
  }

  /** Estimated bytes captured and not written yet (they will share a record). */
  get bytes(): number {
    return this.#bytes
  }

  /** Whether nothing captured is waiting to be written (buffered or in an open window). */
  get idle(): boolean {
    return this.#updates.length === 0 && this.#windows.size === 0
  }

  /** Resolves with the LSN once everything captured so far is durable in the WAL. */
  whenDurable(): Promise<Lsn | undefined> {
    if (this.#updates.length === 0 && this.#windows.size === 0) return this.#last
    return new Promise<Lsn>((resolve, reject) => this.#waiters.push({ resolve, reject }))
  }

  /**
   * Appends what is captured now; resolves when it is durable (undefined if nothing was). Called
   * from inside a transaction of a document with an open window (a change listener or a
   * `store.transact()` nested in `doc.transact()`), the write waits for the next microtask —
   * after the transaction — so the window is never sealed halfway through it.
   */
  flush(): Promise<Lsn | undefined> {
    for (const window of this.#windows) {
      if (window.busy) return new Promise((resolve) => queueMicrotask(() => resolve(this.flush())))
    }
    for (const window of this.#windows) window.seal()
    this.#windows.clear()
    if (this.#updates.length === 0) return this.#last
    const payload = encodeUpdates(this.#updates, this.clock())
    const waiters = this.#waiters
    this.writes++
    this.#updates = []
    this.#bytes = 0
    this.#waiters = []
    const appended = this.append(payload)
    appended.then(
      (lsn) => {
        for (const waiter of waiters) waiter.resolve(lsn)
      },
      (error: unknown) => {
        for (const waiter of waiters) waiter.reject(error)
        this.onError(error)
      },
    )
    this.#last = appended
    return appended
  }
}

/**
 * A window takes per-transaction updates until they add up to this many bytes, and at least to
 * the size of its document's delete set (see {@link DocCapture}).
 */
export const WINDOW_SWITCH_BYTES_MIN = 4 * 1024

/**
 * What a document's capture reports to the document set. One sink serves every document: each
 * call names the document's owner (its entry in the set), so no document carries closures of its
 * own (tens of thousands of documents may be resident).
 */
export interface CaptureSink<Owner> {
  /** An update captured into the buffer (a transaction's, or a sealed window's). */
  captured(owner: Owner, update: Uint8Array): void
  /** A local transaction changed the document (its content is captured by now). */
  changed(owner: Owner): void
  /** Estimated bytes a transaction added to the document. */
  applied(owner: Owner, bytes: number): void
  /** A local transaction of about `bytes` was over {@link EDIT_BYTES_MAX} and was undone. */
  refused(owner: Owner, bytes: number): void
}

/**
 * The capture window of one document.
 *
 * The switching rule. Measured on the automerge-paper trace (bench/store-ingest.ts): one update
 * per transaction costs 2.6-6 µs (about 25 bytes each, 110-250 ns per byte); a window update
 * costs a walk over the whole document (Yjs rebuilds the delete set from every struct) and
 * carries the document's entire delete set: 0.2-0.7 ms and 1-10.6 KB (40-800 ns per byte) from
 * 20,000 to all 259,778 edits, so it pays off after 40-150 transactions, 1-3.5 KB of updates.
 * How many transactions a window will still see is unknown when deciding, so the rule is the
 * rent-or-buy one: take per-transaction updates until their bytes reach the price of a window
 * update — the document's delete set (estimated at each seal), at least
 * {@link WINDOW_SWITCH_BYTES_MIN} (about the measured break-even) — then switch. In WAL bytes a
 * window never costs more than about twice the cheaper choice; in CPU, per-transaction bytes are
 * the dearer ones, so it is no worse. Interactive typing (a few transactions per turn) and an
 * editor flushing every 100 edits (2.5 KB) keep exact per-transaction updates; a long burst
 * pays for one window update per {@link CAPTURE_BYTES_MAX} of edits.
 */
export class DocCapture<Owner extends { readonly key: string }> implements OpenWindow {
  /** The capture of each document (the listeners below are shared by all documents). */
  static readonly #of = new WeakMap<Y.Doc, DocCapture<{ readonly key: string }>>()

  /** Encoded state vector the window switched at; undefined: taking per-transaction updates. */
  #since: Uint8Array | undefined
  /** Bytes of the per-transaction updates taken in this window, and the write it belongs to. */
  #takenBytes = 0
  #takenWrite = 0
  /** The price of a window update: the size of the last one. */
  #switchBytes = WINDOW_SWITCH_BYTES_MIN
  /** Transactions begun and not yet cleaned up. */
  #open = 0
  #listening = false
  /** A local transaction over the edit limit, until its cleanup (see edit-limit.ts). */
  #refused: Y.Transaction | undefined
  /** Origin of the undo of {@link #refused}, until the undo's cleanup. */
  #undoing: object | undefined
  /** The estimate {@link #check} made of a transaction, for its cleanup to reuse. */
  #estimated: { transaction: Y.Transaction; bytes: number } | undefined

  constructor(
    private readonly owner: Owner,
    private readonly doc: Y.Doc,
    private readonly buffer: CaptureBuffer,
    private readonly sink: CaptureSink<Owner>,
  ) {
    DocCapture.#of.set(doc, this)
    doc.on('beforeTransaction', DocCapture.#onBefore)
    doc.on('afterTransaction', DocCapture.#onApplied)
    doc.on('afterTransactionCleanup', DocCapture.#onAfter)
  }

  static readonly #onApplied = (transaction: Y.Transaction, doc: Y.Doc): void => {
    const capture = DocCapture.#of.get(doc)
    if (capture !== undefined) capture.#check(transaction)
  }

  static readonly #onBefore = (transaction: Y.Transaction, doc: Y.Doc): void => {
    const capture = DocCapture.#of.get(doc)
    if (capture !== undefined) capture.#before(transaction)
  }

  static readonly #onAfter = (transaction: Y.Transaction, doc: Y.Doc): void => {
    const capture = DocCapture.#of.get(doc)
    if (capture !== undefined) capture.#after(transaction)
  }

  static readonly #onUpdate = (
    update: Uint8Array,
    origin: unknown,
    doc: Y.Doc,
    transaction: Y.Transaction,
  ): void => {
    const capture = DocCapture.#of.get(doc)
    if (capture !== undefined) capture.#update(update, origin, transaction)
  }

  /** Also while an oversized transaction is being undone: its content must not be sealed. */
  get busy(): boolean {
    return this.doc._transaction !== null || this.#undoing !== undefined
  }

  /** Emits the window's update (everything since it switched) and starts a new window. */
  seal(): void {
    const since = this.#since
    this.#since = undefined
    this.#takenBytes = 0
    if (since === undefined) return
    const update = Y.encodeStateAsUpdate(this.doc, since)
    this.buffer.push(this.owner.key, update)
    this.sink.captured(this.owner, update)
    this.#switchBytes = Math.max(WINDOW_SWITCH_BYTES_MIN, deleteSetBytes(this.doc))
  }

  #before(transaction: Y.Transaction): void {
    if (isLocalOrigin(transaction.origin)) {
      if (this.#since === undefined) this.#listen(true)
    } else {
      // Nothing loaded or received may join a window; nor be encoded for nothing (a load's
      // update would be the whole stored state) unless a local transaction still awaits its own.
      this.buffer.seal(this)
      // A window that switched and took nothing since is not in the buffer: it just restarts.
      this.#since = undefined
      this.#takenBytes = 0
      if (this.#open === 0) this.#listen(false)
    }
    this.#open++
  }

  /**
   * Refuses a local transaction that would make its record larger than {@link EDIT_BYTES_MAX}:
   * it is undone now, before Yjs collects what it deleted, and the window takes the transaction
   * and its undo together (a few bytes once the undone content is collected).
   */
  #check(transaction: Y.Transaction): void {
    if (!isLocalOrigin(transaction.origin) || transaction.origin === this.#undoing) return
    if (!hasChanges(transaction)) return
    const bytes = estimateBytes(transaction)
    this.#estimated = { transaction, bytes }
    if (bytes + this.buffer.bytes <= EDIT_BYTES_MAX) return
    // Everything before the transaction is captured: a window from its start holds the net.
    if (this.#since === undefined) this.#since = Y.encodeStateVector(transaction.beforeState)
    this.#takenBytes = 0
    this.#listen(false)
    this.#refused = transaction
    this.#undoing = undoTransaction(this.doc, transaction)
    this.buffer.extend(this, 0)
    this.sink.refused(this.owner, bytes)
  }

  #after(transaction: Y.Transaction): void {
    this.#open--
    const estimated = this.#estimated
    this.#estimated = undefined
    if (transaction === this.#refused) {
      this.#refused = undefined
      return
    }
    const undo = transaction.origin === this.#undoing && this.#undoing !== undefined
    if (undo) this.#undoing = undefined
    if (this.#listening && isLocalOrigin(transaction.origin)) return // #update takes it
    if (!hasChanges(transaction)) return
    const bytes =
      estimated?.transaction === transaction ? estimated.bytes : estimateBytes(transaction)
    this.sink.applied(this.owner, bytes)
    if (!isLocalOrigin(transaction.origin)) return
    // Begun after the switch: the content is in the document, for the window to take when sealed
    // (or taken already, when a seal came after the transaction's end and before this cleanup).
    if (this.#since !== undefined) this.buffer.extend(this, bytes)
    // An undone edit changed nothing in the end: no change to announce.
    if (!undo) this.sink.changed(this.owner)
  }

  #update(update: Uint8Array, origin: unknown, tr: Y.Transaction): void {
    if (!isLocalOrigin(origin) || tr === this.#refused) return // #after counted it
    this.sink.applied(this.owner, update.length)
    this.buffer.add(this.owner.key, update)
    this.sink.captured(this.owner, update)
    this.sink.changed(this.owner)
    // A window ends at a write even when it took only per-transaction updates.
    if (this.#takenWrite !== this.buffer.writes) {
      this.#takenWrite = this.buffer.writes
      this.#takenBytes = 0
    }
    this.#takenBytes += update.length
    // Switch only when no other transaction has begun: then the document's state is exactly the
    // state after this one, and everything after it will be in the window's update.
    if (this.#takenBytes >= this.#switchBytes && this.#open === 0 && this.#since === undefined) {
      this.#since = Y.encodeStateVector(tr.afterState)
      this.#listen(false)
    }
  }

  #listen(on: boolean): void {
    if (on === this.#listening) return
    this.#listening = on
    if (on) this.doc.on('update', DocCapture.#onUpdate)
    else this.doc.off('update', DocCapture.#onUpdate)
  }
}

/** Whether a transaction changed its document (what Yjs checks before emitting an update). */
function hasChanges(transaction: Y.Transaction): boolean {
  if (transaction.deleteSet.clients.size > 0) return true
  for (const [client, clock] of transaction.afterState) {
    if (transaction.beforeState.get(client) !== clock) return true
  }
  return false
}

/**
 * Estimated bytes of the document's whole delete set: what every window update carries besides
 * its content (a walk over every struct, like the window update's own).
 */
function deleteSetBytes(doc: Y.Doc): number {
  let bytes = 1
  for (const deletes of Y.createDeleteSetFromStructStore(doc.store).clients.values())
    bytes += 4 + DELETE_BYTES * deletes.length
  return bytes
}

/** Bytes per struct header and per delete-set range in an estimate (about what Yjs writes). */
const STRUCT_BYTES = 12
const DELETE_BYTES = 4

/**
 * Estimated encoded bytes of a transaction, from the structs it added and the ranges it deleted
 * (its update was not encoded). It bounds what a window holds (see {@link CAPTURE_BYTES_MAX}), so
 * it counts content, not just clocks: one `map.set` of a long string is one clock tick.
 */
export function estimateBytes(transaction: Y.Transaction): number {
  let bytes = 0
  for (const deletes of transaction.deleteSet.clients.values())
    bytes += DELETE_BYTES * deletes.length
  const clients = transaction.doc.store.clients
  for (const [client, after] of transaction.afterState) {
    const before = transaction.beforeState.get(client) ?? 0
    const structs = clients.get(client)
    if (after <= before || structs === undefined) continue
    for (let i = Y.findIndexSS(structs, before); i < structs.length; i++) {
      const struct = structs[i] as Y.Item | Y.GC
      const from = Math.max(before, struct.id.clock)
      if (from >= after) break
      const to = Math.min(after, struct.id.clock + struct.length)
      bytes += STRUCT_BYTES + contentBytes(struct, from - struct.id.clock, to - from)
    }
  }
  return bytes
}

/** Estimated bytes of `length` units of a struct's content starting at `offset`. */
function contentBytes(struct: Y.Item | Y.GC, offset: number, length: number): number {
  if (!(struct instanceof Y.Item)) return 0
  const content = struct.content
  if (content instanceof Y.ContentString) return length
  if (content instanceof Y.ContentDeleted || content instanceof Y.ContentType) return 0
  if (content instanceof Y.ContentAny || content instanceof Y.ContentJSON)
    return valueBytes(content.arr.slice(offset, offset + length))
  if (content instanceof Y.ContentBinary) return content.content.length
  if (content instanceof Y.ContentEmbed) return valueBytes(content.embed)
  if (content instanceof Y.ContentFormat) return content.key.length + valueBytes(content.value)
  return 16 // a subdocument's reference
}

/** Estimated encoded bytes of a JSON-like value. */
export function valueBytes(value: unknown): number {
  if (typeof value === 'string') return value.length
  if (value instanceof Uint8Array) return value.length
  if (Array.isArray(value)) return value.reduce((sum: number, item) => sum + valueBytes(item), 1)
  if (typeof value === 'object' && value !== null) {
    let bytes = 1
    for (const [key, item] of Object.entries(value)) bytes += key.length + valueBytes(item)
    return bytes
  }
  return 8
}
