/**
 * Contrast: what the WAL's group commit is compared against in docs/ARCHITECTURE.md — `y-leveldb`
 * `storeUpdate` per Yjs update, and one `fdatasync` per record — each as records/s with the WAL's
 * concurrent throughput as the baseline.
 */
import { join } from 'node:path'
import * as Y from 'yjs'
import { recordBytes } from '../src/wal/format.js'
import type { BenchContext } from './context.js'
import { closeRawFile, createRawFile, randomBytesOf, rawSequentialSyncs } from './raw-io.js'
import { report, say } from './report.js'
import { median, nowMs } from './stats.js'
import { LeveldbPersistence } from 'y-leveldb'

/** How to measure the contrasts. */
export interface ContrastOptions {
  updates: number
  payloadBytes: number
  rounds: number
  /** The WAL's median records/s with many writers (the baseline). */
  walRecordsPerS: number
  walBaseline: string
}

/** Yjs updates of a Y.Text typed one character at a time (deterministic positions). */
export function typingUpdates(count: number): Uint8Array[] {
  const doc = new Y.Doc()
  const text = doc.getText('t')
  const updates: Uint8Array[] = []
  doc.on('update', (update: Uint8Array) => updates.push(update))
  let seed = 7
  for (let i = 0; i < count; i++) {
    seed = (Math.imul(seed, 1103515245) + 12345) & 0x7fffffff
    const at = i < 16 ? i : seed % (text.length + 1)
    text.insert(at, String.fromCharCode(97 + (seed % 26)))
  }
  doc.destroy()
  return updates
}

/** Records/s of `storeUpdate` awaited once per update into a fresh LevelDB. */
async function measureLeveldb(ctx: BenchContext, updates: readonly Uint8Array[]): Promise<number> {
  const dir = await ctx.freshDir('leveldb')
  const persistence = new LeveldbPersistence(dir)
  try {
    const started = nowMs()
    for (const update of updates) await persistence.storeUpdate('doc', update)
    return (updates.length * 1000) / (nowMs() - started)
  } finally {
    await persistence.destroy()
    await ctx.removeDir(dir)
  }
}

/** Records/s of one `write` + `fdatasync` per record, sequential. */
async function measureSyncPerRecord(ctx: BenchContext, options: ContrastOptions): Promise<number> {
  const dir = await ctx.freshDir('sync-per-record')
  const file = await createRawFile(join(dir, 'raw.log'))
  try {
    const record = randomBytesOf(recordBytes(options.payloadBytes))
    const started = nowMs()
    await rawSequentialSyncs(file, record, options.updates)
    return (options.updates * 1000) / (nowMs() - started)
  } finally {
    await closeRawFile(file)
    await ctx.removeDir(dir)
  }
}

/** Measures and reports y-leveldb and fsync-per-record against the WAL's throughput. */
export async function benchContrast(ctx: BenchContext, options: ContrastOptions): Promise<void> {
  const updates = typingUpdates(options.updates)
  const meanBytes = updates.reduce((sum, u) => sum + u.length, 0) / updates.length
  say(`contrast: ${updates.length} Yjs updates (mean ${meanBytes.toFixed(1)} B), y-leveldb`)
  const leveldb: number[] = []
  const perRecord: number[] = []
  for (let i = 0; i < options.rounds; i++) {
    leveldb.push(await measureLeveldb(ctx, updates))
    perRecord.push(await measureSyncPerRecord(ctx, options))
    say(
      `  round: y-leveldb ${leveldb[i]?.toFixed(0)} rec/s; fdatasync/record ${perRecord[i]?.toFixed(0)}`,
    )
  }
  const rounds = `median of ${options.rounds} rounds`
  report({
    bench: 'wal',
    metric: `y-leveldb storeUpdate per update, ${updates.length} single-character Y.Text updates`,
    value: median(leveldb),
    unit: 'records/s',
    baseline: options.walBaseline,
    baselineValue: options.walRecordsPerS,
    extra: {
      note: `y-leveldb never fsyncs, so this is not even durable; mean update ${meanBytes.toFixed(1)} B; ${rounds}`,
    },
  })
  report({
    bench: 'wal',
    metric: `one write+fdatasync per ${options.payloadBytes} B record, sequential`,
    value: median(perRecord),
    unit: 'records/s',
    baseline: options.walBaseline,
    baselineValue: options.walRecordsPerS,
    extra: {
      note: `${recordBytes(options.payloadBytes)} encoded bytes per record, callback API; ${rounds}`,
    },
  })
}
