/**
 * Replays one simulation inside the repository from the JSON of a report's repro line (the
 * argument of `starling simulate --replay`), e.g.
 *
 *   STARLING_SIM='{"seed":7,"peers":3,"steps":80}' npx vitest run test/simulator/replay.test.ts
 *
 * with `STARLING_SIM_POLICIES=<module>` for a run that needs one (what `--policies` takes), and
 * prints its summary. Without the variable it replays a small default run.
 */
import { resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { describe, expect, it } from 'vitest'
import {
  replayOptions,
  simulate,
  summarize,
  type ReplayModule,
  type SimulationOptions,
} from '../../src/testing/index.js'
import { TIMEOUT } from './support.js'

async function optionsFromEnv(): Promise<SimulationOptions> {
  const text = process.env['STARLING_SIM']
  if (text === undefined || text.trim() === '') return { seed: 1, peers: 3, steps: 40 }
  const path = process.env['STARLING_SIM_POLICIES']
  const module =
    path === undefined ? {} : ((await import(pathToFileURL(resolve(path)).href)) as ReplayModule)
  return replayOptions(JSON.parse(text), module)
}

describe('replay a simulation (STARLING_SIM)', () => {
  it('has no violations', TIMEOUT, async () => {
    const report = await simulate(await optionsFromEnv())
    console.info(summarize(report, 50))
    expect(report.violations, summarize(report, 50)).toEqual([])
  })
})
