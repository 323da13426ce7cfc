/**
 * One oversized edit never fails the store: a huge paste into a Y.Text is undone in the document
 * and reported as STORE_EDIT_TOO_LARGE, `set` refuses a too-large value before applying it, and
 * afterwards every key — the same one too — keeps working, nothing is lost, and a reopen shows
 * exactly what the store showed (docs/errors.md).
 */
import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { createMemoryNetwork } from '../../adapters/transport-memory/index.js'
import { isStarlingError } from '../../src/core/errors.js'
import { createStore, crdt, lww, startSync, type Store } from '../../src/index.js'
import { EDIT_BYTES_MAX } from '../../src/store/edit-limit.js'
import { tempDir } from '../support/tmp.js'
import { storeInternalsOf } from '../../src/store/internals.js'

const policies = {
  'notes/*': crdt('text'),
  'lists/*': crdt('array'),
  'boards/*': crdt('map'),
  'pages/*': crdt('xml'),
  'k/**': lww(),
}
/** Just over the limit. */
const huge = 'x'.repeat(EDIT_BYTES_MAX + 1)

async function openWithErrors(path?: string) {
  const store = await createStore({ policies, ...(path === undefined ? {} : { path }) })
  const errors: unknown[] = []
  store.on('error', (error) => errors.push(error))
  return { store, errors }
}

/** The largest payload in the store's WAL. */
async function largestRecord(store: Store): Promise<number> {
  let largest = 0
  for await (const record of storeInternalsOf(store).wal.read(storeInternalsOf(store).wal.firstLsn))
    largest = Math.max(largest, record.payload.length)
  return largest
}

function refusals(errors: unknown[]): unknown[] {
  return errors.filter((error) => isStarlingError(error, 'STORE_EDIT_TOO_LARGE'))
}

