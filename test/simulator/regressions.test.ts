/**
 * Minimal simulator runs that found engine bugs, replayed forever (docs/testing.md). Each is the
 * smallest failing case found (shrunk with `fuzz`), with what went wrong.
 */
import { describe, expect, it } from 'vitest'
import { simulate, summarize, type SimulationOptions } from '../../src/testing/index.js'

const ONLY = { loss: 0, duplicate: 0, reorder: 0, partitions: 0, crashes: 0, clockSkew: 0 }

const REGRESSIONS: Array<[what: string, options: SimulationOptions]> = [
  [
    'a lost HELLO leaves the connection half-open forever: no handshake timeout, no resend',
    { seed: 1, peers: 2, steps: 3, faults: { ...ONLY, loss: 0.1 } },
  ],
  [
    'a RESUME overtaking its HELLO is refused as a protocol violation and never resent',
    { seed: 1, peers: 2, steps: 3, faults: { ...ONLY, reorder: 0.3 } },
  ],
  [
    'a catch-up picks its documents before it takes its log position: a record appended in between is skipped for good',
    {
      seed: 283,
      peers: 5,
      steps: 30,
      topology: 'chain',
      faults: { ...ONLY, partitions: 0.15, crashes: 0.02 },
      limits: { catchUpRecordsMin: 4 },
      store: { checkpointRecords: 8, syncRetainRecords: 2 },
      ops: { idle: 0, checkpoint: 0 },
    },
  ],
  [
    "a completed catch-up claimed the sender's log up to its position; relayed, the claim made a peer two hops away skip records it never had (lost writes, updates Yjs could not integrate)",
    { seed: 1180922423, peers: 8, steps: 100, topology: 'mesh' },
  ],
]

describe('simulator regressions', () => {
  for (const [what, options] of REGRESSIONS) {
    it(what, async () => {
      const report = await simulate(options)
      expect(report.violations, summarize(report, 5)).toEqual([])
    })
  }
})
