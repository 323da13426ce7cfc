/**
 * I/O errors in the write-ahead log (I5, I1 in docs/guarantees.md), injected through the simulated file layer:
 * EIO and ENOSPC on a write (also a short write), on an fsync, and on the open and directory sync
 * of a segment rotation.
 *
 * For each: the batch that hit the error is not acknowledged (WAL_FAILED), appends queued behind it
 * reject WAL_FAILED, every later append and sync rejects WAL_FAILED, no fsync is issued after the
 * failure (never retried), `close()` still releases the lock, and reopening — after power loss
 * and in the same process — recovers a gap-free prefix holding every acknowledged record.
 */
import { describe, expect, it } from 'vitest'

import { isStarlingError } from '../../src/core/errors.js'
import { createRng, seedFromEnv } from '../../src/core/random.js'
import { createSimFs, createVirtualEnv } from '../../src/testing/index.js'
import type { SimFault, SimFs } from '../../src/testing/index.js'
import { joinPath, openWal } from '../../src/wal/index.js'
import type { FileLayer, LayerFile, Wal, WalRecord } from '../../src/wal/index.js'
import { reproCommand } from '../support/property.js'
import { payloadOf, readAll } from '../support/wal.js'

const SEED = seedFromEnv()
const REPRO = reproCommand(import.meta.url, SEED)
const DIR = '/data/wal'
const WRITERS = 4
const RECORDS_MAX = 400

/** One append: its payload (index i = LSN i + 1) and how it settled. */
interface Attempt {
  payload: Uint8Array
  /** Issued by the hook while the failing call was in flight (queued behind its batch). */
  behind: boolean
  result: { lsn: number } | { error: unknown } | undefined
}

/**
 * A file layer passing every call to `sim`. Just before each write, sync, open and directory
 * sync it calls `onCall`; when one of those rejects, `onFailure` gets what `onCall` returned.
 */
function hookedLayer<T>(sim: SimFs, onCall: () => T, onFailure: (token: T) => void): FileLayer {
  const watch = <R>(call: () => Promise<R>): Promise<R> => {
    const token = onCall()
    return call().catch((error: unknown) => {
      onFailure(token)
      throw error
    })
  }
  const wrapFile = (file: LayerFile): LayerFile => ({
    read: (...args) => file.read(...args),
    write: (data, position) => watch(() => file.write(data, position)),
    sync: () => watch(() => file.sync()),
    truncate: (length) => file.truncate(length),
    size: () => file.size(),
    close: () => file.close(),
  })
  return {
    mkdirp: (dir) => sim.mkdirp(dir),
    list: (dir) => sim.list(dir),
    open: (path, mode, options) => watch(() => sim.open(path, mode, options)).then(wrapFile),
    rename: (from, to) => sim.rename(from, to),
    remove: (path) => sim.remove(path),
    syncDir: (dir) => watch(() => sim.syncDir(dir)),
    lock: (dir) => sim.lock(dir),
  }
}

interface Run {
  sim: SimFs
  wal: Wal
  attempts: Attempt[]
  fired: () => number
  /** Sync and directory-sync calls right after the failing call. */
  syncsAtFailure: number | undefined
}

const syncCalls = (sim: SimFs) => sim.calls.sync + sim.calls.syncDir

/** Runs writer loops until the injected fault fails the log (or RECORDS_MAX appends). */
async function runUntilFailure(fault: SimFault): Promise<Run> {
  const sim = createSimFs()
  const attempts: Attempt[] = []
  const run: Partial<Run> & { attempts: Attempt[] } = { attempts, syncsAtFailure: undefined }
  const append = (wal: Wal): { attempt: Attempt; settled: Promise<void> } => {
    const attempt: Attempt = {
      payload: payloadOf(SEED + attempts.length, 8 + (attempts.length % 40)),
      behind: false,
      result: undefined,
    }
    attempts.push(attempt)
    const settled = wal.append(attempt.payload).then(
      (lsn) => void (attempt.result = { lsn }),
      (error: unknown) => void (attempt.result = { error }),
    )
    return { attempt, settled }
  }
  const bystanders: Array<Promise<void>> = []
  const fs = hookedLayer(
    sim,
    () => {
      // One extra append per I/O call of a flush: it joins the next batch, behind this one.
      if (run.wal === undefined || attempts.length >= RECORDS_MAX) return undefined
      const { attempt, settled } = append(run.wal)
      bystanders.push(settled)
      return attempt
    },
    (bystander) => {
      run.syncsAtFailure ??= syncCalls(sim)
      if (bystander !== undefined) bystander.behind = true
    },
  )
  const env = createVirtualEnv({ seed: SEED })
  const wal = await openWal(DIR, { fs, env, segmentBytesMax: 512 })
  const handle = sim.injectFault(fault)
  run.wal = wal
  const writer = async () => {
    while (attempts.length < RECORDS_MAX) {
      const { attempt, settled } = append(wal)
      await settled
      if (attempt.result !== undefined && 'error' in attempt.result) return
    }
  }
  await Promise.all(Array.from({ length: WRITERS }, writer))
  await Promise.all(bystanders)
  return { ...run, sim, wal, attempts, fired: () => handle.fired } as Run
}

