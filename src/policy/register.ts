/**
 * The register model of `lww` and `custom` keys (docs/ARCHITECTURE.md), on plain data and independent of
 * Yjs. A key's state is a map writer → {@link Slot}; each writer only ever writes its own slot, so
 * the storage layer never has to choose between writers. A slot records, in `seen`, the newest
 * version of every other writer it supersedes; the live versions of a key — its *siblings* — are
 * the slots no other slot has seen.
 *
 * Merging is per writer: keep the slot with the greater HLC ({@link mergeSlot}). A writer's own
 * timestamps are strictly increasing, so this is a join on a product of total orders: commutative,
 * associative and idempotent, whatever the delivery order or duplication (I6 in docs/guarantees.md).
 *
 * Timestamps: a slot's HLC must be later, in (wall time, counter), than every version it has seen.
 * A store guarantees this by passing every remote slot's timestamp through `HlcClock.receive`
 * before it can be superseded, and, for a timestamp the clock refuses to follow (too far in the
 * future), by stamping the superseding write just past it ({@link stampAfter}). Hence "has seen"
 * implies "earlier", the sibling relation has no cycles, and the slot with the greatest HLC is
 * always a sibling.
 */
import { invalidArgument } from '../core/errors.js'
import { formatHlc, isHlc, parseHlc } from '../core/hlc.js'
import type { Hlc } from '../core/hlc.js'
import { HLC_LIMITS } from '../core/limits.js'
import { isNodeId } from '../core/ids.js'
import type { NodeId } from '../core/ids.js'
import { assertStorable, canonicalJson, cloneJson, compareText, isStorable } from './json.js'
import type { JsonValue } from './json.js'

/** Passed to {@link writeSlot} instead of a value to delete the key (a tombstone slot). */
export const TOMBSTONE: unique symbol = Symbol('starling.tombstone')

/** The type of {@link TOMBSTONE}. */
export type Tombstone = typeof TOMBSTONE

/** One writer's latest version of a register key. */
export interface Slot {
  /** The value written; `undefined` exactly when `deleted`. */
  readonly value: JsonValue | undefined
  /** The write's timestamp as `formatHlc` prints it; its node id is the slot's writer. */
  readonly hlc: string
  /** True for a tombstone (a delete). */
  readonly deleted: boolean
  /** Writer → formatted HLC of the newest version of that writer this write supersedes. */
  readonly seen: Readonly<Record<string, string>>
}

/** A key's state: writer id → that writer's slot. */
export type SlotMap = ReadonlyMap<string, Slot>

/** Names one version of a key. */
export interface SiblingRef {
  readonly writer: NodeId
  readonly hlc: string
}

/** A live version of a key: a slot no other slot has seen. */
export interface Sibling extends SiblingRef {
  readonly value: JsonValue | undefined
  readonly deleted: boolean
}

/** Length of the `<wall>-<counter>` prefix of a formatted HLC, which orders by time only. */
const HLC_TIME_CHARS = 17

/**
 * The slot `writer` writes at `hlc` (a timestamp from its own clock) given the key's `current`
 * state: the value (copied, after {@link assertStorable}) or a tombstone, superseding every slot
 * present — `seen` gets, for every other writer, the newest of its slot's HLC and the HLCs that
 * other slots record as seen for it. Store the result with {@link mergeSlot}.
 *
 * Throws `INVALID_ARGUMENT` when `hlc` is not `writer`'s, is not later than `writer`'s current slot,
 * or is not later in (wall time, counter) than every version it supersedes (pass remote timestamps
 * through `HlcClock.receive` first).
 *
 * @example
 * ```ts
 * let slots: SlotMap = new Map()
 * const slot = writeSlot(slots, nodeA, clockA.now(), { theme: 'dark' })
 * slots = mergeSlot(slots, slot)
 * ```
 */
