/**
 * Durability bugs the WAL crash-point enumeration (`test/crash/wal-crash-points.test.ts`) found,
 * replayed forever (docs/testing.md). Each test pins the run seed, the crash step (a small window of
 * steps around it, so a step added elsewhere does not silently move the crash off the dangerous
 * instant), the damage mode and image seeds of the failing scenario, and asserts the correct
 * outcome. Each also asserts that its scenario still reaches the dangerous state — independently
 * of the fix — so a change that moves the crash elsewhere fails here and asks for a re-pin instead
 * of passing without testing anything.
 *
 * Step numbers are those of the current code; the image seeds listed are the ones that failed with
 * the fix reverted (each test failed with its fix reverted in a scratch copy). Image seeds of the
 * windows are derived exactly as the enumeration derives them, so the windows replay what the
 * enumeration checks at those steps, for the enumeration's default budget.
 *
 * To re-pin after the step numbering changes: revert the fix in a scratch copy, run the enumeration
 * with the seed named in the test (`STARLING_SEED=<seed> npx vitest run
 * test/crash/wal-crash-points.test.ts`) and move the window to the steps it reports.
 */
import { describe, expect, it } from 'vitest'

import { createRng } from '../../src/core/random.js'
import type { CrashMode, SimFs } from '../../src/testing/index.js'
import { parseSegmentName } from '../../src/wal/format.js'
import { BROKEN_SUFFIX, openWal } from '../../src/wal/index.js'
import {
  ALL_MODES,
  DIR,
  PROCESS_CRASH,
  corruptRecordImage,
  crashRecovery,
  crashWorkload,
  damages,
  enumerateCrashPoints,
  enumerateRecoveryCrashes,
  findTornTailImage,
  plainOpen,
  powerLoss,
  report,
  walOptions,
} from '../support/wal-crash.js'
import type { Damage, Outcome, Plan, StepWindow } from '../support/wal-crash.js'

const REPAIR_SUFFIX = '.repair'
const REPRO = 'Reproduce: npx vitest run test/regressions/wal-crash-regressions.test.ts'

/** The enumeration's default budget: the workload and image seeds per random mode. */
const WORKLOAD = { writers: 8, records: 80 }
const IMAGE_SEEDS = 3
const RECOVERY_IMAGE_SEEDS = 8

/** The enumeration's group-commit workload for `seed` (without `STARLING_FUZZ`). */
function groupCommit(seed: number): Plan {
  return { seed, ...WORKLOAD, durability: 'sync' }
}

/** The damages the enumeration checks at step `k` with `seeds` variants, only of `modes`. */
function enumerated(
  seed: number,
  modes: readonly CrashMode[],
  seeds: number,
): (k: number) => Damage[] {
  return (k) => damages(seed, k, ALL_MODES, seeds).filter((d) => modes.some((m) => m === d.mode))
}

/** Every step of `window`. */
function stepsOf(window: StepWindow): number[] {
  return Array.from({ length: window.to - window.from + 1 }, (_, i) => window.from + i)
}

/** A single crash step checked with exactly `damage` (a pinned failing image). */
function pinned(step: number, damage: Damage) {
  return { window: { from: step, to: step }, damagesAt: () => [damage] }
}

/** Segment files whose directory entries are only in the OS cache: power loss would drop them. */
function cachedOnlySegments(fs: SimFs): string[] {
  const durable = new Set(fs.crashImage('drop', createRng(0)).listSync(DIR))
  return fs.listSync(DIR).filter((name) => !durable.has(name) && name.endsWith('.log'))
}

/** First LSNs of the segment files of `fs`, oldest first. */
function segmentLsns(fs: SimFs): number[] {
  return fs
    .listSync(DIR)
    .map((name) => parseSegmentName(name))
    .filter((lsn): lsn is number => lsn !== undefined)
}

/**
 * The first LSNs of the last two segments when one batch created both: no record of the older
 * one was acknowledged (the batch that created it had not completed) when the newer one existed.
 */
function doubleRotation(fs: SimFs, outcome: Outcome): [number, number] | undefined {
  const lsns = segmentLsns(fs)
  const [older, newer] = lsns.slice(-2)
  if (older === undefined || newer === undefined) return undefined
  const acked = Math.max(0, ...outcome.acked)
  return acked < older ? [older, newer] : undefined
}

