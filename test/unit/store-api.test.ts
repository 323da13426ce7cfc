/**
 * The store's API: registers and CRDT keys, typed errors for wrong use, policy mismatches,
 * transactions as one WAL record, change events, deletes as tombstones, and the memory budget.
 */
import * as Y from 'yjs'
import { describe, expect, it } from 'vitest'
import { createStore, crdt, custom, lww, type Store } from '../../src/index.js'
import { decodeUpdates } from '../../src/store/record-codec.js'
import { tempDir } from '../support/tmp.js'
import { storeInternalsOf } from '../../src/store/internals.js'

const policies = {
  'settings/**': lww(),
  'notes/*': crdt('text'),
  'boards/*': crdt('map'),
  'lists/*': crdt('array'),
  'docs/*': crdt('json'),
  'votes/*': custom((siblings) => Math.max(...siblings.map((s) => s.value as number)), {
    name: 'max',
  }),
}

describe('registers and documents', () => {
  it('sets, gets, lists and deletes every kind of key', async () => {
    const store = await createStore({ policies })
    await store.set('settings/theme', 'dark')
    await store.set('settings/editor/font', { family: 'mono', size: 13 })
    await store.set('notes/a', 'hello')
    await store.set('boards/b', { todo: ['x'], done: [] })
    await store.set('lists/c', [1, 'two', { three: 3 }])
    await store.set('docs/d', { title: 'T', tags: ['a', 'b'] })
    await store.set('votes/e', 4)
    expect(store.get('settings/theme')).toBe('dark')
    expect(store.get('settings/editor/font')).toEqual({ family: 'mono', size: 13 })
    expect(store.get('notes/a')).toBe('hello')
    expect(store.get('boards/b')).toEqual({ todo: ['x'], done: [] })
    expect(store.get('lists/c')).toEqual([1, 'two', { three: 3 }])
    expect(store.get('docs/d')).toEqual({ title: 'T', tags: ['a', 'b'] })
    expect(store.get('votes/e')).toBe(4)
    expect(store.keys()).toEqual([
      'boards/b',
      'docs/d',
      'lists/c',
      'notes/a',
      'settings/editor/font',
      'settings/theme',
      'votes/e',
    ])
    expect(store.keys('settings/')).toEqual(['settings/editor/font', 'settings/theme'])
    await store.delete('settings/theme')
    await store.delete('notes/a')
    expect(store.has('settings/theme')).toBe(false)
    expect(store.get('settings/theme')).toBeUndefined()
    expect(store.has('notes/a')).toBe(false)
    expect(store.get('notes/a')).toBeUndefined()
    expect(store.keys()).not.toContain('notes/a')
    await store.close()
  })

  it('keeps everything across close and reopen on disk', async () => {
    const path = tempDir()
    const store = await createStore({ path, policies })
    await store.set('settings/theme', 'light')
    store.text('notes/x').insert(0, 'typed directly')
    await store.set('boards/b', { a: 1 })
    await store.delete('boards/b')
    await store.flush()
    const nodeId = store.nodeId
    await store.close()
    const again = await createStore({ path, policies })
    expect(again.nodeId).toBe(nodeId)
    await again.load('notes/x')
    expect(again.get('settings/theme')).toBe('light')
    expect(again.get('notes/x')).toBe('typed directly')
    expect(again.has('boards/b')).toBe(false)
    await again.close()
  })
})

describe('wrong use gets a clear error', () => {
  it('rejects bad keys, values, kinds, and use after close', async () => {
    const store = await createStore({ policies })
    await expect(store.set('', 1)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' })
    await expect(store.set('x'.repeat(1025), 1)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' })
    await expect(store.set('a\u0000b', 1)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' })
    await expect(store.set(42 as never, 1)).rejects.toBeInstanceOf(TypeError)
    await expect(store.set('settings/x', (() => 1) as never)).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
    })
    await expect(store.set('settings/x', new Date() as never)).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
    })
    await expect(store.set('notes/a', 42)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' })
    expect(() => store.text('settings/theme')).toThrow(/register, not a CRDT document/)
    expect(() => store.map('notes/a')).toThrow(/crdt\('text'\)/)
    await store.delete('settings/never-written')
    expect(store.keys()).toEqual([])
    // Refused input recorded nothing, not even a key's policy.
    await store.flush()
    expect(storeInternalsOf(store).wal.lastLsn).toBe(0)
    await store.close()
    await expect(store.set('settings/x', 1)).rejects.toMatchObject({ code: 'STORE_CLOSED' })
    expect(() => store.text('notes/a')).toThrow(expect.objectContaining({ code: 'STORE_CLOSED' }))
  })

  it('get on a CRDT key still loading says so', async () => {
    const path = tempDir()
    const first = await createStore({ path, policies })
    await first.set('notes/a', 'stored')
    await first.close()
    const store = await createStore({ path, policies })
    expect(() => store.get('notes/a')).toThrow(expect.objectContaining({ code: 'KEY_NOT_LOADED' }))
    await store.load('notes/a')
    expect(store.get('notes/a')).toBe('stored')
    await store.close()
  })
})

