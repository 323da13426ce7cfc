/**
 * `starling demo wal`: a real crash demonstration of the write-ahead log. A child process appends
 * probes with 64 concurrent writers in `sync` durability and reports every acknowledgement; after
 * ~1.5 s the demo kills it with SIGKILL, reopens the log, prints the recovery report and checks
 * that every acknowledged record is there byte for byte (I1 in docs/guarantees.md). Exit code 0 when nothing
 * acknowledged was lost, 1 otherwise.
 *
 * The directory (default `./starling-demo/wal`) is appended to: a second run adds to the log of
 * the first and checks only its own records. Delete the directory to start over.
 */
import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { openWal, type RecoveryReport, type Wal } from '../../wal/index.js'
import { createAckParser, type AckMessage } from './ack-channel.js'
import {
  CliError,
  flagOption,
  intOption,
  parseArgs,
  UsageError,
  valueOption,
  type CliIo,
} from '../../cli/args.js'
import { formatDemoReport, formatProgress, type DemoReport } from './demo-report.js'
import { decodeProbe } from './probe-payload.js'

type Stats = Extract<AckMessage, { kind: 'stats' }>

/** A running demo writer and what it reported so far. */
interface DemoChild {
  pid: number
  /** Acknowledgements: lsn → writer * 2^32 + seq. */
  acks: Map<number, number>
  stats: Stats | undefined
  ready: Promise<number | undefined>
  closed: Promise<void>
  stderr(): string
  kill(): void
}

/** The child program next to this file: TypeScript through tsx in development, JS when built. */
function writerCommand(): string[] {
  const self = fileURLToPath(import.meta.url)
  if (self.endsWith('.ts'))
    return ['--import', import.meta.resolve('tsx'), self.replace(/demo\.ts$/, 'demo-writer.ts')]
  return [self.replace(/demo\.js$/, 'demo-writer.js')]
}

function spawnDemoWriter(dir: string, run: number, writers: number): DemoChild {
  const args = [...writerCommand(), dir, `--run=${run}`, `--writers=${writers}`]
  const child = spawn(process.execPath, args, { stdio: ['pipe', 'pipe', 'pipe'] })
  let stderr = ''
  let onReady: (lastLsn: number | undefined) => void = () => undefined
  const handle: DemoChild = {
    pid: child.pid ?? -1,
    acks: new Map(),
    stats: undefined,
    ready: new Promise((resolve) => (onReady = resolve)),
    closed: new Promise((resolve) => child.on('close', () => resolve())),
    stderr: () => stderr,
    kill: () => void child.kill('SIGKILL'),
  }
  const feed = createAckParser(
    (message) => {
      if (message.kind === 'ack')
        handle.acks.set(message.lsn, message.writer * 2 ** 32 + message.seq)
      else if (message.kind === 'stats') handle.stats = message
      else onReady(message.lastLsn)
    },
    () => undefined,
  )
  child.stdout.setEncoding('utf8').on('data', feed)
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-4000)
  })
  child.stdin.on('error', () => undefined)
  void handle.closed.then(() => onReady(undefined))
  return handle
}

/** What reading the log back found about this run's records. */
interface Verification {
  /** Acknowledged records present with exactly the acknowledged bytes. */
  present: number
  /** Acknowledged LSNs missing or holding something else. */
  lost: number[]
  /** Records of this run found in the log (acknowledged or not). */
  recovered: number
  /** Records after the baseline that are not valid probes of this run. */
  invalid: string[]
}

/** Reads every record after `baselineLsn` and checks it against the acknowledgements. */
async function verifyLog(
  wal: Wal,
  baselineLsn: number,
  run: number,
  acks: Map<number, number>,
): Promise<Verification> {
  const result: Verification = { present: 0, lost: [], recovered: 0, invalid: [] }
  const seen = new Set<number>()
  if (wal.lastLsn > baselineLsn) {
    for await (const record of wal.read(baselineLsn + 1)) {
      const id = decodeProbe(record.payload)
      if (typeof id === 'string' || id.run !== run) {
        const what = typeof id === 'string' ? id : `a probe of run ${id.run}`
        if (result.invalid.length < 10) result.invalid.push(`LSN ${record.lsn}: ${what}`)
        continue
      }
      result.recovered++
      const acked = acks.get(record.lsn)
      if (acked === undefined) continue
      seen.add(record.lsn)
      if (acked === id.writer * 2 ** 32 + id.seq) result.present++
      else result.lost.push(record.lsn)
    }
  }
  for (const lsn of acks.keys()) if (!seen.has(lsn)) result.lost.push(lsn)
  return result
}

