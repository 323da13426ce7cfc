/**
 * LevelDB storage adapter: document states and metadata in a LevelDB database, in y-leveldb's
 * on-disk layout (`layout.ts`), read and written through classic-level's public API
 * (docs/ARCHITECTURE.md, "Storage adapters"):
 *
 * - every write is one atomic `batch(…, { sync: true })` — LevelDB appends it to its log and
 *   calls `fdatasync` before it resolves — and the database directory is fsynced after it, so a
 *   resolved write survives power loss;
 * - every backend error rejects as `STORAGE_FAILED` or `STORAGE_CORRUPTION` with the backend's
 *   error as `cause`; "not stored" is decided from the document's state-vector record, never
 *   from a failed read;
 * - states are validated before anything is written (`STORAGE_INVALID_UPDATE`);
 * - a document is compacted once it holds more than `storedUpdatesMax` stored updates;
 * - metadata lives under a reserved document name no key can take (keys never contain NUL);
 * - a second open of the same directory fails with `STORE_LOCKED` (LevelDB's `LOCK` file).
 *
 * Methods run one at a time, in call order; `close()` waits for the calls made before it.
 */
import { dirname, resolve } from 'node:path'
import { ClassicLevel, type DatabaseOptions } from 'classic-level'
import { keyEncoding, PREFERRED_TRIM_SIZE } from 'y-leveldb'
import { invalidArgument } from '../../src/core/errors.js'
import type { StorageAdapter } from '../../src/store/storage.js'
import {
  damagedError,
  damagedFiles,
  droppedAtOpen,
  innermostMessage,
  readDamageMarker,
  repairDatabase,
  writeDamageMarker,
} from './damage.js'
import { lockedError, storageError, type FailureContext } from './leveldb-errors.js'
import { LeveldbStorage, syncDirectory, type LeveldbHandle } from './leveldb-storage.js'
import type { YKey } from './layout.js'

export { META_DOC_NAME } from './leveldb-storage.js'

/** Default of {@link LeveldbStorageOptions.storedUpdatesMax}. */
export const STORED_UPDATES_MAX_DEFAULT = 8

/** LevelDB tuning passed through to classic-level (see its README for meanings and defaults). */
export interface LeveldbTuning {
  cacheSize?: number
  writeBufferSize?: number
  blockSize?: number
  maxOpenFiles?: number
  blockRestartInterval?: number
  maxFileSize?: number
  compression?: boolean
}

/** The database as the adapter opens it: y-leveldb's key arrays, byte values. */
export type YLevel = ClassicLevel<YKey, Uint8Array>

/** `ClassicLevel` or a subclass of it (e.g. one injecting faults in tests). */
export type LevelClass = new (
  location: string,
  options?: DatabaseOptions<YKey, Uint8Array>,
) => YLevel

/** Options of {@link createLeveldbStorage}. */
export interface LeveldbStorageOptions {
  /**
   * A document holding more stored updates than this after `storeDoc` is compacted into one
   * (y-leveldb's `flushDocument`). 1–500, default 8. Each `storeDoc` adds one update.
   */
  storedUpdatesMax?: number
  /** LevelDB tuning. */
  levelOptions?: LeveldbTuning
  /**
   * Open a damaged database by LevelDB's repairer, keeping every readable table and log record
   * (default false: open fails with `STORAGE_CORRUPTION`); see `damage.ts`.
   */
  repair?: boolean
  /**
   * The LevelDB class: `ClassicLevel` (default) or a subclass of it. Anything else is refused.
   * Writes are synced by the options the adapter passes, whatever the class.
   */
  Level?: LevelClass
}

/** A LevelDB storage adapter, and what a repair at open found (null: none ran). */
export interface LeveldbStorageAdapter extends StorageAdapter {
  /** LevelDB's messages about the damage a repair at open got past. */
  readonly repaired: { messages: string[]; files: string[] } | null
}

