/**
 * The transport conformance suite (docs/testing.md): every `Transport` adapter runs it, through
 * `describeTransportConformance(name, makeHarness)`. It checks the contract in
 * `src/sync/transport.ts`: messages arrive whole, once and in order per connection, both ways and
 * between every pair; both ends see a connection come and go; nothing arrives after
 * `onPeerDown` and nothing of an old connection on a new one; sending on a closed connection
 * throws `TRANSPORT_CLOSED`; large payloads arrive intact; senders may reuse and receivers may
 * keep buffers; oversized messages throw `TRANSPORT_MESSAGE_TOO_LARGE`; `close()` is idempotent
 * and final. After every test each endpoint's event log is checked to be well formed.
 */
import { afterEach, describe, expect, it } from 'vitest'
import type { Env } from '../../src/core/env.js'
import { toPeerId } from '../../src/core/ids.js'
import type { PeerId } from '../../src/core/ids.js'
import { createRng } from '../../src/core/random.js'
import type { Transport, TransportHandlers } from '../../src/sync/transport.js'
import { createStore, crdt, lww, startSync } from '../../src/index.js'
import { thrown } from '../support/errors.js'

/**
 * How the suite drives one adapter. A WebSocket or WebRTC adapter implements it with a relay or
 * signalling server in the test process; the memory adapter with a `MemoryNetwork`.
 */
export interface TransportHarness {
  /**
   * `n` new endpoints with distinct peer ids, not started. Once all are started, every pair gets
   * connected (both ends see `onPeerUp`) without further help from the suite.
   */
  endpoints(n: number): Promise<Transport[]>
  /** Breaks the connection between `a` and `b` from outside, as a network failure would. */
  disconnect(a: Transport, b: Transport): void | Promise<void>
  /** Connects `a` and `b` again after `disconnect` (of the harness or of a transport). */
  reconnect(a: Transport, b: Transport): void | Promise<void>
  /**
   * Lets messages and events in flight arrive. The suite calls it repeatedly until what it waits
   * for has happened, so a real-network harness may simply wait a little.
   */
  settle(): Promise<void>
  /** Called after each test, once the suite has closed every endpoint. */
  cleanup?(): void | Promise<void>
  /** The env driving the endpoints when the harness runs on virtual time (for sync cases). */
  readonly env?: Env
}

/** A conformance case that needs more than the transport, run for every adapter. */
export interface TransportConformanceCase {
  readonly name: string
  run(harness: TransportHarness): Promise<void>
}

/**
 * Sync-over-transport cases: the sync engine running over the adapter under test, run for every
 * adapter after the transport cases.
 */
export const SYNC_CONFORMANCE_CASES: readonly TransportConformanceCase[] = [
  {
    name: 'two stores sync, and one catches up after a disconnect and reconnect',
    async run(harness) {
      const [ta, tb] = await harness.endpoints(2)
      if (ta === undefined || tb === undefined) throw new Error('two endpoints expected')
      const policies = { 'notes/*': crdt('text'), 'settings/**': lww() }
      const a = await createStore({ policies })
      const b = await createStore({ policies })
      const env = harness.env === undefined ? {} : { env: harness.env }
      const syncA = startSync(a, { transport: ta, ...env })
      const syncB = startSync(b, { transport: tb, ...env })
      try {
        const noteB = await b.load('notes/n')
        await a.set('settings/round', 1)
        a.text('notes/n').insert(0, 'before;')
        await a.flush()
        await until(harness, () => b.get('settings/round') === 1, 'first sync')
        await harness.disconnect(ta, tb)
        for (let i = 2; i <= 50; i++) {
          await a.set('settings/round', i)
          a.text('notes/n').insert(0, `${i};`)
        }
        await a.flush()
        await harness.settle()
        expect(b.get('settings/round')).toBe(1)
        await harness.reconnect(ta, tb)
        const want = a.text('notes/n').toJSON()
        await until(
          harness,
          () => b.get('settings/round') === 50 && noteB.getText('value').toJSON() === want,
          'catch-up after reconnect',
        )
      } finally {
        await Promise.all([syncA.close(), syncB.close()])
        await Promise.all([a.close(), b.close()])
      }
    },
  },
]

