/**
 * Log shipping at the WAL level: one small record appended and acknowledged (`durability:
 * 'sync'`), then read back with `wal.read(lsn)` as a sync node reads what to send a peer — 100,000
 * times into one segment. Time per commit must stay flat as the log grows: the last 10,000
 * commits against the first 10,000 of the same run.
 *
 * Baseline for the read itself: the read as it was before the read index, scanning the segment
 * from its first record (the reader without an index), timed in the same run at the same log
 * sizes over a short run of commits each (the full run of it would be quadratic).
 */
import { WAL_LIMITS } from '../src/core/limits.js'
import { parseSegmentName } from '../src/wal/format.js'
import { createNodeFileLayer } from '../src/wal/node-file-layer.js'
import { openWal, type Wal } from '../src/wal/index.js'
import { readRecords } from '../src/wal/reader.js'
import { listSegments } from '../src/wal/recovery.js'
import type { BenchContext } from './context.js'
import { randomBytesOf } from './raw-io.js'
import { report, say } from './report.js'
import { median, roundSignificant } from './stats.js'

/** How to measure. */
export interface ShipWalOptions {
  commits: number
  /** Commits in the first and in the last window compared. */
  windowCommits: number
  payloadBytes: number
  /** Commits timed with the scanning read at each checkpoint. */
  scanCommits: number
  /** Untimed commits on a scratch log before the measured one. */
  warmupCommits: number
}

type ReadKind = 'indexed' | 'scan'

const BENCH = 'ship'

/** Reads record `lsn` back the way `wal.read(lsn)` did before the read index: from the start. */
async function scanRead(wal: Wal, lsn: number): Promise<number> {
  const fs = createNodeFileLayer()
  const names = await listSegments(fs, wal.dir)
  const segments = names.map((name) => ({ name, firstLsn: parseSegmentName(name) as number }))
  let bytes = 0
  const plan = {
    fs,
    dir: wal.dir,
    segments,
    fromLsn: lsn,
    toLsn: lsn,
    recordBytesMax: WAL_LIMITS.recordBytesMax,
  }
  for await (const record of readRecords(plan)) bytes += record.payload.length
  return bytes
}

async function indexedRead(wal: Wal, lsn: number): Promise<number> {
  let bytes = 0
  for await (const record of wal.read(lsn)) bytes += record.payload.length
  return bytes
}

/** Times of `count` commits (ms): the acknowledged append plus the read, and the read alone. */
interface Times {
  commit: Float64Array
  read: Float64Array
}

/** Times `count` commits, each an acknowledged append then a read of it. */
async function commits(
  wal: Wal,
  payload: Uint8Array,
  count: number,
  kind: ReadKind,
): Promise<Times> {
  const times: Times = { commit: new Float64Array(count), read: new Float64Array(count) }
  for (let i = 0; i < count; i++) {
    const started = performance.now()
    const lsn = await wal.append(payload)
    const appended = performance.now()
    const read = kind === 'indexed' ? await indexedRead(wal, lsn) : await scanRead(wal, lsn)
    const done = performance.now()
    times.commit[i] = done - started
    times.read[i] = done - appended
    if (read !== payload.length) throw new Error(`read back ${read} bytes of LSN ${lsn}`)
  }
  return times
}

const mean = (values: Float64Array): number => values.reduce((a, b) => a + b, 0) / values.length
const p50 = (values: Float64Array): number => median([...values])
const thousands = (n: number): string => `${Math.round(n / 1000)}k`

/** Runs the shipping loop and reports flatness and the contrast with the scanning read. */
export async function benchShipWal(ctx: BenchContext, options: ShipWalOptions): Promise<void> {
  const { commits: total, windowCommits: window, payloadBytes, scanCommits } = options
  say(`ship (WAL): ${total} commits of ${payloadBytes} B, each read back with wal.read(lsn)`)
  await warmUp(ctx, payloadBytes, options.warmupCommits)
  const dir = await ctx.freshDir('ship-wal')
  const wal = await openWal(dir, { durability: 'sync' })
  const payload = randomBytesOf(payloadBytes)
  try {
    const first = await commits(wal, payload, window, 'indexed')
    const scanEarly = await commits(wal, payload, scanCommits, 'scan')
    await commits(wal, payload, total - 2 * window - scanCommits, 'indexed')
    const last = await commits(wal, payload, window, 'indexed')
    const scanLate = await commits(wal, payload, scanCommits, 'scan')
    reportShipWal({ total, window, first, last, scanEarly, scanLate })
  } finally {
    await wal.close()
    await ctx.removeDir(dir)
  }
}

/** Untimed commits on a scratch log first, so the first window is not the JIT's warm-up. */
async function warmUp(ctx: BenchContext, payloadBytes: number, count: number): Promise<void> {
  const dir = await ctx.freshDir('ship-wal-warmup')
  const wal = await openWal(dir, { durability: 'sync' })
  try {
    await commits(wal, randomBytesOf(payloadBytes), count, 'indexed')
    await commits(wal, randomBytesOf(payloadBytes), Math.ceil(count / 10), 'scan')
  } finally {
    await wal.close()
    await ctx.removeDir(dir)
  }
}

interface Measured {
  total: number
  window: number
  first: Times
  last: Times
  scanEarly: Times
  scanLate: Times
}

/**
 * Medians are the values (the disk and the machine are shared and noisy; a scan that grows with
 * the log moves the median as much as the mean); means are in the extra fields.
 */
function reportShipWal(m: Measured): void {
  const lastWindow = `commits ${thousands(m.total - m.window)}–${thousands(m.total)}`
  const firstWindow = `commits 1–${thousands(m.window)} of the same run`
  const means = (times: Times, baseline: Times) => ({
    meanMs: roundSignificant(mean(times.commit), 4),
    baselineMeanMs: roundSignificant(mean(baseline.commit), 4),
  })
  report({
    bench: BENCH,
    metric: `median ms per commit (append + read it back), ${lastWindow}`,
    value: p50(m.last.commit),
    unit: 'ms',
    baseline: firstWindow,
    baselineValue: p50(m.first.commit),
    extra: { ...means(m.last, m.first), goal: '≈ 1 (flat)' },
  })
  report({
    bench: BENCH,
    metric: `median ms per read of the record just committed, ${lastWindow}`,
    value: p50(m.last.read),
    unit: 'ms',
    baseline: firstWindow,
    baselineValue: p50(m.first.read),
    extra: { goal: '≈ 1 (flat)' },
  })
  report({
    bench: BENCH,
    metric: `median ms per read of the record just committed, at ${thousands(m.total)} records (read index)`,
    value: p50(m.last.read),
    unit: 'ms',
    baseline: `the same read scanning the segment from its start (the old read), at ${thousands(m.total)} records`,
    baselineValue: p50(m.scanLate.read),
  })
  report({
    bench: BENCH,
    metric: `old scanning read: median ms per commit + read at ${thousands(m.total)} records`,
    value: p50(m.scanLate.commit),
    unit: 'ms',
    baseline: `the same at ${thousands(m.window)} records (it grows with the segment)`,
    baselineValue: p50(m.scanEarly.commit),
    extra: means(m.scanLate, m.scanEarly),
  })
}
