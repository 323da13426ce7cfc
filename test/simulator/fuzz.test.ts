/**
 * `fuzz`: simulate over seeds through fast-check. A failing configuration must shrink to the
 * smallest peer and step counts that still fail, with the seed and a replay line in its message;
 * healthy configurations pass; explicit seeds run exactly.
 */
import { describe, expect, it } from 'vitest'
import { fuzz } from '../../src/testing/index.js'
import { TIMEOUT, seedsOf } from './support.js'

const FILE = seedsOf(import.meta.url)
const RELIABLE = { loss: 0, duplicate: 0, reorder: 0 }

describe('fuzz', () => {
  it(
    'shrinks a failure to fewer peers and steps, and prints its replay line',
    TIMEOUT,
    async () => {
      const result = await fuzz({
        numRuns: 2,
        fcSeed: FILE.seed,
        peers: [3, 6],
        steps: [5, 40],
        faults: false,
        unsafe: { ackBeforeDurable: true },
      })
      const failure = result.failure
      expect(failure, FILE.repro).toBeDefined()
      if (failure === undefined) return
      expect(failure.shrunk.violations.length).toBeGreaterThan(0)
      // Any size fails here, so shrinking must reach the smallest peer count, and no more steps.
      expect(failure.shrunk.peers).toBe(3)
      expect(failure.shrunk.steps).toBeLessThanOrEqual(failure.original.steps)
      expect(failure.message).toContain(`seed ${failure.shrunk.seed}`)
      expect(failure.message).toContain("npx starling simulate --replay '")
      expect(result.runs).toBeGreaterThanOrEqual(2)
    },
  )

  it('passes healthy runs and runs explicit seeds exactly', TIMEOUT, async () => {
    const seen: number[] = []
    const seeds = [FILE.run(2, 0, 0).seed, FILE.run(2, 1, 0).seed]
    const result = await fuzz({
      seeds,
      peers: 3,
      steps: 30,
      faults: { ...RELIABLE, crashes: 0.05 },
      onReport: (report) => seen.push(report.seed),
    })
    expect(result.failure?.message, FILE.repro).toBeUndefined()
    expect(seen).toEqual(seeds)
  })
})
