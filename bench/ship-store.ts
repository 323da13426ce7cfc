/**
 * `npm run bench -- ship-store`: log shipping between stores: two on-disk stores (durability `sync`) linked by sync nodes over
 * the in-memory transport; one character typed into a note on A, `await flush()`, then wait
 * until A holds B's ack of it — one commit at a time, as an editor flushing every keystroke with
 * a peer attached. Time per commit must stay flat as the log grows: the last window of commits
 * against the first window of the same run.
 */
import type { BenchContext } from './context.js'
import { report, say } from './report.js'
import { median, roundSignificant } from './stats.js'
import { TEXT_KEY } from './store-support.js'
import { openPair, type SyncPair } from './sync-support.js'
import { storeInternalsOf } from '../src/store/internals.js'

/** How to measure. */
export interface ShipStoreOptions {
  commits: number
  /** Commits in the first and in the last window compared. */
  windowCommits: number
  /** Untimed commits before the first window (JIT warm-up; they are in the log too). */
  warmupCommits: number
}

/** Types `count` characters, one acknowledged commit each; ms per commit. */
async function commits(pair: SyncPair, count: number): Promise<Float64Array> {
  const text = pair.a.text(TEXT_KEY)
  const times = new Float64Array(count)
  for (let i = 0; i < count; i++) {
    const started = performance.now()
    text.insert(text.length, String.fromCharCode(97 + (i % 26)))
    await pair.a.flush()
    await pair.nodeA.whenAcked(storeInternalsOf(pair.a).wal.durableLsn)
    times[i] = performance.now() - started
  }
  return times
}

const mean = (values: Float64Array): number => values.reduce((a, b) => a + b, 0) / values.length

/** Runs the store-to-store shipping loop and reports its flatness. */
export async function benchShipStore(ctx: BenchContext, options: ShipStoreOptions): Promise<void> {
  const { commits: total, windowCommits: window, warmupCommits } = options
  say(`ship (stores): ${total} one-character commits on A, each acknowledged by B`)
  const pair = await openPair(ctx)
  try {
    await pair.link()
    await commits(pair, warmupCommits)
    const first = await commits(pair, window)
    await commits(pair, total - warmupCommits - 2 * window)
    const last = await commits(pair, window)
    pair.assertNoErrors()
    if (pair.b.text(TEXT_KEY).length !== total) throw new Error('B does not hold every commit')
    const thousands = (n: number): string => `${Math.round(n / 1000)}k`
    report({
      bench: 'ship',
      metric: `median ms per commit acknowledged by a peer, commits ${thousands(total - window)}–${thousands(total)}`,
      value: median([...last]),
      unit: 'ms',
      baseline: `commits ${thousands(warmupCommits)}–${thousands(warmupCommits + window)} of the same run`,
      baselineValue: median([...first]),
      extra: {
        goal: '≈ 1 (flat)',
        meanMs: roundSignificant(mean(last), 4),
        baselineMeanMs: roundSignificant(mean(first), 4),
        walRecords: storeInternalsOf(pair.a).wal.lastLsn,
        note: 'two on-disk stores (durability sync), in-memory transport, one process',
      },
    })
  } finally {
    await pair.close()
  }
}

/** Runs the store-to-store shipping measurement (100,000 commits, a few minutes). */
export async function run(ctx: BenchContext): Promise<void> {
  await benchShipStore(ctx, { commits: 100_000, windowCommits: 10_000, warmupCommits: 2000 })
}
