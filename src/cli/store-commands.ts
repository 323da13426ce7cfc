/**
 * The commands on a store directory: `get`, `set`, `delete`, `list` and `inspect`. Human-readable output
 * by default, one JSON line with `--json`. Expected failures (no such directory or key, a store in
 * use, a corrupt log) are `CliError`s: exit code 1, no stack trace.
 */
import { KEY_LENGTH_MAX } from '../store/index.js'
import {
  CliError,
  expectPositionals,
  flagOption,
  parseArgs,
  UsageError,
  valueOption,
  type CliIo,
} from './args.js'
import { formatTable, jsonLine } from './format.js'
import {
  deleteKey,
  listKeys,
  readKey,
  writeKey,
  type KeyListing,
  type KeyReading,
  type KeyWrite,
} from './key-ops.js'
import { inspectionFailed, inspectStore } from './store-inspect.js'
import { formatStoreInspection } from './store-inspect-report.js'
import { readSetValue } from './set-value.js'
import { openCliStore, type CliStore, type OpenCliStoreOptions } from './store-open.js'

/** Usage line of `get`. */
export const GET_USAGE = 'starling get <dir> <key> [--json]'
/** Usage line of `set`. */
export const SET_USAGE =
  'starling set <dir> <key> (<value> | - | --file <path>) [--string] [--json]'
/** Usage line of `delete`. */
export const DELETE_USAGE = 'starling delete <dir> <key> [--json]'
/** Usage line of `list`. */
export const LIST_USAGE = 'starling list <dir> [--prefix <p>] [--json]'
/** Usage line of `inspect`. */
export const INSPECT_USAGE = 'starling inspect <dir> [--json]'

/** Fails with a usage error unless `key` can be a store key. */
function checkKey(key: string): string {
  if (key.length === 0) throw new UsageError('the key must not be empty')
  if (key.length > KEY_LENGTH_MAX)
    throw new UsageError(`the key is ${key.length} characters long, the limit is ${KEY_LENGTH_MAX}`)
  return key
}

/** Runs `work` on the store in `dir`, closing it afterwards whatever happens. */
async function withStore<T>(
  dir: string,
  options: OpenCliStoreOptions,
  work: (cli: CliStore) => Promise<T>,
): Promise<T> {
  const cli = await openCliStore(dir, options)
  let result: T
  try {
    result = await work(cli)
  } catch (error) {
    await cli.store.close({ checkpoint: false }).catch(() => undefined)
    throw error
  }
  await cli.close()
  return result
}

function notFound(key: string, dir: string): string {
  return `${key}: no such key in ${dir}`
}

/** A policy id as printed; keys without a recorded one read as lww. */
function showPolicy(policy: string | null): string {
  return policy ?? 'lww (not recorded)'
}

/** The human-readable form of a value: JSON, except the text of a CRDT document as it is. */
function showValue(value: unknown, policy: string | null): string {
  if (typeof value === 'string' && policy?.startsWith('crdt:') === true) return value
  return JSON.stringify(value, null, 2)
}

function formatReading(reading: KeyReading): string {
  const unresolved = reading.unresolved
  if (unresolved === undefined) return `${showValue(reading.value, reading.policy)}\n`
  const rows = unresolved.siblings.map((s) => [
    s.writer,
    s.hlc,
    s.deleted ? '(deleted)' : JSON.stringify(s.value),
  ])
  const table = formatTable([['writer', 'hlc', 'value'], ...rows])
  return `${reading.key} (${showPolicy(reading.policy)}): ${unresolved.reason}\n${table}\n`
}

/** Runs `starling get`; resolves the exit code (1 when the key does not exist). */
export async function runGet(argv: readonly string[], io: CliIo): Promise<number> {
  const args = parseArgs(argv, { json: 'flag' })
  const [dir, key] = expectPositionals(args, 2, GET_USAGE) as [string, string]
  checkKey(key)
  const reading = await withStore(dir, { key }, ({ store }) => readKey(store, key))
  if (flagOption(args, 'json')) io.out(jsonLine(reading))
  else if (reading.found) io.out(formatReading(reading))
  else io.err(`starling: ${notFound(key, dir)}\n`)
  return reading.found ? 0 : 1
}

/** The confirmation of a write: what was stored, never the value itself (it may be large). */
function formatWrite(write: KeyWrite): string {
  const what = write.parsedAs === 'json' ? `a JSON ${write.type}` : 'text taken as a string'
  return `set ${write.key}: ${what}, ${write.bytes} bytes (${write.policy}; LSN ${write.lsn}; durable)\n`
}

/** Runs `starling set`: the value comes from the argument, stdin (`-`) or `--file`. */
export async function runSet(argv: readonly string[], io: CliIo): Promise<number> {
  const args = parseArgs(argv, { json: 'flag', string: 'flag', file: 'value' })
  const [dir, key, ...rest] = args.positionals
  if (dir === undefined || key === undefined || rest.length > 1) {
    const got = args.positionals.length
    throw new UsageError(
      `expected <dir> <key> and a value, got ${got} argument(s). Usage: ${SET_USAGE}`,
    )
  }
  checkKey(key)
  const input = await readSetValue(args, rest, io)
  const write = await withStore(dir, { key, write: true }, ({ store }) =>
    writeKey(store, key, input),
  )
  io.out(flagOption(args, 'json') ? jsonLine(write) : formatWrite(write))
  return 0
}

/** Runs `starling delete`; a key that does not exist is an error (exit code 1). */
export async function runDelete(argv: readonly string[], io: CliIo): Promise<number> {
  const args = parseArgs(argv, { json: 'flag' })
  const [dir, key] = expectPositionals(args, 2, DELETE_USAGE) as [string, string]
  checkKey(key)
  const deleted = await withStore(dir, { key, write: true }, ({ store }) => deleteKey(store, key))
  if (deleted === undefined) throw new CliError(notFound(key, dir), 'NO_SUCH_KEY', { key, dir })
  io.out(
    flagOption(args, 'json')
      ? jsonLine({ ...deleted, deleted: true })
      : `deleted ${key} (${deleted.policy}; durable)\n`,
  )
  return 0
}

function formatListing(keys: KeyListing[], prefix: string): string {
  const scope = prefix === '' ? '' : ` starting with ${JSON.stringify(prefix)}`
  if (keys.length === 0) return `no keys${scope}\n`
  const rows = keys.map((k) => [k.key, showPolicy(k.policy)])
  return `${keys.length} key(s)${scope}\n${formatTable([['key', 'policy'], ...rows])}\n`
}

/** Runs `starling list`. */
export async function runList(argv: readonly string[], io: CliIo): Promise<number> {
  const args = parseArgs(argv, { json: 'flag', prefix: 'value' })
  const [dir] = expectPositionals(args, 1, LIST_USAGE) as [string]
  const prefix = valueOption(args, 'prefix', '')
  const keys = await withStore(dir, {}, ({ store }) => Promise.resolve(listKeys(store, prefix)))
  io.out(flagOption(args, 'json') ? jsonLine(keys) : formatListing(keys, prefix))
  return 0
}

/** Runs `starling inspect`; resolves the exit code (1 when the WAL is corrupt or open failed). */
export async function runInspect(argv: readonly string[], io: CliIo): Promise<number> {
  const args = parseArgs(argv, { json: 'flag' })
  const [dir] = expectPositionals(args, 1, INSPECT_USAGE) as [string]
  const inspection = await inspectStore(dir)
  io.out(flagOption(args, 'json') ? jsonLine(inspection) : formatStoreInspection(inspection))
  return inspectionFailed(inspection) ? 1 : 0
}
