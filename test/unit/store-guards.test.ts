/**
 * Calls a store refuses without harm: keys that are not well-formed UTF-16 (a lone surrogate
 * would come back as U+FFFD — another key — after a reopen or on a peer) at every entry point,
 * and every method after `close()` (STORE_CLOSED).
 */
import { describe, expect, it } from 'vitest'
import { createStore, crdt, lww, type Store } from '../../src/index.js'
import { assertKey } from '../../src/store/keys.js'
import { expectInvalidArgument } from '../support/errors.js'
import { tempDir } from '../support/tmp.js'
import { storeInternalsOf } from '../../src/store/internals.js'

const policies = {
  'notes/**': crdt('text'),
  'boards/*': crdt('map'),
  'lists/*': crdt('array'),
  'pages/*': crdt('xml'),
  'k/**': lww(),
}

/** The code of what `call` throws or rejects with (undefined when it succeeds). */
async function codeOf(call: () => unknown): Promise<unknown> {
  try {
    await call()
  } catch (error) {
    return (error as { code?: unknown }).code
  }
  return undefined
}

/** Every public entry point that takes a key, called with `key`. */
function keyCalls(store: Store, key: string): Record<string, () => unknown> {
  return {
    set: () => store.set(key, 'v'),
    get: () => store.get(key),
    has: () => store.has(key),
    delete: () => store.delete(key),
    load: () => store.load(key),
    isLoaded: () => store.isLoaded(key),
    text: () => store.text(key),
    map: () => store.map(key),
    array: () => store.array(key),
    xml: () => store.xml(key),
    loadText: () => store.loadText(key),
    loadMap: () => store.loadMap(key),
    loadArray: () => store.loadArray(key),
    loadXml: () => store.loadXml(key),
    keysPrefix: () => store.keys(key),
    transact: () => store.transact(() => store.text(key).insert(0, 'x')),
  }
}

describe('keys must be well-formed UTF-16', () => {
  const bad = ['notes/\uDC00x', 'k/\uD800', 'boards/\uD83D', 'lists/a\uDE00', 'pages/\uDFFF\uD800']

  it('assertKey, the one validator (the sync layer uses it too), refuses lone surrogates', () => {
    for (const key of bad) expectInvalidArgument(() => assertKey(key, 'sync'))
    // Surrogate pairs are well-formed: an emoji is a fine key.
    expect(() => assertKey('notes/\uD83D\uDE00', 'sync')).not.toThrow()
  })

  it('every entry point refuses them with INVALID_ARGUMENT and the store keeps working', async () => {
    const path = tempDir()
    const store = await createStore({ path, policies })
    const errors: unknown[] = []
    store.on('error', (error) => errors.push(error))
    for (const key of bad) {
      for (const [name, call] of Object.entries(keyCalls(store, key)))
        expect([name, await codeOf(call)]).toEqual([name, 'INVALID_ARGUMENT'])
    }
    // Nothing was recorded, no background load failed the store.
    await store.flush()
    expect(storeInternalsOf(store).wal.lastLsn).toBe(0)
    expect(errors).toEqual([])
    await store.set('k/\uD83D\uDE00', 'emoji')
    ;(await store.loadText('notes/\uD83D\uDE00')).insert(0, 'still working')
    await store.close()
    const again = await createStore({ path, policies })
    expect(again.keys()).toEqual(['k/\uD83D\uDE00', 'notes/\uD83D\uDE00'])
    expect(again.get('k/\uD83D\uDE00')).toBe('emoji')
    expect((await again.loadText('notes/\uD83D\uDE00')).toJSON()).toBe('still working')
    await again.close()
  })
})

describe('after close()', () => {
  it('every method throws or rejects with STORE_CLOSED', async () => {
    const store = await createStore({ policies })
    await store.set('k/a', 1)
    await store.set('notes/a', 'text')
    await store.close()
    const calls: Record<string, () => unknown> = {
      ...keyCalls(store, 'notes/a'),
      set: () => store.set('k/a', 2),
      get: () => store.get('k/a'),
      has: () => store.has('k/a'),
      delete: () => store.delete('k/a'),
      map: () => store.map('boards/a'),
      array: () => store.array('lists/a'),
      xml: () => store.xml('pages/a'),
      loadMap: () => store.loadMap('boards/a'),
      loadArray: () => store.loadArray('lists/a'),
      loadXml: () => store.loadXml('pages/a'),
      keys: () => store.keys(),
      conflicts: () => store.conflicts(),
      policyMismatches: () => store.policyMismatches(),
      onChange: () => store.on('change', () => undefined),
      onError: () => store.on('error', () => undefined),
      transact: () => store.transact(() => undefined),
      flush: () => store.flush(),
      checkpoint: () => store.checkpoint(),
      whenSynced: () => store.whenSynced(),
      whenAcked: () => store.whenAcked(),
    }
    for (const [name, call] of Object.entries(calls))
      expect([name, await codeOf(call)]).toEqual([name, 'STORE_CLOSED'])
    // close() itself stays idempotent.
    await expect(store.close()).resolves.toBeUndefined()
  })
})
