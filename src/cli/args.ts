/**
 * A tiny command-line argument parser: positionals (a negative number such as `-5` is one),
 * `--flag`, `--name value`, `--name=value` and `--` to end options. Anything else is a {@link UsageError} (the CLI exits with code 2).
 */

export { CliError, UsageError } from './cli-errors.js'
import { UsageError } from './cli-errors.js'

/** A negative number is a positional (a value), not an option. */
const NEGATIVE_NUMBER = /^-\d/

/** How an option is given: a bare flag, or a name followed by a value. */
export type OptionKind = 'flag' | 'value'

/** The options a command accepts, by name without the leading `--`. */
export type OptionSpec = Readonly<Record<string, OptionKind>>

/** A parsed command line. */
export interface ParsedArgs {
  positionals: string[]
  /** `true` for a flag that was given, the text for a value option. */
  options: Map<string, string | true>
}

/** Parses `argv` (without the program and command names) against `spec`. */
export function parseArgs(argv: readonly string[], spec: OptionSpec): ParsedArgs {
  const positionals: string[] = []
  const options = new Map<string, string | true>()
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string
    if (arg === '--') {
      positionals.push(...argv.slice(i + 1))
      break
    }
    if (!arg.startsWith('--')) {
      if (arg.startsWith('-') && arg.length > 1 && !NEGATIVE_NUMBER.test(arg))
        throw new UsageError(`unknown option ${arg}`)
      positionals.push(arg)
      continue
    }
    const eq = arg.indexOf('=')
    const name = arg.slice(2, eq === -1 ? undefined : eq)
    const kind = Object.hasOwn(spec, name) ? spec[name] : undefined
    if (kind === undefined) throw new UsageError(`unknown option --${name}`)
    if (kind === 'flag') {
      if (eq !== -1) throw new UsageError(`option --${name} takes no value`)
      options.set(name, true)
      continue
    }
    const value = eq !== -1 ? arg.slice(eq + 1) : argv[++i]
    if (value === undefined || value === '') throw new UsageError(`option --${name} needs a value`)
    options.set(name, value)
  }
  return { positionals, options }
}

/** The text of value option `name`, or `fallback` when it was not given. */
export function valueOption(args: ParsedArgs, name: string, fallback: string): string
export function valueOption(args: ParsedArgs, name: string): string | undefined
export function valueOption(args: ParsedArgs, name: string, fallback?: string): string | undefined {
  const value = args.options.get(name)
  return typeof value === 'string' ? value : fallback
}

/** Whether flag `name` was given. */
export function flagOption(args: ParsedArgs, name: string): boolean {
  return args.options.get(name) === true
}

/** Integer value option `name` in `[min, max]`, or `fallback` when it was not given. */
export function intOption(
  args: ParsedArgs,
  name: string,
  fallback: number,
  min: number,
  max: number,
): number {
  const text = valueOption(args, name)
  if (text === undefined) return fallback
  const value = /^-?\d+$/.test(text) ? Number(text) : Number.NaN
  if (!Number.isSafeInteger(value) || value < min || value > max)
    throw new UsageError(`option --${name} must be an integer in [${min}, ${max}], got ${text}`)
  return value
}

/** Fails unless exactly `count` positionals were given; returns them. */
export function expectPositionals(args: ParsedArgs, count: number, usage: string): string[] {
  if (args.positionals.length !== count) {
    const got = args.positionals.length
    throw new UsageError(`expected ${count} argument(s), got ${got}. Usage: ${usage}`)
  }
  return args.positionals
}

/**
 * Where a command writes: stdout, stderr, and whether stdout is a terminal (for progress); and
 * where it reads stdin from (`set <dir> <key> -`), when it can.
 */
export interface CliIo {
  out(text: string): void
  err(text: string): void
  readonly isTTY: boolean
  /** Reads stdin to its end. */
  readStdin?(): Promise<Uint8Array>
}
