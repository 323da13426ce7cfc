/**
 * The WAL side of opening a store (docs/guarantees.md, "Damage and repair"): recovery, a log
 * continued after the checkpoint when it ended before it, a repair when asked, and the range of
 * records after the checkpoint that a damaged WAL lost. LSNs never go backwards: the log always
 * continues after every LSN the store may have handed out (the checkpoint's and
 * `META.lsnFloor`), so peers' cursors on it stay valid.
 */
import { StarlingError, isStarlingError } from '../core/errors.js'
import type { Env } from '../core/env.js'
import { newestLsnIn, openWal, type Wal } from '../wal/index.js'
import { META, decodeLsn, encodeLsn } from './checkpoint.js'
import { STORE_LIMITS, type StoreOptions, type StorePorts } from './options.js'
import type { StorageAdapter } from './storage.js'
import type { OpenReport } from './store.js'

/** How to open a store whose WAL is damaged; every `WAL_CORRUPTION` of an open names it. */
export const REPAIR_HINT =
  'To open it from its checkpoint plus every record before the damage (the damaged files are ' +
  'kept as *.broken), open with createStore({ path, repair: true }) or run `starling repair <dir>`'

/** The opened log, the checkpoint it continues from, and what was lost. */
export interface OpenedLog {
  wal: Wal
  checkpointLsn: number
  lost: OpenReport['lost']
}

/** What {@link openLog} needs besides the ports. */
export interface OpenLogContext {
  options: StoreOptions
  ports: StorePorts
  env: Env
  repair: boolean
  /** False after a storage repair: its checkpoint LSN may be older than what it holds. */
  checkpointTrusted: boolean
  /**
   * Makes every record of `wal` after `checkpointLsn` part of a new checkpoint and closes `wal`
   * (storage stays open); resolves the new checkpoint LSN.
   */
  fold(wal: Wal, checkpointLsn: number): Promise<number>
}

/** Opens the store's WAL (see the module comment). */
export async function openLog(context: OpenLogContext): Promise<OpenedLog> {
  const { storage } = context.ports
  let checkpointLsn = decodeLsn(await storage.getMeta(META.checkpointLsn))
  let floor = decodeLsn(await storage.getMeta(META.lsnFloor))
  let wal = await openStoreWal(context, checkpointLsn + 1)
  try {
    const keptLsn = Math.max(checkpointLsn, floor)
    const lost = await lostRecords(wal, context, keptLsn)
    if (lost !== null && !context.repair) throw missingError(wal, keptLsn)
    if (lost !== null && lost.toLsn > floor) {
      floor = lost.toLsn
      await storage.setMeta(META.lsnFloor, encodeLsn(floor))
    }
    if (wal.lastLsn >= floor) return { wal, checkpointLsn, lost }
    // The next LSN would reuse one the store may have handed out: continue after the floor. The
    // records after the checkpoint go into a checkpoint first, so the restart supersedes nothing
    // that storage lacks (a crash anywhere here redoes the same steps on the next open).
    if (wal.lastLsn > checkpointLsn) checkpointLsn = await context.fold(wal, checkpointLsn)
    else await wal.close()
    wal = await openStoreWal(context, floor + 1)
    return { wal, checkpointLsn, lost }
  } catch (error) {
    await wal.close()
    throw error
  }
}

/**
 * Opens the WAL, continuing at `startLsn` when it ends before `startLsn − 1` (the checkpoint
 * holds those records: not a loss). A damaged WAL fails with a `WAL_CORRUPTION` that names the
 * store's way out.
 */
async function openStoreWal(context: OpenLogContext, startLsn: number): Promise<Wal> {
  const { options, ports, env, repair } = context
  try {
    return await openWal(ports.walDir, {
      fs: ports.fs,
      env,
      durability: options.durability ?? 'sync',
      recordBytesMax: STORE_LIMITS.recordBytesMax,
      batchBytesMax: 2 * STORE_LIMITS.recordBytesMax,
      ...(options.walSegmentBytes === undefined
        ? {}
        : { segmentBytesMax: options.walSegmentBytes }),
      repair,
      startLsn,
    })
  } catch (error) {
    if (!isStarlingError(error, 'WAL_CORRUPTION')) throw error
    const { segment, offset, reason } = error.details
    throw new StarlingError(
      'WAL_CORRUPTION',
      `WAL segment ${String(segment)} of ${ports.walDir} is corrupt at offset ${String(offset)}: ` +
        `${String(reason)}. Nothing was changed. ${REPAIR_HINT}.`,
      { ...error.details, walDir: ports.walDir },
      error,
    )
  }
}

/**
 * The records after `keptLsn` (the checkpoint, or the floor) this WAL lacks, or null when it
 * lacks none: a log starting after `keptLsn + 1` (truncation never removes records after the
 * checkpoint), or the newest LSN found in the files a repair set aside.
 */
async function lostRecords(
  wal: Wal,
  { ports, checkpointTrusted }: OpenLogContext,
  keptLsn: number,
): Promise<OpenReport['lost']> {
  // The records after the gap are replayed too, but what they build on may be missing (they
  // stay invisible until a peer supplies it): they count as lost.
  if (checkpointTrusted && wal.firstLsn > keptLsn + 1)
    return { fromLsn: keptLsn + 1, toLsn: wal.lastLsn }
  const corruption = wal.recovery.corruption
  if (corruption === null) return null
  const kept = Math.max(wal.lastLsn, keptLsn)
  const newest = await newestLsnIn(
    ports.fs,
    ports.walDir,
    corruption.brokenFiles,
    STORE_LIMITS.recordBytesMax,
  )
  return newest > kept ? { fromLsn: kept + 1, toLsn: newest } : null
}

function missingError(wal: Wal, keptLsn: number): StarlingError {
  return new StarlingError(
    'WAL_CORRUPTION',
    `the WAL starts at LSN ${wal.firstLsn}, after the checkpoint at ${keptLsn}: records are ` +
      `missing (WAL segments were removed). Nothing was changed. ${REPAIR_HINT}; the records ` +
      'after the gap are replayed, but what builds on the missing ones stays invisible until a ' +
      'peer supplies them.',
    { checkpointLsn: keptLsn, firstLsn: wal.firstLsn, lastLsn: wal.lastLsn },
  )
}

/** `storage` with a `close()` that does nothing (a store opened only to fold its WAL). */
export function keepOpen(storage: StorageAdapter): StorageAdapter {
  return {
    loadDoc: (key) => storage.loadDoc(key),
    storeDoc: (key, state) => storage.storeDoc(key, state),
    storeDocs: (states) => storage.storeDocs(states),
    deleteDoc: (key) => storage.deleteDoc(key),
    listDocs: () => storage.listDocs(),
    getMeta: (name) => storage.getMeta(name),
    setMeta: (name, value) => storage.setMeta(name, value),
    close: () => Promise.resolve(),
  }
}
