/**
 * The conflict log (docs/ARCHITECTURE.md): every time a register key resolves more than one sibling, the
 * inputs, the winner, the policy and the writers are recorded — in a bounded ring buffer (I8),
 * queryable by key and observable by listeners.
 */
import { invalidArgument } from '../core/errors.js'
import { cloneJson, compareText, deepFreezeJson } from './json.js'
import type { JsonValue } from './json.js'
import { POLICY_LIMITS } from './limits.js'
import { policyId } from './policies.js'
import type { Policy } from './policies.js'
import type { Sibling, SiblingRef } from './register.js'
import type { Resolution } from './resolve.js'

/** One recorded conflict. Entries are frozen copies. */
export interface ConflictEntry {
  /** The key that had concurrent versions. */
  readonly key: string
  /** The `policyId` of the key's policy. */
  readonly policy: string
  /** The live versions, tombstones included, in canonical order (by HLC, then writer). */
  readonly siblings: readonly Sibling[]
  /** The version the value comes from (see `Resolution.winner`), if any. */
  readonly winner: SiblingRef | undefined
  /** The resolved value; `undefined` when the key resolved as deleted. */
  readonly value: JsonValue | undefined
  /** When it was recorded: a formatted HLC of the recording node. */
  readonly at: string
}

/** Options of {@link createConflictLog}. */
export interface ConflictLogOptions {
  /** Entries kept (default `POLICY_LIMITS.conflictLogEntriesDefault`); the oldest go first. */
  readonly entriesMax?: number
}

/** A query of {@link ConflictLog.list}. */
export interface ConflictQuery {
  /** Only entries of this key. */
  readonly key?: string
  /** At most this many entries (the newest). */
  readonly limit?: number
}

/** Called with every entry the log records (not with duplicates it drops). */
export type ConflictListener = (entry: ConflictEntry) => void

/** A bounded, observable log of conflicts. */
export interface ConflictLog {
  /** The most entries kept. */
  readonly entriesMax: number
  /** The number of entries held. */
  size(): number
  /**
   * Records a frozen copy of `entry` and notifies the listeners; returns false, recording nothing,
   * when the newest entry held for the same key has the same policy and sibling set (the same
   * conflict resolved again). Every listener is called even when one throws; afterwards the
   * error (or an `AggregateError` of several) is rethrown — the entry stays recorded.
   */
  record(entry: ConflictEntry): boolean
  /** Entries, newest first, optionally of one key and at most `limit` of them. */
  list(query?: ConflictQuery): ConflictEntry[]
  /** Adds a listener; returns a function that removes it. */
  subscribe(listener: ConflictListener): () => void
  /** Removes a listener; true when it was subscribed. */
  unsubscribe(listener: ConflictListener): boolean
  /** Drops every entry (listeners stay). */
  clear(): void
}

interface Stored {
  readonly entry: ConflictEntry
  readonly signature: string
  readonly seq: number
}

/**
 * Creates an empty conflict log.
 *
 * @example
 * ```ts
 * const log = createConflictLog({ entriesMax: 100 })
 * const stop = log.subscribe((entry) => console.log('conflict on', entry.key))
 * log.list({ key: 'votes/1', limit: 10 })
 * stop()
 * ```
 */
