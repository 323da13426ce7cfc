/**
 * `starling demo` (`npm start`): a real demonstration of sync on disk. Three stores in
 * `<dir>/{alpha,beta,gamma}` (wiped at start) sync through the in-memory transport, every pair
 * linked. alpha types the automerge-paper editing trace (259,778 edits) into `notes/paper`; gamma
 * goes offline for the middle of it and catches up when it reconnects; beta and gamma write the same
 * `settings/*` keys concurrently, so conflicts are resolved by HLC. Progress and sync status are
 * drawn live on a terminal (plain periodic lines elsewhere). At the end the three peers must hold
 * the trace's final text, the same settings and the same state vectors: exit code 0 when they do,
 * 1 otherwise.
 *
 * The trace ships with the package (`test/data/editing-traces/automerge-paper.json.gz`), so the
 * demo runs from a checkout and from an installed package alike.
 */
import { resolve } from 'node:path'
import {
  flagOption,
  intOption,
  parseArgs,
  UsageError,
  valueOption,
  type CliIo,
} from '../../cli/args.js'
import { formatTable } from '../../cli/format.js'
import { openCluster, wipeDemoDirs, type DemoCluster } from './cluster.js'
import { createScenarioState, runScenario, snapshotOf, type ScenarioState } from './run.js'
import { loadDemoTrace, type DemoTrace } from './trace.js'
import { figureRows, settle, verifyConvergence, type Check, type Settled } from './verify.js'
import { createDemoView, type DemoView, type ViewMode } from './view.js'

/** Longest wait for the peers to converge after typing ended. */
const SETTLE_TIMEOUT_MS = 60_000

/** Turns at least (so that gamma's offline window spans several turns with a short prefix). */
const TURNS_MIN = 20

interface DemoOptions {
  dir: string
  edits: number | undefined
  batch: number | undefined
  quiet: boolean
}

function parseOptions(argv: readonly string[]): DemoOptions {
  const args = parseArgs(argv, { dir: 'value', edits: 'value', batch: 'value', quiet: 'flag' })
  if (args.positionals.length > 0)
    throw new UsageError(`unexpected argument ${args.positionals[0]}`)
  const given = (name: string, max: number): number | undefined =>
    args.options.has(name) ? intOption(args, name, 1, 1, max) : undefined
  return {
    dir: resolve(valueOption(args, 'dir', 'starling-demo')),
    edits: given('edits', Number.MAX_SAFE_INTEGER),
    batch: given('batch', 1_000_000),
    quiet: flagOption(args, 'quiet'),
  }
}

/** Runs `starling demo`; resolves the exit code. */
export async function runSyncDemo(argv: readonly string[], io: CliIo): Promise<number> {
  const options = parseOptions(argv)
  const trace = loadDemoTrace(options.edits)
  const edits = trace.edits
  const batch = options.batch ?? Math.max(1, Math.min(1000, Math.floor(edits / TURNS_MIN)))
  const mode: ViewMode = options.quiet ? 'quiet' : io.isTTY ? 'live' : 'lines'
  io.out(
    `Starling sync demo: ${options.dir}/{alpha,beta,gamma}\n` +
      `  alpha types ${edits.toLocaleString('en-US')} edits of ${trace.name} into notes/paper, ` +
      `${batch.toLocaleString('en-US')} per turn;\n  gamma goes offline for the middle third; ` +
      'beta and gamma write settings/* concurrently\n',
  )
  await wipeDemoDirs(options.dir)
  const cluster = await openCluster(options.dir)
  const view = createDemoView(io, mode, process.stdout.columns)
  try {
    return await demonstrate(cluster, view, io, { trace, batch })
  } finally {
    await cluster.close()
  }
}

async function demonstrate(
  cluster: DemoCluster,
  view: DemoView,
  io: CliIo,
  { trace, batch }: { trace: DemoTrace; batch: number },
): Promise<number> {
  const state = createScenarioState(cluster, view)
  const snapshot = (): ReturnType<typeof snapshotOf> => snapshotOf(cluster, state, trace.edits)
  const ticker = setInterval(() => view.update(snapshot()), 100)
  let settled: Settled
  try {
    await runScenario(cluster, state, view, {
      edits: trace.edits,
      batch,
      offlineFrom: 1 / 3,
      offlineTo: 2 / 3,
      settingsEvery: 8,
      typeTxns: (text, from, to) => trace.typeTxns(text, from, to),
    })
    view.event(
      `alpha typed everything in ${((performance.now() - state.startedMs) / 1000).toFixed(1)} s; ` +
        'waiting for every peer to acknowledge every log',
    )
    settled = await settle(cluster, SETTLE_TIMEOUT_MS)
  } finally {
    clearInterval(ticker)
  }
  view.stop(snapshot())
  const totalMs = performance.now() - state.startedMs
  const checks = await verifyConvergence(cluster, trace.expected())
  return report(io, cluster, state, checks, settled, { batch, totalMs })
}

function report(
  io: CliIo,
  cluster: DemoCluster,
  state: ScenarioState,
  checks: Check[],
  settled: Settled,
  { batch, totalMs }: { batch: number; totalMs: number },
): number {
  const errors = cluster.errors
  const ok = settled.ok && checks.every((check) => check.ok)
  io.out('\nVerification\n')
  io.out(
    formatTable([
      ...checks.map((check) => [check.name, check.ok ? 'ok' : 'FAILED', check.detail]),
      [
        'settled',
        settled.ok ? 'ok' : 'FAILED',
        settled.ok
          ? `every log acknowledged by both other peers ${Math.round(settled.ms)} ms after typing ended`
          : (settled.reason ?? 'not settled'),
      ],
    ]) + '\n',
  )
  io.out('\nFigures\n')
  io.out(formatTable(figureRows(cluster, state, batch, totalMs)) + '\n')
  if (errors.length > 0) io.out(`\nErrors reported by the nodes:\n  ${errors.join('\n  ')}\n`)
  io.out(
    ok
      ? '\nOK: converged — alpha, beta and gamma hold the same note, settings and state vectors\n'
      : '\nFAILED: the peers did not converge (see above)\n',
  )
  return ok ? 0 : 1
}
