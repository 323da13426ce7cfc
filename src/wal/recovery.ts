/**
 * Opening a log directory: finish an interrupted repair, validate every segment, cut a torn tail,
 * fail on corruption (or repair it when asked), and make what was found durable. Idempotent: a
 * crash at any step of recovery recovers to the same records on the next open.
 */
import { StarlingError } from '../core/errors.js'
import type { Env } from '../core/env.js'
import type { Lsn } from '../core/ids.js'
import { WAL_LIMITS } from '../core/limits.js'
import { joinPath, type FileLayer } from './file-layer.js'
import {
  SEGMENT_HEADER_BYTES,
  encodeSegmentHeader,
  parseSegmentName,
  segmentName,
} from './format.js'
import { PositionIndex } from './position-index.js'
import { scanSegment, type SegmentProblem } from './scan.js'

/** Suffix of a segment that recovery set aside as damaged. */
export const BROKEN_SUFFIX = '.broken'
/** Suffix of a segment set aside because the log continued past it (see `startLsn`). */
export const SUPERSEDED_SUFFIX = '.superseded'
const REPAIR_SUFFIX = '.repair'

/** What recovery found and did; exposed as `wal.recovery`. */
export interface RecoveryReport {
  /** Segments in the log after recovery. */
  segments: number
  /** Valid records in the log after recovery. */
  records: number
  /** Oldest LSN still in the log (equals `lastLsn + 1` when the log is empty). */
  firstLsn: Lsn
  /** Newest LSN in the log, 0 when no record was ever written. */
  lastLsn: Lsn
  /** The torn tail that was cut, if any. */
  tornTail: { segment: string; offset: number; bytesCut: number; reason: string } | null
  /** Corruption found and repaired (only with `repair: true`; otherwise open fails). */
  corruption: {
    segment: string
    offset: number
    reason: string
    brokenFiles: string[]
  } | null
  /**
   * The log ended before `startLsn − 1` and continues at `startLsn` (see `WalOptions.startLsn`):
   * the LSN it ended at and the segments renamed `*.superseded`.
   */
  restarted: { lastLsnBefore: Lsn; startLsn: Lsn; supersededFiles: string[] } | null
  /** Whether an earlier, interrupted repair was completed. */
  resumedRepair: boolean
  durationMs: number
}

/** A segment of the recovered log. */
export interface RecoveredSegment {
  name: string
  firstLsn: number
  lastLsn: number
  /** Bytes of header plus valid records. */
  size: number
  salt: Uint8Array
  /** Read index of the valid records, built while validating them. */
  index: PositionIndex
}

/** Everything the writer needs after recovery. */
export interface Recovered {
  report: RecoveryReport
  segments: RecoveredSegment[]
}

/** Recovery inputs. */
export interface RecoveryOptions {
  fs: FileLayer
  env: Env
  dir: string
  repair: boolean
  recordBytesMax: number
  /** See `WalOptions.startLsn` (1: none). */
  startLsn: number
}

/** Reads a whole file through the file layer. */
export async function readWholeFile(fs: FileLayer, path: string): Promise<Uint8Array> {
  const file = await fs.open(path, 'read')
  try {
    const size = await file.size()
    const bytes = new Uint8Array(size)
    let done = 0
    while (done < size) {
      const n = await file.read(bytes, done, size - done, done)
      if (n === 0) break
      done += n
    }
    return done === size ? bytes : bytes.subarray(0, done)
  } finally {
    await file.close()
  }
}

/** Segment file names in `dir`, oldest first. */
export async function listSegments(fs: FileLayer, dir: string): Promise<string[]> {
  const names = (await fs.list(dir)).filter((name) => parseSegmentName(name) !== undefined)
  return names.sort()
}

interface ScanState {
  segments: RecoveredSegment[]
  records: number
  tornTail: RecoveryReport['tornTail']
  corruption: RecoveryReport['corruption']
}

/** Runs recovery on a locked log directory. */
export async function recoverLog(options: RecoveryOptions): Promise<Recovered> {
  const started = options.env.monotonicMs()
  const resumedRepair = await finishInterruptedRepair(options)
  const names = await listSegments(options.fs, options.dir)
  const state: ScanState = { segments: [], records: 0, tornTail: null, corruption: null }
  for (let i = 0; i < names.length; i++) {
    const stop = await recoverSegment(options, state, names, i)
    if (stop) break
  }
  const restarted = await restartBefore(options, state)
  if (state.segments.length === 0) {
    state.segments.push(await createFirstSegment(options, Math.max(1, options.startLsn)))
  }
  const last = state.segments[state.segments.length - 1] as RecoveredSegment
  await syncFile(options.fs, joinPath(options.dir, last.name))
  // The previous process may have died between creating a segment and syncing the directory: its
  // entry can still be only in the OS cache. Records recovered from it, and new ones appended to
  // it, must not vanish with that entry on a later power loss.
  await options.fs.syncDir(options.dir)
  const first = state.segments[0] as RecoveredSegment
  const report: RecoveryReport = {
    segments: state.segments.length,
    records: state.records,
    firstLsn: first.firstLsn as Lsn,
    lastLsn: last.lastLsn as Lsn,
    tornTail: state.tornTail,
    corruption: state.corruption,
    restarted,
    resumedRepair,
    durationMs: options.env.monotonicMs() - started,
  }
  return { report, segments: state.segments }
}