export function createConflictLog(options: ConflictLogOptions = {}): ConflictLog {
  const entriesMax = options.entriesMax ?? POLICY_LIMITS.conflictLogEntriesDefault
  const max = POLICY_LIMITS.conflictLogEntriesMax
  if (!Number.isSafeInteger(entriesMax) || entriesMax < 1 || entriesMax > max) {
    throw invalidArgument(`conflict log entriesMax must be an integer in [1, ${max}]`)
  }
  const ring: (Stored | undefined)[] = []
  let head = 0 // index of the oldest entry once the ring is full
  let seq = 0
  const newestByKey = new Map<string, Stored>()
  const listeners = new Set<ConflictListener>()

  const store = (stored: Stored): void => {
    if (ring.length < entriesMax) {
      ring.push(stored)
      return
    }
    const evicted = ring[head]
    if (evicted !== undefined && newestByKey.get(evicted.entry.key) === evicted) {
      newestByKey.delete(evicted.entry.key)
    }
    ring[head] = stored
    head = (head + 1) % entriesMax
  }

  return {
    entriesMax,
    size: () => ring.length,
    record(entry) {
      const frozen = freezeEntry(entry)
      const signature = signatureOf(frozen)
      if (newestByKey.get(frozen.key)?.signature === signature) return false
      const stored: Stored = { entry: frozen, signature, seq: seq++ }
      store(stored)
      newestByKey.set(frozen.key, stored)
      notify([...listeners], frozen)
      return true
    },
    list(query = {}) {
      const limit = checkLimit(query.limit)
      const result: ConflictEntry[] = []
      for (let i = ring.length - 1; i >= 0 && result.length < limit; i--) {
        const stored = ring[(head + i) % ring.length] as Stored
        if (query.key === undefined || stored.entry.key === query.key) result.push(stored.entry)
      }
      return result
    },
    subscribe(listener) {
      if (typeof listener !== 'function') throw invalidArgument('a listener must be a function')
      listeners.add(listener)
      return () => void listeners.delete(listener)
    },
    unsubscribe: (listener) => listeners.delete(listener),
    clear() {
      ring.length = 0
      head = 0
      newestByKey.clear()
    },
  }
}

/**
 * The conflict log entry of a resolution, or undefined when it had fewer than two siblings
 * (nothing to record). `at` is the recording node's formatted HLC.
 */
export function conflictEntry(
  policy: Policy,
  key: string,
  resolution: Resolution,
  at: string,
): ConflictEntry | undefined {
  if (resolution.siblings.length < 2) return undefined
  const { siblings, winner, value } = resolution
  return { key, policy: policyId(policy), siblings, winner, value, at }
}

function checkLimit(limit: number | undefined): number {
  if (limit === undefined) return Number.POSITIVE_INFINITY
  if (!Number.isSafeInteger(limit) || limit < 0) {
    throw invalidArgument(`list(): limit must be a non-negative integer, got ${String(limit)}`)
  }
  return limit
}

function freezeEntry(entry: ConflictEntry): ConflictEntry {
  if (typeof entry !== 'object' || entry === null) {
    throw invalidArgument('record(): an entry must be an object')
  }
  const { key, policy, siblings, winner, value, at } = entry
  if (typeof key !== 'string' || typeof policy !== 'string' || typeof at !== 'string') {
    throw invalidArgument('record(): key, policy and at must be strings')
  }
  if (!Array.isArray(siblings)) throw invalidArgument('record(): siblings must be an array')
  return Object.freeze({
    key,
    policy,
    siblings: Object.freeze(
      siblings.map((s: Sibling) =>
        Object.freeze({
          writer: s.writer,
          hlc: s.hlc,
          value: frozenCopy(s.value),
          deleted: s.deleted,
        }),
      ),
    ),
    winner:
      winner === undefined ? undefined : Object.freeze({ writer: winner.writer, hlc: winner.hlc }),
    value: frozenCopy(value),
    at,
  })
}

function frozenCopy(value: JsonValue | undefined): JsonValue | undefined {
  return deepFreezeJson(cloneJson(value))
}

/** Same policy and same set of versions (a version is named by its HLC, which names its writer). */
function signatureOf(entry: ConflictEntry): string {
  const versions = entry.siblings.map((s) => s.hlc).sort(compareText)
  return `${entry.policy}\n${versions.join('\n')}`
}

function notify(listeners: readonly ConflictListener[], entry: ConflictEntry): void {
  const errors: unknown[] = []
  for (const listener of listeners) {
    try {
      listener(entry)
    } catch (error) {
      errors.push(error)
    }
  }
  if (errors.length === 1) throw errors[0]
  if (errors.length > 1) throw new AggregateError(errors, 'conflict log listeners failed')
}