/** Checks that acknowledgements stop at the failure: acked LSNs are exactly 1…a. */
function checkSettlement(attempts: Attempt[]): number {
  let acked = 0
  attempts.forEach((attempt, i) => {
    expect(attempt.result, `append ${i + 1} never settled\n${REPRO}`).toBeDefined()
    const result = attempt.result as { lsn: number } | { error: unknown }
    if ('lsn' in result) {
      expect(result.lsn, `LSN of append ${i + 1}\n${REPRO}`).toBe(i + 1)
      expect(acked, `an ack after a failed append (LSN ${i + 1})\n${REPRO}`).toBe(i)
      acked = i + 1
    } else {
      expect(isStarlingError(result.error, 'WAL_FAILED'), String(result.error)).toBe(true)
    }
  })
  return acked
}

/** Recovered records must be a gap-free prefix of the attempts holding every acknowledged one. */
function checkRecovered(records: WalRecord[], attempts: Attempt[], acked: number, label: string) {
  const message = `${label}: ${records.length} records, ${acked} acknowledged\n${REPRO}`
  expect(records.length, message).toBeGreaterThanOrEqual(acked)
  expect(records.length, message).toBeLessThanOrEqual(attempts.length)
  records.forEach((record, i) => {
    expect(record.lsn, message).toBe(i + 1)
    expect(
      Buffer.from(record.payload).equals(attempts[i]?.payload ?? new Uint8Array()),
      message,
    ).toBe(true)
  })
}

async function reopenAndCheck(fs: SimFs, attempts: Attempt[], acked: number, label: string) {
  const wal = await openWal(DIR, { fs, env: createVirtualEnv({ seed: SEED + 1 }) })
  checkRecovered(await readAll(wal), attempts, acked, label)
  const lsn = await wal.append(new Uint8Array([1, 2, 3]))
  expect(lsn, label).toBe(wal.recovery.lastLsn + 1)
  await wal.close()
}

const SCENARIOS: Array<[string, SimFault]> = [
  ['EIO on a write', { op: 'write', atCall: 3, code: 'EIO' }],
  ['ENOSPC on a short write', { op: 'write', atCall: 4, code: 'ENOSPC', partialBytes: 30 }],
  [
    'EIO on the first write of a rotated segment',
    { op: 'write', path: /\/(?!0{15}1\.log)\d{16}\.log$/, code: 'EIO', partialBytes: 20 },
  ],
  ['EIO on an fsync', { op: 'sync', atCall: 3, code: 'EIO' }],
  ['ENOSPC on an fsync', { op: 'sync', atCall: 2, code: 'ENOSPC' }],
  ['EIO creating a rotated segment', { op: 'open', path: /\.log$/, code: 'EIO' }],
  ['ENOSPC creating a rotated segment', { op: 'open', path: /\.log$/, code: 'ENOSPC' }],
  ['EIO on the directory sync of a rotation', { op: 'syncDir', code: 'EIO' }],
]

describe('WAL I/O errors (I5)', () => {
  for (const [name, fault] of SCENARIOS) {
    it(`fails the log without acks or retried fsync: ${name}`, { timeout: 20_000 }, async () => {
      const run = await runUntilFailure(fault)
      const { sim, wal, attempts } = run
      expect(run.fired(), `the fault never fired\n${REPRO}`).toBe(1)
      const acked = checkSettlement(attempts)
      expect(acked, 'some appends were acknowledged before the error').toBeGreaterThan(0)
      expect(acked).toBeLessThan(attempts.length)
      const behind = attempts.filter((a) => a.behind)
      expect(behind.length, 'appends were queued behind the failing batch').toBeGreaterThan(0)
      for (const attempt of behind) expect(attempt.result).toHaveProperty('error')

      for (const later of [wal.append(new Uint8Array([9])), wal.sync()]) {
        const error = await later.then(
          () => undefined,
          (e: unknown) => e,
        )
        expect(isStarlingError(error, 'WAL_FAILED'), String(error)).toBe(true)
      }
      await wal.close()
      expect(syncCalls(sim), 'an fsync after the failure (retried)').toBe(run.syncsAtFailure)
      await (await sim.lock(DIR)).release() // close() released the lock

      await reopenAndCheck(sim.crashImage('drop', createRng(SEED)), attempts, acked, 'power loss')
      await reopenAndCheck(sim, attempts, acked, 'same process')
    })
  }

  it('releases the lock when an I/O error fails the open', async () => {
    const sim = createSimFs()
    sim.injectFault({ op: 'open', path: /\.log$/, code: 'EIO' })
    const env = createVirtualEnv({ seed: SEED })
    const error = await openWal(DIR, { fs: sim, env }).then(
      () => undefined,
      (e: unknown) => e,
    )
    expect((error as { code?: string }).code).toBe('EIO')
    const wal = await openWal(DIR, { fs: sim, env })
    expect(await wal.append(new Uint8Array([1]))).toBe(1)
    await wal.close()
    const reopened = await openWal(joinPath(DIR), { fs: sim, env })
    expect(await readAll(reopened)).toHaveLength(1)
    await reopened.close()
  })
})
