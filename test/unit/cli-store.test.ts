/**
 * The store commands of the `starling` CLI (`get`, `set`, `delete`, `list`, `inspect`), run as
 * real processes (through tsx) on store directories this test writes: round trips with `--json`
 * and text output, keys under crdt and custom policies, inspection, a store held by this process,
 * a corrupt WAL and bad command lines. Commands on one store run one after another (a store has
 * one process at a time); independent ones run in parallel.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import * as Y from 'yjs'

import { UsageError, type CliIo } from '../../src/cli/args.js'
import { readKey } from '../../src/cli/key-ops.js'
import { parseValue } from '../../src/cli/set-value.js'
import { runDelete, runInspect, runList, runSet } from '../../src/cli/store-commands.js'
import { policyFromId } from '../../src/cli/store-open.js'
import { createStore } from '../../src/create-store.js'
import { crdt, custom, lww, type JsonValue } from '../../src/policy/index.js'
import { runCli, type CliResult } from '../support/cli.js'
import { storeInternalsOf } from '../../src/store/internals.js'

const dirs: string[] = []
const SILENT: CliIo = { out: () => undefined, err: () => undefined, isTTY: false }

/** Runs the commands one after another (they share a store). */
async function runAll<const T extends readonly string[][]>(
  ...commands: T
): Promise<{ [K in keyof T]: CliResult }> {
  const results: CliResult[] = []
  for (const args of commands) results.push(await runCli(...args))
  return results as { [K in keyof T]: CliResult }
}

function json(result: CliResult): Record<string, unknown> {
  return JSON.parse(result.stdout) as Record<string, unknown>
}

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'starling-cli-store-'))
  dirs.push(dir)
  return dir
}

const POLICIES = {
  'notes/*': crdt('text'),
  'boards/*': crdt('map'),
  'votes/*': custom((siblings) => siblings.length, { name: 'count' }),
}

afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
})

