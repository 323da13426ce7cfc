/**
 * Crash-point enumeration of the write-ahead log on the simulated file layer (DESIGN §7, I1, I4).
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
 */
import { describe, expect, it } from 'vitest'

import { crc32c } from '../../src/core/crc32c.js'
import { isStarlingError } from '../../src/core/errors.js'
import { createRng, seedFromEnv } from '../../src/core/random.js'
import type { Rng } from '../../src/core/random.js'
import { SimCrashError, createSimFs, createVirtualEnv } from '../../src/testing/index.js'
import type { CrashMode, SimFs } from '../../src/testing/index.js'
import { openWal } from '../../src/wal/index.js'
import type { Durability, Wal, WalOptions, WalRecord } from '../../src/wal/index.js'
import { FUZZ, reproCommand } from '../support/property.js'
import { readAll } from '../support/wal.js'

const SEED = seedFromEnv()
const REPRO = reproCommand(import.meta.url, SEED)
const DIR = '/data/wal'
const SEGMENT_BYTES = 512

/**
 * Writer loops, records to acknowledge, seeds per random damage mode (`tear`, `sectors`) for the
 * workload's crash points and for the (fewer) crash points of a recovery.
 */
const BUDGET = FUZZ
  ? { writers: 12, records: 240, imageSeeds: 6, recoveryImageSeeds: 24 }
  : { writers: 8, records: 80, imageSeeds: 3, recoveryImageSeeds: 8 }

/** The large budget runs for many minutes. */
const TIMEOUT = { timeout: FUZZ ? 3_600_000 : 120_000 }

/** The damage applied to a crashed disk: a power-loss mode with an image seed, or a process crash. */
interface Damage {
  label: string
  apply(fs: SimFs): SimFs
}

/** A workload: how it writes, and which of its appends were attempted and acknowledged. */
interface Plan {
  seed: number
  writers: number
  records: number
  durability: Durability
  /** Segment size (default {@link SEGMENT_BYTES}). */
  segmentBytesMax?: number
  /** Small batches, so appends wait for room (needs a small `recordBytesMax` too). */
  batchBytesMax?: number
}

interface Outcome {
  /** Payloads in append-call order; the one at index i was assigned LSN i + 1. */
  attempted: Uint8Array[]
  acked: Set<number>
}

/** A 32-bit hash of `parts`, for deriving image seeds from the run seed. */
function mix(...parts: number[]): number {
  let h = 0x811c9dc5
  for (const part of parts) {
    h = Math.imul(h ^ (part >>> 0), 0x01000193)
    h ^= h >>> 15
  }
  return h >>> 0
}

/** Every damage to check for a crash at step `k`. */
function damages(k: number, modes: readonly CrashMode[], seeds: number): Damage[] {
  const list: Damage[] = []
  modes.forEach((mode, m) => {
    const variants = mode === 'tear' || mode === 'sectors' ? seeds : 1
    for (let v = 0; v < variants; v++) {
      const imageSeed = mix(SEED, k, m, v)
      list.push({
        label: `${mode}(image seed ${imageSeed})`,
        apply: (fs) => fs.crashImage(mode, createRng(imageSeed)),
      })
    }
  })
  return list
}

const PROCESS_CRASH: Damage = { label: 'process crash', apply: (fs) => fs.clone() }
const ALL_MODES: readonly CrashMode[] = ['drop', 'keep', 'tear', 'sectors', 'zero-extend']

/** Largest payload {@link encodePayload} makes. */
const PAYLOAD_BYTES_MAX = 64

/** Writer id, sequence number, random filler and a CRC32C of all that. */
function encodePayload(rng: Rng, writer: number, seq: number): Uint8Array {
  const filler = rng.int(PAYLOAD_BYTES_MAX - 10 + 1)
  const bytes = new Uint8Array(10 + filler)
  const view = new DataView(bytes.buffer)
  view.setUint16(0, writer, true)
  view.setUint32(2, seq, true)
  bytes.set(rng.bytes(filler), 6)
  view.setUint32(6 + filler, crc32c(bytes, 0, 6 + filler), true)
  return bytes
}

function walOptions(fs: SimFs, seed: number, extra: Partial<WalOptions> = {}): WalOptions {
  return {
    fs,
    env: createVirtualEnv({ seed }),
    segmentBytesMax: SEGMENT_BYTES,
    ...extra,
  }
}

