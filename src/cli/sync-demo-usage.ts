/**
 * Usage line of `starling demo` (the sync demo), apart from the demo itself so that the help text
 * does not load it.
 */
export const SYNC_DEMO_USAGE =
  'starling demo [sync] [--dir <dir>] [--edits <n>] [--batch <n>] [--quiet]'
