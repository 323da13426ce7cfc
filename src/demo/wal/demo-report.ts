/**
 * What `starling demo` found, and how it is printed for people (the `--json` form is the
 * {@link DemoReport} object itself).
 */
import type { RecoveryReport } from '../../wal/index.js'

/** Group-commit counters of the killed writer, from its last stats report. */
export interface GroupCommitStats {
  batches: number
  averageBatch: number
  largestBatch: number
  syncs: number
}

/** The result of one demo run. */
export interface DemoReport {
  /** True when every acknowledged record was found byte for byte and nothing foreign was. */
  ok: boolean
  dir: string
  writers: number
  /** Last LSN of the log before this run (earlier runs' records are not checked). */
  baselineLsn: number
  /** How long the writer ran before SIGKILL. */
  runMs: number
  pid: number
  /** Acknowledgements the demo received before the kill. */
  acked: number
  /** Acknowledged records found with exactly the acknowledged bytes. */
  present: number
  /** Acknowledged records missing or different (must be 0). */
  lost: number
  lostLsns: number[]
  /** Records of this run found after the kill (acknowledged or not yet). */
  recovered: number
  /** Records after the baseline that are not this run's probes (must be empty). */
  invalid: string[]
  recovery: RecoveryReport
  ackedPerSecond: number
  groupCommit: GroupCommitStats | undefined
}

const number = (n: number): string => n.toLocaleString('en-US')

/** One progress line while the writer runs for `runMs`. */
export function formatProgress(elapsedMs: number, runMs: number, acked: number): string {
  const done = Math.min(30, Math.floor((30 * elapsedMs) / runMs))
  const bar = `[${'#'.repeat(done)}${' '.repeat(30 - done)}]`
  return `  writing     ${(elapsedMs / 1000).toFixed(1)} s  ${number(acked)} acknowledged  ${bar}`
}

function formatTornTail(recovery: RecoveryReport): string {
  const torn = recovery.tornTail
  if (torn === null) return 'none (the kill landed between writes)'
  return `cut ${number(torn.bytesCut)} bytes at ${torn.segment} offset ${number(torn.offset)} (${torn.reason})`
}

function formatGroupCommit(stats: GroupCommitStats | undefined): string {
  if (stats === undefined) return 'no stats received'
  return (
    `${number(stats.batches)} batches, ${stats.averageBatch.toFixed(1)} records/batch on ` +
    `average, largest ${number(stats.largestBatch)}, ${number(stats.syncs)} fdatasyncs`
  )
}

/** The human-readable report. */
export function formatDemoReport(report: DemoReport): string {
  const r = report.recovery
  const unacked = report.recovered - report.present
  const lines = [
    `  SIGKILL     sent to pid ${report.pid} after ${(report.runMs / 1000).toFixed(2)} s; ` +
      `${number(report.acked)} acknowledgements received`,
    `  recovery    ${number(r.records)} records in ${r.segments} segment(s), last LSN ` +
      `${number(r.lastLsn)}; torn tail: ${formatTornTail(r)}`,
    `  verified    ${number(report.present)} of ${number(report.acked)} acknowledged records ` +
      `present byte for byte; ${number(Math.max(0, unacked))} more were written but their ` +
      `acknowledgement was not received`,
    `  throughput  ${number(report.ackedPerSecond)} acknowledged records/s; group commit: ` +
      formatGroupCommit(report.groupCommit),
  ]
  for (const reason of report.invalid) lines.push(`  INVALID     ${reason}`)
  lines.push(
    report.ok
      ? '  result      OK: zero acknowledged records lost'
      : `  result      FAILED: ${number(report.lost)} acknowledged records lost ` +
          `(first LSNs: ${report.lostLsns.join(', ')})`,
  )
  return `${lines.join('\n')}\n`
}