describe('policy mismatch', () => {
  it('a later open with a different policy for a written key reports POLICY_MISMATCH', async () => {
    const path = tempDir()
    const first = await createStore({ path, policies })
    await first.set('settings/theme', 'dark')
    await first.close()
    const errors: unknown[] = []
    const other = await createStore({ path, policies: { 'settings/**': crdt('map') } })
    other.on('error', (e) => errors.push(e))
    expect(other.policyMismatches()).toEqual([
      { key: 'settings/theme', recorded: 'lww', configured: 'crdt:map' },
    ])
    await expect(other.set('settings/theme', { a: 1 })).rejects.toMatchObject({
      code: 'POLICY_MISMATCH',
    })
    await other.close()
  })
})

describe('transactions and capture', () => {
  it('transact writes several keys as one WAL record', async () => {
    const store = await createStore({ policies })
    const before = storeInternalsOf(store).wal.lastLsn
    await store.transact(() => {
      store.text('notes/a').insert(0, 'one')
      store.text('notes/b').insert(0, 'two')
      store.map('boards/c').set('k', 'v')
    })
    expect(storeInternalsOf(store).wal.lastLsn).toBe(before + 1)
    const records = []
    for await (const record of storeInternalsOf(store).wal.read(before + 1))
      records.push(decodeUpdates(record.payload))
    const keys = new Set(records[0]?.map((u) => u.key))
    expect([...keys].filter((k) => !k.startsWith('\u0000')).sort()).toEqual([
      'boards/c',
      'notes/a',
      'notes/b',
    ])
    await store.close()
  })

  it('a synchronous burst of edits shares one group commit', async () => {
    const store = await createStore({ policies })
    const text = store.text('notes/a')
    await store.load('notes/a')
    const batches = storeInternalsOf(store).wal.stats.batches
    for (let i = 0; i < 1000; i++) text.insert(i, 'x')
    await store.flush()
    expect(storeInternalsOf(store).wal.stats.batches - batches).toBe(1)
    expect(text.toJSON()).toBe('x'.repeat(1000))
    await store.close()
  })

  it('emits change events for local writes', async () => {
    const store = await createStore({ policies })
    const events: string[] = []
    const off = store.on('change', (e) => events.push(`${e.origin}:${e.key}`))
    await store.set('settings/a', 1)
    store.text('notes/n').insert(0, 'x')
    off()
    await store.set('settings/b', 2)
    expect(events).toEqual(['local:settings/a', 'local:notes/n'])
    await store.close()
  })
})