describe('starling store commands', () => {
  it('sets, gets, lists and deletes keys, as text and with --json', async () => {
    const dir = tempDir()
    const [setText, setJson, setNegative, getText, getJson, listText, listJson] = await runAll(
      ['set', dir, 'settings/size', '42'],
      ['set', dir, 'settings/name', 'Ada Lovelace', '--string', '--json'],
      ['set', dir, 'offset', '-5', '--json'], // a negative number is a value, not an option
      ['get', dir, 'settings/size'],
      ['get', dir, 'settings/name', '--json'],
      ['list', dir],
      ['list', dir, '--prefix', 'settings/', '--json'],
    )
    expect(setText).toMatchObject({ code: 0, stderr: '' })
    expect(setText.stdout).toBe('set settings/size: a JSON number, 2 bytes (lww; LSN 1; durable)\n')
    expect(json(setJson)).toEqual({
      key: 'settings/name',
      policy: 'lww',
      parsedAs: 'string',
      type: 'string',
      bytes: 12,
      lsn: 2,
    })
    expect(json(setNegative)).toMatchObject({ type: 'number', parsedAs: 'json', lsn: 3 })
    expect(getText).toMatchObject({ code: 0, stdout: '42\n' })
    expect(json(getJson)).toEqual({
      key: 'settings/name',
      policy: 'lww',
      found: true,
      value: 'Ada Lovelace',
    })
    expect(listText.stdout).toMatch(/^3 key\(s\)\n +key +policy\n +offset +lww\n/)
    expect(listText.stdout).toMatch(/settings\/size +lww\n$/)
    expect(JSON.parse(listJson.stdout)).toEqual([
      { key: 'settings/name', policy: 'lww' },
      { key: 'settings/size', policy: 'lww' },
    ])

    const [deleted, again, missingJson] = await runAll(
      ['delete', dir, 'settings/size'],
      ['delete', dir, 'settings/size'],
      ['get', dir, 'settings/size', '--json'],
    )
    expect(deleted).toMatchObject({ code: 0, stdout: 'deleted settings/size (lww; durable)\n' })
    expect(again).toMatchObject({ code: 1, stdout: '' })
    expect(again.stderr).toBe(`starling: settings/size: no such key in ${dir}\n`)
    expect(missingJson.code).toBe(1)
    expect(json(missingJson)).toEqual({ key: 'settings/size', policy: 'lww', found: false })
  })

  it('reads and writes keys under their recorded policies, and inspects the store', async () => {
    const dir = tempDir()
    const store = await createStore({ path: dir, policies: POLICIES })
    await store.set('notes/today', 'line one\nline two')
    await store.set('boards/main', { columns: 3 })
    await store.set('votes/1', 7)
    await store.close()
    const [note, vote, notText, setNote, noteJson, deleted] = await runAll(
      ['get', dir, 'notes/today'],
      ['get', dir, 'votes/1', '--json'],
      ['set', dir, 'notes/today', '42', '--json'], // a text key takes text: a JSON string …
      ['set', dir, 'notes/today', '42', '--string', '--json'], // … or --string
      ['get', dir, 'notes/today', '--json'],
      ['delete', dir, 'votes/1', '--json'],
    )
    expect(note).toMatchObject({ code: 0, stdout: 'line one\nline two\n' })
    expect(json(vote)).toEqual({ key: 'votes/1', policy: 'custom:count', found: true, value: 7 })
    expect(notText.code).toBe(2)
    expect(json(notText)['error']).toMatchObject({
      code: 'USAGE',
      details: { key: 'notes/today', policy: 'crdt:text', type: 'number' },
    })
    expect(json(setNote)).toMatchObject({ policy: 'crdt:text', parsedAs: 'string', bytes: 2 })
    expect(json(noteJson)).toMatchObject({ policy: 'crdt:text', value: '42' })
    expect(json(deleted)).toEqual({ key: 'votes/1', policy: 'custom:count', deleted: true })

    // One more write, logged but not checkpointed: the next open replays it.
    const reopened = await createStore({ path: dir, policies: POLICIES })
    expect(reopened.policyMismatches()).toEqual([])
    await reopened.set('plain', true)
    const { lastLsn } = reopened.stats
    await reopened.close({ checkpoint: false })
    const [inspectJson, inspectText] = await runAll(['inspect', dir, '--json'], ['inspect', dir])
    expect(inspectJson.code).toBe(0)
    const inspection = json(inspectJson)
    expect(inspection).toMatchObject({
      status: 'opened',
      checkpointLsn: lastLsn - 1,
      lastLsn,
      recordsSinceCheckpoint: 1,
      recovery: { replayedRecords: 1, walRecovery: { tornTail: null } },
      wal: { brokenFiles: [] },
    })
    expect(inspection['keys']).toEqual([
      { key: 'boards/main', policy: 'crdt:map', exists: true, problem: null },
      { key: 'notes/today', policy: 'crdt:text', exists: true, problem: null },
      { key: 'plain', policy: 'lww', exists: true, problem: null },
      { key: 'votes/1', policy: 'custom:count', exists: false, problem: null },
    ])
    expect(inspectText.code).toBe(0)
    expect(inspectText.stdout).toContain(`checkpoint LSN ${lastLsn - 1}, last LSN ${lastLsn}`)
    expect(inspectText.stdout).toMatch(/recovery on this open: replayed 1 record\(s\)/)
    expect(inspectText.stdout).toMatch(/0000000000000001\.log +\d+ +\d+ +1-\d+ +ok/)
    expect(inspectText.stdout).toMatch(/notes\/today +crdt:text +exists\n/)
    expect(inspectText.stdout).toMatch(/votes\/1 +custom:count +deleted\n/)
    expect(inspectText.stdout).toContain('policy problems: none')
  })

  it('inspects a fresh store, and refuses a store another process holds', async () => {
    const fresh = tempDir()
    await (await createStore({ path: fresh })).close()
    const held = tempDir()
    const store = await createStore({ path: held })
    try {
      await store.set('k', 1)
      const [freshInspect, get, set, inspect] = await Promise.all([
        runCli('inspect', fresh, '--json'),
        runCli('get', held, 'k'),
        runCli('set', held, 'k', '2'),
        runCli('inspect', held, '--json'),
      ])
      expect(freshInspect.code).toBe(0)
      expect(json(freshInspect)).toMatchObject({
        status: 'opened',
        checkpointLsn: 0,
        lastLsn: 0,
        keys: [],
        recovery: { replayedRecords: 0 },
        wal: { records: 0 },
      })
      for (const result of [get, set]) {
        expect(result.code).toBe(1)
        expect(result.stdout).toBe('')
        expect(result.stderr).toContain(`${held} is in use by process ${process.pid}`)
        expect(result.stderr).not.toMatch(/\n\s+at /) // no stack trace
      }
      expect(inspect.code).toBe(0)
      expect(json(inspect)).toMatchObject({
        status: 'in-use',
        lockPid: process.pid,
        wal: { records: 1 },
        keys: null,
      })
      expect(store.get('k')).toBe(1) // nothing was written
    } finally {
      await store.close()
    }
  })

  it('reports a corrupt WAL with its segment and offset', async () => {
    const dir = tempDir()
    const store = await createStore({ path: dir })
    for (let i = 0; i < 3; i++) await store.set(`k${i}`, i) // one WAL record each
    await store.close({ checkpoint: false })
    const segment = join(dir, 'wal', '0000000000000001.log')
    const bytes = readFileSync(segment)
    bytes[32 + 24] = (bytes[32 + 24] ?? 0) ^ 0xff // payload of the first record; two follow
    writeFileSync(segment, bytes)
    const [get, inspect] = await runAll(['get', dir, 'k1'], ['inspect', dir])
    expect(get.code).toBe(1)
    expect(get.stderr).toMatch(
      /^starling: the write-ahead log of .+ is corrupt \(segment 0000000000000001\.log at offset 32: .+\); nothing was changed/,
    )
    expect(get.stderr).not.toMatch(/\n\s+at /)
    expect(inspect.code).toBe(1)
    expect(inspect.stdout).toContain('not opened: the WAL is corrupt')
    expect(inspect.stdout).toContain('CORRUPT at offset 32')
    expect(readFileSync(segment)).toEqual(bytes) // inspect changed nothing
  })

  it('rejects bad command lines with exit code 2 and missing stores with 1', async () => {
    const empty = tempDir()
    const notAStore = tempDir()
    writeFileSync(join(notAStore, 'notes.txt'), 'hello')
    const [help, ...results] = await Promise.all([
      runCli('help'),
      runCli('get', empty),
      runCli('get', empty, ''),
      runCli('list', empty, '--bogus'),
      runCli('get', join(empty, 'missing'), 'k'),
      runCli('list', notAStore),
      runCli('set', notAStore, 'k', '1'),
    ])
    for (const usage of [
      'get <dir> <key>',
      'set <dir> <key> (<value> | - | --file <path>) [--string]',
      'delete <dir> <key>',
    ])
      expect(help.stdout).toContain(`starling ${usage}`)
    expect(help.stdout).toContain('starling list <dir> [--prefix <p>] [--json]')
    expect(help.stdout).toContain('starling inspect <dir> [--json]')
    expect(results.map((r) => r.code)).toEqual([2, 2, 2, 1, 1, 1])
    for (const result of results.slice(0, 3))
      expect(result.stderr).toMatch(/^starling: .+\nRun 'starling help' for usage\.\n$/)
    expect(results[1]?.stderr).toContain('the key must not be empty')
    expect(results[3]?.stderr).toBe(`starling: ${join(empty, 'missing')}: no such directory\n`)
    expect(results[4]?.stderr).toContain('is not a Starling store')
    expect(results[5]?.stderr).toContain('is neither a Starling store nor empty')
    // More bad command lines, in this process (the exit code 2 of a UsageError is shown above).
    for (const run of [
      () => runSet([empty, 'k'], SILENT),
      () => runList([empty, '--prefix'], SILENT),
      () => runInspect([], SILENT),
      () => runDelete([empty, 'k', 'extra'], SILENT),
    ])
      await expect(run()).rejects.toBeInstanceOf(UsageError)
  })
})

