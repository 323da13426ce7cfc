/**
 * Calling custom resolvers safely, and checking that one is deterministic (I7 in docs/guarantees.md): the same
 * sibling set must give the same value on every peer, whatever order, copy or call it is.
 */
import { StarlingError } from '../core/errors.js'
import { createRng } from '../core/random.js'
import type { Rng } from '../core/random.js'
import { canonicalJson, cloneJson, compareText, isStorable } from './json.js'
import type { JsonValue } from './json.js'
import { POLICY_LIMITS } from './limits.js'
import { isCustomPolicy } from './policies.js'
import type { CustomPolicy, Resolver, ResolverSibling } from './policies.js'

/** Seed of the permutations the purity checker tries when no generator is given. */
export const PURITY_SEED_DEFAULT = 0x5eed

/** Options of {@link checkResolverPurity}. */
export interface PurityCheckOptions {
  /** Generator of the random permutations tried on large sibling sets (default: a fixed seed). */
  readonly rng?: Rng
  /** The key passed in the resolver's context (default `''`). */
  readonly key?: string
}

/** Text kept of a value in error details. */
const DETAIL_CHARS_MAX = 200

/**
 * Runs `resolver` on fresh copies of `siblings` and returns its value. A throw or a value that is
 * not storable becomes `POLICY_INVALID` (details: `policy`, `key`; the thrown error as `cause`).
 */
export function callResolver(
  resolver: Resolver | CustomPolicy,
  siblings: readonly ResolverSibling[],
  key: string,
): JsonValue | undefined {
  const resolve = isCustomPolicy(resolver) ? resolver.resolve : resolver
  const name = resolverName(resolver)
  let value: unknown
  try {
    value = resolve(copySiblings(siblings), Object.freeze({ key }))
  } catch (error) {
    throw new StarlingError(
      'POLICY_INVALID',
      `resolver ${name} threw while resolving ${JSON.stringify(key)}: ${String(error)}`,
      { policy: name, key },
      error,
    )
  }
  if (value !== undefined && !isStorable(value)) {
    throw new StarlingError(
      'POLICY_INVALID',
      `resolver ${name} returned a value that cannot be stored for ${JSON.stringify(key)}`,
      { policy: name, key },
    )
  }
  return value
}

/**
 * Throws `POLICY_INVALID` unless `resolver` is deterministic on `siblings`: it is called on
 * copies of them in canonical order (by HLC, then writer), then on every permutation (sets of up
 * to `POLICY_LIMITS.purityExhaustiveSiblingsMax`) or on the reverse and
 * `POLICY_LIMITS.purityRandomPermutations` random permutations drawn from `options.rng`, repeated
 * until at least `POLICY_LIMITS.purityCallsMin` calls were made. Every result must deep-equal the
 * first. This catches resolvers that use `Math.random()`, time, outside state, or the order of
 * their input. Details: `policy`, `key`, `expected`, `actual`, `permutation`.
 *
 * @example
 * ```ts
 * checkResolverPurity(maxVote, [
 *   { writer: toNodeId('a'), hlc: formatHlc(h1), value: 3 },
 *   { writer: toNodeId('b'), hlc: formatHlc(h2), value: 5 },
 * ]) // passes
 * checkResolverPurity((s) => s[0]?.value, sameSiblings) // throws POLICY_INVALID
 * ```
 */
export function checkResolverPurity(
  resolver: Resolver | CustomPolicy,
  siblings: readonly ResolverSibling[],
  options: PurityCheckOptions = {},
): void {
  const key = options.key ?? ''
  const canonical = [...siblings].sort(
    (a, b) => compareText(a.hlc, b.hlc) || compareText(a.writer, b.writer),
  )
  const expected = canonicalJson(callResolver(resolver, canonical, key))
  const orders = permutations(canonical.length, options.rng ?? createRng(PURITY_SEED_DEFAULT))
  const calls = Math.max(orders.length, POLICY_LIMITS.purityCallsMin)
  for (let call = 0; call < calls; call++) {
    const order = orders[call % orders.length] as readonly number[]
    const input = order.map((index) => canonical[index] as ResolverSibling)
    const actual = canonicalJson(callResolver(resolver, input, key))
    if (actual === expected) continue
    const name = resolverName(resolver)
    throw new StarlingError(
      'POLICY_INVALID',
      `resolver ${name} is not deterministic: the same ${siblings.length} siblings of ` +
        `${JSON.stringify(key)} resolved to different values (order ${order.join(',')})`,
      {
        policy: name,
        key,
        expected: expected.slice(0, DETAIL_CHARS_MAX),
        actual: actual.slice(0, DETAIL_CHARS_MAX),
        permutation: order.join(','),
      },
    )
  }
}

/** The orders to try: all of them for small sets, else the reverse and random ones. */
function permutations(length: number, rng: Rng): (readonly number[])[] {
  const identity = Array.from({ length }, (_, index) => index)
  if (length <= POLICY_LIMITS.purityExhaustiveSiblingsMax) return allPermutations(identity)
  const orders: number[][] = [identity, [...identity].reverse()]
  for (let i = 0; i < POLICY_LIMITS.purityRandomPermutations; i++) {
    const order = [...identity]
    for (let j = order.length - 1; j > 0; j--) {
      const k = rng.int(j + 1)
      ;[order[j], order[k]] = [order[k] as number, order[j] as number]
    }
    orders.push(order)
  }
  return orders
}

function allPermutations(items: readonly number[]): number[][] {
  if (items.length <= 1) return [[...items]]
  const result: number[][] = []
  items.forEach((item, index) => {
    const rest = [...items.slice(0, index), ...items.slice(index + 1)]
    for (const tail of allPermutations(rest)) result.push([item, ...tail])
  })
  return result
}

function copySiblings(siblings: readonly ResolverSibling[]): ResolverSibling[] {
  return siblings.map(({ writer, hlc, value }) => ({ writer, hlc, value: cloneJson(value) }))
}

function resolverName(resolver: Resolver | CustomPolicy): string {
  if (isCustomPolicy(resolver)) return `custom:${resolver.name}`
  return resolver.name === '' ? '(anonymous)' : resolver.name
}
