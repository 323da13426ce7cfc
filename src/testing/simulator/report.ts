/**
 * Reproduction lines and summaries of simulation reports. A run is replayed from its options; the
 * JSON-serializable ones go into the `STARLING_SIM` variable read by
 * `test/simulator/replay.test.ts`. Options that are functions (a custom operation generator,
 * value generator or policy table) cannot travel in a command line: the line says so, and such
 * runs are replayed by calling `simulate` with the same options (same seed → same run).
 */
import type { SimulationOptions, SimulationReport } from './types.js'

/** The replay test that reads `STARLING_SIM`. */
export const REPLAY_TEST = 'test/simulator/replay.test.ts'

/** The options of a run that a command line can carry. */
export function replayableOptions(options: SimulationOptions): Record<string, unknown> {
  const { seed, peers, steps, topology, faults, limits, unsafe, store, livenessBudgetMs } = options
  const replayable: Record<string, unknown> = { seed, peers, steps }
  const extra = { topology, faults, limits, unsafe, store, livenessBudgetMs }
  for (const [name, value] of Object.entries(extra))
    if (value !== undefined) replayable[name] = value
  if (options.ops !== undefined && typeof options.ops !== 'function')
    replayable['ops'] = options.ops
  return replayable
}

/** The one-line command replaying a run of `simulate(options)`. */
export function reproCommand(options: SimulationOptions): string {
  const json = JSON.stringify(replayableOptions(options))
  const custom = [
    typeof options.ops === 'function' ? 'ops' : undefined,
    options.values !== undefined ? 'values' : undefined,
    options.policies !== undefined ? 'policies' : undefined,
    options.keys !== undefined ? 'keys' : undefined,
  ].filter((name) => name !== undefined)
  const note =
    custom.length === 0 ? '' : ` # plus your ${custom.join(', ')}: call simulate() with them`
  return `STARLING_SIM='${json}' npx vitest run ${REPLAY_TEST}${note}`
}

/** A few lines describing a report: outcome, counters, the first violations, the repro line. */
export function summarize(report: SimulationReport, violationsMax = 5): string {
  const { stats } = report
  const head =
    `seed ${report.seed}: ${report.peers} peers (${report.topology}), ${report.steps} steps, ` +
    `${report.converged ? 'converged' : 'NOT converged'}, ${report.violations.length} violation(s); ` +
    `${stats.ops} ops, ${stats.ackedWrites} acked writes, ${stats.crashes} crashes, ` +
    `${stats.partitions} partitions, ${stats.messages} messages (${stats.dropped} dropped, ` +
    `${stats.duplicated} duplicated), ${stats.virtualMs} virtual ms`
  const shown = report.violations.slice(0, violationsMax).map((v) => `  - ${v}`)
  const more = report.violations.length - shown.length
  if (more > 0) shown.push(`  … and ${more} more`)
  return [head, ...shown, `  repro: ${report.repro}`].join('\n')
}
