/**
 * `npm run bench -- sync`: the sync engine between on-disk stores over the in-memory transport,
 * with the automerge-paper editing trace (259,778 transactions) — live sync while typing against
 * durable ingest alone, catch-up after a long absence against the minimal Yjs difference — and
 * the speed of the deterministic simulator. Baselines are measured in the same run.
 */
import type { BenchContext } from './context.js'
import { loadPaperTrace } from './store-support.js'
import { benchCatchUp } from './sync-catchup.js'
import { benchLive } from './sync-live.js'
import { benchSimulator } from './sync-sim.js'

/** Runs every sync measurement and reports one JSON line per result. */
export async function run(ctx: BenchContext): Promise<void> {
  const trace = loadPaperTrace()
  await benchLive(ctx, trace, { rounds: 5, warmupTxns: 30_000, turnEdits: 1000 })
  await benchCatchUp(ctx, trace, { rounds: 3, applyRepeats: 5 })
  await benchSimulator(ctx, { peers: 5, steps: 200, seeds: [1, 2, 3] })
}
