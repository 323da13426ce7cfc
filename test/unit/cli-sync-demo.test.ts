/**
 * `starling demo` (the sync demo of `npm start`) as a real child process, on a prefix of the
 * editing trace so it stays short: three on-disk stores converge, gamma catches up after being
 * offline, and the demo says so with exit code 0. Also: its command-line errors, and that the
 * crash demo of the log is still reachable as `starling demo wal`.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { runCli } from '../support/cli.js'
import { tempDir } from '../support/tmp.js'

describe('starling demo (sync)', () => {
  it('types a prefix of the trace on alpha; alpha, beta and gamma converge on disk', async () => {
    const dir = tempDir()
    // Something else in the demo directory survives; only alpha, beta and gamma are wiped.
    writeFileSync(join(dir, 'keep.txt'), 'mine')
    mkdirSync(join(dir, 'gamma'))
    writeFileSync(join(dir, 'gamma', 'stale'), 'from an earlier run')
    const result = await runCli('demo', '--dir', dir, '--edits', '6000', '--batch', '200')
    expect(result.code, result.stdout + result.stderr).toBe(0)
    expect(result.stdout).toContain(
      'OK: converged — alpha, beta and gamma hold the same note, settings and state vectors',
    )
    expect(result.stdout).toMatch(/notes\/paper +ok +equal on alpha, beta and gamma/)
    expect(result.stdout).toMatch(/settings\/\* +ok +3 keys/)
    expect(result.stdout).toMatch(/state vectors +ok/)
    expect(result.stdout).toContain('gamma goes offline at edit 2,000')
    expect(result.stdout).toMatch(/gamma caught up: \d+ KiB received in \d+ ms/)
    expect(result.stdout).toMatch(/catch-up \(gamma\) +\d[\d,]* KiB received in [\d,]+ ms/)
    expect(result.stdout).toMatch(/edits +6,000 typed on alpha in 30 turns of 200/)
    expect(result.stdout).not.toContain('Errors reported')
    // Not a terminal: progress comes as plain lines, never cursor movements.
    expect(result.stdout).toMatch(/typed [\d,]+\/6,000/)
    expect(result.stdout).not.toContain('\x1b[')
    for (const name of ['alpha', 'beta', 'gamma'])
      expect(existsSync(join(dir, name, 'wal'))).toBe(true)
    expect(existsSync(join(dir, 'keep.txt'))).toBe(true)
    expect(existsSync(join(dir, 'gamma', 'stale'))).toBe(false)
  })

  it('prints only the verification with --quiet, and rejects bad options with exit code 2', async () => {
    const [quiet, ...bad] = await Promise.all([
      runCli('demo', 'sync', '--dir', tempDir(), '--edits', '1200', '--quiet'),
      runCli('demo', '--edits', 'many'),
      runCli('demo', '--edits', '999999999'),
      runCli('demo', 'sideways'),
    ])
    expect(quiet?.code, (quiet?.stdout ?? '') + (quiet?.stderr ?? '')).toBe(0)
    expect(quiet?.stdout).toContain('OK: converged')
    expect(quiet?.stdout).not.toMatch(/typed [\d,]+\/1,200/)
    for (const result of bad) {
      expect(result.code).toBe(2)
      expect(result.stderr).toMatch(/^starling: .+\nRun 'starling help' for usage\.\n$/)
    }
    expect(bad[1]?.stderr).toContain('--edits must be at most 259778')
  })

  it('keeps the crash demo of the log as `starling demo wal`', async () => {
    const result = await runCli('demo', 'wal', '--dir', join(tempDir(), 'wal'), '--run-ms', '300')
    expect(result.code, result.stderr).toBe(0)
    expect(result.stdout).toContain('OK: zero acknowledged records lost')
  })
})