/** One event an endpoint saw. */
export type TransportEvent =
  | { readonly type: 'up'; readonly peer: PeerId }
  | { readonly type: 'down'; readonly peer: PeerId; readonly reason: string }
  | { readonly type: 'message'; readonly peer: PeerId; readonly message: Uint8Array }

/** A started endpoint and everything it saw. */
export interface Recorder {
  readonly transport: Transport
  readonly peer: PeerId
  readonly events: TransportEvent[]
  /** Handlers called after recording, so a test can make the endpoint answer. */
  react: Partial<TransportHandlers>
}

const KiB = 1024
const MiB = 1024 * KiB
/** Bytes of the large-payload case (the contract's floor is 1 MiB). */
const LARGE_PAYLOAD_BYTES = 1.5 * MiB
/** `settle()` calls the suite makes while waiting for one thing before it gives up. */
const SETTLE_ROUNDS_MAX = 1_000

/** How a connection is broken in the cases that run both ways. */
type BreakBy = 'transport.disconnect' | 'harness.disconnect'
const BREAK_BY: readonly BreakBy[] = ['transport.disconnect', 'harness.disconnect']

/** Messages received by `r` from `peer`, in order. */
export function messagesFrom(r: Recorder, peer: PeerId): Uint8Array[] {
  return r.events.flatMap((e) => (e.type === 'message' && e.peer === peer ? [e.message] : []))
}

/** Messages received by `r` from `peer` since the last `onPeerUp` of `peer`. */
export function messagesOfLastConnection(r: Recorder, peer: PeerId): Uint8Array[] {
  const start = r.events.findLastIndex((e) => e.type === 'up' && e.peer === peer)
  return messagesFrom({ ...r, events: r.events.slice(start + 1) }, peer)
}

/** True when `r` has seen `peer` come up and not go down since. */
export function isUp(r: Recorder, peer: PeerId): boolean {
  const last = r.events.findLast((e) => e.type !== 'message' && e.peer === peer)
  return last?.type === 'up'
}

/** How many `type` events about `peer` `r` has seen. */
export function countEvents(r: Recorder, type: TransportEvent['type'], peer: PeerId): number {
  return r.events.filter((e) => e.type === type && e.peer === peer).length
}

/**
 * A deterministic test message: u32 LE `index`, a `tag` byte, then filler derived from both,
 * `length` bytes in all (default 8 + index % 61, so sizes vary).
 */
export function numbered(index: number, tag: number, length = 8 + (index % 61)): Uint8Array {
  const message = new Uint8Array(length)
  new DataView(message.buffer).setUint32(0, index, true)
  message[4] = tag
  for (let i = 5; i < length; i++) message[i] = (index * 31 + tag * 7 + i) & 0xff
  return message
}

/** Expects `received` to be exactly `numbered(0, tag)` … `numbered(count - 1, tag)`. */
export function expectNumbered(received: Uint8Array[], tag: number, count: number): void {
  expect(received.length).toBe(count)
  received.forEach((message, i) => expectSameBytes(message, numbered(i, tag, message.length)))
}

/** Expects byte-identical arrays without a slow element-by-element diff on large ones. */
export function expectSameBytes(actual: Uint8Array, expected: Uint8Array): void {
  expect(actual).toBeInstanceOf(Uint8Array)
  expect(actual.byteLength).toBe(expected.byteLength)
  expect(Buffer.compare(actual, expected)).toBe(0)
}

/** Expects `fn` to throw a StarlingError with `code`. */
export function expectCode(fn: () => unknown, code: string): void {
  expect(thrown(fn)).toMatchObject({ name: 'StarlingError', code })
}

/**
 * Expects `r`'s log to be well formed: per peer, ups and downs alternate starting with an up,
 * and messages arrive only while the peer is up.
 */
export function expectWellFormed(r: Recorder): void {
  const up = new Set<PeerId>()
  r.events.forEach((event, i) => {
    const where = `${r.peer}: event ${i} (${event.type} ${event.peer})`
    if (event.type === 'up') {
      expect(up.has(event.peer), `${where}: up while already up`).toBe(false)
      up.add(event.peer)
    } else if (event.type === 'down') {
      expect(up.has(event.peer), `${where}: down while not up`).toBe(true)
      expect(typeof event.reason, `${where}: reason`).toBe('string')
      up.delete(event.peer)
    } else {
      expect(up.has(event.peer), `${where}: message while not up`).toBe(true)
    }
  })
}