function isCrash(error: unknown): boolean {
  return error instanceof SimCrashError
}

/** Runs the workload on `fs` (which may crash at some step) and says what happened. */
async function runWorkload(fs: SimFs, plan: Plan): Promise<Outcome> {
  const outcome: Outcome = { attempted: [], acked: new Set() }
  const extra = {
    durability: plan.durability,
    segmentBytesMax: plan.segmentBytesMax ?? SEGMENT_BYTES,
    ...(plan.batchBytesMax === undefined
      ? {}
      : { batchBytesMax: plan.batchBytesMax, recordBytesMax: PAYLOAD_BYTES_MAX }),
  }
  let wal: Wal
  try {
    wal = await openWal(DIR, walOptions(fs, plan.seed, extra))
  } catch (error) {
    if (isCrash(error)) return outcome
    throw error
  }
  const writer = async (id: number): Promise<void> => {
    const rng = createRng(mix(plan.seed, id))
    for (let seq = 0; outcome.acked.size < plan.records; seq++) {
      const payload = encodePayload(rng, id, seq)
      const expectedLsn = outcome.attempted.push(payload)
      let lsn: number
      try {
        lsn = await wal.append(payload)
      } catch (error) {
        if (isStarlingError(error, 'WAL_FAILED')) return
        throw error
      }
      if (lsn !== expectedLsn) throw new Error(`harness: LSN ${lsn}, expected ${expectedLsn}`)
      outcome.acked.add(lsn)
    }
  }
  await Promise.all(Array.from({ length: plan.writers }, (_, id) => writer(id)))
  await wal.close().catch((error: unknown) => {
    if (!isCrash(error)) throw error
  })
  return outcome
}

function sameBytes(a: Uint8Array, b: Uint8Array | undefined): boolean {
  return b !== undefined && a.length === b.length && a.every((x, i) => x === b[i])
}

/** Problems with `records` as the recovery of `outcome`. */
function checkRecords(records: WalRecord[], outcome: Outcome): string[] {
  const problems: string[] = []
  records.forEach((record, i) => {
    if (record.lsn !== i + 1) problems.push(`LSN ${record.lsn} at position ${i + 1} (gap)`)
    else if (!sameBytes(record.payload, outcome.attempted[i]))
      problems.push(`LSN ${record.lsn} holds a payload never attempted at that LSN`)
  })
  if (records.length > outcome.attempted.length)
    problems.push(`${records.length} records recovered, ${outcome.attempted.length} attempted`)
  const lost = [...outcome.acked].filter((lsn) => lsn > records.length).sort((a, b) => a - b)
  if (lost.length > 0)
    problems.push(
      `acknowledged records lost: LSN ${lost.join(',')} (recovered 1…${records.length})`,
    )
  return problems
}

function describeError(error: unknown): string {
  const code = (error as { code?: string }).code ?? ''
  return `${code} ${error instanceof Error ? error.message : String(error)}`
}

/**
 * Opens the log on `fs` and checks what it recovers; then appends one record, takes a power-loss
 * image (`drop`) and checks the reopened image still holds everything acknowledged.
 */
async function checkRecovery(fs: SimFs, outcome: Outcome, seed: number): Promise<string[]> {
  let wal: Wal
  try {
    wal = await openWal(DIR, walOptions(fs, seed))
  } catch (error) {
    return [`open failed: ${describeError(error)}`]
  }
  const records = await readAll(wal)
  const problems = checkRecords(records, outcome)
  if (problems.length > 0) {
    await wal.close()
    return problems
  }
  const marker = encodePayload(createRng(seed), 0xffff, records.length)
  let lsn: number
  try {
    lsn = await wal.append(marker)
  } catch (error) {
    await wal.close().catch(() => undefined)
    return [`append after recovery failed: ${describeError(error)}`]
  }
  const after: Outcome = {
    attempted: [...outcome.attempted.slice(0, records.length), marker],
    acked: new Set([...outcome.acked, lsn]),
  }
  const powerLoss = fs.crashImage('drop', createRng(seed))
  await wal.close()
  for (const [label, target] of [
    ['power loss after the append', powerLoss],
    ['reopen after close', fs],
  ] as const) {
    try {
      const again = await openWal(DIR, walOptions(target, seed + 1))
      const recovered = await readAll(again)
      await again.close()
      problems.push(...checkRecords(recovered, after).map((p) => `${label}: ${p}`))
    } catch (error) {
      problems.push(`${label}: open failed: ${describeError(error)}`)
    }
  }
  return problems
}

