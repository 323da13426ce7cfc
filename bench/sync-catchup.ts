/**
 * Catch-up: B (on disk) is offline while the whole automerge-paper trace is typed on A (on disk),
 * then A and B are linked. Measured: the bytes A sent B until A holds B's acknowledgement of its
 * whole log (from the network's counters), against the minimal Yjs difference
 * `Y.encodeStateAsUpdate(docA, Y.encodeStateVector(docB))`; and the catch-up time, against
 * `Y.applyUpdate` of that difference into a fresh Y.Doc. Once with the engine's default limits
 * (which choose between shipping the log and state vectors) and once with state vectors forced.
 */
import * as Y from 'yjs'
import type { SyncLimits } from '../src/sync/protocol.js'
import type { BenchContext } from './context.js'
import { report, say } from './report.js'
import { median, nowMs, roundSignificant } from './stats.js'
import {
  ROOT_NAME,
  TEXT_KEY,
  collectGarbage,
  expectText,
  typeTxns,
  type Trace,
} from './store-support.js'
import { openPair } from './sync-support.js'
import { storeInternalsOf } from '../src/store/internals.js'

/** How to measure catch-up. */
export interface CatchUpOptions {
  rounds: number
  /** Applications of the difference timed per round (the median is the round's baseline). */
  applyRepeats: number
}

/** A way of configuring the engine for catch-up. */
interface Variant {
  label: string
  limits: Partial<SyncLimits>
}

const VARIANTS: readonly Variant[] = [
  { label: 'default limits', limits: {} },
  {
    label: 'state vectors forced (limits catchUpRecordsMin 0, catchUpBytesMin 0)',
    limits: { catchUpRecordsMin: 0, catchUpBytesMin: 0 },
  },
]

interface Round {
  ms: number
  bytesAtoB: number
  bytesBtoA: number
  messagesAtoB: number
  diffBytes: number
  applyMs: number
  /** How A caught B up: by state vectors, or by shipping its log. */
  mode: 'state vectors' | 'log'
  walRecords: number
  walBytes: number
}

/** Milliseconds of `Y.applyUpdate(diff)` into a fresh doc (median of `repeats`), checked. */
function applyDiffMs(diff: Uint8Array, trace: Trace, repeats: number): number {
  const times: number[] = []
  for (let i = 0; i < repeats; i++) {
    const doc = new Y.Doc()
    const started = nowMs()
    Y.applyUpdate(doc, diff)
    times.push(nowMs() - started)
    if (i === 0) expectText(doc.getText(ROOT_NAME).toJSON(), trace, 'Y.applyUpdate of the diff')
    doc.destroy()
  }
  return median(times)
}

async function measureRound(
  ctx: BenchContext,
  trace: Trace,
  options: CatchUpOptions,
  variant: Variant,
): Promise<Round> {
  const pair = await openPair(ctx, variant.limits)
  try {
    typeTxns(pair.a.text(TEXT_KEY), trace)
    await pair.a.flush()
    const docA = await pair.a.load(TEXT_KEY)
    const docB = await pair.b.load(TEXT_KEY)
    const diff = Y.encodeStateAsUpdate(docA, Y.encodeStateVector(docB))
    let mode: Round['mode'] = 'log'
    pair.nodeA.on('event', (event) => {
      if (event.type === 'catch-up' && event.direction === 'out') mode = 'state vectors'
    })
    const target = storeInternalsOf(pair.a).wal.durableLsn
    collectGarbage()
    const started = nowMs()
    pair.network.link('a', 'b')
    await pair.nodeA.whenAcked(target)
    const ms = nowMs() - started
    pair.assertNoErrors()
    expectText(pair.b.text(TEXT_KEY).toJSON(), trace, 'B after catch-up')
    collectGarbage()
    return {
      ms,
      bytesAtoB: pair.bytesSent('a'),
      bytesBtoA: pair.bytesSent('b'),
      messagesAtoB: pair.messagesSent('a'),
      diffBytes: diff.length,
      applyMs: applyDiffMs(diff, trace, options.applyRepeats),
      mode,
      walRecords: target,
      walBytes: storeInternalsOf(pair.a).wal.stats.bytesWritten,
    }
  } finally {
    await pair.close()
  }
}

function reportRounds(trace: Trace, variant: Variant, rounds: readonly Round[]): void {
  const modes = [...new Set(rounds.map((r) => r.mode))].join(', ')
  const setup =
    `${variant.label}; B offline (not linked) while A typed all ${trace.txnCount} txns, then ` +
    'linked; two on-disk stores (durability sync, temp dir), in-memory transport; A caught B up ' +
    `by ${modes}; medians of ${rounds.length} rounds`
  report({
    bench: 'sync',
    metric: `catch-up (${variant.label}): bytes sent A->B until A holds B's ack of its whole log`,
    value: median(rounds.map((r) => r.bytesAtoB)),
    unit: 'bytes',
    baseline:
      'minimal Yjs diff: Y.encodeStateAsUpdate(docA, Y.encodeStateVector(docB)) of the note',
    baselineValue: median(rounds.map((r) => r.diffBytes)),
    extra: {
      goal: 'ratio <= 1.2',
      note: `${setup}; Yjs encodings vary a little with the random client ids, so each round has its own diff; every frame A sent counted (handshake, records or offers and data, the register document)`,
      pairedRatio: roundSignificant(median(rounds.map((r) => r.bytesAtoB / r.diffBytes)), 4),
      bytesBtoA: median(rounds.map((r) => r.bytesBtoA)),
      messagesAtoB: median(rounds.map((r) => r.messagesAtoB)),
      walRecordsOfA: median(rounds.map((r) => r.walRecords)),
      walBytesOfA: median(rounds.map((r) => r.walBytes)),
    },
  })
  report({
    bench: 'sync',
    metric: `catch-up (${variant.label}): time from link until A holds B's ack of its whole log`,
    value: median(rounds.map((r) => r.ms)),
    unit: 'ms',
    baseline: 'Y.applyUpdate of the minimal diff into a fresh Y.Doc (in memory, not durable)',
    baselineValue: median(rounds.map((r) => r.applyMs)),
    extra: {
      note: `${setup}; B makes what it receives durable (fdatasync) and applies it before it acks`,
      pairedRatio: roundSignificant(median(rounds.map((r) => r.ms / r.applyMs)), 4),
    },
  })
}

/** Measures and reports catch-up after a long absence, per variant. */
export async function benchCatchUp(
  ctx: BenchContext,
  trace: Trace,
  options: CatchUpOptions,
): Promise<void> {
  say(`catch-up: ${trace.txnCount} transactions typed while B is offline, ${options.rounds} rounds`)
  const rounds = new Map<Variant, Round[]>(VARIANTS.map((variant) => [variant, []]))
  for (let i = 0; i < options.rounds; i++) {
    for (let k = 0; k < VARIANTS.length; k++) {
      const variant = VARIANTS[(i + k) % VARIANTS.length] as Variant
      const round = await measureRound(ctx, trace, options, variant)
      rounds.get(variant)?.push(round)
      say(
        `  round ${i + 1}, ${variant.label}: ${round.bytesAtoB} bytes A->B (diff ` +
          `${round.diffBytes}) in ${round.ms.toFixed(0)} ms by ${round.mode}; ` +
          `Y.applyUpdate ${round.applyMs.toFixed(1)} ms`,
      )
    }
  }
  for (const variant of VARIANTS) reportRounds(trace, variant, rounds.get(variant) ?? [])
}
