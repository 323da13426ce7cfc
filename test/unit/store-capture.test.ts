/**
 * Capture windows (src/store/capture.ts): a long burst of edits typed without yielding is logged
 * as window updates instead of one update per transaction, and still replays to exactly the same
 * document; `store.transact()` stays one record; content applied with a store origin (loaded or
 * received) never appears in a captured update.
 */
import * as Y from 'yjs'
import { describe, expect, it } from 'vitest'
import { createStore, crdt, type Store } from '../../src/index.js'
import { REMOTE_ORIGIN, isLocalOrigin, LOAD_ORIGIN } from '../../src/store/docs.js'
import { decodeUpdates, type DocUpdate } from '../../src/store/record-codec.js'
import { tempDir } from '../support/tmp.js'
import { storeInternalsOf } from '../../src/store/internals.js'

const policies = { 'notes/*': crdt('text') }

/** Every update the store logged, in order. */
async function logged(store: Store): Promise<DocUpdate[]> {
  const updates: DocUpdate[] = []
  for await (const record of storeInternalsOf(store).wal.read(storeInternalsOf(store).wal.firstLsn))
    updates.push(...decodeUpdates(record.payload))
  return updates
}

/** Types `count` small edits into `text`, one transaction each, without yielding. */
function typeBurst(text: Y.Text, count: number, seed: number): void {
  for (let i = 0; i < count; i++) {
    const at = (i * 7919 + seed) % (text.length + 1)
    if (i % 5 === 4 && text.length > 2) text.delete(at % (text.length - 1), 1)
    else text.insert(at, String.fromCharCode(97 + ((i + seed) % 26)))
  }
}

describe('capture windows', () => {
  it('log a long burst as few updates that replay to the same text', async () => {
    const path = tempDir()
    const store = await createStore({ path, policies })
    const text = store.text('notes/a')
    await store.load('notes/a')
    typeBurst(text, 20_000, 1)
    await store.flush()
    typeBurst(text, 3, 2) // a short window: per-transaction updates
    await store.transact(() => typeBurst(text, 5000, 3))
    const records = store.stats.lastLsn
    const expected = text.toJSON()
    const updates = await logged(store)
    expect(updates.length).toBeLessThan(2000)
    await store.close({ checkpoint: false })
    expect(records).toBeLessThan(10)

    const replayed = await createStore({ path, policies })
    await replayed.load('notes/a')
    expect(replayed.text('notes/a').toJSON()).toBe(expected)
    await replayed.close()
  })

  it('never capture loaded or received content, even in the middle of a burst', async () => {
    const store = await createStore({ policies })
    const text = store.text('notes/a')
    const doc = await store.load('notes/a')
    const peer = new Y.Doc()
    peer.getText('value').insert(0, 'remote content')
    typeBurst(text, 10_000, 4) // switched to a window by now
    Y.applyUpdate(doc, Y.encodeStateAsUpdate(peer), REMOTE_ORIGIN)
    typeBurst(text, 10_000, 5)
    await store.flush()
    const clients = new Set<number>()
    for (const { key, update } of await logged(store)) {
      if (key !== 'notes/a') continue
      for (const struct of Y.decodeUpdate(update).structs) clients.add(struct.id.client)
    }
    expect(clients).toEqual(new Set([doc.clientID]))
    // Replaying what was logged over the received content gives the same document.
    const copy = new Y.Doc()
    Y.applyUpdate(copy, Y.encodeStateAsUpdate(peer))
    for (const { key, update } of await logged(store))
      if (key === 'notes/a') Y.applyUpdate(copy, update)
    expect(copy.getText('value').toJSON()).toBe(text.toJSON())
    await store.close()
  })

  it('treat only the store origins as not local', () => {
    expect(isLocalOrigin(LOAD_ORIGIN)).toBe(false)
    expect(isLocalOrigin(REMOTE_ORIGIN)).toBe(false)
    for (const origin of [null, undefined, 'peer', Symbol('editor'), {}]) {
      expect(isLocalOrigin(origin)).toBe(true)
    }
  })
})