/**
 * Sets every segment aside as `*.superseded` when the log ends before `startLsn − 1`, so that it
 * continues at `startLsn` (a new first segment). A crash in between leaves no segment, and the
 * next open with the same `startLsn` creates it.
 */
async function restartBefore(
  options: RecoveryOptions,
  state: ScanState,
): Promise<RecoveryReport['restarted']> {
  const last = state.segments[state.segments.length - 1]
  const lastLsnBefore = last === undefined ? 0 : last.lastLsn
  if (lastLsnBefore + 1 >= options.startLsn) return null
  const names = state.segments.map((segment) => segment.name)
  const supersededFiles = await setAside(options, names, SUPERSEDED_SUFFIX)
  state.segments = []
  state.records = 0
  return {
    lastLsnBefore: lastLsnBefore as Lsn,
    startLsn: options.startLsn as Lsn,
    supersededFiles,
  }
}

/** Validates segment `names[i]`; returns true when recovery stops there (repaired corruption). */
async function recoverSegment(
  options: RecoveryOptions,
  state: ScanState,
  names: string[],
  i: number,
): Promise<boolean> {
  const name = names[i] as string
  const nameLsn = parseSegmentName(name) as number
  const bytes = await readWholeFile(options.fs, joinPath(options.dir, name))
  const isLast = i === names.length - 1
  const index = new PositionIndex(WAL_LIMITS.readIndexStrideBytes)
  const scan = scanSegment(bytes, {
    nameLsn,
    isLast,
    recordBytesMax: options.recordBytesMax,
    onRecord: (lsn, _type, _payload, offset) => index.note(lsn, offset),
  })
  const previous = state.segments[state.segments.length - 1]
  if (previous !== undefined && nameLsn !== previous.lastLsn + 1) {
    const problem = {
      kind: 'corrupt' as const,
      offset: 0,
      reason: `missing records: expected LSN ${previous.lastLsn + 1}`,
    }
    if (!options.repair) throw corruptionError(name, problem)
    const brokenFiles = await setAside(options, names.slice(i))
    state.corruption = { segment: name, offset: 0, reason: problem.reason, brokenFiles }
    return true
  }
  const segment: RecoveredSegment = {
    name,
    firstLsn: nameLsn,
    lastLsn: scan.lastLsn,
    size: scan.validEnd,
    salt: scan.header?.salt ?? new Uint8Array(0),
    index,
  }
  state.records += scan.records
  state.segments.push(segment)
  if (scan.problem === undefined) return false
  if (scan.problem.kind === 'corrupt' && !options.repair) throw corruptionError(name, scan.problem)
  const replacement = replacementBytes(options, bytes, scan.validEnd, nameLsn)
  segment.size = replacement.length
  segment.salt = replacement.subarray(16, 24).slice()
  const { offset, reason } = scan.problem
  if (scan.problem.kind === 'torn') {
    await rewriteTail(options, name, replacement, scan.validEnd)
    state.tornTail = { segment: name, offset, bytesCut: bytes.length - scan.validEnd, reason }
    return false
  }
  const brokenFiles = await replaceAndSetAside(options, names.slice(i), replacement)
  state.corruption = { segment: name, offset, reason, brokenFiles }
  return true
}

/** The bytes a damaged segment keeps: its valid prefix, or a fresh header if that was damaged. */
function replacementBytes(
  options: RecoveryOptions,
  bytes: Uint8Array,
  validEnd: number,
  nameLsn: number,
): Uint8Array {
  if (validEnd >= SEGMENT_HEADER_BYTES) return bytes.subarray(0, validEnd)
  return encodeSegmentHeader(options.env.randomBytes(8), nameLsn)
}

/**
 * Cuts a torn tail: truncates to the valid prefix and syncs; a segment whose header was torn is
 * replaced whole instead (see {@link replaceTornHeader}).
 */
async function rewriteTail(
  options: RecoveryOptions,
  name: string,
  replacement: Uint8Array,
  validEnd: number,
): Promise<void> {
  if (validEnd < SEGMENT_HEADER_BYTES) return replaceTornHeader(options, name, replacement)
  const file = await options.fs.open(joinPath(options.dir, name), 'readwrite')
  try {
    await file.truncate(validEnd)
    await file.sync()
  } finally {
    await file.close()
  }
}

/**
 * Replaces a segment whose header was torn with a fresh header, atomically: written and synced as
 * `<name>.repair`, then renamed over the segment. Rewriting the header in place is not crash-safe:
 * power loss can keep the new size but the old bytes, a damaged header that is no longer torn.
 * An interrupted replacement leaves the torn segment (its `.repair` file is discarded on the next
 * open and the cut runs again) or the new one.
 */
