/**
 * Conflict policies (docs/ARCHITECTURE.md): how concurrent writes to one key merge. `crdt(kind)` keeps the
 * key as its own Yjs document; `lww()` and `custom(resolve, { name })` keep it as a register whose
 * live versions are resolved by the last-writer-wins rule or by a pure user function.
 */
import type { NodeId } from '../core/ids.js'
import { invalidArgument, StarlingError } from '../core/errors.js'
import type { JsonValue } from './json.js'
import { POLICY_LIMITS } from './limits.js'

/** The root type of a key under a `crdt` policy. `json` is deep-mapped onto Y.Map / Y.Array. */
export type CrdtKind = 'text' | 'map' | 'array' | 'xml' | 'json'

/** Every {@link CrdtKind}, in a stable order. */
export const CRDT_KINDS: readonly CrdtKind[] = Object.freeze([
  'text',
  'map',
  'array',
  'xml',
  'json',
])

/** The key is a Yjs document holding one root type of `kind`; Yjs merges concurrent edits. */
export interface CrdtPolicy {
  readonly type: 'crdt'
  readonly kind: CrdtKind
}

/** The key is a register; the live version with the greatest (HLC, writer) wins. */
export interface LwwPolicy {
  readonly type: 'lww'
}

/** One live version of a register as a custom resolver sees it. */
export interface ResolverSibling {
  /** The node that wrote this version. */
  readonly writer: NodeId
  /** Its timestamp, as `formatHlc` prints it (string order is HLC order). */
  readonly hlc: string
  /** The value written (a private copy: mutating it changes nothing). */
  readonly value: JsonValue
}

/** What a custom resolver learns besides the siblings. */
export interface ResolverContext {
  /** The key being resolved. */
  readonly key: string
}

/**
 * A custom resolver: a pure, deterministic function from the live siblings of a key (at least
 * two, in canonical order: by HLC, then writer) to its value; `undefined` means the key reads as
 * deleted. It must depend on the sibling *set* only — not on the order it is given (use the
 * `hlc` fields to prefer older or newer versions), not on time, randomness or outside state —
 * and must return a storable JSON value. See `resolve` for how tombstones are handled before the
 * resolver is called.
 */
export type Resolver = (
  siblings: readonly ResolverSibling[],
  context: ResolverContext,
) => JsonValue | undefined

/** The key is a register resolved by a named user function. */
export interface CustomPolicy {
  readonly type: 'custom'
  /** Recorded per key, so a peer running a different resolver is detected (`POLICY_MISMATCH`). */
  readonly name: string
  readonly resolve: Resolver
}

/** A conflict policy. */
export type Policy = CrdtPolicy | LwwPolicy | CustomPolicy

/** A policy whose keys are registers (per-writer slots) rather than Yjs documents. */
export type RegisterPolicy = LwwPolicy | CustomPolicy

/** Options of {@link custom}. */
export interface CustomPolicyOptions {
  /**
   * The resolver's stable name: 1–64 characters of `[A-Za-z0-9_.:@-]`. Change it whenever the
   * resolver's behaviour changes, so peers running the old one are detected.
   */
  readonly name: string
}

const CUSTOM_NAME_PATTERN = /^[A-Za-z0-9_.:@-]+$/

/**
 * A policy that keeps the key as a Yjs document of `kind`.
 *
 * @example
 * ```ts
 * const notes = crdt('text') // policyId(notes) === 'crdt:text'
 * ```
 */
export function crdt(kind: CrdtKind): CrdtPolicy {
  if (!CRDT_KINDS.includes(kind)) {
    throw invalidArgument(
      `crdt(): kind must be one of ${CRDT_KINDS.join(', ')}, got ${String(kind)}`,
    )
  }
  return Object.freeze({ type: 'crdt', kind })
}

const LWW: LwwPolicy = Object.freeze({ type: 'lww' })

/**
 * The last-writer-wins register policy.
 *
 * @example
 * ```ts
 * policyId(lww()) // 'lww'
 * ```
 */