const sleep = (ms: number): Promise<void> => new Promise((done) => setTimeout(done, ms))

/** Lets the writer run for `runMs`, drawing a progress line on a terminal. */
async function watchWriter(
  child: DemoChild,
  runMs: number,
  io: CliIo,
  json: boolean,
): Promise<number> {
  const started = performance.now()
  const live = io.isTTY && !json
  while (performance.now() - started < runMs) {
    await sleep(Math.min(100, Math.max(1, runMs - (performance.now() - started))))
    if (live) io.out(`\r${formatProgress(performance.now() - started, runMs, child.acks.size)}`)
  }
  const elapsedMs = performance.now() - started
  child.kill()
  await child.closed
  if (live) io.out('\r\x1b[K')
  return elapsedMs
}

/** Runs `starling demo wal`; resolves the exit code. */
export async function runWalDemo(argv: readonly string[], io: CliIo): Promise<number> {
  const args = parseArgs(argv, { dir: 'value', json: 'flag', 'run-ms': 'value', writers: 'value' })
  if (args.positionals.length > 0)
    throw new UsageError(`unexpected argument ${args.positionals[0]}`)
  const json = flagOption(args, 'json')
  const dir = resolve(valueOption(args, 'dir', 'starling-demo/wal'))
  const runMs = intOption(args, 'run-ms', 1500, 50, 600_000)
  const writers = intOption(args, 'writers', 64, 1, 4096)
  const before = await openWal(dir)
  const baselineLsn = before.lastLsn
  await before.close()
  const run = randomBytes(4).readUInt32LE(0)
  const child = spawnDemoWriter(dir, run, writers)
  const startLsn = await child.ready
  if (startLsn === undefined)
    throw new CliError(`the writer process failed to start:\n${child.stderr()}`, 'DEMO_FAILED')
  if (!json) io.out(`Starling WAL demo: ${dir}\n`)
  if (!json) io.out(formatStart(child.pid, writers, baselineLsn))
  const elapsedMs = await watchWriter(child, runMs, io, json)
  const wal = await openWal(dir)
  try {
    const verification = await verifyLog(wal, startLsn, run, child.acks)
    const report = buildReport(
      dir,
      wal.recovery,
      baselineLsn,
      writers,
      elapsedMs,
      child,
      verification,
    )
    io.out(json ? `${JSON.stringify(report)}\n` : formatDemoReport(report))
    return report.ok ? 0 : 1
  } finally {
    await wal.close()
  }
}

function formatStart(pid: number, writers: number, baselineLsn: number): string {
  const existing =
    baselineLsn > 0
      ? `appending to the existing log (${baselineLsn.toLocaleString('en-US')} records)`
      : 'new log'
  return `  writer      pid ${pid}: ${writers} concurrent writers, durability sync; ${existing}\n`
}

function buildReport(
  dir: string,
  recovery: RecoveryReport,
  baselineLsn: number,
  writers: number,
  elapsedMs: number,
  child: DemoChild,
  verification: Verification,
): DemoReport {
  const acked = child.acks.size
  const stats = child.stats
  return {
    ok: verification.lost.length === 0 && verification.invalid.length === 0,
    dir,
    writers,
    baselineLsn,
    runMs: Math.round(elapsedMs),
    pid: child.pid,
    acked,
    present: verification.present,
    lost: verification.lost.length,
    lostLsns: verification.lost.slice(0, 20),
    recovered: verification.recovered,
    invalid: verification.invalid,
    recovery,
    ackedPerSecond: Math.round(acked / (elapsedMs / 1000)),
    groupCommit: stats && {
      batches: stats.batches,
      averageBatch: stats.batches > 0 ? stats.appends / stats.batches : 0,
      largestBatch: stats.largestBatch,
      syncs: stats.syncs,
    },
  }
}
