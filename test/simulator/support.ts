/**
 * Shared plumbing of the simulator tests: budgets (a small one in `npm test`, thousands of seeds
 * with `STARLING_FUZZ=1` or `STARLING_SIM_SEEDS=n`), per-run seeds derived from the file's seed,
 * and batches whose failure message names every failing run with its own replay line.
 */
import { expect } from 'vitest'
import { seedFromEnv } from '../../src/core/random.js'
import {
  simulate,
  summarize,
  type SimulationOptions,
  type SimulationReport,
  type Topology,
} from '../../src/testing/index.js'
import { FUZZ, reproCommand } from '../support/property.js'
import { mix } from '../support/wal-crash.js'

const SEEDS_OVERRIDE = Number(process.env['STARLING_SIM_SEEDS'] ?? '')

/** Runs of a batch: `count` in `npm test`, scaled up for fuzzing. */
export function budget(count: number): number {
  if (Number.isSafeInteger(SEEDS_OVERRIDE) && SEEDS_OVERRIDE > 0) return SEEDS_OVERRIDE
  return FUZZ ? count * 25 : count
}

/** Per-test timeout: generous, the runs are CPU-bound. */
export const TIMEOUT = { timeout: FUZZ ? 6 * 3_600_000 : 240_000 }

const TOPOLOGIES: readonly Topology[] = ['mesh', 'chain', 'star']

/** A file's runs: its seed (from `STARLING_SEED` or fresh) and the derived per-run seeds. */
export function seedsOf(fileUrl: string) {
  const seed = seedFromEnv()
  const repro = reproCommand(fileUrl, seed)
  console.info(`file seed ${seed}. ${repro}`)
  return {
    seed,
    repro,
    /** The options of run `i` of batch `batch`: a derived seed, 2–8 peers, a topology. */
    run(batch: number, i: number, steps: number): SimulationOptions {
      const runSeed = mix(seed, batch, i) & 0x7fffffff
      return {
        seed: runSeed,
        peers: 2 + (mix(runSeed, 1) % 7),
        steps,
        topology: TOPOLOGIES[mix(runSeed, 2) % 3] as Topology,
      }
    },
  }
}

/** Runs `count` simulations and fails with every violating run's summary and replay line. */
export async function runBatch(
  file: ReturnType<typeof seedsOf>,
  batch: number,
  count: number,
  options: (base: SimulationOptions) => SimulationOptions,
  steps: number,
): Promise<SimulationReport[]> {
  const reports: SimulationReport[] = []
  for (let i = 0; i < count; i++) reports.push(await simulate(options(file.run(batch, i, steps))))
  const failed = reports.filter((report) => report.violations.length > 0)
  const lines = failed.slice(0, 8).map((report) => summarize(report, 3))
  const message = `${failed.length} of ${count} runs violated an invariant (file seed ${file.seed})\n${lines.join('\n')}\n${file.repro}`
  expect(failed.length, message).toBe(0)
  return reports
}
