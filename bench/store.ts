/**
 * `npm run bench -- store`: the store on this machine's real disk with a real editing trace
 * (automerge-paper, 259,778 transactions) — durable ingest through `store.text()`, reopening from
 * a checkpoint and by WAL replay, and memory per key. Baselines (plain Yjs, y-leveldb, plain
 * Y.Docs and Maps) are measured in the same run, alternating with the store; medians are reported.
 */
import type { BenchContext } from './context.js'
import { benchIngest } from './store-ingest.js'
import { benchMemory } from './store-memory.js'
import { benchReopen } from './store-reopen.js'
import { loadPaperTrace } from './store-support.js'

/** Runs every store measurement and reports one JSON line per result. */
export async function run(ctx: BenchContext): Promise<void> {
  await benchMemory(ctx, { keys: 10_000, rounds: 3, burst: 500 })
  const trace = loadPaperTrace()
  await benchIngest(ctx, trace, {
    rounds: 5,
    warmupTxns: 30_000,
    flushEvery: 100,
    leveldbEdits: 3000,
  })
  await benchReopen(ctx, trace, { checkpointRounds: 5, replayRounds: 3 })
}
