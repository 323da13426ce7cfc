/**
 * Single-writer latency: one writer awaiting each acknowledged append (`durability: 'sync'`)
 * against a raw `write` + `fdatasync` of the same encoded record bytes. The two alternate in
 * short slices (the disk here is noisy) and the percentiles are taken over all samples.
 */
import { join } from 'node:path'
import { openWal, type Wal } from '../src/wal/index.js'
import { recordBytes } from '../src/wal/format.js'
import type { BenchContext } from './context.js'
import {
  closeRawFile,
  createRawFile,
  randomBytesOf,
  rawSequentialSyncs,
  type RawFile,
} from './raw-io.js'
import { report, say } from './report.js'
import { nowMs, percentile } from './stats.js'

/** How to measure latency. */
export interface LatencyOptions {
  payloadBytes: number
  /** Timed appends in all, for the WAL and for the raw file each. */
  appends: number
  /** Untimed appends before the first slice. */
  warmup: number
  /** WAL/raw alternations the appends are split into. */
  slices: number
}

interface Samples {
  wal: number[]
  raw: number[]
}

/** Latencies (ms) of `count` sequential appends. */
async function walLatencies(wal: Wal, payload: Uint8Array, count: number): Promise<number[]> {
  const latencies: number[] = []
  for (let i = 0; i < count; i++) {
    const started = nowMs()
    await wal.append(payload)
    latencies.push(nowMs() - started)
  }
  return latencies
}

async function collect(wal: Wal, raw: RawFile, options: LatencyOptions): Promise<Samples> {
  const payload = randomBytesOf(options.payloadBytes)
  const record = randomBytesOf(recordBytes(options.payloadBytes))
  await walLatencies(wal, payload, options.warmup)
  await rawSequentialSyncs(raw, record, options.warmup)
  const samples: Samples = { wal: [], raw: [] }
  const perSlice = Math.ceil(options.appends / options.slices)
  for (let done = 0; done < options.appends; done += perSlice) {
    const count = Math.min(perSlice, options.appends - done)
    samples.wal.push(...(await walLatencies(wal, payload, count)))
    samples.raw.push(...(await rawSequentialSyncs(raw, record, count)))
  }
  return samples
}

async function measure(ctx: BenchContext, options: LatencyOptions): Promise<Samples> {
  const walDir = await ctx.freshDir('latency-wal')
  const rawDir = await ctx.freshDir('latency-raw')
  const wal = await openWal(walDir, { durability: 'sync' })
  const raw = await createRawFile(join(rawDir, 'raw.log'))
  try {
    return await collect(wal, raw, options)
  } finally {
    await closeRawFile(raw)
    await wal.close()
    await ctx.removeDir(walDir)
    await ctx.removeDir(rawDir)
  }
}

/** Measures and reports p50 and p99 append latency. */
export async function benchLatency(ctx: BenchContext, options: LatencyOptions): Promise<void> {
  say(`latency: ${options.appends} sequential ${options.payloadBytes} B appends`)
  const samples = await measure(ctx, options)
  const note =
    `percentiles over all ${options.appends} samples, WAL and raw alternating in ` +
    `${options.slices} slices; raw = async fs.write+fs.fdatasync (callback API) of the ` +
    `${recordBytes(options.payloadBytes)} encoded record bytes, sequential, same count`
  for (const p of [50, 99]) {
    report({
      bench: 'wal',
      metric: `append latency p${p}, ${options.payloadBytes} B records, 1 writer, durability sync`,
      value: percentile(samples.wal, p),
      unit: 'ms',
      baseline: `raw write+fdatasync p${p}`,
      baselineValue: percentile(samples.raw, p),
      extra: p === 50 ? { goal: 'ratio <= 1.5', note } : { note },
    })
  }
}
