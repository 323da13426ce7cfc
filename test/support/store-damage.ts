/**
 * Damaged stores for `test/crash/store-damage.test.ts` (docs/guarantees.md, "Damage and repair"):
 * a store on the real disk with known writes and the LSN of each, copied as a closed store or as
 * one killed mid-work (left open: every acknowledged write is on disk, as after SIGKILL), damage
 * to apply to a copy, and the check that a damaged copy either opens with everything it must
 * hold or fails with a typed error naming the way out.
 */
import { cpSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { expect } from 'vitest'
import { isStarlingError } from '../../src/core/errors.js'
import { createStore, crdt, type Store } from '../../src/index.js'
import { parseSegmentName } from '../../src/wal/format.js'
import { scanSegment } from '../../src/wal/scan.js'
import { tempDir } from './tmp.js'

export const POLICIES = { 'notes/*': crdt('text') }
const NOTE = 'notes/a'

/** One write of the fixture: a register `k/<i>` set to i, or text appended to the note. */
export interface Write {
  kind: 'register' | 'text'
  i: number
  /** LSN of the write's (last) WAL record. */
  lsn: number
}

/** A store directory as left by a workload, never opened again (copy it with {@link copyOf}). */
export interface Fixture {
  dir: string
  writes: Write[]
  /** The checkpoint LSN the store left behind. */
  checkpointLsn: number
  /** The newest LSN the store handed out. */
  lastLsn: number
}

/** WAL segment size of the fixtures: small, so a store has several segments. */
export const SEGMENT_BYTES = 2048

/**
 * Writes `count` times (every third a text append, the rest registers), checkpointing after
 * `checkpointAfter` of them; `closed`: then closes (a final checkpoint), else leaves the store
 * open, as a killed process does. An open store is never used again.
 */
export async function buildFixture(options: {
  count: number
  checkpointAfter: number
  closed: boolean
  /** Keep every WAL record (segments are large enough to hold them all). */
  retainAll?: boolean
}): Promise<Fixture> {
  const dir = join(tempDir('starling-damage-'), 'store')
  const store = await openFixtureStore(
    dir,
    false,
    options.retainAll === true ? 1 << 20 : SEGMENT_BYTES,
  )
  const writes: Write[] = []
  for (let i = 0; i < options.count; i++) {
    const kind = i % 3 === 2 ? 'text' : 'register'
    if (kind === 'text') {
      const text = store.text(NOTE)
      await store.load(NOTE)
      text.insert(text.length, `${i},`)
      await store.flush()
    } else await store.set(`k/${i}`, i)
    writes.push({ kind, i, lsn: store.stats.lastLsn })
    if (i + 1 === options.checkpointAfter) await store.checkpoint()
  }
  const lastLsn = store.stats.lastLsn
  if (options.closed) await store.close()
  const checkpointLsn = options.closed ? lastLsn : store.stats.checkpointLsn
  // The open store stays open (its locks held); copies are taken from its files, as after a kill.
  return { dir, writes, checkpointLsn, lastLsn }
}

/** Opens a fixture's store (or a copy) as the fixture was written. */
export function openFixtureStore(
  dir: string,
  repair = false,
  walSegmentBytes = SEGMENT_BYTES,
): Promise<Store> {
  return createStore({
    path: dir,
    policies: POLICIES,
    walSegmentBytes,
    checkpointRecords: 1_000_000,
    repair,
  })
}

/** A fresh copy of the fixture's directory (without its lock files) to damage. */
export function copyOf(fixture: Fixture): string {
  const dir = join(tempDir('starling-damage-copy-'), 'store')
  cpSync(fixture.dir, dir, { recursive: true, filter: (path) => !/LOCK$|\.lock$/.test(path) })
  return dir
}

/** The WAL segment files of a store directory, oldest first. */
export function segmentsOf(dir: string): string[] {
  return readdirSync(join(dir, 'wal'))
    .filter((name) => parseSegmentName(name) !== undefined)
    .sort()
}

/** The first LSN whose bytes lie at or after `offset` of segment `name` (its header: all). */
export function lsnAt(dir: string, name: string, offset: number): number {
  const bytes = readFileSync(join(dir, 'wal', name))
  const nameLsn = parseSegmentName(name) as number
  let lsn = nameLsn
  scanSegment(bytes, {
    nameLsn,
    isLast: true,
    recordBytesMax: 1 << 30,
    onRecord: (recordLsn, _type, payload, at) => {
      if (at + ((24 + payload.length + 7) & ~7) <= offset) lsn = recordLsn + 1
    },
  })
  return lsn
}

/** Flips the bits of up to four bytes at `offset` of `path`. */
export function flipBytes(path: string, offset: number): void {
  const bytes = readFileSync(path)
  for (let i = offset; i < Math.min(offset + 4, bytes.length); i++)
    bytes[i] = (bytes[i] as number) ^ 0xa5
  writeFileSync(path, bytes)
}

/** How a damaged copy is expected to have fared: writes at `damagedFromLsn` and later may be gone. */
export interface Expectation {
  fixture: Fixture
  damagedFromLsn: number
  /**
   * The damage removed records without a trace (the newest segment deleted: the log is a valid,
   * shorter one), so their loss cannot be reported; it can still only take writes after it.
   */
  traceless?: boolean
}

/**
 * Opens a damaged copy: plainly, and when that fails, it must be a typed error naming the way
 * out, and `repair: true` must open it. Checks what the opened store holds; returns the open
 * that succeeded (`plain` or `repair`).
 */
export async function openDamaged(dir: string, expectation: Expectation): Promise<string> {
  let how = 'plain'
  let store: Store
  try {
    store = await openFixtureStore(dir)
  } catch (error) {
    expect(isStarlingError(error, 'WAL_CORRUPTION'), String(error)).toBe(true)
    expect((error as Error).message).toMatch(/createStore\(\{ path, repair: true \}\)/)
    expect((error as Error).message).toMatch(/starling repair/)
    how = 'repair'
    store = await openFixtureStore(dir, true)
  }
  await checkHolds(store, expectation)
  await store.set('after/repair', 1)
  const newLsn = store.stats.lastLsn
  await store.close()
  // Handed-out LSNs are never reused: peers' cursors on this log stay valid.
  expect(newLsn).toBeGreaterThan(expectation.fixture.checkpointLsn)
  const lost = store.openReport?.lost
  if (lost) expect(newLsn).toBeGreaterThan(lost.toLsn)
  const again = await openFixtureStore(dir)
  expect(again.get('after/repair')).toBe(1)
  expect(again.openReport?.lost).toBeNull()
  await again.close()
  return how
}

/**
 * Every checkpointed write and every write before the damage is there; the note is a prefix of
 * the text appended (no write half-applied); a missing write lies after the checkpoint and is
 * accounted for (a torn tail cut, a reported lost range, or a log that ended and restarted).
 */
async function checkHolds(store: Store, expectation: Expectation): Promise<void> {
  const { fixture, damagedFromLsn } = expectation
  const report = store.openReport
  expect(report).toBeDefined()
  await store.load(NOTE)
  const note = store.text(NOTE).toJSON()
  let appended = ''
  for (const write of fixture.writes) {
    const present =
      write.kind === 'register'
        ? store.get(`k/${write.i}`) === write.i
        : note.startsWith(appended + `${write.i},`)
    if (write.kind === 'text' && present) appended += `${write.i},`
    if (write.lsn <= fixture.checkpointLsn || write.lsn < damagedFromLsn) {
      expect(present, `write ${write.i} (LSN ${write.lsn}) is kept`).toBe(true)
    } else if (!present) {
      const lost = report?.lost
      const accounted =
        expectation.traceless === true ||
        report?.walRecovery.tornTail != null ||
        report?.walRestarted != null ||
        (lost != null && lost.fromLsn <= write.lsn && write.lsn <= lost.toLsn)
      expect(accounted, `missing write ${write.i} (LSN ${write.lsn}) is reported`).toBe(true)
    }
  }
  expect(note).toBe(appended)
}
