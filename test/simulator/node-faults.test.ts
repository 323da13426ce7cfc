/**
 * The simulator over many seeds, one node fault kind at a time: crashes (power loss in every
 * damage mode of the simulated disk, or a process crash, then a restart from what survived),
 * partitions (random halves, one peer isolated, links clogged for a while), and wall clocks
 * jumping within the HLC skew bound and beyond it. The network is reliable, so a failure here is about
 * recovery, relaying and catch-up rather than lost frames.
 */
import { describe, it } from 'vitest'
import { TIMEOUT, budget, runBatch, seedsOf } from './support.js'

const FILE = seedsOf(import.meta.url)
const STEPS = 90
const RELIABLE = { loss: 0, duplicate: 0, reorder: 0 }

describe('simulate: one node fault kind at a time', () => {
  it('crashes and restarts', TIMEOUT, async () => {
    await runBatch(
      FILE,
      1,
      budget(30),
      (base) => ({
        ...base,
        faults: { ...RELIABLE, crashes: 0.05, partitions: 0, clockSkew: 0 },
      }),
      STEPS,
    )
  })

  it('partitions and clogged links', TIMEOUT, async () => {
    await runBatch(
      FILE,
      2,
      budget(30),
      (base) => ({
        ...base,
        faults: { ...RELIABLE, crashes: 0, partitions: 0.08, clockSkew: 0 },
      }),
      STEPS,
    )
  })

  it('partitions with frequent catch-up by state vectors', TIMEOUT, async () => {
    // Tiny thresholds: peers that fall a few records behind, or whose log was truncated, catch
    // up by state vectors while log traffic goes on around them.
    await runBatch(
      FILE,
      4,
      budget(25),
      (base) => ({
        ...base,
        faults: { ...RELIABLE, crashes: 0.02, partitions: 0.15, clockSkew: 0 },
        limits: { catchUpRecordsMin: 4 },
        store: { checkpointRecords: 8, syncRetainRecords: 2 },
        ops: { idle: 0, checkpoint: 0 },
      }),
      STEPS,
    )
  })

  it(
    'clock jumps beyond the skew bound (timestamps reported, registers still converge)',
    TIMEOUT,
    async () => {
      await runBatch(
        FILE,
        4,
        budget(15),
        (base) => ({
          ...base,
          faults: {
            ...RELIABLE,
            crashes: 0,
            partitions: 0,
            clockSkew: 0.2,
            clockSkewMsMax: 30 * 60_000,
          },
          ops: { set: 6, delete: 2, text: 1, transact: 1 },
        }),
        STEPS,
      )
    },
  )

  it('clock jumps within the skew bound', TIMEOUT, async () => {
    await runBatch(
      FILE,
      3,
      budget(15),
      (base) => ({
        ...base,
        faults: { ...RELIABLE, crashes: 0, partitions: 0, clockSkew: 0.2 },
      }),
      STEPS,
    )
  })
})
