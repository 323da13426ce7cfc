/**
 * The simulator over many seeds with every fault kind on at the default, moderate rates: loss,
 * duplication, reordering, partitions, crashes with disk damage, clock jumps — 2–8 peers in a
 * mesh, a chain or a star. Every oracle runs on every seed.
 */
import { describe, it } from 'vitest'
import type { SimulationOptions } from '../../src/testing/index.js'
import { TIMEOUT, budget, runBatch, seedsOf } from './support.js'

const FILE = seedsOf(import.meta.url)

/** One batch: its batch number (run seeds derive from it), runs, steps per run, and options. */
interface MixedBatch {
  batch: number
  runs: number
  steps: number
  options: (base: SimulationOptions) => SimulationOptions
}

const BATCHES: Array<[name: string, batch: MixedBatch]> = [
  ['mixed workloads, 2–8 peers', { batch: 1, runs: 40, steps: 100, options: (base) => base }],
  [
    'small clusters, long runs',
    {
      batch: 2,
      runs: 20,
      steps: 200,
      options: (base) => ({ ...base, peers: 2 + (base.seed % 2) }),
    },
  ],
]

describe('simulate: every fault kind at once', () => {
  it.each(BATCHES)('%s', TIMEOUT, async (_name, { batch, runs, steps, options }) => {
    await runBatch(FILE, batch, budget(runs), options, steps)
  })
})
