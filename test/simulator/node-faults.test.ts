/**
 * The simulator over many seeds, one node fault kind at a time: crashes (power loss in every
 * damage mode of the simulated disk, or a process crash, then a restart from what survived),
 * partitions (random halves, one peer isolated, links clogged for a while), and wall clocks
 * jumping within the HLC skew bound and beyond it. The network is reliable, so a failure here is about
 * recovery, relaying and catch-up rather than lost frames.
 */
import { describe, it } from 'vitest'
import type { FaultOptions, SimulationOptions } from '../../src/testing/index.js'
import { TIMEOUT, budget, runBatch, seedsOf } from './support.js'

const FILE = seedsOf(import.meta.url)
const STEPS = 90
const RELIABLE = { loss: 0, duplicate: 0, reorder: 0 }

/**
 * One batch: its batch number (run seeds derive from it), runs, node fault rates over a reliable
 * network, and any other options its runs take.
 */
interface NodeBatch {
  batch: number
  runs: number
  faults: FaultOptions
  extra?: Partial<SimulationOptions>
}

const BATCHES: Array<[name: string, batch: NodeBatch]> = [
  [
    'crashes and restarts',
    { batch: 1, runs: 30, faults: { crashes: 0.05, partitions: 0, clockSkew: 0 } },
  ],
  [
    'partitions and clogged links',
    { batch: 2, runs: 30, faults: { crashes: 0, partitions: 0.08, clockSkew: 0 } },
  ],
  [
    'partitions with frequent catch-up by state vectors',
    {
      batch: 4,
      runs: 25,
      faults: { crashes: 0.02, partitions: 0.15, clockSkew: 0 },
      // Tiny thresholds: peers that fall a few records behind, or whose log was truncated, catch
      // up by state vectors while log traffic goes on around them.
      extra: {
        limits: { catchUpRecordsMin: 4 },
        store: { checkpointRecords: 8, syncRetainRecords: 2 },
        ops: { idle: 0, checkpoint: 0 },
      },
    },
  ],
  [
    'clock jumps beyond the skew bound (timestamps reported, registers still converge)',
    {
      batch: 4,
      runs: 15,
      faults: { crashes: 0, partitions: 0, clockSkew: 0.2, clockSkewMsMax: 30 * 60_000 },
      extra: { ops: { set: 6, delete: 2, text: 1, transact: 1 } },
    },
  ],
  [
    'clock jumps within the skew bound',
    { batch: 3, runs: 15, faults: { crashes: 0, partitions: 0, clockSkew: 0.2 } },
  ],
]

describe('simulate: one node fault kind at a time', () => {
  it.each(BATCHES)('%s', TIMEOUT, async (_name, { batch, runs, faults, extra }) => {
    await runBatch(
      FILE,
      batch,
      budget(runs),
      (base) => ({ ...base, faults: { ...RELIABLE, ...faults }, ...extra }),
      STEPS,
    )
  })
})
