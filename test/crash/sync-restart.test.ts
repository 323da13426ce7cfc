/**
 * Restart in the middle of sync, on the real disk: both stores close with records still unacked
 * (and one without a checkpoint), reopen from their directories, and sync resumes from the
 * persisted cursors — nothing acked is sent again, nothing unacked is forgotten, including
 * changes to documents nobody opened after the restart.
 */
import { cpSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { createMemoryNetwork } from '../../adapters/transport-memory/index.js'
import { createStore, crdt, lww, type Store } from '../../src/index.js'
import { decodeFrame } from '../../src/sync/frames.js'
import { startSync, type SyncNode } from '../../src/sync/node.js'
import type { SyncEvent } from '../../src/sync/engine.js'
import { tempDir } from '../support/tmp.js'
import { storeInternalsOf } from '../../src/store/internals.js'

const policies = { 'notes/*': crdt('text'), 'settings/**': lww() }

async function writeNotes(store: Store, from: number, to: number): Promise<void> {
  for (let i = from; i < to; i++) {
    store.text(`notes/${i % 7}`).insert(0, `${i};`)
    await store.flush()
  }
}

async function synced(...nodes: SyncNode[]): Promise<void> {
  for (let i = 0; i < 3; i++) {
    await Promise.all(nodes.map((node) => node.whenSynced()))
    await new Promise((resolve) => setImmediate(resolve))
  }
}

describe('restart in the middle of sync (real disk)', () => {
  it('resumes from persisted cursors after both sides restart', async () => {
    const root = tempDir('starling-sync-restart-')
    const pathA = join(root, 'a')
    const pathB = join(root, 'b')
    let net = createMemoryNetwork({ autoConnect: false })
    let a = await createStore({ path: pathA, policies })
    let b = await createStore({ path: pathB, policies })
    let syncA = startSync(a, { transport: net.transport('a') })
    let syncB = startSync(b, { transport: net.transport('b') })
    net.link('a', 'b')
    await writeNotes(a, 0, 60)
    await syncA.whenAcked()
    const ackedBefore = storeInternalsOf(a).wal.durableLsn
    expect(ackedBefore).toBe(60) // one record per write
    const nodeA = a.nodeId
    const cursorBefore = storeInternalsOf(b).ledger.cursorOf(nodeA)
    expect(cursorBefore).toBe(ackedBefore)

    // B goes away; A keeps writing: these records are pending for B.
    net.unlink('a', 'b')
    await writeNotes(a, 60, 100)
    const expected = await Promise.all(
      Array.from({ length: 7 }, async (_, i) =>
        (await a.load(`notes/${i}`)).getText('value').toJSON(),
      ),
    )
    await Promise.all([syncA.close(), syncB.close()])
    await a.close() // with a checkpoint: the acked cursor goes into storage
    await b.close({ checkpoint: false }) // without: B's cursor comes back from its WAL

    // What A ships to B after the restart: the LSNs of every RECORDS frame's entries.
    const shipped: { fromLsn: number; toLsn: number; lsns: number[] }[] = []
    net = createMemoryNetwork({
      autoConnect: false,
      faults: (from, _to, message) => {
        const frame = decodeFrame(message)
        if (from === 'a' && frame.type === 'records') {
          const { fromLsn, toLsn, entries } = frame
          shipped.push({ fromLsn, toLsn, lsns: entries.map((entry) => entry.lsn) })
        }
        return undefined
      },
    })
    a = await createStore({ path: pathA, policies })
    b = await createStore({ path: pathB, policies })
    expect(storeInternalsOf(b).ledger.cursorOf(nodeA)).toBe(cursorBefore)
    expect(storeInternalsOf(a).ledger.acked.get(b.nodeId)).toBe(ackedBefore)
    // The WAL kept what B has not acknowledged (log retention for known peers).
    expect(storeInternalsOf(a).wal.firstLsn).toBeLessThanOrEqual(ackedBefore + 1)
    // Ack timeouts far beyond the test's run: a resend could only come from a wrong cursor.
    const limits = { ackTimeoutMs: 600_000, ackTimeoutMsMax: 600_000 }
    syncA = startSync(a, { transport: net.transport('a'), limits })
    syncB = startSync(b, { transport: net.transport('b'), limits })
    const retries: SyncEvent[] = []
    syncA.on('event', (event) => {
      if (event.type === 'retry') retries.push(event)
    })
    net.link('a', 'b')
    await synced(syncA, syncB)

    // Nothing acked before the restart was sent again, everything after it exactly once: the
    // first frame starts at B's persisted cursor (60), and the frames carry LSNs 61..100.
    expect(retries).toEqual([])
    expect(shipped[0]?.fromLsn).toBe(ackedBefore)
    expect(shipped.flatMap((frame) => frame.lsns)).toEqual(
      Array.from({ length: 40 }, (_, i) => ackedBefore + 1 + i),
    )
    expect(shipped.at(-1)?.toLsn).toBe(storeInternalsOf(a).wal.durableLsn)
    expect(storeInternalsOf(a).wal.durableLsn).toBe(ackedBefore + 40)
    // Nothing unacked was forgotten, though no document of A was opened after the restart.
    for (let i = 0; i < 7; i++) {
      expect((await b.load(`notes/${i}`)).getText('value').toJSON()).toBe(expected[i])
    }
    expect(storeInternalsOf(b).ledger.cursorOf(nodeA)).toBe(storeInternalsOf(a).wal.durableLsn)
    await Promise.all([syncA.close(), syncB.close()])
    await Promise.all([a.close(), b.close()])
  })
})

describe('a store restored from an older copy of its directory (real disk)', () => {
  it('refuses to sync with a peer that holds more of its log (SYNC_LOG_REWOUND); the peer takes nothing of it', async () => {
    const root = tempDir('starling-sync-rewound-')
    const pathA = join(root, 'a')
    const backup = join(root, 'a-backup')
    const net = createMemoryNetwork({ autoConnect: false })
    let a = await createStore({ path: pathA, policies })
    const b = await createStore({ path: join(root, 'b'), policies })
    await a.set('settings/before-backup', 1)
    await a.close({ checkpoint: false })
    cpSync(pathA, backup, { recursive: true })

    // Life goes on after the backup: B receives and acknowledges records 2..6 of A's log.
    a = await createStore({ path: pathA, policies })
    let syncA = startSync(a, { transport: net.transport('a') })
    const syncB = startSync(b, { transport: net.transport('b') })
    net.link('a', 'b')
    for (let i = 0; i < 5; i++) await a.set(`settings/after-backup-${i}`, i)
    await syncA.whenAcked()
    const held = storeInternalsOf(b).ledger.cursorOf(a.nodeId)
    net.unlink('a', 'b')
    await syncA.close()
    await a.close({ checkpoint: false })

    // The directory is restored from the backup; a new write takes an LSN B already holds.
    rmSync(pathA, { recursive: true, force: true })
    cpSync(backup, pathA, { recursive: true })
    a = await createStore({ path: pathA, policies })
    expect(storeInternalsOf(a).wal.lastLsn).toBeLessThan(held)
    await a.set('settings/after-restore', 'must not vanish silently')
    expect(storeInternalsOf(a).wal.lastLsn).toBeLessThanOrEqual(held)

    const errorsA: string[] = []
    syncA = startSync(a, { transport: net.transport('a') })
    syncA.on('error', (error) => errorsA.push((error as { code?: string }).code ?? String(error)))
    net.link('a', 'b')
    for (let i = 0; i < 50 && errorsA.length === 0; i++)
      await new Promise((resolve) => setImmediate(resolve))
    expect(errorsA).toContain('SYNC_LOG_REWOUND')
    await new Promise((resolve) => setImmediate(resolve))
    // Nothing of the restored log was taken as a duplicate of what B holds.
    expect(b.get('settings/after-restore')).toBeUndefined()
    expect(storeInternalsOf(b).ledger.cursorOf(a.nodeId)).toBe(held)
    await Promise.all([syncA.close(), syncB.close()])
    await Promise.all([a.close(), b.close()])
  })
})