describe('tombstones between peers (I9)', () => {
  it('a late, old write never resurrects a deleted key', async () => {
    const a = await createStore({ policies })
    const b = await createStore({ policies })
    const sync = (from: Store, to: Store): void =>
      Y.applyUpdate(
        storeInternalsOf(to).registry.doc,
        Y.encodeStateAsUpdate(storeInternalsOf(from).registry.doc),
        'peer',
      )
    await a.set('settings/x', 'old')
    const old = Y.encodeStateAsUpdate(storeInternalsOf(a).registry.doc)
    sync(a, b)
    await b.delete('settings/x')
    sync(b, a)
    expect(a.has('settings/x')).toBe(false)
    Y.applyUpdate(storeInternalsOf(a).registry.doc, old, 'peer') // the old write arrives again, late
    expect(a.has('settings/x')).toBe(false)
    expect(b.has('settings/x')).toBe(false)
    await Promise.all([a.close(), b.close()])
  })

  it('concurrent writes are logged as conflicts and resolve identically on both peers', async () => {
    const a = await createStore({ policies })
    const b = await createStore({ policies })
    await a.set('votes/v', 3)
    await b.set('votes/v', 7)
    await a.set('settings/s', 'a')
    await b.set('settings/s', 'b')
    Y.applyUpdate(
      storeInternalsOf(b).registry.doc,
      Y.encodeStateAsUpdate(storeInternalsOf(a).registry.doc),
      'peer',
    )
    Y.applyUpdate(
      storeInternalsOf(a).registry.doc,
      Y.encodeStateAsUpdate(storeInternalsOf(b).registry.doc),
      'peer',
    )
    expect(a.get('votes/v')).toBe(7)
    expect(b.get('votes/v')).toBe(7)
    expect(a.get('settings/s')).toBe(b.get('settings/s'))
    expect(a.conflicts({ key: 'votes/v' }).length).toBe(1)
    expect(b.conflicts({ key: 'settings/s' })[0]?.siblings.length).toBe(2)
    await Promise.all([a.close(), b.close()])
  })
})

describe('memory budget (I8)', () => {
  it('10,000 CRDT keys opened in turn stay under the budget and reload identically', async () => {
    const path = tempDir()
    const budget = 64 * 1024
    const store = await createStore({ path, policies, memoryBudgetBytes: budget })
    let peak = 0
    for (let i = 0; i < 10_000; i++) {
      const key = `notes/${i}`
      store.text(key).insert(0, `note ${i} `.repeat(3))
      peak = Math.max(peak, store.stats.residentBytes)
    }
    await store.flush()
    expect(peak).toBeLessThanOrEqual(budget + 200)
    expect(store.stats.residentDocs).toBeLessThan(10_000)
    await store.checkpoint()
    for (const i of [0, 1, 4999, 9999]) {
      await store.load(`notes/${i}`)
      expect(store.get(`notes/${i}`)).toBe(`note ${i} `.repeat(3))
    }
    await store.close()
  }, 120_000)
})

describe('custom resolvers and client ids', () => {
  it('with checkResolverPurity, an order-dependent resolver is reported as POLICY_INVALID', async () => {
    const firstWins = custom((siblings) => siblings[0]?.value, { name: 'first' })
    const options = { policies: { 'votes/*': firstWins }, checkResolverPurity: true }
    const a = await createStore(options)
    const b = await createStore(options)
    await a.set('votes/x', 1)
    await b.set('votes/x', 2)
    Y.applyUpdate(
      storeInternalsOf(a).registry.doc,
      Y.encodeStateAsUpdate(storeInternalsOf(b).registry.doc),
      'peer',
    )
    expect(() => a.get('votes/x')).toThrow(expect.objectContaining({ code: 'POLICY_INVALID' }))
    await Promise.all([a.close(), b.close()])
  })

  it('every open uses fresh Yjs client ids (I12)', async () => {
    const path = tempDir()
    const ids = new Set<number>()
    for (let i = 0; i < 3; i++) {
      const store = await createStore({ path, policies })
      const doc = await store.load('notes/a')
      store.text('notes/a').insert(0, 'x')
      expect(ids.has(doc.clientID)).toBe(false)
      expect(ids.has(storeInternalsOf(store).registry.doc.clientID)).toBe(false)
      ids.add(doc.clientID).add(storeInternalsOf(store).registry.doc.clientID)
      await store.close()
    }
    const store = await createStore({ path, policies })
    await store.load('notes/a')
    expect(store.get('notes/a')).toBe('xxx')
    await store.close()
  })
})

describe('editing a mismatched CRDT key directly', () => {
  it('is refused with POLICY_MISMATCH when the type is asked for', async () => {
    const path = tempDir()
    const first = await createStore({ path, policies: { 'notes/*': crdt('map') } })
    first.map('notes/a').set('k', 1)
    await first.flush()
    await first.close()
    const store = await createStore({ path, policies })
    expect(() => store.text('notes/a')).toThrow(
      expect.objectContaining({ code: 'POLICY_MISMATCH' }),
    )
    expect(store.policyMismatches()).toEqual([
      { key: 'notes/a', recorded: 'crdt:map', configured: 'crdt:text' },
    ])
    await store.close()
  })
})
