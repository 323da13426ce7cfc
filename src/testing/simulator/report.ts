/**
 * Reproduction lines and summaries of simulation reports. A run is replayed from its options:
 * `npx starling simulate --replay '<json>'` (see `replay.ts`), which works from an installed
 * package. The JSON names custom resolvers by id and the function options by name; the line says
 * which a `--policies` module must export.
 */
import { customPolicyIds, replayFunctions, replaySpec } from './replay.js'
import type { SimulationOptions, SimulationReport } from './types.js'

/** The command that replays a run. */
export const REPLAY_COMMAND = 'npx starling simulate --replay'

/** `text` as one shell word (single-quoted). */
export function shellQuote(text: string): string {
  return `'${text.replaceAll("'", "'\\''")}'`
}

/**
 * The one-line command replaying a run of `simulate(options)`. When the run used custom
 * resolvers or function options, it ends with `--policies <module>` and a comment naming what
 * the module must export.
 */
export function reproCommand(options: SimulationOptions): string {
  const command = `${REPLAY_COMMAND} ${shellQuote(JSON.stringify(replaySpec(options)))}`
  const customs = customPolicyIds(options)
  const functions = replayFunctions(options)
  if (customs.length === 0 && functions.length === 0) return command
  const exports = [
    ...(customs.length > 0 ? [`policies (with ${customs.join(', ')})`] : []),
    ...functions,
  ]
  return `${command} --policies <module> # <module> exports ${exports.join(', ')}`
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