/** Runs the workload crashing at every step 0…S and checks every damage of every crash. */
async function enumerateCrashPoints(plan: Plan, modes: readonly CrashMode[], processCrash = true) {
  const clean = createSimFs()
  await runWorkload(clean, plan)
  const steps = clean.steps
  const problems: string[] = []
  let images = 0
  for (let k = 0; k <= steps; k++) {
    const fs = createSimFs({ crashAtStep: k })
    const outcome = await runWorkload(fs, plan)
    if (fs.crashed !== k < steps) problems.push(`step ${k}: crashed=${fs.crashed}, S=${steps}`)
    const list = damages(k, modes, BUDGET.imageSeeds)
    if (processCrash) list.push(PROCESS_CRASH)
    for (const damage of list) {
      images++
      const found = await checkRecovery(damage.apply(fs), outcome, mix(SEED, k, 99))
      for (const problem of found)
        problems.push(`crash at step ${k}/${steps}, ${damage.label}: ${problem}`)
    }
  }
  return { steps, images, problems }
}

function report(problems: string[]): string {
  const shown = problems.slice(0, 12).join('\n  ')
  return `${problems.length} violation(s), seed ${SEED}:\n  ${shown}\n${REPRO}`
}

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
      const result = await enumerateCrashPoints(plan, ALL_MODES)
      console.info(
        `wal-crash-points ${name}: seed=${SEED} S=${result.steps} images=${result.images}`,
      )
      expect(result.steps).toBeGreaterThan(40)
      expect(result.problems, report(result.problems)).toEqual([])
    })
  }

  it('sees loss when fsync is disabled (harness sanity)', TIMEOUT, async () => {
    // Segments large enough that most batches do not rotate (a rotation syncs even then).
    const plan: Plan = { seed: SEED, ...BUDGET, durability: 'none', segmentBytesMax: 4096 }
    const result = await enumerateCrashPoints(plan, ['drop'], false)
    const losses = result.problems.filter((p) => p.includes('acknowledged records lost'))
    expect(losses.length, `the checker saw no loss without fsync\n${REPRO}`).toBeGreaterThan(0)
  })
})

/** Records recovered by opening `fs` (which recovery may change: pass a clone to keep one). */
async function recoverRecords(fs: SimFs, seed: number, repair: boolean): Promise<WalRecord[]> {
  const wal = await openWal(DIR, walOptions(fs, seed, { repair }))
  const records = await readAll(wal)
  await wal.close()
  return records
}

function describeRecords(records: WalRecord[]): string {
  // The payload minus its own trailing CRC (a CRC over data + its CRC is a constant).
  const digest = records.reduce(
    (h, r) => mix(h, r.lsn, crc32c(r.payload, 0, r.payload.length - 4)),
    0,
  )
  return `${records.length} records (digest ${digest})`
}

/**
 * Opens `damaged` with a crash at every step of the open; every image of every such crash must
 * recover exactly the records an uninterrupted open recovers, and keep them through one more
 * power loss.
 */
async function enumerateRecoveryCrashes(damaged: SimFs, repair: boolean) {
  const expected = describeRecords(await recoverRecords(damaged.clone(), SEED, repair))
  const counter = damaged.clone()
  const uninterrupted = await openWal(DIR, walOptions(counter, SEED, { repair }))
  const steps = counter.steps
  await uninterrupted.close()
  const problems: string[] = []
  for (let j = 0; j < steps; j++) {
    const fs = damaged.clone()
    fs.armCrash(j)
    await openWal(DIR, walOptions(fs, SEED, { repair })).then(
      () => problems.push(`open did not crash at step ${j}`),
      (error: unknown) => {
        if (!isCrash(error)) problems.push(`step ${j}: open failed: ${describeError(error)}`)
      },
    )
    for (const damage of [...damages(j, ALL_MODES, BUDGET.recoveryImageSeeds), PROCESS_CRASH]) {
      const label = `crash at recovery step ${j}/${steps}, ${damage.label}`
      const image = damage.apply(fs)
      try {
        const wal = await openWal(DIR, walOptions(image, mix(SEED, j), { repair }))
        const got = describeRecords(await readAll(wal))
        const powerLoss = image.crashImage('drop', createRng(mix(SEED, j)))
        await wal.close()
        const kept = describeRecords(await recoverRecords(powerLoss, SEED, repair))
        if (got !== expected) problems.push(`${label}: ${got}, expected ${expected}`)
        else if (kept !== expected) problems.push(`${label}: after power loss ${kept}`)
      } catch (error) {
        problems.push(`${label}: second open failed: ${describeError(error)}`)
      }
    }
  }
  return { steps, problems }
}

