/**
 * `batched` and `none` durability (docs/guarantees.md, "Durability modes and what each risks"):
 * `wal.durableLsn` is on stable storage in every mode. After `await wal.sync()`, after `close()`,
 * and in `batched` mode within `flushIntervalMs` of virtual time, a power loss that drops every
 * unsynced byte keeps every record up to `durableLsn`. Each case first shows that the same
 * power loss before the sync does lose the records, so the check can see loss.
 */
import { describe, expect, it } from 'vitest'
import { createRng } from '../../src/core/random.js'
import { createSimFs, createVirtualEnv } from '../../src/testing/index.js'
import type { SimFs, VirtualEnv } from '../../src/testing/index.js'
import { openWal } from '../../src/wal/index.js'
import type { Durability, Wal } from '../../src/wal/index.js'
import { payloadOf, readAll } from '../support/wal.js'

const DIR = '/data/wal'
const RECORDS = 30
const FLUSH_INTERVAL_MS = 50

interface Log {
  fs: SimFs
  env: VirtualEnv
  wal: Wal
}

async function openLog(durability: Durability): Promise<Log> {
  const fs = createSimFs()
  const env = createVirtualEnv({ seed: 21 })
  const wal = await openWal(DIR, { fs, env, durability, flushIntervalMs: FLUSH_INTERVAL_MS })
  return { fs, env, wal }
}

async function appendRecords(wal: Wal, count: number): Promise<void> {
  for (let i = 0; i < count; i++) await wal.append(payloadOf(wal.lastLsn + 1, 40))
}

/** LSNs that survive a power loss that drops every unsynced byte, now. */
async function survivingLsns(fs: SimFs): Promise<number[]> {
  const image = fs.crashImage('drop', createRng(5))
  const wal = await openWal(DIR, { fs: image, env: createVirtualEnv({ seed: 22 }) })
  try {
    const records = await readAll(wal)
    for (const record of records)
      expect(Buffer.from(record.payload).equals(payloadOf(record.lsn, 40))).toBe(true)
    return records.map((record) => record.lsn)
  } finally {
    await wal.close()
  }
}

const upTo = (n: number) => Array.from({ length: n }, (_, i) => i + 1)

/** Lets the flush loop run (event-loop turns only; virtual time does not move). */
async function settle(wal: Wal, durableLsn: number): Promise<void> {
  for (let turn = 0; turn < 1000 && wal.durableLsn < durableLsn; turn++)
    await new Promise<void>((resolve) => setImmediate(resolve))
}

describe('durableLsn is on stable storage in batched and none durability', () => {
  for (const durability of ['batched', 'none'] as const) {
    it(`${durability}: after await wal.sync() a power loss keeps every record`, async () => {
      const { fs, wal } = await openLog(durability)
      await appendRecords(wal, RECORDS)
      expect(wal.durableLsn).toBe(0)
      expect(await survivingLsns(fs)).toEqual([])
      expect(await wal.sync()).toBe(RECORDS)
      expect(await survivingLsns(fs)).toEqual(upTo(RECORDS))
      // And again for records written after the first sync.
      await appendRecords(wal, 5)
      expect(await wal.sync()).toBe(RECORDS + 5)
      expect(await survivingLsns(fs)).toEqual(upTo(RECORDS + 5))
      await wal.close()
    })

    it(`${durability}: after close() a power loss keeps every record`, async () => {
      const { fs, wal } = await openLog(durability)
      await appendRecords(wal, RECORDS)
      expect(await survivingLsns(fs)).toEqual([])
      await wal.close()
      expect(await survivingLsns(fs)).toEqual(upTo(RECORDS))
    })
  }

  it('batched: records become durable within flushIntervalMs of virtual time', async () => {
    const { fs, env, wal } = await openLog('batched')
    await appendRecords(wal, RECORDS)
    env.advance(FLUSH_INTERVAL_MS - 1)
    await settle(wal, RECORDS)
    expect(wal.durableLsn).toBe(0)
    expect(await survivingLsns(fs)).toEqual([])
    env.advance(1)
    await settle(wal, RECORDS)
    expect(wal.durableLsn).toBe(RECORDS)
    expect(await survivingLsns(fs)).toEqual(upTo(RECORDS))
    await wal.close()
  })

  it('none: no interval sync; records stay unsynced until sync() or close()', async () => {
    const { fs, env, wal } = await openLog('none')
    await appendRecords(wal, RECORDS)
    env.advance(10 * FLUSH_INTERVAL_MS)
    await settle(wal, RECORDS)
    expect(wal.durableLsn).toBe(0)
    expect(env.pendingTimers()).toBe(0)
    expect(await survivingLsns(fs)).toEqual([])
    await wal.close()
  })
})
