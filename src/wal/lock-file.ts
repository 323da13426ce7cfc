/**
 * The single-writer lock of a data directory (I11 in docs/guarantees.md): a `LOCK` file created exclusively,
 * holding the owner's pid, boot id and a random token. A lock whose owner process is gone (it was
 * killed) or that was written before the last reboot is stale and is taken over; a live owner —
 * another process or this one — makes the opener fail with `STORE_LOCKED`.
 */
import * as fs from 'node:fs'
import { randomUUID } from 'node:crypto'
import { hostname } from 'node:os'
import { resolve } from 'node:path'
import { StarlingError } from '../core/errors.js'
import type { DirectoryLock } from './file-layer.js'

/** Name of the lock file inside a locked directory. */
export const LOCK_FILE_NAME = 'LOCK'

interface LockContent {
  pid: number
  bootId: string
  host: string
  token: string
  acquiredAt: string
}

/** Locks held by this process, by absolute directory path. */
const heldHere = new Map<string, string>()

function readBootId(): string {
  try {
    return fs.readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim()
  } catch {
    return ''
  }
}

function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}

function parseLock(text: string): LockContent | undefined {
  try {
    const value = JSON.parse(text) as Partial<LockContent>
    if (typeof value.pid === 'number' && typeof value.token === 'string')
      return value as LockContent
  } catch {
    // Lock files are published complete (see writeExclusive), so this one is damaged.
  }
  return undefined
}

/** Whether the lock described by `text` can be taken over. */
function isStale(dir: string, text: string, bootId: string): boolean {
  const owner = parseLock(text)
  if (owner === undefined) return true
  if (owner.pid === process.pid) return heldHere.get(dir) !== owner.token
  // Another machine's process cannot be checked from here: respect its lock.
  if (owner.host !== hostname()) return false
  // Written before the last reboot: its owner is gone.
  if (owner.bootId !== bootId) return true
  return !isProcessAlive(owner.pid)
}

/** Who holds a lock, as far as its lock file tells. */
interface LockHolder {
  pid: number | null
  host: string | null
}

function holderOf(text: string): LockHolder {
  const owner = parseLock(text)
  return { pid: owner?.pid ?? null, host: typeof owner?.host === 'string' ? owner.host : null }
}

/** `process 123`, `process 123 on host h`, or `another opener` when the lock names nobody. */
function describeHolder({ pid, host }: LockHolder): string {
  if (pid === null) return 'another opener (its lock names no process)'
  return host !== null && host !== hostname() ? `process ${pid} on host ${host}` : `process ${pid}`
}

/**
 * `STORE_LOCKED` for `dir`, locked by `holder`. The message names the holder and says what to do;
 * `inspect` is the read-only command that works meanwhile (`starling inspect` for a store,
 * `starling wal inspect` for a bare log).
 */
function lockedErrorFor(
  dir: string,
  holder: LockHolder,
  inspect: string,
  cause?: unknown,
): StarlingError {
  const details = { dir, pid: holder.pid, host: holder.host }
  if (holder.pid === process.pid && (holder.host === null || holder.host === hostname()))
    return new StarlingError(
      'STORE_LOCKED',
      `${dir} is already open in this process (pid ${process.pid}): one writer per directory. ` +
        `Use the handle that is open, or close it first`,
      details,
      cause,
    )
  return new StarlingError(
    'STORE_LOCKED',
    `${dir} is in use by ${describeHolder(holder)}: one writer per directory. Close it there ` +
      `(or end that process; a lock left by a killed process is taken over), then open it ` +
      `again. '${inspect} ${dir}' reads it meanwhile`,
    details,
    cause,
  )
}

function lockedError(dir: string, text: string): StarlingError {
  return lockedErrorFor(dir, holderOf(text), 'starling wal inspect')
}

