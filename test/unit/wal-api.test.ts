/**
 * The WAL's public contract: validation with typed errors, the directory lock (I11), group
 * commit, backpressure limits (I8), durability modes, reads, truncation and close.
 */
import { readdirSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { isStarlingError } from '../../src/core/errors.js'
import { createRng } from '../../src/core/random.js'
import { createSimFs, createVirtualEnv } from '../../src/testing/index.js'
import { openWal } from '../../src/wal/index.js'
import { tempDir } from '../support/tmp.js'
import { payloadOf, readAll, recoverAll } from '../support/wal.js'

describe('argument validation', () => {
  it('rejects wrong types and impossible limits with INVALID_ARGUMENT', async () => {
    const dir = tempDir()
    await expect(openWal('')).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' })
    await expect(openWal(dir, { durability: 'fast' as never })).rejects.toBeInstanceOf(TypeError)
    await expect(openWal(dir, { segmentBytesMax: 10 })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
    })
    await expect(openWal(dir, { recordBytesMax: 1024, batchBytesMax: 100 })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
    })
    const wal = await openWal(dir)
    await expect(wal.append('text' as never)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' })
    await expect(wal.append(new Uint8Array(1), 0)).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
    })
    await expect(wal.append(new Uint8Array(1), 256)).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
    })
    expect(() => wal.read(0)).toThrow(TypeError)
    expect(() => wal.read(1, { toLsn: 5 })).toThrow(TypeError)
    // Nothing was written by the refused calls.
    expect(wal.lastLsn).toBe(0)
    await wal.close()
  })

  it('refuses records over recordBytesMax with WAL_RECORD_TOO_LARGE and keeps working', async () => {
    const wal = await openWal(tempDir(), { recordBytesMax: 100 })
    expect(await wal.append(new Uint8Array(100))).toBe(1)
    await expect(wal.append(new Uint8Array(101))).rejects.toMatchObject({
      code: 'WAL_RECORD_TOO_LARGE',
      details: { bytes: 101, recordBytesMax: 100 },
    })
    expect(await wal.append(new Uint8Array(3))).toBe(2)
    expect((await readAll(wal)).map((r) => r.payload.length)).toEqual([100, 3])
    await wal.close()
  })
})

describe('directory lock (I11)', () => {
  it('a second opener gets STORE_LOCKED until the first closes', async () => {
    const dir = tempDir()
    const first = await openWal(dir)
    const error: unknown = await openWal(dir).catch((e: unknown) => e)
    expect(isStarlingError(error, 'STORE_LOCKED')).toBe(true)
    await first.close()
    const second = await openWal(dir)
    await second.close()
  })
})

describe('group commit', () => {
  it('appends issued together share one write and one fdatasync', async () => {
    const wal = await openWal(tempDir())
    const lsns = await Promise.all(
      Array.from({ length: 500 }, (_, i) => wal.append(payloadOf(i, 32))),
    )
    expect(lsns).toEqual(Array.from({ length: 500 }, (_, i) => i + 1))
    expect(wal.stats.batches).toBe(1)
    expect(wal.stats.syncs).toBe(1)
    expect(wal.durableLsn).toBe(500)
    await wal.close()
  })

  it('appends made while a flush runs join the next batch, in call order', async () => {
    const wal = await openWal(tempDir())
    const first = wal.append(payloadOf(0, 8))
    await new Promise((resolve) => setImmediate(resolve)) // the first flush is under way
    const rest = Array.from({ length: 50 }, (_, i) => wal.append(payloadOf(i + 1, 8)))
    expect(await first).toBe(1)
    expect(await Promise.all(rest)).toEqual(Array.from({ length: 50 }, (_, i) => i + 2))
    expect(wal.stats.batches).toBe(2)
    const records = await readAll(wal)
    records.forEach((r, i) => expect(r.payload).toEqual(payloadOf(i, 8)))
    await wal.close()
  })
})

describe('backpressure (I8)', () => {
  it('appends beyond the batch buffer wait; beyond waitingAppendsMax they are refused', async () => {
    const wal = await openWal(tempDir(), {
      recordBytesMax: 1000,
      batchBytesMax: 4096,
      waitingAppendsMax: 20,
    })
    const accepted: Array<Promise<number>> = []
    const refused: unknown[] = []
    for (let i = 0; i < 60; i++) {
      accepted.push(wal.append(payloadOf(i, 1000)).catch((e: unknown) => (refused.push(e), -1)))
    }
    const results = await Promise.all(accepted)
    // 4 records of 1024 bytes fit a 4 KiB batch; 20 may wait; the rest are refused.
    expect(refused.length).toBe(60 - 4 - 20)
    for (const error of refused) expect(isStarlingError(error, 'WAL_OVERLOADED')).toBe(true)
    const ok = results.filter((lsn) => lsn > 0)
    expect(ok).toEqual(Array.from({ length: 24 }, (_, i) => i + 1))
    expect(wal.stats.largestBatch).toBeLessThanOrEqual(4)
    await wal.close()
  })
})

/** Lets the log's flush loop run until `done()` or 1,000 event-loop turns (no time passes). */
async function turns(done: () => boolean): Promise<void> {
  for (let turn = 0; turn < 1000 && !done(); turn++)
    await new Promise<void>((resolve) => setImmediate(resolve))
}

