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
 * offsets per segment; `STARLING_FUZZ=1` tries 24.
 */
import { rmSync, truncateSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { createRng, seedFromEnv } from '../../src/core/random.js'
import { FUZZ, reproCommand } from '../support/property.js'
import {
  buildFixture,
  copyOf,
  flipBytes,
  lsnAt,
  openDamaged,
  segmentsOf,
  type Fixture,
} from '../support/store-damage.js'

const SEED = seedFromEnv()
const OFFSETS_PER_SEGMENT = FUZZ ? 24 : 3

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
