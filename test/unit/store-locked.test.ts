/**
 * `STORE_LOCKED` from `createStore` on a store directory another opener holds (I11 in
 * docs/guarantees.md): whichever lock is hit first — LevelDB's, which names no process, or the
 * log's — the error names the store directory (not `snapshots/` or `wal/`), the holding process
 * when it is known, and what to do.
 */
import { spawn } from 'node:child_process'
import { writeFileSync, readFileSync } from 'node:fs'
import { hostname } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'

import { createLeveldbStorage } from '../../adapters/storage-leveldb/index.js'
import { isStarlingError, type StarlingError } from '../../src/core/errors.js'
import { createStore } from '../../src/create-store.js'
import { LOCK_FILE_NAME } from '../../src/wal/index.js'
import { ROOT } from '../support/cli.js'
import { tempDir } from '../support/tmp.js'

async function openError(dir: string): Promise<StarlingError> {
  const error: unknown = await createStore({ path: dir }).then(
    async (store) => {
      await store.close()
      return undefined
    },
    (caught: unknown) => caught,
  )
  if (!isStarlingError(error, 'STORE_LOCKED'))
    throw new Error(`expected STORE_LOCKED, got ${String(error)}`)
  return error
}

function bootId(): string {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim()
  } catch {
    return ''
  }
}

describe('createStore on a store directory that is in use', () => {
  it('names this process when this process holds the store', async () => {
    const dir = tempDir()
    const store = await createStore({ path: dir })
    try {
      const error = await openError(dir) // LevelDB's lock is the first one hit
      expect(error.details).toEqual({ dir, pid: process.pid, host: hostname() })
      expect(error.message).toContain(`${dir} is already open in this process (pid ${process.pid})`)
      expect(error.message).toMatch(/close it first/)
    } finally {
      await store.close()
    }
    await (await createStore({ path: dir })).close() // nothing was left locked
  })

  it('names the process that holds the store, and suggests inspect', async () => {
    const dir = tempDir()
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', join(ROOT, 'test/support/hold-store.ts'), dir],
      {
        cwd: ROOT,
        stdio: ['pipe', 'pipe', 'inherit'],
      },
    )
    const exited = new Promise((resolve) => child.on('exit', resolve))
    try {
      await new Promise<void>((resolve, reject) => {
        child.stdout.setEncoding('utf8').on('data', (text: string) => {
          if (text.includes('ready')) resolve()
        })
        child.on('exit', (code) => reject(new Error(`holder exited with ${code}`)))
      })
      const error = await openError(dir)
      expect(error.details).toEqual({ dir, pid: child.pid, host: hostname() })
      expect(error.message).toContain(`${dir} is in use by process ${child.pid}`)
      expect(error.message).toContain(`'starling inspect ${dir}' reads it meanwhile`)
    } finally {
      child.stdin.end()
      await exited
    }
    await (await createStore({ path: dir })).close() // the holder closed: it opens
  })

  it("names the holder when the log's lock is the one hit", async () => {
    const dir = tempDir()
    await (await createStore({ path: dir })).close()
    // LevelDB's lock is free; the log's is held by a live process that is not this one.
    const lock = { pid: process.ppid, bootId: bootId(), host: hostname(), token: 'other' }
    writeFileSync(join(dir, 'wal', LOCK_FILE_NAME), JSON.stringify(lock))
    const error = await openError(dir)
    expect(error.details).toEqual({ dir, pid: process.ppid, host: hostname() })
    expect(error.message).toContain(`${dir} is in use by process ${process.ppid}`)
    expect(error.cause).toMatchObject({ code: 'STORE_LOCKED', details: { dir: join(dir, 'wal') } })
  })

  it('names the store directory when the holder of the LevelDB lock is unknown', async () => {
    const dir = tempDir()
    const storage = await createLeveldbStorage(join(dir, 'snapshots')) // no log lock
    try {
      const error = await openError(dir)
      expect(error.details).toEqual({ dir, pid: null, host: null })
      expect(error.message).toContain(`${dir} is in use by another opener`)
      expect(error.cause).toMatchObject({ details: { dir: join(dir, 'snapshots') } })
    } finally {
      await storage.close()
    }
  })
})
