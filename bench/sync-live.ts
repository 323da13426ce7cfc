/**
 * Live sync: the automerge-paper trace typed on A (an on-disk store) while B (on disk too) is
 * linked through the in-memory transport. Measured from the first edit typed on A until B holds
 * the final text and A holds B's acknowledgement of every record (`whenAcked`). Baseline: durable
 * ingest of the same trace on A alone, the way `bench/store-ingest.ts` measures it. Two ways of
 * typing: everything at once then one flush (as the store benchmark), and an editor's turns of
 * N edits with `await flush()` after each (sync runs between turns).
 */
import type * as Y from 'yjs'
import type { BenchContext } from './context.js'
import { report, say } from './report.js'
import { median, nowMs, roundSignificant } from './stats.js'
import {
  TEXT_KEY,
  collectGarbage,
  expectText,
  typeTxns,
  typeTxnsFlushing,
  type Trace,
} from './store-support.js'
import { openPair, openTraceStore } from './sync-support.js'
import { storeInternalsOf } from '../src/store/internals.js'

/** How to measure live sync. */
export interface LiveOptions {
  rounds: number
  /** Transactions typed once by every contender before the first round (JIT warm-up). */
  warmupTxns: number
  /** Edits per turn of the editor-like variant. */
  turnEdits: number
}

/** One timed run: total, and when A's own flush was done. */
interface Run {
  ms: number
  durableMs: number
  records: number
}

/** Types `count` transactions into `text` all at once (`turn` 0) or in turns awaiting `flush`. */
async function type(
  text: Y.Text,
  trace: Trace,
  count: number,
  turn: number,
  flush: () => Promise<void>,
): Promise<void> {
  if (turn > 0) await typeTxnsFlushing(text, trace, count, turn, flush)
  else typeTxns(text, trace, 0, count)
  await flush()
}

/** A alone: durable ingest. */
async function aloneRun(
  ctx: BenchContext,
  trace: Trace,
  count: number,
  turn: number,
): Promise<Run> {
  const { store, dir } = await openTraceStore(ctx, 'alone')
  try {
    const text = store.text(TEXT_KEY)
    const started = nowMs()
    await type(text, trace, count, turn, () => store.flush())
    const ms = nowMs() - started
    if (count === trace.txnCount) expectText(text.toJSON(), trace, 'store alone')
    return { ms, durableMs: ms, records: storeInternalsOf(store).wal.durableLsn }
  } finally {
    await store.close({ checkpoint: false })
    await ctx.removeDir(dir)
  }
}

/** A typing while linked to B: until B holds everything and A holds B's acks. */
async function syncRun(ctx: BenchContext, trace: Trace, count: number, turn: number): Promise<Run> {
  const pair = await openPair(ctx)
  try {
    await pair.link()
    const text = pair.a.text(TEXT_KEY)
    const started = nowMs()
    await type(text, trace, count, turn, () => pair.a.flush())
    const durableMs = nowMs() - started
    await pair.nodeA.whenAcked(storeInternalsOf(pair.a).wal.durableLsn)
    const received = pair.b.text(TEXT_KEY).toJSON()
    const ms = nowMs() - started
    pair.assertNoErrors()
    if (count === trace.txnCount) expectText(received, trace, 'B after sync')
    else if (received !== text.toJSON()) throw new Error('B differs from A after sync')
    return { ms, durableMs, records: storeInternalsOf(pair.a).wal.durableLsn }
  } finally {
    await pair.close()
  }
}

interface Round {
  alone: Run
  synced: Run
  aloneTurns: Run
  syncedTurns: Run
}

async function measureRound(
  ctx: BenchContext,
  trace: Trace,
  options: LiveOptions,
  index: number,
): Promise<Round> {
  const idle: Run = { ms: 0, durableMs: 0, records: 0 }
  const round: Round = { alone: idle, synced: idle, aloneTurns: idle, syncedTurns: idle }
  const n = trace.txnCount
  const steps: Array<() => Promise<void>> = [
    async () => void (round.alone = await aloneRun(ctx, trace, n, 0)),
    async () => void (round.synced = await syncRun(ctx, trace, n, 0)),
    async () => void (round.aloneTurns = await aloneRun(ctx, trace, n, options.turnEdits)),
    async () => void (round.syncedTurns = await syncRun(ctx, trace, n, options.turnEdits)),
  ]
  for (let k = 0; k < steps.length; k++) {
    collectGarbage()
    await (steps[(index + k) % steps.length] as () => Promise<void>)()
  }
  say(
    `  round ${index + 1}: alone ${round.alone.ms.toFixed(0)} ms, synced ${round.synced.ms.toFixed(0)} ms ` +
      `(A durable at ${round.synced.durableMs.toFixed(0)}); turns of ${options.turnEdits}: alone ` +
      `${round.aloneTurns.ms.toFixed(0)} ms, synced ${round.syncedTurns.ms.toFixed(0)} ms`,
  )
  return round
}

function reportRuns(
  trace: Trace,
  rounds: readonly Round[],
  label: string,
  pick: (round: Round) => { alone: Run; synced: Run },
): void {
  const alone = rounds.map((r) => pick(r).alone)
  const synced = rounds.map((r) => pick(r).synced)
  report({
    bench: 'sync',
    metric:
      `live sync: automerge-paper (${trace.txnCount} txns) typed on A ${label}, until B holds ` +
      `the final text and A holds B's acks (whenAcked)`,
    value: median(synced.map((r) => r.ms)),
    unit: 'ms',
    baseline: `durable ingest of the same trace on A alone, typed the same way`,
    baselineValue: median(alone.map((r) => r.ms)),
    extra: {
      goal: 'ratio <= 2',
      note:
        'two on-disk stores (durability sync, WAL + LevelDB in a temp dir), in-memory transport, ' +
        `one process; B has the note open; medians of ${rounds.length} rounds, contenders ` +
        'alternating (order rotating)',
      pairedRatio: roundSignificant(
        median(rounds.map((r) => pick(r).synced.ms / pick(r).alone.ms)),
        4,
      ),
      aDurableMs: Math.round(median(synced.map((r) => r.durableMs))),
      walRecords: median(synced.map((r) => r.records)),
    },
  })
}

/** Measures and reports live sync against durable ingest alone. */
export async function benchLive(
  ctx: BenchContext,
  trace: Trace,
  options: LiveOptions,
): Promise<void> {
  say(`live sync: ${trace.txnCount} transactions, ${options.rounds} rounds`)
  const warm = Math.min(options.warmupTxns, trace.txnCount)
  for (const turn of [0, options.turnEdits]) {
    await aloneRun(ctx, trace, warm, turn)
    await syncRun(ctx, trace, warm, turn)
  }
  const rounds: Round[] = []
  for (let i = 0; i < options.rounds; i++) rounds.push(await measureRound(ctx, trace, options, i))
  reportRuns(trace, rounds, 'all at once, one flush', (r) => ({ alone: r.alone, synced: r.synced }))
  reportRuns(
    trace,
    rounds,
    `in turns of ${options.turnEdits} edits, await flush() after each`,
    (r) => ({
      alone: r.aloneTurns,
      synced: r.syncedTurns,
    }),
  )
}
