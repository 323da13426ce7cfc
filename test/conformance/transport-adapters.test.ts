/**
 * Runs the transport conformance suite for every transport adapter, then the memory network's own
 * features (topology, faults, counters, handler errors) that the Transport port does not cover.
 */
import { describe, expect, it } from 'vitest'
import { createMemoryNetwork } from '../../adapters/transport-memory/index.js'
import type { MemoryNetworkOptions } from '../../adapters/transport-memory/index.js'
import type { PeerId } from '../../src/core/ids.js'
import type { Transport } from '../../src/sync/transport.js'
import { createVirtualEnv } from '../../src/testing/virtual-env.js'
import type { VirtualEnv } from '../../src/testing/virtual-env.js'
import { expectInvalidArgument } from '../support/errors.js'
import {
  countEvents,
  describeTransportConformance,
  expectCode,
  expectNumbered,
  expectWellFormed,
  isUp,
  messagesFrom,
  numbered,
  record,
} from './transport.js'
import type { Recorder, TransportHarness } from './transport.js'

/** A harness on one memory network: on `setImmediate` without `env`, on virtual time with it. */
function memoryHarness(env?: VirtualEnv, options: MemoryNetworkOptions = {}): TransportHarness {
  const network = createMemoryNetwork(env === undefined ? options : { ...options, env })
  let next = 0
  const harness: TransportHarness = {
    endpoints: (n) =>
      Promise.resolve(Array.from({ length: n }, () => network.transport(`peer-${next++}`))),
    disconnect: (a, b) => network.unlink(a.localPeer, b.localPeer),
    reconnect: (a, b) => network.link(a.localPeer, b.localPeer),
    // Each settle also yields one macrotask turn: stores synced in the sync cases do real work
    // (their WAL's group commit) on the event loop, not only on the network's schedule.
    settle: async () => {
      if (env === undefined) await network.whenIdle()
      else {
        env.runUntilIdle()
        expect(network.inFlight()).toBe(0)
      }
      await new Promise((resolve) => setImmediate(resolve))
    },
  }
  return env === undefined ? harness : { ...harness, env }
}

describeTransportConformance('memory (setImmediate)', () => Promise.resolve(memoryHarness()))

describeTransportConformance('memory (virtual env)', () =>
  Promise.resolve(
    memoryHarness(createVirtualEnv({ seed: 7 }), { messageBytesMax: 2 * 1024 * 1024 }),
  ),
)

/** Starts every transport of `ids` on a network, recording events. */
function recordAll(network: ReturnType<typeof createMemoryNetwork>, ids: string[]): Recorder[] {
  return ids.map((id) => record(network.transport(id)))
}

const peer = (r: Recorder): PeerId => r.peer

