/**
 * The simulator over many seeds, one network fault kind at a time (docs/sync.md, I6): message loss,
 * duplication, and delay that reorders. Each run has 2–8 peers in a mesh, a chain or a star, the
 * default workload, crashes, partitions and clock jumps off; every oracle runs (convergence, no
 * acknowledged write lost, bounds, no ack before durability, liveness after healing). A failure
 * lists every violating run with its own replay line, and the file's seed.
 */
import { describe, it } from 'vitest'
import type { FaultOptions } from '../../src/testing/index.js'
import { TIMEOUT, budget, runBatch, seedsOf } from './support.js'

const FILE = seedsOf(import.meta.url)
const STEPS = 90
const ONLY_NETWORK = { partitions: 0, crashes: 0, clockSkew: 0 }

/** One batch: its batch number (run seeds derive from it), runs, and network fault rates. */
interface NetworkBatch {
  batch: number
  runs: number
  faults: FaultOptions
}

const BATCHES: Array<[name: string, batch: NetworkBatch]> = [
  ['message loss', { batch: 1, runs: 30, faults: { loss: 0.08, duplicate: 0, reorder: 0 } }],
  ['duplication', { batch: 2, runs: 25, faults: { loss: 0, duplicate: 0.1, reorder: 0 } }],
  ['reordering by delay', { batch: 3, runs: 30, faults: { loss: 0, duplicate: 0, reorder: 0.2 } }],
]

describe('simulate: one network fault kind at a time', () => {
  it.each(BATCHES)('%s', TIMEOUT, async (_name, { batch, runs, faults }) => {
    await runBatch(
      FILE,
      batch,
      budget(runs),
      (base) => ({ ...base, faults: { ...ONLY_NETWORK, ...faults } }),
      STEPS,
    )
  })
})