async function replaceTornHeader(
  options: RecoveryOptions,
  name: string,
  header: Uint8Array,
): Promise<void> {
  const repairPath = joinPath(options.dir, name + REPAIR_SUFFIX)
  await writeSyncedFile(options.fs, repairPath, header)
  await options.fs.rename(repairPath, joinPath(options.dir, name))
  await options.fs.syncDir(options.dir)
}

/**
 * Repairs corruption in `names[0]`: its valid prefix is written and synced as `<name>.repair`,
 * the damaged file and every later segment are renamed to `*.broken`, then the repair file takes
 * the segment's name. An interruption is finished by {@link finishInterruptedRepair}.
 */
async function replaceAndSetAside(
  options: RecoveryOptions,
  names: string[],
  replacement: Uint8Array,
): Promise<string[]> {
  const name = names[0] as string
  const repairPath = joinPath(options.dir, name + REPAIR_SUFFIX)
  const existing = await options.fs.list(options.dir)
  if (existing.includes(name + REPAIR_SUFFIX)) await options.fs.remove(repairPath)
  await writeSyncedFile(options.fs, repairPath, replacement)
  // The repair file's entry must be durable before the damaged segment is renamed away: without
  // this, a crash could keep the rename but lose the new file, and with it the valid prefix.
  await options.fs.syncDir(options.dir)
  const brokenFiles = await setAside(options, [name])
  await options.fs.rename(repairPath, joinPath(options.dir, name))
  await options.fs.syncDir(options.dir)
  return brokenFiles.concat(await setAside(options, names.slice(1)))
}

/** Renames segments to a free `*<suffix>` name, newest first, and syncs the directory. */
async function setAside(
  options: RecoveryOptions,
  names: string[],
  suffix = BROKEN_SUFFIX,
): Promise<string[]> {
  const existing = new Set(await options.fs.list(options.dir))
  const moved: string[] = []
  for (const name of [...names].reverse()) {
    let target = name + suffix
    for (let n = 1; existing.has(target); n++) target = `${name}${suffix}.${n}`
    existing.add(target)
    await options.fs.rename(joinPath(options.dir, name), joinPath(options.dir, target))
    moved.unshift(target)
  }
  await options.fs.syncDir(options.dir)
  return moved
}

/**
 * Completes a repair cut short by a crash: a `<name>.repair` file whose segment was already set
 * aside takes the segment's name; one whose segment is still there is discarded (the repair runs
 * again). Returns whether anything was done.
 */
async function finishInterruptedRepair(options: RecoveryOptions): Promise<boolean> {
  const names = await options.fs.list(options.dir)
  const pending = names.filter((name) => name.endsWith(REPAIR_SUFFIX))
  for (const repairName of pending) {
    const name = repairName.slice(0, -REPAIR_SUFFIX.length)
    const from = joinPath(options.dir, repairName)
    if (names.includes(name)) await options.fs.remove(from)
    else await options.fs.rename(from, joinPath(options.dir, name))
  }
  if (pending.length > 0) await options.fs.syncDir(options.dir)
  return pending.some((repairName) => !names.includes(repairName.slice(0, -REPAIR_SUFFIX.length)))
}

async function createFirstSegment(
  options: RecoveryOptions,
  firstLsn: number,
): Promise<RecoveredSegment> {
  const name = segmentName(firstLsn)
  const header = encodeSegmentHeader(options.env.randomBytes(8), firstLsn)
  await writeSyncedFile(options.fs, joinPath(options.dir, name), header)
  await options.fs.syncDir(options.dir)
  return {
    name,
    firstLsn,
    lastLsn: firstLsn - 1,
    size: header.length,
    salt: header.subarray(16, 24).slice(),
    index: new PositionIndex(WAL_LIMITS.readIndexStrideBytes),
  }
}

/**
 * Creates the file at `path` (which must not exist) holding `bytes`, synced and closed. Its entry
 * in the directory is not yet durable: the caller syncs the directory (now, or after a rename).
 */
async function writeSyncedFile(fs: FileLayer, path: string, bytes: Uint8Array): Promise<void> {
  const file = await fs.open(path, 'create')
  try {
    await file.write(bytes, 0)
    await file.sync()
  } finally {
    await file.close()
  }
}

async function syncFile(fs: FileLayer, path: string): Promise<void> {
  const file = await fs.open(path, 'readwrite')
  try {
    await file.sync()
  } finally {
    await file.close()
  }
}

function corruptionError(segment: string, problem: SegmentProblem): StarlingError {
  return new StarlingError(
    'WAL_CORRUPTION',
    `WAL segment ${segment} is corrupt at offset ${problem.offset}: ${problem.reason}. ` +
      'Open with { repair: true } to keep the valid records before it and set the rest aside.',
    { segment, offset: problem.offset, reason: problem.reason },
  )
}
