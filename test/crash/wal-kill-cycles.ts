/**
 * Kill cycles of the write-ahead log on the SIGKILL harness (`sigkill-harness.ts`, I1 in
 * docs/guarantees.md). Each cycle releases `wal-writer-child.ts` on the same directory, lets its
 * writers append for a seeded 20–250 ms, kills it with SIGKILL, then opens the log in this
 * process and checks it:
 *
 * - every acknowledgement the child reported (lsn → writer, seq) is in the log with exactly that
 *   probe's bytes — zero acknowledged records lost;
 * - every record is a valid probe of a run this harness started, each writer's sequence is
 *   contiguous from 0 and in LSN order (recovered ⊆ attempted, nothing duplicated or reordered);
 * - LSNs are gap-free from the log's first to its last record.
 *
 * Every other cycle the child hands each batch to the kernel in small pieces, so kills land
 * mid-batch and recovery has torn tails to cut (whole-batch writes are almost never torn by a
 * process kill). The log grows across cycles; segments are small so rotations get killed too,
 * and old segments are truncated to keep each check bounded.
 */
import { fileURLToPath } from 'node:url'
import { createRng } from '../../src/core/random.js'
import { isStarlingError } from '../../src/core/errors.js'
import { parseAckLine } from '../../src/demo/wal/ack-channel.js'
import { decodeProbe, type ProbeId } from '../../src/demo/wal/probe-payload.js'
import { openWal, type Durability, type Wal } from '../../src/wal/index.js'
import { releaseRunKill, runKillLoop, spawnCrashChild, type CrashChild } from './sigkill-harness.js'

/** Path of the child program. */
export const CHILD_PATH = fileURLToPath(new URL('./wal-writer-child.ts', import.meta.url))

/** Options of {@link runKillCycles}. */
export interface KillCycleOptions {
  /** Log directory, reused by every cycle (an existing log is appended to). */
  dir: string
  cycles: number
  seed: number
  /** Run the child on a disk that acknowledges before bytes reach the OS (must lose data). */
  lyingDisk?: boolean
  /**
   * Which cycles run the child on a disk layer that hands each write to the kernel in small
   * pieces (see wal-writer-child.ts), so kills land mid-batch and leave torn tails. Default
   * `alternate`: even cycles use the production layer unchanged. Ignored with `lyingDisk`.
   */
  splitWrites?: 'never' | 'alternate' | 'always'
  /** Concurrent writer loops in the child (default 256). */
  writers?: number
  durability?: Durability
  /** Range of the time the child runs before SIGKILL (default 20–250 ms). */
  runMsMin?: number
  runMsMax?: number
  /** Segment size of the child's log (default 1 MiB, so rotations happen often). */
  segmentBytesMax?: number
  /** Segments wholly older than the newest `retainRecords` records are truncated (default 60 000). */
  retainRecords?: number
  /** Called after each cycle is checked. */
  onCycle?: (cycle: CycleReport) => void
}

/** An acknowledged record that is not in the log as acknowledged. */
export interface LostRecord {
  cycle: number
  lsn: number
  writer: number
  seq: number
  /** What the log holds at that LSN instead. */
  found: string
}

/** What one kill cycle saw. */
export interface CycleReport {
  cycle: number
  runMs: number
  /** Acknowledgements received from the child. */
  acked: number
  /** Records of this cycle's child found in the log after the kill. */
  recovered: number
  lastLsn: number
  tornTail: string | null
  lost: LostRecord[]
  violations: string[]
}

/** Totals over all cycles. */
export interface KillReport {
  seed: number
  cycles: number
  acked: number
  recovered: number
  lost: LostRecord[]
  /** Broken invariants other than loss (bad records, gaps, unexpected exits…). */
  violations: string[]
  tornTails: number
  /** A few torn tails, as recovery described them. */
  tornTailExamples: string[]
  elapsedMs: number
  msPerCycle: number
}

/** How to start one child writer. */
export interface WriterChildOptions {
  dir: string
  run: number
  writers: number
  durability: Durability
  segmentBytesMax: number
  lyingDisk: boolean
  splitWrites: boolean
  awaitGo: boolean
}

/** An acknowledgement the child reported. */
export interface Ack {
  lsn: number
  writer: number
  seq: number
}

/** A running child writer (ready: the log's last LSN at open) and what it acknowledged. */
export interface WriterChild extends CrashChild<number> {
  readonly acks: Ack[]
}