/** Starts `transport`, recording every event it delivers. */
export function record(transport: Transport): Recorder {
  const r: Recorder = { transport, peer: transport.localPeer, events: [], react: {} }
  transport.start({
    onPeerUp(peer) {
      r.events.push({ type: 'up', peer })
      r.react.onPeerUp?.(peer)
    },
    onPeerDown(peer, reason) {
      r.events.push({ type: 'down', peer, reason })
      r.react.onPeerDown?.(peer, reason)
    },
    onMessage(peer, message) {
      r.events.push({ type: 'message', peer, message })
      r.react.onMessage?.(peer, message)
    },
  })
  return r
}

/** Calls `harness.settle()` until `check()` holds; fails after {@link SETTLE_ROUNDS_MAX} rounds. */
export async function until(
  harness: TransportHarness,
  check: () => boolean,
  what: string,
): Promise<void> {
  for (let round = 0; !check(); round++) {
    if (round === SETTLE_ROUNDS_MAX) {
      throw new Error(`transport conformance: no ${what} after ${round} settle() calls`)
    }
    await harness.settle()
  }
}

/** The suite's view of one test: the harness, and helpers that track what must be closed. */
interface Context {
  readonly harness: TransportHarness
  /** `n` started endpoints, every pair connected. */
  connected(n: number): Promise<Recorder[]>
  /** Starts `transport` recording its events, which are checked after the test. */
  record(transport: Transport): Recorder
}

/**
 * Registers the conformance tests for one adapter. `makeHarness` is called once per test and must
 * return a harness with no endpoints yet. `extraCases` run after {@link SYNC_CONFORMANCE_CASES}.
 */
export function describeTransportConformance(
  name: string,
  makeHarness: () => Promise<TransportHarness>,
  extraCases: readonly TransportConformanceCase[] = [],
): void {
  describe(`transport conformance: ${name}`, () => {
    const opened: Transport[] = []
    const recorders: Recorder[] = []
    const cleanups: Array<() => void | Promise<void>> = []

    const fresh = async (): Promise<Context> => {
      const made = await makeHarness()
      if (made.cleanup !== undefined) cleanups.push(made.cleanup.bind(made))
      // Built field by field: a harness may be a class instance whose methods a spread would lose.
      const harness: TransportHarness = {
        ...(made.env === undefined ? {} : { env: made.env }),
        endpoints: async (n) => {
          const transports = await made.endpoints(n)
          opened.push(...transports)
          return transports
        },
        disconnect: (a, b) => made.disconnect(a, b),
        reconnect: (a, b) => made.reconnect(a, b),
        settle: () => made.settle(),
      }
      const track = (transport: Transport): Recorder => {
        const r = record(transport)
        recorders.push(r)
        return r
      }
      const connected = async (n: number): Promise<Recorder[]> => {
        const all = (await harness.endpoints(n)).map(track)
        await until(harness, () => allConnected(all), `connection between ${n} endpoints`)
        return all
      }
      return { harness, connected, record: track }
    }

    afterEach(async () => {
      for (const r of recorders.splice(0)) expectWellFormed(r)
      for (const transport of opened.splice(0)) await transport.close()
      for (const cleanup of cleanups.splice(0)) await cleanup()
    })

    describeDelivery(fresh)
    describeConnections(fresh)
    describeBuffers(fresh)
    describeClosing(fresh)
    const cases = [...SYNC_CONFORMANCE_CASES, ...extraCases]
    if (cases.length === 0) return
    describe('beyond the transport', () => {
      for (const c of cases) it(c.name, async () => c.run((await fresh()).harness))
    })
  })
}

type Fresh = () => Promise<Context>

function allConnected(all: Recorder[]): boolean {
  return all.every((r) => all.every((other) => other === r || isUp(r, other.peer)))
}

async function breakConnection(ctx: Context, by: BreakBy, a: Recorder, b: Recorder) {
  if (by === 'transport.disconnect') a.transport.disconnect(b.peer, 'test')
  else await ctx.harness.disconnect(a.transport, b.transport)
}

