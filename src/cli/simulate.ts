/**
 * `starling simulate --replay '<json>' [--policies <module>] [--json]`: replays one run of the
 * deterministic simulator from the `repro` line of its report (docs/testing.md) and prints its
 * summary and digest. Custom resolvers and the run's own `values`, `ops` and `oracle` come from
 * the `--policies` module (its named exports, or those of its default export). Exit codes: 0 when
 * the run held every invariant, 1 when it has violations, 2 for a bad command line (bad JSON, an
 * unknown option, a resolver or function the module does not export); options `simulate` itself
 * refuses (a bad seed) exit with 1 and the error's message.
 */
import { resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import type { ReplayModule } from '../testing/simulator/replay.js'
import {
  CliError,
  expectPositionals,
  flagOption,
  parseArgs,
  UsageError,
  valueOption,
  type CliIo,
} from './args.js'
import { jsonLine } from './format.js'

/** Usage line of `simulate`. */
export const SIMULATE_USAGE = 'starling simulate --replay <json> [--policies <module>] [--json]'

/** Violations printed in the text summary. */
const VIOLATIONS_SHOWN = 50

/** Runs `starling simulate`. */
export async function runSimulate(argv: readonly string[], io: CliIo): Promise<number> {
  const args = parseArgs(argv, { replay: 'value', policies: 'value', json: 'flag' })
  expectPositionals(args, 0, SIMULATE_USAGE)
  const text = valueOption(args, 'replay')
  if (text === undefined)
    throw new UsageError(
      `simulate needs --replay <json> (a report's repro line). ${SIMULATE_USAGE}`,
    )
  const spec = parseSpec(text)
  const modulePath = valueOption(args, 'policies')
  const module = modulePath === undefined ? {} : await loadModule(modulePath)
  // Loaded only when run: the simulator is not needed by any other command.
  const { replayOptions, simulate, summarize } = await import('../testing/index.js')
  const report = await simulate(misuseIsUsage(() => replayOptions(spec, module)))
  if (flagOption(args, 'json')) {
    const { seed, peers, steps, topology, converged, violations, digest, stats } = report
    io.out(jsonLine({ seed, peers, steps, topology, converged, violations, digest, stats }))
  } else {
    io.out(`${summarize(report, VIOLATIONS_SHOWN)}\n  digest: ${report.digest || '(none)'}\n`)
  }
  return report.violations.length === 0 ? 0 : 1
}

function parseSpec(text: string): unknown {
  try {
    return JSON.parse(text) as unknown
  } catch (error) {
    throw new UsageError(`--replay is not valid JSON: ${(error as Error).message}`)
  }
}

/** The replay exports of the module at `path` (relative to the working directory). */
async function loadModule(path: string): Promise<ReplayModule> {
  let loaded: Record<string, unknown>
  try {
    loaded = (await import(pathToFileURL(resolve(path)).href)) as Record<string, unknown>
  } catch (error) {
    throw new CliError(`cannot load the --policies module ${path}: ${String(error)}`)
  }
  const fallback = loaded['default']
  const base = typeof fallback === 'object' && fallback !== null ? fallback : {}
  const module: Record<string, unknown> = { ...base }
  for (const name of ['policies', 'values', 'ops', 'oracle'])
    if (loaded[name] !== undefined) module[name] = loaded[name]
  return module
}

/** Starling's misuse errors (the options do not fit the module) are a bad command line here. */
function misuseIsUsage<T>(run: () => T): T {
  try {
    return run()
  } catch (error) {
    if (error instanceof TypeError && (error as { code?: unknown }).code === 'INVALID_ARGUMENT')
      throw new UsageError(error.message)
    throw error
  }
}
