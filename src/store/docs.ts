/**
 * The CRDT documents of a store: one Y.Doc per key (guid = key), loaded lazily from storage plus
 * the WAL updates since the last checkpoint, kept resident within a memory budget.
 *
 * Eviction drops the store's strong reference only: a document an application still holds (an
 * editor bound to its Y.Text) stays alive and keeps capturing its edits, and is found again
 * through a weak reference; one nobody holds is collected and reloaded on next use.
 */
import * as Y from 'yjs'
import { StarlingError } from '../core/errors.js'
import { DocCapture, LOAD_ORIGIN, type CaptureBuffer, type CaptureSink } from './capture.js'
import type { StorageAdapter } from './storage.js'

export { LOAD_ORIGIN, REMOTE_ORIGIN, isLocalOrigin } from './capture.js'

/** A loaded (or loading) document. */
export interface DocEntry {
  readonly key: string
  readonly doc: Y.Doc
  /** Estimated resident bytes: encoded state loaded plus updates applied since. */
  bytes: number
  /** Resolves once stored state and WAL updates have been applied. */
  readonly loaded: Promise<void>
  isLoaded: boolean
}

/** What the document set needs from the store. */
export interface DocsHost {
  storage: StorageAdapter
  memoryBudgetBytes: number
  /** Where local changes are captured into the WAL. */
  capture: CaptureBuffer
  /** A local transaction changed `key` (captured already; to announce). */
  onLocalChange(key: string): void
  /** A local edit over the edit limit was undone (see edit-limit.ts); to report. */
  onEditRefused(key: string, bytes: number): void
  /** A load failed: the store must stop accepting writes. */
  onLoadError(key: string, error: unknown): void
  /** A logged update of `key` threw when applied: it was skipped (quarantined, I10). */
  onUnappliable(key: string, error: unknown): void
}

