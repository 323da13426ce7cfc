/**
 * A live sync node under hostile frames (I10, docs/testing.md): a `SyncNode` over an on-disk store
 * receives a seeded sequence of malformed frames (random bytes, truncations, bit flips) and
 * well-formed hostile ones (unappliable or undecodable updates, bad checksums, keys that are not
 * store keys, malformed state vectors, cursors anywhere, repeated handshakes, forged Yjs structs)
 * mixed with valid batches. After every frame: every error is typed and none is a store failure,
 * a frame built to be refused left the WAL and the cursor as they were, a valid batch is made
 * durable. At the end the node syncs with a good peer and reopens to exactly its live state, with
 * nothing quarantined.
 *
 * Budget: a few runs in `npm test`, many more and longer ones with `STARLING_FUZZ=1`; the seed
 * comes from `STARLING_SEED` and a failure prints the command that replays it.
 */
import fc from 'fast-check'
import * as decoding from 'lib0/decoding'
import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { createMemoryNetwork } from '../../adapters/transport-memory/index.js'
import { crc32c } from '../../src/core/crc32c.js'
import { StarlingError, isStarlingError } from '../../src/core/errors.js'
import type { NodeId, PeerId } from '../../src/core/ids.js'
import { createStore, crdt, lww, type Store } from '../../src/index.js'
import type { Envelope } from '../../src/store/remote.js'
import { encodeFrame } from '../../src/sync/frames.js'
import { startSync, type SyncNode } from '../../src/sync/node.js'
import type { Frame } from '../../src/sync/protocol.js'
import type { Transport, TransportHandlers } from '../../src/sync/transport.js'
import { encodeForged, forgedUpdate, mutate, mutation } from '../support/forged-updates.js'
import { SELF_RIGHT_ORIGIN_UPDATE, envelopeOf, eventually } from '../support/hostile.js'
import { assertAsyncProperty, FUZZ } from '../support/property.js'
import { tempDir } from '../support/tmp.js'
import { turns } from '../support/turns.js'
import { storeInternalsOf } from '../../src/store/internals.js'
import { syncPortOf } from '../../src/store/sync-port.js'

const policies = { 'notes/*': crdt('text'), 'doc/*': crdt('text'), 'settings/**': lww() }
const EVIL = 'evil' as PeerId
const EVIL_NODE = 'evil' as NodeId
const KEYS = ['notes/a', 'notes/b', 'doc/t']
/** Polls (of 5 ms) before an expected effect of a frame counts as missing. */
const WAITS = 1000
/** Codes a hostile peer may cause on `syncNode.on('error')`; anything else fails the run. */
const PEER_CODES = new Set([
  'SYNC_FRAME_MALFORMED',
  'SYNC_FRAME_CHECKSUM',
  'SYNC_FRAME_TOO_LARGE',
  'SYNC_PROTOCOL_VERSION',
  'SYNC_PROTOCOL_VIOLATION',
  'SYNC_UPDATE_INVALID',
  'SYNC_PEER_DROPPED',
  'SYNC_LOG_REWOUND',
  'HLC_CLOCK_SKEW',
])

// ---------------------------------------------------------------------------------------------
// A transport that lets the test speak for one peer

/** The node's transport, with one extra peer (`evil`) whose frames the test delivers itself. */
function tappedTransport(inner: Transport) {
  let handlers: TransportHandlers | undefined
  let up = false
  const transport: Transport = {
    localPeer: inner.localPeer,
    messageBytesMax: inner.messageBytesMax,
    start(h) {
      handlers = h
      inner.start(h)
    },
    send(peer, message) {
      if (peer !== EVIL) return inner.send(peer, message)
      if (!up) throw new StarlingError('TRANSPORT_CLOSED', 'the hostile peer is down')
    },
    disconnect(peer, reason) {
      if (peer !== EVIL) return inner.disconnect(peer, reason)
      if (!up) return
      up = false
      setImmediate(() => handlers?.onPeerDown(EVIL, reason ?? 'disconnected'))
    },
    async close() {
      if (up) {
        up = false
        handlers?.onPeerDown(EVIL, 'closed')
      }
      await inner.close()
    },
  }
  return {
    transport,
    isUp: () => up,
    connect() {
      up = true
      handlers?.onPeerUp(EVIL)
    },
    deliver(bytes: Uint8Array) {
      if (up) handlers?.onMessage(EVIL, bytes)
    },
  }
}

