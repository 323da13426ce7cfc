/**
 * Where `starling set` takes its value from — the argument, stdin (`-`), a file (`--file`) — run
 * as real processes (through tsx): values larger than the OS lets an argument be, text that is
 * not JSON refused unless `--string`, and a confirmation that never echoes the value.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'

import { createStore } from '../../src/create-store.js'
import { POLICY_LIMITS } from '../../src/policy/limits.js'
import { runCli, runCliWithInput, type CliResult } from '../support/cli.js'

const dirs: string[] = []

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'starling-cli-set-'))
  dirs.push(dir)
  return dir
}

afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
})

function json(result: CliResult): Record<string, unknown> {
  return JSON.parse(result.stdout) as Record<string, unknown>
}

/** What the store in `dir` holds under `key`, read through the API. */
async function stored(dir: string, key: string): Promise<unknown> {
  const store = await createStore({ path: dir })
  try {
    return store.get(key)
  } finally {
    await store.close({ checkpoint: false })
  }
}

/** A JSON object of `bytes` bytes of JSON text (more than one argument can carry). */
function bigJson(bytes: number, seed: string): string {
  const head = `{"seed":"${seed}","text":"`
  const tail = '"}'
  return head + 'x'.repeat(bytes - head.length - tail.length) + tail
}

describe('starling set', () => {
  // Over 1 MB (SI) and just under the store's limit of a register value, 1 MiB of JSON; an
  // argument stops at 128 KiB on Linux.
  const BIG_BYTES = POLICY_LIMITS.valueBytesMax - 512

  it('takes a value of more than 1 MB from stdin and from --file', async () => {
    expect(BIG_BYTES).toBeGreaterThan(1_000_000)
    const dir = join(tempDir(), 'store')
    const fromStdin = bigJson(BIG_BYTES, 'stdin')
    const file = join(tempDir(), 'value.json')
    const fromFile = bigJson(BIG_BYTES, 'file')
    writeFileSync(file, fromFile)
    const viaStdin = await runCliWithInput(fromStdin, 'set', dir, 'big/a', '-', '--json')
    const viaFile = await runCli('set', dir, 'big/b', '--file', file)
    expect(viaStdin).toMatchObject({ code: 0, stderr: '' })
    expect(json(viaStdin)).toEqual({
      key: 'big/a',
      policy: 'lww',
      parsedAs: 'json',
      type: 'object',
      bytes: BIG_BYTES,
      lsn: 1,
    })
    expect(viaFile).toMatchObject({ code: 0, stderr: '' })
    // A short confirmation, not the value.
    expect(viaFile.stdout).toBe(
      `set big/b: a JSON object, ${BIG_BYTES} bytes (lww; LSN 2; durable)\n`,
    )
    expect(await stored(dir, 'big/a')).toEqual(JSON.parse(fromStdin))
    expect(await stored(dir, 'big/b')).toEqual(JSON.parse(fromFile))
  })

  it('refuses a value over the store limit with its typed error, writing nothing', async () => {
    const dir = join(tempDir(), 'store')
    const file = join(tempDir(), 'huge.json')
    writeFileSync(file, bigJson(POLICY_LIMITS.valueBytesMax + 1024, 'huge'))
    const result = await runCli('set', dir, 'huge', '--file', file, '--json')
    expect(result.code).toBe(1)
    expect(json(result)['error']).toMatchObject({ code: 'INVALID_ARGUMENT' })
    expect(await stored(dir, 'huge')).toBeUndefined()
  })

  it('refuses text that is not JSON, naming the problem, unless --string', async () => {
    const dir = join(tempDir(), 'store')
    const file = join(tempDir(), 'notes.txt')
    writeFileSync(file, 'line one\nline two\n')
    const [argument, stdin, fromFile] = [
      await runCli('set', dir, 'k', 'hello world'),
      await runCliWithInput('{"a":1', 'set', dir, 'k', '-', '--json'),
      await runCli('set', dir, 'k', '--file', file, '--json'),
    ]
    expect(argument).toMatchObject({ code: 2, stdout: '' })
    expect(argument.stderr).toMatch(
      /^starling: the value is not valid JSON \(.+\); to store the text as a string, pass --string/,
    )
    for (const result of [stdin, fromFile]) {
      expect(result).toMatchObject({ code: 2, stderr: '' })
      expect(json(result)['error']).toMatchObject({ code: 'VALUE_NOT_JSON' })
    }
    // Nothing was written, and no store was created by the refused writes.
    const [missing, asString, asStringFile] = [
      await runCli('get', dir, 'k'),
      await runCliWithInput('hello\n', 'set', dir, 'k', '-', '--string', '--json'),
      await runCli('set', dir, 'notes', '--file', file, '--string'),
    ]
    expect(missing.stderr).toBe(`starling: ${dir}: no such directory\n`)
    expect(json(asString)).toMatchObject({ parsedAs: 'string', type: 'string', bytes: 6 })
    expect(asStringFile.stdout).toMatch(/^set notes: text taken as a string, 18 bytes/)
    expect(await stored(dir, 'k')).toBe('hello\n') // the raw text, newline included
    expect(await stored(dir, 'notes')).toBe('line one\nline two\n')
  })

  it('rejects a value given twice, no value, an unreadable file and bytes that are not UTF-8', async () => {
    const dir = join(tempDir(), 'store')
    const missing = join(tempDir(), 'missing.json')
    const [twice, none, noFile, notUtf8] = [
      await runCli('set', dir, 'k', '1', '--file', missing, '--json'),
      await runCli('set', dir, 'k', '--json'),
      await runCli('set', dir, 'k', '--file', missing, '--json'),
      await runCliWithInput(new Uint8Array([0x22, 0xff, 0x22]), 'set', dir, 'k', '-', '--json'),
    ]
    expect(twice.code).toBe(2)
    expect(json(twice)['error']).toMatchObject({ code: 'USAGE' })
    expect(twice.stdout).toMatch(/not both/)
    expect(none.code).toBe(2)
    expect(json(none)['error']).toMatchObject({ code: 'USAGE' })
    expect(none.stdout).toMatch(/needs a value/)
    expect(noFile.code).toBe(1)
    expect(json(noFile)['error']).toMatchObject({
      code: 'FILE_UNREADABLE',
      details: { path: missing, code: 'ENOENT' },
    })
    expect(notUtf8.code).toBe(2)
    expect(json(notUtf8)['error']).toMatchObject({ code: 'VALUE_NOT_UTF8', details: { bytes: 3 } })
  })
})
