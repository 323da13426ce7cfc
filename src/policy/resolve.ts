/**
 * Resolving a register key to its value under `lww` or `custom` (docs/ARCHITECTURE.md, I7, I9).
 *
 * Tombstones: let T be the newest tombstone among the siblings. The *candidates* are the live
 * siblings newer than T (all live siblings when there is no tombstone sibling). A delete thus
 * removes every version it has seen and every concurrent version older than itself, so a late or
 * duplicated old write never brings a deleted key back (I9); only a write newer than the delete
 * does. With no candidate the key reads as deleted.
 *
 * - `lww`: the candidate with the greatest (HLC, writer) — equivalently, the greatest sibling, and
 *   the key is deleted when that is a tombstone.
 * - `custom`: one candidate is the value as is; two or more go to the resolver, copied, in
 *   canonical order. It never sees tombstones; `undefined` from it means deleted.
 */
import { invalidArgument } from '../core/errors.js'
import { jsonEqual } from './json.js'
import type { JsonValue } from './json.js'
import { isRegisterPolicy } from './policies.js'
import type { RegisterPolicy, ResolverSibling } from './policies.js'
import { callResolver, checkResolverPurity } from './purity.js'
import { siblings as liveSiblings } from './register.js'
import type { Sibling, SiblingRef, SlotMap } from './register.js'

/** The outcome of {@link resolve}. */
export interface Resolution {
  /** The key's value; `undefined` when it is deleted or was never written. */
  readonly value: JsonValue | undefined
  /** True when the key has slots but reads as deleted. */
  readonly deleted: boolean
  /** Every live version, tombstones included, in canonical order. More than one is a conflict. */
  readonly siblings: readonly Sibling[]
  /**
   * The version the value comes from: the greatest candidate for `lww`; for `custom`, the
   * greatest candidate whose value deep-equals the result (undefined when the resolver computed a
   * new value or returned `undefined`); the newest tombstone when no candidate is left.
   */
  readonly winner: SiblingRef | undefined
}

/** Options of {@link resolve}. */
export interface ResolveOptions {
  /**
   * Also run `checkResolverPurity` on every custom resolution of two or more candidates (for
   * development and tests: it calls the resolver at least 16 more times).
   */
  readonly checkPurity?: boolean
}

/**
 * Resolves `key`, whose state is `slots`, under `policy`. A custom resolver that throws, returns a
 * value that cannot be stored, or (with `checkPurity`) is not deterministic raises
 * `POLICY_INVALID`. A `crdt` policy is `INVALID_ARGUMENT`: such keys are documents, not registers.
 *
 * @example
 * ```ts
 * const result = resolve(lww(), 'settings/theme', slots)
 * const entry = conflictEntry(lww(), 'settings/theme', result, formatHlc(clock.now()))
 * if (entry !== undefined) conflictLog.record(entry) // two or more siblings: a conflict
 * ```
 */
export function resolve(
  policy: RegisterPolicy,
  key: string,
  slots: SlotMap,
  options: ResolveOptions = {},
): Resolution {
  if (!isRegisterPolicy(policy)) {
    throw invalidArgument('resolve(): only lww and custom keys are registers')
  }
  const all = liveSiblings(slots)
  if (all.length === 0)
    return { value: undefined, deleted: false, siblings: all, winner: undefined }
  const tombstone = all.findLast((sibling) => sibling.deleted)
  const candidates = all.filter(
    (sibling) => !sibling.deleted && (tombstone === undefined || sibling.hlc > tombstone.hlc),
  )
  const newest = candidates.at(-1)
  if (newest === undefined) {
    return { value: undefined, deleted: true, siblings: all, winner: refOf(tombstone) }
  }
  if (policy.type === 'lww' || candidates.length === 1) {
    return { value: newest.value, deleted: false, siblings: all, winner: refOf(newest) }
  }
  const inputs = candidates.map(toResolverSibling)
  const value = callResolver(policy, inputs, key)
  if (options.checkPurity === true) checkResolverPurity(policy, inputs, { key })
  const winner =
    value === undefined ? undefined : candidates.findLast((c) => jsonEqual(c.value, value))
  return { value, deleted: value === undefined, siblings: all, winner: refOf(winner) }
}

function refOf(sibling: Sibling | undefined): SiblingRef | undefined {
  return sibling === undefined ? undefined : { writer: sibling.writer, hlc: sibling.hlc }
}

function toResolverSibling(sibling: Sibling): ResolverSibling {
  return { writer: sibling.writer, hlc: sibling.hlc, value: sibling.value as JsonValue }
}
