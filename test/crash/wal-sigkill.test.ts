/**
 * I1, I4 and I11 in docs/guarantees.md against real processes: a child appends with 256 concurrent writers and
 * is killed with SIGKILL at a seeded moment, over and over on the same log; no acknowledged record
 * may ever be missing, and torn tails (every other cycle writes batches in small pieces) must be
 * cut cleanly. The companion run on a lying disk must lose acknowledged records — a
 * harness that cannot see loss proves nothing (docs/testing.md).
 *
 * Budget: 50 cycles by default; `STARLING_CRASH_CYCLES=<n>` runs n (a soak).
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'

import { seedFromEnv } from '../../src/core/random.js'
import { LOCK_FILE_NAME, openWal } from '../../src/wal/index.js'
import { crashRepro, cyclesFromEnv, killChild } from './sigkill-harness.js'
import { runKillCycles, spawnWriterChild, type KillReport } from './wal-kill-cycles.js'

const SEED = seedFromEnv()
const DEFAULT_CYCLES = 50
const CYCLES = cyclesFromEnv(DEFAULT_CYCLES)
const LYING_CYCLES = 15

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'starling-sigkill-'))
}

function summarize(report: KillReport): string {
  return (
    `seed ${report.seed}: ${report.cycles} cycles, ${report.acked} acked, ` +
    `${report.recovered} recovered, ${report.lost.length} lost, ${report.tornTails} torn tails, ` +
    `${report.violations.length} violations, ${Math.round(report.msPerCycle)} ms/cycle`
  )
}

/** Fails with the report, the kept log directory and a one-line reproduction command. */
function failWith(report: KillReport, dir: string, problem: string): never {
  const details = [
    ...report.violations.slice(0, 10),
    ...report.lost.slice(0, 10).map((l) => `lost: ${JSON.stringify(l)}`),
  ]
  const repro = crashRepro(import.meta.url, SEED, CYCLES, DEFAULT_CYCLES)
  throw new Error(
    `${problem}\n${summarize(report)}\n${details.join('\n')}\nlog kept in ${dir}\n${repro}`,
  )
}

describe('the WAL under real SIGKILL', () => {
  it(
    `loses no acknowledged record over ${CYCLES} kill cycles of 256 concurrent writers`,
    async () => {
      const dir = tempDir()
      const report = await runKillCycles({ dir, cycles: CYCLES, seed: SEED })
      if (report.lost.length > 0) failWith(report, dir, 'acknowledged records were lost')
      if (report.violations.length > 0) failWith(report, dir, 'the log broke an invariant')
      if (report.acked === 0) failWith(report, dir, 'no acknowledgement was ever received')
      // Half the cycles write in small pieces, so about half of those kills tear a batch.
      if (CYCLES >= 20 && report.tornTails === 0)
        failWith(report, dir, 'no kill ever tore a batch: recovery of torn tails went untested')
      console.log(`sigkill: ${summarize(report)}`)
      rmSync(dir, { recursive: true, force: true })
    },
    Math.max(120_000, CYCLES * 5_000),
  )

  it('companion: on a disk that acknowledges before writing, the harness sees the loss', async () => {
    const dir = tempDir()
    const report = await runKillCycles({ dir, cycles: LYING_CYCLES, seed: SEED, lyingDisk: true })
    if (report.lost.length === 0)
      failWith(report, dir, 'the lying disk lost nothing: the harness cannot see loss')
    // Corruption reports are expected here too: the lie also loses a rotated segment's tail.
    console.log(`sigkill lying disk: ${summarize(report)}`)
    rmSync(dir, { recursive: true, force: true })
  })

  it('refuses a second opener with STORE_LOCKED and takes over the lock of a killed writer', async () => {
    const dir = tempDir()
    const child = spawnWriterChild({
      dir,
      run: 1,
      writers: 8,
      durability: 'sync',
      segmentBytesMax: 1024 * 1024,
      lyingDisk: false,
      splitWrites: false,
      awaitGo: false,
    })
    try {
      expect(await child.ready).toBe(0)
      await expect(openWal(dir)).rejects.toMatchObject({
        code: 'STORE_LOCKED',
        details: { pid: child.process.pid ?? -1 },
      })
    } finally {
      await killChild(child)
    }
    expect(existsSync(join(dir, LOCK_FILE_NAME))).toBe(true)
    const wal = await openWal(dir)
    try {
      for (const ack of child.acks) expect(ack.lsn).toBeLessThanOrEqual(wal.lastLsn)
      expect(await wal.append(new Uint8Array([1]))).toBe(wal.lastLsn)
    } finally {
      await wal.close()
    }
    rmSync(dir, { recursive: true, force: true })
  })
})
