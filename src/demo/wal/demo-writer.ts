/**
 * The child process of `starling demo wal`: opens the log in `sync` durability, reports ready, then
 * appends probes from N concurrent writers and reports every acknowledgement and, every 100 ms,
 * the log's group-commit counters (protocol: ack-channel.ts). It runs until the demo kills it.
 *
 * Usage: demo-writer <dir> --run <u32> [--writers 64] [--segment-bytes <n>] [--max-run-ms <n>]
 */
import { openWal } from '../../wal/index.js'
import { createAckWriter } from './ack-channel.js'
import { expectPositionals, intOption, parseArgs } from '../../cli/args.js'
import { exitWithError, runProbeWriters, superviseChild } from './probe-writer.js'

const STATS_INTERVAL_MS = 100

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2), {
    run: 'value',
    writers: 'value',
    'segment-bytes': 'value',
    'max-run-ms': 'value',
  })
  const [dir] = expectPositionals(args, 1, 'demo-writer <dir> --run <n> [options]')
  const run = intOption(args, 'run', 0, 0, 0xffff_ffff)
  const writers = intOption(args, 'writers', 64, 1, 4096)
  const segmentBytesMax = intOption(args, 'segment-bytes', 8 * 1024 * 1024, 4096, 2 ** 40)
  await superviseChild({
    maxRunMs: intOption(args, 'max-run-ms', 60_000, 1, 3_600_000),
    awaitGo: false,
  })
  const wal = await openWal(dir as string, { durability: 'sync', segmentBytesMax })
  const out = createAckWriter(process.stdout)
  out.ready(wal.lastLsn)
  setInterval(() => out.stats(wal.stats), STATS_INTERVAL_MS)
  await runProbeWriters(wal, run, writers, out)
}

main().catch((error: unknown) => exitWithError('demo-writer', error))
