/**
 * LevelDB adapter behaviour beyond the conformance suite: the directory lock (STORE_LOCKED, also
 * against another process), backend errors surfacing as typed errors instead of "not found",
 * damaged stored bytes, crash residue, compaction, argument checks, and — observed with `strace`
 * in child processes — that every write is synced.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import type { DatabaseOptions } from 'classic-level'
import { afterEach, describe, expect, it, vi } from 'vitest'
import {
  createLeveldbStorage,
  META_DOC_NAME,
  SyncedClassicLevel,
  type SyncedLevelClass,
} from '../../adapters/storage-leveldb/index.js'
import { updateKeyRange, type YKey } from '../../adapters/storage-leveldb/layout.js'
import type { StorageAdapter } from '../../src/store/storage.js'
import { bodyOf, docWith, stateOf } from '../conformance/storage.js'
import { tempDir } from '../support/tmp.js'

type Callback = (error?: Error | null) => void

/** Databases constructed by {@link TrackedLevel}, newest last. */
const databases: TrackedLevel[] = []
/** Fault switches read by {@link TrackedLevel}. */
const faults = { put: false, iterator: false }

function injected(): Error {
  return Object.assign(new Error('injected I/O error'), { code: 'LEVEL_IO_ERROR' })
}

/** ClassicLevel's private iterator factory, which TrackedLevel wraps. */
const baseIterator = (
  SyncedClassicLevel.prototype as unknown as { _iterator: (this: object, o: object) => object }
)._iterator

/** The adapter's database class, remembered for the test and able to fail on demand. */
class TrackedLevel extends SyncedClassicLevel<YKey, Uint8Array> {
  constructor(location: string, options?: DatabaseOptions<YKey, Uint8Array>) {
    super(location, options)
    databases.push(this)
  }

  override _put(key: Uint8Array, value: Uint8Array, options: object, callback: Callback): void {
    if (faults.put) process.nextTick(callback, injected())
    else super._put(key, value, options, callback)
  }

  _iterator(options: object): object {
    if (faults.iterator) throw injected()
    return baseIterator.call(this, options)
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
  faults.put = false
  faults.iterator = false
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
  it('a failed write inside y-leveldb rejects with STORAGE_FAILED, quietly', async () => {
    const adapter = await open()
    const warn = vi.spyOn(console, 'warn')
    faults.put = true
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
    faults.put = false
    expect(await adapter.listDocs()).toEqual([])
    await adapter.storeDoc('doc', stateOf(docWith('y')))
    expect(bodyOf(await adapter.loadDoc('doc'))).toBe('y')
  })

  it('a failed read inside y-leveldb rejects with STORAGE_FAILED', async () => {
    const adapter = await open()
    await adapter.storeDoc('doc', stateOf(docWith('x')))
    faults.iterator = true
    await expect(adapter.loadDoc('doc')).rejects.toMatchObject({ code: 'STORAGE_FAILED' })
    await expect(adapter.listDocs()).rejects.toMatchObject({ code: 'STORAGE_FAILED' })
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

describe('argument validation', () => {
  it('refuses misuse with INVALID_ARGUMENT and stores nothing', async () => {
    const dir = tempDir()
    const invalid = { code: 'INVALID_ARGUMENT' }
    await expect(createLeveldbStorage('')).rejects.toMatchObject(invalid)
    await expect(createLeveldbStorage(dir, { storedUpdatesMax: 0 })).rejects.toMatchObject(invalid)
    await expect(
      createLeveldbStorage(dir, { Level: class {} as unknown as SyncedLevelClass }),
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
 * Child program (run with tsx): opens a database in `argv[1]` with plain `ClassicLevel`,
 * `SyncedClassicLevel`, or through the adapter, then makes 40 writes of every kind (or stores 20
 * documents) and closes.
 */
const WRITER = `
import * as Y from 'yjs'
const [dir, mode] = process.argv.slice(1)
const { ClassicLevel } = await import('classic-level')
const { SyncedClassicLevel, createLeveldbStorage } = await import(
  ${JSON.stringify(join(REPO_ROOT, 'adapters/storage-leveldb/index.ts'))})
if (mode === 'adapter') {
  const storage = await createLeveldbStorage(dir)
  const doc = new Y.Doc()
  for (let i = 0; i < 20; i++) {
    doc.getText('t').insert(0, 'x')
    await storage.storeDoc('doc-' + (i % 5), Y.encodeStateAsUpdate(doc))
  }
  await storage.close()
} else {
  const db = new (mode === 'synced' ? SyncedClassicLevel : ClassicLevel)(dir)
  await db.open()
  for (let i = 0; i < 20; i++) await db.put('p' + i, 'v')
  for (let i = 0; i < 10; i++) await db.del('p' + i)
  for (let i = 0; i < 5; i++) await db.batch([{ type: 'put', key: 'b' + i, value: 'v' }])
  for (let i = 0; i < 5; i++) await db.batch().put('c' + i, 'v').write()
  await db.close()
}
`

/** Runs the writer child under strace; returns how many fdatasync/fsync calls it made. */
function countSyncs(mode: 'plain' | 'synced' | 'adapter'): number {
  const dir = tempDir()
  const trace = join(tempDir(), 'strace.txt')
  const args = ['-f', '-qq', '-e', 'trace=fdatasync,fsync', '-o', trace, process.execPath]
  args.push('--import', 'tsx', '--input-type=module', '-e', WRITER, dir, mode)
  execFileSync('strace', args, { cwd: REPO_ROOT, stdio: 'inherit' })
  return readFileSync(trace, 'utf8')
    .split('\n')
    .filter((line) => /\b(fdatasync|fsync)\(/.test(line)).length
}

describe('durability', () => {
  it.skipIf(!straceWorks())('syncs every write (strace counts fdatasync calls)', () => {
    const plain = countSyncs('plain')
    const synced = countSyncs('synced')
    // The companion run: plain ClassicLevel does not sync its writes, and the count sees it.
    expect(plain).toBeLessThan(10)
    expect(synced - plain).toBeGreaterThanOrEqual(40)
    // 20 storeDoc calls, each at least one synced write and one directory fsync.
    expect(countSyncs('adapter') - plain).toBeGreaterThanOrEqual(40)
  })
})
