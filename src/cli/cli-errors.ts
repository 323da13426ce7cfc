/**
 * The CLI's expected failures and their stable codes. A failure of the library keeps its own
 * `StarlingError` code (`STORE_LOCKED`, `WAL_CORRUPTION`, … — docs/errors.md); the codes here are
 * the failures only the command line has. With `--json` every failure is printed as
 * `{"error":{"code","message","details"}}` (see failure.ts); the codes are listed in the README.
 */
import type { ErrorCode, ErrorDetails } from '../core/errors.js'

/** Every code of a failure only the CLI raises, with a one-line meaning. */
export const CLI_ERROR_CODES = {
  USAGE: 'The command line is wrong: unknown command or option, missing or malformed argument.',
  VALUE_NOT_JSON: 'The value given to set is not valid JSON (and --string was not given).',
  VALUE_NOT_UTF8: 'The value set read from stdin or a file is not UTF-8 text.',
  NO_SUCH_DIRECTORY: 'The directory does not exist, or its path is not a directory.',
  NOT_A_STORE: 'The directory is not a Starling store (nor empty, for set).',
  NO_SUCH_KEY: 'The key does not exist in the store.',
  UNKNOWN_POLICY: 'The key is recorded with a policy this CLI does not know.',
  FILE_UNREADABLE: 'The file given to --file (or stdin) could not be read.',
  TRACE_MISSING: 'The editing trace the sync demo types was not found.',
  DEMO_FAILED: 'The crash demo could not start its writer process.',
  FAILED: 'The command failed for the reason its message gives (no more specific code applies).',
  INTERNAL: 'An unexpected error: a bug in Starling (the stack trace goes to stderr).',
} as const

/** A stable code of a failure only the CLI raises. */
export type CliErrorCode = keyof typeof CLI_ERROR_CODES

/** The code of any failure the CLI reports: its own, or the library's. */
export type FailureCode = CliErrorCode | ErrorCode

/** A bad command line: unknown command or option, missing or malformed value (exit code 2). */
export class UsageError extends Error {
  readonly code: CliErrorCode
  readonly details: ErrorDetails

  constructor(message: string, code: CliErrorCode = 'USAGE', details: ErrorDetails = {}) {
    super(message)
    this.name = 'UsageError'
    this.code = code
    this.details = details
  }
}

/**
 * An expected failure of a command (a missing directory, a locked store, a key not found): the CLI
 * prints the message, no stack trace, and exits with code 1.
 */
export class CliError extends Error {
  readonly code: FailureCode
  readonly details: ErrorDetails

  constructor(message: string, code: FailureCode = 'FAILED', details: ErrorDetails = {}) {
    super(message)
    this.name = 'CliError'
    this.code = code
    this.details = details
  }
}
