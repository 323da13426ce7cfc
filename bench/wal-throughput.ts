/**
 * WAL throughput: acknowledged appends per second with many concurrent writers under
 * `durability: 'sync'`, against raw loops that write the same batch bytes with one `fdatasync`
 * per batch, plus a minimal Node group commit as a reference point. The disk here is noisy, so
 * the contenders alternate in short slices and medians over the slices are reported.
 */
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { openWal, type Wal } from '../src/wal/index.js'
import { recordBytes } from '../src/wal/format.js'
import type { BenchContext } from './context.js'
import { IdealGroupCommit } from './ideal-commit.js'
import {
  RAW_APIS,
  closeRawFile,
  createRawFile,
  rawBatchLoop,
  randomBytesOf,
  type RawApi,
  type RawFile,
} from './raw-io.js'
import { report, say } from './report.js'
import { median, nowMs, roundSignificant } from './stats.js'

/** How to measure throughput. */
export interface ThroughputOptions {
  payloadBytes: number
  writers: number
  /** Alternations of the contenders. */
  slices: number
  warmupMs: number
  /** Length of each WAL (and minimal group commit) run in a slice. */
  walMs: number
  /** Length of each raw loop in a slice. */
  rawMs: number
}

/** One timed WAL run. */
interface WalSlice {
  recordsPerS: number
  /** Average records per group commit. */
  batchRecords: number
  /** Average bytes written per group commit. */
  batchBytes: number
}

interface Slice {
  wal: WalSlice
  ideal: number
  raw: Record<RawApi, number>
}

/** Open files of one throughput measurement. */
interface Targets {
  wal: Wal
  ideal: IdealGroupCommit
  raw: Record<RawApi, RawFile>
}

/** Concurrent writers, each appending in a loop and awaiting every ack. */
class WriterPool {
  #stop = false
  #acked = 0
  #loops: Array<Promise<void>> = []

  constructor(
    private readonly append: () => Promise<unknown>,
    private readonly writers: number,
  ) {}

