/**
 * Simulator speed: operations per second of wall time of `simulate` (src/testing/simulator) with
 * 5 peers and the default faults, against the same runs with faults off, over a few seeds. The
 * simulator is looked up at run time: while it does not exist the line is skipped with a note.
 */
import type { BenchContext } from './context.js'
import { report, say } from './report.js'
import { median, nowMs, roundSignificant } from './stats.js'

/** The part of the simulator's interface this benchmark uses. */
type Simulate = (options: {
  seed: number
  peers: number
  steps: number
  faults?: false
}) => Promise<{
  converged: boolean
  violations: string[]
  repro: string
  stats: { ops: number; virtualMs: number; messages: number }
}>

/** How to measure the simulator. */
export interface SimOptions {
  peers: number
  steps: number
  seeds: readonly number[]
}

interface SimRun {
  opsPerSecond: number
  virtualPerWall: number
  ok: boolean
  repro: string
  firstViolation: string | undefined
}

async function findSimulate(): Promise<Simulate | undefined> {
  const testing = (await import('../src/testing/index.js')) as Record<string, unknown>
  const simulate = testing['simulate']
  return typeof simulate === 'function' ? (simulate as Simulate) : undefined
}

async function timedRun(simulate: Simulate, options: Parameters<Simulate>[0]): Promise<SimRun> {
  const started = nowMs()
  const result = await simulate(options)
  const ms = nowMs() - started
  return {
    opsPerSecond: (result.stats.ops / ms) * 1000,
    virtualPerWall: result.stats.virtualMs / ms,
    ok: result.converged && result.violations.length === 0,
    repro: result.repro,
    firstViolation: result.violations[0],
  }
}

/** Measures and reports simulated operations per second with faults, against no faults. */
export async function benchSimulator(_ctx: BenchContext, options: SimOptions): Promise<void> {
  const simulate = await findSimulate()
  if (simulate === undefined) {
    say('simulator: skipped — src/testing exports no `simulate` yet')
    return
  }
  const { peers, steps } = options
  say(`simulator: ${peers} peers, ${steps} steps, seeds ${options.seeds.join(', ')}`)
  await simulate({ seed: 0, peers, steps: Math.ceil(steps / 4) }) // warm-up
  const faulty: SimRun[] = []
  const clean: SimRun[] = []
  for (const seed of options.seeds) {
    faulty.push(await timedRun(simulate, { seed, peers, steps }))
    clean.push(await timedRun(simulate, { seed, peers, steps, faults: false }))
    const [f, c] = [faulty.at(-1) as SimRun, clean.at(-1) as SimRun]
    say(
      `  seed ${seed}: ${f.opsPerSecond.toFixed(0)} ops/s with faults` +
        `${f.ok ? '' : ' (NOT converged or violations)'}, ${c.opsPerSecond.toFixed(0)} without`,
    )
  }
  const failed = [...faulty, ...clean].filter((run) => !run.ok)
  report({
    bench: 'sync',
    metric: `simulator: simulated ops per wall second, ${peers} peers, default faults`,
    value: median(faulty.map((r) => r.opsPerSecond)),
    unit: 'ops/s',
    baseline: 'the same simulations (same seeds) with faults off',
    baselineValue: median(clean.map((r) => r.opsPerSecond)),
    extra: {
      note:
        `simulate({ seed, peers: ${peers}, steps: ${steps} }) over seeds ${options.seeds.join(' ')}, ` +
        'wall time includes the liveness phase and the oracles; medians over seeds',
      virtualMsPerWallMs: roundSignificant(median(faulty.map((r) => r.virtualPerWall)), 3),
      runsNotConverged: failed.length,
      ...(failed[0] === undefined
        ? {}
        : {
            firstFailure: `${(failed[0].firstViolation ?? 'not converged').slice(0, 300)} — ${failed[0].repro}`,
          }),
    },
  })
}
