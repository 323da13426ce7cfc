/**
 * What the key commands do on an open store, apart from parsing and printing: read a key under
 * its recorded policy, write or delete it, list keys. The store must have been opened for the key
 * (`openCliStore(dir, { key })`), so that the table gives the key its recorded policy.
 */
import {
  custom,
  isCrdtPolicy,
  isCustomPolicy,
  lww,
  resolve,
  type JsonValue,
  type Policy,
  type Sibling,
} from '../policy/index.js'
import type { Store } from '../store/index.js'
import { CliError, UsageError } from './cli-errors.js'
import type { SetValue, ValueSource, ValueType } from './set-value.js'
import { policyFromId } from './store-open.js'
import { storeInternalsOf } from '../store/internals.js'

/** One live version of a register, as printed. */
export interface SiblingView {
  writer: string
  hlc: string
  deleted: boolean
  value?: JsonValue
}

/** What `get` found. */
export interface KeyReading {
  key: string
  /** The recorded policy id; `null` when none was recorded (the key reads as `lww`). */
  policy: string | null
  found: boolean
  /** The value, when found and resolved. */
  value?: JsonValue
  /** Set when the CLI cannot resolve the key: why, and every live version. */
  unresolved?: { reason: string; siblings: SiblingView[] }
}

/** What `set` wrote: the key, its policy, what the value was, and the LSN of the write. */
export interface KeyWrite {
  key: string
  policy: string
  parsedAs: ValueSource
  type: ValueType
  bytes: number
  lsn: number
}

function toView(sibling: Sibling): SiblingView {
  const { writer, hlc, deleted, value } = sibling
  return deleted || value === undefined ? { writer, hlc, deleted } : { writer, hlc, deleted, value }
}

/** The key's recorded policy, which must be one this CLI knows (writes refuse unknown ones). */
function knownPolicy(store: Store, key: string): { id: string; policy: Policy } {
  const id = storeInternalsOf(store).registry.recordedPolicy(key) ?? 'lww'
  const policy = policyFromId(id)
  if (policy === undefined)
    throw new CliError(
      `${key} is recorded with policy ${id}, which this CLI does not know`,
      'UNKNOWN_POLICY',
      { key, policy: id },
    )
  return { id, policy }
}

/**
 * Reads a custom key without its resolver: with one candidate version (or none) the resolver is
 * never called and the value is exact; with more the key is reported unresolved, with its
 * siblings. A probe resolver finds out which case applies, using the store's own rule.
 */
function readCustom(store: Store, reading: KeyReading, name: string): KeyReading {
  let needsResolver = false
  const probe = custom(
    () => {
      needsResolver = true
      return null
    },
    { name },
  )
  const result = resolve(probe, reading.key, storeInternalsOf(store).registry.slotsOf(reading.key))
  if (!needsResolver) return withValue(reading, result.value)
  const count = result.siblings.filter((s) => !s.deleted).length
  const reason =
    `${count} concurrent versions; resolving them needs the application's resolver ` +
    `(custom:${name}), so they are shown as they are`
  return { ...reading, found: true, unresolved: { reason, siblings: result.siblings.map(toView) } }
}

function withValue(reading: KeyReading, value: JsonValue | undefined): KeyReading {
  return value === undefined ? reading : { ...reading, found: true, value }
}

/** Reads `key` under its recorded policy. */
export async function readKey(store: Store, key: string): Promise<KeyReading> {
  const recorded = storeInternalsOf(store).registry.recordedPolicy(key)
  const reading: KeyReading = { key, policy: recorded ?? null, found: false }
  const policy = recorded === undefined ? lww() : policyFromId(recorded)
  if (policy === undefined) {
    const { siblings } = resolve(lww(), key, storeInternalsOf(store).registry.slotsOf(key))
    if (siblings.length === 0) return reading
    const reason = `policy ${recorded} is unknown to this CLI, so the raw versions are shown`
    return { ...reading, found: true, unresolved: { reason, siblings: siblings.map(toView) } }
  }
  if (isCustomPolicy(policy)) return readCustom(store, reading, policy.name)
  if (!isCrdtPolicy(policy)) return withValue(reading, store.get(key))
  if (!store.has(key)) return reading
  await store.load(key)
  return withValue(reading, store.get(key))
}

/**
 * Sets `key` to `input`, durably. A `crdt:text` key takes text: a JSON string, or any text with
 * `--string`; another JSON value is refused (a {@link UsageError}) before anything is written.
 */
export async function writeKey(store: Store, key: string, input: SetValue): Promise<KeyWrite> {
  const { id } = knownPolicy(store, key)
  if (id === 'crdt:text' && input.type !== 'string')
    throw new UsageError(
      `${key} is a crdt:text key and takes text, not a JSON ${input.type}: give a JSON string ` +
        `('"…"') or pass --string to take the value as text`,
      'USAGE',
      { key, policy: id, type: input.type },
    )
  await store.set(key, input.value)
  const { parsedAs, type, bytes } = input
  return { key, policy: id, parsedAs, type, bytes, lsn: store.stats.lastLsn }
}

/** Deletes `key`; resolves `undefined`, and writes nothing, when the key does not exist. */
export async function deleteKey(
  store: Store,
  key: string,
): Promise<{ key: string; policy: string } | undefined> {
  const { id } = knownPolicy(store, key)
  if (!store.has(key)) return undefined
  await store.delete(key)
  return { key, policy: id }
}

/** One key of `list`. */
export interface KeyListing {
  key: string
  /** The recorded policy id, `null` when none was recorded. */
  policy: string | null
}

/** Existing keys starting with `prefix`, sorted, with their recorded policies. */
export function listKeys(store: Store, prefix: string): KeyListing[] {
  return store
    .keys(prefix)
    .map((key) => ({ key, policy: storeInternalsOf(store).registry.recordedPolicy(key) ?? null }))
}
