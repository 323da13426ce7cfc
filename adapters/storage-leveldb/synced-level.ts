/**
 * A `ClassicLevel` whose every write is synchronous: LevelDB appends it to its log and calls
 * `fdatasync` before the write's callback runs. y-leveldb passes no write options, and LevelDB's
 * default (`sync: false`) only hands the bytes to the OS — a power loss could then drop a write
 * whose promise already resolved. Writes reach the native binding through abstract-level's
 * private methods `_put`, `_del`, `_batch`, `_chainedBatch` (its `_write`) and `_clear`; each is
 * overridden here, so every path to the disk, including those y-leveldb will take in future
 * versions, carries `sync: true`.
 *
 * `_clear` needs more than an option: the native range delete (`db_clear` in classic-level's
 * `binding.cc`) hard-codes `sync = false`. It is reimplemented as a key scan plus synced batch
 * deletes of at most {@link CLEAR_BATCH_KEYS_MAX} keys each.
 *
 * Verified by `test/unit/storage-leveldb.test.ts`, which runs writers under `strace` and counts
 * `fdatasync` calls: one per write with this class, none with plain `ClassicLevel`.
 */
import { ClassicLevel, type DatabaseOptions } from 'classic-level'

/** Keys deleted per synced batch when clearing a range. */
export const CLEAR_BATCH_KEYS_MAX = 1024

/** A Node-style completion callback as abstract-level's private methods receive it. */
type Callback = (error?: Error | null) => void

/** Range options abstract-level hands to `_clear`, bounds already encoded. */
interface ClearOptions {
  gt?: Uint8Array
  gte?: Uint8Array
  lt?: Uint8Array
  lte?: Uint8Array
  reverse?: boolean
  limit?: number
}

/** The chained batch's private write, as classic-level implements it. */
interface ChainedBatchWrite {
  _write(options: object, callback: Callback): void
}

/** abstract-level's private write methods (implemented by ClassicLevel, not in its types). */
interface LevelWrites {
  _put(key: Uint8Array, value: Uint8Array, options: object, callback: Callback): void
  _del(key: Uint8Array, options: object, callback: Callback): void
  _batch(operations: readonly object[], options: object, callback: Callback): void
  _chainedBatch(): ChainedBatchWrite
  _clear(options: ClearOptions, callback: Callback): void
}

/** `ClassicLevel` typed with the private methods this file overrides. */
const LevelWithWrites = ClassicLevel as unknown as new <K, V>(
  location: string,
  options?: DatabaseOptions<K, V>,
) => ClassicLevel<K, V> & LevelWrites

function withSync(options: object | null | undefined): object {
  return { ...options, sync: true }
}

/**
 * LevelDB through classic-level with every write synced (see the file comment). Pass the class
 * itself (it is constructed by y-leveldb) or a subclass of it.
 */
export class SyncedClassicLevel<K = string, V = string> extends LevelWithWrites<K, V> {
  override _put(key: Uint8Array, value: Uint8Array, options: object, callback: Callback): void {
    super._put(key, value, withSync(options), callback)
  }

  override _del(key: Uint8Array, options: object, callback: Callback): void {
    super._del(key, withSync(options), callback)
  }

  override _batch(operations: readonly object[], options: object, callback: Callback): void {
    super._batch(operations, withSync(options), callback)
  }

  override _chainedBatch(): ChainedBatchWrite {
    const batch = super._chainedBatch()
    const write = batch._write.bind(batch)
    batch._write = (options, callback) => write(withSync(options), callback)
    return batch
  }

  override _clear(options: ClearOptions, callback: Callback): void {
    clearSynced(this as unknown as RawKeyAccess, options).then(
      () => callback(),
      (error: unknown) => callback(error instanceof Error ? error : new Error(String(error))),
    )
  }
}

/** The public calls {@link clearSynced} makes, with keys as raw bytes. */
interface RawKeyAccess {
  keys(options: object): {
    nextv(size: number): Promise<Uint8Array[]>
    close(): Promise<void>
  }
  batch(operations: { type: 'del'; key: Uint8Array }[], options: object): Promise<void>
}

const RANGE_OPTIONS = ['gt', 'gte', 'lt', 'lte', 'reverse', 'limit'] as const

/** Deletes the keys of a range in synced batches (the native clear never syncs). */
async function clearSynced(db: RawKeyAccess, options: ClearOptions): Promise<void> {
  const range: Record<string, unknown> = { keyEncoding: 'view' }
  for (const name of RANGE_OPTIONS) {
    if (options[name] !== undefined) range[name] = options[name]
  }
  const keys = db.keys(range)
  try {
    while (true) {
      const chunk = await keys.nextv(CLEAR_BATCH_KEYS_MAX)
      if (chunk.length === 0) return
      // Goes through `_batch` above, so each chunk is one synced write.
      await db.batch(
        chunk.map((key) => ({ type: 'del', key })),
        { keyEncoding: 'view' },
      )
    }
  } finally {
    await keys.close()
  }
}
