/**
 * The simulator replays: the same options give the identical report — every counter, every
 * violation, the digest of the final state — because every decision comes from the seed and
 * virtual time (no `Math.random`, `Date.now` or real timer takes part). Different seeds give
 * different runs.
 */
import { describe, expect, it } from 'vitest'
import { simulate, type SimulationOptions } from '../../src/testing/index.js'
import { TIMEOUT, seedsOf } from './support.js'

const FILE = seedsOf(import.meta.url)

describe('simulate is deterministic', () => {
  it('same seed, same report (all faults, crashes included)', TIMEOUT, async () => {
    for (let i = 0; i < 3; i++) {
      const options: SimulationOptions = { ...FILE.run(1, i, 80), peers: 3 + i, topology: 'mesh' }
      const first = await simulate(options)
      const second = await simulate(options)
      expect(second, `${first.repro}\n${FILE.repro}`).toEqual(first)
      expect(first.stats.ops).toBeGreaterThan(0)
    }
  })

  it(
    'same seed, same report with a harness-sanity mode (violations replay too)',
    TIMEOUT,
    async () => {
      const options: SimulationOptions = {
        ...FILE.run(2, 0, 30),
        unsafe: { ackBeforeDurable: true },
      }
      const first = await simulate(options)
      expect(first.violations.length).toBeGreaterThan(0)
      expect(await simulate(options)).toEqual(first)
    },
  )

  it('different seeds, different runs', TIMEOUT, async () => {
    const fingerprints = new Set<string>()
    for (let i = 0; i < 5; i++) {
      const report = await simulate({ ...FILE.run(3, i, 40), peers: 3, topology: 'mesh' })
      fingerprints.add(JSON.stringify([report.digest, report.stats]))
    }
    expect(fingerprints.size, FILE.repro).toBeGreaterThanOrEqual(4)
  })
})
