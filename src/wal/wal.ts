/**
 * The durable write-ahead log: `openWal(dir, options)`.
 *
 * Appends are assigned LSNs in call order and encoded into the open batch. One flush loop writes
 * a batch with one `write` per segment (in `sync` durability segments are opened with `O_DSYNC`,
 * so that write is durable when it returns; the other modes `fdatasync` later), then settles
 * every append in it; appends made while a flush runs join the next batch (group commit). After
 * any write or sync error the log is failed: no further acks, no retried fsync (I5 in
 * docs/guarantees.md).
 */
import { invalidArgument } from '../core/errors.js'
import { systemEnv } from '../core/env.js'
import { joinPath } from './file-layer.js'
import { createNodeFileLayer } from './node-file-layer.js'
import { resolveWalOptions } from './options.js'
import { recoverLog, type RecoveredSegment } from './recovery.js'
import type { Wal, WalOptions } from './types.js'
import { WalWriter } from './writer.js'

/** Opens (creating if needed) the log in `dir`: takes the lock, runs recovery. */
export async function openWal(dir: string, options: WalOptions = {}): Promise<Wal> {
  if (typeof dir !== 'string' || dir.length === 0)
    throw invalidArgument('openWal: dir must be a non-empty string')
  const resolved = resolveWalOptions(options)
  const fs = options.fs ?? createNodeFileLayer()
  const env = options.env ?? systemEnv
  await fs.mkdirp(dir)
  // A log directory created just now must survive power loss with its parent's entry.
  await fs.syncDir(parentDir(dir))
  const lock = await fs.lock(dir)
  try {
    const recovered = await recoverLog({
      fs,
      env,
      dir,
      repair: resolved.repair,
      startLsn: resolved.startLsn,
      recordBytesMax: resolved.recordBytesMax,
    })
    const tail = recovered.segments[recovered.segments.length - 1] as RecoveredSegment
    const file = await fs.open(joinPath(dir, tail.name), 'readwrite', {
      syncWrites: resolved.durability === 'sync',
    })
    return new WalWriter(dir, fs, env, lock, resolved, recovered.report, recovered.segments, file)
  } catch (error) {
    await lock.release()
    throw error
  }
}

function parentDir(dir: string): string {
  const trimmed = dir.replace(/\/+$/, '')
  const at = trimmed.lastIndexOf('/')
  if (at > 0) return trimmed.slice(0, at)
  return at === 0 ? '/' : '.'
}
