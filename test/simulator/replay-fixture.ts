/**
 * A replay module, as a user writes one for `starling simulate --replay … --policies <module>`:
 * the policy table of the runs in test/unit/cli-simulate.test.ts (custom resolvers found by
 * name) and their own `values`, `ops` and `oracle`.
 */
import { crdt, custom, lww, type JsonValue, type Resolver } from '../../src/index.js'
import type { OpGenerator, Rng, SimulationOptions } from '../../src/testing/index.js'

const TAGS = ['blue', 'green', 'red']

/** Set union of tag lists: pure. */
const tagUnion: Resolver = (siblings) => {
  const tags = new Set<string>()
  for (const { value } of siblings)
    if (Array.isArray(value)) for (const tag of value) tags.add(String(tag))
  return [...tags].sort()
}

/** The first version wins: depends on the order of its input (impure). */
const firstWins: Resolver = (siblings) => siblings[0]?.value

export const policies = {
  'tags/*': custom(tagUnion, { name: 'tag-union' }),
  'votes/*': custom(firstWins, { name: 'first-wins' }),
  'notes/*': crdt('text'),
  'settings/**': lww(),
}

export function values(rng: Rng, key: string): JsonValue {
  return key.startsWith('tags/') ? TAGS.filter(() => rng.int(2) === 0) : rng.int(10)
}

/** Mostly the built-in operations; every tenth step writes a tag list. */
export const ops: OpGenerator = (ctx) =>
  ctx.step % 10 === 9
    ? {
        kind: 'set',
        peer: ctx.rng.int(ctx.peers),
        key: 'tags/inbox',
        value: values(ctx.rng, 'tags/x'),
      }
    : ctx.builtin()

/** Every resolved tag list is sorted. */
export const oracle: SimulationOptions['oracle'] = (peers) =>
  peers.flatMap(({ name, store }) =>
    store.keys('tags/').flatMap((key) => {
      const list = JSON.stringify(store.get(key))
      const sorted = JSON.stringify([...((store.get(key) as string[] | undefined) ?? [])].sort())
      return list === sorted || store.get(key) === undefined ? [] : [`${name}: ${key} = ${list}`]
    }),
  )
