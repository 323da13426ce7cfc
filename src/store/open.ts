/**
 * Opening a store: WAL recovery (continuing the log after the checkpoint when it ended before it,
 * repairing it when asked), the node id, the registry from storage, then a replay of the WAL
 * after the checkpoint (registry updates applied, document updates kept for lazy loading).
 * What survives which damage: docs/guarantees.md, "Damage and repair".
 */
import * as Y from 'yjs'
import { StarlingError, isStarlingError } from '../core/errors.js'
import { systemEnv, type Env } from '../core/env.js'
import { toNodeId, type NodeId } from '../core/ids.js'
import { newestLsnIn, openWal, type Wal } from '../wal/index.js'
import { META, decodeLsn } from './checkpoint.js'
import { LOAD_ORIGIN } from './docs.js'
import { REGISTRY_KEY } from './keys.js'
import { STORE_LIMITS, resolveStoreOptions, type StoreOptions, type StorePorts } from './options.js'
import { STORE_RECORD_TYPE, decodeUpdates, type DocUpdate } from './record-codec.js'
import { REMOTE_RECORD_TYPE, decodeRemoteRecord } from './remote.js'
import type { StorageAdapter } from './storage.js'
import { Store, type OpenReport } from './store.js'

/** How to open a store whose WAL is damaged; every `WAL_CORRUPTION` of an open names it. */
export const REPAIR_HINT =
  'To open it from its checkpoint plus every record before the damage (the damaged files are ' +
  'kept as *.broken), open with createStore({ path, repair: true }) or run `starling repair <dir>`'

/** Opens a store on explicit ports (a WAL directory and file layer, a storage adapter). */
export async function openStore(options: StoreOptions, ports: StorePorts): Promise<Store> {
  const { repair } = resolveStoreOptions(options)
  const env = options.env ?? systemEnv
  const checkpointLsn = decodeLsn(await ports.storage.getMeta(META.checkpointLsn))
  const wal = await openStoreWal(options, ports, env, { repair, startLsn: checkpointLsn + 1 })
  try {
    const lost = await lostRecords(wal, ports, checkpointLsn)
    if (lost !== null && !repair) throw missingError(lost)
    const nodeId = await loadNodeId(ports.storage, env.randomBytes(12))
    const store = new Store({ wal, storage: ports.storage, nodeId, options, checkpointLsn })
    store.ledger.load(await ports.storage.getMeta(META.syncLedger))
    const registryState = await ports.storage.getMeta(META.registry)
    if (registryState !== undefined) Y.applyUpdate(store.registry.doc, registryState, LOAD_ORIGIN)
    const replayed = await replay(store, wal, checkpointLsn)
    store.afterLoad({ ...replayed, walRestarted: restartOf(wal), lost })
    return store
  } catch (error) {
    await wal.close()
    throw error
  }
}

/**
 * Opens the WAL, continuing at `startLsn` when it ends before the checkpoint (the checkpoint
 * holds those records: not a loss). A damaged WAL fails with a `WAL_CORRUPTION` that names the
 * store's way out.
 */
async function openStoreWal(
  options: StoreOptions,
  ports: StorePorts,
  env: Env,
  recovery: { repair: boolean; startLsn: number },
): Promise<Wal> {
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
      ...recovery,
    })
  } catch (error) {
    if (!isStarlingError(error, 'WAL_CORRUPTION')) throw error
    const { segment, offset, reason } = error.details
    throw new StarlingError(
      'WAL_CORRUPTION',
      `WAL segment ${String(segment)} is corrupt at offset ${String(offset)}: ${String(reason)}. ` +
        `Nothing was changed. ${REPAIR_HINT}.`,
      { ...error.details, walDir: ports.walDir },
      error,
    )
  }
}

/** The range of records after the checkpoint this WAL lacks, or null when it lacks none. */
async function lostRecords(
  wal: Wal,
  ports: StorePorts,
  checkpointLsn: number,
): Promise<OpenReport['lost']> {
  // Truncation never removes records after the checkpoint: a log starting later lost some.
  if (wal.firstLsn > checkpointLsn + 1)
    return { fromLsn: checkpointLsn + 1, toLsn: wal.firstLsn - 1 }
  const corruption = wal.recovery.corruption
  if (corruption === null) return null
  const kept = Math.max(wal.lastLsn, checkpointLsn)
  const newest = await newestLsnIn(
    ports.fs,
    ports.walDir,
    corruption.brokenFiles,
    STORE_LIMITS.recordBytesMax,
  )
  return newest > kept ? { fromLsn: kept + 1, toLsn: newest } : null
}

function missingError(lost: NonNullable<OpenReport['lost']>): StarlingError {
  return new StarlingError(
    'WAL_CORRUPTION',
    `the WAL lacks LSNs ${lost.fromLsn}–${lost.toLsn}, after the checkpoint: records are ` +
      `missing (WAL segments were removed). Nothing was changed. ${REPAIR_HINT}; the records ` +
      'after the gap are kept and replayed.',
    { missingFromLsn: lost.fromLsn, missingToLsn: lost.toLsn },
  )
}

function restartOf(wal: Wal): OpenReport['walRestarted'] {
  const restarted = wal.recovery.restarted
  if (restarted === null) return null
  return {
    walEndedAtLsn: restarted.lastLsnBefore,
    startLsn: restarted.startLsn,
    supersededFiles: restarted.supersededFiles,
  }
}

async function loadNodeId(storage: StorageAdapter, random: Uint8Array): Promise<NodeId> {
  const stored = await storage.getMeta(META.nodeId)
  if (stored !== undefined) return toNodeId(new TextDecoder().decode(stored))
  const id = toNodeId(Array.from(random, (b) => b.toString(16).padStart(2, '0')).join(''))
  await storage.setMeta(META.nodeId, new TextEncoder().encode(id))
  return id
}

/** Applies every WAL record after the checkpoint. */
async function replay(
  store: Store,
  wal: Wal,
  checkpointLsn: number,
): Promise<Omit<OpenReport, 'walRestarted' | 'lost'>> {
  let replayedRecords = 0
  let replayedUpdates = 0
  for await (const record of wal.read(Math.max(checkpointLsn + 1, wal.firstLsn))) {
    const updates = updatesOf(store, record.type, record.payload)
    for (const { key, update } of updates) {
      if (key === REGISTRY_KEY) Y.applyUpdate(store.registry.doc, update, LOAD_ORIGIN)
      else store.docs.addExternal(key, update)
    }
    replayedRecords++
    replayedUpdates += updates.length
    store.checkpointer.logged(record.payload.length)
  }
  return { checkpointLsn, replayedRecords, replayedUpdates, walRecovery: wal.recovery }
}

/** The updates of a WAL record: a local record, or a batch from a peer (advancing the ledger). */
function updatesOf(store: Store, type: number, payload: Uint8Array): DocUpdate[] {
  if (type === STORE_RECORD_TYPE) return decodeUpdates(payload)
  if (type !== REMOTE_RECORD_TYPE) return []
  const record = decodeRemoteRecord(payload)
  store.ledger.note(record)
  return record.envelopes.flatMap((envelope) => decodeUpdates(envelope.payload))
}