/** Offset of the last record of a segment file (walks the record lengths after the header). */
function lastRecordOffset(segment: Uint8Array): number {
  const view = new DataView(segment.buffer, segment.byteOffset, segment.byteLength)
  let at = 32
  let last = at
  while (at + 24 <= segment.length) {
    last = at
    at += (24 + view.getUint32(at, true) + 7) & ~7
  }
  return last
}

/** What kind of torn tail a damaged image should have. */
type TornKind = 'records' | 'header'

/**
 * A crash image whose recovery cuts a torn tail of the wanted kind: torn records after a valid
 * header, or a segment header cut short (1–24 bytes left).
 */
async function findTornTailImage(plan: Plan, kind: TornKind): Promise<SimFs> {
  const clean = createSimFs()
  await runWorkload(clean, plan)
  for (let k = clean.steps; k >= 0; k--) {
    const fs = createSimFs({ crashAtStep: k })
    await runWorkload(fs, plan)
    for (let v = 0; v < 16; v++) {
      const image = fs.crashImage('tear', createRng(mix(SEED, k, v)))
      const probe = await openWal(DIR, walOptions(image.clone(), SEED))
      await probe.close()
      const torn = probe.recovery.tornTail
      if (torn === null || probe.recovery.records < 10) continue
      // Cut before the header's LSN field, so zero padding cannot complete it by chance.
      const header = torn.offset === 0 && torn.bytesCut > 0 && torn.bytesCut <= 24
      if (header === (kind === 'header')) return image
    }
  }
  throw new Error(`harness: no image with a torn ${kind} tail found\n${REPRO}`)
}

describe('WAL crash during recovery', () => {
  const plan: Plan = { seed: SEED, ...BUDGET, durability: 'sync' }

  const tornCases: Array<[TornKind, string]> = [
    ['records', 'cutting torn records'],
    ['header', 'replacing a torn segment header'],
  ]
  for (const [kind, name] of tornCases) {
    it(`recovers the same records after a crash at any step of ${name}`, TIMEOUT, async () => {
      const damaged = await findTornTailImage(plan, kind)
      const result = await enumerateRecoveryCrashes(damaged, false)
      console.info(`wal-crash-points torn ${kind} recovery: seed=${SEED} steps=${result.steps}`)
      expect(result.problems, report(result.problems)).toEqual([])
    })
  }

  it('recovers the same records after a crash at any step of a repair', TIMEOUT, async () => {
    const fs = createSimFs()
    await runWorkload(fs, plan)
    const damaged = fs.crashImage('keep', createRng(SEED))
    const segments = damaged.listSync(DIR)
    expect(segments.length).toBeGreaterThan(3)
    // Flip a payload byte of the last record of the second segment: corruption, not a tail, with
    // valid records before it in the same segment (the repair must keep them).
    const victim = `${DIR}/${segments[1] as string}`
    const offset = lastRecordOffset(damaged.readFileSync(victim)) + 24
    expect(offset).toBeGreaterThan(32 + 24)
    damaged.corrupt(
      victim,
      offset,
      new Uint8Array([(damaged.readFileSync(victim)[offset] ?? 0) ^ 1]),
    )
    const plain = await openWal(DIR, walOptions(damaged.clone(), SEED)).then(
      async (wal) => wal.close().then(() => 'opened'),
      (error: unknown) => (isStarlingError(error, 'WAL_CORRUPTION') ? 'corrupt' : String(error)),
    )
    expect(plain).toBe('corrupt')
    const result = await enumerateRecoveryCrashes(damaged, true)
    console.info(`wal-crash-points repair recovery: seed=${SEED} steps=${result.steps}`)
    expect(result.problems, report(result.problems)).toEqual([])
  })
})
