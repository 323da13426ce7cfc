/**
 * The storage adapter conformance suite (docs/testing.md): every `StorageAdapter` runs it, through
 * `describeStorageConformance(name, makeAdapter)`. It checks the port's contract in
 * `src/store/storage.ts`: document states round-trip (and survive a reopen when the adapter is
 * persistent), stored states merge, missing documents are `undefined`, invalid updates are refused
 * without storing anything, deletes, sorted listing without metadata, metadata, large documents,
 * many documents, awkward keys, and closing.
 */
import { afterEach, describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import type { StorageAdapter } from '../../src/store/storage.js'

/** One adapter under test, fresh and empty. */
export interface AdapterUnderTest {
  adapter: StorageAdapter
  /** Closes nothing; opens the same storage again (for adapters that persist across opens). */
  reopen?: () => Promise<StorageAdapter>
  /** Called after the test, once every adapter it opened is closed. */
  cleanup?: () => void | Promise<void>
}

/** Text of a Y.Text named `body` in a state, for comparing documents. */
export function bodyOf(state: Uint8Array | undefined): string | undefined {
  if (state === undefined) return undefined
  const doc = new Y.Doc()
  try {
    Y.applyUpdate(doc, state)
    return doc.getText('body').toJSON()
  } finally {
    doc.destroy()
  }
}

/** A new document whose `body` text is `text`. */
export function docWith(text: string): Y.Doc {
  const doc = new Y.Doc()
  doc.getText('body').insert(0, text)
  return doc
}

/** The full state of a document. */
export function stateOf(doc: Y.Doc): Uint8Array {
  return Y.encodeStateAsUpdate(doc)
}

/** Deterministic pseudo-random text of `length` characters (incompressible enough). */
export function noiseText(length: number, seed = 1): string {
  let state = seed >>> 0 || 1
  const chars: string[] = []
  for (let i = 0; i < length; i++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0
    chars.push(String.fromCharCode(33 + ((state >>> 8) % 90)))
  }
  return chars.join('')
}

/**
 * Registers the conformance tests for one adapter. `makeAdapter` is called once per test and
 * must return an empty adapter.
 */
export function describeStorageConformance(
  name: string,
  makeAdapter: () => Promise<AdapterUnderTest>,
): void {
  describe(`storage conformance: ${name}`, () => {
    const open: StorageAdapter[] = []
    const cleanups: Array<() => void | Promise<void>> = []

    /** A fresh adapter; closed (and cleaned up) after the test. */
    async function fresh(): Promise<{
      adapter: StorageAdapter
      reopen?: () => Promise<StorageAdapter>
    }> {
      const made = await makeAdapter()
      open.push(made.adapter)
      if (made.cleanup !== undefined) cleanups.push(made.cleanup)
      if (made.reopen === undefined) return { adapter: made.adapter }
      const reopen = made.reopen
      return {
        adapter: made.adapter,
        reopen: async () => {
          const again = await reopen()
          open.push(again)
          return again
        },
      }
    }

    afterEach(async () => {
      for (const adapter of open.splice(0)) await adapter.close()
      for (const cleanup of cleanups.splice(0)) await cleanup()
    })

    describeRoundTrips(fresh)
    describeMergesAndDeletes(fresh)
    describeListingAndMeta(fresh)
    describeScale(fresh)
    describeBatches(fresh)
    describeClosing(fresh)
  })
}

type Fresh = () => Promise<{ adapter: StorageAdapter; reopen?: () => Promise<StorageAdapter> }>

function describeRoundTrips(fresh: Fresh): void {
  it('round-trips a document state, also across a reopen', async () => {
    const { adapter, reopen } = await fresh()
    const doc = docWith('hello, world')
    doc.getMap('props').set('title', 'greeting')
    await adapter.storeDoc('doc', stateOf(doc))
    expect(bodyOf(await adapter.loadDoc('doc'))).toBe('hello, world')
    if (reopen === undefined) return
    await adapter.close()
    const again = await reopen()
    const loaded = await again.loadDoc('doc')
    expect(bodyOf(loaded)).toBe('hello, world')
    const copy = new Y.Doc()
    Y.applyUpdate(copy, loaded as Uint8Array)
    expect(copy.getMap('props').get('title')).toBe('greeting')
  })

  it('returns undefined for a document never stored', async () => {
    const { adapter } = await fresh()
    expect(await adapter.loadDoc('missing')).toBeUndefined()
    await adapter.storeDoc('present', stateOf(docWith('x')))
    expect(await adapter.loadDoc('missing')).toBeUndefined()
    expect(await adapter.loadDoc('present/child')).toBeUndefined()
  })

  it('round-trips keys with slashes, spaces, dots and unicode', async () => {
    const { adapter, reopen } = await fresh()
    const keys = ['', 'a/b/c', '/leading', 'trailing/', ' spaced ', '..', 'back\\slash', 'ünïcødé']
    keys.push('日本語/ノート', '🦆 duck', 'tab\tand\nnewline', 'a'.repeat(300), 'z')
    for (const [i, key] of keys.entries()) await adapter.storeDoc(key, stateOf(docWith(`#${i}`)))
    const check = async (storage: StorageAdapter) => {
      expect(await storage.listDocs()).toEqual([...keys].sort())
      for (const [i, key] of keys.entries())
        expect(bodyOf(await storage.loadDoc(key))).toBe(`#${i}`)
    }
    await check(adapter)
    if (reopen === undefined) return
    await adapter.close()
    await check(await reopen())
  })

  it('keeps its own copy of stored bytes and returns copies', async () => {
    const { adapter } = await fresh()
    const state = stateOf(docWith('original'))
    await adapter.storeDoc('doc', state)
    state.fill(0)
    const loaded = (await adapter.loadDoc('doc')) as Uint8Array
    expect(bodyOf(loaded)).toBe('original')
    loaded.fill(0)
    expect(bodyOf(await adapter.loadDoc('doc'))).toBe('original')
    const value = new Uint8Array([1, 2, 3])
    await adapter.setMeta('m', value)
    value[0] = 9
    expect(await adapter.getMeta('m')).toEqual(new Uint8Array([1, 2, 3]))
  })
}

function describeMergesAndDeletes(fresh: Fresh): void {
  it('stores newer state over older, the same state twice, and older over newer', async () => {
    const { adapter, reopen } = await fresh()
    const doc = docWith('one')
    const older = stateOf(doc)
    await adapter.storeDoc('doc', older)
    doc.getText('body').insert(3, ' two')
    await adapter.storeDoc('doc', stateOf(doc))
    expect(bodyOf(await adapter.loadDoc('doc'))).toBe('one two')
    await adapter.storeDoc('doc', stateOf(doc))
    await adapter.storeDoc('doc', older)
    doc.getText('body').delete(0, 4)
    await adapter.storeDoc('doc', stateOf(doc))
    expect(bodyOf(await adapter.loadDoc('doc'))).toBe('two')
    for (let i = 0; i < 20; i++) {
      doc.getText('body').insert(0, String(i % 10))
      await adapter.storeDoc('doc', stateOf(doc))
    }
    const expected = doc.getText('body').toJSON()
    expect(bodyOf(await adapter.loadDoc('doc'))).toBe(expected)
    if (reopen === undefined) return
    await adapter.close()
    expect(bodyOf(await (await reopen()).loadDoc('doc'))).toBe(expected)
  })

  it('merges concurrent states of different writers', async () => {
    const { adapter } = await fresh()
    const base = docWith('base')
    const left = new Y.Doc()
    const right = new Y.Doc()
    Y.applyUpdate(left, stateOf(base))
    Y.applyUpdate(right, stateOf(base))
    left.getText('body').insert(0, 'L')
    right.getText('body').insert(4, 'R')
    await adapter.storeDoc('doc', stateOf(left))
    await adapter.storeDoc('doc', stateOf(right))
    Y.applyUpdate(left, stateOf(right))
    expect(bodyOf(await adapter.loadDoc('doc'))).toBe(left.getText('body').toJSON())
    expect(left.getText('body').toJSON()).toBe('LbaseR')
  })

  it('refuses an invalid update with STORAGE_INVALID_UPDATE and stores nothing', async () => {
    const { adapter } = await fresh()
    const invalid = [new Uint8Array(0), new Uint8Array([1, 2, 3]), new TextEncoder().encode('{}x')]
    const valid = stateOf(docWith('kept'))
    invalid.push(valid.slice(0, valid.length - 3))
    for (const bytes of invalid) {
      await expect(adapter.storeDoc('new', bytes)).rejects.toMatchObject({
        name: 'StarlingError',
        code: 'STORAGE_INVALID_UPDATE',
      })
    }
    expect(await adapter.loadDoc('new')).toBeUndefined()
    expect(await adapter.listDocs()).toEqual([])
    await adapter.storeDoc('doc', valid)
    for (const bytes of invalid) {
      await expect(adapter.storeDoc('doc', bytes)).rejects.toMatchObject({
        code: 'STORAGE_INVALID_UPDATE',
      })
    }
    expect(bodyOf(await adapter.loadDoc('doc'))).toBe('kept')
    expect(await adapter.listDocs()).toEqual(['doc'])
  })

  it('deletes a document for good, and storing it again starts fresh', async () => {
    const { adapter, reopen } = await fresh()
    await adapter.storeDoc('gone', stateOf(docWith('old content')))
    await adapter.storeDoc('kept', stateOf(docWith('kept')))
    await adapter.deleteDoc('gone')
    await adapter.deleteDoc('never-stored')
    expect(await adapter.loadDoc('gone')).toBeUndefined()
    expect(await adapter.listDocs()).toEqual(['kept'])
    await adapter.storeDoc('gone', stateOf(docWith('new')))
    expect(bodyOf(await adapter.loadDoc('gone'))).toBe('new')
    await adapter.deleteDoc('gone')
    if (reopen === undefined) return
    await adapter.close()
    const again = await reopen()
    expect(await again.loadDoc('gone')).toBeUndefined()
    expect(await again.listDocs()).toEqual(['kept'])
  })
}

function describeListingAndMeta(fresh: Fresh): void {
  it('lists documents sorted, without metadata', async () => {
    const { adapter } = await fresh()
    expect(await adapter.listDocs()).toEqual([])
    await adapter.setMeta('checkpointLsn', new Uint8Array([7]))
    for (const key of ['b', 'a/2', 'a', 'a/10', 'B', 'ä', 'c']) {
      await adapter.storeDoc(key, stateOf(docWith(key)))
    }
    expect(await adapter.listDocs()).toEqual(['B', 'a', 'a/10', 'a/2', 'b', 'c', 'ä'])
  })

  it('round-trips and overwrites metadata, apart from documents of the same name', async () => {
    const { adapter, reopen } = await fresh()
    expect(await adapter.getMeta('checkpointLsn')).toBeUndefined()
    await adapter.setMeta('checkpointLsn', new Uint8Array([1, 2, 3]))
    await adapter.setMeta('empty', new Uint8Array(0))
    await adapter.setMeta('doc', new Uint8Array([4]))
    await adapter.storeDoc('doc', stateOf(docWith('doc body')))
    expect(await adapter.getMeta('checkpointLsn')).toEqual(new Uint8Array([1, 2, 3]))
    await adapter.setMeta('checkpointLsn', new Uint8Array([9]))
    expect(await adapter.getMeta('checkpointLsn')).toEqual(new Uint8Array([9]))
    expect(await adapter.getMeta('empty')).toEqual(new Uint8Array(0))
    expect(await adapter.getMeta('doc')).toEqual(new Uint8Array([4]))
    expect(bodyOf(await adapter.loadDoc('doc'))).toBe('doc body')
    await adapter.deleteDoc('doc')
    expect(await adapter.getMeta('doc')).toEqual(new Uint8Array([4]))
    if (reopen === undefined) return
    await adapter.close()
    const again = await reopen()
    expect(await again.getMeta('checkpointLsn')).toEqual(new Uint8Array([9]))
    expect(await again.getMeta('empty')).toEqual(new Uint8Array(0))
  })
}

function describeScale(fresh: Fresh): void {
  it('round-trips a document whose state is over 1 MiB', async () => {
    const { adapter, reopen } = await fresh()
    const text = noiseText(1_200_000)
    const doc = docWith(text)
    const state = stateOf(doc)
    expect(state.byteLength).toBeGreaterThanOrEqual(1024 * 1024)
    await adapter.storeDoc('big', state)
    doc.getText('body').insert(0, 'more ')
    await adapter.storeDoc('big', stateOf(doc))
    expect(bodyOf(await adapter.loadDoc('big'))).toBe(`more ${text}`)
    if (reopen === undefined) return
    await adapter.close()
    expect(bodyOf(await (await reopen()).loadDoc('big'))).toBe(`more ${text}`)
  })

  it('holds 1,000 documents', async () => {
    const { adapter, reopen } = await fresh()
    const keys = Array.from({ length: 1000 }, (_, i) => `doc-${String(i).padStart(4, '0')}`)
    await Promise.all(keys.map((key) => adapter.storeDoc(key, stateOf(docWith(key)))))
    const check = async (storage: StorageAdapter) => {
      expect(await storage.listDocs()).toEqual(keys)
      for (const key of keys.filter((_, i) => i % 97 === 0)) {
        expect(bodyOf(await storage.loadDoc(key))).toBe(key)
      }
    }
    await check(adapter)
    if (reopen === undefined) return
    await adapter.close()
    await check(await reopen())
  })
}

function describeBatches(fresh: Fresh): void {
  it('storeDocs stores many documents at once, merged over what was stored', async () => {
    const { adapter, reopen } = await fresh()
    await adapter.storeDocs(new Map())
    const old = docWith('old')
    await adapter.storeDoc('doc-0001', stateOf(old))
    const docs = new Map<string, Y.Doc>()
    for (let i = 0; i < 300; i++) docs.set(`doc-${String(i).padStart(4, '0')}`, docWith(`#${i}`))
    const states = () => new Map([...docs].map(([key, doc]) => [key, stateOf(doc)] as const))
    await adapter.storeDocs(states())
    // Again and again, past any compaction threshold, with every document changing each time.
    for (let round = 0; round < 12; round++) {
      for (const doc of docs.values()) doc.getText('body').insert(0, String(round % 10))
      await adapter.storeDocs(states())
    }
    const check = async (storage: StorageAdapter) => {
      expect(await storage.listDocs()).toEqual([...docs.keys()])
      for (const [key, doc] of docs) {
        // The state stored before the batches is merged in, as Yjs merges it.
        if (key === 'doc-0001') Y.applyUpdate(doc, stateOf(old))
        expect(bodyOf(await storage.loadDoc(key))).toBe(doc.getText('body').toJSON())
      }
    }
    await check(adapter)
    if (reopen === undefined) return
    await adapter.close()
    await check(await reopen())
  })

  it('storeDocs refuses a batch with an invalid state and stores none of it', async () => {
    const { adapter } = await fresh()
    await adapter.storeDoc('a', stateOf(docWith('kept')))
    const batch = new Map([
      ['a', stateOf(docWith('new a'))],
      ['b', stateOf(docWith('new b'))],
      ['c', new Uint8Array([1, 2, 3])],
    ])
    await expect(adapter.storeDocs(batch)).rejects.toMatchObject({
      name: 'StarlingError',
      code: 'STORAGE_INVALID_UPDATE',
    })
    expect(await adapter.listDocs()).toEqual(['a'])
    expect(bodyOf(await adapter.loadDoc('a'))).toBe('kept')
    const badKey = new Map([['\uD800', stateOf(docWith('x'))]])
    await expect(adapter.storeDocs(badKey)).rejects.toBeInstanceOf(TypeError)
    await expect(adapter.storeDocs('x' as never)).rejects.toBeInstanceOf(TypeError)
  })

  it('storeDocs keeps its own copies of the states', async () => {
    const { adapter } = await fresh()
    const state = stateOf(docWith('original'))
    const pending = adapter.storeDocs(new Map([['doc', state]]))
    state.fill(0)
    await pending
    expect(bodyOf(await adapter.loadDoc('doc'))).toBe('original')
  })
}

function describeClosing(fresh: Fresh): void {
  it('rejects every call after close with STORAGE_CLOSED; close is idempotent', async () => {
    const { adapter } = await fresh()
    await adapter.storeDoc('doc', stateOf(docWith('x')))
    await Promise.all([adapter.close(), adapter.close()])
    await adapter.close()
    const state = stateOf(docWith('y'))
    const calls: Array<[string, () => Promise<unknown>]> = [
      ['loadDoc', () => adapter.loadDoc('doc')],
      ['storeDoc', () => adapter.storeDoc('doc', state)],
      ['storeDocs', () => adapter.storeDocs(new Map([['doc', state]]))],
      ['deleteDoc', () => adapter.deleteDoc('doc')],
      ['listDocs', () => adapter.listDocs()],
      ['getMeta', () => adapter.getMeta('m')],
      ['setMeta', () => adapter.setMeta('m', new Uint8Array(1))],
    ]
    for (const [method, call] of calls) {
      await expect(call(), method).rejects.toMatchObject({ code: 'STORAGE_CLOSED' })
    }
  })

  it('finishes calls made before close', async () => {
    const { adapter, reopen } = await fresh()
    const pending = [
      adapter.storeDoc('a', stateOf(docWith('a'))),
      adapter.setMeta('m', new Uint8Array([1])),
    ]
    const closed = adapter.close()
    await Promise.all(pending)
    await closed
    if (reopen === undefined) return
    const again = await reopen()
    expect(bodyOf(await again.loadDoc('a'))).toBe('a')
    expect(await again.getMeta('m')).toEqual(new Uint8Array([1]))
  })
}
