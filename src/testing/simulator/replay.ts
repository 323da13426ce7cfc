/**
 * Replaying a simulation from text. A run's options are written as JSON — everything but
 * functions; the policy table as `[pattern, policy id]` rules (`lww`, `crdt:text`,
 * `custom:<name>`), and the names of the function options it used (`values`, `ops`, `oracle`) —
 * and read back with the functions taken from a module of the user's: its `policies` export gives
 * each custom resolver by name, its `values`, `ops` and `oracle` exports the rest. Same options,
 * same seed: same run, same digest. `npx starling simulate --replay '<json>'` does this from an
 * installed package.
 */
import { invalidArgument } from '../../core/errors.js'
import {
  crdt,
  isCustomPolicy,
  lww,
  policyId,
  type CrdtKind,
  type CustomPolicy,
  type Policy,
} from '../../policy/policies.js'
import type { PolicyTableInput } from '../../policy/table.js'
import type { OpGenerator, SimulationOptions } from './types.js'

/** The options of a run that are functions, supplied by a module on replay. */
export const REPLAY_FUNCTIONS = ['values', 'ops', 'oracle'] as const

/** A function option of a run (see {@link REPLAY_FUNCTIONS}). */
export type ReplayFunction = (typeof REPLAY_FUNCTIONS)[number]

/** What a replay module exports: the run's policy table and its function options. */
export interface ReplayModule {
  /** A policy table holding every custom resolver of the run (found by name). */
  policies?: PolicyTableInput
  values?: SimulationOptions['values']
  ops?: OpGenerator
  oracle?: SimulationOptions['oracle']
}

/** The JSON-serializable options copied as they are. */
const PLAIN = [
  'seed',
  'peers',
  'steps',
  'topology',
  'faults',
  'limits',
  'unsafe',
  'store',
  'livenessBudgetMs',
  'checkResolverPurity',
  'keys',
] as const

/** The replay form of `options`: JSON-serializable, with policies by id and functions by name. */
export function replaySpec(options: SimulationOptions): Record<string, unknown> {
  const spec: Record<string, unknown> = {}
  for (const name of PLAIN) if (options[name] !== undefined) spec[name] = options[name]
  if (options.ops !== undefined && typeof options.ops !== 'function') spec['ops'] = options.ops
  if (options.policies !== undefined)
    spec['policies'] = rulesOf(options.policies).map(([pattern, policy]) => [
      pattern,
      policyId(policy),
    ])
  const functions = replayFunctions(options)
  if (functions.length > 0) spec['functions'] = functions
  return spec
}

/** The function options `options` uses, which a replay must get from a module. */
export function replayFunctions(options: SimulationOptions): ReplayFunction[] {
  return REPLAY_FUNCTIONS.filter((name) =>
    name === 'ops' ? typeof options.ops === 'function' : options[name] !== undefined,
  )
}

/** The custom policy ids of `options`' table (each needs its resolver on replay). */
export function customPolicyIds(options: SimulationOptions): string[] {
  if (options.policies === undefined) return []
  const ids = rulesOf(options.policies)
    .filter(([, policy]) => isCustomPolicy(policy))
    .map(([, policy]) => policyId(policy))
  return [...new Set(ids)]
}

/**
 * The options `spec` (the JSON of {@link replaySpec}, parsed) describes, with custom resolvers
 * and function options taken from `module`. Misuse — an unknown field, a custom resolver or a
 * function the module does not export — is `INVALID_ARGUMENT` naming what is missing.
 */
export function replayOptions(spec: unknown, module: ReplayModule = {}): SimulationOptions {
  if (typeof spec !== 'object' || spec === null || Array.isArray(spec))
    throw invalidArgument('replay: the options must be a JSON object')
  const fields = spec as Record<string, unknown>
  const known = new Set<string>([...PLAIN, 'ops', 'policies', 'functions'])
  const unknown = Object.keys(fields).filter((name) => !known.has(name))
  if (unknown.length > 0) throw invalidArgument(`replay: unknown option(s) ${unknown.join(', ')}`)
  const options: Record<string, unknown> = {}
  for (const name of PLAIN) if (fields[name] !== undefined) options[name] = fields[name]
  if (fields['ops'] !== undefined) options['ops'] = fields['ops']
  if (fields['policies'] !== undefined)
    options['policies'] = rebuildPolicies(fields['policies'], module.policies)
  for (const name of functionsOf(fields['functions'])) {
    const value = module[name]
    if (typeof value !== 'function')
      throw invalidArgument(
        `replay: the run used its own ${name}: pass a module (--policies) that exports ${name}`,
      )
    options[name] = value
  }
  return options as unknown as SimulationOptions
}

function functionsOf(value: unknown): ReplayFunction[] {
  if (value === undefined) return []
  const names = Array.isArray(value) ? (value as unknown[]) : [value]
  return names.map((name) => {
    if (!REPLAY_FUNCTIONS.includes(name as ReplayFunction))
      throw invalidArgument(`replay: functions must name ${REPLAY_FUNCTIONS.join(', ')}`)
    return name as ReplayFunction
  })
}

/** The table of `[pattern, id]` rules, custom resolvers found by name in `source`. */
function rebuildPolicies(
  rules: unknown,
  source: PolicyTableInput | undefined,
): Array<[string, Policy]> {
  if (!Array.isArray(rules)) throw invalidArgument('replay: policies must be [pattern, id] rules')
  const customs = new Map<string, CustomPolicy>()
  for (const [, policy] of source === undefined ? [] : rulesOf(source))
    if (isCustomPolicy(policy) && !customs.has(policy.name)) customs.set(policy.name, policy)
  return (rules as unknown[]).map((rule) => {
    if (!Array.isArray(rule) || rule.length !== 2 || !rule.every((x) => typeof x === 'string'))
      throw invalidArgument('replay: each policy rule must be a [pattern, id] pair of strings')
    const [pattern, id] = rule as [string, string]
    return [pattern, policyFromId(id, customs)]
  })
}

function policyFromId(id: string, customs: ReadonlyMap<string, CustomPolicy>): Policy {
  if (id === 'lww') return lww()
  if (id.startsWith('crdt:')) return crdt(id.slice('crdt:'.length) as CrdtKind)
  if (id.startsWith('custom:')) {
    const policy = customs.get(id.slice('custom:'.length))
    if (policy === undefined)
      throw invalidArgument(
        `replay: the run used the resolver ${id}: pass a module (--policies) whose policies ` +
          `export holds custom(…, { name: '${id.slice('custom:'.length)}' })`,
      )
    return policy
  }
  throw invalidArgument(`replay: unknown policy id ${JSON.stringify(id)}`)
}

/** The rules of a policy table input, in order. */
function rulesOf(policies: PolicyTableInput): ReadonlyArray<readonly [string, Policy]> {
  return Array.isArray(policies)
    ? (policies as ReadonlyArray<readonly [string, Policy]>)
    : Object.entries(policies as Readonly<Record<string, Policy>>)
}
