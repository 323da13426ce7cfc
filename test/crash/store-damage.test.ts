/**
 * No damage makes a store unopenable (docs/guarantees.md, "Damage and repair"). For a closed
 * store and for one killed mid-work (left open; its files copied as a killed process leaves
 * them), each case damages a fresh copy and opens it: it opens with every checkpointed write and
 * every write before the damage, or fails with `WAL_CORRUPTION` naming the way out, after which
 * `repair: true` opens it so. LSNs never go back (a write after the open lies past the checkpoint
 * and past every lost LSN), and the store reopens without repair.
 *
 * Cases: bytes flipped at the header, at seeded offsets and at the end of every WAL segment;
 * every segment truncated; the WAL directory deleted; one segment deleted. Budget: 3 seeded
 * offsets per segment; `STARLING_FUZZ=1` tries 24. Damaged LevelDB files (CURRENT, MANIFEST, its log)
 * fail with `STORAGE_CORRUPTION` naming the way out, on every open until repaired, and a repair
 * restores every write from a WAL that holds them all. `starling repair` prints what it did.
 */
import { rmSync, truncateSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { readdirSync } from 'node:fs'
import { isStarlingError } from '../../src/core/errors.js'
import { createRng, seedFromEnv } from '../../src/core/random.js'
import { runCli } from '../support/cli.js'
import { FUZZ, reproCommand } from '../support/property.js'
import {
  buildFixture,
  copyOf,
  flipBytes,
  lsnAt,
  openDamaged,
  openFixtureStore as openFixture,
  segmentsOf,
  type Fixture,
} from '../support/store-damage.js'

const SEED = seedFromEnv()
const OFFSETS_PER_SEGMENT = FUZZ ? 24 : 3

/** The LevelDB file of a store directory whose name contains `part`. */
function snapshotFile(dir: string, part: string): string {
  const found = readdirSync(join(dir, 'snapshots')).find((name) => name.includes(part))
  expect(found, `a snapshots file named *${part}*`).toBeDefined()
  return found as string
}

/** Runs `check`, adding the seed and a reproduction to any failure. */
async function seeded(label: string, check: () => Promise<unknown>): Promise<void> {
  try {
    await check()
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error)
    throw new Error(`${label}: ${message}\n${reproCommand(import.meta.url, SEED)}`, {
      cause: error,
    })
  }
}

/** Offsets to damage in a segment of `size` bytes: its header, seeded ones, its last bytes. */
function offsetsFor(size: number, rng: ReturnType<typeof createRng>): number[] {
  const offsets = new Set([0, 12, 24, Math.max(0, size - 8), Math.max(0, size - 1)])
  for (let i = 0; i < OFFSETS_PER_SEGMENT && size > 32; i++) offsets.add(32 + rng.int(size - 32))
  return [...offsets].filter((offset) => offset < size).sort((a, b) => a - b)
}

function describeDamage(name: string, build: () => Promise<Fixture>): void {
  describe(name, () => {
    let fixture: Fixture
    beforeAll(async () => {
      fixture = await build()
    })

    it('flipped bytes anywhere in every segment: opens, or names the way out', async () => {
      const rng = createRng(SEED)
      const segments = segmentsOf(fixture.dir)
      expect(segments.length).toBeGreaterThan(0)
      const opened = { plain: 0, repair: 0 }
      for (const segment of segments) {
        const size = statSync(join(fixture.dir, 'wal', segment)).size
        for (const offset of offsetsFor(size, rng)) {
          await seeded(`${segment} flipped at ${offset}`, async () => {
            const dir = copyOf(fixture)
            flipBytes(join(dir, 'wal', segment), offset)
            const damagedFromLsn = lsnAt(fixture.dir, segment, offset)
            const how = await openDamaged(dir, { fixture, damagedFromLsn })
            opened[how as 'plain' | 'repair']++
          })
        }
      }
      // Both paths ran: cut torn tails open plainly, damage elsewhere needs the repair.
      expect(opened.repair).toBeGreaterThan(0)
    })

    it('every segment truncated: opens, or names the way out', async () => {
      for (const segment of segmentsOf(fixture.dir)) {
        const size = statSync(join(fixture.dir, 'wal', segment)).size
        for (const length of [0, 20, Math.floor(size / 2), size - 1]) {
          if (length < 0 || length >= size) continue
          await seeded(`${segment} truncated to ${length}`, async () => {
            const dir = copyOf(fixture)
            truncateSync(join(dir, 'wal', segment), length)
            const damagedFromLsn = lsnAt(fixture.dir, segment, length)
            await openDamaged(dir, { fixture, damagedFromLsn })
          })
        }
      }
    })

    it('the WAL directory deleted: opens from the checkpoint, the log continues after it', async () => {
      const dir = copyOf(fixture)
      rmSync(join(dir, 'wal'), { recursive: true })
      await openDamaged(dir, { fixture, damagedFromLsn: fixture.checkpointLsn + 1 })
    })

    it('a segment deleted: opens, or names the way out', async () => {
      const segments = segmentsOf(fixture.dir)
      for (const segment of segments) {
        await seeded(`${segment} deleted`, async () => {
          const dir = copyOf(fixture)
          rmSync(join(dir, 'wal', segment))
          const damagedFromLsn = lsnAt(fixture.dir, segment, 0)
          // Without its newest segment a log is a valid, shorter one: nothing can tell.
          const traceless = segment === segments[segments.length - 1]
          await openDamaged(dir, { fixture, damagedFromLsn, traceless })
        })
      }
    })
  })
}

