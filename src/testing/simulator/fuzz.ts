/**
 * `fuzz`: `simulate` over many seeds, through fast-check so that a failing run shrinks to fewer
 * peers and steps. The seed itself is never shrunk (a different seed is a different run, not a
 * smaller one); the step count shrinks well because a shorter run replays a prefix of the longer
 * one. fast-check is loaded on first use, so `starling/testing` works without it for everything
 * else: install it (as a dev dependency) to use `fuzz`. Without it, `fuzz` rejects with
 * `DEPENDENCY_MISSING` (details: `package: 'fast-check'`).
 */
import { seedFromEnv } from '../../core/random.js'
import { loadFastCheck } from './fast-check.js'
import { summarize } from './report.js'
import { simulate } from './simulate.js'
import type { SimulationOptions, SimulationReport } from './types.js'

/** Options of {@link fuzz}: those of `simulate`, with ranges for peers and steps. */
export interface FuzzOptions extends Omit<SimulationOptions, 'seed' | 'peers' | 'steps'> {
  /** Run exactly these seeds (default: `numRuns` random ones). */
  seeds?: readonly number[]
  /** Random seeds to run when `seeds` is not given (default 50). */
  numRuns?: number
  /** fast-check's own seed, printed with a failure (default: `STARLING_SEED` or a fresh one). */
  fcSeed?: number
  /** Peers, or an inclusive range (default [2, 8]). */
  peers?: number | readonly [number, number]
  /** Steps, or an inclusive range (default [20, 120]). */
  steps?: number | readonly [number, number]
  /** Sees every report (progress, statistics). */
  onReport?: (report: SimulationReport) => void
}

/** What {@link fuzz} found. */
export interface FuzzResult {
  /** Simulations run, shrinking included. */
  runs: number
  fcSeed: number
  /** The first failing run, the smallest failing run shrinking found, and a printable summary. */
  failure?: { original: SimulationReport; shrunk: SimulationReport; message: string }
}

type Range = readonly [number, number]

function rangeOf(value: number | Range | undefined, fallback: Range): Range {
  if (value === undefined) return fallback
  return typeof value === 'number' ? [value, value] : value
}

/**
 * Runs `simulate` over seeds and shrinks the first failure. Needs the `fast-check` package
 * (`npm install --save-dev fast-check`); without it, rejects with `DEPENDENCY_MISSING`.
 *
 * @example
 * ```ts
 * import { fuzz } from 'starling/testing'
 *
 * const result = await fuzz({ numRuns: 3, peers: [2, 3], steps: [10, 30] })
 * if (result.failure) console.log(result.failure.message) // seed, sizes, violations, repro line
 * ```
 */
export async function fuzz(options: FuzzOptions = {}): Promise<FuzzResult> {
  const fc = await loadFastCheck()
  const { seeds, numRuns, fcSeed, peers, steps, onReport, ...simulation } = options
  const [peersMin, peersMax] = rangeOf(peers, [2, 8])
  const [stepsMin, stepsMax] = rangeOf(steps, [20, 120])
  let runs = 0
  let original: SimulationReport | undefined
  const run = async (seed: number, peerCount: number, stepCount: number) => {
    runs++
    const report = await simulate({ ...simulation, seed, peers: peerCount, steps: stepCount })
    onReport?.(report)
    return report
  }
  const property = fc.asyncProperty(
    fc.noShrink(fc.integer({ min: 0, max: 0x7fffffff })),
    fc.integer({ min: peersMin, max: peersMax }),
    fc.integer({ min: stepsMin, max: stepsMax }),
    async (seed, peerCount, stepCount) => {
      const report = await run(seed, peerCount, stepCount)
      if (report.violations.length === 0) return true
      original ??= report
      return false
    },
  )
  const chosenSeed = fcSeed ?? seedFromEnv()
  // Explicit seeds run as fast-check examples (which it also shrinks), at the largest sizes.
  const examples = (seeds ?? []).map((seed): [number, number, number] => [seed, peersMax, stepsMax])
  const details = await fc.check(property, {
    seed: chosenSeed,
    numRuns: seeds === undefined ? (numRuns ?? 50) : examples.length,
    examples,
  })
  const counterexample = details.counterexample
  if (!details.failed || counterexample === null || original === undefined)
    return { runs, fcSeed: chosenSeed }
  const [seed, peerCount, stepCount] = counterexample
  const shrunk = await run(seed, peerCount, stepCount)
  const message =
    `simulate failed for seed ${seed} with ${peerCount} peers and ${stepCount} steps ` +
    `(shrunk from ${original.peers} peers and ${original.steps} steps; fast-check seed ` +
    `${chosenSeed})\n${summarize(shrunk, 10)}`
  return { runs, fcSeed: chosenSeed, failure: { original, shrunk, message } }
}
