/**
 * Real editing traces typed into `store.text()` (docs/testing.md): the text equals the trace's
 * `endContent` live, after close and reopen (from a checkpoint), and after a reopen that replays
 * the WAL; the concurrent trace, typed by two stores exchanging updates, converges to its
 * `endContent`.
 */
import * as Y from 'yjs'
import { describe, expect, it } from 'vitest'
import { createStore, crdt, type Store } from '../../src/index.js'
import { tempDir } from '../support/tmp.js'
import {
  SEQUENTIAL_TRACES,
  applyPatches,
  loadTrace,
  type ConcurrentTrace,
  type SequentialTrace,
} from '../support/traces.js'

const policies = { 'notes/*': crdt('text') }
const ORDER = [1, 2]

async function reopenText(path: string): Promise<{ store: Store; text: string }> {
  const store = await createStore({ path, policies })
  await store.load('notes/trace')
  return { store, text: store.text('notes/trace').toJSON() }
}

describe('sequential traces through store.text()', () => {
  for (const name of SEQUENTIAL_TRACES) {
    it(`${name}: live, after a checkpointed reopen, and after a WAL replay`, async () => {
      const trace = loadTrace<SequentialTrace>(name)
      const path = tempDir()
      const store = await createStore({ path, policies })
      const text = store.text('notes/trace')
      await store.load('notes/trace')
      // Typed in bursts, as an editor would: every 5,000 edits wait until durable.
      for (let i = 0; i < trace.txns.length; i++) {
        applyPatches(text, (trace.txns[i] as SequentialTrace['txns'][number]).patches)
        if (i % 5000 === 4999) await store.flush()
      }
      await store.flush()
      expect(text.toJSON()).toBe(trace.endContent)
      await store.close({ checkpoint: false })

      const replayed = await reopenText(path)
      expect(replayed.store.openReport?.replayedRecords).toBeGreaterThan(0)
      expect(replayed.text).toBe(trace.endContent)
      await replayed.store.close() // checkpoints

      const checkpointed = await reopenText(path)
      expect(checkpointed.store.openReport?.replayedRecords).toBe(0)
      expect(checkpointed.text).toBe(trace.endContent)
      await checkpointed.store.close()
    })
  }
})

describe('concurrent trace: two stores exchanging updates', () => {
  it('friendsforever converges to endContent on both', async () => {
    const trace = loadTrace<ConcurrentTrace>('concurrent/friendsforever.json.gz')
    const stores = [await createStore({ policies }), await createStore({ policies })]
    const docs = await Promise.all(stores.map((s) => s.load('notes/trace')))
    // Concurrent inserts at one position are ordered by Yjs client id; the trace's endContent was
    // made with agent 0 ordered before agent 1, so the replicas' ids follow the agent order.
    docs.forEach((doc, agent) => (doc.clientID = ORDER[agent] as number))
    const updates: Uint8Array[] = []
    const known = stores.map(() => new Uint8Array(trace.txns.length))
    for (let t = 0; t < trace.txns.length; t++) {
      const txn = trace.txns[t] as ConcurrentTrace['txns'][number]
      const doc = docs[txn.agent] as Y.Doc
      include(trace, txn.parents, known[txn.agent] as Uint8Array, (i) =>
        Y.applyUpdate(doc, updates[i] as Uint8Array, 'peer'),
      )
      let captured: Uint8Array | undefined
      const grab = (update: Uint8Array): void => void (captured = update)
      doc.on('update', grab)
      doc.transact(() => applyPatches(doc.getText('value'), txn.patches))
      doc.off('update', grab)
      updates[t] = captured ?? new Uint8Array([0, 0])
      ;(known[txn.agent] as Uint8Array)[t] = 1
    }
    for (const [a, doc] of docs.entries()) {
      for (let t = 0; t < updates.length; t++)
        if ((known[a] as Uint8Array)[t] === 0) Y.applyUpdate(doc, updates[t] as Uint8Array, 'peer')
    }
    await Promise.all(stores.map((s) => s.flush()))
    for (const store of stores) expect(store.text('notes/trace').toJSON()).toBe(trace.endContent)
    await Promise.all(stores.map((s) => s.close()))
  })
})

/** Applies, in order, every ancestor of `parents` that `known` does not have yet. */
function include(
  trace: ConcurrentTrace,
  parents: number[],
  known: Uint8Array,
  apply: (txn: number) => void,
): void {
  const missing: number[] = []
  const stack = parents.filter((p) => known[p] === 0)
  const seen = new Set<number>(stack)
  while (stack.length > 0) {
    const txn = stack.pop() as number
    missing.push(txn)
    for (const parent of (trace.txns[txn] as ConcurrentTrace['txns'][number]).parents) {
      if (known[parent] === 0 && !seen.has(parent)) {
        seen.add(parent)
        stack.push(parent)
      }
    }
  }
  for (const txn of missing.sort((a, b) => a - b)) {
    apply(txn)
    known[txn] = 1
  }
}