// ---------------------------------------------------------------------------------------------
// The plan: what the hostile peer sends

type BadContent =
  | { kind: 'checksum' }
  | { kind: 'not-a-record'; bytes: Uint8Array }
  | { kind: 'bad-key'; key: string }
  | { kind: 'undecodable'; bytes: Uint8Array }
  | { kind: 'self-reference' }
  | { kind: 'forward-reference'; clock: number; ahead: number }

type Step =
  | { kind: 'valid'; key: number; text: string; at: number; extra: number }
  | { kind: 'bad'; key: number; text: string; bad: BadContent; badFirst: boolean }
  | { kind: 'forged'; key: number; forged: Parameters<typeof encodeForged>[0] }
  | { kind: 'mutated'; key: number; mutations: { at: number; kind: string; value: number }[] }
  | { kind: 'resend' }
  | { kind: 'offer'; key: string; stateVector: Uint8Array; round: number }
  | { kind: 'data'; key: string; update: 'valid' | 'self-reference'; round: number }
  | { kind: 'frame'; frame: Frame }
  | { kind: 'bytes'; bytes: Uint8Array; from: 'random' | 'truncated' | 'flipped'; at: number }

const text = fc.string({ minLength: 1, maxLength: 6 })
const keyIndex = fc.nat(KEYS.length - 1)
/** Keys that are not store keys: in a store record anything goes, a frame carries 1–1,024 units. */
const badRecordKey = fc.constantFrom('a\u0000b', '', 'k'.repeat(1025), '\u0000other')
const badKey = fc.constantFrom('a\u0000b', '\u0000other', 'k\u0000')
const stateVector = fc.oneof(
  fc.constantFrom(
    new Uint8Array([0]),
    new Uint8Array([1, 5, 3]),
    new Uint8Array([5]),
    new Uint8Array([1]),
    new Uint8Array([0, 0]),
    new Uint8Array([1, 0x80]),
  ),
  fc.uint8Array({ maxLength: 8 }),
)
const cursor = fc.oneof(fc.nat(20), fc.constant(Number.MAX_SAFE_INTEGER))

const badContent: fc.Arbitrary<BadContent> = fc.oneof(
  fc.constant({ kind: 'checksum' as const }),
  fc.record({
    kind: fc.constant('not-a-record' as const),
    bytes: fc.uint8Array({ maxLength: 12 }),
  }),
  fc.record({ kind: fc.constant('bad-key' as const), key: badRecordKey }),
  fc.record({
    kind: fc.constant('undecodable' as const),
    bytes: fc.constantFrom(new Uint8Array([1, 2, 3, 250]), new Uint8Array([1, 1, 5])),
  }),
  fc.constant({ kind: 'self-reference' as const }),
  fc.record({
    kind: fc.constant('forward-reference' as const),
    clock: fc.nat(5),
    ahead: fc.nat(3),
  }),
)

const plainFrame: fc.Arbitrary<Frame> = fc.oneof(
  cursor.map((c) => ({ type: 'ack' as const, cursor: c })),
  cursor.map((c) => ({ type: 'resume' as const, cursor: c })),
  fc.constant({ type: 'hello' as const, protocolVersion: 1, nodeId: EVIL_NODE, lastLsn: 0 }),
  fc.constant({
    type: 'hello' as const,
    protocolVersion: 1,
    nodeId: 'other' as NodeId,
    lastLsn: 3,
  }),
  fc.uint8Array({ maxLength: 16 }).map((update) => ({ type: 'awareness' as const, update })),
  fc.constant({ type: 'error' as const, code: 'SOMETHING', message: 'from the peer' }),
  fc.record({
    type: fc.constant('catchUpRequest' as const),
    round: fc.nat(3),
    last: fc.boolean(),
    docs: fc.array(fc.record({ key: fc.oneof(fc.constantFrom(...KEYS), badKey), stateVector }), {
      maxLength: 2,
    }),
  }),
)

