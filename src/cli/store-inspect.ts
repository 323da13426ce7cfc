/**
 * `starling inspect <dir> [--json]`: a store directory as found — WAL segments and record counts,
 * checkpoint LSN, the recovery report, and every key's recorded policy with any problem.
 *
 * It changes no data. The WAL is read without the lock (`inspectWal`). The store itself is opened
 * — for the checkpoint, the registry and a recovery report — only when that is harmless: no other
 * process holds it (a held store is reported as in use, with the WAL only), and its WAL is clean
 * (opening would cut a torn tail; a corrupt WAL fails to open). It is then closed without a
 * checkpoint. LevelDB may still rotate its own internal log files when opened.
 */
import { stat } from 'node:fs/promises'
import { join } from 'node:path'
import { isStarlingError, StarlingError } from '../core/errors.js'
import { createStore } from '../create-store.js'
import { isCrdtPolicy, lww, resolve } from '../policy/index.js'
import type { OpenReport, Store } from '../store/index.js'
import { inspectWal, type WalInspection } from '../wal/index.js'
import { readLockHolder } from '../wal/index.js'
import { checkStoreDir, policyFromId, STORE_SUBDIRS } from './store-open.js'
import { storeInternalsOf } from '../store/internals.js'

/** One key and its recorded policy. */
export interface KeyPolicy {
  key: string
  /** The recorded policy id, `null` when none was recorded. */
  policy: string | null
  /** Whether the key exists (written and not deleted). */
  exists: boolean
  /** What is wrong with the key's policy, if anything. */
  problem: string | null
}

/** How far `inspect` got: the store was opened, or why it was not. */
export type InspectStatus = 'opened' | 'in-use' | 'not-opened' | 'open-failed'

/** What `inspect` found. Fields it could not read (see `status`) are `null`. */
export interface StoreInspection {
  dir: string
  status: InspectStatus
  /** Why the store was not opened, or the error opening it raised. */
  note: string | null
  /** The process holding the store, when `status` is `in-use` and it is known. */
  lockPid: number | null
  wal: WalInspection | null
  nodeId: string | null
  checkpointLsn: number | null
  lastLsn: number | null
  recordsSinceCheckpoint: number | null
  /** The report of this open: WAL recovery and the records replayed after the checkpoint. */
  recovery: OpenReport | null
  keys: KeyPolicy[] | null
}

async function inspectWalIfPresent(walDir: string): Promise<WalInspection | null> {
  try {
    return await inspectWal(walDir)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null
    throw error
  }
}

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory()
  } catch {
    return false
  }
}

/** Why opening the store would change it or fail, or `undefined` when it is safe. */
async function reasonNotToOpen(
  dir: string,
  wal: WalInspection | null,
): Promise<string | undefined> {
  if (wal === null || wal.segments.length === 0)
    return 'the WAL has no segments: opening the store would create one'
  if (!(await isDirectory(join(dir, STORE_SUBDIRS.snapshots))))
    return `there is no ${STORE_SUBDIRS.snapshots}/ directory: opening the store would create one`
  for (const segment of wal.segments) {
    const problem = segment.problem
    if (problem?.kind === 'corrupt')
      return `the WAL is corrupt (segment ${segment.name} at offset ${problem.offset}: ${problem.reason}); opening fails until it is repaired`
    if (problem?.kind === 'torn')
      return `the WAL has a torn tail (segment ${segment.name} at offset ${problem.offset}), which the next open cuts; not opened so nothing changes`
  }
  return undefined
}

/** What is wrong with the recorded policy of `key`, or `null`. */
function policyProblem(store: Store, key: string, recorded: string | undefined): string | null {
  if (recorded === undefined) return 'no recorded policy (read as lww)'
  const policy = policyFromId(recorded)
  if (policy === undefined) return `unknown policy id ${recorded}`
  if (!isCrdtPolicy(policy)) return null
  // A CRDT key's registry slots only ever hold its existence marker (true) or a tombstone.
  const { siblings } = resolve(lww(), key, storeInternalsOf(store).registry.slotsOf(key))
  return siblings.some((s) => !s.deleted && s.value !== true)
    ? `recorded as ${recorded} but holds register values: peers run different policy tables`
    : null
}

function keyPolicies(store: Store): KeyPolicy[] {
  const { registry } = storeInternalsOf(store)
  const recorded = new Map(registry.recordedPolicies())
  const keys = new Set([...registry.keys(), ...recorded.keys()])
  return [...keys].sort().map((key) => ({
    key,
    policy: recorded.get(key) ?? null,
    exists: store.has(key),
    problem: policyProblem(store, key, recorded.get(key)),
  }))
}

function readStore(store: Store, base: StoreInspection): StoreInspection {
  const { checkpointLsn, lastLsn, recordsSinceCheckpoint } = store.stats
  return {
    ...base,
    status: 'opened',
    nodeId: store.nodeId,
    checkpointLsn,
    lastLsn,
    recordsSinceCheckpoint,
    recovery: store.openReport ?? null,
    keys: keyPolicies(store),
  }
}

function inUse(base: StoreInspection, pid: number | null): StoreInspection {
  const who = pid === null ? 'another process' : `process ${pid}`
  const note = `in use by ${who}: only the WAL was read (a torn tail may be a write in progress)`
  return { ...base, status: 'in-use', lockPid: pid, note }
}

/** Opens the store (known to be safe to open), reads it and closes it without a checkpoint. */
async function openAndRead(dir: string, base: StoreInspection): Promise<StoreInspection> {
  let store: Store
  try {
    store = await createStore({ path: dir })
  } catch (error) {
    if (isStarlingError(error, 'STORE_LOCKED')) {
      const pid = error.details['pid'] // the holder, read from the log's lock (createStore)
      return inUse(base, typeof pid === 'number' ? pid : null)
    }
    if (!(error instanceof StarlingError)) throw error
    return { ...base, status: 'open-failed', note: `${error.code}: ${error.message}` }
  }
  try {
    return readStore(store, base)
  } finally {
    await store.close({ checkpoint: false })
  }
}

/** Inspects the store in `dir` (see the module comment). */
export async function inspectStore(dir: string): Promise<StoreInspection> {
  await checkStoreDir(dir, false)
  const walDir = join(dir, STORE_SUBDIRS.wal)
  const wal = await inspectWalIfPresent(walDir)
  const base: StoreInspection = {
    dir,
    status: 'not-opened',
    note: null,
    lockPid: null,
    wal,
    nodeId: null,
    checkpointLsn: null,
    lastLsn: null,
    recordsSinceCheckpoint: null,
    recovery: null,
    keys: null,
  }
  const holder = await readLockHolder(walDir)
  if (holder !== undefined) return inUse(base, holder)
  const reason = await reasonNotToOpen(dir, wal)
  if (reason !== undefined) return { ...base, note: reason }
  return openAndRead(dir, base)
}

/** Whether an inspection found damage (exit code 1). */
export function inspectionFailed(inspection: StoreInspection): boolean {
  const corrupt = inspection.wal?.segments.some((s) => s.problem?.kind === 'corrupt') === true
  return corrupt || inspection.status === 'open-failed'
}
