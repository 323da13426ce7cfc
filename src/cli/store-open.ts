/**
 * Opening a store directory for the CLI.
 *
 * The CLI does not know the application's policy table. Every written key records its policy id
 * in the store's registry (`lww`, `crdt:<kind>`, `custom:<name>`), so the CLI opens the store
 * with a table built from those ids: a command on one key gets that key's recorded policy as the
 * table's fallback (a key without a recorded policy is `lww`, the store's default). The ids are
 * only known once the store is open, so the first open uses the all-`lww` table, and a store is
 * reopened (a few milliseconds) when the key's recorded policy is another one. A fallback, unlike
 * a literal pattern, fits every key (patterns cannot express empty segments or `*` in keys).
 *
 * A `custom` policy is rebuilt with a stand-in resolver (the newest sibling): writes need only the
 * policy id to match, and registers store per-writer slots, never a resolved value, so nothing the
 * stand-in computes is persisted. Reads of custom keys never use it (see `readKey`).
 */
import { readdir, stat } from 'node:fs/promises'
import { dirname, resolve } from 'node:path'
import { isStarlingError } from '../core/errors.js'
import { createStore } from '../create-store.js'
import {
  CRDT_KINDS,
  crdt,
  custom,
  lww,
  type CrdtKind,
  type Policy,
  type Resolver,
} from '../policy/index.js'
import type { Store } from '../store/index.js'
import { CliError } from './args.js'
import { storeInternalsOf } from '../store/internals.js'

/** The subdirectories `createStore` makes in a store directory. */
export const STORE_SUBDIRS = { wal: 'wal', snapshots: 'snapshots' } as const

/** How a command opens a store. */
export interface OpenCliStoreOptions {
  /** The key the command works on: the store is opened with that key's recorded policy. */
  key?: string
  /**
   * Whether the command writes: it may then create a store in an empty directory, and closing
   * checkpoints. Reading commands close without a checkpoint and write nothing.
   */
  write?: boolean
}

/** A store opened by the CLI. */
export interface CliStore {
  readonly store: Store
  /** Flushes and closes (with a checkpoint only after writes). */
  close(): Promise<void>
}

/** The entries of `dir`; a missing directory is a {@link CliError}. */
async function listDir(dir: string): Promise<string[]> {
  try {
    return await readdir(dir)
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (code === 'ENOENT')
      throw new CliError(`${dir}: no such directory`, 'NO_SUCH_DIRECTORY', { dir })
    if (code === 'ENOTDIR')
      throw new CliError(`${dir} is not a directory`, 'NO_SUCH_DIRECTORY', { dir })
    throw error
  }
}

/**
 * Fails unless `dir` is a store directory (it holds `wal/` or `snapshots/`) or, when `create`, an
 * empty or missing directory whose parent exists (like `sqlite3 new.db`). A non-empty directory
 * that is not a store is never written to.
 */
export async function checkStoreDir(dir: string, create: boolean): Promise<void> {
  if (create && !(await exists(dir))) {
    await listDir(dirname(resolve(dir))) // the parent must exist: a mistyped path fails here
    return
  }
  const entries = await listDir(dir)
  if (entries.includes(STORE_SUBDIRS.wal) || entries.includes(STORE_SUBDIRS.snapshots)) return
  if (create && entries.length === 0) return
  throw new CliError(
    create
      ? `${dir} is neither a Starling store nor empty; not creating a store there`
      : `${dir} is not a Starling store (no ${STORE_SUBDIRS.wal}/ or ${STORE_SUBDIRS.snapshots}/ in it)`,
    'NOT_A_STORE',
    { dir },
  )
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path)
    return true
  } catch {
    return false
  }
}

/** Stand-in resolver of custom keys for the CLI: the newest sibling's value (see above). */
const newestSibling: Resolver = (siblings) => siblings[siblings.length - 1]?.value ?? null

/** The policy of a recorded policy id, or `undefined` when this CLI does not know the id. */
export function policyFromId(id: string): Policy | undefined {
  if (id === 'lww') return lww()
  const at = id.indexOf(':')
  if (at < 0) return undefined
  const type = id.slice(0, at)
  const arg = id.slice(at + 1)
  if (type === 'crdt' && CRDT_KINDS.includes(arg as CrdtKind)) return crdt(arg as CrdtKind)
  if (type !== 'custom') return undefined
  try {
    return custom(newestSibling, { name: arg })
  } catch {
    return undefined
  }
}

/**
 * Turns an expected failure to open `dir` into a {@link CliError}; returns others unchanged (a
 * `STORE_LOCKED` names the holding process and suggests `inspect` itself).
 */
export function explainOpenError(dir: string, error: unknown): unknown {
  if (isStarlingError(error, 'WAL_CORRUPTION')) {
    const { segment, offset, reason } = error.details
    const where =
      segment === undefined ? error.message : `segment ${segment} at offset ${offset}: ${reason}`
    return new CliError(
      `the write-ahead log of ${dir} is corrupt (${where}); nothing was changed ` +
        `(see 'starling inspect ${dir}'). 'starling repair ${dir}' opens it from its checkpoint ` +
        'plus every record before the damage and prints what was lost',
      'WAL_CORRUPTION',
      { ...error.details, dir },
    )
  }
  return error
}

async function openWith(dir: string, defaultPolicy: Policy): Promise<Store> {
  try {
    return await createStore({ path: dir, defaultPolicy })
  } catch (error) {
    throw explainOpenError(dir, error)
  }
}

/**
 * Opens the store in `dir` for a command: checks the directory, maps expected failures to
 * {@link CliError}s, and applies the recorded policy of `options.key` (see the module comment).
 */
export async function openCliStore(
  dir: string,
  options: OpenCliStoreOptions = {},
): Promise<CliStore> {
  const write = options.write === true
  await checkStoreDir(dir, write)
  let store = await openWith(dir, lww())
  const recorded =
    options.key === undefined
      ? undefined
      : storeInternalsOf(store).registry.recordedPolicy(options.key)
  const policy = recorded === undefined ? undefined : policyFromId(recorded)
  if (policy !== undefined && recorded !== 'lww') {
    await store.close({ checkpoint: false })
    store = await openWith(dir, policy)
  }
  const opened = store
  return { store: opened, close: () => opened.close({ checkpoint: write }) }
}