const step: fc.Arbitrary<Step> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constant('valid' as const),
      key: keyIndex,
      text,
      at: fc.nat(50),
      extra: fc.nat(2),
    }),
  },
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('bad' as const),
      key: keyIndex,
      text,
      bad: badContent,
      badFirst: fc.boolean(),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('forged' as const),
      key: keyIndex,
      forged: forgedUpdate([1001, 1002, 1003], 20),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('mutated' as const),
      key: keyIndex,
      mutations: fc.array(mutation, { minLength: 1, maxLength: 3 }),
    }),
  },
  { weight: 1, arbitrary: fc.constant({ kind: 'resend' as const }) },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('offer' as const),
      key: fc.oneof(fc.constantFrom(...KEYS), badKey),
      stateVector,
      round: fc.nat(3),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('data' as const),
      key: fc.oneof(fc.constantFrom(...KEYS), badKey),
      update: fc.constantFrom('valid' as const, 'self-reference' as const),
      round: fc.nat(3),
    }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('frame' as const), frame: plainFrame }) },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('bytes' as const),
      bytes: fc.uint8Array({ maxLength: 40 }),
      from: fc.constantFrom('random' as const, 'truncated' as const, 'flipped' as const),
      at: fc.nat(1000),
    }),
  },
)

// ---------------------------------------------------------------------------------------------
// One run

/** The hostile peer's side: its log position, its documents, the last valid frame it sent. */
interface Hostile {
  lsn: number
  docs: Y.Doc[]
  lastValid: Uint8Array | undefined
  nextClient: number
}

interface Outcome {
  /** The frame must leave WAL and cursor as they were, and be reported. */
  refused: boolean
  /** The frame must leave WAL and cursor as they were (it may be refused or ignored). */
  unchanged?: boolean
  /** The frame must be made durable: our cursor on the peer's log reaches `toLsn`. */
  appliesTo?: number
}

async function runScenario(steps: readonly Step[]): Promise<void> {
  const path = tempDir('starling-live-fuzz-')
  const net = createMemoryNetwork({ autoConnect: false })
  let store = await createStore({ policies, path })
  const tap = tappedTransport(net.transport('b'))
  const node = startSync(store, { transport: tap.transport })
  const nodeErrors: unknown[] = []
  const storeErrors: unknown[] = []
  node.on('error', (error) => nodeErrors.push(error))
  store.on('error', (error) => storeErrors.push(error))
  const hostile: Hostile = {
    lsn: 0,
    docs: KEYS.map((_, i) => {
      const doc = new Y.Doc()
      doc.clientID = 1001 + i
      return doc
    }),
    lastValid: undefined,
    nextClient: 5000,
  }
  let good: { store: Store; node: SyncNode } | undefined
  try {
    for (const [index, s] of steps.entries()) {
      if (!tap.isUp()) await reconnect(tap, store)
      const walBefore = storeInternalsOf(store).wal.lastLsn
      const cursorBefore = storeInternalsOf(store).ledger.cursorOf(EVIL_NODE)
      const reportsBefore = nodeErrors.length
      const { bytes, outcome } = materialize(s, hostile, cursorBefore)
      tap.deliver(bytes)
      await settle(store)
      const where = `step ${index} (${s.kind})`
      checkErrors(nodeErrors, storeErrors, where)
      if (outcome.refused)
        await eventually(() => nodeErrors.length > reportsBefore, `${where} is reported`, WAITS)
      if (outcome.refused || outcome.unchanged === true) {
        await settle(store)
        expect(storeInternalsOf(store).wal.lastLsn, `${where}: nothing logged`).toBe(walBefore)
        expect(storeInternalsOf(store).ledger.cursorOf(EVIL_NODE), `${where}: cursor`).toBe(
          cursorBefore,
        )
      }
      const target = outcome.appliesTo
      if (target !== undefined && tap.isUp()) {
        await eventually(
          () => storeInternalsOf(store).ledger.cursorOf(EVIL_NODE) >= target || !tap.isUp(),
          `${where} is made durable`,
          WAITS,
        )
      }
      if (index % 10 === 9) await store.set('settings/local', index)
    }
    await settle(store)
    // Everything the peer sent validly arrives in the end: its whole state, as one valid batch.
    if (!tap.isUp()) await reconnect(tap, store)
    const full = fullState(hostile, storeInternalsOf(store).ledger.cursorOf(EVIL_NODE))
    tap.deliver(full.bytes)
    await eventually(
      () => storeInternalsOf(store).ledger.cursorOf(EVIL_NODE) >= full.toLsn,
      'the full state lands',
      WAITS,
    )
    for (const [i, key] of KEYS.entries()) {
      const doc = await store.load(key)
      expect(covers(Y.encodeStateVector(doc), hostile.docs[i] as Y.Doc), key).toBe(true)
    }
    // The store still works and syncs with a good peer.
    store.text('notes/local').insert(0, 'still here')
    await store.set('settings/after', true)
    const goodStore = await createStore({ policies, path: tempDir('starling-live-good-') })
    good = { store: goodStore, node: startSync(goodStore, { transport: net.transport('good') }) }
    net.link('b', 'good')
    await store.flush()
    const logEnd = storeInternalsOf(store).wal.durableLsn
    await eventually(
      () => storeInternalsOf(goodStore).ledger.cursorOf(store.nodeId) >= logEnd,
      'the good peer has it all',
      WAITS,
    )
    await good.node.whenSynced()
    expect(await summary(good.store)).toEqual(await summary(store))
    checkErrors(nodeErrors, storeErrors, 'the end')
    // It reopens to exactly its live state, with nothing quarantined.
    const live = await summary(store)
    await good.node.close()
    await node.close()
    await store.close()
    store = await createStore({ policies, path })
    expect(store.openReport?.quarantined).toEqual([])
    expect(await summary(store)).toEqual(live)
  } finally {
    await good?.node.close()
    await good?.store.close()
    await node.close()
    await store.close()
  }
}