describe('an oversized edit of a Yjs type', () => {
  it('is undone and reported; every key keeps working and a reopen shows the same', async () => {
    const path = tempDir()
    const { store, errors } = await openWithErrors(path)
    const text = await store.loadText('notes/big')
    text.insert(0, 'hello world')
    await store.set('k/before', 1)
    // A 100 MB paste over the selection "world" (the WAL takes 64 MiB records): the delete is
    // taken back too.
    const paste = 'x'.repeat(100 * 1024 * 1024)
    ;(await store.load('notes/big')).transact(() => {
      text.delete(6, 5)
      text.insert(6, paste)
    })
    expect(text.toJSON()).toBe('hello world')
    await store.flush()
    expect(refusals(errors)).toHaveLength(1)
    expect(refusals(errors)[0]).toMatchObject({
      details: { key: 'notes/big', editBytesMax: EDIT_BYTES_MAX },
    })
    expect(errors).toHaveLength(1) // no STORE_FAILED, no WAL error
    // The store, the same key and other keys work on.
    text.insert(11, '!')
    await store.set('k/after', 2)
    await store.transact(() => store.text('notes/other').insert(0, 'other'))
    expect(text.toJSON()).toBe('hello world!')
    expect(store.keys()).toEqual(['k/after', 'k/before', 'notes/big', 'notes/other'])
    // The WAL holds the edit and its undo as their net effect: a few bytes.
    expect(await largestRecord(store)).toBeLessThan(1024)
    await store.close()
    const again = await openWithErrors(path)
    expect((await again.store.loadText('notes/big')).toJSON()).toBe('hello world!')
    expect((await again.store.loadText('notes/other')).toJSON()).toBe('other')
    expect([again.store.get('k/before'), again.store.get('k/after')]).toEqual([1, 2])
    expect(again.errors).toEqual([])
    await again.store.close()
  })

  it('is undone in the middle of a long burst of edits, which are all kept', async () => {
    const path = tempDir()
    const { store, errors } = await openWithErrors(path)
    const text = await store.loadText('notes/burst')
    // Enough single-character edits in one turn for capture to switch to one window update.
    for (let i = 0; i < 3000; i++) text.insert(text.length, 'a')
    text.insert(10, huge)
    for (let i = 0; i < 3000; i++) text.insert(text.length, 'b')
    const expected = 'a'.repeat(3000) + 'b'.repeat(3000)
    expect(text.toJSON()).toBe(expected)
    await store.flush()
    expect(refusals(errors)).toHaveLength(1)
    expect(errors).toHaveLength(1)
    await store.close()
    const again = await openWithErrors(path)
    expect((await again.store.loadText('notes/burst')).toJSON()).toBe(expected)
    await again.store.close()
  })

  it('is undone in every kind of document, also one that has not loaded yet', async () => {
    const path = tempDir()
    const first = await openWithErrors(path)
    await first.store.set('notes/stored', 'stored')
    await first.store.close()
    const { store, errors } = await openWithErrors(path)
    store.text('notes/stored').insert(0, huge) // before its stored state is in
    const board = await store.loadMap('boards/b')
    board.set('a', 'small')
    board.set('a', huge) // the overwritten value comes back
    const nested = new Y.Map<unknown>()
    nested.set('deep', huge)
    board.set('b', nested)
    const page = await store.loadXml('pages/p')
    page.insert(0, [new Y.XmlText('para')])
    page.insert(1, [new Y.XmlText(huge)])
    await store.flush()
    expect(refusals(errors)).toHaveLength(4)
    expect(errors).toHaveLength(4)
    const shown = async (s: Store) => [
      (await s.loadText('notes/stored')).toJSON(),
      (await s.loadMap('boards/b')).toJSON(),
      (await s.loadXml('pages/p')).toJSON(),
    ]
    const expected = ['stored', { a: 'small' }, 'para']
    expect(await shown(store)).toEqual(expected)
    await store.close()
    const again = await openWithErrors(path)
    expect(await shown(again.store)).toEqual(expected)
    await again.store.close()
  })

  it('in transact(): the oversized edit is undone, the rest kept, and the promise rejects', async () => {
    const path = tempDir()
    const { store } = await openWithErrors(path)
    await expect(
      store.transact(() => {
        store.text('notes/kept').insert(0, 'kept')
        store.text('notes/huge').insert(0, huge)
      }),
    ).rejects.toMatchObject({ code: 'STORE_EDIT_TOO_LARGE', details: { key: 'notes/huge' } })
    expect(store.keys()).toEqual(['notes/kept'])
    expect(store.text('notes/huge').toJSON()).toBe('')
    // Several edits that are each small but together too large for one record: the last goes.
    await expect(
      store.transact(() => {
        const list = store.array('lists/l')
        for (let i = 0; i < 3; i++) list.push([huge.slice(0, EDIT_BYTES_MAX / 2)])
      }),
    ).rejects.toMatchObject({ code: 'STORE_EDIT_TOO_LARGE' })
    expect(store.array('lists/l').length).toBe(1)
    await store.close()
    const again = await openWithErrors(path)
    expect(again.store.keys()).toEqual(['lists/l', 'notes/kept'])
    expect((await again.store.loadText('notes/kept')).toJSON()).toBe('kept')
    expect((await again.store.loadArray('lists/l')).length).toBe(1)
    await again.store.close()
  })

  it('reaches a peer as its net effect: both sides hold the same document', async () => {
    const net = createMemoryNetwork()
    const a = await openWithErrors()
    const b = await openWithErrors()
    const nodes = [a, b].map(({ store }, i) =>
      startSync(store, { transport: net.transport(i === 0 ? 'a' : 'b') }),
    )
    const text = await a.store.loadText('notes/p')
    text.insert(0, 'shared')
    text.insert(3, huge)
    await Promise.all(nodes.map((node) => node.whenAcked()))
    await Promise.all(nodes.map((node) => node.whenSynced()))
    expect((await b.store.loadText('notes/p')).toJSON()).toBe('shared')
    expect(refusals(a.errors)).toHaveLength(1)
    expect(b.errors).toEqual([])
    await Promise.all(nodes.map((node) => node.close()))
    await Promise.all([a.store.close(), b.store.close()])
  })
})

describe('set() with a value too large', () => {
  it('rejects with a typed error before anything is applied', async () => {
    const { store, errors } = await openWithErrors()
    await store.set('k/small', 'fine')
    const lsn = storeInternalsOf(store).wal.lastLsn
    // Over the value limit (1 MiB of JSON): INVALID_ARGUMENT, for registers and CRDT keys alike.
    const big = huge.slice(0, 2 * 1024 * 1024)
    for (const key of ['k/big', 'notes/big', 'lists/big']) {
      const value = key.startsWith('lists/') ? [big] : big
      await expect(store.set(key, value)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' })
    }
    // Within the value limit but too large for the record it would share: STORE_EDIT_TOO_LARGE.
    const text = store.text('notes/near-full')
    let refused: Promise<void> | undefined
    await store.transact(() => {
      text.insert(0, huge.slice(0, EDIT_BYTES_MAX - 1000))
      refused = store.set('k/late', huge.slice(0, 500_000))
      refused.catch(() => undefined) // awaited below, after the transaction
    })
    await expect(refused).rejects.toMatchObject({
      code: 'STORE_EDIT_TOO_LARGE',
      details: { key: 'k/late' },
    })
    expect(text.length).toBe(EDIT_BYTES_MAX - 1000)
    expect(store.keys()).toEqual(['k/small', 'notes/near-full'])
    expect(storeInternalsOf(store).wal.lastLsn).toBe(lsn + 1)
    expect(errors).toEqual([])
    await store.set('k/late', 'small after all')
    expect(store.get('k/late')).toBe('small after all')
    await store.close()
  })
})
