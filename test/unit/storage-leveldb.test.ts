/**
 * LevelDB adapter behaviour beyond the conformance suite: the directory lock (STORE_LOCKED, also
 * against another process), backend errors surfacing as typed errors instead of "not found",
 * damaged stored bytes, crash residue, compaction, y-leveldb reading Starling's directories and
 * the other way round, argument checks, and that every write is one synced batch (the options
 * the adapter passes, and — observed with `strace` in child processes — the fdatasync calls).
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { ClassicLevel, type DatabaseOptions } from 'classic-level'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { LeveldbPersistence } from 'y-leveldb'
import * as Y from 'yjs'
import {
  createLeveldbStorage,
  META_DOC_NAME,
  type LevelClass,
} from '../../adapters/storage-leveldb/index.js'
import { updateKeyRange, type YKey } from '../../adapters/storage-leveldb/layout.js'
import type { StorageAdapter } from '../../src/store/storage.js'
import { bodyOf, docWith, stateOf } from '../conformance/storage.js'
import { tempDir } from '../support/tmp.js'

/** Databases constructed by {@link TrackedLevel}, newest last. */
const databases: TrackedLevel[] = []
/** Fault switches read by {@link TrackedLevel}. */
const faults = { write: false, read: false }
/** Every call the adapter made to a write method, with its options. */
const writes: { method: string; options: unknown }[] = []
/** Whether `console.warn` was anything but the original while the database was called. */
const seen = { warnReplaced: false }
const ORIGINAL_WARN = console.warn

function injected(): Error {
  return Object.assign(new Error('injected I/O error'), { code: 'LEVEL_IO_ERROR' })
}

/**
 * The adapter's database class: remembered for the test, recording every write with its
 * options, and failing its public reads or writes on demand.
 */
class TrackedLevel extends ClassicLevel<YKey, Uint8Array> {
  constructor(location: string, options?: DatabaseOptions<YKey, Uint8Array>) {
    super(location, options)
    databases.push(this)
    const self = this as unknown as Record<string, (...args: unknown[]) => unknown>
    for (const method of ['put', 'del', 'batch', 'clear', 'get', 'keys', 'values', 'iterator']) {
      const original = self[method]?.bind(this) as (...args: unknown[]) => unknown
      const isWrite = ['put', 'del', 'batch', 'clear'].includes(method)
      self[method] = (...args: unknown[]) => {
        if (console.warn !== ORIGINAL_WARN) seen.warnReplaced = true
        if (isWrite) writes.push({ method, options: method === 'batch' ? args[1] : args.at(-1) })
        if ((isWrite && faults.write) || (!isWrite && faults.read)) throw injected()
        return original(...args)
      }
    }
  }
}

const adapters: StorageAdapter[] = []

async function open(dir = tempDir(), storedUpdatesMax?: number): Promise<StorageAdapter> {
  const options = storedUpdatesMax === undefined ? {} : { storedUpdatesMax }
  const adapter = await createLeveldbStorage(dir, { ...options, Level: TrackedLevel })
  adapters.push(adapter)
  return adapter
}

function lastDb(): TrackedLevel {
  const db = databases[databases.length - 1]
  if (db === undefined) throw new Error('no database opened')
  return db
}

afterEach(async () => {
  faults.write = false
  faults.read = false
  writes.length = 0
  seen.warnReplaced = false
  vi.restoreAllMocks()
  for (const adapter of adapters.splice(0)) await adapter.close().catch(() => undefined)
})

const REPO_ROOT = resolve(import.meta.dirname, '../..')

