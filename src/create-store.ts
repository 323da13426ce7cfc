/**
 * `createStore`: the embedded default wiring of a store. With a `path`, the WAL goes to
 * `<path>/wal` on the real disk and checkpoints to LevelDB in `<path>/snapshots`; without one,
 * both live in memory (tests, scratch stores). This module is the composition root: the only
 * place in `src/` that picks adapters.
 */
import { join } from 'node:path'
import { createLeveldbStorage } from '../adapters/storage-leveldb/index.js'
import { createMemoryStorage } from '../adapters/storage-memory/index.js'
import { invalidArgument, isStarlingError } from './core/errors.js'
import { openStore, type Store, type StoreOptions } from './store/index.js'
import { createSimFs } from './testing/sim-fs.js'
import { createNodeFileLayer, storeLockedError } from './wal/index.js'

/** Options of {@link createStore}. */
export interface CreateStoreOptions extends StoreOptions {
  /** Data directory (WAL + LevelDB); omit for an in-memory store. */
  path?: string
}

/**
 * Opens (creating if needed) a store.
 *
 * @example
 * ```ts
 * import { createStore, crdt, lww } from 'starling'
 *
 * const store = await createStore({ policies: { 'settings/**': lww(), 'notes/*': crdt('text') } })
 * await store.set('settings/theme', 'dark') // resolves once durable
 * console.log(store.get('settings/theme')) // 'dark'
 * await store.close()
 * ```
 */
export async function createStore(options: CreateStoreOptions = {}): Promise<Store> {
  if (typeof options !== 'object' || options === null)
    throw invalidArgument('createStore: options must be an object')
  const { path, ...rest } = options
  if (path === undefined) {
    return openStore(rest, {
      walDir: '/starling/wal',
      fs: createSimFs(),
      storage: createMemoryStorage(),
    })
  }
  if (typeof path !== 'string' || path.length === 0)
    throw invalidArgument('createStore: path must be a non-empty string')
  const fs = createNodeFileLayer()
  // LevelDB's lock and then the WAL's: a second opener of the directory fails with STORE_LOCKED.
  const storage = await createLeveldbStorage(join(path, 'snapshots'), {
    repair: rest.repair === true,
  }).catch((error: unknown) => rethrowLocked(path, error))
  try {
    const storageRepaired = storage.repaired
    return await openStore(rest, { walDir: join(path, 'wal'), fs, storage, storageRepaired })
  } catch (error) {
    await storage.close()
    return rethrowLocked(path, error)
  }
}

/** Rethrows `error`; `STORE_LOCKED` as the store's, naming the holder (see `storeLockedError`). */
async function rethrowLocked(path: string, error: unknown): Promise<never> {
  if (isStarlingError(error, 'STORE_LOCKED'))
    throw await storeLockedError(path, join(path, 'wal'), error)
  throw error
}
