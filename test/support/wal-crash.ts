/**
 * Crash-point machinery for the write-ahead log on the simulated file layer (docs/testing.md, I1, I4),
 * shared by the crash-point enumeration (`test/crash/wal-crash-points.test.ts`) and the replayed
 * regressions it found (`test/regressions/wal-crash-regressions.test.ts`).
 *
 * - {@link runWorkload}: concurrent writer loops appending checksummed payloads (small segments,
 *   so rotations happen), recording what was attempted and what was acknowledged.
 * - {@link damages}: what a crash can leave behind — a power-loss image per mode (several image
 *   seeds for the random ones) or a process crash ({@link PROCESS_CRASH}).
 * - {@link checkRecovery}: reopens a damaged disk and checks the recovered records against the
 *   outcome, then that an append after recovery survives power loss and a reopen.
 * - {@link enumerateCrashPoints} and {@link enumerateRecoveryCrashes}: crash at every step (or a
 *   window of steps) of a workload, or of an open of a damaged log.
 * - {@link findTornTailImage} and {@link corruptRecordImage}: the damaged logs whose recovery is
 *   crashed.
 *
 * Every function takes the run seed explicitly: image seeds are derived from it with {@link mix},
 * so a scenario found by the enumeration replays exactly from (seed, step, mode, variant).
 */
import { crc32c } from '../../src/core/crc32c.js'
import { isStarlingError } from '../../src/core/errors.js'
import { createRng } from '../../src/core/random.js'
import type { Rng } from '../../src/core/random.js'
import { SimCrashError, createSimFs, createVirtualEnv } from '../../src/testing/index.js'
import type { CrashMode, SimFs } from '../../src/testing/index.js'
import { openWal } from '../../src/wal/index.js'
import type { Durability, Wal, WalOptions, WalRecord } from '../../src/wal/index.js'
import { readAll } from './wal.js'

/** The log directory on the simulated disk. */
export const DIR = '/data/wal'
/** Default segment size: small, so a workload rotates often. */
export const SEGMENT_BYTES = 512
/** Largest payload {@link encodePayload} makes. */
export const PAYLOAD_BYTES_MAX = 64

/** Every power-loss mode, in the order image seeds are derived from (see {@link damages}). */
export const ALL_MODES: readonly CrashMode[] = ['drop', 'keep', 'tear', 'sectors', 'zero-extend']

/** The damage applied to a crashed disk: a power-loss mode with an image seed, or a process crash. */
export interface Damage {
  label: string
  /** The power-loss mode, or `'process'` for a process crash. */
  mode: CrashMode | 'process'
  apply(fs: SimFs): SimFs
}

/** A workload: how it writes, and which of its appends were attempted and acknowledged. */
export interface Plan {
  seed: number
  writers: number
  records: number
  durability: Durability
  /** Segment size (default {@link SEGMENT_BYTES}). */
  segmentBytesMax?: number
  /** Small batches, so appends wait for room (needs a small `recordBytesMax` too). */
  batchBytesMax?: number
}

/** What a workload did. */
export interface Outcome {
  /** Payloads in append-call order; the one at index i was assigned LSN i + 1. */
  attempted: Uint8Array[]
  acked: Set<number>
}

/** Steps to crash at: every step from `from` to `to`, both included. */
export interface StepWindow {
  from: number
  to: number
}

/** A 32-bit hash of `parts`, for deriving image seeds from the run seed. */
export function mix(...parts: number[]): number {
  let h = 0x811c9dc5
  for (const part of parts) {
    h = Math.imul(h ^ (part >>> 0), 0x01000193)
    h ^= h >>> 15
  }
  return h >>> 0
}

/** The power-loss image of `mode` drawn with `imageSeed`. */
export function powerLoss(mode: CrashMode, imageSeed: number): Damage {
  return {
    label: `${mode}(image seed ${imageSeed})`,
    mode,
    apply: (fs) => fs.crashImage(mode, createRng(imageSeed)),
  }
}

/** A process crash: the operating system's cache survives, unsynced changes included. */
export const PROCESS_CRASH: Damage = {
  label: 'process crash',
  mode: 'process',
  apply: (fs) => fs.clone(),
}

/** Whether `mode` draws a different image per seed (and so gets several variants). */
function isRandomMode(mode: CrashMode): boolean {
  return mode === 'tear' || mode === 'sectors'
}