function describeDelivery(fresh: Fresh): void {
  it('delivers 1,000 messages each way between two peers, in order, once', async () => {
    const ctx = await fresh()
    const [a, b] = (await ctx.connected(2)) as [Recorder, Recorder]
    for (let i = 0; i < 1000; i++) {
      a.transport.send(b.peer, numbered(i, 1))
      b.transport.send(a.peer, numbered(i, 2))
      if (i % 250 === 249) await ctx.harness.settle()
    }
    const done = () =>
      messagesFrom(b, a.peer).length >= 1000 && messagesFrom(a, b.peer).length >= 1000
    await until(ctx.harness, done, '1,000 messages each way')
    await ctx.harness.settle()
    expectNumbered(messagesFrom(b, a.peer), 1, 1000)
    expectNumbered(messagesFrom(a, b.peer), 2, 1000)
  })

  it('connects three peers pairwise and delivers between every pair', async () => {
    const ctx = await fresh()
    const all = await ctx.connected(3)
    all.forEach((from, tag) => {
      for (const to of all) {
        if (to === from) continue
        for (let i = 0; i < 50; i++) from.transport.send(to.peer, numbered(i, tag))
      }
    })
    const done = () =>
      all.every((to) => to.events.filter((e) => e.type === 'message').length >= 100)
    await until(ctx.harness, done, 'messages between all pairs')
    await ctx.harness.settle()
    all.forEach((from, tag) => {
      for (const to of all) {
        if (to !== from) expectNumbered(messagesFrom(to, from.peer), tag, 50)
      }
      expect(from.events.filter((e) => e.type === 'up')).toHaveLength(2)
      expect(from.events.filter((e) => e.type === 'down')).toHaveLength(0)
    })
  })

  it('lets handlers send from inside onPeerUp and onMessage', async () => {
    const ctx = await fresh()
    const [a, b] = (await ctx.connected(2)) as [Recorder, Recorder]
    // Ping-pong: each side answers message i with i + 1 until 200.
    const answer = (r: Recorder) => (peer: PeerId, message: Uint8Array) => {
      const next = new DataView(message.buffer, message.byteOffset).getUint32(0, true) + 1
      if (next < 200) r.transport.send(peer, numbered(next, 3))
    }
    a.react.onMessage = answer(a)
    b.react.onMessage = answer(b)
    a.transport.send(b.peer, numbered(0, 3))
    const rally = () => messagesFrom(a, b.peer).length + messagesFrom(b, a.peer).length
    await until(ctx.harness, () => rally() >= 200, 'end of the ping-pong')
    expect(rally()).toBe(200)
    a.react = { onPeerUp: (peer) => a.transport.send(peer, numbered(0, 4)) }
    b.react = { onPeerUp: (peer) => b.transport.send(peer, numbered(0, 4)) }
    await ctx.harness.disconnect(a.transport, b.transport)
    await ctx.harness.reconnect(a.transport, b.transport)
    const greeted = (r: Recorder, peer: PeerId) => messagesOfLastConnection(r, peer).length === 1
    await until(ctx.harness, () => greeted(a, b.peer) && greeted(b, a.peer), 'greetings')
    expectNumbered(messagesOfLastConnection(b, a.peer), 4, 1)
  })
}