async function reconnect(tap: ReturnType<typeof tappedTransport>, store: Store): Promise<void> {
  await turns(2)
  tap.connect()
  tap.deliver(
    encodeFrame({ type: 'hello', protocolVersion: 1, nodeId: EVIL_NODE, lastLsn: 1_000_000 }),
  )
  tap.deliver(encodeFrame({ type: 'resume', cursor: 0 }))
  await settle(store)
}

/** Lets the node finish what a frame started: remote batches, catch-up comparisons. */
async function settle(store: Store): Promise<void> {
  for (let i = 0; i < 3; i++) {
    await turns(3)
    await syncPortOf(store).exclusive(() => undefined)
  }
}

function checkErrors(nodeErrors: unknown[], storeErrors: unknown[], where: string): void {
  for (const error of nodeErrors) {
    const code = isStarlingError(error) ? error.code : `untyped ${String(error)}`
    expect(PEER_CODES.has(code), `${where}: node error ${code}: ${String(error)}`).toBe(true)
  }
  for (const error of storeErrors) {
    const code = isStarlingError(error) ? error.code : `untyped ${String(error)}`
    expect(code === 'HLC_CLOCK_SKEW', `${where}: store error ${code}: ${String(error)}`).toBe(true)
  }
}

// ---------------------------------------------------------------------------------------------
// Building frames

