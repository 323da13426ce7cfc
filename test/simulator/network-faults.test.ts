/**
 * The simulator over many seeds, one network fault kind at a time (docs/sync.md, I6): message loss,
 * duplication, and delay that reorders. Each run has 2–8 peers in a mesh, a chain or a star, the
 * default workload, crashes, partitions and clock jumps off; every oracle runs (convergence, no
 * acknowledged write lost, bounds, no ack before durability, liveness after healing). A failure
 * lists every violating run with its own replay line, and the file's seed.
 */
import { describe, it } from 'vitest'
import { TIMEOUT, budget, runBatch, seedsOf } from './support.js'

const FILE = seedsOf(import.meta.url)
const STEPS = 90
const ONLY_NETWORK = { partitions: 0, crashes: 0, clockSkew: 0 }

describe('simulate: one network fault kind at a time', () => {
  it('message loss', TIMEOUT, async () => {
    await runBatch(
      FILE,
      1,
      budget(30),
      (base) => ({
        ...base,
        faults: { ...ONLY_NETWORK, loss: 0.08, duplicate: 0, reorder: 0 },
      }),
      STEPS,
    )
  })

  it('duplication', TIMEOUT, async () => {
    await runBatch(
      FILE,
      2,
      budget(25),
      (base) => ({
        ...base,
        faults: { ...ONLY_NETWORK, loss: 0, duplicate: 0.1, reorder: 0 },
      }),
      STEPS,
    )
  })

  it('reordering by delay', TIMEOUT, async () => {
    await runBatch(
      FILE,
      3,
      budget(30),
      (base) => ({
        ...base,
        faults: { ...ONLY_NETWORK, loss: 0, duplicate: 0, reorder: 0.2 },
      }),
      STEPS,
    )
  })
})
