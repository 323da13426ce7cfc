/**
 * `simulate` runs the purity check (I7 in docs/guarantees.md) on every custom resolver by default.
 * Stores hand a resolver its siblings in canonical order, so an order-dependent resolver converges
 * in every run and only the purity check can see it: first-wins (`(s) => s[0].value`) and a
 * concatenation must be flagged on every seed, a pure resolver never; `checkResolverPurity: false`
 * turns the check off; a resolver that is impure only on a key the pre-run check does not try is
 * caught while the stores resolve it.
 */
import { describe, expect, it } from 'vitest'
import { custom, crdt, lww, type JsonValue, type Resolver } from '../../src/index.js'
import {
  maxVote,
  simulate,
  summarize,
  type SimulationOptions,
  type SimulationReport,
  type WorkloadOp,
} from '../../src/testing/index.js'
import { TIMEOUT, budget, seedsOf } from './support.js'

const FILE = seedsOf(import.meta.url)
// 8 seeds in `npm test`, 25× with STARLING_FUZZ=1.
const SEEDS = budget(8)

const firstWins: Resolver = (siblings) => siblings[0]?.value
const concat: Resolver = (siblings) =>
  siblings.flatMap(({ value }): JsonValue[] =>
    Array.isArray(value) ? (value as JsonValue[]) : [value],
  )

function options(seed: number, resolver: Resolver, name: string): SimulationOptions {
  return {
    seed,
    peers: 3,
    steps: 30,
    policies: { 'votes/*': custom(resolver, { name }), 'notes/*': crdt('text'), '**': lww() },
  }
}

function impure(report: SimulationReport): string[] {
  return report.violations.filter((v) => v.startsWith('resolver-impure:'))
}

async function runs(batch: number, resolver: Resolver, name: string, extra = {}) {
  const reports: SimulationReport[] = []
  for (let i = 0; i < SEEDS; i++) {
    const { seed } = FILE.run(batch, i, 0)
    reports.push(await simulate({ ...options(seed, resolver, name), ...extra }))
  }
  return reports
}

describe('simulate checks custom resolvers for purity (I7)', () => {
  it('flags a first-wins resolver on every seed', TIMEOUT, async () => {
    for (const report of await runs(0, firstWins, 'first-wins')) {
      const found = impure(report)
      expect(found.length, `${summarize(report)}\n${FILE.repro}`).toBe(1)
      expect(found[0]).toContain('custom:first-wins is not deterministic')
    }
  })

  it('flags a concatenating resolver on every seed', TIMEOUT, async () => {
    for (const report of await runs(1, concat, 'concat')) {
      expect(impure(report).join('\n'), `${summarize(report)}\n${FILE.repro}`).toContain(
        'custom:concat is not deterministic',
      )
    }
  })

  it('passes a pure resolver, and the check leaves the run as it is', TIMEOUT, async () => {
    const checked = await runs(2, maxVote, 'max-vote')
    const unchecked = await runs(2, maxVote, 'max-vote', { checkResolverPurity: false })
    checked.forEach((report, i) => {
      expect(report.violations, `${summarize(report)}\n${FILE.repro}`).toEqual([])
      expect(report.digest, FILE.repro).toBe(unchecked[i]?.digest)
    })
  })

  it('checks nothing with checkResolverPurity: false', TIMEOUT, async () => {
    const reports = await runs(0, firstWins, 'first-wins', { checkResolverPurity: false })
    for (const report of reports) expect(impure(report), FILE.repro).toEqual([])
  })

  it('checks the sibling sets stores resolve during the run', TIMEOUT, async () => {
    // Pure on votes/a (the key checked before the run), first-wins on votes/b.
    const sneaky: Resolver = (siblings, { key }) =>
      key === 'votes/b' ? siblings[0]?.value : maxVote(siblings, { key })
    // Two peers cut off from each other write votes/b, then the partition heals: the stores
    // resolve two concurrent versions.
    const script: WorkloadOp[] = [
      { kind: 'partition', groups: [[0], [1]] },
      { kind: 'set', peer: 0, key: 'votes/b', value: 1 },
      { kind: 'set', peer: 1, key: 'votes/b', value: 2 },
      { kind: 'heal' },
    ]
    const report = await simulate({
      seed: FILE.seed,
      peers: 2,
      steps: script.length,
      faults: false,
      policies: { 'votes/*': custom(sneaky, { name: 'sneaky' }) },
      keys: ['votes/a', 'votes/b'],
      ops: ({ step }) => script[step] ?? { kind: 'idle' },
    })
    expect(impure(report), summarize(report)).toEqual([
      expect.stringMatching(/^resolver-impure: while a store resolved: .*custom:sneaky.*votes\/b/),
    ])
  })
})
