/**
 * The Store: keys → Yjs documents (CRDT keys) and registers (lww/custom keys). Every change is
 * captured into the WAL and its promise resolves only once durable; checkpoints move state into
 * the storage adapter and truncate the WAL. Public methods validate; private ones work.
 */
import type * as Y from 'yjs'
import { StarlingError, invalidArgument, isStarlingError } from '../core/errors.js'
import { Emitter, Listeners } from '../core/listeners.js'
import { Serial } from '../core/serial.js'
import { systemEnv, type Env } from '../core/env.js'
import { createHlcClock, formatHlc, parseHlc, type HlcClock } from '../core/hlc.js'
import type { NodeId } from '../core/ids.js'
import {
  conflictEntry,
  createConflictLog,
  type ConflictEntry,
  type ConflictQuery,
} from '../policy/conflict-log.js'
import { assertStorable, type JsonValue } from '../policy/json.js'
import {
  isCrdtPolicy,
  lww,
  policyId,
  type CrdtKind,
  type Policy,
  type RegisterPolicy,
} from '../policy/policies.js'
import { TOMBSTONE } from '../policy/register.js'
import { resolve } from '../policy/resolve.js'
import { createPolicyTable, type PolicyTable } from '../policy/table.js'
import type { Wal } from '../wal/index.js'
import { Checkpointer } from './checkpoint.js'
import { CaptureBuffer, valueBytes } from './capture.js'
import { DocSet, type DocEntry } from './docs.js'
import { EDIT_BYTES_MAX, editTooLarge } from './edit-limit.js'
import { bindStoreInternals } from './internals.js'
import { assertKey, assertWellFormed } from './keys.js'
import type { OpenReport } from './open-report.js'
import { Quarantine } from './quarantine.js'
import { SyncLedger } from './remote.js'
import { createSyncPort, unappliable } from './remote-apply.js'
import { bindSyncPort, type SyncAttachment } from './sync-port.js'
import { resolveStoreOptions, type ResolvedStoreOptions, type StoreOptions } from './options.js'
import { Registry } from './registry.js'
import type { StorageAdapter } from './storage.js'
import {
  assertValueFor,
  clearValue,
  readValue,
  rootOf,
  writeValue,
  type KindTypes,
} from './values.js'

/** A change of one key. */
export interface ChangeEvent {
  key: string
  /** `local`: made through this store (or a Y type it handed out); `remote`: anything else. */
  origin: 'local' | 'remote'
}

/** The events of {@link Store.on}: each name and the value its listeners receive. */
export interface StoreEvents {
  /** A key changed, locally or by a remote update. */
  change: ChangeEvent
  /** A failure with nowhere else to go (a background write, a throwing listener, a skewed clock). */
  error: unknown
}

/** A key whose recorded policy differs from this store's policy table. */
export interface PolicyMismatch {
  key: string
  recorded: string
  configured: string
}

export type { OpenReport } from './open-report.js'

/** Marker value of a CRDT key's existence slot in the registry. */
const EXISTS = true
const LOCAL_ORIGIN = Symbol('starling-local')

/** What the store is built from (see `openStore`). */
export interface StoreParts {
  wal: Wal
  storage: StorageAdapter
  nodeId: NodeId
  options: StoreOptions
  checkpointLsn: number
}

/** Counters of a store. */
export interface StoreStats {
  /** Resident CRDT documents and their estimated bytes (see `memoryBudgetBytes`). */
  residentDocs: number
  residentBytes: number
  /** LSN of the last checkpoint and of the newest WAL record. */
  checkpointLsn: number
  lastLsn: number
  /** Records logged since the last checkpoint. */
  recordsSinceCheckpoint: number
}

