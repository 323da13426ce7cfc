/**
 * Options of `openStore` / `createStore`, validated at open (misuse is `INVALID_ARGUMENT`).
 */
import { invalidArgument } from '../core/errors.js'
import type { Env } from '../core/env.js'
import type { PolicyTableInput } from '../policy/table.js'
import type { Policy } from '../policy/policies.js'
import type { Durability, FileLayer } from '../wal/index.js'
import type { StorageAdapter } from './storage.js'

/** Default limits of a store. */
export const STORE_LIMITS = {
  /** Estimated bytes of resident CRDT documents before the least recently used are evicted. */
  memoryBudgetBytesDefault: 64 * 1024 * 1024,
  /** A checkpoint runs once this many bytes of updates were logged since the last one. */
  checkpointBytesDefault: 16 * 1024 * 1024,
  /** A checkpoint runs once this many WAL records were logged since the last one. */
  checkpointRecordsDefault: 100_000,
  /** WAL records kept past a checkpoint for peers that have not acknowledged them. */
  syncRetainRecordsDefault: 100_000,
  /** Largest WAL record (one capture batch or transaction). */
  recordBytesMax: 64 * 1024 * 1024,
} as const

/** What a store is opened with. */
export interface StoreOptions {
  /** Conflict policy per key pattern; first match wins; `*` one segment, `**` many. */
  policies?: PolicyTableInput
  /** Policy of keys that match no pattern (default `lww()`). */
  defaultPolicy?: Policy
  /** See {@link STORE_LIMITS}. */
  memoryBudgetBytes?: number
  checkpointBytes?: number
  checkpointRecords?: number
  /** See {@link STORE_LIMITS} `syncRetainRecordsDefault`. */
  syncRetainRecords?: number
  /**
   * Size at which WAL segments rotate (default: the WAL's). Truncation after a checkpoint removes
   * whole segments only, so smaller segments free space sooner.
   */
  walSegmentBytes?: number
  /** WAL durability (default `sync`: every write's promise resolves after fdatasync). */
  durability?: Durability
  /** Run custom resolvers on permuted input to catch impure ones (development, tests). */
  checkResolverPurity?: boolean
  /**
   * Open a store whose WAL is damaged (default false: open fails with `WAL_CORRUPTION`): the WAL
   * keeps its records before the damage, the damaged segment and every later one are kept as
   * `*.broken` files, and the store opens from its checkpoint plus the surviving records.
   * `store.openReport` says what was kept and which records after the checkpoint were lost
   * (docs/guarantees.md, "Damage and repair").
   */
  repair?: boolean
  env?: Env
}

/** The ports a store runs on; `createStore` fills them from `path`. */
export interface StorePorts {
  /** Directory of the WAL. */
  walDir: string
  fs: FileLayer
  storage: StorageAdapter
  /**
   * The storage was damaged and repaired at open, keeping what was readable (LevelDB's messages
   * and the files they name): the store then replays its whole WAL over it.
   */
  storageRepaired?: { messages: string[]; files: string[] } | null
}

/** Options with defaults applied. */
export interface ResolvedStoreOptions {
  memoryBudgetBytes: number
  checkpointBytes: number
  checkpointRecords: number
  syncRetainRecords: number
  durability: Durability
  checkResolverPurity: boolean
  repair: boolean
}

function positive(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback
  if (!Number.isSafeInteger(value) || value <= 0) {
    throw invalidArgument(`createStore: ${name} must be a positive integer, got ${String(value)}`)
  }
  return value
}

function flag(name: string, value: boolean | undefined): boolean {
  if (value !== undefined && typeof value !== 'boolean')
    throw invalidArgument(`createStore: ${name} must be a boolean, got ${String(value)}`)
  return value === true
}

/** Applies defaults and validates. */
export function resolveStoreOptions(options: StoreOptions): ResolvedStoreOptions {
  return {
    memoryBudgetBytes: positive(
      'memoryBudgetBytes',
      options.memoryBudgetBytes,
      STORE_LIMITS.memoryBudgetBytesDefault,
    ),
    checkpointBytes: positive(
      'checkpointBytes',
      options.checkpointBytes,
      STORE_LIMITS.checkpointBytesDefault,
    ),
    checkpointRecords: positive(
      'checkpointRecords',
      options.checkpointRecords,
      STORE_LIMITS.checkpointRecordsDefault,
    ),
    syncRetainRecords: positive(
      'syncRetainRecords',
      options.syncRetainRecords,
      STORE_LIMITS.syncRetainRecordsDefault,
    ),
    durability: options.durability ?? 'sync',
    checkResolverPurity: options.checkResolverPurity === true,
    repair: flag('repair', options.repair),
  }
}