export function lww(): LwwPolicy {
  return LWW
}

/**
 * A register policy resolved by `resolve`, recorded under `options.name`.
 *
 * @example
 * ```ts
 * const maxVote = custom(
 *   (siblings) => Math.max(...siblings.map((s) => (typeof s.value === 'number' ? s.value : 0))),
 *   { name: 'max-vote' },
 * )
 * policyId(maxVote) // 'custom:max-vote'
 * ```
 */
export function custom(resolve: Resolver, options: CustomPolicyOptions): CustomPolicy {
  if (typeof resolve !== 'function') throw invalidArgument('custom(): resolve must be a function')
  const name = (options as CustomPolicyOptions | undefined)?.name
  if (
    typeof name !== 'string' ||
    name.length > POLICY_LIMITS.customNameLengthMax ||
    !CUSTOM_NAME_PATTERN.test(name)
  ) {
    throw invalidArgument(
      `custom(): options.name must be 1–${POLICY_LIMITS.customNameLengthMax} characters of ` +
        `[A-Za-z0-9_.:@-], got ${JSON.stringify(name) ?? String(name)}`,
    )
  }
  return Object.freeze({ type: 'custom', name, resolve })
}

/** True when `value` is a policy made by {@link crdt}, {@link lww} or {@link custom}. */
export function isPolicy(value: unknown): value is Policy {
  return isCrdtPolicy(value) || isLwwPolicy(value) || isCustomPolicy(value)
}

/** True when `value` is a `crdt` policy. */
export function isCrdtPolicy(value: unknown): value is CrdtPolicy {
  return hasType(value, 'crdt') && CRDT_KINDS.includes((value as { kind: CrdtKind }).kind)
}

/** True when `value` is the `lww` policy. */
export function isLwwPolicy(value: unknown): value is LwwPolicy {
  return hasType(value, 'lww')
}

/** True when `value` is a `custom` policy. */
export function isCustomPolicy(value: unknown): value is CustomPolicy {
  if (!hasType(value, 'custom')) return false
  const { name, resolve } = value as { name?: unknown; resolve?: unknown }
  return typeof name === 'string' && CUSTOM_NAME_PATTERN.test(name) && typeof resolve === 'function'
}

/** True when keys under `value` are registers (`lww` or `custom`). */
export function isRegisterPolicy(value: unknown): value is RegisterPolicy {
  return isLwwPolicy(value) || isCustomPolicy(value)
}

function hasType(value: unknown, type: Policy['type']): boolean {
  return typeof value === 'object' && value !== null && (value as { type?: unknown }).type === type
}

/**
 * The stable identity of a policy, recorded per key to detect peers whose policy tables differ:
 * `crdt:<kind>`, `lww` or `custom:<name>`.
 *
 * @example
 * ```ts
 * policyId(crdt('map')) // 'crdt:map'
 * ```
 */
export function policyId(policy: Policy): string {
  if (isCrdtPolicy(policy)) return `crdt:${policy.kind}`
  if (isLwwPolicy(policy)) return 'lww'
  if (isCustomPolicy(policy)) return `custom:${policy.name}`
  throw invalidArgument(`policyId(): not a policy: ${String(policy)}`)
}

/**
 * Throws `POLICY_MISMATCH` when the policy id recorded for `key` (by this or another peer) differs
 * from the id of `policy`, the one this store's table gives the key. Details: `key`, `recorded`,
 * `expected`.
 *
 * @example
 * ```ts
 * assertPolicyMatches('votes/1', 'custom:max-vote', table.policyFor('votes/1'))
 * ```
 */
export function assertPolicyMatches(key: string, recorded: string, policy: Policy): void {
  const expected = policyId(policy)
  if (recorded === expected) return
  throw new StarlingError(
    'POLICY_MISMATCH',
    `key ${JSON.stringify(key)} is recorded with policy ${JSON.stringify(recorded)}, ` +
      `but this store's policy table gives ${JSON.stringify(expected)}`,
    { key, recorded, expected },
  )
}