describe('memory network', () => {
  it('runs the documented example', async () => {
    const network = createMemoryNetwork()
    const alice = network.transport('alice')
    const bob = network.transport('bob')
    const got: Array<[PeerId, Uint8Array]> = []
    bob.start({
      onPeerUp: () => undefined,
      onPeerDown: () => undefined,
      onMessage: (from, message) => got.push([from, message]),
    })
    alice.start({
      onPeerUp: (to) => alice.send(to, new Uint8Array([1, 2])),
      onPeerDown: () => undefined,
      onMessage: () => undefined,
    })
    await network.whenIdle()
    expect(got).toEqual([['alice', new Uint8Array([1, 2])]])
  })

  it('refuses a second open endpoint with the same id, but allows it again after close', async () => {
    const network = createMemoryNetwork()
    const first = network.transport('node')
    expectInvalidArgument(() => network.transport('node'))
    expectInvalidArgument(() => network.transport('not a peer id'))
    await first.close()
    expect(network.transport('node').localPeer).toBe('node')
  })

  it('checks its options and arguments', () => {
    expectInvalidArgument(() => createMemoryNetwork({ messageBytesMax: 0 }))
    expectInvalidArgument(() => createMemoryNetwork({ messageBytesMax: 1.5 }))
    const network = createMemoryNetwork()
    const a = network.transport('a')
    network.transport('b')
    expectInvalidArgument(() => network.link('a', 'a'))
    expectInvalidArgument(() => network.link('a', 'missing'))
    expectInvalidArgument(() => network.partition([['a'], ['a', 'b']]))
    const handlers = { onPeerUp: () => undefined, onPeerDown: () => undefined, onMessage: 1 }
    expectInvalidArgument(() => a.start(handlers as never))
    a.start({ onPeerUp: () => undefined, onPeerDown: () => undefined, onMessage: () => undefined })
    expectInvalidArgument(() => a.start({} as never))
    expectInvalidArgument(() => a.send('b' as PeerId, [1, 2] as never))
  })

  it('links only on request without autoConnect, and partitions and heals', () => {
    const env = createVirtualEnv({ seed: 1 })
    const network = createMemoryNetwork({ env, autoConnect: false })
    const [a, b, c] = recordAll(network, ['a', 'b', 'c']) as [Recorder, Recorder, Recorder]
    env.runUntilIdle()
    expect(a.events).toEqual([])
    network.link('a', 'b')
    network.link('b', 'a')
    env.runUntilIdle()
    expect([isUp(a, peer(b)), isUp(a, peer(c)), network.isLinked('b', 'a')]).toEqual([
      true,
      false,
      true,
    ])
    network.heal()
    env.runUntilIdle()
    expect([isUp(a, peer(c)), isUp(b, peer(c))]).toEqual([true, true])
    network.partition([['a'], ['b', 'c']])
    env.runUntilIdle()
    expect([isUp(a, peer(b)), isUp(a, peer(c)), isUp(b, peer(c))]).toEqual([false, false, true])
    expect(a.events.at(-1)).toEqual({ type: 'down', peer: 'c', reason: 'partitioned' })
    network.partition([['a', 'c']])
    env.runUntilIdle()
    expect([isUp(a, peer(c)), isUp(b, peer(c)), network.isLinked('a', 'b')]).toEqual([
      true,
      false,
      false,
    ])
    network.heal()
    env.runUntilIdle()
    for (const r of [a, b, c]) expectWellFormed(r)
    expect(countEvents(b, 'up', peer(c))).toBe(2)
  })

  it('opens a connection only once both ends are started', () => {
    const env = createVirtualEnv({ seed: 2 })
    const network = createMemoryNetwork({ env })
    const a = record(network.transport('a'))
    const b = network.transport('b')
    env.runUntilIdle()
    expect(a.events).toEqual([])
    expect(network.isLinked('a', 'b')).toBe(true)
    expectCode(() => b.send(peer(a), numbered(0, 1)), 'TRANSPORT_CLOSED')
    const rb = record(b)
    env.runUntilIdle()
    expect([isUp(a, peer(rb)), isUp(rb, peer(a))]).toEqual([true, true])
  })

  it('delivers on virtual time only, in order, and counts traffic', () => {
    const env = createVirtualEnv({ seed: 3 })
    const network = createMemoryNetwork({ env })
    const [a, b] = recordAll(network, ['a', 'b']) as [Recorder, Recorder]
    env.runUntilIdle()
    for (let i = 0; i < 10; i++) a.transport.send(peer(b), numbered(i, 1, 16))
    expect(network.inFlight()).toBe(10)
    expect(messagesFrom(b, peer(a))).toEqual([])
    env.runNext()
    expect(messagesFrom(b, peer(a))).toHaveLength(1)
    env.runUntilIdle()
    expectNumbered(messagesFrom(b, peer(a)), 1, 10)
    expect(network.stats()).toEqual([
      {
        from: 'a',
        to: 'b',
        messagesSent: 10,
        bytesSent: 160,
        messagesDelivered: 10,
        bytesDelivered: 160,
        messagesDropped: 0,
        messagesDuplicated: 0,
        messagesDiscarded: 0,
      },
    ])
    for (let i = 0; i < 5; i++) a.transport.send(peer(b), numbered(i, 2, 16))
    network.unlink('a', 'b')
    expect(network.inFlight()).toBe(0)
    env.runUntilIdle()
    expect(messagesFrom(b, peer(a))).toHaveLength(10)
    expect(network.stats()[0]).toMatchObject({ messagesSent: 15, messagesDiscarded: 5 })
  })

  it('injects drops, duplicates and delays (reordering) through the fault hook', () => {
    const env = createVirtualEnv({ seed: 4 })
    const faults: MemoryNetworkOptions['faults'] = (_from, _to, message) => {
      const index = message[0] ?? 0
      if (index === 1) return { drop: true }
      if (index === 2) return { duplicate: 2 }
      if (index === 3) return { delayMs: 50 }
      return undefined
    }
    const network = createMemoryNetwork({ env, faults })
    const [a, b] = recordAll(network, ['a', 'b']) as [Recorder, Recorder]
    env.runUntilIdle()
    for (let i = 0; i < 6; i++) a.transport.send(peer(b), new Uint8Array([i]))
    env.advance(10)
    const order = () => messagesFrom(b, peer(a)).map((m) => m[0])
    expect(order()).toEqual([0, 2, 2, 2, 4, 5])
    expect(network.inFlight()).toBe(1)
    env.advance(50)
    expect(order()).toEqual([0, 2, 2, 2, 4, 5, 3])
    const copies = messagesFrom(b, peer(a)).filter((m) => m[0] === 2)
    expect(new Set(copies).size).toBe(3)
    expect(network.stats()[0]).toMatchObject({
      messagesSent: 6,
      messagesDelivered: 7,
      messagesDropped: 1,
      messagesDuplicated: 2,
    })
    const bad = createMemoryNetwork({ env, faults: () => ({ duplicate: -1 }) })
    const [x, y] = recordAll(bad, ['x', 'y']) as [Recorder, Recorder]
    env.runUntilIdle()
    expectInvalidArgument(() => x.transport.send(peer(y), new Uint8Array(1)))
  })

  it('never delivers a delayed message of a closed connection, not even on a new one', () => {
    const env = createVirtualEnv({ seed: 6 })
    const network = createMemoryNetwork({ env, faults: () => ({ delayMs: 100 }) })
    const [a, b] = recordAll(network, ['a', 'b']) as [Recorder, Recorder]
    env.runUntilIdle()
    for (let i = 0; i < 3; i++) a.transport.send(peer(b), numbered(i, 1))
    network.unlink('a', 'b')
    network.link('a', 'b')
    env.runUntilIdle()
    expect(countEvents(b, 'up', peer(a))).toBe(2)
    expect(messagesFrom(b, peer(a))).toEqual([])
    expect(network.stats()[0]).toMatchObject({ messagesSent: 3, messagesDiscarded: 3 })
  })

  it('delays on real timers without an env, and whenIdle waits for them', async () => {
    const faults = (_from: PeerId, _to: PeerId, message: Uint8Array) =>
      message[0] === 0 ? { delayMs: 5 } : undefined
    const network = createMemoryNetwork({ faults })
    const [a, b] = recordAll(network, ['a', 'b']) as [Recorder, Recorder]
    await network.whenIdle()
    for (let i = 0; i < 3; i++) a.transport.send(peer(b), new Uint8Array([i]))
    await network.whenIdle()
    expect(messagesFrom(b, peer(a)).map((m) => m[0])).toEqual([1, 2, 0])
    await expect(
      createMemoryNetwork({ env: createVirtualEnv({ seed: 1 }) }).whenIdle(),
    ).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' })
  })

  it('keeps delivering when a handler throws, reporting to onHandlerError', () => {
    const env = createVirtualEnv({ seed: 5 })
    const errors: unknown[] = []
    const network = createMemoryNetwork({
      env,
      onHandlerError: (error, context) => errors.push([(error as Error).message, context]),
    })
    const [a, b, c] = recordAll(network, ['a', 'b', 'c']) as [Recorder, Recorder, Recorder]
    b.react.onMessage = () => {
      throw new Error('broken handler')
    }
    env.runUntilIdle()
    a.transport.send(peer(b), numbered(0, 1))
    a.transport.send(peer(c), numbered(0, 1))
    a.transport.send(peer(b), numbered(1, 1))
    env.runUntilIdle()
    expectNumbered(messagesFrom(b, peer(a)), 1, 2)
    expectNumbered(messagesFrom(c, peer(a)), 1, 1)
    expect(errors).toEqual([
      ['broken handler', { peer: 'b', remote: 'a', event: 'message' }],
      ['broken handler', { peer: 'b', remote: 'a', event: 'message' }],
    ])
  })

  it('rethrows a handler error from a microtask without onHandlerError', async () => {
    const network = createMemoryNetwork()
    const caught: unknown[] = []
    const onUncaught = (error: unknown) => caught.push(error)
    const listeners = process.listeners('uncaughtException')
    process.removeAllListeners('uncaughtException')
    process.on('uncaughtException', onUncaught)
    try {
      const [a, b] = recordAll(network, ['a', 'b']) as [Recorder, Recorder]
      b.react.onPeerUp = () => {
        throw new Error('thrown in onPeerUp')
      }
      await network.whenIdle()
      a.transport.send(peer(b), numbered(0, 1))
      await network.whenIdle()
      await new Promise((resolve) => setImmediate(resolve))
      expectNumbered(messagesFrom(b, peer(a)), 1, 1)
    } finally {
      process.off('uncaughtException', onUncaught)
      for (const listener of listeners) process.on('uncaughtException', listener)
    }
    expect(caught.map((error) => (error as Error).message)).toEqual(['thrown in onPeerUp'])
  })

  it('replays the same run from the same seed', () => {
    const run = (seed: number): string[] => {
      const env = createVirtualEnv({ seed })
      const network = createMemoryNetwork({ env, faults: () => ({ delayMs: env.rng.int(20) }) })
      const all = recordAll(network, ['a', 'b', 'c'])
      const log: string[] = []
      for (const r of all) {
        r.react.onMessage = (from, m) => log.push(`${from}>${r.peer}:${m[0]}@${env.monotonicMs()}`)
      }
      env.runUntilIdle()
      all.forEach((from, i) => {
        for (const to of all) if (to !== from) to.transport.send(from.peer, new Uint8Array([i]))
      })
      for (let i = 0; i < 30; i++) {
        const [from, to] = [all[i % 3], all[(i + 1) % 3]] as [Recorder, Recorder]
        from.transport.send(to.peer, new Uint8Array([i]))
      }
      env.runUntilIdle()
      return log
    }
    const first = run(9)
    expect(first).toHaveLength(36)
    expect(run(9)).toEqual(first)
    expect(run(10)).not.toEqual(first)
  })

  it('closes an endpoint that was never started', async () => {
    const network = createMemoryNetwork()
    const a: Transport = network.transport('a')
    const b = record(network.transport('b'))
    await a.close()
    await network.whenIdle()
    expect(b.events).toEqual([])
    expectCode(
      () =>
        a.start({
          onPeerUp: () => undefined,
          onPeerDown: () => undefined,
          onMessage: () => undefined,
        }),
      'TRANSPORT_CLOSED',
    )
  })
})
