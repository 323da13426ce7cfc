/**
 * The purity check of a simulation's custom resolvers (I7 in docs/guarantees.md). A store always
 * hands a resolver its siblings in canonical order, so a resolver that depends on their order
 * (`(s) => s[0].value`, or one that concatenates) still converges in a simulation — and breaks the
 * day two versions of the application order their input differently. So every custom resolver is
 * run through `checkResolverPurity`: before the run, on sibling sets drawn from the run's own
 * value generator, and during it, on every sibling set a store actually resolves. The first
 * finding per resolver is a violation; the run's other random streams are left unchanged.
 */
import { isStarlingError } from '../../core/errors.js'
import { formatHlc } from '../../core/hlc.js'
import { toNodeId } from '../../core/ids.js'
import type { Rng } from '../../core/random.js'
import type { JsonValue } from '../../policy/json.js'
import { custom, isCustomPolicy, type CustomPolicy, type Policy } from '../../policy/policies.js'
import type { Resolver, ResolverSibling } from '../../policy/policies.js'
import { checkResolverPurity } from '../../policy/purity.js'
import { type PolicyTable, type PolicyTableInput } from '../../policy/table.js'
import { VIRTUAL_START_MS } from '../virtual-env.js'
import { keysFor } from './options.js'

/** Sibling sets tried per custom resolver before the run. */
export const PURITY_SAMPLES = 8
/** Largest sibling set tried before the run (every permutation of it is checked). */
const SAMPLE_SIBLINGS_MAX = 4

/** Records the first impurity found per resolver as a violation. */
export class ResolverWatch {
  readonly #flagged = new Set<string>()
  readonly #violation: (text: string) => void

  constructor(violation: (text: string) => void) {
    this.#violation = violation
  }

  /** Checks `policy` on `siblings`; a finding is reported once per resolver, never thrown. */
  check(policy: CustomPolicy, siblings: readonly ResolverSibling[], key: string, when: string) {
    if (this.#flagged.has(policy.name)) return
    try {
      checkResolverPurity(policy, siblings, { key })
    } catch (error) {
      if (!isStarlingError(error, 'POLICY_INVALID')) throw error
      this.#flagged.add(policy.name)
      this.#violation(`resolver-impure: ${when}: ${error.message}`)
    }
  }

  /**
   * `policies` with every custom resolver wrapped so that each resolution a store makes is also
   * checked. The wrapper keeps the policy's name (so its recorded id is unchanged) and returns
   * what the resolver returns.
   */
  watch(policies: PolicyTableInput): PolicyTableInput {
    const wrap = (policy: Policy): Policy => {
      if (!isCustomPolicy(policy)) return policy
      const resolve: Resolver = (siblings, context) => {
        this.check(policy, siblings, context.key, 'while a store resolved')
        return policy.resolve(siblings, context)
      }
      return custom(resolve, { name: policy.name })
    }
    const rules: ReadonlyArray<readonly [string, Policy]> = Array.isArray(policies)
      ? (policies as ReadonlyArray<readonly [string, Policy]>)
      : Object.entries(policies as Readonly<Record<string, Policy>>)
    // A list keeps its order (the first matching rule wins), an object its key order.
    const wrapped = rules.map(([pattern, policy]) => [pattern, wrap(policy)] as const)
    return Array.isArray(policies) ? wrapped : Object.fromEntries(wrapped)
  }

  /**
   * Checks every custom resolver of `table` before the run, on {@link PURITY_SAMPLES} sibling
   * sets of 2–4 versions of one of its keys, with values from `values`.
   */
  preflight(
    table: PolicyTable,
    keys: readonly string[],
    values: (rng: Rng, key: string) => JsonValue,
    rng: Rng,
  ): void {
    for (const [policy, key] of customKeys(table, keys)) {
      for (let sample = 0; sample < PURITY_SAMPLES; sample++) {
        const count = 2 + rng.int(SAMPLE_SIBLINGS_MAX - 1)
        const siblings = Array.from({ length: count }, (_, i) => sibling(i, values(rng, key)))
        this.check(policy, siblings, key, `before the run, on ${count} versions of ${key}`)
      }
    }
  }
}

/** One key per custom policy of `table`: from the run's keys, else one its pattern matches. */
function customKeys(table: PolicyTable, keys: readonly string[]): Array<[CustomPolicy, string]> {
  const found = new Map<string, [CustomPolicy, string]>()
  for (const key of [...keys, ...keysFor(table)]) {
    const policy = table.policyFor(key)
    if (isCustomPolicy(policy) && !found.has(policy.name)) found.set(policy.name, [policy, key])
  }
  return [...found.values()]
}

/** Version `i` of a sample: written by peer `p<i>`, one millisecond after the previous one. */
function sibling(i: number, value: JsonValue): ResolverSibling {
  const writer = toNodeId(`p${i}`)
  return {
    writer,
    hlc: formatHlc({ wallMs: VIRTUAL_START_MS + i, counter: 0, nodeId: writer }),
    value,
  }
}