/** The set of CRDT documents. */
export class DocSet {
  #resident = new Map<string, DocEntry>()
  #evicted = new Map<string, WeakRef<DocEntry>>()
  /** WAL updates since the last checkpoint, per key; with storage, the whole state of a key. */
  #sinceCheckpoint = new Map<string, Uint8Array[]>()
  /** A checkpoint in progress: its updates are not in storage yet. */
  #checkpointing: Map<string, Uint8Array[]> | undefined
  #residentBytes = 0
  /** Where every document's capture reports (one object for all of them). */
  readonly #sink: CaptureSink<DocEntry> = {
    captured: (entry, update) => this.#remember(entry.key, update),
    changed: (entry) => this.host.onLocalChange(entry.key),
    applied: (entry, bytes) => this.#grow(entry, bytes),
    refused: (entry, bytes) => this.host.onEditRefused(entry.key, bytes),
  }

  constructor(private readonly host: DocsHost) {}

  /** Resident documents and their estimated bytes. */
  get resident(): { count: number; bytes: number } {
    return { count: this.#resident.size, bytes: this.#residentBytes }
  }

  /** Keys of resident documents and of documents with updates since the last checkpoint. */
  knownKeys(): string[] {
    return [...new Set([...this.#resident.keys(), ...this.#sinceCheckpoint.keys()])]
  }

  /**
   * Records an update that was not made here — replayed from the WAL at open (`LOAD_ORIGIN`) or
   * received from a peer (`REMOTE_ORIGIN`) — and applies it to the document if it is in memory.
   */
  addExternal(key: string, update: Uint8Array, origin: symbol = LOAD_ORIGIN): void {
    this.#remember(key, update)
    const entry = this.#find(key)
    if (entry !== undefined) Y.applyUpdate(entry.doc, update, origin)
  }

  /** The document of `key`, creating it and starting its load if it is not in memory. */
  get(key: string): DocEntry {
    const entry = this.#find(key) ?? this.#create(key)
    this.#touch(entry)
    return entry
  }

  /** Whether the document of `key` is in memory with its stored state applied (no side effect). */
  isLoaded(key: string): boolean {
    const entry = this.#resident.get(key) ?? this.#evicted.get(key)?.deref()
    return entry?.isLoaded === true
  }

  #find(key: string): DocEntry | undefined {
    const resident = this.#resident.get(key)
    if (resident !== undefined) return resident
    const alive = this.#evicted.get(key)?.deref()
    if (alive === undefined) {
      this.#evicted.delete(key)
      return undefined
    }
    this.#evicted.delete(key)
    this.#resident.set(key, alive)
    this.#residentBytes += alive.bytes
    return alive
  }

  #create(key: string): DocEntry {
    const doc = new Y.Doc({ guid: key })
    let resolveLoaded!: () => void
    const entry: DocEntry = {
      key,
      doc,
      bytes: 0,
      loaded: new Promise<void>((resolve) => (resolveLoaded = resolve)),
      isLoaded: false,
    }
    new DocCapture(entry, doc, this.host.capture, this.#sink)
    this.#resident.set(key, entry)
    this.#load(entry).then(resolveLoaded, (error: unknown) => {
      this.host.onLoadError(key, error)
      resolveLoaded()
    })
    return entry
  }

  async #load(entry: DocEntry): Promise<void> {
    const stored = await this.host.storage.loadDoc(entry.key)
    const updates = [
      ...(this.#checkpointing?.get(entry.key) ?? []),
      ...(this.#sinceCheckpoint.get(entry.key) ?? []),
    ]
    entry.doc.transact(() => {
      if (stored !== undefined) Y.applyUpdate(entry.doc, stored, LOAD_ORIGIN)
      for (const update of updates) this.#applyLogged(entry.key, entry.doc, update, LOAD_ORIGIN)
    }, LOAD_ORIGIN)
    entry.isLoaded = true
    this.#evictOverBudget(entry)
  }

  /**
   * Applies an update from the log. Updates are checked before they are logged or replayed, so
   * none should throw; one that does all the same is skipped and reported, never thrown: a
   * store never fails because of one update it holds (I10).
   */
  #applyLogged(key: string, doc: Y.Doc, update: Uint8Array, origin: unknown): void {
    try {
      Y.applyUpdate(doc, update, origin)
    } catch (error) {
      this.host.onUnappliable(key, error)
    }
  }

  #remember(key: string, update: Uint8Array): void {
    let list = this.#sinceCheckpoint.get(key)
    if (list === undefined) this.#sinceCheckpoint.set(key, (list = []))
    list.push(update)
  }

  #grow(entry: DocEntry, bytes: number): void {
    entry.bytes += bytes
    if (this.#resident.get(entry.key) === entry) this.#residentBytes += bytes
  }

  /** Marks `entry` most recently used and evicts over budget. */
  #touch(entry: DocEntry): void {
    this.#resident.delete(entry.key)
    this.#resident.set(entry.key, entry)
    this.#evictOverBudget(entry)
  }

  /**
   * Evicts least recently used documents until within budget (never `keep`). A document still
   * loading may go too: its load keeps it alive until done, and it is found again by weak ref.
   */
  #evictOverBudget(keep: DocEntry): void {
    for (const entry of this.#resident.values()) {
      if (this.#residentBytes <= this.host.memoryBudgetBytes) return
      if (entry === keep) continue
      this.#resident.delete(entry.key)
      this.#residentBytes -= entry.bytes
      this.#evicted.set(entry.key, new WeakRef(entry))
    }
  }

  /**
   * Starts a checkpoint: the updates so far move to the checkpoint generation (new ones go to a
   * fresh one) and the state to store for each of their keys is taken — all at the instant of the
   * call (the part that reads memory is synchronous), so together with a registry state encoded
   * in the same instant the checkpoint is one consistent cut: never half of a transaction, never a
   * later write without an earlier one.
   */
  beginCheckpoint(): Promise<Map<string, Uint8Array>> {
    if (this.#checkpointing !== undefined) {
      throw new StarlingError('INVALID_ARGUMENT', 'a checkpoint is already running')
    }
    const generation = this.#sinceCheckpoint
    this.#checkpointing = generation
    this.#sinceCheckpoint = new Map()
    const states = new Map<string, Uint8Array>()
    const rebuild: string[] = []
    for (const key of generation.keys()) {
      const entry = this.#find(key)
      if (entry?.isLoaded === true) states.set(key, Y.encodeStateAsUpdate(entry.doc))
      else rebuild.push(key)
    }
    return this.#rebuildStates(rebuild, generation, states)
  }

  /**
   * The states of keys with no loaded document: stored state plus the generation's updates, which
   * is their whole state at the cut (storage changes only by this checkpoint, after this).
   */
  async #rebuildStates(
    keys: string[],
    generation: Map<string, Uint8Array[]>,
    states: Map<string, Uint8Array>,
  ): Promise<Map<string, Uint8Array>> {
    for (const key of keys) states.set(key, await this.#stateOf(key, generation.get(key) ?? []))
    return states
  }

  /** Ends a checkpoint: its generation is in storage now (or, on failure, still pending). */
  endCheckpoint(stored: boolean): void {
    const generation = this.#checkpointing
    this.#checkpointing = undefined
    if (stored || generation === undefined) return
    for (const [key, updates] of generation) {
      const newer = this.#sinceCheckpoint.get(key) ?? []
      this.#sinceCheckpoint.set(key, [...updates, ...newer])
    }
  }

  async #stateOf(key: string, updates: Uint8Array[]): Promise<Uint8Array> {
    // Merged in a scratch document (cheaper and linear, unlike Y.mergeUpdates on many inputs).
    const scratch = new Y.Doc({ guid: key })
    const stored = await this.host.storage.loadDoc(key)
    scratch.transact(() => {
      if (stored !== undefined) Y.applyUpdate(scratch, stored)
      for (const update of updates) this.#applyLogged(key, scratch, update, null)
    })
    const state = Y.encodeStateAsUpdate(scratch)
    scratch.destroy()
    return state
  }
}
