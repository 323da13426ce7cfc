/**
 * Usage lines of `starling demo`, apart from the demos themselves so that the help text of the
 * command line does not load them.
 */

/** `starling demo` and `starling demo sync`: the sync demo (what `npm start` runs). */
export const SYNC_DEMO_USAGE =
  'starling demo [sync] [--dir <dir>] [--edits <n>] [--batch <n>] [--quiet]'

/** `starling demo wal`: the crash demo of the write-ahead log. */
export const WAL_DEMO_USAGE =
  'starling demo wal [--dir <dir>] [--json] [--run-ms <ms>] [--writers <n>]'
