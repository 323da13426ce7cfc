/**
 * How the CLI reports a failed command. Without `--json`: one line on stderr (a usage hint after a
 * bad command line, the stack trace only for an unexpected error). With `--json` on the command
 * line: one JSON line `{"error":{"code","message","details"}}` on stdout, where the command's
 * result would have gone, and nothing else on stdout (an unexpected error's stack trace still goes
 * to stderr). The exit code is the same either way: 2 for a bad command line, 1 for any other
 * failure.
 */
import { StarlingError, type ErrorDetails } from '../core/errors.js'
import type { CliIo } from './args.js'
import { CliError, UsageError, type FailureCode } from './cli-errors.js'
import { jsonLine } from './format.js'

/** Where a failure comes from: how its text form is written. */
export type FailureKind = 'usage' | 'cli' | 'library' | 'internal'

/** A failure as the CLI reports it. */
export interface Failure {
  kind: FailureKind
  code: FailureCode
  message: string
  details: ErrorDetails
  /** 2 for a bad command line, 1 for any other failure. */
  exitCode: 1 | 2
  /** The stack trace of an unexpected error; absent for expected failures. */
  stack?: string
}

/** Whether `--json` is among the options of `argv` (before any `--`). */
export function jsonRequested(argv: readonly string[]): boolean {
  const end = argv.indexOf('--')
  return (end === -1 ? argv : argv.slice(0, end)).includes('--json')
}

/** What `error`, thrown by a command, tells the user. */
export function describeFailure(error: unknown): Failure {
  if (error instanceof UsageError) return { kind: 'usage', ...fieldsOf(error), exitCode: 2 }
  if (error instanceof CliError) return { kind: 'cli', ...fieldsOf(error), exitCode: 1 }
  if (error instanceof StarlingError) return { kind: 'library', ...fieldsOf(error), exitCode: 1 }
  // Starling's misuse errors (a value a CRDT key cannot take, …) carry this code.
  if (error instanceof TypeError && (error as { code?: unknown }).code === 'INVALID_ARGUMENT')
    return {
      kind: 'cli',
      code: 'INVALID_ARGUMENT',
      message: error.message,
      details: {},
      exitCode: 1,
    }
  const message = error instanceof Error ? error.message : String(error)
  const stack = error instanceof Error ? (error.stack ?? message) : message
  return { kind: 'internal', code: 'INTERNAL', message, details: {}, exitCode: 1, stack }
}

function fieldsOf(error: UsageError | CliError | StarlingError) {
  return { code: error.code, message: error.message, details: error.details }
}

/** The text form of `failure`, for stderr. */
export function formatFailure(failure: Failure): string {
  switch (failure.kind) {
    case 'usage':
      return `starling: ${failure.message}\nRun 'starling help' for usage.\n`
    case 'library':
      return `starling: ${failure.message} (${failure.code})\n`
    case 'internal':
      return `starling: ${failure.stack ?? failure.message}\n`
    case 'cli':
      return `starling: ${failure.message}\n`
  }
}

/** Reports `error` on `io` (as JSON when `json`); returns the exit code. */
export function reportFailure(error: unknown, io: CliIo, json: boolean): number {
  const failure = describeFailure(error)
  if (!json) {
    io.err(formatFailure(failure))
    return failure.exitCode
  }
  const { code, message, details } = failure
  io.out(jsonLine({ error: { code, message, details } }))
  if (failure.stack !== undefined) io.err(`starling: ${failure.stack}\n`)
  return failure.exitCode
}
