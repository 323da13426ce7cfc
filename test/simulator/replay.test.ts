/**
 * Replays one simulation from the options in `STARLING_SIM` (the `repro` line of a report), e.g.
 *
 *   STARLING_SIM='{"seed":7,"peers":3,"steps":80}' npx vitest run test/simulator/replay.test.ts
 *
 * and prints its summary. Without the variable it replays a small default run.
 */
import { describe, expect, it } from 'vitest'
import { simulate, summarize, type SimulationOptions } from '../../src/testing/index.js'
import { TIMEOUT } from './support.js'

function optionsFromEnv(): SimulationOptions {
  const text = process.env['STARLING_SIM']
  if (text === undefined || text.trim() === '') return { seed: 1, peers: 3, steps: 40 }
  return JSON.parse(text) as SimulationOptions
}

describe('replay a simulation (STARLING_SIM)', () => {
  it('has no violations', TIMEOUT, async () => {
    const report = await simulate(optionsFromEnv())
    console.info(summarize(report, 50))
    expect(report.violations, summarize(report, 50)).toEqual([])
  })
})
