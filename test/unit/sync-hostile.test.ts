/**
 * A peer cannot poison a store (I10): hostile frames into a live sync node over an on-disk store.
 * An update that decodes but cannot be applied is refused before anything is logged, applied or
 * relayed; catch-up frames with a key that is not a store key or a malformed state vector are
 * typed, counted refusals; a WAL that already holds an unappliable record opens with the record
 * quarantined.
 */
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { createMemoryNetwork, type MemoryNetwork } from '../../adapters/transport-memory/index.js'
import { isStarlingError } from '../../src/core/errors.js'
import { createStore, crdt, lww, type Store } from '../../src/index.js'
import { encodeUpdates } from '../../src/store/record-codec.js'
import { REMOTE_RECORD_TYPE, encodeRemoteRecord } from '../../src/store/remote.js'
import { toNodeId, type PeerId } from '../../src/core/ids.js'
import { SyncEngine, type Effect } from '../../src/sync/engine.js'
import { encodeFrame } from '../../src/sync/frames.js'
import { startSync, type SyncNode } from '../../src/sync/node.js'
import type { Frame } from '../../src/sync/protocol.js'
import { openWal } from '../../src/wal/index.js'
import {
  SELF_RIGHT_ORIGIN_UPDATE,
  envelopeOf,
  eventually,
  hostilePeer,
  textUpdate,
  walRecords,
} from '../support/hostile.js'
import { tempDir } from '../support/tmp.js'
import { turns } from '../support/turns.js'
import { storeInternalsOf } from '../../src/store/internals.js'

const policies = { 'notes/*': crdt('text'), 'doc/*': crdt('text'), 'settings/**': lww() }
const open: { stores: Store[]; nodes: SyncNode[] } = { stores: [], nodes: [] }

afterEach(async () => {
  await Promise.all(open.nodes.splice(0).map((node) => node.close()))
  await Promise.all(open.stores.splice(0).map((store) => store.close()))
})

async function diskPeer(net: MemoryNetwork, id: string, path = tempDir()) {
  const store = await createStore({ policies, path })
  const node = startSync(store, { transport: net.transport(id) })
  const errors: unknown[] = []
  const storeErrors: unknown[] = []
  node.on('error', (error) => errors.push(error))
  store.on('error', (error) => storeErrors.push(error))
  open.stores.push(store)
  open.nodes.push(node)
  return { store, node, errors, storeErrors, path }
}

function badFramesOf(node: SyncNode, peer: string): number | undefined {
  return node.status.peers.find((p) => p.peer === peer)?.badFrames
}

const codes = (errors: unknown[]) =>
  errors.map((e) => (isStarlingError(e) ? e.code : `untyped: ${String(e)}`))