describe('CLI key operations', () => {
  it('parses values as JSON, refuses text that is not JSON, and takes text as is with --string', () => {
    expect(parseValue('42', false)).toEqual({
      value: 42,
      parsedAs: 'json',
      type: 'number',
      bytes: 2,
    })
    expect(parseValue('"42"', false)).toMatchObject({ value: '42', type: 'string', bytes: 4 })
    expect(parseValue('{"a":[1]}', false)).toMatchObject({ value: { a: [1] }, type: 'object' })
    expect(parseValue(' [null]\n', false)).toMatchObject({ value: [null], type: 'array' })
    expect(parseValue('null', false)).toMatchObject({ value: null, type: 'null' })
    expect(parseValue('héllo', true)).toEqual({
      value: 'héllo',
      parsedAs: 'string',
      type: 'string',
      bytes: 6,
    })
    for (const text of ['hello world', '', '{"a":1', "'single'", '42 43']) {
      let error: unknown
      try {
        parseValue(text, false)
      } catch (caught) {
        error = caught
      }
      expect(error).toBeInstanceOf(UsageError)
      expect(error).toMatchObject({ code: 'VALUE_NOT_JSON', details: { bytes: text.length } })
      expect((error as Error).message).toMatch(/^the value is not valid JSON \(.+\); .+--string/)
    }
  })

  it('rebuilds policies from their recorded ids', () => {
    expect(policyFromId('lww')).toBe(lww())
    expect(policyFromId('crdt:json')).toEqual(crdt('json'))
    expect(policyFromId('custom:max-vote')).toMatchObject({ type: 'custom', name: 'max-vote' })
    for (const unknown of ['crdt:tree', 'custom:', 'custom:bad name', 'mvr', ''])
      expect(policyFromId(unknown)).toBeUndefined()
  })

  it('shows the siblings of a custom key with concurrent versions instead of resolving it', async () => {
    const policies = { 'votes/*': custom((siblings) => siblings.length, { name: 'count' }) }
    const [a, b] = await Promise.all([createStore({ policies }), createStore({ policies })])
    try {
      await a.set('votes/1', 'from a')
      await b.set('votes/1', 'from b')
      Y.applyUpdate(
        storeInternalsOf(a).registry.doc,
        Y.encodeStateAsUpdate(storeInternalsOf(b).registry.doc),
      ) // concurrent writes meet
      const reading = await readKey(a, 'votes/1')
      expect(reading).toMatchObject({ policy: 'custom:count', found: true })
      expect(reading.value).toBeUndefined()
      expect(reading.unresolved?.reason).toContain('2 concurrent versions')
      const values = reading.unresolved?.siblings.map((s) => s.value) as JsonValue[]
      expect(values.sort()).toEqual(['from a', 'from b'])
    } finally {
      await Promise.all([a.close(), b.close()])
    }
  })
})
