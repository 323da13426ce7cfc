/**
 * The policy table: an ordered list of key pattern → policy rules and a fallback. The first rule
 * whose pattern matches a key gives its policy; a key no rule matches gets the fallback. The table
 * should be identical on all peers; each key's policy id is recorded so that a difference is
 * detected (`assertPolicyMatches`), never silently diverged.
 */
import { invalidArgument, StarlingError } from '../core/errors.js'
import { compilePattern, KEY_SEPARATOR } from './patterns.js'
import type { KeyPattern } from './patterns.js'
import { isCustomPolicy, isPolicy } from './policies.js'
import type { Policy } from './policies.js'

/** One rule of a policy table. */
export interface PolicyRule {
  /** The key pattern as written. */
  readonly pattern: string
  readonly policy: Policy
}

/**
 * Rules as an object (`{ 'settings/**': lww() }`, in property order) or as `[pattern, policy]`
 * pairs. Note that JavaScript puts integer-like property names (`'42'`) before all others in an
 * object; use pairs when such a pattern must come later.
 */
export type PolicyTableInput =
  Readonly<Record<string, Policy>> | readonly (readonly [pattern: string, policy: Policy])[]

/** Maps keys to policies. */
export interface PolicyTable {
  /** The rules in matching order. */
  readonly rules: readonly PolicyRule[]
  /** The policy of keys that match no rule. */
  readonly fallback: Policy
  /** The policy of `key`: the first matching rule's, or the fallback. */
  policyFor(key: string): Policy
  /** The pattern of the first rule matching `key`, or undefined when the fallback applies. */
  patternFor(key: string): string | undefined
}

interface CompiledRule {
  readonly rule: PolicyRule
  readonly pattern: KeyPattern
}

/**
 * Creates a policy table. Invalid patterns, duplicate patterns and values that are not policies
 * throw `INVALID_ARGUMENT`; two different resolvers registered under the same custom name throw
 * `POLICY_INVALID` (the name is what peers compare, so it must identify one resolver).
 *
 * @example
 * ```ts
 * const table = createPolicyTable(
 *   { 'settings/**': lww(), 'notes/*': crdt('text') },
 *   lww(),
 * )
 * table.policyFor('notes/today') // crdt('text')
 * table.patternFor('settings/ui/theme') // 'settings/**'
 * table.patternFor('other') // undefined: the fallback applies
 * ```
 */
export function createPolicyTable(policies: PolicyTableInput, fallback: Policy): PolicyTable {
  if (!isPolicy(fallback)) throw invalidArgument('createPolicyTable(): fallback must be a policy')
  const compiled = toPairs(policies).map(([pattern, policy]): CompiledRule => {
    if (!isPolicy(policy)) {
      throw invalidArgument(
        `createPolicyTable(): the value of ${JSON.stringify(pattern)} is not a policy`,
      )
    }
    return { rule: Object.freeze({ pattern, policy }), pattern: compilePattern(pattern) }
  })
  checkUniquePatterns(compiled)
  checkCustomNames([...compiled.map((entry) => entry.rule.policy), fallback])
  const find = (key: string): CompiledRule | undefined => {
    if (typeof key !== 'string') throw invalidArgument(`a key must be a string, got ${typeof key}`)
    const segments = key.split(KEY_SEPARATOR)
    return compiled.find((entry) => entry.pattern.matchSegments(segments))
  }
  return Object.freeze({
    rules: Object.freeze(compiled.map((entry) => entry.rule)),
    fallback,
    policyFor: (key: string) => find(key)?.rule.policy ?? fallback,
    patternFor: (key: string) => find(key)?.rule.pattern,
  })
}

function toPairs(policies: PolicyTableInput): (readonly [string, Policy])[] {
  if (Array.isArray(policies)) {
    return policies.map((pair: unknown) => {
      if (!Array.isArray(pair) || pair.length !== 2) {
        throw invalidArgument('createPolicyTable(): each rule must be a [pattern, policy] pair')
      }
      return pair as unknown as readonly [string, Policy]
    })
  }
  if (typeof policies !== 'object' || policies === null) {
    throw invalidArgument(
      'createPolicyTable(): policies must be an object or [pattern, policy] pairs',
    )
  }
  return Object.entries(policies as Readonly<Record<string, Policy>>)
}

function checkUniquePatterns(rules: readonly CompiledRule[]): void {
  const seen = new Set<string>()
  for (const { rule } of rules) {
    if (seen.has(rule.pattern)) {
      throw invalidArgument(
        `createPolicyTable(): pattern ${JSON.stringify(rule.pattern)} appears twice`,
      )
    }
    seen.add(rule.pattern)
  }
}

function checkCustomNames(policies: readonly Policy[]): void {
  const resolvers = new Map<string, unknown>()
  for (const policy of policies) {
    if (!isCustomPolicy(policy)) continue
    const known = resolvers.get(policy.name)
    if (known !== undefined && known !== policy.resolve) {
      throw new StarlingError(
        'POLICY_INVALID',
        `two different resolvers are named ${JSON.stringify(policy.name)}; ` +
          'a custom policy name must identify one resolver',
        { name: policy.name },
      )
    }
    resolvers.set(policy.name, policy.resolve)
  }
}
