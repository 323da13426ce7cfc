/**
 * Fuzzing a custom conflict resolver with the deterministic simulator: several peers write tag
 * lists concurrently through a lossy, partitioned network with crashes, and the simulator checks
 * that they converge, that no acknowledged write is lost — and, with an oracle of our own, that
 * every resolved tag list is what the resolver promises (sorted, no duplicates). Then a buggy
 * resolver (it concatenates the lists) is shown being caught twice: by the purity check
 * `simulate` runs on every custom resolver (its result depends on the order of its input), and
 * by that oracle.
 *
 * Run with `npx tsx examples/fuzz-custom-resolver.ts [seeds]`. Exits with 1 if a run of the good
 * resolver has violations or the buggy one is not caught by both checks; each report ends with a
 * line that replays it (`npx starling simulate --replay …` with a `--policies` module exporting
 * `policies`, `values` and `oracle`).
 */
import { crdt, custom, lww, type JsonValue, type Resolver, type Store } from 'starling'
import { simulate, summarize, type Rng, type SimulationOptions } from 'starling/testing'

const TAGS = ['red', 'green', 'blue', 'urgent', 'later']

/** Set union: every tag any concurrent writer added survives the merge. Pure and order-free. */
const unionTags: Resolver = (siblings) => {
  const tags = new Set<string>()
  for (const { value } of siblings)
    if (Array.isArray(value)) for (const tag of value) if (typeof tag === 'string') tags.add(tag)
  return [...tags].sort()
}

/**
 * A plausible bug: concatenating the siblings' lists. Stores hand it the same canonical order, so
 * peers still agree — but its result depends on that order, and the lists are no longer sets.
 */
const concatTags: Resolver = (siblings) =>
  siblings.flatMap(({ value }): JsonValue[] => (Array.isArray(value) ? (value as JsonValue[]) : []))

/** Tag lists for `tags/*` keys, small numbers elsewhere. */
function values(rng: Rng, key: string): JsonValue {
  if (!key.startsWith('tags/')) return rng.int(10)
  return TAGS.filter(() => rng.int(3) === 0).sort()
}

/** Our own oracle: every resolved tag list on every peer is sorted and free of duplicates. */
function tagListsAreSets(peers: ReadonlyArray<{ name: string; store: Store }>): string[] {
  const problems: string[] = []
  for (const { name, store } of peers) {
    for (const key of store.keys('tags/')) {
      const value = store.get(key)
      const list = Array.isArray(value) ? value : []
      const canonical = [...new Set(list.map(String))].sort()
      if (JSON.stringify(list) !== JSON.stringify(canonical))
        problems.push(`${name}: ${key} = ${JSON.stringify(value)}, not a sorted set`)
    }
  }
  return problems
}

function options(seed: number, resolver: Resolver, name: string): SimulationOptions {
  return {
    seed,
    peers: 2 + (seed % 4),
    steps: 60,
    topology: seed % 2 === 0 ? 'mesh' : 'chain',
    policies: {
      'tags/*': custom(resolver, { name }),
      'notes/*': crdt('text'),
      'settings/**': lww(),
    },
    keys: ['tags/inbox', 'tags/project', 'notes/a', 'settings/theme'],
    // Mostly tag writes, so concurrent siblings (and the resolver) are exercised often.
    ops: { set: 8, delete: 1, text: 2, transact: 1, checkpoint: 1, array: 0, map: 0, idle: 1 },
    values,
    oracle: tagListsAreSets,
  }
}

const seeds = Number(process.argv[2] ?? 6)
let failed = 0
console.log(`fuzzing the tag-union resolver over ${seeds} seeds`)
for (let seed = 1; seed <= seeds; seed++) {
  const report = await simulate(options(seed, unionTags, 'tag-union'))
  console.log(summarize(report, 3))
  if (report.violations.length > 0) failed++
}

console.log('\nand a buggy resolver that concatenates tag lists (duplicates, unsorted):')
// Partitions leave concurrent versions behind, so the resolver has siblings to merge at the end.
const partitions = { loss: 0, duplicate: 0, reorder: 0, crashes: 0, clockSkew: 0, partitions: 0.3 }
const buggy = await simulate({ ...options(3, concatTags, 'concat-tags'), faults: partitions })
console.log(summarize(buggy, 3))
// Each violation starts with the name of the check that found it.
const caughtBy = [...new Set(buggy.violations.map((v) => v.slice(0, v.indexOf(':'))))]
console.log(`caught by: ${caughtBy.length > 0 ? caughtBy.join(', ') : 'nothing'}`)
const missed = !caughtBy.includes('resolver-impure') || !caughtBy.includes('oracle')
if (missed) console.log('the buggy resolver was NOT caught by both checks')

console.log(`\n${failed === 0 ? 'all runs held' : `${failed} run(s) violated an invariant`}`)
if (failed > 0 || missed) process.exitCode = 1