function materialize(
  s: Step,
  h: Hostile,
  cursorNow: number,
): { bytes: Uint8Array; outcome: Outcome } {
  switch (s.kind) {
    case 'valid': {
      const envelopes = [validEnvelope(h, s.key, s.text, s.at)]
      for (let i = 0; i < s.extra; i++)
        envelopes.push(validEnvelope(h, (s.key + i + 1) % KEYS.length, s.text, s.at))
      const bytes = records(cursorNow, h, envelopes)
      h.lastValid = bytes
      return { bytes, outcome: { refused: false, appliesTo: h.lsn } }
    }
    case 'bad': {
      const good = validEnvelope(h, s.key, s.text, 0)
      const bad = badEnvelope(s.bad, h)
      const bytes = records(cursorNow, h, s.badFirst ? [bad, good] : [good, bad])
      // The valid edit never arrives: the hostile document moves on without it (its later
      // updates wait for it on the node, as a peer's would after a loss).
      return { bytes, outcome: { refused: true } }
    }
    case 'forged': {
      const update = encodeForged({ ...s.forged, client: h.nextClient++ })
      h.lsn++
      const envelope = envelopeOf('evil', h.lsn, [{ key: KEYS[s.key] as string, update }])
      return { bytes: records(cursorNow, h, [envelope]), outcome: { refused: false } }
    }
    case 'mutated': {
      // A real update of a client of its own (so it claims no ids anyone else uses), mutated.
      const doc = new Y.Doc()
      doc.clientID = h.nextClient++
      doc.getText('value').insert(0, 'mutated')
      const update = mutate(Y.encodeStateAsUpdate(doc), s.mutations)
      // A mutation that moved a struct onto another client's ids is equivocation, a known
      // limit (docs/sync.md): not sent.
      if (!onlyClientsFrom(update, doc.clientID))
        return { bytes: encodeFrame({ type: 'ack', cursor: 0 }), outcome: { refused: false } }
      h.lsn++
      const envelope = envelopeOf('evil', h.lsn, [{ key: KEYS[s.key] as string, update }])
      return { bytes: records(cursorNow, h, [envelope]), outcome: { refused: false } }
    }
    case 'resend':
      return {
        bytes: h.lastValid ?? encodeFrame({ type: 'ack', cursor: 0 }),
        outcome: { refused: false },
      }
    case 'offer':
      return {
        bytes: encodeFrame({
          type: 'catchUpOffer',
          round: s.round,
          upTo: h.lsn,
          last: true,
          docs: [{ key: s.key, stateVector: s.stateVector, deleteSetHash: 0 }],
        }),
        outcome: { refused: !isKey(s.key) || !isStateVector(s.stateVector) },
      }
    case 'data': {
      const update =
        s.update === 'valid' ? Y.encodeStateAsUpdate(h.docs[0] as Y.Doc) : SELF_RIGHT_ORIGIN_UPDATE
      return {
        bytes: encodeFrame({
          type: 'catchUpData',
          round: s.round,
          upTo: 0,
          last: false,
          docs: [{ key: s.key, update }],
        }),
        // A data frame of a round that is not the current one is ignored: refused only for its key.
        outcome: { refused: !isKey(s.key), unchanged: s.update !== 'valid' },
      }
    }
    case 'frame':
      return { bytes: encodeFrame(s.frame), outcome: { refused: false } }
    case 'bytes':
      return { bytes: malformed(s, h), outcome: { refused: true } }
  }
}

function validEnvelope(h: Hostile, key: number, content: string, at: number): Envelope {
  const doc = h.docs[key] as Y.Doc
  const before = Y.encodeStateVector(doc)
  const textType = doc.getText('value')
  textType.insert(at % (textType.length + 1), content)
  h.lsn++
  return envelopeOf('evil', h.lsn, [
    { key: KEYS[key] as string, update: Y.encodeStateAsUpdate(doc, before) },
  ])
}

function badEnvelope(bad: BadContent, h: Hostile): Envelope {
  h.lsn++
  const key = 'notes/a'
  switch (bad.kind) {
    case 'checksum': {
      const envelope = envelopeOf('evil', h.lsn, [
        { key, update: Y.encodeStateAsUpdate(new Y.Doc()) },
      ])
      return { ...envelope, crc: (envelope.crc + 1) >>> 0 }
    }
    case 'not-a-record':
      return { ...envelopeOf('evil', h.lsn, []), payload: bad.bytes, crc: crc32c(bad.bytes) }
    case 'bad-key':
      return envelopeOf('evil', h.lsn, [
        { key: bad.key, update: Y.encodeStateAsUpdate(new Y.Doc()) },
      ])
    case 'undecodable':
      return envelopeOf('evil', h.lsn, [{ key, update: bad.bytes }])
    case 'self-reference':
      return envelopeOf('evil', h.lsn, [{ key: 'doc/t', update: SELF_RIGHT_ORIGIN_UPDATE }])
    case 'forward-reference':
      return envelopeOf('evil', h.lsn, [
        {
          key,
          update: encodeForged({
            client: h.nextClient++,
            clock: bad.clock,
            structs: [
              {
                kind: 'item',
                origin: { client: h.nextClient - 1, clock: bad.clock + bad.ahead },
                rightOrigin: null,
                parent: 'value',
                parentSub: null,
                content: 'string',
                length: 1,
              },
            ],
            deletes: [],
          }),
        },
      ])
  }
}

