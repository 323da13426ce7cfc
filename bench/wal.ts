/**
 * `npm run bench -- wal`: the write-ahead log on this machine's real disk — group-commit
 * throughput, single-writer latency, recovery speed, and the contrasts in the README's Performance section. Baselines
 * are measured in the same run, alternating with the WAL runs; medians are reported.
 */
import type { BenchContext } from './context.js'
import { benchContrast } from './wal-contrast.js'
import { benchLatency } from './wal-latency.js'
import { benchRecovery } from './wal-recovery.js'
import { benchThroughput } from './wal-throughput.js'

const WRITERS = 256

/** Runs every WAL measurement and reports one JSON line per result. */
export async function run(ctx: BenchContext): Promise<void> {
  const timing = { writers: WRITERS, slices: 16, warmupMs: 300, walMs: 400, rawMs: 150 }
  const small = await benchThroughput(ctx, { payloadBytes: 32, ...timing })
  await benchThroughput(ctx, { payloadBytes: 1024, ...timing })
  await benchLatency(ctx, { payloadBytes: 32, appends: 2000, warmup: 100, slices: 10 })
  await benchRecovery(ctx, { records: 1_000_000, payloadBytes: 24, burst: 16_384, rounds: 3 })
  await benchContrast(ctx, {
    updates: 2000,
    payloadBytes: 32,
    rounds: 3,
    walRecordsPerS: small,
    walBaseline: `WAL append throughput, 32 B records, ${WRITERS} writers, durability sync`,
  })
}
