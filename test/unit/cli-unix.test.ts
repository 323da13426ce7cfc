/**
 * The `starling` CLI as a Unix tool, run as real processes (through tsx): a reader that closes
 * the pipe early (`starling list DIR | head -1`) ends the command quietly, and with `--json` every
 * failure — a bad command line included — is one JSON line `{"error":{code,message,details}}` on
 * stdout with the usual exit code.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import { CLI_ERROR_CODES, CliError, UsageError } from '../../src/cli/cli-errors.js'
import { describeFailure, formatFailure } from '../../src/cli/failure.js'
import { createStore } from '../../src/create-store.js'
import { ERROR_CODES, StarlingError } from '../../src/core/errors.js'
import { ROOT, spawnCli, runCli, type CliResult } from '../support/cli.js'

const dirs: string[] = []

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'starling-cli-unix-'))
  dirs.push(dir)
  return dir
}

afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
})

/** What a run whose reader closed stdout after the first chunk left behind. */
interface EarlyCloseResult {
  code: number | null
  signal: NodeJS.Signals | null
  firstChunk: string
  stderr: string
}

/**
 * Runs `starling <args…>`, reads the first chunk of its stdout and then closes the reading end of
 * the pipe, as `| head -1` does: the command's further writes fail with EPIPE.
 */
function runAndCloseEarly(...args: string[]): Promise<EarlyCloseResult> {
  return new Promise((resolve, reject) => {
    const child = spawnCli(args)
    let firstChunk: string | undefined
    let stderr = ''
    child.stdin.end()
    child.stdout.setEncoding('utf8').once('data', (chunk: string) => {
      firstChunk = chunk
      child.stdout.destroy()
    })
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk))
    child.on('error', reject)
    child.on('close', (code, signal) =>
      resolve({ code, signal, firstChunk: firstChunk ?? '', stderr }),
    )
  })
}

/** The `error` object of a `--json` failure, after checking its shape. */
function jsonError(result: CliResult): { code: string; message: string; details: object } {
  expect(result.stdout.endsWith('\n')).toBe(true)
  expect(result.stdout.trimEnd().split('\n')).toHaveLength(1) // one line, nothing else
  const parsed = JSON.parse(result.stdout) as { error: Record<string, unknown> }
  expect(Object.keys(parsed)).toEqual(['error'])
  expect(Object.keys(parsed.error)).toEqual(['code', 'message', 'details'])
  const { code, message, details } = parsed.error as {
    code: string
    message: string
    details: object
  }
  expect(typeof message).toBe('string')
  expect(message.length).toBeGreaterThan(0)
  expect(typeof details).toBe('object')
  return { code, message, details }
}

describe('starling with a reader that closes stdout early', () => {
  let store: string

  beforeAll(async () => {
    // Output far beyond a pipe's buffer (64 KiB), so the writes after the close fail.
    store = join(tempDir(), 'store')
    const s = await createStore({ path: store })
    await s.transact(() => {
      for (let i = 0; i < 4000; i++) void s.set(`k/${'x'.repeat(250)}/${i}`, i)
      void s.set(
        'big',
        Array.from({ length: 100_000 }, (_, i) => i),
      )
    })
    await s.close()
  })

  for (const args of [['list'], ['inspect'], ['list', '--json'], ['get', 'big']] as const) {
    it(`exits quietly: starling ${args[0]} DIR ${args.slice(1).join(' ')}`, async () => {
      const [command, ...rest] = args
      const result = await runAndCloseEarly(command, store, ...rest)
      expect(result.firstChunk.length).toBeGreaterThan(0)
      expect(result.stderr).toBe('') // no EPIPE, no stack trace
      expect(result).toMatchObject({ code: 0, signal: null })
    })
  }
})