describeDamage('a closed store', () =>
  buildFixture({ count: 90, checkpointAfter: 30, closed: true }),
)
describeDamage('a store killed mid-work', () =>
  buildFixture({ count: 90, checkpointAfter: 30, closed: false }),
)

describe('damaged LevelDB storage', () => {
  let fixture: Fixture
  beforeAll(async () => {
    // A WAL that still holds every record since LSN 1: a repair restores everything from it.
    fixture = await buildFixture({ count: 60, checkpointAfter: 30, closed: true, retainAll: true })
  })

  it('fails with STORAGE_CORRUPTION naming the files and the way out, until repaired', async () => {
    for (const name of ['CURRENT', 'MANIFEST', '.log']) {
      for (const fraction of [0.1, 0.5, 0.9]) {
        await seeded(`${name} flipped at ${fraction}`, async () => {
          const dir = copyOf(fixture)
          const file = snapshotFile(dir, name)
          flipBytes(
            join(dir, 'snapshots', file),
            Math.floor(statSync(join(dir, 'snapshots', file)).size * fraction),
          )
          for (let attempt = 0; attempt < 2; attempt++) {
            const error = await openFixture(dir).then(
              async (store) => {
                await store.close()
                return undefined
              },
              (caught: unknown) => caught,
            )
            expect(isStarlingError(error, 'STORAGE_CORRUPTION'), String(error)).toBe(true)
            expect((error as Error).message).toMatch(/repair: true/)
            expect((error as Error).message).toMatch(/starling repair/)
          }
          const store = await openFixture(dir, true)
          expect(store.openReport?.storageRepaired?.complete).toBe(true)
          for (const write of fixture.writes)
            if (write.kind === 'register') expect(store.get(`k/${write.i}`)).toBe(write.i)
          await store.close()
          const again = await openFixture(dir)
          expect(again.openReport?.storageRepaired).toBeNull()
          await again.close()
        })
      }
    }
  })
})

describe('starling repair', () => {
  it('repairs a damaged WAL and prints what was kept and lost', async () => {
    const fixture = await buildFixture({ count: 60, checkpointAfter: 20, closed: false })
    const dir = copyOf(fixture)
    const segments = segmentsOf(dir)
    flipBytes(join(dir, 'wal', segments[1] as string), 40)
    const before = await runCli('get', dir, 'k/0')
    expect(before.code).toBe(1)
    expect(before.stderr).toMatch(/starling repair/)
    const result = await runCli('repair', dir, '--json')
    expect(result.stderr).toBe('')
    expect(result.code).toBe(0)
    const report = JSON.parse(result.stdout) as { lost: { fromLsn: number; toLsn: number } }
    expect(report.lost.toLsn).toBe(fixture.lastLsn)
    const text = await runCli('repair', dir)
    expect(text.stdout).toMatch(/nothing lost/)
    expect((await runCli('get', dir, 'k/0')).code).toBe(0)
  })
})