export function writeSlot(
  current: SlotMap,
  writer: NodeId,
  hlc: Hlc,
  value: JsonValue | Tombstone,
): Slot {
  if (!isNodeId(writer)) throw invalidArgument(`writeSlot(): invalid writer id ${String(writer)}`)
  if (!isHlc(hlc) || hlc.nodeId !== writer) {
    throw invalidArgument(`writeSlot(): hlc must be a timestamp issued by ${writer}`)
  }
  const stamp = formatHlc(hlc)
  const own = current.get(writer)
  if (own !== undefined && compareText(stamp, own.hlc) <= 0) {
    throw invalidArgument(
      `writeSlot(): ${writer} already wrote at ${own.hlc}; ${stamp} is not later (clock reused?)`,
    )
  }
  const seen = supersededVersions(current, writer)
  for (const [other, seenHlc] of seen) {
    if (compareText(seenHlc.slice(0, HLC_TIME_CHARS), stamp.slice(0, HLC_TIME_CHARS)) >= 0) {
      throw invalidArgument(
        `writeSlot(): ${stamp} is not later than ${seenHlc} of ${other}, which it supersedes; ` +
          'pass remote timestamps through HlcClock.receive before writing',
      )
    }
  }
  if (value === TOMBSTONE) return freezeSlot(undefined, stamp, true, seen)
  assertStorable(value)
  return freezeSlot(cloneJson(value), stamp, false, seen)
}

/**
 * The timestamp `writer` writes `current`'s key at: `hlc` (from its clock), unless a version it
 * would supersede — or its own slot — is not earlier; then the least timestamp after all of them
 * (same wall time, next counter; the next millisecond when the counter is full), for this key
 * only. That happens when a slot's timestamp lies beyond the clock's future-skew bound: the clock
 * refuses to follow it (one fast clock must not drag every node's clock ahead), yet every node
 * keeps and resolves the slot the same way, and a write made after seeing it must still
 * supersede it. So a timestamp from the future wins only against writes concurrent with it.
 */
export function stampAfter(current: SlotMap, writer: NodeId, hlc: Hlc): Hlc {
  let latest: string | undefined
  for (const seen of supersededVersions(current, writer).values())
    if (latest === undefined || compareText(seen, latest) > 0) latest = seen
  const own = current.get(writer)?.hlc
  if (own !== undefined && (latest === undefined || compareText(own, latest) > 0)) latest = own
  if (latest === undefined) return hlc
  // The same (wall time, counter) order writeSlot checks.
  const time = (stamp: string) => stamp.slice(0, HLC_TIME_CHARS)
  if (compareText(time(formatHlc(hlc)), time(latest)) > 0) return hlc
  const bound = parseHlc(latest)
  return bound.counter < HLC_LIMITS.counterMax
    ? { wallMs: bound.wallMs, counter: bound.counter + 1, nodeId: writer }
    : { wallMs: bound.wallMs + 1, counter: 0, nodeId: writer }
}

/** For every writer other than `writer`, the newest of its slot's HLC and what others saw of it. */
function supersededVersions(current: SlotMap, writer: string): Map<string, string> {
  const newest = new Map<string, string>()
  const note = (other: string, hlc: string): void => {
    const known = newest.get(other)
    if (other !== writer && (known === undefined || compareText(hlc, known) > 0)) {
      newest.set(other, hlc)
    }
  }
  for (const [other, slot] of current) {
    note(other, slot.hlc)
    for (const seenWriter of Object.keys(slot.seen)) note(seenWriter, slot.seen[seenWriter] ?? '')
  }
  return newest
}

function freezeSlot(
  value: JsonValue | undefined,
  hlc: string,
  deleted: boolean,
  seen: Map<string, string>,
): Slot {
  // Object.fromEntries defines own properties, so writer ids such as `__proto__` are safe.
  const entries = [...seen].sort(([a], [b]) => compareText(a, b))
  return Object.freeze({ value, hlc, deleted, seen: Object.freeze(Object.fromEntries(entries)) })
}

/** The writer of `slot`: the node id of its HLC. Throws `INVALID_ARGUMENT` for a malformed HLC. */
export function slotWriter(slot: Slot): NodeId {
  try {
    return parseHlc(slot.hlc).nodeId
  } catch (error) {
    throw invalidArgument(
      `not a slot: malformed hlc ${JSON.stringify(slot.hlc)} (${String(error)})`,
    )
  }
}

/**
 * Merges `incoming` into `slots`: it replaces its writer's slot when its HLC is greater (equal
 * HLCs, which an honest writer never issues twice, are ordered by the slot's canonical text so
 * the merge stays deterministic). Returns `slots` itself when nothing changes, else a new map.
 */
export function mergeSlot(slots: SlotMap, incoming: Slot): SlotMap {
  const writer = slotWriter(incoming)
  const current = slots.get(writer)
  if (current !== undefined && !slotWins(incoming, current)) return slots
  return new Map(slots).set(writer, incoming)
}

