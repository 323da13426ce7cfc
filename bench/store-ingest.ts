/**
 * Durable ingest: the automerge-paper trace typed into `store.text()` of an on-disk store
 * (`durability: 'sync'`) and made durable with `store.flush()` — once at the end, and in an
 * editor-like variant every N transactions — against plain in-memory Yjs applying the same edits.
 * y-leveldb's `storeUpdate` per edit is too slow for the whole trace, so its per-edit time is
 * measured on a prefix and extrapolated. Contenders alternate (order rotating) over rounds.
 */
import { LeveldbPersistence } from 'y-leveldb'
import type * as Y from 'yjs'
import { createStore } from '../src/index.js'
import type { BenchContext } from './context.js'
import { report, say } from './report.js'
import { median, nowMs, roundSignificant } from './stats.js'
import {
  TEXT_KEY,
  TEXT_POLICIES,
  collectGarbage,
  expectText,
  plainText,
  plainYjsIngestMs,
  typeTxns,
  typeTxnsFlushing,
  type Trace,
} from './store-support.js'
import { storeInternalsOf } from '../src/store/internals.js'

/** How to measure ingest. */
export interface IngestOptions {
  rounds: number
  /** Transactions typed once by every contender before the first round (JIT warm-up). */
  warmupTxns: number
  /** The editor-like variant awaits `store.flush()` after this many transactions. */
  flushEvery: number
  /** Edits stored through y-leveldb per round (a prefix of the trace). */
  leveldbEdits: number
}

/** One store ingest run. */
interface StoreRun {
  ms: number
  /** Of `ms`, the part before the final `flush()` was awaited (typing, capture, earlier flushes). */
  typingMs: number
  /** WAL records (capture batches) the run logged, and the bytes the WAL wrote. */
  records: number
  walBytes: number
  flushes: number
}

/** The timings of one round. */
interface Round {
  yjsMs: number
  store: StoreRun
  flushing: StoreRun
  leveldbPerEditMs: number
}

/** Types `count` transactions into a new on-disk store; `flushEvery` 0 flushes only at the end. */
async function storeRun(
  ctx: BenchContext,
  trace: Trace,
  flushEvery: number,
  count = trace.txnCount,
): Promise<StoreRun> {
  const dir = await ctx.freshDir('ingest')
  const store = await createStore({ path: dir, policies: TEXT_POLICIES, durability: 'sync' })
  try {
    const text = store.text(TEXT_KEY)
    await store.load(TEXT_KEY)
    const started = nowMs()
    let flushes = 1
    if (flushEvery > 0)
      flushes = await typeTxnsFlushing(text, trace, count, flushEvery, () => store.flush())
    else typeTxns(text, trace, 0, count)
    const typingMs = nowMs() - started
    await store.flush()
    const ms = nowMs() - started
    if (count === trace.txnCount) expectText(text.toJSON(), trace, 'store')
    const { lastLsn: records } = store.stats
    return {
      ms,
      typingMs,
      records,
      walBytes: storeInternalsOf(store).wal.stats.bytesWritten,
      flushes,
    }
  } finally {
    await store.close({ checkpoint: false })
    await ctx.removeDir(dir)
  }
}

/**
 * Milliseconds per edit of the y-leveldb way: apply one transaction to a Y.Doc, then await
 * `storeUpdate` of its update, for the first `edits` transactions into a fresh database.
 */
async function leveldbPerEditMs(ctx: BenchContext, trace: Trace, edits: number): Promise<number> {
  const dir = await ctx.freshDir('y-leveldb')
  const persistence = new LeveldbPersistence(dir)
  const text = plainText()
  let update: Uint8Array | undefined
  ;(text.doc as Y.Doc).on('update', (next: Uint8Array) => (update = next))
  try {
    await persistence.getAllDocNames() // opens the database before the clock starts
    const started = nowMs()
    for (let i = 0; i < edits; i++) {
      typeTxns(text, trace, i, i + 1)
      if ((await persistence.storeUpdate('paper', update as Uint8Array)) === null)
        throw new Error('y-leveldb storeUpdate failed (it returned null)')
    }
    return (nowMs() - started) / edits
  } finally {
    await persistence.destroy()
    await ctx.removeDir(dir)
  }
}

/** Contenders of a round, each a step filling its part of the round. */
function contenders(
  ctx: BenchContext,
  trace: Trace,
  options: IngestOptions,
  round: Round,
): Array<() => Promise<void> | void> {
  return [
    () => void (round.yjsMs = plainYjsIngestMs(trace)),
    async () => void (round.store = await storeRun(ctx, trace, 0)),
    async () => void (round.flushing = await storeRun(ctx, trace, options.flushEvery)),
    async () =>
      void (round.leveldbPerEditMs = await leveldbPerEditMs(ctx, trace, options.leveldbEdits)),
  ]
}

/** One round, the contenders starting at a different one each round. */
async function measureRound(
  ctx: BenchContext,
  trace: Trace,
  options: IngestOptions,
  index: number,
): Promise<Round> {
  const idle: StoreRun = { ms: 0, typingMs: 0, records: 0, walBytes: 0, flushes: 0 }
  const round: Round = { yjsMs: 0, store: idle, flushing: idle, leveldbPerEditMs: 0 }
  const steps = contenders(ctx, trace, options, round)
  for (let k = 0; k < steps.length; k++) {
    collectGarbage()
    await (steps[(index + k) % steps.length] as () => Promise<void> | void)()
  }
  say(
    `  round ${index + 1}: Yjs ${round.yjsMs.toFixed(0)} ms; store ${round.store.ms.toFixed(0)} ms ` +
      `(${round.store.records} records); flush/${options.flushEvery} ` +
      `${round.flushing.ms.toFixed(0)} ms; y-leveldb ${round.leveldbPerEditMs.toFixed(3)} ms/edit`,
  )
  return round
}

