/**
 * The parts a store is made of, for the code that opens, inspects and tests stores (open.ts, the
 * command line's inspection, the simulator). Not part of the user-facing `Store` API: the
 * package's public index does not export this module, and `src/sync` may not import it (it sees
 * the store through sync-port.ts only; .dependency-cruiser.cjs).
 */
import { invalidArgument } from '../core/errors.js'
import type { Wal } from '../wal/index.js'
import type { CaptureBuffer } from './capture.js'
import type { Checkpointer } from './checkpoint.js'
import type { DocSet } from './docs.js'
import type { OpenReport } from './open-report.js'
import type { Quarantine } from './quarantine.js'
import type { Registry } from './registry.js'
import type { SyncLedger } from './remote.js'
import type { StorageAdapter } from './storage.js'

/** A store's parts (see store.ts). */
export interface StoreInternals {
  readonly wal: Wal
  readonly storage: StorageAdapter
  readonly registry: Registry
  readonly docs: DocSet
  readonly capture: CaptureBuffer
  readonly checkpointer: Checkpointer
  /** Cursors and high-water marks of remote content (see remote.ts). */
  readonly ledger: SyncLedger
  /** Logged content that cannot be applied, skipped everywhere (see quarantine.ts). */
  readonly quarantine: Quarantine
  /**
   * After loading: indexes the registry, restores the clock past every timestamp in it
   * (monotonic across restarts), indexes which CRDT keys exist, reports policy mismatches.
   */
  afterLoad(report: OpenReport): void
}

const internals = new WeakMap<object, StoreInternals>()

/** Binds a store to its parts (the Store constructor does, once). */
export function bindStoreInternals(store: object, parts: StoreInternals): void {
  if (internals.has(store)) throw invalidArgument('bindStoreInternals: bound already')
  internals.set(store, parts)
}

/** The parts of `store` (a `Store`). */
export function storeInternalsOf(store: object): StoreInternals {
  const parts = internals.get(store)
  if (parts === undefined) throw invalidArgument('storeInternalsOf: not a Starling store')
  return parts
}