describe('starling --json failures', () => {
  it('prints a usage error as JSON on stdout with exit code 2, for every command', async () => {
    const dir = tempDir()
    const results = await Promise.all([
      runCli('get', dir, '--json'),
      runCli('set', dir, 'k', '--json'),
      runCli('delete', dir, '--json', '--bogus'),
      runCli('list', dir, dir, '--json'),
      runCli('inspect', '--json'),
      runCli('wal', 'inspect', '--json'),
      runCli('demo', 'wal', '--json', '--run-ms', 'soon'),
      runCli('frobnicate', '--json'),
    ])
    for (const result of results) {
      expect(result).toMatchObject({ code: 2, stderr: '' })
      expect(jsonError(result).code).toBe('USAGE')
    }
    expect(jsonError(results[2]).message).toBe('unknown option --bogus')
    expect(jsonError(results[6]).message).toContain('--run-ms must be an integer')
  })

  it('prints a failed command as JSON on stdout with exit code 1, with its details', async () => {
    const empty = tempDir()
    const notAStore = tempDir()
    writeFileSync(join(notAStore, 'notes.txt'), 'hello')
    const missing = join(empty, 'missing')
    const store = join(tempDir(), 'store')
    await (await createStore({ path: store })).close()
    const [get, list, del, inspect, walInspect] = await Promise.all([
      runCli('get', missing, 'k', '--json'),
      runCli('list', notAStore, '--json'),
      runCli('delete', store, 'nothing/here', '--json'),
      runCli('inspect', missing, '--json'),
      runCli('wal', 'inspect', missing, '--json'),
    ])
    for (const result of [get, list, del, inspect, walInspect])
      expect(result).toMatchObject({ code: 1, stderr: '' })
    expect(jsonError(get)).toEqual({
      code: 'NO_SUCH_DIRECTORY',
      message: `${missing}: no such directory`,
      details: { dir: missing },
    })
    expect(jsonError(list)).toMatchObject({ code: 'NOT_A_STORE', details: { dir: notAStore } })
    expect(jsonError(del)).toMatchObject({
      code: 'NO_SUCH_KEY',
      details: { key: 'nothing/here', dir: store },
    })
    expect(jsonError(inspect).code).toBe('NO_SUCH_DIRECTORY')
    expect(jsonError(walInspect)).toMatchObject({
      code: 'NO_SUCH_DIRECTORY',
      details: { dir: missing },
    })
  })

  it("keeps a library error's code and details: a store held by another process", async () => {
    const dir = tempDir()
    const store = await createStore({ path: dir })
    try {
      const [json, text] = await Promise.all([
        runCli('get', dir, 'k', '--json'),
        runCli('get', dir, 'k'),
      ])
      expect(json).toMatchObject({ code: 1, stderr: '' })
      const error = jsonError(json)
      expect(error).toMatchObject({ code: 'STORE_LOCKED', details: { dir, pid: process.pid } })
      expect(error.message).toContain(`starling inspect ${dir}`)
      expect(text).toMatchObject({ code: 1, stdout: '' })
      expect(text.stderr).toBe(`starling: ${error.message} (STORE_LOCKED)\n`)
    } finally {
      await store.close()
    }
  })

  it('prints text without --json, and takes --json after -- as a value', async () => {
    const dir = tempDir()
    const [usage, value] = await Promise.all([
      runCli('get', dir),
      runCli('set', join(dir, 'store'), 'k', '--', '--json'),
    ])
    expect(usage).toMatchObject({ code: 2, stdout: '' })
    expect(usage.stderr).toMatch(/^starling: expected 2 argument\(s\), got 1\. Usage: .+\n/)
    // `--json` after `--` is the value (not JSON, so refused), and the error is text.
    expect(value).toMatchObject({ code: 2, stdout: '' })
    expect(value.stderr).toMatch(/^starling: the value is not valid JSON/)
  })

  it('describes every failure with a code, a message and details', () => {
    expect(describeFailure(new CliError('it broke'))).toMatchObject({
      kind: 'cli',
      code: 'FAILED',
      message: 'it broke',
      details: {},
      exitCode: 1,
    })
    expect(describeFailure(new UsageError('bad'))).toMatchObject({ code: 'USAGE', exitCode: 2 })
    const locked = new StarlingError('STORE_LOCKED', 'held', { dir: '/d', pid: 7 })
    expect(describeFailure(locked)).toEqual({
      kind: 'library',
      code: 'STORE_LOCKED',
      message: 'held',
      details: { dir: '/d', pid: 7 },
      exitCode: 1,
    })
    expect(formatFailure(describeFailure(locked))).toBe('starling: held (STORE_LOCKED)\n')
    const bug = describeFailure(new RangeError('oops'))
    expect(bug).toMatchObject({ kind: 'internal', code: 'INTERNAL', message: 'oops', exitCode: 1 })
    expect(bug.stack).toMatch(/^RangeError: oops\n\s+at /)
  })

  it('has codes that never collide with the library codes, each documented in the README', () => {
    for (const code of Object.keys(CLI_ERROR_CODES)) expect(ERROR_CODES).not.toHaveProperty(code)
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8')
    const documented = [...readme.matchAll(/^\| `([A-Z_0-9]+)` \| [12] \|/gm)].map((m) => m[1])
    expect(documented.sort()).toEqual(Object.keys(CLI_ERROR_CODES).sort())
  })
})