/** Starts the child writer program (protocol: src/demo/wal/ack-channel.ts). */
export function spawnWriterChild(options: WriterChildOptions): WriterChild {
  const args = [
    options.dir,
    `--run=${options.run}`,
    `--writers=${options.writers}`,
    `--durability=${options.durability}`,
    `--segment-bytes=${options.segmentBytesMax}`,
  ]
  if (options.lyingDisk) args.push('--lying-disk')
  else if (options.splitWrites) args.push('--split-writes')
  if (options.awaitGo) args.push('--await-go')
  const acks: Ack[] = []
  const child = spawnCrashChild<number>({
    path: CHILD_PATH,
    args,
    onLine(line, ready) {
      const message = parseAckLine(line)
      if (message?.kind === 'ack') acks.push(message)
      else if (message?.kind === 'ready') ready(message.lastLsn)
      return message !== undefined
    },
  })
  return { ...child, acks }
}

/** State carried from cycle to cycle: what the log must contain. */
interface LogModel {
  /** Records at or below this LSN predate the harness and are not checked. */
  baselineLsn: number
  writers: number
  /** Acknowledged records still in the retained part of the log. */
  expected: Map<number, ProbeId & { cycle: number }>
  /** First LSN of each run, from its ready line. */
  runStartLsn: Map<number, number>
}

/** Runs `cycles` kill cycles on `options.dir` and reports what was acknowledged and found. */
export async function runKillCycles(options: KillCycleOptions): Promise<KillReport> {
  const started = performance.now()
  const rng = createRng(options.seed)
  const runMsMin = options.runMsMin ?? 20
  const runMsMax = options.runMsMax ?? 250
  const childOptions = (run: number): WriterChildOptions => ({
    dir: options.dir,
    run,
    writers: options.writers ?? 256,
    durability: options.durability ?? 'sync',
    segmentBytesMax: options.segmentBytesMax ?? 1024 * 1024,
    lyingDisk: options.lyingDisk === true,
    splitWrites:
      options.splitWrites === 'always' || (options.splitWrites !== 'never' && run % 2 === 1),
    awaitGo: true,
  })
  const model = await openModel(options.dir, options.writers ?? 256)
  const report: KillReport = {
    seed: options.seed,
    cycles: 0,
    acked: 0,
    recovered: 0,
    lost: [],
    violations: [],
    tornTails: 0,
    tornTailExamples: [],
    elapsedMs: 0,
    msPerCycle: 0,
  }
  await runKillLoop({
    cycles: options.cycles,
    spawn: (cycle) => spawnWriterChild(childOptions(cycle)),
    async cycle(child, cycle) {
      const runMs = runMsMin + rng.int(runMsMax - runMsMin + 1)
      const result = await runCycle(child, cycle, runMs, model, options)
      addCycle(report, result)
      options.onCycle?.(result)
    },
  })
  report.elapsedMs = performance.now() - started
  report.msPerCycle = report.cycles > 0 ? report.elapsedMs / report.cycles : 0
  return report
}

function addCycle(report: KillReport, result: CycleReport): void {
  report.cycles++
  report.acked += result.acked
  report.recovered += result.recovered
  report.lost.push(...result.lost)
  report.violations.push(...result.violations.map((v) => `cycle ${result.cycle}: ${v}`))
  if (result.tornTail !== null) {
    report.tornTails++
    if (report.tornTailExamples.length < 5) report.tornTailExamples.push(result.tornTail)
  }
}

async function openModel(dir: string, writers: number): Promise<LogModel> {
  const wal = await openWal(dir)
  const baselineLsn = wal.lastLsn
  await wal.close()
  return { baselineLsn, writers, expected: new Map(), runStartLsn: new Map() }
}