/** An open store. Create one with `createStore` (or `openStore` with explicit ports). */
export class Store {
  readonly nodeId: NodeId
  readonly #wal: Wal
  readonly #storage: StorageAdapter
  readonly #registry: Registry
  readonly #docs: DocSet
  readonly #capture: CaptureBuffer
  readonly #options: ResolvedStoreOptions
  readonly #table: PolicyTable
  readonly #clock: HlcClock
  readonly #env: Env
  readonly #conflicts = createConflictLog()
  readonly #mismatches = new Map<string, PolicyMismatch>()
  readonly #changeListeners = new Listeners<ChangeEvent>()
  readonly #errorListeners = new Listeners<unknown>()
  readonly #events = new Emitter<StoreEvents>({
    change: this.#changeListeners,
    error: this.#errorListeners,
  })
  /** CRDT keys whose existence slot resolves to present (kept current on registry changes). */
  readonly #existing = new Set<string>()
  readonly #checkpointer: Checkpointer
  readonly #ledger: SyncLedger
  readonly #quarantine = new Quarantine()
  readonly #exclusive = new Serial()
  readonly #durableListeners = new Listeners<number>()
  #sync: SyncAttachment | undefined
  #failure: unknown
  /** Local edits refused as too large so far, and the last refusal (see edit-limit.ts). */
  #refusals = 0
  #lastRefusal: StarlingError | undefined
  #closed = false
  #openReport: OpenReport | undefined

  constructor(parts: StoreParts) {
    this.nodeId = parts.nodeId
    this.#ledger = new SyncLedger(parts.nodeId)
    this.#wal = parts.wal
    this.#storage = parts.storage
    this.#options = resolveStoreOptions(parts.options)
    this.#env = parts.options.env ?? systemEnv
    this.#table = createPolicyTable(
      parts.options.policies ?? {},
      parts.options.defaultPolicy ?? lww(),
    )
    this.#clock = createHlcClock(this.#env, this.nodeId)
    this.#capture = new CaptureBuffer(
      (payload) => this.#append(payload),
      (error) => this.#fail(error),
      () => {
        const { wallMs, counter } = this.#clock.now()
        return { wallMs, counter }
      },
    )
    this.#registry = new Registry(
      LOCAL_ORIGIN,
      (keys, local) => this.#onRegistryChange(keys, local),
      (slot) => this.#admit(slot.hlc),
    )
    this.#registry.doc.on('update', (update: Uint8Array, origin: unknown) => {
      if (origin === LOCAL_ORIGIN) this.#capture.add(this.#registry.doc.guid, update)
    })
    this.#docs = new DocSet({
      storage: this.#storage,
      memoryBudgetBytes: this.#options.memoryBudgetBytes,
      capture: this.#capture,
      onLocalChange: (key) => this.#onDocChange(key),
      onEditRefused: (key, bytes) => this.#refused(editTooLarge(key, bytes, true)),
      onLoadError: (_key, error) => this.#fail(error),
      onUnappliable: (key, error) =>
        this.#emitError(unappliable(this.#quarantine, key, undefined, error)),
    })
    this.#checkpointer = new Checkpointer(
      {
        wal: this.#wal,
        storage: this.#storage,
        docs: this.#docs,
        capture: this.#capture,
        registryDoc: this.#registry.doc,
        ledger: this.#ledger,
        retainFrom: (cutLsn) => this.#retainFrom(cutLsn),
      },
      parts.checkpointLsn,
    )
    this.#bind()
  }

  /** Hands the store's parts to open.ts (internals.ts) and its sync-facing port to sync. */
  #bind(): void {
    const parts = {
      wal: this.#wal,
      storage: this.#storage,
      registry: this.#registry,
      docs: this.#docs,
      capture: this.#capture,
      ledger: this.#ledger,
      quarantine: this.#quarantine,
    }
    bindStoreInternals(this, {
      ...parts,
      checkpointer: this.#checkpointer,
      afterLoad: (report) => this.#afterLoad(report),
    })
    const port = createSyncPort({
      ...parts,
      nodeId: this.nodeId,
      exclusive: this.#exclusive,
      flush: () => this.flush(),
      usable: () => this.#usable(),
      appended: (bytes) => {
        this.#afterAppend(bytes)
        this.#notifyDurable()
      },
      onDurable: (listener) => this.#durableListeners.add(listener),
      attachSync: (sync) => {
        this.#sync = sync
      },
      changed: (key) => this.#emitChange({ key, origin: 'remote' }),
      emitError: (error) => this.#emitError(error),
    })
    bindSyncPort(this, port)
  }

  /** What opening found: checkpoint LSN, records replayed, the WAL's recovery report. */
  get openReport(): OpenReport | undefined {
    return this.#openReport
  }

  /** Counters. */
  get stats(): StoreStats {
    const { count, bytes } = this.#docs.resident
    return {
      residentDocs: count,
      residentBytes: bytes,
      checkpointLsn: this.#checkpointer.lsn,
      lastLsn: this.#wal.lastLsn,
      recordsSinceCheckpoint: this.#checkpointer.loggedRecords,
    }
  }

  // ---- reads -----------------------------------------------------------------------------

  /** The value of `key`: a register's resolved value, or a loaded CRDT document's content. */
  get(key: string): JsonValue | undefined {
    assertKey(key, 'get')
    this.#open('get')
    const policy = this.#table.policyFor(key)
    if (!isCrdtPolicy(policy)) return this.#resolve(key, policy).value
    if (!this.#has(key)) return undefined
    const entry = this.#docs.get(key)
    if (!entry.isLoaded) {
      throw new StarlingError(
        'KEY_NOT_LOADED',
        `${key} is still loading: await store.load(key) (or loadText, loadMap …) first`,
        { key },
      )
    }
    return readValue(entry.doc, policy.kind)
  }

  /** Whether `key` exists (written and not deleted). */
  has(key: string): boolean {
    assertKey(key, 'has')
    this.#open('has')
    return this.#has(key)
  }

  #has(key: string): boolean {
    const policy = this.#table.policyFor(key)
    if (isCrdtPolicy(policy)) return this.#existing.has(key)
    return this.#resolve(key, policy).value !== undefined
  }

  /** Existing keys, sorted, optionally only those starting with `prefix`. */
  keys(prefix = ''): string[] {
    if (typeof prefix !== 'string') throw invalidArgument('keys: prefix must be a string')
    assertWellFormed(prefix, 'keys', 'prefix')
    this.#open('keys')
    const keys: string[] = []
    for (const key of this.#registry.keys())
      if (key.startsWith(prefix) && this.#has(key)) keys.push(key)
    return keys.sort()
  }

  /** Entries of the bounded conflict log, newest last. */
  conflicts(query: ConflictQuery = {}): ConflictEntry[] {
    this.#open('conflicts')
    return [...this.#conflicts.list(query)]
  }

  /** Keys whose recorded policy differs from this store's table (they refuse writes). */
  policyMismatches(): PolicyMismatch[] {
    this.#open('policyMismatches')
    return [...this.#mismatches.values()]
  }

  // ---- CRDT documents ---------------------------------------------------------------------
  //
  // Two ways to a CRDT key's Yjs type. `await store.loadText(key)` (`loadMap`, `loadArray`,
  // `loadXml`) resolves once the stored state is in the document: the safe way to read or show
  // it. `store.text(key)` (`map`, `array`, `xml`) returns the same type at once, for an editor
  // binding that must not wait; until the load is done (`store.isLoaded(key)`) it holds only what
  // was edited since, so an empty text there says nothing about the stored note.

  /** The Y.Text of a `crdt('text')` key, once its stored state is loaded. */
  loadText(key: string): Promise<Y.Text> {
    return this.#loadRoot(key, 'text', 'loadText')
  }
  /** The Y.Map of a `crdt('map')` key, once loaded. */
  loadMap(key: string): Promise<Y.Map<unknown>> {
    return this.#loadRoot(key, 'map', 'loadMap')
  }
  /** The Y.Array of a `crdt('array')` key, once loaded. */
  loadArray(key: string): Promise<Y.Array<unknown>> {
    return this.#loadRoot(key, 'array', 'loadArray')
  }
  /** The Y.XmlFragment of a `crdt('xml')` key, once loaded. */
  loadXml(key: string): Promise<Y.XmlFragment> {
    return this.#loadRoot(key, 'xml', 'loadXml')
  }

  /**
   * The Y.Text of a `crdt('text')` key, at once: its load runs in the background, and until it is
   * done (see {@link isLoaded}) the text holds only edits made since. Use {@link loadText} to read.
   */
  text(key: string): Y.Text {
    return this.#root(key, 'text', 'text').root
  }
  /** The Y.Map of a `crdt('map')` key, at once (see {@link text}; {@link loadMap} to read). */
  map(key: string): Y.Map<unknown> {
    return this.#root(key, 'map', 'map').root
  }
  /** The Y.Array of a `crdt('array')` key, at once (see {@link text}; {@link loadArray}). */
  array(key: string): Y.Array<unknown> {
    return this.#root(key, 'array', 'array').root
  }
  /** The Y.XmlFragment of a `crdt('xml')` key, at once (see {@link text}; {@link loadXml}). */
  xml(key: string): Y.XmlFragment {
    return this.#root(key, 'xml', 'xml').root
  }

  /** Loads the document of a CRDT key; resolves with it once its stored state is applied. */
  async load(key: string): Promise<Y.Doc> {
    assertKey(key, 'load')
    this.#open('load')
    this.#crdtKind(key, 'load')
    const entry = this.#docs.get(key)
    await this.#whenLoaded(entry, 'load')
    return entry.doc
  }

  /**
   * Whether the document of a CRDT key holds its stored state (loaded, and still in memory): the
   * way to tell a document that is still loading from an empty one. Starts no load.
   */
  isLoaded(key: string): boolean {
    assertKey(key, 'isLoaded')
    this.#open('isLoaded')
    this.#crdtKind(key, 'isLoaded')
    return this.#docs.isLoaded(key)
  }

  async #loadRoot<K extends CrdtKind>(key: string, kind: K, method: string): Promise<KindTypes[K]> {
    const { entry, root } = this.#root(key, kind, method)
    await this.#whenLoaded(entry, method)
    return root
  }

  /** Waits for `entry`'s load; throws if the store closed meanwhile or the load failed. */
  async #whenLoaded(entry: DocEntry, method: string): Promise<void> {
    await entry.loaded
    this.#open(method)
    if (!entry.isLoaded) {
      throw new StarlingError(
        'STORE_FAILED',
        `${method}: ${entry.key} could not be loaded`,
        { key: entry.key },
        this.#failure,
      )
    }
  }

  #root<K extends CrdtKind>(
    key: string,
    kind: K,
    method: string,
  ): { entry: DocEntry; root: KindTypes[K] } {
    assertKey(key, method)
    this.#usable()
    const actual = this.#crdtKind(key, method)
    if (actual !== kind) throw invalidArgument(`${method}: ${key} is a crdt('${actual}') key`)
    // A key recorded under another policy is not handed out for editing: it would diverge.
    this.#refuseMismatch(key, policyId(this.#table.policyFor(key)))
    const entry = this.#docs.get(key)
    return { entry, root: rootOf(entry.doc, kind) }
  }

  #crdtKind(key: string, method: string): CrdtKind {
    const policy = this.#table.policyFor(key)
    if (!isCrdtPolicy(policy)) {
      throw invalidArgument(
        `${method}: ${key} is a ${policyId(policy)} register, not a CRDT document`,
      )
    }
    return policy.kind
  }

  // ---- writes -------------------------------------------------------------------------------

  /**
   * Sets `key` to `value`; resolves once the change is durable in the WAL. A value larger than
   * one record takes is refused with `STORE_EDIT_TOO_LARGE` before anything is applied.
   */
  async set(key: string, value: JsonValue): Promise<void> {
    assertKey(key, 'set')
    this.#usable()
    // Validate before anything is recorded: refused input writes nothing.
    const configured = this.#table.policyFor(key)
    if (isCrdtPolicy(configured)) assertValueFor(configured.kind, value, 'set')
    else assertStorable(value)
    const bytes = valueBytes(value)
    if (bytes + this.#capture.bytes > EDIT_BYTES_MAX) throw editTooLarge(key, bytes, false)
    const policy = this.#writablePolicy(key)
    if (isCrdtPolicy(policy)) {
      const { doc } = await this.#loadedDoc(key)
      // Measured again as Yjs applies it: one refused there is undone, and rejects here.
      await this.#refusing(() => writeValue(doc, policy.kind, value, 'set'))
    } else {
      this.#registry.write(key, this.nodeId, this.#clock.now(), value)
      await this.#capture.whenDurable()
    }
  }

  /** Deletes `key` (a tombstone: a late old write never brings it back); resolves when durable. */
  async delete(key: string): Promise<void> {
    assertKey(key, 'delete')
    this.#usable()
    const policy = this.#table.policyFor(key)
    // A key never written has nothing to delete and no policy to record.
    this.#refuseMismatch(key, policyId(policy))
    if (isCrdtPolicy(policy)) clearValue((await this.#loadedDoc(key)).doc, policy.kind)
    if (this.#registry.slotsOf(key).size > 0)
      this.#registry.write(key, this.nodeId, this.#clock.now(), TOMBSTONE)
    await this.#capture.whenDurable()
  }

  /** The loaded document of a CRDT key (the store must still be usable once it is). */
  async #loadedDoc(key: string): Promise<DocEntry> {
    const entry = this.#docs.get(key)
    await entry.loaded
    this.#usable()
    return entry
  }

  /**
   * Runs `fn`; every change it makes goes into one WAL record (atomic). Resolves when durable.
   * An edit in it that would make the record too large is undone on its own (the rest of the
   * transaction is kept, in one record) and the promise rejects with `STORE_EDIT_TOO_LARGE`.
   */
  async transact<T>(fn: () => T): Promise<T> {
    if (typeof fn !== 'function') throw invalidArgument('transact: expected a function')
    this.#usable()
    return this.#refusing(() => this.#capture.hold(fn))
  }

  /** Runs `fn`, waits until what it captured is durable, then rejects if it had an edit refused. */
  async #refusing<T>(fn: () => T): Promise<T> {
    const refusals = this.#refusals
    const result = fn()
    await this.#capture.whenDurable()
    if (this.#refusals !== refusals && this.#lastRefusal !== undefined) throw this.#lastRefusal
    return result
  }

  /** Resolves once every change made so far is durable. */
  async flush(): Promise<void> {
    this.#usable()
    await this.#capture.flush()
  }

  /**
   * Resolves once this store is in sync with its open peers (see `SyncNode.whenSynced`). Throws
   * `SYNC_CLOSED` when no sync is running for it (`startSync`).
   */
  whenSynced(): Promise<void> {
    this.#open('whenSynced')
    return this.#syncing('whenSynced').whenSynced()
  }

  /**
   * Resolves once the log up to `lsn` (default: every write so far) is durable at `peers` peers
   * (default 1); see `SyncNode.whenAcked`. Throws `SYNC_CLOSED` when no sync is running.
   */
  whenAcked(lsn?: number, options?: { peers?: number }): Promise<void> {
    this.#open('whenAcked')
    return this.#syncing('whenAcked').whenAcked(lsn, options)
  }

  #syncing(method: string): SyncAttachment {
    if (this.#sync === undefined)
      throw new StarlingError('SYNC_CLOSED', `${method}: no sync is running for this store`)
    return this.#sync
  }

  #notifyDurable(): void {
    this.#durableListeners.emit(this.#wal.durableLsn, (error) => this.#emitError(error))
  }

  // ---- events -------------------------------------------------------------------------------

  /** Subscribes to key changes or store errors; returns the unsubscribe function. */
  on<K extends keyof StoreEvents>(event: K, listener: (value: StoreEvents[K]) => void): () => void {
    this.#open('on')
    return this.#events.on(event, listener)
  }

  // ---- internals ----------------------------------------------------------------------------

  #resolve(key: string, policy: RegisterPolicy) {
    return resolve(policy, key, this.#registry.slotsOf(key), {
      checkPurity: this.#options.checkResolverPurity,
    })
  }

  #writablePolicy(key: string): Policy {
    const policy = this.#table.policyFor(key)
    const configured = policyId(policy)
    if (this.#registry.recordedPolicy(key) === undefined)
      this.#registry.recordPolicy(key, configured)
    this.#refuseMismatch(key, configured)
    return policy
  }

  #refuseMismatch(key: string, configured: string): void {
    const recorded = this.#registry.recordedPolicy(key)
    if (recorded !== undefined && recorded !== configured) {
      throw new StarlingError(
        'POLICY_MISMATCH',
        `${key} was written under ${recorded}, this store says ${configured}`,
        { key, recorded, configured },
      )
    }
  }

  #onDocChange(key: string): void {
    if (!this.#closed && !this.#has(key)) {
      // The first local change of a CRDT key marks it as existing (a register slot). This runs
      // inside Yjs's update handler: a failure (a policy mismatch) is reported, never thrown.
      try {
        this.#writablePolicy(key)
        this.#registry.write(key, this.nodeId, this.#clock.now(), EXISTS)
      } catch (error) {
        this.#emitError(error)
      }
    }
    this.#emitChange({ key, origin: 'local' })
  }

  #onRegistryChange(keys: ReadonlySet<string>, local: boolean): void {
    for (const key of keys) {
      const policy = this.#table.policyFor(key)
      if (isCrdtPolicy(policy)) this.#trackExistence(key)
      else this.#logConflict(key, policy)
      if (!isCrdtPolicy(policy) || !local)
        this.#emitChange({ key, origin: local ? 'local' : 'remote' })
    }
  }

  #trackExistence(key: string): void {
    if (this.#resolve(key, lww()).value !== undefined) this.#existing.add(key)
    else this.#existing.delete(key)
  }

  /**
   * Passes a slot's timestamp through the clock before it is indexed. One beyond the clock's
   * future-skew bound is reported (`HLC_CLOCK_SKEW`) and leaves the clock where it is, but the slot
   * is indexed all the same: every node must resolve the key from the same slots, whatever its own
   * clock says (a local write after it is stamped past it; see `Registry.write`).
   */
  #admit(hlc: string): boolean {
    try {
      this.#clock.receive(parseHlc(hlc))
    } catch (error) {
      this.#emitError(error)
      if (!isStarlingError(error, 'HLC_CLOCK_SKEW')) return false
    }
    return true
  }

  /** Logs a conflict; a failing resolver is reported, never thrown into Yjs's observers. */
  #logConflict(key: string, policy: RegisterPolicy): void {
    try {
      const resolution = this.#resolve(key, policy)
      const entry = conflictEntry(policy, key, resolution, formatHlc(this.#clock.last()))
      if (entry !== undefined) this.#conflicts.record(entry)
    } catch (error) {
      this.#emitError(error)
    }
  }

  #checkPolicy(key: string, recorded: string): void {
    const configured = policyId(this.#table.policyFor(key))
    if (recorded !== configured) this.#mismatches.set(key, { key, recorded, configured })
  }

  /** Records every recorded policy that differs from the table (called after open). */
  #checkRecordedPolicies(): void {
    for (const [key, recorded] of this.#registry.recordedPolicies())
      this.#checkPolicy(key, recorded)
    for (const mismatch of this.#mismatches.values()) {
      this.#emitError(
        new StarlingError(
          'POLICY_MISMATCH',
          `${mismatch.key} was written under ${mismatch.recorded}, this store says ${mismatch.configured}`,
          { ...mismatch },
        ),
      )
    }
  }

  /**
   * After loading: indexes the registry, restores the clock past every timestamp in it
   * (monotonic across restarts), and indexes which CRDT keys exist.
   */
  #afterLoad(report: OpenReport): void {
    this.#openReport = report
    // Indexing passes every slot's timestamp through the clock (see #admit).
    this.#registry.reindex()
    for (const key of this.#registry.keys()) {
      if (isCrdtPolicy(this.#table.policyFor(key))) this.#trackExistence(key)
    }
    this.#checkRecordedPolicies()
  }

  async #append(payload: Uint8Array) {
    const lsn = await this.#wal.append(payload)
    this.#afterAppend(payload.length)
    this.#notifyDurable()
    return lsn
  }

  /** Counts an appended record and starts a checkpoint when the thresholds are reached. */
  #afterAppend(bytes: number): void {
    this.#checkpointer.logged(bytes)
    const { checkpointBytes, checkpointRecords } = this.#options
    if (!this.#closed && this.#checkpointer.due(checkpointBytes, checkpointRecords)) {
      this.#runCheckpoint().catch((error: unknown) => this.#fail(error))
    }
  }

  /** A checkpoint never runs between a remote batch's append and its application. */
  #runCheckpoint(): Promise<void> {
    return this.#exclusive.run(() => this.#checkpointer.run())
  }

  /**
   * Log retention for peers: records a known peer has not acknowledged stay in the WAL (so it
   * catches up by log shipping), but never more than `syncRetainRecords` behind the checkpoint
   * (beyond that, catch-up by state vectors is cheaper than keeping the log).
   */
  #retainFrom(cutLsn: number): number {
    let from = cutLsn + 1
    for (const acked of this.#ledger.acked.values()) from = Math.min(from, acked + 1)
    return Math.max(from, cutLsn + 1 - this.#options.syncRetainRecords)
  }

  /** Checkpoints now: state into storage, WAL truncated. Also runs by thresholds and on close. */
  async checkpoint(): Promise<void> {
    this.#usable()
    await this.#runCheckpoint()
  }

  /**
   * Flushes, checkpoints (unless `checkpoint: false`: a fast shutdown; the next open replays the
   * WAL), closes the WAL and storage. Idempotent.
   */
  async close(options: { checkpoint?: boolean } = {}): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    try {
      if (this.#failure === undefined) {
        await this.#capture.flush()
        await this.#checkpointer.idle()
        await this.#exclusive.run(() => undefined)
        if (options.checkpoint !== false) await this.#runCheckpoint()
      }
    } finally {
      await this.#wal.close()
      await this.#storage.close()
    }
  }

  /** Throws `STORE_CLOSED` after {@link close} (reads work on a failed store, writes do not). */
  #open(method: string): void {
    if (this.#closed) throw new StarlingError('STORE_CLOSED', `${method}: the store is closed`)
  }

  #usable(): void {
    if (this.#closed) throw new StarlingError('STORE_CLOSED', 'the store is closed')
    if (this.#failure !== undefined) {
      throw new StarlingError(
        'STORE_FAILED',
        'the store failed earlier and must be reopened',
        {},
        this.#failure,
      )
    }
  }

  /** An oversized local edit was undone: reported, and the store works on (edit-limit.ts). */
  #refused(error: StarlingError): void {
    this.#refusals++
    this.#lastRefusal = error
    this.#emitError(error)
  }

  #fail(error: unknown): void {
    if (this.#failure === undefined) this.#failure = error
    this.#emitError(error)
  }

  /** Listeners run inside Yjs's update handlers: one that throws is reported, never propagated. */
  #emitChange(event: ChangeEvent): void {
    this.#changeListeners.emit(event, (error) => this.#emitError(error))
  }

  #emitError(error: unknown): void {
    this.#errorListeners.emit(error)
  }
}