function describeConnections(fresh: Fresh): void {
  it('shows both ends a connection going down and coming back up', async () => {
    const ctx = await fresh()
    const [a, b] = (await ctx.connected(2)) as [Recorder, Recorder]
    for (const by of BREAK_BY) {
      await breakConnection(ctx, by, a, b)
      await until(ctx.harness, () => !isUp(a, b.peer) && !isUp(b, a.peer), `down after ${by}`)
      await ctx.harness.reconnect(a.transport, b.transport)
      await until(ctx.harness, () => isUp(a, b.peer) && isUp(b, a.peer), `up after ${by}`)
    }
    for (const [r, peer] of [
      [a, b.peer],
      [b, a.peer],
    ] as const) {
      expect(countEvents(r, 'up', peer)).toBe(3)
      expect(countEvents(r, 'down', peer)).toBe(2)
    }
  })

  for (const by of BREAK_BY) {
    it(`delivers nothing after onPeerDown, and send throws TRANSPORT_CLOSED (${by})`, async () => {
      const ctx = await fresh()
      const [a, b] = (await ctx.connected(2)) as [Recorder, Recorder]
      for (let i = 0; i < 300; i++) {
        a.transport.send(b.peer, numbered(i, 1))
        b.transport.send(a.peer, numbered(i, 2))
      }
      await breakConnection(ctx, by, a, b)
      if (by === 'transport.disconnect') {
        expectCode(() => a.transport.send(b.peer, numbered(300, 1)), 'TRANSPORT_CLOSED')
      }
      await until(ctx.harness, () => !isUp(a, b.peer) && !isUp(b, a.peer), 'onPeerDown')
      for (let round = 0; round < 3; round++) await ctx.harness.settle()
      expectCode(() => a.transport.send(b.peer, numbered(0, 9)), 'TRANSPORT_CLOSED')
      expectCode(() => b.transport.send(a.peer, numbered(0, 9)), 'TRANSPORT_CLOSED')
      // Loss comes only with the connection, so what did arrive is a prefix, in order.
      const [fromA, fromB] = [messagesFrom(b, a.peer), messagesFrom(a, b.peer)]
      expectNumbered(fromA, 1, fromA.length)
      expectNumbered(fromB, 2, fromB.length)
    })

    it(`starts a new connection on reconnect, without the old one's messages (${by})`, async () => {
      const ctx = await fresh()
      const [a, b] = (await ctx.connected(2)) as [Recorder, Recorder]
      for (let i = 0; i < 200; i++) a.transport.send(b.peer, numbered(i, 1))
      await breakConnection(ctx, by, a, b)
      await ctx.harness.reconnect(a.transport, b.transport)
      const twice = (r: Recorder, peer: PeerId) => countEvents(r, 'up', peer) === 2
      await until(ctx.harness, () => twice(a, b.peer) && twice(b, a.peer), 'second onPeerUp')
      for (let i = 0; i < 100; i++) {
        a.transport.send(b.peer, numbered(i, 2))
        b.transport.send(a.peer, numbered(i, 3))
      }
      const done = (r: Recorder, peer: PeerId) => messagesOfLastConnection(r, peer).length >= 100
      await until(ctx.harness, () => done(a, b.peer) && done(b, a.peer), 'messages after reconnect')
      await ctx.harness.settle()
      expectNumbered(messagesOfLastConnection(b, a.peer), 2, 100)
      expectNumbered(messagesOfLastConnection(a, b.peer), 3, 100)
      const old = messagesFrom(b, a.peer).slice(0, -100)
      expectNumbered(old, 1, old.length)
    })
  }

  it('survives a flapping connection: ends never see a down without an up', async () => {
    const ctx = await fresh()
    const [a, b] = (await ctx.connected(2)) as [Recorder, Recorder]
    // Sent on the first connection: it may arrive, or be lost with that connection.
    a.transport.send(b.peer, numbered(0, 1))
    for (let flap = 0; flap < 5; flap++) {
      await ctx.harness.disconnect(a.transport, b.transport)
      await ctx.harness.reconnect(a.transport, b.transport)
    }
    await until(ctx.harness, () => isUp(a, b.peer) && isUp(b, a.peer), 'the last connection')
    for (let round = 0; round < 3; round++) await ctx.harness.settle()
    expect(isUp(a, b.peer) && isUp(b, a.peer)).toBe(true)
    a.transport.send(b.peer, numbered(0, 2))
    const done = () => messagesOfLastConnection(b, a.peer).length >= 1
    await until(ctx.harness, done, 'a message on the last connection')
    expectNumbered(messagesOfLastConnection(b, a.peer), 2, 1)
  })

  it('throws TRANSPORT_CLOSED for a peer that was never connected, and before start', async () => {
    const ctx = await fresh()
    const [a, b] = (await ctx.harness.endpoints(2)) as [Transport, Transport]
    expectCode(() => a.send(b.localPeer, numbered(0, 1)), 'TRANSPORT_CLOSED')
    const [ra, rb] = [ctx.record(a), ctx.record(b)]
    await until(ctx.harness, () => isUp(ra, rb.peer) && isUp(rb, ra.peer), 'connection')
    expectCode(() => a.send(toPeerId('never-connected'), numbered(0, 1)), 'TRANSPORT_CLOSED')
    a.send(b.localPeer, numbered(0, 1))
    await until(ctx.harness, () => messagesFrom(rb, ra.peer).length === 1, 'a message')
  })
}

