#!/usr/bin/env node
/**
 * The `starling` command line. Exit codes: 0 success, 1 failure (a key or directory not found, a
 * store in use, a corrupt log, the sync demo did not converge, the crash demo lost an acknowledged
 * record, an error), 2 bad command line.
 */
import { UsageError } from './args.js'
import { SYNC_DEMO_USAGE, WAL_DEMO_USAGE } from '../demo/usage.js'
import {
  DELETE_USAGE,
  GET_USAGE,
  INSPECT_USAGE,
  LIST_USAGE,
  SET_USAGE,
  runDelete,
  runGet,
  runInspect,
  runList,
  runSet,
} from './store-commands.js'
import { jsonRequested, reportFailure } from './failure.js'
import { processIo } from './stdio.js'
import { REPAIR_USAGE, runRepair } from './repair.js'
import { WAL_INSPECT_USAGE, runWalInspect } from './wal-inspect.js'
import { SIMULATE_USAGE, runSimulate } from './simulate.js'

const USAGE = `Starling: a local-first, CRDT-based document store.

Usage:
  ${GET_USAGE}
      Prints the value of <key> in the store directory <dir>: JSON for registers, the content
      for CRDT documents (a crdt:text key prints its text). Keys are read under the policy they
      recorded when first written; a custom key with concurrent versions cannot be resolved
      without the application's resolver, so its versions are printed instead.
      Exits with 1 when the key does not exist.

  ${SET_USAGE}
      Sets <key> and waits until the change is durable. The value is the argument, stdin
      (-) or the content of a file (--file; no size limit but the store's: 1 MiB of JSON for
      a register). It must be JSON (42, true, null, '{"a":1}', '"quoted"'): anything else is
      refused (exit code 2), unless --string takes the text as it is, as a string. A crdt:text
      key takes a JSON string, or any text with --string. A key with no recorded policy is
      written as lww (last writer wins). <dir> must be a store or an empty directory (a store
      is created in it). Prints what was written (type, bytes, LSN), not the value. Put --
      before a value that starts with '-' (a negative number needs none).

  ${DELETE_USAGE}
      Deletes <key> (a tombstone); exits with 1 when the key does not exist.

  ${LIST_USAGE}
      Existing keys (optionally only those starting with <p>) and their recorded policies.

  ${INSPECT_USAGE}
      WAL segments and record counts, checkpoint LSN, the recovery report and every key's
      recorded policy with any problem. Changes no data: works while another process holds the
      store (then only the WAL is shown), and opens the store only when its WAL is clean,
      closing it without a checkpoint. Exits with 1 when the WAL is corrupt.

  ${REPAIR_USAGE}
      Opens a store whose write-ahead log is damaged: keeps every checkpointed write and every
      WAL record before the damage (damaged files kept as *.broken), then prints what was kept
      and which records written after the checkpoint were lost. Exits with 1 when the store
      still cannot be opened.

  ${SYNC_DEMO_USAGE}
      Sync demonstration on disk (what \`npm start\` runs): three stores in <dir>/alpha, beta
      and gamma (default ./starling-demo; only those three directories are wiped at start),
      every pair linked through the in-memory transport. alpha types the automerge-paper
      editing trace (--edits: only its first <n> edits; --batch: edits per turn) into
      notes/paper; gamma goes offline for the middle third and catches up; beta and gamma write
      settings/* concurrently (conflicts resolved by HLC). Progress and sync status are drawn
      live on a terminal, as periodic lines otherwise (--quiet: none). Exits with 1 unless all
      three hold the trace's final text, the same settings and the same state vectors.
      The trace ships with the package (test/data/editing-traces; STARLING_TRACES_DIR elsewhere).

  ${WAL_DEMO_USAGE}
      Crash demonstration of the write-ahead log: a child process appends with 64 concurrent
      writers in sync durability, is killed with SIGKILL after --run-ms (default 1500), and the
      log is reopened and checked: every acknowledged record must be there byte for byte.
      The directory (default ./starling-demo/wal) is appended to; delete it to start over.

  ${WAL_INSPECT_USAGE}
      Segments, record counts, LSN ranges, torn tails and corruption of a log directory,
      read-only. Exits with 1 when a segment is corrupt.

  ${SIMULATE_USAGE}
      Replays one run of the deterministic simulator (starling/testing) from the repro line of
      its report: same options, same seed, same run. Prints its summary and digest; exits with 1
      when it has violations. A run with custom resolvers or its own values/ops/oracle needs
      --policies: a JavaScript module exporting its policy table as \`policies\` (resolvers are
      found by name) and those functions under their own names.

  starling help
      This text.

  --json prints one line of JSON instead of text; a failure is then the one line
  {"error":{"code":…,"message":…,"details":{…}}} on stdout (a bad command line included), with
  the same exit code. A store is used by one process at a time: get, set, delete and list fail
  with exit code 1 (STORE_LOCKED) while another process holds it. Output cut short by its reader
  (starling list <dir> | head) ends the command quietly.
`

const io = processIo()

async function runCommand(argv: readonly string[]): Promise<number> {
  const [command, ...rest] = argv
  switch (command) {
    case 'get':
      return runGet(rest, io)
    case 'set':
      return runSet(rest, io)
    case 'delete':
      return runDelete(rest, io)
    case 'list':
      return runList(rest, io)
    case 'inspect':
      return runInspect(rest, io)
    case 'simulate':
      return runSimulate(rest, io)
    case 'repair':
      return runRepair(rest, io)
    case 'help':
    case '--help':
    case '-h':
      io.out(USAGE)
      return 0
    case 'demo':
      return runDemoCommand(rest)
    case 'wal': {
      const [subcommand, ...args] = rest
      if (subcommand === 'inspect') return runWalInspect(args, io)
      throw new UsageError(
        subcommand === undefined ? 'wal needs a subcommand' : `unknown command wal ${subcommand}`,
      )
    }
    case undefined:
      throw new UsageError('missing command')
    default:
      throw new UsageError(`unknown command ${command}`)
  }
}

/** The demos (src/demo) are loaded only when one is run. */
async function runDemoCommand(argv: readonly string[]): Promise<number> {
  const { runDemo } = await import('../demo/index.js')
  return runDemo(argv, io)
}

const argv = process.argv.slice(2)
runCommand(argv).then(
  (code) => {
    process.exitCode = code
  },
  (error: unknown) => {
    process.exitCode = reportFailure(error, io, jsonRequested(argv))
  },
)