/** Types a prefix through every contender, untimed, so the rounds run compiled code. */
async function warmUp(ctx: BenchContext, trace: Trace, options: IngestOptions): Promise<void> {
  const count = Math.min(options.warmupTxns, trace.txnCount)
  plainYjsIngestMs(trace, count)
  await storeRun(ctx, trace, 0, count)
  await storeRun(ctx, trace, options.flushEvery, count)
  await leveldbPerEditMs(ctx, trace, Math.min(200, options.leveldbEdits))
}

/** Median over rounds of `pick(round)` divided by that round's Yjs time. */
function pairedRatio(rounds: readonly Round[], pick: (round: Round) => number): number {
  return roundSignificant(median(rounds.map((r) => pick(r) / r.yjsMs)), 4)
}

function reportStoreRuns(trace: Trace, options: IngestOptions, rounds: readonly Round[]): void {
  const txns = trace.txnCount
  const baseline = `plain in-memory Yjs: the same ${txns} transactions on a fresh Y.Doc's Y.Text`
  const yjsMs = median(rounds.map((r) => r.yjsMs))
  const medians = `medians of ${rounds.length} rounds, contenders alternating (order rotating)`
  const common = `one Yjs transaction per trace transaction, Y.Text obtained once from store.text()`
  report({
    bench: 'store',
    metric: `durable ingest: automerge-paper (${txns} txns) into store.text(), one flush at the end`,
    value: median(rounds.map((r) => r.store.ms)),
    unit: 'ms',
    baseline,
    baselineValue: yjsMs,
    extra: {
      goal: 'ratio <= 1.3',
      note: `durability sync, on-disk store (WAL + LevelDB); ${common}; ${medians}`,
      pairedRatio: pairedRatio(rounds, (r) => r.store.ms),
      typingMs: Math.round(median(rounds.map((r) => r.store.typingMs))),
      walRecords: median(rounds.map((r) => r.store.records)),
      walBytes: median(rounds.map((r) => r.store.walBytes)),
    },
  })
  const flushes = median(rounds.map((r) => r.flushing.flushes))
  const flushingMs = median(rounds.map((r) => r.flushing.ms))
  report({
    bench: 'store',
    metric: `durable ingest: automerge-paper into store.text(), await flush() every ${options.flushEvery} txns`,
    value: flushingMs,
    unit: 'ms',
    baseline,
    baselineValue: yjsMs,
    extra: {
      note: `an editor waiting for durability between bursts; durability sync; ${common}; ${medians}`,
      pairedRatio: pairedRatio(rounds, (r) => r.flushing.ms),
      flushes,
      walRecords: median(rounds.map((r) => r.flushing.records)),
      walBytes: median(rounds.map((r) => r.flushing.walBytes)),
      msPerFlushOverOneFlush: roundSignificant(
        (flushingMs - median(rounds.map((r) => r.store.ms))) / flushes,
        3,
      ),
    },
  })
}

function reportLeveldb(trace: Trace, options: IngestOptions, rounds: readonly Round[]): void {
  const txns = trace.txnCount
  const perEditMs = median(rounds.map((r) => r.leveldbPerEditMs))
  const storeMs = median(rounds.map((r) => r.store.ms))
  report({
    bench: 'store',
    metric: `durable ingest: automerge-paper into store.text() vs y-leveldb storeUpdate per edit`,
    value: storeMs,
    unit: 'ms',
    baseline: `y-leveldb LeveldbPersistence.storeUpdate awaited per edit, extrapolated to ${txns} edits`,
    baselineValue: perEditMs * txns,
    extra: {
      goal: 'ratio <= 0.05 (Starling > 20x faster)',
      speedup: roundSignificant((perEditMs * txns) / storeMs, 3),
      leveldbPerEditMs: roundSignificant(perEditMs, 4),
      note:
        `y-leveldb measured on the first ${options.leveldbEdits} transactions only (apply to a ` +
        `Y.Doc + await storeUpdate, fresh database each round; all ${txns} would take minutes) and ` +
        `extrapolated linearly: per-edit ms x ${txns}; y-leveldb never fsyncs, so it is not even ` +
        `durable (measured on this class of machine: all edits in about 62 s); value = Starling one-flush ingest ` +
        `(durability sync); medians of ${rounds.length} rounds`,
    },
  })
}

/** Measures and reports durable ingest against plain Yjs and y-leveldb. */
export async function benchIngest(
  ctx: BenchContext,
  trace: Trace,
  options: IngestOptions,
): Promise<void> {
  say(`ingest: ${trace.txnCount} transactions, ${options.rounds} rounds`)
  await warmUp(ctx, trace, options)
  const rounds: Round[] = []
  for (let i = 0; i < options.rounds; i++) rounds.push(await measureRound(ctx, trace, options, i))
  reportStoreRuns(trace, options, rounds)
  reportLeveldb(trace, options, rounds)
}