describe('a peer cannot poison a store (I10)', () => {
  it('refuses a RECORDS batch whose second update cannot be applied: nothing logged, applied or relayed', async () => {
    const net = createMemoryNetwork({ autoConnect: false })
    const b = await diskPeer(net, 'b')
    const good = await diskPeer(net, 'good')
    net.link('b', 'good')
    const evil = await hostilePeer(net, 'evil', 'b')
    net.link('evil', 'b')
    await turns(5)
    await evil.hello(2)
    const before = await walRecords(b.store)
    evil.send({
      type: 'records',
      fromLsn: 0,
      toLsn: 2,
      entries: [
        {
          lsn: 1,
          envelopes: [envelopeOf('evil', 1, [{ key: 'notes/ok', update: textUpdate('valid') }])],
        },
        {
          lsn: 2,
          envelopes: [envelopeOf('evil', 2, [{ key: 'doc/t', update: SELF_RIGHT_ORIGIN_UPDATE }])],
        },
      ],
    })
    await eventually(() => b.errors.length > 0, 'the batch is refused')
    await turns(5)
    expect(codes(b.errors)).toEqual(['SYNC_UPDATE_INVALID'])
    expect(badFramesOf(b.node, 'evil')).toBe(1)
    expect(await walRecords(b.store)).toEqual(before)
    expect(storeInternalsOf(b.store).ledger.cursorOf(evil.nodeId)).toBe(0)
    expect(evil.received.filter((f) => f.type === 'ack')).toEqual([])
    // All or nothing: the valid first envelope was not applied either.
    expect((await b.store.load('notes/ok')).getText('value').toJSON()).toBe('')
    // The store keeps working and syncs with the good peer, which receives b's log in order:
    // once it holds b's later writes, it would hold anything relayed before them.
    await b.store.set('settings/after', 1)
    b.store.text('notes/live').insert(0, 'still here')
    await b.store.flush()
    await b.node.whenAcked(undefined, { peers: 1 })
    expect(good.store.get('settings/after')).toBe(1)
    expect((await good.store.load('notes/live')).getText('value').toJSON()).toBe('still here')
    expect(good.store.keys()).toEqual(['notes/live', 'settings/after'])
    expect(good.errors).toEqual([])
    expect(good.storeErrors).toEqual([])
    expect(b.storeErrors).toEqual([])
  })

  it('refuses an update that applies to a fresh document but not to the target (forward self-reference)', async () => {
    const net = createMemoryNetwork({ autoConnect: false })
    const b = await diskPeer(net, 'b')
    const evil = await hostilePeer(net, 'evil', 'b')
    net.link('evil', 'b')
    await evil.hello(2)
    // Client 7 writes 'ab' (clocks 0–1); the hostile update continues it at clock 2 with an
    // origin at clock 5 of the same client: pending on a fresh document, a throw on this one.
    const doc = new Y.Doc()
    doc.clientID = 7
    doc.getText('value').insert(0, 'ab')
    const first = Y.encodeStateAsUpdate(doc)
    const hostile = forwardOriginUpdate(7, 2, 5)
    const fresh = new Y.Doc()
    Y.applyUpdate(fresh, hostile)
    expect(() => {
      const target = new Y.Doc()
      Y.applyUpdate(target, first)
      Y.applyUpdate(target, hostile)
    }).toThrow()
    evil.send({
      type: 'records',
      fromLsn: 0,
      toLsn: 1,
      entries: [
        { lsn: 1, envelopes: [envelopeOf('evil', 1, [{ key: 'notes/n', update: first }])] },
      ],
    })
    await eventually(() => evil.received.some((f) => f.type === 'ack'), 'the first batch is acked')
    expect(b.errors).toEqual([])
    const before = await walRecords(b.store)
    evil.send({
      type: 'records',
      fromLsn: 1,
      toLsn: 2,
      entries: [
        { lsn: 2, envelopes: [envelopeOf('evil', 2, [{ key: 'notes/n', update: hostile }])] },
      ],
    })
    await eventually(() => b.errors.length > 0, 'the batch is refused')
    await turns(5)
    expect(codes(b.errors)).toEqual(['SYNC_UPDATE_INVALID'])
    expect(await walRecords(b.store)).toEqual(before)
    expect((await b.store.load('notes/n')).getText('value').toJSON()).toBe('ab')
    b.store.text('notes/n').insert(2, 'c')
    await b.store.flush()
    expect(b.storeErrors).toEqual([])
  })

  it('refuses a CATCHUP_OFFER whose document key contains NUL: typed, counted, the store keeps working', async () => {
    const net = createMemoryNetwork({ autoConnect: false })
    const b = await diskPeer(net, 'b')
    const evil = await hostilePeer(net, 'evil', 'b')
    net.link('evil', 'b')
    await evil.hello()
    evil.send({
      type: 'catchUpOffer',
      round: 1,
      upTo: 1,
      last: true,
      docs: [{ key: 'a\u0000b', stateVector: new Uint8Array([0]), deleteSetHash: 0 }],
    })
    await eventually(() => b.errors.length + b.storeErrors.length > 0, 'the offer is refused')
    await turns(5)
    expect(codes(b.errors)).toEqual(['SYNC_FRAME_MALFORMED'])
    expect(badFramesOf(b.node, 'evil')).toBe(1)
    expect(b.storeErrors).toEqual([])
    await b.store.set('settings/after', 'works')
    expect(b.store.get('settings/after')).toBe('works')
    expect(b.storeErrors).toEqual([])
  })

  it('refuses CATCHUP_OFFERs with a malformed state vector as bad frames and drops the peer', async () => {
    const net = createMemoryNetwork({ autoConnect: false })
    const b = await diskPeer(net, 'b')
    const evil = await hostilePeer(net, 'evil', 'b')
    net.link('evil', 'b')
    await evil.hello()
    for (let i = 0; i < 20 && !evil.down(); i++) {
      evil.send({
        type: 'catchUpOffer',
        round: 1,
        upTo: 1,
        last: true,
        docs: [{ key: 'notes/x', stateVector: new Uint8Array([5]), deleteSetHash: 0 }],
      })
      await turns(5)
    }
    expect(evil.down()).toBe(true)
    const seen = codes(b.errors)
    expect(seen.filter((code) => code === 'SYNC_FRAME_MALFORMED')).toHaveLength(8)
    expect(seen.at(-1)).toBe('SYNC_PEER_DROPPED')
    expect(seen.every((c) => c === 'SYNC_FRAME_MALFORMED' || c === 'SYNC_PEER_DROPPED')).toBe(true)
    expect(b.storeErrors).toEqual([])
  })
})