/**
 * The image seed of variant `variant` of the mode at `modeIndex` in the mode list, for a crash
 * at step `k` of a run with `seed`.
 */
export function imageSeed(seed: number, k: number, modeIndex: number, variant: number): number {
  return mix(seed, k, modeIndex, variant)
}

/** Every damage to check for a crash at step `k`: `seeds` variants of each random mode. */
export function damages(
  seed: number,
  k: number,
  modes: readonly CrashMode[],
  seeds: number,
): Damage[] {
  const list: Damage[] = []
  modes.forEach((mode, m) => {
    const variants = isRandomMode(mode) ? seeds : 1
    for (let v = 0; v < variants; v++) list.push(powerLoss(mode, imageSeed(seed, k, m, v)))
  })
  return list
}

/** Writer id, sequence number, random filler and a CRC32C of all that. */
export function encodePayload(rng: Rng, writer: number, seq: number): Uint8Array {
  const filler = rng.int(PAYLOAD_BYTES_MAX - 10 + 1)
  const bytes = new Uint8Array(10 + filler)
  const view = new DataView(bytes.buffer)
  view.setUint16(0, writer, true)
  view.setUint32(2, seq, true)
  bytes.set(rng.bytes(filler), 6)
  view.setUint32(6 + filler, crc32c(bytes, 0, 6 + filler), true)
  return bytes
}

/** Options opening the log on `fs` with a virtual environment seeded by `seed`. */
export function walOptions(fs: SimFs, seed: number, extra: Partial<WalOptions> = {}): WalOptions {
  return {
    fs,
    env: createVirtualEnv({ seed }),
    segmentBytesMax: SEGMENT_BYTES,
    ...extra,
  }
}

/** Whether `error` is the simulated crash. */
export function isCrash(error: unknown): boolean {
  return error instanceof SimCrashError
}

