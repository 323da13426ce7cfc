/**
 * `starling simulate --replay`: the repro line a report prints, run as printed (through a shell,
 * `npx starling` standing for the CLI from the sources), replays the run — the same digest, the
 * same violations, exit 0 for a run that held and 1 for one that did not — with custom resolvers
 * and the run's own functions taken from a `--policies` module. A repro that needs a module says
 * what it must export, and bad input is a usage error (exit 2).
 */
import { spawn } from 'node:child_process'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { seedFromEnv } from '../../src/core/random.js'
import { lww } from '../../src/index.js'
import { simulate, type SimulationOptions } from '../../src/testing/index.js'
import * as fixture from '../simulator/replay-fixture.js'
import { CLI_MAIN, ROOT, runCli, type CliResult } from '../support/cli.js'
import { reproCommand } from '../support/property.js'

const SEED = seedFromEnv()
const REPRO = reproCommand(import.meta.url, SEED)
const MODULE = join(ROOT, 'test/simulator/replay-fixture.ts')
const TIMEOUT = { timeout: 240_000 }

/** Runs a repro line in a shell: `npx starling` is the CLI from the sources, `<module>` the fixture. */
function runLine(line: string, module = MODULE): Promise<CliResult> {
  const command = line
    .replace('npx starling', `'${process.execPath}' --import tsx '${CLI_MAIN}'`)
    .replace('<module>', `'${module}'`)
  return new Promise((resolve, reject) => {
    const child = spawn('sh', ['-c', command], { cwd: ROOT })
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk))
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk))
    child.on('error', reject)
    child.on('close', (code) => resolve({ code, stdout, stderr }))
  })
}

/** The repro line with `--json` added before the module comment. */
function withJson(repro: string): string {
  const [command, comment] = repro.split(' # ')
  return `${command} --json${comment === undefined ? '' : ` # ${comment}`}`
}

// A key with a quote: the line must quote its JSON for the shell.
const KEYS = ['tags/inbox', 'notes/a', "settings/it's"]

function base(extra: Partial<SimulationOptions>): SimulationOptions {
  return { seed: SEED, peers: 3, steps: 40, keys: [...KEYS, 'votes/a'], ...extra }
}

describe('starling simulate --replay', () => {
  it('replays a run with custom resolvers, values, ops and an oracle', TIMEOUT, async () => {
    const { policies, values, ops, oracle } = fixture
    if (oracle === undefined) throw new Error('the fixture has an oracle')
    const tags = { 'tags/*': policies['tags/*'], 'notes/*': policies['notes/*'], '**': lww() }
    const options = base({ policies: tags, values, ops, oracle, keys: KEYS })
    const report = await simulate(options)
    expect(report.violations, REPRO).toEqual([])
    expect(report.repro).toContain(
      '--policies <module> # <module> exports policies (with custom:tag-union), values, ops, oracle',
    )
    const result = await runLine(withJson(report.repro))
    expect(result.code, `${result.stderr}\n${REPRO}`).toBe(0)
    const replayed = JSON.parse(result.stdout) as { digest: string; violations: string[] }
    expect(replayed.digest).toBe(report.digest)
    expect(replayed.digest).not.toBe('')
    expect(replayed.violations).toEqual([])
  })

  it('replays a failing run: the same violations, exit code 1', TIMEOUT, async () => {
    const options = base({ policies: fixture.policies, values: fixture.values })
    const report = await simulate({ ...options, unsafe: { ackBeforeDurable: true } })
    expect(
      report.violations.some((v) => v.startsWith('resolver-impure:')),
      REPRO,
    ).toBe(true)
    const result = await runLine(withJson(report.repro))
    expect(result.code, `${result.stderr}\n${REPRO}`).toBe(1)
    const replayed = JSON.parse(result.stdout) as { digest: string; violations: string[] }
    expect(replayed.violations).toEqual(report.violations)
    expect(replayed.digest).toBe(report.digest)
  })

  it('prints the summary and digest of a run with the default policies', TIMEOUT, async () => {
    const report = await simulate({ seed: SEED, peers: 2, steps: 20 })
    expect(report.repro).not.toContain('--policies')
    const result = await runLine(report.repro)
    expect(result.code, `${result.stderr}\n${REPRO}`).toBe(0)
    expect(result.stdout).toContain(
      `seed ${SEED}: 2 peers (mesh), 20 steps, converged, 0 violation(s)`,
    )
    expect(result.stdout).toContain(`digest: ${report.digest}`)
  })

  it('says what a run needs, and refuses bad input with exit code 2', async () => {
    const options = base({ policies: fixture.policies, values: fixture.values })
    const repro = (await simulate({ ...options, steps: 0 })).repro
    const [command] = repro.split(' --policies ')
    const results = await Promise.all([
      runLine(command ?? ''),
      runLine(repro, join(ROOT, 'test/simulator/support.ts')),
      runCli('simulate'),
      runCli('simulate', '--replay', '{"seed":1,'),
      runCli('simulate', '--replay', '{"seed":1,"peers":2,"steps":1,"colour":"red"}'),
    ])
    for (const result of results) expect(result.code, result.stderr).toBe(2)
    expect(results[0]?.stderr).toContain('custom:tag-union')
    expect(results[1]?.stderr).toContain('custom:tag-union')
    expect(results[2]?.stderr).toContain('--replay')
    expect(results[3]?.stderr).toContain('not valid JSON')
    expect(results[4]?.stderr).toContain('colour')
  })
})
