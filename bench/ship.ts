/**
 * `npm run bench -- ship`: shipping the log one small commit at a time, as a sync node does for
 * an editor that flushes every keystroke with a peer attached — at the WAL level, an acknowledged
 * append then `wal.read(lsn)` of it, 100,000 times. Time per commit must stay flat as the log
 * grows (docs/ARCHITECTURE.md, "Reading and truncation"); the read as it was before the read
 * index (a scan of the segment from its start) is measured in the same run as the contrast.
 * `npm run bench -- ship-store` times the whole path between two stores.
 */
import type { BenchContext } from './context.js'
import { benchShipWal } from './ship-wal.js'

/** Runs the WAL-level shipping measurement and reports one JSON line per result. */
export async function run(ctx: BenchContext): Promise<void> {
  await benchShipWal(ctx, {
    commits: 100_000,
    windowCommits: 10_000,
    payloadBytes: 40,
    scanCommits: 200,
    warmupCommits: 5000,
  })
}
