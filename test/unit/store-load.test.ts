/**
 * Reading a CRDT key after a reopen: the awaited accessors (`loadText`, `loadMap`, `loadArray`,
 * `loadXml`) hand out the type with its stored state in it, and `isLoaded` tells a document that
 * is still loading from an empty one.
 */
import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { createStore, crdt } from '../../src/index.js'
import { tempDir } from '../support/tmp.js'

const policies = {
  'notes/*': crdt('text'),
  'boards/*': crdt('map'),
  'lists/*': crdt('array'),
  'pages/*': crdt('xml'),
}

async function storeWithContent(path: string): Promise<void> {
  const store = await createStore({ path, policies })
  await store.set('notes/a', 'stored note')
  await store.set('boards/b', { todo: 1 })
  await store.set('lists/c', ['x', 'y'])
  const page = await store.loadXml('pages/d')
  page.insert(0, [new Y.XmlText('para')])
  await store.flush()
  await store.close()
}

describe('loading CRDT keys after a reopen', () => {
  it('the awaited accessors resolve with the stored content', async () => {
    const path = tempDir()
    await storeWithContent(path)
    const store = await createStore({ path, policies })
    expect((await store.loadText('notes/a')).toJSON()).toBe('stored note')
    expect((await store.loadMap('boards/b')).toJSON()).toEqual({ todo: 1 })
    expect((await store.loadArray('lists/c')).toJSON()).toEqual(['x', 'y'])
    expect((await store.loadXml('pages/d')).toJSON()).toBe('para')
    // They hand out the same type as the synchronous accessors (an editor binds either).
    expect(await store.loadText('notes/a')).toBe(store.text('notes/a'))
    await store.close()
  })

  it('isLoaded tells a document still loading from an empty one', async () => {
    const path = tempDir()
    await storeWithContent(path)
    const store = await createStore({ path, policies })
    expect(store.isLoaded('notes/a')).toBe(false)
    // The risk the synchronous accessor carries: right after a reopen it looks empty.
    const early = store.text('notes/a')
    expect(store.isLoaded('notes/a')).toBe(false)
    expect(early.toJSON()).toBe('')
    await store.loadText('notes/a')
    expect(store.isLoaded('notes/a')).toBe(true)
    expect(early.toJSON()).toBe('stored note')
    // A key never written loads as empty, and says it is loaded.
    expect((await store.loadText('notes/new')).toJSON()).toBe('')
    expect(store.isLoaded('notes/new')).toBe(true)
    expect(store.has('notes/new')).toBe(false)
    await store.close()
  })

  it('the awaited accessors check the key kind like the synchronous ones', async () => {
    const store = await createStore({ policies })
    await expect(store.loadMap('notes/a')).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' })
    await expect(store.loadText('other/a')).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' })
    expect(() => store.isLoaded('other/a')).toThrow(/register, not a CRDT document/)
    await store.close()
  })
})
