/**
 * The benchmark runner: `npm run bench -- <name> [more names]`.
 *
 * Runs the named modules in order, each printing one JSON line per result on stdout (docs/testing.md).
 * Without a name it lists the available benchmarks; an unknown name exits with status 2. Scratch
 * data lives in a temporary directory (under `STARLING_BENCH_TMP`, else `os.tmpdir()`) that is
 * deleted at the end, also on Ctrl-C.
 */
import { rmSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createBenchContext, type BenchModule } from './context.js'
import { say } from './report.js'

/** Every benchmark module by name, loaded on demand. */
export const BENCHES: Record<string, () => Promise<BenchModule>> = {
  wal: () => import('./wal.js'),
  store: () => import('./store.js'),
  sync: () => import('./sync.js'),
  ship: () => import('./ship.js'),
  'ship-store': () => import('./ship-store.js'),
}

/** Runs the benchmarks named in `names`; resolves the process exit status. */
export async function runBenches(names: readonly string[]): Promise<number> {
  if (names.length === 0) {
    process.stdout.write(Object.keys(BENCHES).join('\n') + '\n')
    say('usage: npm run bench -- <name> [more names]')
    return 0
  }
  const unknown = names.filter((name) => !Object.hasOwn(BENCHES, name))
  if (unknown.length > 0) {
    say(`unknown benchmark: ${unknown.join(', ')} (available: ${Object.keys(BENCHES).join(', ')})`)
    return 2
  }
  const root = await mkdtemp(join(process.env['STARLING_BENCH_TMP'] ?? tmpdir(), 'starling-bench-'))
  const cleanUp = (): void => rmSync(root, { recursive: true, force: true })
  const onSignal = (): void => {
    cleanUp()
    process.exit(130)
  }
  process.once('SIGINT', onSignal)
  try {
    for (const name of names) await runOne(name, root)
    return 0
  } finally {
    process.off('SIGINT', onSignal)
    await rm(root, { recursive: true, force: true })
  }
}

async function runOne(name: string, root: string): Promise<void> {
  const load = BENCHES[name] as () => Promise<BenchModule>
  const started = performance.now()
  say(`▶ ${name} (scratch: ${root})`)
  await (await load()).run(createBenchContext(join(root, name)))
  say(`✔ ${name} in ${((performance.now() - started) / 1000).toFixed(1)} s`)
}

process.exitCode = await runBenches(process.argv.slice(2))