/**
 * Opens (creating if needed) a LevelDB storage adapter in directory `location`. Rejects with
 * `STORE_LOCKED` when the directory is open elsewhere — in this process or another — with
 * `STORAGE_CORRUPTION` when the database is damaged (even when LevelDB itself would open it by
 * dropping data; unless `repair`), and with `STORAGE_FAILED` when LevelDB cannot open it.
 */
export async function createLeveldbStorage(
  location: string,
  options: LeveldbStorageOptions = {},
): Promise<LeveldbStorageAdapter> {
  if (typeof location !== 'string' || location.length === 0)
    throw invalidArgument('createLeveldbStorage: location must be a non-empty string')
  const storedUpdatesMax = resolveStoredUpdatesMax(options.storedUpdatesMax)
  const Level: LevelClass = options.Level ?? ClassicLevel
  if (Level !== ClassicLevel && !(Level.prototype instanceof ClassicLevel))
    throw invalidArgument('createLeveldbStorage: options.Level must extend ClassicLevel')
  // Before the database is opened: a store marked damaged stays refused until repaired.
  const marked = await readDamageMarker(location)
  if (marked !== undefined && options.repair !== true) throw damagedError(location, marked)
  if (marked !== undefined) await repairDatabase(location)
  const db = new Level(location, {
    ...options.levelOptions,
    keyEncoding: keyEncoding as DatabaseOptions<YKey, Uint8Array>['keyEncoding'],
    valueEncoding: 'view',
  })
  const repaired = await openChecked(db, location, options.repair === true, marked)
  try {
    // A directory created just now must survive power loss with its parent's entry.
    await syncDirectory(dirname(resolve(location)), 'createLeveldbStorage')
  } catch (error) {
    await db.close().catch(() => undefined)
    throw error
  }
  const handle = db as unknown as LeveldbHandle
  const storage = new LeveldbStorage({ location: resolve(location), db: handle, storedUpdatesMax })
  return Object.assign(storage, {
    repaired: repaired === undefined ? null : { messages: repaired, files: damagedFiles(repaired) },
  })
}

/**
 * Opens `db`, failing with `STORAGE_CORRUPTION` when it is damaged or LevelDB dropped damaged
 * data opening it (recorded, so every later open fails alike; see `damage.ts`). With `repair`,
 * runs LevelDB's repairer instead and resolves the damage it got past (`marked`: what an earlier
 * open recorded, already repaired; undefined when nothing was wrong).
 */
async function openChecked(
  db: YLevel,
  location: string,
  repair: boolean,
  marked: string[] | undefined,
): Promise<string[] | undefined> {
  const context = { method: 'createLeveldbStorage', details: { location }, decodesStored: false }
  let damage = marked
  try {
    await db.open()
  } catch (error) {
    const typed = storageErrorOrLocked(location, context, error)
    if (typed.code === 'STORE_LOCKED') throw typed
    const messages = [...(await droppedAtOpen(location)), innermostMessage(error)]
    if (!repair || damage !== undefined) throw damagedError(location, messages, typed)
    damage = messages
    await repairDatabase(location)
    await db.open().catch((again: unknown) => {
      throw damagedError(location, messages, storageErrorOrLocked(location, context, again))
    })
  }
  const dropped = await droppedAtOpen(location)
  if (dropped.length === 0 || repair) return damage ?? (dropped.length > 0 ? dropped : undefined)
  await writeDamageMarker(location, dropped)
  await db.close().catch(() => undefined)
  throw damagedError(location, dropped)
}

function resolveStoredUpdatesMax(value: number | undefined): number {
  if (value === undefined) return STORED_UPDATES_MAX_DEFAULT
  if (!Number.isSafeInteger(value) || value < 1 || value > PREFERRED_TRIM_SIZE)
    throw invalidArgument(`storedUpdatesMax must be an integer in 1..${PREFERRED_TRIM_SIZE}`)
  return value
}

function storageErrorOrLocked(location: string, context: FailureContext, error: unknown) {
  const cause = (error as { cause?: { code?: unknown } } | null)?.cause
  if (cause?.code === 'LEVEL_LOCKED') return lockedError(location, error)
  return storageError(context, error)
}
