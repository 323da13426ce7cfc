/**
 * Crash-point enumeration of the write-ahead log on the simulated file layer (docs/testing.md, I1, I4).
 *
 * A group-committed workload (concurrent writer loops, small segments so rotations happen) runs
 * once to count its I/O steps S; then, for every k in 0…S, it runs again crashing at step k. For
 * each crash, disk images after power loss (every damage mode, several seeds for the random ones)
 * and after a process crash (the OS cache survives: a clone with its unsynced state) are
 * reopened and checked:
 *
 * - opening succeeds (a crash leaves at most a torn tail, never `WAL_CORRUPTION`);
 * - recovered LSNs are a gap-free prefix 1…n, each payload is the one attempted at that LSN;
 * - acknowledged ⊆ recovered ⊆ attempted;
 * - after recovery, an append is acknowledged and survives power loss and a reopen.
 *
 * Crash during recovery: a torn-tail image and a repaired corruption are opened with a crash at
 * every step of the open; a second open on every image of that crash recovers exactly the records
 * of an uninterrupted recovery, and keeps them through one more power loss.
 *
 * The harness is checked to see loss: with `durability: 'none'` the same enumeration must report
 * acknowledged records lost.
 *
 * The machinery lives in `test/support/wal-crash.ts`; failures found here are pinned in
 * `test/regressions/wal-crash-regressions.test.ts`.
 */
import { describe, expect, it } from 'vitest'

import { seedFromEnv } from '../../src/core/random.js'
import { FUZZ, reproCommand } from '../support/property.js'
import {
  ALL_MODES,
  corruptRecordImage,
  enumerateCrashPoints,
  enumerateRecoveryCrashes,
  findTornTailImage,
  mix,
  plainOpen,
  report,
} from '../support/wal-crash.js'
import type { Plan, TornKind } from '../support/wal-crash.js'

const SEED = seedFromEnv()
const REPRO = reproCommand(import.meta.url, SEED)

/**
 * Writer loops, records to acknowledge, seeds per random damage mode (`tear`, `sectors`) for the
 * workload's crash points and for the (fewer) crash points of a recovery.
 */
const BUDGET = FUZZ
  ? { writers: 12, records: 240, imageSeeds: 6, recoveryImageSeeds: 24 }
  : { writers: 8, records: 80, imageSeeds: 3, recoveryImageSeeds: 8 }

/** The large budget runs for many minutes. */
const TIMEOUT = { timeout: FUZZ ? 3_600_000 : 120_000 }

const CRASH_POINTS = { seed: SEED, imageSeeds: BUDGET.imageSeeds }
const RECOVERY_CRASHES = { seed: SEED, imageSeeds: BUDGET.recoveryImageSeeds }

describe('WAL crash points (simulated power loss at every I/O step)', () => {
  const plans: Array<[string, Plan]> = [
    ['group commit', { seed: SEED, ...BUDGET, durability: 'sync' }],
    [
      'small batches (appends wait for buffer room)',
      { seed: mix(SEED, 1), ...BUDGET, durability: 'sync', batchBytesMax: 256 },
    ],
  ]
  for (const [name, plan] of plans) {
    it(`loses no acknowledged record and never reports corruption: ${name}`, TIMEOUT, async () => {
      const result = await enumerateCrashPoints(plan, ALL_MODES, CRASH_POINTS)
      console.info(
        `wal-crash-points ${name}: seed=${SEED} S=${result.steps} images=${result.images}`,
      )
      expect(result.steps).toBeGreaterThan(40)
      expect(result.problems, report(result.problems, SEED, REPRO)).toEqual([])
    })
  }

  it('sees loss when fsync is disabled (harness sanity)', TIMEOUT, async () => {
    // Segments large enough that most batches do not rotate (a rotation syncs even then).
    const plan: Plan = { seed: SEED, ...BUDGET, durability: 'none', segmentBytesMax: 4096 }
    const result = await enumerateCrashPoints(plan, ['drop'], {
      ...CRASH_POINTS,
      processCrash: false,
    })
    const losses = result.problems.filter((p) => p.includes('acknowledged records lost'))
    expect(losses.length, `the checker saw no loss without fsync\n${REPRO}`).toBeGreaterThan(0)
  })
})

describe('WAL crash during recovery', () => {
  const plan: Plan = { seed: SEED, ...BUDGET, durability: 'sync' }

  const tornCases: Array<[TornKind, string]> = [
    ['records', 'cutting torn records'],
    ['header', 'replacing a torn segment header'],
  ]
  for (const [kind, name] of tornCases) {
    it(`recovers the same records after a crash at any step of ${name}`, TIMEOUT, async () => {
      const { image } = await findTornTailImage(plan, kind, SEED, REPRO)
      const result = await enumerateRecoveryCrashes(image, false, RECOVERY_CRASHES)
      console.info(`wal-crash-points torn ${kind} recovery: seed=${SEED} steps=${result.steps}`)
      expect(result.problems, report(result.problems, SEED, REPRO)).toEqual([])
    })
  }

  it('recovers the same records after a crash at any step of a repair', TIMEOUT, async () => {
    // A payload byte of the last record of the second segment flipped: corruption, not a tail,
    // with valid records before it in the same segment (the repair must keep them).
    const { damaged, segments, offset } = await corruptRecordImage(plan, SEED)
    expect(segments).toBeGreaterThan(3)
    expect(offset).toBeGreaterThan(32 + 24)
    expect(await plainOpen(damaged.clone(), SEED)).toBe('corrupt')
    const result = await enumerateRecoveryCrashes(damaged, true, RECOVERY_CRASHES)
    console.info(`wal-crash-points repair recovery: seed=${SEED} steps=${result.steps}`)
    expect(result.problems, report(result.problems, SEED, REPRO)).toEqual([])
  })
})
