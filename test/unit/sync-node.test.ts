/**
 * Sync between real stores over the in-memory transport: handshake, log shipping, relay along a
 * chain, dedupe, catch-up by state vectors when the log was truncated, invalid content refused,
 * acks only after durability, status and promises, awareness.
 */
import { afterEach, describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { createMemoryNetwork, type MemoryNetwork } from '../../adapters/transport-memory/index.js'
import { crc32c } from '../../src/core/crc32c.js'
import { isStarlingError } from '../../src/core/errors.js'
import { createStore, crdt, lww, type Store } from '../../src/index.js'
import { encodeUpdates } from '../../src/store/record-codec.js'
import { REMOTE_RECORD_TYPE } from '../../src/store/remote.js'
import { encodeFrame } from '../../src/sync/frames.js'
import { startSync, type SyncNode } from '../../src/sync/node.js'
import type { SyncEvent } from '../../src/sync/engine.js'
import type { SyncLimits } from '../../src/sync/protocol.js'
import { turns } from '../support/turns.js'

const policies = { 'notes/*': crdt('text'), 'settings/**': lww() }
const open: { stores: Store[]; nodes: SyncNode[] } = { stores: [], nodes: [] }

afterEach(async () => {
  await Promise.all(open.nodes.map((node) => node.close()))
  await Promise.all(open.stores.map((store) => store.close()))
  open.stores = []
  open.nodes = []
})

async function peer(
  net: MemoryNetwork,
  id: string,
  options: object = {},
  limits: Partial<SyncLimits> = {},
) {
  const store = await createStore({ policies, ...options })
  const node = startSync(store, { transport: net.transport(id), limits })
  const events: SyncEvent[] = []
  const errors: unknown[] = []
  node.on('event', (event) => events.push(event))
  node.on('error', (error) => errors.push(error))
  open.stores.push(store)
  open.nodes.push(node)
  return { store, node, events, errors }
}

async function textOf(store: Store, key: string): Promise<string> {
  return (await store.load(key)).getText('value').toJSON()
}

async function settle(...nodes: SyncNode[]): Promise<void> {
  for (let round = 0; round < 3; round++) {
    await Promise.all(nodes.map((node) => node.whenSynced()))
    await turns()
  }
}

describe('sync over the memory transport', () => {
  it('two stores exchange registers and documents both ways and end identical', async () => {
    const net = createMemoryNetwork()
    const a = await peer(net, 'a')
    const b = await peer(net, 'b')
    a.store.text('notes/1').insert(0, 'from a')
    await a.store.set('settings/theme', 'dark')
    b.store.text('notes/2').insert(0, 'from b')
    await b.store.set('settings/font', 'mono')
    await settle(a.node, b.node)
    for (const { store } of [a, b]) {
      expect(store.keys()).toEqual(['notes/1', 'notes/2', 'settings/font', 'settings/theme'])
      expect(await textOf(store, 'notes/1')).toBe('from a')
      expect(await textOf(store, 'notes/2')).toBe('from b')
      expect(store.get('settings/theme')).toBe('dark')
    }
    expect(a.errors).toEqual([])
    await a.store.whenSynced()
    expect(a.node.status.state).toBe('synced')
    expect(a.node.status.pending).toBe(0)
  })

  it('relays along a chain a–b–c, and relayed content is not echoed back forever', async () => {
    const net = createMemoryNetwork({ autoConnect: false })
    const a = await peer(net, 'a')
    const b = await peer(net, 'b')
    const c = await peer(net, 'c')
    net.link('a', 'b')
    net.link('b', 'c')
    for (let i = 0; i < 20; i++) {
      a.store.text('notes/a').insert(0, 'a')
      c.store.text('notes/c').insert(0, 'c')
      await Promise.all([a.store.flush(), c.store.flush()])
    }
    await settle(a.node, b.node, c.node)
    for (const { store } of [a, b, c]) {
      expect(await textOf(store, 'notes/a')).toBe('a'.repeat(20))
      expect(await textOf(store, 'notes/c')).toBe('c'.repeat(20))
    }
    // Each node's log holds each remote write at most once: 20 + 20 records, not a loop.
    const lastLsn = a.store.wal.lastLsn
    await new Promise((resolve) => setTimeout(resolve, 50))
    expect(a.store.wal.lastLsn).toBe(lastLsn)
    expect(b.store.wal.lastLsn).toBeLessThanOrEqual(42)
  })

  it('acks a remote batch only once it is durable in the receiver log (I3)', async () => {
    const net = createMemoryNetwork()
    const a = await peer(net, 'a')
    const b = await peer(net, 'b')
    await a.store.set('settings/x', 1)
    const lsn = a.store.wal.durableLsn
    await a.node.whenAcked(lsn)
    const acked = a.events.find((e) => e.type === 'acked')
    expect(acked).toBeDefined()
    // B's WAL holds a remote record for it, durable.
    const records = []
    for await (const record of b.store.wal.read()) records.push(record)
    expect(records.some((r) => r.type === REMOTE_RECORD_TYPE)).toBe(true)
    expect(b.store.wal.durableLsn).toBe(b.store.wal.lastLsn)
    expect(a.node.writeStatus(lsn)).toMatchObject({ durable: true, ackedBy: [b.store.nodeId] })
  })

  it('a peer far behind catches up by state vectors, sending the difference only', async () => {
    const net = createMemoryNetwork({ autoConnect: false })
    const a = await peer(net, 'a', {}, { catchUpRecordsMin: 50 })
    const b = await peer(net, 'b')
    const text = a.store.text('notes/long')
    for (let i = 0; i < 200; i++) {
      text.insert(text.length, `line ${i}\n`)
      if (i % 3 === 0) text.delete(0, 2)
      await a.store.flush()
    }
    await a.store.checkpoint()
    net.link('a', 'b')
    await settle(a.node, b.node)
    expect(await textOf(b.store, 'notes/long')).toBe(text.toJSON())
    expect(a.events.some((e) => e.type === 'catch-up' && e.direction === 'out')).toBe(true)
    const docA = await a.store.load('notes/long')
    const docB = await b.store.load('notes/long')
    expect(Y.encodeStateVector(docB)).toEqual(Y.encodeStateVector(docA))
    // Shipped about the state's size, not the 200 records' updates.
    const shipped = net.stats().find((s) => s.from === 'a' && s.to === 'b')?.bytesDelivered ?? 0
    expect(shipped).toBeLessThan(Y.encodeStateAsUpdate(docA).length * 1.5 + 4096)
  })

  it('a peer whose cursor lies in the truncated part of the log catches up by state vectors', async () => {
    const net = createMemoryNetwork({ autoConnect: false })
    const a = await peer(net, 'a', { walSegmentBytes: 4096, syncRetainRecords: 1 })
    const b = await peer(net, 'b')
    net.link('a', 'b')
    await a.store.set('settings/first', 1)
    await a.node.whenAcked()
    net.unlink('a', 'b')
    for (let i = 0; i < 300; i++) {
      a.store.text('notes/t').insert(0, `${i} `)
      await a.store.set(`settings/k${i % 5}`, i)
    }
    await a.store.checkpoint()
    const ackedByB = a.store.ledger.acked.get(b.store.nodeId) ?? 0
    expect(a.store.wal.firstLsn).toBeGreaterThan(ackedByB + 1)
    net.link('a', 'b')
    await settle(a.node, b.node)
    expect(
      a.events.some((e) => e.type === 'catch-up' && e.direction === 'out' && e.phase === 'done'),
    ).toBe(true)
    expect(await textOf(b.store, 'notes/t')).toBe(await textOf(a.store, 'notes/t'))
    for (let k = 0; k < 5; k++)
      expect(b.store.get(`settings/k${k}`)).toBe(a.store.get(`settings/k${k}`))
    expect(b.store.ledger.cursorOf(a.store.nodeId)).toBe(a.store.wal.durableLsn)
  })

  it('refuses a frame carrying an invalid update: typed error, nothing applied, counted', async () => {
    const net = createMemoryNetwork()
    const b = await peer(net, 'b')
    const evil = net.transport('evil')
    const received: Uint8Array[] = []
    evil.start({
      onPeerUp: () => undefined,
      onPeerDown: () => undefined,
      onMessage: (_peer, message) => received.push(message),
    })
    await turns()
    await turns()
    const peerB = 'b' as never
    evil.send(
      peerB,
      encodeFrame({ type: 'hello', protocolVersion: 1, nodeId: 'evil' as never, lastLsn: 1 }),
    )
    const payload = encodeUpdates([{ key: 'notes/1', update: new Uint8Array([1, 2, 3, 250]) }])
    evil.send(
      peerB,
      encodeFrame({
        type: 'records',
        fromLsn: 0,
        toLsn: 1,
        entries: [
          {
            lsn: 1,
            envelopes: [
              {
                origin: 'evil' as never,
                originLsn: 1,
                hlc: { wallMs: 0, counter: 0 },
                payload,
                crc: crc32c(payload),
              },
            ],
          },
        ],
      }),
    )
    await turns(10)
    expect(b.errors.some((e) => isStarlingError(e, 'SYNC_UPDATE_INVALID'))).toBe(true)
    expect(b.store.wal.lastLsn).toBe(0)
    expect(b.store.keys()).toEqual([])
    expect(b.node.status.peers.find((p) => p.peer === 'evil')?.badFrames).toBe(1)
  })

  it('drops a peer that keeps sending garbage', async () => {
    const net = createMemoryNetwork()
    const b = await peer(net, 'b')
    const evil = net.transport('evil')
    let down = false
    evil.start({
      onPeerUp: () => undefined,
      onPeerDown: () => (down = true),
      onMessage: () => undefined,
    })
    await turns(3)
    for (let i = 0; i < 20 && !down; i++) {
      try {
        evil.send('b' as never, new Uint8Array([0xa7, 1, 3, 0, 9, 9, 9, 9, 1, 2, 3, 4]))
      } catch (error) {
        if (!isStarlingError(error, 'TRANSPORT_CLOSED')) throw error
      }
      await turns()
    }
    expect(down).toBe(true)
    expect(b.errors.some((e) => isStarlingError(e, 'SYNC_PEER_DROPPED'))).toBe(true)
    expect(b.store.wal.lastLsn).toBe(0)
  })

  it('reports status transitions and resolves whenAcked with several peers', async () => {
    const net = createMemoryNetwork({ autoConnect: false })
    const a = await peer(net, 'a')
    const b = await peer(net, 'b')
    const c = await peer(net, 'c')
    const states: string[] = []
    a.node.on('status', (status) => states.push(status.state))
    net.link('a', 'b')
    net.link('a', 'c')
    await a.store.set('settings/x', 'y')
    await a.store.whenAcked(undefined, { peers: 2 })
    await settle(a.node, b.node, c.node)
    expect(states).toContain('syncing')
    expect(states.at(-1)).toBe('synced')
    net.unlink('a', 'b')
    net.unlink('a', 'c')
    await turns(3)
    expect(a.node.status.state).toBe('offline')
  })

  it.each(['batched', 'none'] as const)(
    'ships the newest write in %s durability once it is made durable',
    async (durability) => {
      const net = createMemoryNetwork()
      const a = await peer(net, 'a', { durability })
      const b = await peer(net, 'b')
      await settle(a.node, b.node)
      await a.store.set('settings/last', 'x')
      await a.node.whenAcked()
      expect(b.store.get('settings/last')).toBe('x')
      expect(a.store.wal.durableLsn).toBe(a.store.wal.lastLsn)
    },
  )

  it('after node.close(), status lists no peer as open and each got peer-closed', async () => {
    const net = createMemoryNetwork()
    const a = await peer(net, 'a')
    const b = await peer(net, 'b')
    await a.store.set('settings/x', 'y')
    await settle(a.node, b.node)
    expect(a.node.status.peers.map((p) => [p.peer, p.open])).toEqual([['b', true]])
    await a.node.close()
    expect(a.node.status.peers.filter((p) => p.open)).toEqual([])
    expect(a.node.status.state).toBe('offline')
    expect(a.events.filter((e) => e.type === 'peer-closed').map((e) => e.peer)).toEqual(['b'])
  })

  it('store.whenSynced() needs a running sync', async () => {
    const store = await createStore({ policies })
    open.stores.push(store)
    expect(() => store.whenSynced()).toThrow(expect.objectContaining({ code: 'SYNC_CLOSED' }))
  })

  it('relays awareness between peers and never writes it to the log', async () => {
    const net = createMemoryNetwork({ autoConnect: false })
    const a = await peer(net, 'a')
    const b = await peer(net, 'b')
    const c = await peer(net, 'c')
    net.link('a', 'b')
    net.link('b', 'c')
    await settle(a.node, b.node, c.node)
    const before = [a, b, c].map(({ store }) => store.wal.lastLsn)
    a.node.awareness.setLocalState({ user: 'ada', cursor: 3 })
    await turns(10)
    const seen = [...c.node.awareness.getStates().values()]
    expect(seen).toContainEqual({ user: 'ada', cursor: 3 })
    expect([a, b, c].map(({ store }) => store.wal.lastLsn)).toEqual(before)
  })
})
