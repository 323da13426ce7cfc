/**
 * Recovery: `openWal` plus a full read of a log of many small records, against reading the same
 * segment files' bytes with `fs.readFile`. Both run on files warm in the page cache (dropping the
 * cache needs root).
 */
import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { openWal } from '../src/wal/index.js'
import type { BenchContext } from './context.js'
import { randomBytesOf } from './raw-io.js'
import { report, say } from './report.js'
import { median, nowMs } from './stats.js'

/** How to measure recovery. */
export interface RecoveryOptions {
  records: number
  payloadBytes: number
  /** Appends issued together while building the log. */
  burst: number
  rounds: number
}

interface WalRound {
  openMs: number
  readMs: number
  records: number
  payloadBytes: number
}

interface Round {
  wal: WalRound
  rawMs: number
  rawBytes: number
}

/** Builds a log of `records` records quickly (`durability: 'none'`, concurrent bursts). */
async function buildLog(dir: string, options: RecoveryOptions): Promise<void> {
  const wal = await openWal(dir, { durability: 'none' })
  try {
    const payload = randomBytesOf(options.payloadBytes)
    for (let done = 0; done < options.records;) {
      const size = Math.min(options.burst, options.records - done)
      await Promise.all(Array.from({ length: size }, () => wal.append(payload)))
      done += size
    }
  } finally {
    await wal.close()
  }
}

/** Times `openWal` and a `for await` over every record. */
async function measureWal(dir: string): Promise<WalRound> {
  const started = nowMs()
  const wal = await openWal(dir)
  const opened = nowMs()
  let records = 0
  let payloadBytes = 0
  for await (const record of wal.read()) {
    records++
    payloadBytes += record.payload.length
  }
  const done = nowMs()
  await wal.close()
  return { openMs: opened - started, readMs: done - opened, records, payloadBytes }
}

/** Times reading every segment file whole with `fs.readFile`. */
async function measureRaw(dir: string): Promise<{ ms: number; bytes: number }> {
  const started = nowMs()
  const names = (await readdir(dir)).filter((name) => name.endsWith('.log'))
  let bytes = 0
  for (const name of names) bytes += (await readFile(join(dir, name))).length
  return { ms: nowMs() - started, bytes }
}

async function measureRound(dir: string, expected: number): Promise<Round> {
  const wal = await measureWal(dir)
  if (wal.records !== expected) throw new Error(`read ${wal.records} records, ${expected} expected`)
  const raw = await measureRaw(dir)
  say(
    `  round: WAL open ${wal.openMs.toFixed(0)} ms + read ${wal.readMs.toFixed(0)} ms; ` +
      `readFile ${raw.ms.toFixed(0)} ms (${(raw.bytes / 1e6).toFixed(1)} MB)`,
  )
  return { wal, rawMs: raw.ms, rawBytes: raw.bytes }
}

function reportRecovery(options: RecoveryOptions, rounds: readonly Round[]): void {
  const walMs = median(rounds.map((r) => r.wal.openMs + r.wal.readMs))
  const rawMs = median(rounds.map((r) => r.rawMs))
  const bytes = (rounds[0] as Round).rawBytes
  const common = {
    records: options.records,
    payloadBytes: options.payloadBytes,
    logBytes: bytes,
    walBytesPerS: Math.round((bytes * 1000) / walMs),
    rawBytesPerS: Math.round((bytes * 1000) / rawMs),
    openMs: Math.round(median(rounds.map((r) => r.wal.openMs))),
    readMs: Math.round(median(rounds.map((r) => r.wal.readMs))),
  }
  const warm = `files warm in the page cache for both; median of ${rounds.length} interleaved rounds`
  report({
    bench: 'wal',
    metric: `recovery: openWal + full read of ${options.records} records`,
    value: (options.records * 1000) / walMs,
    unit: 'records/s',
    baseline: 'fs.readFile of the same segment files, as records/s',
    baselineValue: (options.records * 1000) / rawMs,
    extra: { goal: 'value >= 1000000 records/s', note: warm, ...common },
  })
  report({
    bench: 'wal',
    metric: `recovery time: openWal + full read of ${options.records} records`,
    value: walMs,
    unit: 'ms',
    baseline: 'fs.readFile of the same segment files',
    baselineValue: rawMs,
    extra: { note: `ratio = WAL time / raw read time; ${warm}`, ...common },
  })
}

/** Builds a large log, then measures and reports recovery speed. */
export async function benchRecovery(ctx: BenchContext, options: RecoveryOptions): Promise<void> {
  say(`recovery: building ${options.records} records of ${options.payloadBytes} B`)
  const dir = await ctx.freshDir('recovery')
  try {
    const started = nowMs()
    await buildLog(dir, options)
    say(`  built in ${(nowMs() - started).toFixed(0)} ms`)
    const rounds: Round[] = []
    for (let i = 0; i < options.rounds; i++) rounds.push(await measureRound(dir, options.records))
    reportRecovery(options, rounds)
  } finally {
    await ctx.removeDir(dir)
  }
}
