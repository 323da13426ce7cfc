/**
 * The `starling` command line, run as a real process (through tsx): help, usage errors, `wal
 * inspect` on logs this test writes (clean, torn, corrupt) and the crash demo.
 */
import {
  appendFileSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'

import { createAckParser, type AckMessage } from '../../src/demo/wal/ack-channel.js'
import { parseArgs } from '../../src/cli/args.js'
import { decodeProbe, encodeProbe } from '../../src/demo/wal/probe-payload.js'
import { openWal } from '../../src/wal/index.js'
import { runCli } from '../support/cli.js'

const dirs: string[] = []

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'starling-cli-'))
  dirs.push(dir)
  return dir
}

/** A log of `count` records, each appended (and group-committed) on its own. */
async function writeLog(count: number): Promise<string> {
  const dir = tempDir()
  const wal = await openWal(dir)
  for (let i = 0; i < count; i++) await wal.append(new TextEncoder().encode(`record ${i}`))
  await wal.close()
  return dir
}

afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
})

describe('starling CLI', () => {
  it('prints help with exit code 0', async () => {
    const result = await runCli('help')
    expect(result.code).toBe(0)
    expect(result.stdout).toContain('starling demo')
    expect(result.stdout).toContain('starling wal inspect <dir>')
  })

  it('rejects unknown commands, options and missing arguments with exit code 2', async () => {
    const results = await Promise.all([
      runCli('frobnicate'),
      runCli(),
      runCli('wal', 'inspect'),
      runCli('wal', 'shred', '/tmp'),
      runCli('demo', '--bogus'),
      runCli('demo', 'wal', '--run-ms', 'soon'),
    ])
    for (const result of results) {
      expect(result.code).toBe(2)
      expect(result.stderr).toMatch(/^starling: .+\nRun 'starling help' for usage\.\n$/)
    }
    expect(results[0]?.stderr).toContain('unknown command frobnicate')
    expect(results[4]?.stderr).toContain('unknown option --bogus')
  })

  it('inspects a clean log, a torn tail and a corrupt segment', async () => {
    const clean = await writeLog(10)
    const torn = await writeLog(10)
    const corrupt = await writeLog(10)
    const segment = (dir: string): string =>
      join(dir, readdirSync(dir).find((n) => n.endsWith('.log')) ?? '')
    appendFileSync(segment(torn), new Uint8Array([24, 0, 0, 0, 1, 2, 3]))
    const bytes = readFileSync(segment(corrupt))
    bytes[32 + 24] = (bytes[32 + 24] ?? 0) ^ 0xff // payload of record 1; records 2–10 follow
    writeFileSync(segment(corrupt), bytes)
    const [table, json, tornResult, corruptResult, missing] = await Promise.all([
      runCli('wal', 'inspect', clean),
      runCli('wal', 'inspect', clean, '--json'),
      runCli('wal', 'inspect', torn),
      runCli('wal', 'inspect', corrupt),
      runCli('wal', 'inspect', join(clean, 'nope')),
    ])
    expect(table.code).toBe(0)
    expect(table.stdout).toContain('1 segment(s), 10 records, LSN 1-10')
    expect(table.stdout).toMatch(/0000000000000001\.log +\d+ +10 +1-10 +ok/)
    expect(json.code).toBe(0)
    expect(JSON.parse(json.stdout)).toMatchObject({ records: 10, brokenFiles: [] })
    expect(tornResult.code).toBe(0)
    expect(tornResult.stdout).toContain('torn tail at offset')
    expect(corruptResult.code).toBe(1)
    expect(corruptResult.stdout).toContain('CORRUPT at offset 32')
    expect(missing.code).toBe(1)
    expect(missing.stderr).toContain('is not a directory')
  })

  it('runs the crash demo twice on one directory with zero acknowledged records lost', async () => {
    const dir = join(tempDir(), 'wal')
    const first = await runCli('demo', 'wal', '--dir', dir, '--run-ms', '400')
    expect(first.stderr).toBe('')
    expect(first.code).toBe(0)
    expect(first.stdout).toContain('OK: zero acknowledged records lost')
    expect(first.stdout).toMatch(
      /SIGKILL +sent to pid \d+ after [\d.]+ s; [1-9][\d,]* acknowledgements/,
    )
    const second = await runCli('demo', 'wal', '--dir', dir, '--run-ms', '400', '--json')
    expect(second.code).toBe(0)
    const report = JSON.parse(second.stdout) as Record<string, unknown>
    expect(report).toMatchObject({ ok: true, lost: 0, invalid: [] })
    expect(report['baselineLsn']).toBeGreaterThan(0)
    expect(report['present']).toBe(report['acked'])
  })
})

describe('CLI building blocks', () => {
  it('parses flags, values, --name=value and --, and rejects the rest', () => {
    const spec = { dir: 'value', json: 'flag' } as const
    const parsed = parseArgs(['x', '--dir=a', '--json', '--', '--y'], spec)
    expect(parsed.positionals).toEqual(['x', '--y'])
    expect([...parsed.options]).toEqual([
      ['dir', 'a'],
      ['json', true],
    ])
    expect(parseArgs(['--dir', 'b'], spec).options.get('dir')).toBe('b')
    for (const bad of [['--nope'], ['-x'], ['--dir'], ['--json=1']])
      expect(() => parseArgs(bad, spec)).toThrow(/option/)
  })

  it('reports only complete, well-formed protocol lines', () => {
    const messages: AckMessage[] = []
    const garbage: string[] = []
    const feed = createAckParser(
      (m) => messages.push(m),
      (line) => garbage.push(line),
    )
    feed('R 12 0\nA 1 2')
    feed(' 3\nA 1  2\nS 1 2 3 4\nA 5 6')
    expect(messages).toEqual([
      { kind: 'ready', pid: 12, lastLsn: 0 },
      { kind: 'ack', lsn: 1, writer: 2, seq: 3 },
      { kind: 'stats', appends: 1, batches: 2, largestBatch: 3, syncs: 4 },
    ])
    expect(garbage).toEqual(['A 1  2'])
  })

  it('encodes probes deterministically and rejects any changed byte', () => {
    const probe = encodeProbe(7, 3, 41)
    expect(encodeProbe(7, 3, 41)).toEqual(probe)
    expect(decodeProbe(probe)).toEqual({ run: 7, writer: 3, seq: 41 })
    const lengths = new Set<number>()
    for (let seq = 0; seq < 2000; seq++) lengths.add(encodeProbe(1, 0, seq).length)
    expect(lengths.size).toBeGreaterThan(100)
    for (let i = 0; i < probe.length; i++) {
      const damaged = probe.slice()
      damaged[i] = (damaged[i] ?? 0) ^ 0x10
      expect(typeof decodeProbe(damaged)).toBe('string')
    }
    expect(decodeProbe(probe.subarray(0, probe.length - 1))).toMatch(/length|short/)
  })
})