describe('directory lock', () => {
  it('refuses a second open in this process with STORE_LOCKED until the first closes', async () => {
    const dir = tempDir()
    const first = await open(dir)
    await expect(createLeveldbStorage(dir)).rejects.toMatchObject({
      name: 'StarlingError',
      code: 'STORE_LOCKED',
      details: { dir },
    })
    await first.close()
    const second = await open(dir)
    expect(await second.listDocs()).toEqual([])
  })

  it('refuses an open while another process holds the database, and the other way round', async () => {
    const dir = tempDir()
    const holder = spawn(process.execPath, ['--input-type=module', '-e', HOLD_DATABASE, dir], {
      cwd: REPO_ROOT,
      stdio: ['pipe', 'pipe', 'inherit'],
    })
    try {
      await new Promise<void>((ready, fail) => {
        holder.stdout.once('data', () => ready())
        holder.once('exit', (code) => fail(new Error(`holder exited early (${String(code)})`)))
      })
      await expect(createLeveldbStorage(dir)).rejects.toMatchObject({ code: 'STORE_LOCKED' })
    } finally {
      holder.stdin.end()
      await new Promise((done) => holder.once('exit', done))
    }
    const adapter = await open(dir)
    await adapter.storeDoc('doc', stateOf(docWith('x')))
    const other = execFileSync(process.execPath, ['--input-type=module', '-e', TRY_OPEN, dir], {
      cwd: REPO_ROOT,
      encoding: 'utf8',
    })
    expect(other.trim()).toBe('LEVEL_LOCKED')
  })
})

/** Child program: opens the database given as argument and holds it until stdin closes. */
const HOLD_DATABASE = `
import { ClassicLevel } from 'classic-level'
const db = new ClassicLevel(process.argv[1])
await db.open()
process.stdout.write('ready\\n')
process.stdin.resume()
process.stdin.on('end', async () => { await db.close(); process.exit(0) })
`

/** Child program: tries to open the database given as argument, prints the error code. */
const TRY_OPEN = `
import { ClassicLevel } from 'classic-level'
const db = new ClassicLevel(process.argv[1])
try { await db.open(); console.log('OPENED'); await db.close() }
catch (error) { console.log(error.cause?.code ?? error.code) }
`

describe('backend errors are typed errors, never "not found"', () => {
  it('a failed write rejects with STORAGE_FAILED, quietly, and stores nothing', async () => {
    const adapter = await open()
    const warn = vi.spyOn(console, 'warn')
    faults.write = true
    const failure = adapter.storeDoc('doc', stateOf(docWith('x')))
    await expect(failure).rejects.toMatchObject({
      code: 'STORAGE_FAILED',
      details: { key: 'doc', backendCode: 'LEVEL_IO_ERROR' },
      cause: { message: 'injected I/O error' },
    })
    await expect(adapter.setMeta('m', new Uint8Array(1))).rejects.toMatchObject({
      code: 'STORAGE_FAILED',
    })
    expect(warn).not.toHaveBeenCalled()
    faults.write = false
    expect(await adapter.listDocs()).toEqual([])
    expect(await adapter.getMeta('m')).toBeUndefined()
    await adapter.storeDoc('doc', stateOf(docWith('y')))
    expect(bodyOf(await adapter.loadDoc('doc'))).toBe('y')
  })

  it('a failed read rejects with STORAGE_FAILED, never "not found"', async () => {
    const adapter = await open()
    await adapter.storeDoc('doc', stateOf(docWith('x')))
    await adapter.setMeta('m', new Uint8Array([1]))
    faults.read = true
    const failed = { code: 'STORAGE_FAILED', details: { backendCode: 'LEVEL_IO_ERROR' } }
    await expect(adapter.loadDoc('doc')).rejects.toMatchObject(failed)
    await expect(adapter.loadDoc('missing')).rejects.toMatchObject(failed)
    await expect(adapter.listDocs()).rejects.toMatchObject(failed)
    await expect(adapter.getMeta('m')).rejects.toMatchObject(failed)
    await expect(adapter.storeDoc('doc', stateOf(docWith('y')))).rejects.toMatchObject(failed)
    await expect(adapter.deleteDoc('doc')).rejects.toMatchObject(failed)
    faults.read = false
    expect(bodyOf(await adapter.loadDoc('doc'))).toBe('x')
  })

  it('every method rejects with STORAGE_FAILED when the database was closed underneath', async () => {
    const adapter = await open()
    await adapter.storeDoc('doc', stateOf(docWith('x')))
    await adapter.setMeta('m', new Uint8Array([1]))
    await lastDb().close()
    const calls = [
      adapter.loadDoc('doc'),
      adapter.loadDoc('missing'),
      adapter.storeDoc('doc', stateOf(docWith('y'))),
      adapter.deleteDoc('doc'),
      adapter.listDocs(),
      adapter.getMeta('m'),
      adapter.setMeta('m', new Uint8Array([2])),
    ]
    for (const call of calls) await expect(call).rejects.toMatchObject({ code: 'STORAGE_FAILED' })
    // Closing a closed LevelDB is a no-op, so close() still succeeds.
    await adapter.close()
  })

  it('damaged stored bytes reject with STORAGE_CORRUPTION', async () => {
    const adapter = await open()
    await adapter.storeDoc('doc', stateOf(docWith('x')))
    await adapter.setMeta('m', new Uint8Array([1]))
    const db = lastDb()
    await db.put(['v1', 'doc', 'update', 1], new TextEncoder().encode('not a yjs update'))
    await db.put(['v1', META_DOC_NAME, 'meta', 'm'], new Uint8Array([255]))
    await db.put(['v1', META_DOC_NAME, 'meta', 'text'], new Uint8Array([119, 1, 65]))
    await expect(adapter.loadDoc('doc')).rejects.toMatchObject({ code: 'STORAGE_CORRUPTION' })
    await expect(adapter.getMeta('m')).rejects.toMatchObject({ code: 'STORAGE_CORRUPTION' })
    await expect(adapter.getMeta('text')).rejects.toMatchObject({ code: 'STORAGE_CORRUPTION' })
  })
})