/** The holder a `STORE_LOCKED` error named (the WAL's do; LevelDB's name nobody). */
function holderFromError(error: unknown): LockHolder {
  const details = error instanceof StarlingError ? error.details : {}
  const { pid, host } = details
  return { pid: typeof pid === 'number' ? pid : null, host: typeof host === 'string' ? host : null }
}

/**
 * `STORE_LOCKED` for the store directory `storeDir` when opening it hit a lock — its LevelDB lock
 * (which names no process) or its log's: names the store directory, not the subdirectory, and
 * the process holding the log's lock in `walDir` (every opener of a store holds both). `cause` is
 * the error of the lock that was hit.
 */
export async function storeLockedError(
  storeDir: string,
  walDir: string,
  cause?: unknown,
): Promise<StarlingError> {
  const dir = resolve(walDir)
  const text = await readOrEmpty(`${dir}/${LOCK_FILE_NAME}`)
  const live = text !== '' && !isStale(dir, text, readBootId())
  const holder = live ? holderOf(text) : holderFromError(cause)
  return lockedErrorFor(resolve(storeDir), holder, 'starling inspect', cause)
}

/**
 * The pid of the live process holding the lock of `dir`, or `undefined` when the lock is free or
 * stale — read without taking it, by the same staleness rule. Advisory (the lock can change hands
 * right after); for messages and read-only tools.
 */
export async function readLockHolder(directory: string): Promise<number | undefined> {
  const dir = resolve(directory)
  const text = await readOrEmpty(`${dir}/${LOCK_FILE_NAME}`)
  const owner = parseLock(text)
  if (owner === undefined || isStale(dir, text, readBootId())) return undefined
  return owner.pid
}

/** Takes the lock of `dir`, replacing a stale lock; rejects with `STORE_LOCKED` otherwise. */
export async function acquireLockFile(directory: string): Promise<DirectoryLock> {
  const dir = resolve(directory)
  const path = `${dir}/${LOCK_FILE_NAME}`
  const bootId = readBootId()
  const content: LockContent = {
    pid: process.pid,
    bootId,
    host: hostname(),
    token: randomUUID(),
    acquiredAt: new Date().toISOString(),
  }
  for (let attempt = 0; attempt < 5; attempt++) {
    if (heldHere.has(dir)) throw lockedError(dir, JSON.stringify({ pid: process.pid, token: '' }))
    try {
      await writeExclusive(path, JSON.stringify(content))
      heldHere.set(dir, content.token)
      return { release: () => releaseLockFile(dir, path, content.token) }
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
    }
    const seen = await readOrEmpty(path)
    if (!isStale(dir, seen, bootId)) throw lockedError(dir, seen)
    // Remove the stale lock only if it is still the one we judged stale.
    if ((await readOrEmpty(path)) === seen) await fs.promises.rm(path, { force: true })
  }
  throw lockedError(dir, await readOrEmpty(path))
}

/**
 * Publishes a complete lock file atomically: the content is written and synced under a private
 * name, then hard-linked to `path` (which fails with EEXIST if a lock exists), so nobody ever
 * reads a half-written lock.
 */
async function writeExclusive(path: string, text: string): Promise<void> {
  const temp = `${path}.${randomUUID()}.tmp`
  const handle = await fs.promises.open(temp, 'wx')
  try {
    // Not synced: a lock only matters while its owner runs, and one damaged by power loss
    // does not parse and is taken over.
    await handle.writeFile(text)
  } finally {
    await handle.close()
  }
  try {
    await fs.promises.link(temp, path)
  } finally {
    await fs.promises.rm(temp, { force: true })
  }
}

async function readOrEmpty(path: string): Promise<string> {
  try {
    return await fs.promises.readFile(path, 'utf8')
  } catch {
    return ''
  }
}

async function releaseLockFile(dir: string, path: string, token: string): Promise<void> {
  if (heldHere.get(dir) !== token) return
  heldHere.delete(dir)
  if (parseLock(await readOrEmpty(path))?.token === token)
    await fs.promises.rm(path, { force: true })
}
