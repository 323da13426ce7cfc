/**
 * Opening a store: the WAL (see open-log.ts), the node id, the registry from storage, then a
 * replay of the WAL after the checkpoint (registry updates applied, document updates kept for
 * lazy loading). What survives which damage: docs/guarantees.md, "Damage and repair".
 */
import * as Y from 'yjs'
import { StarlingError } from '../core/errors.js'
import { systemEnv, type Env } from '../core/env.js'
import { toNodeId, type NodeId } from '../core/ids.js'
import type { Wal, WalRecord } from '../wal/index.js'
import { META, decodeLsn } from './checkpoint.js'
import { LOAD_ORIGIN } from './docs.js'
import { storeInternalsOf, type StoreInternals } from './internals.js'
import { REGISTRY_KEY } from './keys.js'
import { keepOpen, openLog } from './open-log.js'
import { resolveStoreOptions, type StoreOptions, type StorePorts } from './options.js'
import { STORE_RECORD_TYPE, decodeUpdates, type DocUpdate } from './record-codec.js'
import { firstUnappliable } from './quarantine.js'
import { REMOTE_RECORD_TYPE, decodeRemoteRecord, type Envelope } from './remote.js'
import type { StorageAdapter } from './storage.js'
import { Store, type OpenReport } from './store.js'

export { REPAIR_HINT } from './open-log.js'

type Replayed = Omit<OpenReport, 'walRestarted' | 'lost' | 'storageRepaired'>

/** Opens a store on explicit ports (a WAL directory and file layer, a storage adapter). */
export async function openStore(options: StoreOptions, ports: StorePorts): Promise<Store> {
  const { repair } = resolveStoreOptions(options)
  const env = options.env ?? systemEnv
  const fold = (wal: Wal, checkpointLsn: number) =>
    foldIntoCheckpoint(wal, options, ports, env, checkpointLsn)
  const checkpointTrusted = ports.storageRepaired == null
  const context = { options, ports, env, repair, fold, checkpointTrusted }
  const { wal, checkpointLsn, lost } = await openLog(context)
  try {
    // Over repaired storage the whole WAL is replayed (Yjs updates apply idempotently).
    const repairedStorage = ports.storageRepaired ?? null
    const replayAfter = repairedStorage === null ? checkpointLsn : 0
    const { store, replayed } = await buildStore(wal, options, ports.storage, env, checkpointLsn, {
      replayAfter,
    })
    const storageRepaired =
      repairedStorage === null
        ? null
        : { ...repairedStorage, walReplayedFromLsn: wal.firstLsn, complete: wal.firstLsn === 1 }
    const restarted = wal.recovery.restarted
    const walRestarted =
      restarted === null
        ? null
        : {
            walEndedAtLsn: restarted.lastLsnBefore,
            startLsn: restarted.startLsn,
            supersededFiles: restarted.supersededFiles,
          }
    storeInternalsOf(store).afterLoad({
      ...replayed,
      checkpointLsn,
      walRestarted,
      lost,
      storageRepaired,
    })
    return store
  } catch (error) {
    await wal.close()
    throw error
  }
}

/** A store on `wal` and `storage` with the WAL after the checkpoint replayed (not yet indexed). */
async function buildStore(
  wal: Wal,
  options: StoreOptions,
  storage: StorageAdapter,
  env: Env,
  checkpointLsn: number,
  { replayAfter = checkpointLsn } = {},
): Promise<{ store: Store; replayed: Replayed }> {
  const nodeId = await loadNodeId(storage, env.randomBytes(12))
  const store = new Store({ wal, storage, nodeId, options, checkpointLsn })
  const parts = storeInternalsOf(store)
  parts.ledger.load(await storage.getMeta(META.syncLedger))
  const registryState = await storage.getMeta(META.registry)
  if (registryState !== undefined) Y.applyUpdate(parts.registry.doc, registryState, LOAD_ORIGIN)
  return { store, replayed: await replay(parts, wal, replayAfter) }
}

/**
 * Puts every record of `wal` after `checkpointLsn` into a checkpoint and closes `wal`, leaving
 * storage open; resolves the new checkpoint LSN. Used before the log continues past LSNs a
 * repair lost (see open-log.ts).
 */
async function foldIntoCheckpoint(
  wal: Wal,
  options: StoreOptions,
  ports: StorePorts,
  env: Env,
  checkpointLsn: number,
): Promise<number> {
  const cutLsn = wal.lastLsn
  const { store, replayed } = await buildStore(
    wal,
    options,
    keepOpen(ports.storage),
    env,
    checkpointLsn,
  )
  storeInternalsOf(store).afterLoad({
    ...replayed,
    walRestarted: null,
    lost: null,
    storageRepaired: null,
  })
  await store.close()
  const stored = decodeLsn(await ports.storage.getMeta(META.checkpointLsn))
  if (stored < cutLsn) {
    throw new StarlingError(
      'STORE_FAILED',
      `the WAL's records after the checkpoint could not be checkpointed (checkpoint LSN ${stored}, ` +
        `log end ${cutLsn}); nothing was lost: open again`,
      { checkpointLsn: stored, lastLsn: cutLsn },
    )
  }
  return stored
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
async function replay(parts: StoreInternals, wal: Wal, checkpointLsn: number): Promise<Replayed> {
  let replayedRecords = 0
  let replayedUpdates = 0
  for await (const record of wal.read(Math.max(checkpointLsn + 1, wal.firstLsn))) {
    const updates = updatesOf(parts, record)
    for (const { key, update } of updates) {
      if (key === REGISTRY_KEY) applyRegistryUpdate(parts, record.lsn, update)
      else parts.docs.addExternal(key, update)
    }
    replayedRecords++
    replayedUpdates += updates.length
    parts.checkpointer.logged(record.payload.length)
  }
  return {
    checkpointLsn,
    replayedRecords,
    replayedUpdates,
    walRecovery: wal.recovery,
    quarantined: [...parts.quarantine.entries],
  }
}

/** Applies a replayed registry update; one that throws all the same is quarantined (I10). */
function applyRegistryUpdate(parts: StoreInternals, lsn: number, update: Uint8Array): void {
  try {
    Y.applyUpdate(parts.registry.doc, update, LOAD_ORIGIN)
  } catch (error) {
    parts.quarantine.add({ lsn, key: REGISTRY_KEY, reason: (error as Error).message })
  }
}

/**
 * The updates of a WAL record that can be applied: a local record (all or nothing, it is one
 * transaction), or the envelopes of a batch from a peer (each all or nothing; the ledger advances
 * by the envelopes kept, and the sender's cursor, so the batch is not asked for again).
 */
function updatesOf(parts: StoreInternals, record: WalRecord): DocUpdate[] {
  const { lsn, type, payload } = record
  if (type === STORE_RECORD_TYPE) {
    const updates = decodeUpdates(payload)
    const bad = firstUnappliable(updates)
    if (bad === undefined) return updates
    parts.quarantine.add({ lsn, ...bad })
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
    parts.quarantine.add({ lsn, envelope: index, origin, originLsn, ...bad })
  })
  parts.ledger.note({ ...remote, envelopes: kept })
  return updates
}
