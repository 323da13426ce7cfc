#!/usr/bin/env node
/**
 * The `starling` command line. Exit codes: 0 success, 1 failure (the demo lost an acknowledged
 * record, the inspected log is corrupt, an error), 2 bad command line.
 */
import { UsageError, type CliIo } from './args.js'
import { DEMO_USAGE, runDemo } from './demo.js'
import { WAL_INSPECT_USAGE, runWalInspect } from './wal-inspect.js'

const USAGE = `Starling: a local-first, CRDT-based document store.

Usage:
  ${DEMO_USAGE}
      Crash demonstration of the write-ahead log: a child process appends with 64 concurrent
      writers in sync durability, is killed with SIGKILL after --run-ms (default 1500), and the
      log is reopened and checked: every acknowledged record must be there byte for byte.
      The directory (default ./starling-demo/wal) is appended to; delete it to start over.

  ${WAL_INSPECT_USAGE}
      Segments, record counts, LSN ranges, torn tails and corruption of a log directory,
      read-only. Exits with 1 when a segment is corrupt.

  starling help
      This text.
`

const io: CliIo = {
  out: (text) => void process.stdout.write(text),
  err: (text) => void process.stderr.write(text),
  isTTY: process.stdout.isTTY === true,
}

async function runCommand(argv: readonly string[]): Promise<number> {
  const [command, ...rest] = argv
  switch (command) {
    case 'help':
    case '--help':
    case '-h':
      io.out(USAGE)
      return 0
    case 'demo':
      return runDemo(rest, io)
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

runCommand(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code
  },
  (error: unknown) => {
    if (error instanceof UsageError) {
      io.err(`starling: ${error.message}\nRun 'starling help' for usage.\n`)
      process.exitCode = 2
      return
    }
    io.err(`starling: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`)
    process.exitCode = 1
  },
)
