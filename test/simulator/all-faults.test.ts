/**
 * The simulator over many seeds with every fault kind on at the default, moderate rates: loss,
 * duplication, reordering, partitions, crashes with disk damage, clock jumps — 2–8 peers in a
 * mesh, a chain or a star. Every oracle runs on every seed.
 */
import { describe, it } from 'vitest'
import { TIMEOUT, budget, runBatch, seedsOf } from './support.js'

const FILE = seedsOf(import.meta.url)

describe('simulate: every fault kind at once', () => {
  it('mixed workloads, 2–8 peers', TIMEOUT, async () => {
    await runBatch(FILE, 1, budget(40), (base) => base, 100)
  })

  it('small clusters, long runs', TIMEOUT, async () => {
    await runBatch(FILE, 2, budget(20), (base) => ({ ...base, peers: 2 + (base.seed % 2) }), 200)
  })
})
