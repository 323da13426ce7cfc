/**
 * Opening a store: WAL recovery, the node id, the registry from storage, then a replay of the WAL
 * after the checkpoint (registry updates applied, document updates kept for lazy loading).
 */
import * as Y from 'yjs'
import { StarlingError } from '../core/errors.js'
import { systemEnv } from '../core/env.js'
import { toNodeId, type NodeId } from '../core/ids.js'
import { openWal, type Wal, type WalRecord } from '../wal/index.js'
import { META, decodeLsn } from './checkpoint.js'
import { LOAD_ORIGIN } from './docs.js'
import { REGISTRY_KEY } from './keys.js'
import { STORE_LIMITS, type StoreOptions, type StorePorts } from './options.js'
import { STORE_RECORD_TYPE, decodeUpdates, type DocUpdate } from './record-codec.js'
import { firstUnappliable } from './quarantine.js'
import { REMOTE_RECORD_TYPE, decodeRemoteRecord, type Envelope } from './remote.js'
import type { StorageAdapter } from './storage.js'
import { Store, type OpenReport } from './store.js'

/** Opens a store on explicit ports (a WAL directory and file layer, a storage adapter). */
export async function openStore(options: StoreOptions, ports: StorePorts): Promise<Store> {
  const env = options.env ?? systemEnv
  const wal = await openWal(ports.walDir, {
    fs: ports.fs,
    env,
    durability: options.durability ?? 'sync',
    recordBytesMax: STORE_LIMITS.recordBytesMax,
    batchBytesMax: 2 * STORE_LIMITS.recordBytesMax,
    ...(options.walSegmentBytes === undefined ? {} : { segmentBytesMax: options.walSegmentBytes }),
  })
  try {
    const nodeId = await loadNodeId(ports.storage, env.randomBytes(12))
    const checkpointLsn = decodeLsn(await ports.storage.getMeta(META.checkpointLsn))
    if (wal.lastLsn < checkpointLsn) {
      throw new StarlingError(
        'WAL_CORRUPTION',
        `the WAL ends at LSN ${wal.lastLsn}, before the checkpoint at ${checkpointLsn}: records are missing`,
        { lastLsn: wal.lastLsn, checkpointLsn },
      )
    }
    const store = new Store({ wal, storage: ports.storage, nodeId, options, checkpointLsn })
    store.ledger.load(await ports.storage.getMeta(META.syncLedger))
    const registryState = await ports.storage.getMeta(META.registry)
    if (registryState !== undefined) Y.applyUpdate(store.registry.doc, registryState, LOAD_ORIGIN)
    const report = await replay(store, wal, checkpointLsn)
    store.afterLoad(report)
    return store
  } catch (error) {
    await wal.close()
    throw error
  }
}

async function loadNodeId(storage: StorageAdapter, random: Uint8Array): Promise<NodeId> {
  const stored = await storage.getMeta(META.nodeId)
  if (stored !== undefined) return toNodeId(new TextDecoder().decode(stored))
  const id = toNodeId(Array.from(random, (b) => b.toString(16).padStart(2, '0')).join(''))
  await storage.setMeta(META.nodeId, new TextEncoder().encode(id))
  return id
}

/**
 * Applies every WAL record after the checkpoint. A record (or an envelope of a remote record)
 * holding an update that cannot be applied is quarantined: skipped and reported (I10).
 */
async function replay(store: Store, wal: Wal, checkpointLsn: number): Promise<OpenReport> {
  let replayedRecords = 0
  let replayedUpdates = 0
  for await (const record of wal.read(Math.max(checkpointLsn + 1, wal.firstLsn))) {
    const updates = updatesOf(store, record)
    for (const { key, update } of updates) {
      if (key === REGISTRY_KEY) applyRegistryUpdate(store, record.lsn, update)
      else store.docs.addExternal(key, update)
    }
    replayedRecords++
    replayedUpdates += updates.length
    store.checkpointer.logged(record.payload.length)
  }
  return {
    checkpointLsn,
    replayedRecords,
    replayedUpdates,
    walRecovery: wal.recovery,
    quarantined: [...store.quarantine.entries],
  }
}

/** Applies a replayed registry update; one that throws all the same is quarantined (I10). */
function applyRegistryUpdate(store: Store, lsn: number, update: Uint8Array): void {
  try {
    Y.applyUpdate(store.registry.doc, update, LOAD_ORIGIN)
  } catch (error) {
    store.quarantine.add({ lsn, key: REGISTRY_KEY, reason: (error as Error).message })
  }
}

/**
 * The updates of a WAL record that can be applied: a local record (all or nothing, it is one
 * transaction), or the envelopes of a batch from a peer (each all or nothing; the ledger advances
 * by the envelopes kept, and the sender's cursor, so the batch is not asked for again).
 */
function updatesOf(store: Store, record: WalRecord): DocUpdate[] {
  const { lsn, type, payload } = record
  if (type === STORE_RECORD_TYPE) {
    const updates = decodeUpdates(payload)
    const bad = firstUnappliable(updates)
    if (bad === undefined) return updates
    store.quarantine.add({ lsn, ...bad })
    return []
  }
  if (type !== REMOTE_RECORD_TYPE) return []
  const remote = decodeRemoteRecord(payload)
  const kept: Envelope[] = []
  const updates: DocUpdate[] = []
  remote.envelopes.forEach((envelope, index) => {
    const list = decodeUpdates(envelope.payload)
    const bad = firstUnappliable(list)
    if (bad === undefined) {
      kept.push(envelope)
      updates.push(...list)
      return
    }
    const { origin, originLsn } = envelope
    store.quarantine.add({ lsn, envelope: index, origin, originLsn, ...bad })
  })
  store.ledger.note({ ...remote, envelopes: kept })
  return updates
}