describe('storage layout', () => {
  it('ignores, then clears, what a crash inside a delete leaves behind', async () => {
    const adapter = await open()
    await adapter.storeDoc('doc', stateOf(docWith('old')))
    // clearDocument deletes the state-vector record first, then the updates: crash in between.
    await lastDb().del(['v1_sv', 'doc'])
    expect(await adapter.listDocs()).toEqual([])
    expect(await adapter.loadDoc('doc')).toBeUndefined()
    await adapter.storeDoc('doc', stateOf(docWith('new')))
    expect(bodyOf(await adapter.loadDoc('doc'))).toBe('new')
    expect(await adapter.listDocs()).toEqual(['doc'])
  })

  it('compacts a document once it holds more than storedUpdatesMax updates', async () => {
    const adapter = await open(tempDir(), 3)
    const db = lastDb()
    const doc = docWith('')
    let most = 0
    for (let i = 0; i < 20; i++) {
      doc.getText('body').insert(0, String(i % 10))
      await adapter.storeDoc('doc', stateOf(doc))
      const stored = await db.keys(updateKeyRange('doc')).all()
      most = Math.max(most, stored.length)
    }
    expect(most).toBe(3)
    expect(bodyOf(await adapter.loadDoc('doc'))).toBe(doc.getText('body').toJSON())
  })

  it('keeps metadata under a name no key can take', async () => {
    const adapter = await open()
    await adapter.setMeta('m', new Uint8Array([1]))
    expect(await adapter.listDocs()).toEqual([])
    for (const key of [META_DOC_NAME, 'a\u0000b']) {
      await expect(adapter.loadDoc(key)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' })
      await expect(adapter.deleteDoc(key)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' })
    }
    expect(await adapter.getMeta('m')).toEqual(new Uint8Array([1]))
  })
})

describe("y-leveldb's layout", () => {
  /** Body text of a Y.Doc y-leveldb loaded (then destroyed). */
  function bodyOfDoc(doc: Y.Doc | null): string {
    if (doc === null) throw new Error('y-leveldb failed (it returned null)')
    const text = doc.getText('body').toJSON()
    doc.destroy()
    return text
  }

  it('opens and reads what y-leveldb itself wrote', async () => {
    const dir = tempDir()
    const persistence = new LeveldbPersistence(dir)
    const doc = docWith('one')
    await persistence.storeUpdate('doc', stateOf(doc))
    for (const word of [' two', ' three']) {
      const before = Y.encodeStateVector(doc)
      doc.getText('body').insert(doc.getText('body').length, word)
      await persistence.storeUpdate('doc', Y.encodeStateAsUpdate(doc, before))
    }
    const flushed = [stateOf(docWith('f1')), stateOf(docWith('f2'))]
    for (const update of flushed) await persistence.storeUpdate('flushed', update)
    await persistence.flushDocument('flushed')
    await persistence.storeUpdate('gone', stateOf(docWith('g')))
    await persistence.clearDocument('gone')
    await persistence.setMeta(META_DOC_NAME, 'checkpoint', new Uint8Array([7, 8]))
    await persistence.destroy()

    const adapter = await open(dir)
    expect(await adapter.listDocs()).toEqual(['doc', 'flushed'])
    expect(bodyOf(await adapter.loadDoc('doc'))).toBe('one two three')
    expect(bodyOf(await adapter.loadDoc('flushed'))).toBe(bodyOf(Y.mergeUpdates(flushed)))
    expect(await adapter.loadDoc('gone')).toBeUndefined()
    expect(await adapter.getMeta('checkpoint')).toEqual(new Uint8Array([7, 8]))
    // And writes on top of it, compacting y-leveldb's three updates with the new state.
    doc.getText('body').insert(0, '0 ')
    await adapter.storeDoc('doc', stateOf(doc))
    expect(bodyOf(await adapter.loadDoc('doc'))).toBe('0 one two three')
  })

  it('writes what y-leveldb itself reads', async () => {
    const dir = tempDir()
    const adapter = await open(dir, 2)
    const doc = docWith('a')
    for (const letter of 'bcde') {
      doc.getText('body').insert(doc.getText('body').length, letter)
      await adapter.storeDoc('doc', stateOf(doc))
    }
    await adapter.storeDocs(
      new Map([
        ['x', stateOf(docWith('x'))],
        ['y', stateOf(docWith('y'))],
      ]),
    )
    await adapter.deleteDoc('y')
    await adapter.setMeta('checkpoint', new Uint8Array([1, 2, 3]))
    await adapter.close()

    const persistence = new LeveldbPersistence(dir)
    try {
      expect(await persistence.getAllDocNames()).toEqual(['x', 'doc'])
      expect(bodyOfDoc(await persistence.getYDoc('doc'))).toBe('abcde')
      expect(bodyOfDoc(await persistence.getYDoc('x'))).toBe('x')
      expect(bodyOfDoc(await persistence.getYDoc('y'))).toBe('')
      const meta = await persistence.getMeta(META_DOC_NAME, 'checkpoint')
      expect(meta).toEqual(new Uint8Array([1, 2, 3]))
    } finally {
      await persistence.destroy()
    }
  })
})

describe('argument validation', () => {
  it('refuses misuse with INVALID_ARGUMENT and stores nothing', async () => {
    const dir = tempDir()
    const invalid = { code: 'INVALID_ARGUMENT' }
    await expect(createLeveldbStorage('')).rejects.toMatchObject(invalid)
    await expect(createLeveldbStorage(dir, { storedUpdatesMax: 0 })).rejects.toMatchObject(invalid)
    await expect(
      createLeveldbStorage(dir, { Level: class {} as unknown as LevelClass }),
    ).rejects.toMatchObject(invalid)
    const adapter = await open(dir)
    await expect(adapter.storeDoc('\uD800', stateOf(docWith('x')))).rejects.toMatchObject(invalid)
    await expect(adapter.storeDoc('doc', 'text' as never)).rejects.toBeInstanceOf(TypeError)
    await expect(adapter.setMeta('m', [1] as never)).rejects.toMatchObject(invalid)
    await expect(adapter.getMeta(7 as never)).rejects.toMatchObject(invalid)
    expect(await adapter.listDocs()).toEqual([])
  })
})

/** Whether `strace` can trace a child here (installed, and ptrace allowed). */
function straceWorks(): boolean {
  const probe = spawnSync('strace', ['-f', '-qq', '-e', 'trace=fdatasync', 'true'])
  return probe.status === 0
}

/**
 * Child program (run with tsx): opens a database in `argv[1]` with plain `ClassicLevel` and makes
 * 40 writes of every kind with LevelDB's defaults, or opens the adapter and makes 40 writes
 * through each of its write methods (10 each), then closes.
 */
const WRITER = `
import * as Y from 'yjs'
const [dir, mode] = process.argv.slice(1)
const { ClassicLevel } = await import('classic-level')
const { createLeveldbStorage } = await import(
  ${JSON.stringify(join(REPO_ROOT, 'adapters/storage-leveldb/index.ts'))})
if (mode === 'adapter') {
  const storage = await createLeveldbStorage(dir)
  const doc = new Y.Doc()
  for (let i = 0; i < 10; i++) {
    doc.getText('t').insert(0, 'x')
    await storage.storeDoc('doc-' + (i % 5), Y.encodeStateAsUpdate(doc))
    await storage.storeDocs(new Map([['many-' + i, Y.encodeStateAsUpdate(doc)]]))
    await storage.setMeta('m' + i, new Uint8Array([i]))
    await storage.deleteDoc('many-' + i)
  }
  await storage.close()
} else {
  const db = new ClassicLevel(dir)
  await db.open()
  for (let i = 0; i < 20; i++) await db.put('p' + i, 'v')
  for (let i = 0; i < 10; i++) await db.del('p' + i)
  for (let i = 0; i < 5; i++) await db.batch([{ type: 'put', key: 'b' + i, value: 'v' }])
  for (let i = 0; i < 5; i++) await db.batch().put('c' + i, 'v').write()
  await db.close()
}
`

/** Runs the writer child under strace; returns its fdatasync and fsync call counts. */
function countSyncs(mode: 'plain' | 'adapter'): { fdatasync: number; fsync: number } {
  const dir = tempDir()
  const trace = join(tempDir(), 'strace.txt')
  const args = ['-f', '-qq', '-e', 'trace=fdatasync,fsync', '-o', trace, process.execPath]
  args.push('--import', 'tsx', '--input-type=module', '-e', WRITER, dir, mode)
  execFileSync('strace', args, { cwd: REPO_ROOT, stdio: 'inherit' })
  const lines = readFileSync(trace, 'utf8').split('\n')
  const count = (call: string) =>
    lines.filter((line) => line.includes(` ${call}(`) || line.startsWith(`${call}(`)).length
  return { fdatasync: count('fdatasync'), fsync: count('fsync') }
}

describe('durability', () => {
  it('passes sync: true to every write, each one batch, and never swaps console.warn', async () => {
    const adapter = await open(tempDir(), 2)
    const doc = docWith('x')
    for (let i = 0; i < 4; i++) {
      doc.getText('body').insert(0, String(i))
      await adapter.storeDoc('doc', stateOf(doc))
      await adapter.storeDocs(
        new Map([
          ['a', stateOf(doc)],
          ['b', stateOf(doc)],
        ]),
      )
    }
    await adapter.setMeta('m', new Uint8Array([1]))
    await adapter.deleteDoc('a')
    // 4 storeDoc, 4 storeDocs (the later ones compacting), setMeta, deleteDoc.
    expect(writes).toHaveLength(10)
    for (const write of writes)
      expect(write).toMatchObject({ method: 'batch', options: { sync: true } })
    expect(seen.warnReplaced).toBe(false)
  })

  it.skipIf(!straceWorks())('syncs every write (strace counts fdatasync calls)', () => {
    const plain = countSyncs('plain')
    // The companion run: plain ClassicLevel does not sync its 40 writes, and the count sees it.
    expect(plain.fdatasync).toBeLessThan(10)
    const adapter = countSyncs('adapter')
    // 40 write calls: each at least one synced LevelDB write and one directory fsync.
    expect(adapter.fdatasync - plain.fdatasync).toBeGreaterThanOrEqual(40)
    expect(adapter.fsync - plain.fsync).toBeGreaterThanOrEqual(40)
  })
})
