/**
 * The value of `starling set`: from the argument, from stdin (`-`) or from a file (`--file`), as
 * JSON — or, with `--string`, the text itself as a string. Everything is read and checked before
 * the store is opened, so a value that is refused writes nothing and creates no store. A value
 * from stdin or a file has no size limit of its own (an argument is limited by the OS, to about
 * 128 KiB on Linux); the store's record size limit applies.
 */
import { readFile } from 'node:fs/promises'
import type { JsonValue } from '../policy/index.js'
import { valueOption, flagOption, type CliIo, type ParsedArgs } from './args.js'
import { CliError, UsageError } from './cli-errors.js'

/** How `set` read its value: parsed as JSON, or taken as a string (`--string`). */
export type ValueSource = 'json' | 'string'

/** The JSON type of a value, as `set` reports it. */
export type ValueType = 'null' | 'boolean' | 'number' | 'string' | 'array' | 'object'

/** A value for `set`, read and parsed. */
export interface SetValue {
  value: JsonValue
  parsedAs: ValueSource
  type: ValueType
  /** Size of the text read, in UTF-8 bytes. */
  bytes: number
}

/** The JSON type of `value`. */
export function valueType(value: JsonValue): ValueType {
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'array'
  return typeof value as 'boolean' | 'number' | 'string' | 'object'
}

/**
 * Parses `text` as JSON, or takes it as a string when `asString`. Text that is not valid JSON is a
 * {@link UsageError} (`VALUE_NOT_JSON`) naming the problem: it is never stored as a string unasked.
 */
export function parseValue(text: string, asString: boolean): SetValue {
  const bytes = Buffer.byteLength(text, 'utf8')
  if (asString) return { value: text, parsedAs: 'string', type: 'string', bytes }
  let value: JsonValue
  try {
    value = JSON.parse(text) as JsonValue
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error)
    throw new UsageError(
      `the value is not valid JSON (${reason}); to store the text as a string, pass --string ` +
        `or quote it as JSON ('"text"')`,
      'VALUE_NOT_JSON',
      { reason, bytes },
    )
  }
  return { value, parsedAs: 'json', type: valueType(value), bytes }
}

const UTF8 = new TextDecoder('utf-8', { fatal: true })

/** `bytes` as text; bytes that are not UTF-8 are refused (`VALUE_NOT_UTF8`). */
function decodeText(bytes: Uint8Array, from: string): string {
  try {
    return UTF8.decode(bytes)
  } catch {
    throw new UsageError(`the value read from ${from} is not UTF-8 text`, 'VALUE_NOT_UTF8', {
      from,
      bytes: bytes.length,
    })
  }
}

async function readValueFile(path: string): Promise<Uint8Array> {
  try {
    return await readFile(path)
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? null
    const problem = code === 'ENOENT' ? 'no such file' : (error as Error).message
    throw new CliError(`--file ${path}: ${problem}`, 'FILE_UNREADABLE', { path, code })
  }
}

async function readValueStdin(io: CliIo): Promise<Uint8Array> {
  if (io.readStdin === undefined)
    throw new CliError('no stdin to read the value from', 'FILE_UNREADABLE', { path: '-' })
  return io.readStdin()
}

/**
 * The text of the value: `--file <path>` (then no value argument), `-` (stdin) or the argument.
 * `rest` is what follows `<dir> <key>` on the command line.
 */
async function readValueText(args: ParsedArgs, rest: string[], io: CliIo): Promise<string> {
  const file = valueOption(args, 'file')
  if (file !== undefined) {
    if (rest.length > 0)
      throw new UsageError('give the value as an argument, as - (stdin) or with --file, not both')
    return decodeText(await readValueFile(file), file)
  }
  const [text] = rest
  if (text === undefined)
    throw new UsageError('set needs a value: an argument, - (stdin) or --file <path>')
  return text === '-' ? decodeText(await readValueStdin(io), 'stdin') : text
}

/** Reads and parses the value of `set` (see the module comment). */
export async function readSetValue(args: ParsedArgs, rest: string[], io: CliIo): Promise<SetValue> {
  return parseValue(await readValueText(args, rest, io), flagOption(args, 'string'))
}