function describeBuffers(fresh: Fresh): void {
  it('delivers a 1.5 MiB message byte-identical, and the receiver can send it on', async () => {
    const ctx = await fresh()
    const [a, b] = (await ctx.connected(2)) as [Recorder, Recorder]
    const rng = createRng(0x5eed)
    const payloads = [
      rng.bytes(LARGE_PAYLOAD_BYTES),
      numbered(1, 1),
      rng.bytes(LARGE_PAYLOAD_BYTES),
    ]
    expect(a.transport.messageBytesMax).toBeGreaterThanOrEqual(LARGE_PAYLOAD_BYTES)
    for (const payload of payloads) a.transport.send(b.peer, payload)
    await until(ctx.harness, () => messagesFrom(b, a.peer).length >= 3, 'large messages')
    const received = messagesFrom(b, a.peer)
    payloads.forEach((payload, i) => expectSameBytes(received[i] as Uint8Array, payload))
    b.transport.send(a.peer, received[2] as Uint8Array)
    await until(ctx.harness, () => messagesFrom(a, b.peer).length >= 1, 'the echo')
    expectSameBytes(messagesFrom(a, b.peer)[0] as Uint8Array, payloads[2] as Uint8Array)
  })

  it('lets the sender reuse its buffer and the receiver keep what it got', async () => {
    const ctx = await fresh()
    const [a, b] = (await ctx.connected(2)) as [Recorder, Recorder]
    const buffer = new Uint8Array(64)
    for (let i = 0; i < 50; i++) {
      buffer.set(numbered(i, 1, 64))
      a.transport.send(b.peer, buffer)
    }
    buffer.fill(0xee)
    await until(ctx.harness, () => messagesFrom(b, a.peer).length >= 50, 'the first 50 messages')
    const kept = messagesFrom(b, a.peer)
    for (const message of kept) expect(message).not.toBe(buffer)
    // More traffic must not overwrite what the receiver kept (no reused receive buffer).
    for (let i = 0; i < 50; i++) a.transport.send(b.peer, numbered(i, 2, 64))
    await until(ctx.harness, () => messagesFrom(b, a.peer).length >= 100, 'the next 50 messages')
    expectNumbered(kept, 1, 50)
    expectNumbered(messagesFrom(b, a.peer).slice(50), 2, 50)
  })

  it('refuses a message over messageBytesMax with TRANSPORT_MESSAGE_TOO_LARGE and goes on', async () => {
    const ctx = await fresh()
    const [a, b] = (await ctx.connected(2)) as [Recorder, Recorder]
    const max = a.transport.messageBytesMax
    expect(Number.isSafeInteger(max) && max > 0).toBe(true)
    expectCode(
      () => a.transport.send(b.peer, new Uint8Array(max + 1)),
      'TRANSPORT_MESSAGE_TOO_LARGE',
    )
    a.transport.send(b.peer, numbered(0, 1))
    await until(ctx.harness, () => messagesFrom(b, a.peer).length >= 1, 'the next message')
    await ctx.harness.settle()
    expectNumbered(messagesFrom(b, a.peer), 1, 1)
    expect(isUp(a, b.peer) && isUp(b, a.peer)).toBe(true)
  })
}

function describeClosing(fresh: Fresh): void {
  it('closes idempotently: no event afterwards, the others see it go down', async () => {
    const ctx = await fresh()
    const [a, b, c] = (await ctx.connected(3)) as [Recorder, Recorder, Recorder]
    for (let i = 0; i < 50; i++) {
      b.transport.send(a.peer, numbered(i, 1))
      c.transport.send(a.peer, numbered(i, 2))
    }
    await Promise.all([a.transport.close(), a.transport.close()])
    const seen = a.events.length
    await a.transport.close()
    expectCode(() => a.transport.send(b.peer, numbered(0, 3)), 'TRANSPORT_CLOSED')
    await until(ctx.harness, () => !isUp(b, a.peer) && !isUp(c, a.peer), 'onPeerDown of a')
    expectCode(() => b.transport.send(a.peer, numbered(0, 4)), 'TRANSPORT_CLOSED')
    b.transport.send(c.peer, numbered(0, 5))
    await until(ctx.harness, () => messagesFrom(c, b.peer).length >= 1, 'a message b → c')
    for (let round = 0; round < 3; round++) await ctx.harness.settle()
    expect(a.events.length).toBe(seen)
    expect(isUp(b, c.peer) && isUp(c, b.peer)).toBe(true)
  })
}