/** Runs the workload on `fs` (which may crash at some step) and says what happened. */
export async function runWorkload(fs: SimFs, plan: Plan): Promise<Outcome> {
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

/** The I/O steps S of an uninterrupted run of the workload (crash points are 0…S). */
export async function workloadSteps(plan: Plan): Promise<number> {
  const clean = createSimFs()
  await runWorkload(clean, plan)
  return clean.steps
}

/** Runs the workload crashing at step `k`: the crashed disk and what the workload saw. */
export async function crashWorkload(
  plan: Plan,
  k: number,
): Promise<{ fs: SimFs; outcome: Outcome }> {
  const fs = createSimFs({ crashAtStep: k })
  const outcome = await runWorkload(fs, plan)
  return { fs, outcome }
}

function sameBytes(a: Uint8Array, b: Uint8Array | undefined): boolean {
  return b !== undefined && a.length === b.length && a.every((x, i) => x === b[i])
}

/** Problems with `records` as the recovery of `outcome`. */
export function checkRecords(records: WalRecord[], outcome: Outcome): string[] {
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

/** An error's code and message, for a problem line. */
export function describeError(error: unknown): string {
  const code = (error as { code?: string }).code ?? ''
  return `${code} ${error instanceof Error ? error.message : String(error)}`
}

/**
 * Opens the log on `fs` and checks what it recovers; then appends one record, takes a power-loss
 * image (`drop`) and checks the reopened image still holds everything acknowledged.
 */
export async function checkRecovery(fs: SimFs, outcome: Outcome, seed: number): Promise<string[]> {
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
  const powerLossImage = fs.crashImage('drop', createRng(seed))
  await wal.close()
  for (const [label, target] of [
    ['power loss after the append', powerLossImage],
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

/** The seed {@link enumerateCrashPoints} checks the recovery of a crash at step `k` with. */
export function recoverySeed(seed: number, k: number): number {
  return mix(seed, k, 99)
}

/** Options of {@link enumerateCrashPoints}. */
export interface CrashPointOptions {
  /** The run seed image seeds are derived from. */
  seed: number
  /** Variants of each random damage mode per crash point. */
  imageSeeds: number
  /** Also check a process crash at every step (default true). */
  processCrash?: boolean
  /** Only crash at these steps (default every step 0…S). */
  window?: StepWindow
  /** The damages to check at step `k`, instead of {@link damages} (and the process crash). */
  damagesAt?: (k: number) => Damage[]
}

/**
 * Runs the workload crashing at every step 0…S (or every step of `window` within it) and checks
 * every damage of every crash.
 */
export async function enumerateCrashPoints(
  plan: Plan,
  modes: readonly CrashMode[],
  options: CrashPointOptions,
): Promise<{ steps: number; images: number; problems: string[] }> {
  const { seed, imageSeeds, processCrash = true, window, damagesAt } = options
  const steps = await workloadSteps(plan)
  const problems: string[] = []
  let images = 0
  const from = Math.max(0, window?.from ?? 0)
  const to = Math.min(steps, window?.to ?? steps)
  for (let k = from; k <= to; k++) {
    const { fs, outcome } = await crashWorkload(plan, k)
    if (fs.crashed !== k < steps) problems.push(`step ${k}: crashed=${fs.crashed}, S=${steps}`)
    const list = damagesAt?.(k) ?? damages(seed, k, modes, imageSeeds)
    if (processCrash && damagesAt === undefined) list.push(PROCESS_CRASH)
    for (const damage of list) {
      images++
      const found = await checkRecovery(damage.apply(fs), outcome, recoverySeed(seed, k))
      for (const problem of found)
        problems.push(`crash at step ${k}/${steps}, ${damage.label}: ${problem}`)
    }
  }
  return { steps, images, problems }
}

/** A failure message: the first problems, the seed and the command that replays the run. */
export function report(problems: string[], seed: number, repro: string): string {
  const shown = problems.slice(0, 12).join('\n  ')
  return `${problems.length} violation(s), seed ${seed}:\n  ${shown}\n${repro}`
}

/** Records recovered by opening `fs` (which recovery may change: pass a clone to keep one). */
export async function recoverRecords(
  fs: SimFs,
  seed: number,
  repair: boolean,
): Promise<WalRecord[]> {
  const wal = await openWal(DIR, walOptions(fs, seed, { repair }))
  const records = await readAll(wal)
  await wal.close()
  return records
}

/** A count and digest of `records`, equal for equal records. */
export function describeRecords(records: WalRecord[]): string {
  // The payload minus its own trailing CRC (a CRC over data + its CRC is a constant).
  const digest = records.reduce(
    (h, r) => mix(h, r.lsn, crc32c(r.payload, 0, r.payload.length - 4)),
    0,
  )
  return `${records.length} records (digest ${digest})`
}

/**
 * Opens a clone of `damaged` crashing at step `j` of the open: the crashed disk, and a problem
 * when the open did not end in that crash.
 */
export async function crashRecovery(
  damaged: SimFs,
  repair: boolean,
  j: number,
  seed: number,
): Promise<{ fs: SimFs; problem: string | undefined }> {
  const fs = damaged.clone()
  fs.armCrash(j)
  const problem = await openWal(DIR, walOptions(fs, seed, { repair })).then(
    () => `open did not crash at step ${j}`,
    (error: unknown) =>
      isCrash(error) ? undefined : `step ${j}: open failed: ${describeError(error)}`,
  )
  return { fs, problem }
}

/** Options of {@link enumerateRecoveryCrashes}. */
export interface RecoveryCrashOptions {
  /** The run seed: environments and image seeds are derived from it. */
  seed: number
  /** Variants of each random damage mode per crash point. */
  imageSeeds: number
  /** Only crash at these steps of the open (default every one). */
  window?: StepWindow
  /** The damages to check at step `j`, instead of every mode's (and the process crash). */
  damagesAt?: (j: number) => Damage[]
}

/**
 * Opens `damaged` with a crash at every step of the open (or every step of `window`); every image
 * of every such crash must recover exactly the records an uninterrupted open recovers, and keep
 * them through one more power loss.
 */
export async function enumerateRecoveryCrashes(
  damaged: SimFs,
  repair: boolean,
  options: RecoveryCrashOptions,
): Promise<{ steps: number; expected: string; problems: string[] }> {
  const { seed, imageSeeds, window, damagesAt } = options
  const expected = describeRecords(await recoverRecords(damaged.clone(), seed, repair))
  const counter = damaged.clone()
  const uninterrupted = await openWal(DIR, walOptions(counter, seed, { repair }))
  const steps = counter.steps
  await uninterrupted.close()
  const problems: string[] = []
  const from = Math.max(0, window?.from ?? 0)
  const to = Math.min(steps - 1, window?.to ?? steps - 1)
  for (let j = from; j <= to; j++) {
    const { fs, problem } = await crashRecovery(damaged, repair, j, seed)
    if (problem !== undefined) problems.push(problem)
    const list = damagesAt?.(j) ?? [...damages(seed, j, ALL_MODES, imageSeeds), PROCESS_CRASH]
    for (const damage of list) {
      const label = `crash at recovery step ${j}/${steps}, ${damage.label}`
      const image = damage.apply(fs)
      try {
        const wal = await openWal(DIR, walOptions(image, mix(seed, j), { repair }))
        const got = describeRecords(await readAll(wal))
        const powerLossImage = image.crashImage('drop', createRng(mix(seed, j)))
        await wal.close()
        const kept = describeRecords(await recoverRecords(powerLossImage, seed, repair))
        if (got !== expected) problems.push(`${label}: ${got}, expected ${expected}`)
        else if (kept !== expected) problems.push(`${label}: after power loss ${kept}`)
      } catch (error) {
        problems.push(`${label}: second open failed: ${describeError(error)}`)
      }
    }
  }
  return { steps, expected, problems }
}

/** Offset of the last record of a segment file (walks the record lengths after the header). */
export function lastRecordOffset(segment: Uint8Array): number {
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
export type TornKind = 'records' | 'header'

/** A torn-tail image, and the workload crash step and `tear` variant it was drawn from. */
export interface TornTailImage {
  image: SimFs
  step: number
  variant: number
}

/**
 * A crash image whose recovery cuts a torn tail of the wanted kind: torn records after a valid
 * header, or a segment header cut short (1–24 bytes left). Searches the workload's crash points
 * from the last one back, 16 `tear` images each; throws when none fits.
 */
export async function findTornTailImage(
  plan: Plan,
  kind: TornKind,
  seed: number,
  repro = '',
): Promise<TornTailImage> {
  const steps = await workloadSteps(plan)
  for (let k = steps; k >= 0; k--) {
    const { fs } = await crashWorkload(plan, k)
    for (let v = 0; v < 16; v++) {
      const image = fs.crashImage('tear', createRng(mix(seed, k, v)))
      const probe = await openWal(DIR, walOptions(image.clone(), seed))
      await probe.close()
      const torn = probe.recovery.tornTail
      if (torn === null || probe.recovery.records < 10) continue
      // Cut before the header's LSN field, so zero padding cannot complete it by chance.
      const header = torn.offset === 0 && torn.bytesCut > 0 && torn.bytesCut <= 24
      if (header === (kind === 'header')) return { image, step: k, variant: v }
    }
  }
  throw new Error(`harness: no image with a torn ${kind} tail found\n${repro}`)
}

/** A log with a corrupt record (not a torn tail) and valid records before it in its segment. */
export interface CorruptRecordImage {
  damaged: SimFs
  /** Segment files the workload left. */
  segments: number
  /** Offset of the flipped byte in the second segment. */
  offset: number
}

/**
 * Runs the workload to completion, takes its `keep` image and flips a payload byte of the last
 * record of the second segment: corruption, not a tail, with valid records before it in the same
 * segment (a repair must keep them).
 */
export async function corruptRecordImage(plan: Plan, seed: number): Promise<CorruptRecordImage> {
  const fs = createSimFs()
  await runWorkload(fs, plan)
  const damaged = fs.crashImage('keep', createRng(seed))
  const segments = damaged.listSync(DIR)
  const second = segments[1]
  if (second === undefined) return { damaged, segments: segments.length, offset: 0 }
  const victim = `${DIR}/${second}`
  const offset = lastRecordOffset(damaged.readFileSync(victim)) + 24
  damaged.corrupt(victim, offset, new Uint8Array([(damaged.readFileSync(victim)[offset] ?? 0) ^ 1]))
  return { damaged, segments: segments.length, offset }
}

/** How a plain open (no repair) of `fs` ends: `'opened'`, `'corrupt'` or the error. */
export async function plainOpen(fs: SimFs, seed: number): Promise<string> {
  return openWal(DIR, walOptions(fs, seed)).then(
    async (wal) => wal.close().then(() => 'opened'),
    (error: unknown) => (isStarlingError(error, 'WAL_CORRUPTION') ? 'corrupt' : String(error)),
  )
}