describe('durability modes', () => {
  for (const durability of ['sync', 'batched', 'none'] as const) {
    it(`${durability}: acknowledged records survive close and reopen`, async () => {
      const dir = tempDir()
      const wal = await openWal(dir, { durability, flushIntervalMs: 5 })
      await Promise.all(Array.from({ length: 100 }, (_, i) => wal.append(payloadOf(i, 16))))
      if (durability === 'sync') expect(wal.durableLsn).toBe(100)
      else expect(wal.writtenLsn).toBe(100)
      await wal.close()
      expect((await recoverAll(dir)).records.length).toBe(100)
    })
  }

  it('batched: an fdatasync follows within flushIntervalMs; sync() forces one', async () => {
    // Virtual time and a simulated disk: what is durable is what a power loss keeps.
    const fs = createSimFs()
    const env = createVirtualEnv({ seed: 3 })
    const wal = await openWal('/wal', { fs, env, durability: 'batched', flushIntervalMs: 20 })
    const durableOnDisk = async (): Promise<number> =>
      (await recoverAll('/wal', { fs: fs.crashImage('drop', createRng(1)) })).records.length
    await wal.append(payloadOf(1, 16))
    const syncsBefore = wal.stats.syncs
    expect(wal.durableLsn).toBe(0)
    expect(env.nextTimerDueMs()).toBe(20)
    env.advance(19)
    await turns(() => wal.durableLsn > 0)
    expect(wal.durableLsn).toBe(0)
    expect(await durableOnDisk()).toBe(0)
    env.advance(1)
    await turns(() => wal.durableLsn > 0)
    expect(wal.durableLsn).toBe(1)
    expect(wal.stats.syncs).toBe(syncsBefore + 1)
    expect(await durableOnDisk()).toBe(1)
    // sync() does not wait for the interval: no virtual time passes here.
    await wal.append(payloadOf(2, 16))
    expect(wal.durableLsn).toBe(1)
    expect(await wal.sync()).toBe(2)
    expect(wal.stats.syncs).toBe(syncsBefore + 2)
    expect(await durableOnDisk()).toBe(2)
    await wal.close()
  })

  it('none: no fdatasync per batch', async () => {
    const wal = await openWal(tempDir(), { durability: 'none' })
    for (let i = 0; i < 10; i++) await wal.append(payloadOf(i, 16))
    expect(wal.stats.syncs).toBe(0)
    expect(wal.durableLsn).toBe(0)
    await wal.close()
  })
})

describe('reads, rotation and truncation', () => {
  it('reads from any LSN across segments; truncation deletes whole segments only', async () => {
    const dir = tempDir()
    const wal = await openWal(dir, { segmentBytesMax: 300 })
    for (let i = 0; i < 40; i++) await wal.append(payloadOf(i, 20 + i))
    const segments = () =>
      readdirSync(dir)
        .filter((n) => n.endsWith('.log'))
        .sort()
    expect(segments().length).toBeGreaterThan(5)
    for (const from of [1, 2, 17, 40]) {
      const records = await readAll(wal, from)
      expect(records.map((r) => r.lsn)).toEqual(
        Array.from({ length: 41 - from }, (_, i) => from + i),
      )
      records.forEach((r) => expect(r.payload).toEqual(payloadOf(r.lsn - 1, 20 + r.lsn - 1)))
    }
    const removed = await wal.truncateBefore(20)
    expect(removed).toBeGreaterThan(0)
    expect(wal.firstLsn).toBeLessThanOrEqual(20)
    expect(Number((segments()[0] as string).slice(0, 16))).toBe(wal.firstLsn)
    expect(() => wal.read(wal.firstLsn - 1)).toThrow(
      expect.objectContaining({ code: 'WAL_TRUNCATED' }),
    )
    expect((await readAll(wal, 20)).length).toBe(21)
    // The newest segment is never deleted.
    await wal.truncateBefore(10_000)
    expect(segments().length).toBe(1)
    await wal.close()
    const reopened = await recoverAll(dir)
    expect(reopened.records.at(-1)?.lsn).toBe(40)
    expect(reopened.wal.recovery.firstLsn).toBe(reopened.records[0]?.lsn)
  })

  it('a record larger than a segment gets a segment of its own', async () => {
    const dir = tempDir()
    const wal = await openWal(dir, { segmentBytesMax: 100 })
    await wal.append(payloadOf(0, 10))
    await wal.append(payloadOf(1, 500))
    await wal.append(payloadOf(2, 10))
    await wal.close()
    const { records } = await recoverAll(dir)
    expect(records.map((r) => r.payload.length)).toEqual([10, 500, 10])
  })
})

describe('close', () => {
  it('flushes accepted appends, then refuses new ones with WAL_CLOSED', async () => {
    const dir = tempDir()
    const wal = await openWal(dir)
    const pending = Array.from({ length: 20 }, (_, i) => wal.append(payloadOf(i, 8)))
    const closing = wal.close()
    await expect(wal.append(payloadOf(0, 1))).rejects.toMatchObject({ code: 'WAL_CLOSED' })
    expect((await Promise.all(pending)).length).toBe(20)
    await closing
    await wal.close() // idempotent
    expect((await recoverAll(dir)).records.length).toBe(20)
  })
})