function records(cursorNow: number, h: Hostile, envelopes: Envelope[]): Uint8Array {
  const toLsn = Math.max(h.lsn, cursorNow + 1)
  h.lsn = toLsn
  return encodeFrame({
    type: 'records',
    fromLsn: cursorNow,
    toLsn,
    entries: [{ lsn: toLsn, envelopes }],
  })
}

function fullState(h: Hostile, cursorNow: number): { bytes: Uint8Array; toLsn: number } {
  const envelopes = KEYS.map((key, i) => {
    h.lsn++
    return envelopeOf('evil', h.lsn, [{ key, update: Y.encodeStateAsUpdate(h.docs[i] as Y.Doc) }])
  })
  const bytes = records(cursorNow, h, envelopes)
  return { bytes, toLsn: h.lsn }
}

function malformed(s: Extract<Step, { kind: 'bytes' }>, h: Hostile): Uint8Array {
  if (s.from === 'random')
    return s.bytes.length >= 12 ? s.bytes : new Uint8Array([0xa7, 1, 3, 0, ...s.bytes])
  const frame = encodeFrame({ type: 'records', fromLsn: 0, toLsn: h.lsn + 1, entries: [] })
  if (s.from === 'truncated') return frame.slice(0, s.at % frame.length)
  const flipped = frame.slice()
  const at = s.at % flipped.length
  flipped[at] = (flipped[at] as number) ^ (1 << (s.at % 8))
  return flipped
}

function isKey(key: string): boolean {
  return key.length > 0 && key.length <= 1024 && !key.includes('\u0000')
}

/** A state vector as docs/sync.md defines it: varuint count, count × two varuints, no more. */
function isStateVector(bytes: Uint8Array): boolean {
  try {
    const decoder = decoding.createDecoder(bytes)
    const count = decoding.readVarUint(decoder)
    for (let i = 0; i < 2 * count; i++) decoding.readVarUint(decoder)
    return !decoding.hasContent(decoder)
  } catch {
    return false
  }
}

/** Whether every struct of `update` (if it decodes) belongs to `client`. */
function onlyClientsFrom(update: Uint8Array, client: number): boolean {
  try {
    return Y.decodeUpdate(update).structs.every((struct) => struct.id.client === client)
  } catch {
    return true
  }
}

function covers(stateVector: Uint8Array, doc: Y.Doc): boolean {
  const mine = Y.decodeStateVector(stateVector)
  for (const [client, clock] of Y.decodeStateVector(Y.encodeStateVector(doc)))
    if ((mine.get(client) ?? 0) < clock) return false
  return true
}

/** What a store holds: every register key's value and every document's state and text. */
async function summary(store: Store): Promise<unknown> {
  const registers: Record<string, unknown> = {}
  for (const key of store.keys()) if (key.startsWith('settings/')) registers[key] = store.get(key)
  const docs: Record<string, unknown> = {}
  for (const key of [...KEYS, 'notes/local']) {
    const doc = await store.load(key)
    docs[key] = {
      text: doc.getText('value').toJSON(),
      stateVector: [...Y.encodeStateVector(doc)],
      deleteSet: crc32c(Y.encodeStateAsUpdate(doc, Y.encodeStateVector(doc))),
    }
  }
  return { keys: store.keys(), registers, docs }
}

// ---------------------------------------------------------------------------------------------

describe('a live sync node under hostile frames (I10)', () => {
  it(
    'logs nothing it cannot apply, never fails, still syncs and reopens to its live state',
    { timeout: FUZZ ? 6 * 3_600_000 : 120_000 },
    async () => {
      await assertAsyncProperty(
        import.meta.url,
        fc.asyncProperty(
          fc.array(step, { minLength: FUZZ ? 40 : 15, maxLength: FUZZ ? 200 : 30 }),
          (steps) => runScenario(steps),
        ),
        { numRuns: 3, fuzzRuns: 150 },
      )
    },
  )
})