  /** Runs the writers for `durationMs`; resolves the acks per second in that window. */
  async run(durationMs: number): Promise<number> {
    this.#stop = false
    this.#loops = Array.from({ length: this.writers }, () => this.#loop())
    const before = { acked: this.#acked, at: nowMs() }
    await sleep(durationMs)
    const recordsPerS = ((this.#acked - before.acked) * 1000) / (nowMs() - before.at)
    this.#stop = true
    await Promise.all(this.#loops)
    return recordsPerS
  }

  async #loop(): Promise<void> {
    while (!this.#stop) {
      await this.append()
      this.#acked++
    }
  }
}

/** Runs `pool` on the WAL and reads the group-commit sizes from `wal.stats`. */
async function measureWal(wal: Wal, pool: WriterPool, durationMs: number): Promise<WalSlice> {
  const before = { ...wal.stats }
  const recordsPerS = await pool.run(durationMs)
  const batches = wal.stats.batches - before.batches
  return {
    recordsPerS,
    batchRecords: (wal.stats.appends - before.appends) / batches,
    batchBytes: (wal.stats.bytesWritten - before.bytesWritten) / batches,
  }
}

/** Records per second of a raw loop writing batches of `wal`'s average size. */
async function measureRaw(
  api: RawApi,
  file: RawFile,
  wal: WalSlice,
  durationMs: number,
): Promise<number> {
  const batch = randomBytesOf(Math.max(8, Math.round(wal.batchBytes / 8) * 8))
  const result = await rawBatchLoop(api, file, batch, durationMs)
  return (result.batches * wal.batchRecords * 1000) / result.elapsedMs
}

async function alternate(targets: Targets, options: ThroughputOptions): Promise<Slice[]> {
  const payload = randomBytesOf(options.payloadBytes)
  const walPool = new WriterPool(() => targets.wal.append(payload), options.writers)
  const idealPool = new WriterPool(() => targets.ideal.append(), options.writers)
  await walPool.run(options.warmupMs)
  await idealPool.run(options.warmupMs)
  const slices: Slice[] = []
  for (let i = 0; i < options.slices; i++) {
    const wal = await measureWal(targets.wal, walPool, options.walMs)
    const ideal = await idealPool.run(options.walMs)
    const raw = { sync: 0, hybrid: 0, callback: 0, promise: 0 }
    for (const api of RAW_APIS)
      raw[api] = await measureRaw(api, targets.raw[api], wal, options.rawMs)
    slices.push({ wal, ideal, raw })
  }
  return slices
}

/** One raw file per API, kept open across slices like the WAL's segment. */
async function createRawFiles(dir: string): Promise<Record<RawApi, RawFile>> {
  const files: Partial<Record<RawApi, RawFile>> = {}
  for (const api of RAW_APIS) files[api] = await createRawFile(join(dir, `${api}.log`))
  return files as Record<RawApi, RawFile>
}

async function measureSlices(ctx: BenchContext, options: ThroughputOptions): Promise<Slice[]> {
  const walDir = await ctx.freshDir(`wal-${options.payloadBytes}`)
  const rawDir = await ctx.freshDir(`raw-${options.payloadBytes}`)
  const wal = await openWal(walDir, { durability: 'sync' })
  const raw = await createRawFiles(rawDir)
  const idealFile = await createRawFile(join(rawDir, 'ideal.log'))
  const ideal = new IdealGroupCommit(idealFile, recordBytes(options.payloadBytes))
  try {
    return await alternate({ wal, ideal, raw }, options)
  } finally {
    for (const file of [...Object.values(raw), idealFile]) await closeRawFile(file)
    await wal.close()
    await ctx.removeDir(walDir)
    await ctx.removeDir(rawDir)
  }
}

function rawMedian(slices: readonly Slice[], api: RawApi): number {
  return median(slices.map((s) => s.raw[api]))
}

/** The raw flavour with the best median, and that median. */
function fastestRaw(slices: readonly Slice[]): { api: RawApi; recordsPerS: number } {
  const medians = RAW_APIS.map((api) => ({ api, recordsPerS: rawMedian(slices, api) }))
  return medians.reduce((best, next) => (next.recordsPerS > best.recordsPerS ? next : best))
}

/** Median over slices of `pick(slice)` divided by the slice's own baseline. */
function pairedRatio(slices: readonly Slice[], pick: (s: Slice) => number, api: RawApi): number {
  return roundSignificant(median(slices.map((s) => pick(s) / s.raw[api])), 4)
}

function reportThroughput(options: ThroughputOptions, slices: readonly Slice[]): number {
  const walRecordsPerS = median(slices.map((s) => s.wal.recordsPerS))
  const best = fastestRaw(slices)
  const rawMedians = RAW_APIS.map((api) => `${api} ${rawMedian(slices, api).toFixed(0)}`)
  const size = `${options.payloadBytes} B records, ${options.writers} writers`
  const baseline = `raw write+fdatasync per batch (${best.api} API), same batch bytes and records/batch`
  const note =
    `baseline = fastest raw loop by median records/s (${rawMedians.join(', ')}); medians of ` +
    `${slices.length} alternating slices (${options.walMs} ms each for the WAL and the minimal ` +
    `group commit, then ${options.rawMs} ms per raw loop, batches sized from that slice's ` +
    `wal.stats); pairedRatio = median over slices of value / that slice's baseline`
  report({
    bench: 'wal',
    metric: `append throughput, ${size}, durability sync`,
    value: walRecordsPerS,
    unit: 'records/s',
    baseline,
    baselineValue: best.recordsPerS,
    extra: {
      goal: 'ratio >= 0.8',
      note,
      pairedRatio: pairedRatio(slices, (s) => s.wal.recordsPerS, best.api),
      // The event-loop-friendly raw loop: what a Node program can do without blocking.
      ratioVsAsyncRaw: roundSignificant(walRecordsPerS / rawMedian(slices, 'callback'), 4),
      vsMinimalGroupCommit: roundSignificant(
        walRecordsPerS / median(slices.map((s) => s.ideal)),
        4,
      ),
    },
  })
  report({
    bench: 'wal',
    metric: `minimal Node group commit (1 promise per append, no encoding/CRC), ${size}`,
    value: median(slices.map((s) => s.ideal)),
    unit: 'records/s',
    baseline,
    baselineValue: best.recordsPerS,
    extra: {
      note: 'reference ceiling for the WAL in Node (bench/ideal-commit.ts); same slices as above',
      pairedRatio: pairedRatio(slices, (s) => s.ideal, best.api),
    },
  })
  report({
    bench: 'wal',
    metric: `average group-commit batch, ${size}`,
    value: median(slices.map((s) => s.wal.batchRecords)),
    unit: 'records/batch',
    baseline: 'concurrent writers (the most a batch can hold here)',
    baselineValue: options.writers,
    extra: { batchBytes: Math.round(median(slices.map((s) => s.wal.batchBytes))) },
  })
  return walRecordsPerS
}

function describeSlice(slice: Slice): string {
  const raw = RAW_APIS.map((api) => `${api} ${slice.raw[api].toFixed(0)}`).join(', ')
  return (
    `  slice: WAL ${slice.wal.recordsPerS.toFixed(0)} rec/s ` +
    `(${slice.wal.batchRecords.toFixed(1)} rec/batch), minimal ${slice.ideal.toFixed(0)}; raw ${raw}`
  )
}

/** Measures and reports throughput; resolves the WAL's median records/s. */
export async function benchThroughput(
  ctx: BenchContext,
  options: ThroughputOptions,
): Promise<number> {
  say(`throughput: ${options.payloadBytes} B records, ${options.writers} writers`)
  const slices = await measureSlices(ctx, options)
  for (const slice of slices) say(describeSlice(slice))
  return reportThroughput(options, slices)
}