/** One cycle: go, run, SIGKILL, record the acknowledgements, check the log. */
async function runCycle(
  child: WriterChild,
  cycle: number,
  runMs: number,
  model: LogModel,
  options: KillCycleOptions,
): Promise<CycleReport> {
  const result: CycleReport = {
    cycle,
    runMs,
    acked: 0,
    recovered: 0,
    lastLsn: 0,
    tornTail: null,
    lost: [],
    violations: [],
  }
  const outcome = await releaseRunKill(child, 'go', () => runMs)
  result.violations.push(...outcome.violations)
  const startLsn = outcome.ready
  if (startLsn === undefined) return result
  model.runStartLsn.set(cycle, startLsn + 1)
  result.acked = child.acks.length
  for (const ack of child.acks) {
    if (ack.lsn <= startLsn)
      result.violations.push(`ack of LSN ${ack.lsn} at or below the start LSN ${startLsn}`)
    model.expected.set(ack.lsn, { cycle, run: cycle, writer: ack.writer, seq: ack.seq })
  }
  await checkLog(options, model, result)
  return result
}
/** Opens the log after a kill (repairing only if it must), checks it, truncates old segments. */
async function checkLog(
  options: KillCycleOptions,
  model: LogModel,
  result: CycleReport,
): Promise<void> {
  let wal: Wal
  try {
    wal = await openWal(options.dir)
  } catch (error) {
    if (!isStarlingError(error, 'WAL_CORRUPTION')) throw error
    result.violations.push(`open failed: ${error.message}`)
    wal = await openWal(options.dir, { repair: true })
  }
  try {
    const torn = wal.recovery.tornTail
    if (torn !== null)
      result.tornTail = `${torn.segment} @${torn.offset} cut ${torn.bytesCut} B (${torn.reason})`
    result.lastLsn = wal.lastLsn
    await scanLog(wal, model, result)
    const retain = options.retainRecords ?? 60_000
    if (wal.lastLsn - wal.firstLsn + 1 > retain) {
      await wal.truncateBefore(wal.lastLsn - retain)
      for (const lsn of model.expected.keys()) if (lsn < wal.firstLsn) model.expected.delete(lsn)
    }
  } finally {
    await wal.close()
  }
}

/** Reads every record of the log and checks it against the model. */
async function scanLog(wal: Wal, model: LogModel, result: CycleReport): Promise<void> {
  const nextSeq = new Map<number, number>()
  let lastSeen = wal.firstLsn - 1
  try {
    for await (const record of wal.read()) {
      if (record.lsn !== lastSeen + 1)
        result.violations.push(`LSN gap: ${record.lsn} follows ${lastSeen}`)
      lastSeen = record.lsn
      if (record.lsn <= model.baselineLsn) continue
      const id = decodeProbe(record.payload)
      if (typeof id === 'string') {
        result.violations.push(`LSN ${record.lsn} is not a probe: ${id}`)
        continue
      }
      checkAttempted(record.lsn, id, model, nextSeq, wal.firstLsn, result)
      if (id.run === result.cycle) result.recovered++
      const want = model.expected.get(record.lsn)
      if (want && (want.run !== id.run || want.writer !== id.writer || want.seq !== id.seq)) {
        result.lost.push({
          ...want,
          lsn: record.lsn,
          found: `run ${id.run} ${id.writer}/${id.seq}`,
        })
        model.expected.delete(record.lsn)
      }
    }
  } catch (error) {
    result.violations.push(`reading the log failed at LSN ${lastSeen + 1}: ${String(error)}`)
  }
  if (lastSeen !== wal.lastLsn)
    result.violations.push(`read ended at LSN ${lastSeen}, log says ${wal.lastLsn}`)
  for (const [lsn, want] of model.expected) {
    if (lsn <= lastSeen) continue
    result.lost.push({ ...want, lsn, found: 'missing' })
    model.expected.delete(lsn)
  }
}

/** A record must be a probe some writer of some run attempted, in that writer's order. */
function checkAttempted(
  lsn: number,
  id: ProbeId,
  model: LogModel,
  nextSeq: Map<number, number>,
  firstLsn: number,
  result: CycleReport,
): void {
  const runStart = model.runStartLsn.get(id.run)
  if (runStart === undefined || lsn < runStart || id.writer >= model.writers) {
    result.violations.push(`LSN ${lsn} holds run ${id.run} ${id.writer}/${id.seq}, never attempted`)
    return
  }
  const key = id.run * 65_536 + id.writer
  const want = nextSeq.get(key)
  // A writer's first record in the scan is seq 0 unless truncation may have removed earlier ones.
  const ok = want === undefined ? id.seq === 0 || runStart < firstLsn : id.seq === want
  if (!ok)
    result.violations.push(
      `LSN ${lsn}: run ${id.run} writer ${id.writer} seq ${id.seq}, expected ${want ?? 0}`,
    )
  nextSeq.set(key, id.seq + 1)
}