describe('a WAL that holds an update that cannot be applied', () => {
  it('opens with the record quarantined and reported, and the store keeps working', async () => {
    const path = tempDir()
    const first = await createStore({ policies, path })
    first.text('doc/t').insert(0, 'kept')
    await first.set('settings/a', 1)
    await first.close({ checkpoint: false })
    const wal = await openWal(join(path, 'wal'))
    const badLocal = encodeUpdates([{ key: 'doc/t', update: SELF_RIGHT_ORIGIN_UPDATE }])
    const badLsn = await wal.append(badLocal)
    const remote = encodeRemoteRecord({
      sender: 'peer1' as never,
      cursor: 3,
      envelopes: [
        envelopeOf('peer1', 2, [{ key: 'doc/t', update: SELF_RIGHT_ORIGIN_UPDATE }]),
        envelopeOf('peer1', 3, [{ key: 'notes/ok', update: textUpdate('relayed') }]),
      ],
    })
    const remoteLsn = await wal.append(remote, REMOTE_RECORD_TYPE)
    await wal.close()

    for (let reopen = 0; reopen < 2; reopen++) {
      const store = await createStore({ policies, path })
      const errors: unknown[] = []
      store.on('error', (error) => errors.push(error))
      try {
        if (reopen === 0) {
          expect(store.openReport?.quarantined).toEqual([
            expect.objectContaining({ lsn: badLsn, key: 'doc/t' }),
            expect.objectContaining({ lsn: remoteLsn, key: 'doc/t', origin: 'peer1' }),
          ])
        }
        expect((await store.load('doc/t')).getText('value').toJSON()).toBe(
          'kept' + '!'.repeat(reopen),
        )
        expect((await store.load('notes/ok')).getText('value').toJSON()).toBe('relayed')
        expect(store.get('settings/a')).toBe(1)
        store.text('doc/t').insert(4, '!')
        await store.set('settings/b', reopen)
        await store.checkpoint()
        expect(errors).toEqual([])
        expect(storeInternalsOf(store).ledger.cursorOf('peer1' as never)).toBe(3)
      } finally {
        await store.close()
      }
    }
    const last = await createStore({ policies, path })
    expect((await last.load('doc/t')).getText('value').toJSON()).toBe('kept!!')
    await last.close()
  })
})

/**
 * A one-character update of `client` at `clock` whose origin is the same client's `originClock`
 * (a forward reference no Yjs client writes: a client's clocks only grow). v1 layout: one client
 * section with one struct (info 0x84: has an origin, string content), then an empty delete set.
 */
function forwardOriginUpdate(client: number, clock: number, originClock: number): Uint8Array {
  const bytes = [1, 1, ...varuint(client), ...varuint(clock), 0x84]
  bytes.push(...varuint(client), ...varuint(originClock), 1, 'z'.charCodeAt(0), 0)
  return Uint8Array.from(bytes)
}

function varuint(value: number): number[] {
  const out: number[] = []
  while (value > 0x7f) {
    out.push((value & 0x7f) | 0x80)
    value = Math.floor(value / 128)
  }
  out.push(value)
  return out
}

describe('an update that throws when applied all the same', () => {
  it('is skipped and reported on load and on checkpoint; the store keeps working', async () => {
    const store = await createStore({ policies })
    const errors: unknown[] = []
    store.on('error', (error) => errors.push(error))
    try {
      // Past every check (as if logged by an older version): straight into the document set.
      storeInternalsOf(store).docs.addExternal('doc/t', textUpdate('kept', 11))
      storeInternalsOf(store).docs.addExternal('doc/t', SELF_RIGHT_ORIGIN_UPDATE)
      storeInternalsOf(store).docs.addExternal('doc/u', SELF_RIGHT_ORIGIN_UPDATE)
      expect((await store.load('doc/t')).getText('value').toJSON()).toBe('kept')
      await store.checkpoint() // doc/u is rebuilt from its updates, not loaded
      expect(codes(errors)).toEqual(['STORE_RECORD_QUARANTINED', 'STORE_RECORD_QUARANTINED'])
      expect(errors.map((e) => (isStarlingError(e) ? e.details['key'] : undefined))).toEqual([
        'doc/t',
        'doc/u',
      ])
      store.text('doc/t').insert(4, '!')
      await store.set('settings/after', 1)
      expect(store.get('doc/t')).toBe('kept!')
    } finally {
      await store.close()
    }
  })
})

