/**
 * The demos of the `starling` command (docs/ARCHITECTURE.md): `starling demo` / `demo sync`, sync
 * between three stores on disk (src/demo/sync), and `starling demo wal`, a real SIGKILL crash of
 * the write-ahead log (src/demo/wal). They ship with the package because `npx starling demo` is a
 * documented command; the command line loads this module only when a demo is run, and each demo
 * is loaded only when chosen.
 */
import type { CliIo } from '../cli/args.js'

export { SYNC_DEMO_USAGE, WAL_DEMO_USAGE } from './usage.js'

/** Runs `starling demo <argv>`: `wal …` the crash demo, `sync …` or anything else the sync demo. */
export async function runDemo(argv: readonly string[], io: CliIo): Promise<number> {
  const [first, ...rest] = argv
  if (first === 'wal') {
    const { runWalDemo } = await import('./wal/demo.js')
    return runWalDemo(rest, io)
  }
  const { runSyncDemo } = await import('./sync/demo.js')
  return runSyncDemo(first === 'sync' ? rest : argv, io)
}