/** The join of two key states: {@link mergeSlot} of every slot of `b` into `a`. */
export function mergeSlotMaps(a: SlotMap, b: SlotMap): SlotMap {
  let merged = a
  for (const slot of b.values()) merged = mergeSlot(merged, slot)
  return merged
}

function slotWins(incoming: Slot, current: Slot): boolean {
  const order = compareText(incoming.hlc, current.hlc)
  if (order !== 0) return order > 0
  return compareText(canonicalSlot(incoming), canonicalSlot(current)) > 0
}

function canonicalSlot(slot: Slot): string {
  const seen = Object.keys(slot.seen)
    .sort(compareText)
    .map((writer) => `${JSON.stringify(writer)}:${JSON.stringify(slot.seen[writer])}`)
  return `${slot.hlc}|${String(slot.deleted)}|${canonicalJson(slot.value)}|{${seen.join(',')}}`
}

/**
 * A canonical text of a key's state: equal for two states exactly when they hold the same slots,
 * whatever order they were merged in. For tests and comparisons across peers.
 */
export function canonicalSlotMap(slots: SlotMap): string {
  return [...slots.keys()]
    .sort(compareText)
    .map((writer) => `${JSON.stringify(writer)}=${canonicalSlot(slots.get(writer) as Slot)}`)
    .join('\n')
}

/**
 * The live versions of a key: the slots no other slot has seen (Y has seen X when
 * `Y.seen[X's writer]` is at least X's HLC), in canonical order — by HLC, then writer.
 *
 * @example
 * ```ts
 * siblings(slots).map((s) => s.writer) // e.g. ['laptop', 'phone'] after concurrent writes
 * ```
 */
export function siblings(slots: SlotMap): Sibling[] {
  const superseded = new Set<string>()
  for (const slot of slots.values()) {
    for (const writer of Object.keys(slot.seen)) {
      const other = slots.get(writer)
      const seenHlc = slot.seen[writer]
      if (other !== undefined && seenHlc !== undefined && compareText(other.hlc, seenHlc) <= 0) {
        superseded.add(writer)
      }
    }
  }
  const live: Sibling[] = []
  for (const [writer, slot] of slots) {
    if (superseded.has(writer)) continue
    const { hlc, value, deleted } = slot
    live.push({ writer: writer as NodeId, hlc, value, deleted })
  }
  return live.sort((a, b) => compareText(a.hlc, b.hlc) || compareText(a.writer, b.writer))
}

/**
 * True when `value` is a well-formed slot of `writer`: a canonical HLC of `writer`, `deleted`
 * exactly when the value is absent, a storable value otherwise, and a plain `seen` record of other
 * writers' canonical HLCs, each earlier in (wall time, counter) than the slot's own. Use it on
 * slots from peers or from disk before merging them (I10 in docs/guarantees.md).
 */
export function isSlot(writer: string, value: unknown): value is Slot {
  if (typeof value !== 'object' || value === null) return false
  const slot = value as Record<string, unknown>
  if (!isCanonicalHlcOf(slot['hlc'], writer) || typeof slot['deleted'] !== 'boolean') return false
  if (slot['deleted'] ? slot['value'] !== undefined : !isStorable(slot['value'])) return false
  return isSeenOf(slot['seen'], writer, slot['hlc'])
}

function isSeenOf(seen: unknown, writer: string, hlc: string): boolean {
  if (typeof seen !== 'object' || seen === null || Array.isArray(seen)) return false
  const proto: unknown = Object.getPrototypeOf(seen)
  if (proto !== Object.prototype && proto !== null) return false
  const record = seen as Record<string, unknown>
  return Object.keys(record).every((other) => {
    const seenHlc = record[other]
    return (
      other !== writer &&
      isCanonicalHlcOf(seenHlc, other) &&
      compareText(seenHlc.slice(0, HLC_TIME_CHARS), hlc.slice(0, HLC_TIME_CHARS)) < 0
    )
  })
}

function isCanonicalHlcOf(value: unknown, writer: string): value is string {
  if (typeof value !== 'string' || !isNodeId(writer)) return false
  try {
    const hlc = parseHlc(value)
    return hlc.nodeId === writer && formatHlc(hlc) === value
  } catch {
    return false
  }
}
