/** The directory lock (I11 in docs/guarantees.md) on the real file system. */
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { hostname } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { createNodeFileLayer, LOCK_FILE_NAME, readLockHolder } from '../../src/wal/index.js'
import { tempDir } from '../support/tmp.js'

const fs = createNodeFileLayer()

function bootId(): string {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim()
  } catch {
    return ''
  }
}

function writeLock(dir: string, content: object): void {
  writeFileSync(join(dir, LOCK_FILE_NAME), JSON.stringify(content))
}

describe('lock file', () => {
  it('is exclusive within a process and released on release()', async () => {
    const dir = tempDir()
    const lock = await fs.lock(dir)
    await expect(fs.lock(dir)).rejects.toMatchObject({ code: 'STORE_LOCKED' })
    await lock.release()
    expect(existsSync(join(dir, LOCK_FILE_NAME))).toBe(false)
    const again = await fs.lock(dir)
    await again.release()
  })

  it('respects a lock held by another live process', async () => {
    const dir = tempDir()
    // The parent of this process is alive and is not us.
    writeLock(dir, { pid: process.ppid, bootId: bootId(), host: hostname(), token: 'other' })
    const error: unknown = await fs.lock(dir).catch((caught: unknown) => caught)
    expect(error).toMatchObject({
      code: 'STORE_LOCKED',
      details: { dir, pid: process.ppid, host: hostname() },
    })
    // The message names the holder and what to do.
    expect((error as Error).message).toBe(
      `${dir} is in use by process ${process.ppid}: one writer per directory. Close it there ` +
        '(or end that process; a lock left by a killed process is taken over), then open it ' +
        `again. 'starling wal inspect ${dir}' reads it meanwhile`,
    )
  })

  it('takes over a lock whose process is gone, one from before a reboot, and a damaged one', async () => {
    for (const content of [
      { pid: 2 ** 22 + 12345, bootId: bootId(), host: hostname(), token: 'dead' },
      { pid: process.ppid, bootId: 'another-boot', host: hostname(), token: 'old' },
    ]) {
      const dir = tempDir()
      writeLock(dir, content)
      const lock = await fs.lock(dir)
      expect(JSON.parse(readFileSync(join(dir, LOCK_FILE_NAME), 'utf8'))).toMatchObject({
        pid: process.pid,
      })
      await lock.release()
    }
    const dir = tempDir()
    writeFileSync(join(dir, LOCK_FILE_NAME), '{"pid":')
    const lock = await fs.lock(dir)
    await lock.release()
  })

  it('does not take over a lock from another host', async () => {
    const dir = tempDir()
    writeLock(dir, {
      pid: 2 ** 22 + 12345,
      bootId: 'x',
      host: `not-${hostname()}`,
      token: 'remote',
    })
    await expect(fs.lock(dir)).rejects.toMatchObject({ code: 'STORE_LOCKED' })
  })

  it('release() does not remove a lock that was taken over by someone else', async () => {
    const dir = tempDir()
    const lock = await fs.lock(dir)
    writeLock(dir, { pid: process.ppid, bootId: bootId(), host: hostname(), token: 'newer' })
    await lock.release()
    expect(existsSync(join(dir, LOCK_FILE_NAME))).toBe(true)
  })
})

describe('readLockHolder', () => {
  it('names a live holder without taking the lock, and ignores free or stale locks', async () => {
    const dir = tempDir()
    expect(await readLockHolder(dir)).toBeUndefined()
    const lock = await fs.lock(dir)
    expect(await readLockHolder(dir)).toBe(process.pid)
    await lock.release()
    writeLock(dir, { pid: process.ppid, bootId: bootId(), host: hostname(), token: 'other' })
    expect(await readLockHolder(dir)).toBe(process.ppid)
    writeLock(dir, { pid: 2 ** 22 + 12345, bootId: bootId(), host: hostname(), token: 'dead' })
    expect(await readLockHolder(dir)).toBeUndefined()
  })
})
