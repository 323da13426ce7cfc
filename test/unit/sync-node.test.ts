/**
 * Sync between real stores over the in-memory transport: handshake, log shipping, relay along a
 * chain, dedupe, catch-up by state vectors when the log was truncated, invalid content refused,
 * acks only after durability, status and promises, awareness.
 */
import { afterEach, describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { createMemoryNetwork, type MemoryNetwork } from '../../adapters/transport-memory/index.js'
import { crc32c } from '../../src/core/crc32c.js'
import type { Env } from '../../src/core/env.js'
import { isStarlingError } from '../../src/core/errors.js'
import { createMemoryStorage } from '../../adapters/storage-memory/index.js'
import { createStore, crdt, lww, openStore, type Store } from '../../src/index.js'
import { encodeUpdates } from '../../src/store/record-codec.js'
import { REMOTE_RECORD_TYPE, decodeRemoteRecord } from '../../src/store/remote.js'
import { decodeFrame, encodeFrame } from '../../src/sync/frames.js'
import { startSync, type SyncNode } from '../../src/sync/node.js'
import type { SyncEvent } from '../../src/sync/engine.js'
import type { SyncLimits } from '../../src/sync/protocol.js'
import { createSimFs } from '../../src/testing/sim-fs.js'
import { createVirtualEnv } from '../../src/testing/virtual-env.js'
import { createGatedFileLayer, type GatedFileLayer } from '../support/gated-file-layer.js'
import { runUntilQuiet } from '../support/quiesce.js'
import { turns } from '../support/turns.js'
import { storeInternalsOf } from '../../src/store/internals.js'

const policies = { 'notes/*': crdt('text'), 'settings/**': lww() }
const open: { stores: Store[]; nodes: SyncNode[]; gates: GatedFileLayer[] } = {
  stores: [],
  nodes: [],
  gates: [],
}

afterEach(async () => {
  // A test that stopped with a disk's gate closed would leave its store unable to close.
  for (const gate of open.gates) gate.open()
  open.gates = []
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
  const env = (options as { env?: Env }).env
  const node = startSync(store, { transport: net.transport(id), limits, ...(env && { env }) })
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

  it('relays along a chain a–b–c, and relayed content is not echoed back: exact counts, then quiet', async () => {
    // Virtual time: every delivery is a timer on `env`; the run goes on until no timer is
    // pending, so "no echo" is shown by the system falling silent, not by waiting.
    const env = createVirtualEnv({ seed: 11 })
    const envelopes = new Map<string, number>()
    const net = createMemoryNetwork({
      env,
      autoConnect: false,
      faults: (from, to, message) => {
        const frame = decodeFrame(message)
        if (frame.type === 'records') {
          const count = frame.entries.reduce((sum, entry) => sum + entry.envelopes.length, 0)
          envelopes.set(`${from}>${to}`, (envelopes.get(`${from}>${to}`) ?? 0) + count)
        }
        return undefined
      },
    })
    const a = await peer(net, 'a', { env })
    const b = await peer(net, 'b', { env })
    const c = await peer(net, 'c', { env })
    const lsns = () => [a, b, c].map(({ store }) => storeInternalsOf(store).wal.lastLsn)
    const signature = () => JSON.stringify([lsns(), net.stats(), net.inFlight()])
    net.link('a', 'b')
    net.link('b', 'c')
    await runUntilQuiet(env, signature)
    for (let i = 0; i < 20; i++) {
      a.store.text('notes/a').insert(0, 'a')
      c.store.text('notes/c').insert(0, 'c')
      await Promise.all([a.store.flush(), c.store.flush()])
      await runUntilQuiet(env, signature)
    }
    for (const { store } of [a, b, c]) {
      expect(await textOf(store, 'notes/a')).toBe('a'.repeat(20))
      expect(await textOf(store, 'notes/c')).toBe('c'.repeat(20))
    }
    // Each log holds each write exactly once: a and c 20 own + 20 remote records, b one remote
    // record per write it received (20 + 20); what comes back is recognised and not written.
    expect(lsns()).toEqual([40, 40, 40])
    // Each write crosses each link in each direction at most once: a's 20 go a>b and b>c, and
    // come back c>b once (c relays everything it holds, b drops it as contained); b never
    // sends a node its own writes. The same for c's 20, mirrored.
    expect(Object.fromEntries(envelopes)).toEqual({ 'a>b': 40, 'b>a': 20, 'b>c': 20, 'c>b': 40 })
    // Quiet for good: nothing in flight, no timer armed, every write acknowledged.
    expect(net.inFlight()).toBe(0)
    expect(env.pendingTimers()).toBe(0)
    for (const { node, store } of [a, b, c])
      expect(
        node.status.peers.every((p) => p.acked === storeInternalsOf(store).wal.durableLsn),
      ).toBe(true)
    expect([a, b, c].flatMap(({ errors }) => errors)).toEqual([])
  })

  // I3 at a live node: the receiver's disk holds every durability point (fsync, O_DSYNC write)
  // behind a gate. While it is closed the remote record is written but cannot be durable, so no
  // ACK may leave; once it opens, the ACK must come, and only after the record's fdatasync. In
  // 'batched' and 'none' durability the append resolves before its fsync: the receiver must sync
  // before it acks. The companion (unsafe ack-before-durable) proves the harness sees an early ACK.
  it.each([
    ['sync', false],
    ['batched', false],
    ['none', false],
    ['sync, companion: acks before durability (must be seen)', true],
  ] as const)(
    'I3: acks a remote batch only once it is durable in the receiver log, fdatasynced (%s)',
    async (name, early) => {
      const durability = name.split(',')[0] as 'sync' | 'batched' | 'none'
      const env = createVirtualEnv({ seed: 3 })
      const disk = createGatedFileLayer()
      open.gates.push(disk)
      const a = await openStore(
        { policies, env },
        { walDir: '/a/wal', fs: createSimFs(), storage: createMemoryStorage() },
      )
      const b = await openStore(
        { policies, durability, env },
        { walDir: '/b/wal', fs: disk.fs, storage: createMemoryStorage() },
      )
      const acks: { cursor: number; gateOpen: boolean; durableLsn: number; points: number }[] = []
      const net = createMemoryNetwork({
        faults: (from, _to, message) => {
          const frame = decodeFrame(message)
          if (from === 'b' && frame.type === 'ack') {
            const { cursor } = frame
            const { durableLsn } = storeInternalsOf(b).wal
            acks.push({ cursor, gateOpen: disk.isOpen, durableLsn, points: disk.durabilityPoints })
          }
          return undefined
        },
      })
      open.stores.push(a, b)
      const nodeA = startSync(a, { transport: net.transport('a'), env })
      const nodeB = startSync(b, {
        transport: net.transport('b'),
        env,
        unsafe: { ackBeforeDurable: early },
      })
      open.nodes.push(nodeA, nodeB)
      await settle(nodeA, nodeB)

      disk.close()
      const pointsBefore = disk.durabilityPoints
      await a.set('settings/x', 1)
      const lsn = storeInternalsOf(a).wal.durableLsn
      for (let i = 0; i < 200 && storeInternalsOf(b).wal.lastLsn === 0; i++) await turns()
      // Written, not durable: the ACK for it must not have left (give a wrong one every chance).
      expect(storeInternalsOf(b).wal.lastLsn).toBe(1)
      await turns(30)
      expect(storeInternalsOf(b).wal.durableLsn).toBe(0)
      expect(disk.durabilityPoints).toBe(pointsBefore)
      expect(acks).toEqual(
        early ? [{ cursor: lsn, gateOpen: false, durableLsn: 0, points: pointsBefore }] : [],
      )
      if (early) return

      disk.open()
      await nodeA.whenAcked(lsn)
      // Exactly one ACK, sent after the record's durability point, with the record durable.
      expect(acks).toHaveLength(1)
      const [ack] = acks
      expect(ack).toMatchObject({ cursor: lsn, gateOpen: true, durableLsn: 1 })
      expect(ack?.points).toBeGreaterThan(pointsBefore)
      // The record is B's remote record holding A's batch and the cursor it reaches.
      const records = []
      for await (const record of storeInternalsOf(b).wal.read()) records.push(record)
      expect(records.map((r) => [r.lsn, r.type])).toEqual([[1, REMOTE_RECORD_TYPE]])
      const [record] = records
      if (record === undefined) throw new Error('no remote record')
      const remote = decodeRemoteRecord(record.payload)
      expect(remote).toMatchObject({ sender: a.nodeId, cursor: lsn })
      expect(remote.envelopes.map((e) => [e.origin, e.originLsn])).toEqual([[a.nodeId, lsn]])
      expect(nodeA.writeStatus(lsn)).toMatchObject({ durable: true, ackedBy: [b.nodeId] })
    },
  )

  it('I3: a catch-up round that lost a CATCHUP_DATA frame moves no cursor; the next round delivers the rest', async () => {
    const env = createVirtualEnv({ seed: 5 })
    let lost: string[] | undefined
    const atRound2: { cursor: number; acks: number }[] = []
    let acks = 0
    const live: { sender?: Store; receiver?: Store } = {}
    const net = createMemoryNetwork({
      env,
      autoConnect: false,
      faults: (from, _to, message) => {
        const frame = decodeFrame(message)
        if (from === 'b' && frame.type === 'ack') acks++
        const { sender, receiver } = live
        if (from !== 'a' || receiver === undefined || sender === undefined) return undefined
        if (frame.type === 'catchUpOffer' && frame.round === 2)
          atRound2.push({ cursor: storeInternalsOf(receiver).ledger.cursorOf(sender.nodeId), acks })
        if (frame.type === 'catchUpData' && frame.round === 1 && lost === undefined) {
          expect(frame.last).toBe(false)
          lost = frame.docs.map((doc) => doc.key)
          return { drop: true }
        }
        return undefined
      },
    })
    // One document per data frame; every gap is caught up by state vectors.
    const a = await peer(net, 'a', { env }, { catchUpRecordsMin: 0, batchBytesTarget: 1 })
    const b = await peer(net, 'b', { env })
    live.sender = a.store
    live.receiver = b.store
    for (const key of ['notes/0', 'notes/1', 'notes/2']) a.store.text(key).insert(0, key)
    await a.store.flush()
    const signature = () =>
      JSON.stringify([
        storeInternalsOf(a.store).wal.lastLsn,
        storeInternalsOf(b.store).wal.lastLsn,
        net.stats(),
        net.inFlight(),
      ])
    net.link('a', 'b')
    await runUntilQuiet(env, signature)

    expect(lost).toEqual(['notes/0'])
    // When round 2 began (round 1's deadline passed without an ack), B had not moved its
    // cursor to round 1's upTo, in memory or on disk, nor acked it.
    expect(atRound2).toEqual([{ cursor: 0, acks: 0 }])
    const rounds = a.events.filter(
      (e) => e.type === 'catch-up' && e.direction === 'out' && e.phase === 'start',
    )
    expect(rounds).toHaveLength(2)
    for (const key of ['notes/0', 'notes/1', 'notes/2'])
      expect(await textOf(b.store, key)).toBe(key)
    expect(storeInternalsOf(b.store).ledger.cursorOf(a.store.nodeId)).toBe(
      storeInternalsOf(a.store).wal.durableLsn,
    )
    expect(a.node.status.peers[0]).toMatchObject({
      mode: 'log',
      acked: storeInternalsOf(a.store).wal.durableLsn,
    })
    expect([...a.errors, ...b.errors]).toEqual([])
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
    const ackedByB = storeInternalsOf(a.store).ledger.acked.get(b.store.nodeId) ?? 0
    expect(storeInternalsOf(a.store).wal.firstLsn).toBeGreaterThan(ackedByB + 1)
    net.link('a', 'b')
    await settle(a.node, b.node)
    expect(
      a.events.some((e) => e.type === 'catch-up' && e.direction === 'out' && e.phase === 'done'),
    ).toBe(true)
    expect(await textOf(b.store, 'notes/t')).toBe(await textOf(a.store, 'notes/t'))
    for (let k = 0; k < 5; k++)
      expect(b.store.get(`settings/k${k}`)).toBe(a.store.get(`settings/k${k}`))
    expect(storeInternalsOf(b.store).ledger.cursorOf(a.store.nodeId)).toBe(
      storeInternalsOf(a.store).wal.durableLsn,
    )
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
    expect(storeInternalsOf(b.store).wal.lastLsn).toBe(0)
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
    expect(storeInternalsOf(b.store).wal.lastLsn).toBe(0)
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
      expect(storeInternalsOf(a.store).wal.durableLsn).toBe(storeInternalsOf(a.store).wal.lastLsn)
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
    const before = [a, b, c].map(({ store }) => storeInternalsOf(store).wal.lastLsn)
    a.node.awareness.setLocalState({ user: 'ada', cursor: 3 })
    await turns(10)
    const seen = [...c.node.awareness.getStates().values()]
    expect(seen).toContainEqual({ user: 'ada', cursor: 3 })
    expect([a, b, c].map(({ store }) => storeInternalsOf(store).wal.lastLsn)).toEqual(before)
  })
})