describe('the engine refuses malformed catch-up fields before anything acts on them', () => {
  const PEER = 'p1' as PeerId
  /** An engine that catches the peer up (its log below the cursor is gone), offer sent. */
  function catchingUp(): SyncEngine {
    const e = new SyncEngine({
      nodeId: toNodeId('me'),
      random: () => 0.5,
      host: { firstLsn: () => 50, backlogBytes: () => undefined, inboundCursor: () => 0 },
    })
    e.committed(80)
    e.peerUp(PEER)
    const hello: Frame = { type: 'hello', protocolVersion: 1, nodeId: toNodeId('them'), lastLsn: 0 }
    e.receive(PEER, encodeFrame(hello))
    e.receive(PEER, encodeFrame({ type: 'resume', cursor: 10 }))
    e.summaryDone(PEER, 1, 80, [])
    e.drain()
    return e
  }
  const refusals = (effects: Effect[]) =>
    effects.flatMap((x) =>
      x.kind === 'event' && x.event.type === 'peer-error' ? [x.event.error.code] : [],
    )
  const bad = new Uint8Array([5])
  const good = new Uint8Array([0])
  const cases: [string, Frame, Effect['kind']][] = [
    [
      'a CATCHUP_REQUEST key with NUL',
      {
        type: 'catchUpRequest',
        round: 1,
        last: true,
        docs: [{ key: 'a\u0000b', stateVector: good }],
      },
      'diff',
    ],
    [
      'a CATCHUP_REQUEST state vector cut short',
      {
        type: 'catchUpRequest',
        round: 1,
        last: true,
        docs: [{ key: 'notes/a', stateVector: bad }],
      },
      'diff',
    ],
    [
      'a CATCHUP_REQUEST state vector with trailing bytes',
      {
        type: 'catchUpRequest',
        round: 1,
        last: true,
        docs: [{ key: 'notes/a', stateVector: new Uint8Array([0, 0]) }],
      },
      'diff',
    ],
    [
      'a CATCHUP_OFFER key with NUL',
      {
        type: 'catchUpOffer',
        round: 1,
        upTo: 3,
        last: true,
        docs: [{ key: 'a\u0000b', stateVector: good, deleteSetHash: 0 }],
      },
      'compare',
    ],
    [
      'a CATCHUP_DATA key with NUL',
      {
        type: 'catchUpData',
        round: 0,
        upTo: 3,
        last: true,
        docs: [{ key: 'a\u0000b', update: new Uint8Array([0, 0]) }],
      },
      'apply',
    ],
  ]
  for (const [name, frame, acting] of cases) {
    it(`refuses ${name}: counted, no ${acting} effect`, () => {
      const e = catchingUp()
      e.receive(PEER, encodeFrame(frame))
      const effects = e.drain()
      expect(refusals(effects)).toEqual(['SYNC_FRAME_MALFORMED'])
      expect(effects.some((x) => x.kind === acting)).toBe(false)
      expect(e.peers()[0]?.badFrames).toBe(1)
    })
  }

  it('acts on the same frames when their fields are well-formed', () => {
    for (const [, frame, acting] of cases) {
      const e = catchingUp()
      const docs = frame.type === 'catchUpData' ? [{ key: 'notes/a', update: good }] : undefined
      const fixed =
        frame.type === 'catchUpRequest'
          ? { ...frame, docs: [{ key: 'notes/a', stateVector: good }] }
          : frame.type === 'catchUpOffer'
            ? { ...frame, docs: [{ key: 'notes/a', stateVector: good, deleteSetHash: 0 }] }
            : frame.type === 'catchUpData' && docs !== undefined
              ? { ...frame, docs }
              : frame
      e.receive(PEER, encodeFrame(fixed))
      const effects = e.drain()
      expect(refusals(effects)).toEqual([])
      expect(effects.some((x) => x.kind === acting)).toBe(true)
    }
  })
})