/**
 * Whether a repair was cut short between setting a segment aside (`<name>.broken`) and renaming
 * its repair file (`<name>.repair`) over it.
 */
function isMidRepair(names: string[]): boolean {
  return names.some((name) => {
    if (!name.endsWith(REPAIR_SUFFIX)) return false
    const segment = name.slice(0, -REPAIR_SUFFIX.length)
    return !names.includes(segment) && names.includes(segment + BROKEN_SUFFIX)
  })
}

describe('WAL crash regressions (found by the crash-point enumeration)', () => {
  it('recovery syncs the directory: a segment named only in the OS cache survives power loss', async () => {
    // Found as STARLING_SEED=12345, group commit, process crash at step 6 (now 7–9: the first
    // segment written but its entry not durable; the parent-directory sync at open added a step),
    // and after every rotation (the first at steps 19–20 with the fix reverted, one later with it):
    // recovery opened that segment and acknowledged appends into it, and a later power loss
    // dropped the entry with everything in it ("acknowledged records lost: LSN 1").
    const seed = 12345
    const plan = groupCommit(seed)
    const first: StepWindow = { from: 7, to: 9 }
    const rotation: StepWindow = { from: 18, to: 22 }

    // The scenario: a process crash leaves a segment whose entry only the OS cache holds.
    for (const k of stepsOf(first)) {
      const { fs } = await crashWorkload(plan, k)
      expect(cachedOnlySegments(fs), `step ${k}`).toEqual(['0000000000000001.log'])
    }
    let rotated = 0
    for (const k of stepsOf(rotation)) {
      const { fs } = await crashWorkload(plan, k)
      if (cachedOnlySegments(fs).length > 0) rotated++
    }
    expect(rotated, 'no crash of the window falls inside a rotation: re-pin').toBeGreaterThan(0)

    const problems: string[] = []
    for (const window of [first, rotation]) {
      const result = await enumerateCrashPoints(plan, ALL_MODES, {
        seed,
        imageSeeds: IMAGE_SEEDS,
        window,
        damagesAt: () => [PROCESS_CRASH],
      })
      problems.push(...result.problems)
    }
    expect(problems, report(problems, seed, REPRO)).toEqual([])
  })

  it('an interrupted repair keeps the valid records of the repaired segment', async () => {
    // Found as STARLING_SEED=7, repair of a flipped byte in the last record of the second segment,
    // crash at recovery step 19 under `tear` (now step 20, with the fix reverted: the damaged
    // segment renamed to `.broken`, the entry of its `.repair` file not yet durable): a power loss
    // that kept the rename but not the new entry left 8 records instead of 14.
    const seed = 7
    const plan = groupCommit(seed)
    const { damaged, segments, offset } = await corruptRecordImage(plan, seed)
    expect(segments).toBeGreaterThan(3)
    expect(offset).toBeGreaterThan(32 + 24)
    expect(await plainOpen(damaged.clone(), seed)).toBe('corrupt')
    const window: StepWindow = { from: 17, to: 24 }

    // The scenario: some crash of the window interrupts the repair between setting the damaged
    // segment aside and giving the repair file its name.
    let interrupted = 0
    for (const j of stepsOf(window)) {
      const { fs } = await crashRecovery(damaged, true, j, seed)
      if (isMidRepair(fs.listSync(DIR))) interrupted++
    }
    expect(interrupted, 'no crash of the window interrupts the repair: re-pin').toBeGreaterThan(0)

    const problems: string[] = []
    const runs = [
      { window, damagesAt: enumerated(seed, ['tear', 'sectors'], RECOVERY_IMAGE_SEEDS) },
      // Images that lost the valid prefix with the fix reverted.
      pinned(20, powerLoss('tear', 3931251658)),
      pinned(20, powerLoss('tear', 3511841461)),
      pinned(20, powerLoss('sectors', 3797624537)),
    ]
    for (const run of runs) {
      const result = await enumerateRecoveryCrashes(damaged, true, {
        seed,
        imageSeeds: RECOVERY_IMAGE_SEEDS,
        ...run,
      })
      expect(result.expected).toMatch(/^14 records /)
      problems.push(...result.problems)
    }
    expect(problems, report(problems, seed, REPRO)).toEqual([])
  })

  it('two rotations in one batch leave no gap after power loss', async () => {
    // Found as STARLING_SEED=12345, group commit, crash at step 84 under `sectors` or 85 under
    // `tear` (still 84–86 with the fix reverted): one batch created segments 73 and 80, and power
    // loss kept the entry of 80 but not that of 73 — WAL_CORRUPTION "missing records: expected
    // LSN 73" on the next open.
    const seed = 12345
    const plan = groupCommit(seed)
    const window: StepWindow = { from: 82, to: 88 }

    // The scenario: some crash of the window falls after one batch created both segments.
    let both = 0
    for (const k of stepsOf(window)) {
      const { fs, outcome } = await crashWorkload(plan, k)
      const pair = doubleRotation(fs, outcome)
      if (pair !== undefined) {
        expect(pair, `step ${k}`).toEqual([73, 80])
        both++
      }
    }
    expect(both, 'no crash of the window follows a double rotation: re-pin').toBeGreaterThan(0)

    const problems: string[] = []
    const runs = [
      { window, damagesAt: enumerated(seed, ['tear', 'sectors'], IMAGE_SEEDS) },
      // Images that lost segment 73 with the fix reverted.
      pinned(84, powerLoss('sectors', 4060663032)),
      pinned(84, powerLoss('tear', 385601079)),
      pinned(85, powerLoss('tear', 1613549103)),
      pinned(86, powerLoss('sectors', 168153140)),
    ]
    for (const run of runs) {
      const result = await enumerateCrashPoints(plan, ALL_MODES, {
        seed,
        imageSeeds: IMAGE_SEEDS,
        ...run,
      })
      problems.push(...result.problems)
    }
    expect(problems, report(problems, seed, REPRO)).toEqual([])
  })

  it('a torn segment header is replaced atomically, never rewritten in place', async () => {
    // Found as STARLING_SEED=7, torn-header recovery, crash at recovery step 35 under `sectors`
    // (now step 60 of 67 with the fix reverted, on the image the enumeration now picks: workload
    // step 91, `tear` variant 0): the header rewritten in place and not yet synced, power loss
    // kept the new length but an old sector — a 32-byte header that is damaged, not torn, and the
    // second open failed with WAL_CORRUPTION "segment header checksum mismatch".
    const seed = 7
    const plan = groupCommit(seed)
    const { image } = await findTornTailImage(plan, 'header', seed, REPRO)
    const probe = await openWal(DIR, walOptions(image.clone(), seed))
    await probe.close()
    const torn = probe.recovery.tornTail
    expect(torn?.offset).toBe(0)
    expect(torn?.bytesCut).toBeGreaterThan(0)
    expect(torn?.bytesCut).toBeLessThanOrEqual(24)
    const segment = torn?.segment ?? ''
    const window: StepWindow = { from: 54, to: 66 }

    // The scenario: some crash of the window falls after recovery wrote the fresh header (in
    // place or to a `.repair` file) and before it was durable.
    let unsynced = 0
    for (const j of stepsOf(window)) {
      const { fs } = await crashRecovery(image, false, j, seed)
      const durable = fs.crashImage('drop', createRng(0)).readFileSync(`${DIR}/${segment}`)
      const names = fs.listSync(DIR)
      const fresh = [segment, segment + REPAIR_SUFFIX]
        .filter((name) => names.includes(name))
        .some((name) => fs.readFileSync(`${DIR}/${name}`).length === 32)
      if (fresh && durable.length < 32) unsynced++
    }
    expect(unsynced, 'no crash of the window precedes the header sync: re-pin').toBeGreaterThan(0)

    const problems: string[] = []
    const runs = [
      { window, damagesAt: enumerated(seed, ['sectors'], RECOVERY_IMAGE_SEEDS) },
      // Images that read as a corrupt header with the fix reverted.
      pinned(60, powerLoss('sectors', 1963932407)),
      pinned(60, powerLoss('sectors', 1880041750)),
    ]
    for (const run of runs) {
      const result = await enumerateRecoveryCrashes(image, false, {
        seed,
        imageSeeds: RECOVERY_IMAGE_SEEDS,
        ...run,
      })
      problems.push(...result.problems)
    }
    expect(problems, report(problems, seed, REPRO)).toEqual([])
  })
})
