/**
 * The sans-IO engine on its own: frames in, effects out, time only through tick(). Handshake,
 * ack only after the host reports durability (I3), duplicates and gaps, backpressure, retry
 * with bounded exponential backoff and jitter, catch-up when the log is gone, bad frames.
 */
import { describe, expect, it } from 'vitest'
import { toNodeId, type NodeId, type PeerId } from '../../src/core/ids.js'
import { SyncEngine, RETRIES_MAX, type Effect, type InboundBatch } from '../../src/sync/engine.js'
import { decodeFrame, encodeFrame } from '../../src/sync/frames.js'
import type { Frame, LogEntry } from '../../src/sync/protocol.js'

const PEER = 'p1' as PeerId
const THEM = toNodeId('them')

function engine(options: { firstLsn?: number; random?: number; ackBeforeDurable?: boolean } = {}) {
  const inbound = new Map<NodeId, number>()
  const e = new SyncEngine({
    nodeId: toNodeId('me'),
    random: () => options.random ?? 0.5,
    host: {
      firstLsn: () => options.firstLsn ?? 1,
      backlogBytes: () => undefined,
      inboundCursor: (node) => inbound.get(node) ?? 0,
    },
    limits: { inflightFramesMax: 2, ackTimeoutMs: 1000, ackTimeoutMsMax: 8000, badFramesMax: 3 },
    unsafe: { ackBeforeDurable: options.ackBeforeDurable ?? false },
  })
  return { e, inbound }
}

const sent = (effects: Effect[]): Frame[] =>
  effects.flatMap((x) => (x.kind === 'send' ? [decodeFrame(x.bytes)] : []))
const kinds = (effects: Effect[]) => effects.map((x) => x.kind).filter((k) => k !== 'event')

/** Opens a connection; returns the effects of the handshake (a first read, when records wait). */
function open(e: SyncEngine, resumeAt = 0): Effect[] {
  e.peerUp(PEER)
  e.receive(PEER, encodeFrame({ type: 'hello', protocolVersion: 1, nodeId: THEM, lastLsn: 0 }))
  e.receive(PEER, encodeFrame({ type: 'resume', cursor: resumeAt }))
  return e.drain()
}

const entry = (lsn: number): LogEntry => ({ lsn, envelopes: [] })

describe('sync engine', () => {
  it('greets with hello, answers hello with resume from the durable cursor', () => {
    const { e, inbound } = engine()
    inbound.set(THEM, 7)
    e.peerUp(PEER)
    expect(sent(e.drain())).toMatchObject([{ type: 'hello', nodeId: 'me' }])
    e.receive(PEER, encodeFrame({ type: 'hello', protocolVersion: 1, nodeId: THEM, lastLsn: 9 }))
    expect(sent(e.drain())).toEqual([{ type: 'resume', cursor: 7 }])
  })

  it('refuses a peer that holds more of our log than we have (a restored directory)', () => {
    const { e } = engine()
    e.committed(3)
    e.drain()
    e.peerUp(PEER)
    e.receive(PEER, encodeFrame({ type: 'hello', protocolVersion: 1, nodeId: THEM, lastLsn: 0 }))
    e.receive(PEER, encodeFrame({ type: 'resume', cursor: 5 }))
    const effects = e.drain()
    expect(sent(effects).at(-1)).toMatchObject({ type: 'error', code: 'SYNC_LOG_REWOUND' })
    const down = effects.find((x) => x.kind === 'disconnect')
    expect(down?.kind === 'disconnect' && down.error.code).toBe('SYNC_LOG_REWOUND')
    expect(down?.kind === 'disconnect' && down.error.details).toMatchObject({
      peerCursor: 5,
      logEnd: 3,
    })
  })

  it('acks received records only after the host reports them durable (I3)', () => {
    const { e, inbound } = engine()
    open(e)
    e.receive(
      PEER,
      encodeFrame({ type: 'records', fromLsn: 0, toLsn: 2, entries: [entry(1), entry(2)] }),
    )
    const effects = e.drain()
    expect(kinds(effects)).toEqual(['apply'])
    const apply = effects.find((x) => x.kind === 'apply')
    if (apply?.kind !== 'apply') throw new Error('no apply')
    inbound.set(THEM, 2)
    e.applied(PEER, apply.batch)
    expect(sent(e.drain())).toEqual([{ type: 'ack', cursor: 2 }])
  })

  it('the unsafe ack-before-durable switch acks at once (for harness sanity only)', () => {
    const { e } = engine({ ackBeforeDurable: true })
    open(e)
    e.receive(PEER, encodeFrame({ type: 'records', fromLsn: 0, toLsn: 1, entries: [entry(1)] }))
    expect(sent(e.drain())).toEqual([{ type: 'ack', cursor: 1 }])
  })

  it('repeats the ack for a duplicate and ignores a frame after a gap', () => {
    const { e, inbound } = engine()
    open(e)
    inbound.set(THEM, 5)
    e.receive(PEER, encodeFrame({ type: 'records', fromLsn: 3, toLsn: 5, entries: [entry(4)] }))
    expect(sent(e.drain())).toEqual([{ type: 'ack', cursor: 5 }])
    e.receive(PEER, encodeFrame({ type: 'records', fromLsn: 8, toLsn: 9, entries: [entry(9)] }))
    expect(kinds(e.drain())).toEqual([])
  })

  it('streams in LSN order under backpressure and resends from the cursor after a timeout', () => {
    const { e } = engine()
    e.committed(10)
    let pending = open(e)
    e.tick(0)
    const reads: number[] = []
    const pump = () => {
      const effects = [...pending, ...e.drain()]
      pending = []
      for (const x of effects) {
        if (x.kind !== 'read') continue
        reads.push(x.fromLsn)
        const to = Math.min(x.fromLsn + 2, x.toLsn)
        e.readDone(PEER, x.fromLsn, to, [entry(to)])
      }
    }
    e.committed(10)
    e.receive(PEER, encodeFrame({ type: 'ack', cursor: 0 }))
    pump()
    pump()
    // Two frames in flight at most: 0→2, 2→4, then it waits for acks.
    expect(reads).toEqual([0, 2])
    e.receive(PEER, encodeFrame({ type: 'ack', cursor: 2 }))
    pump()
    expect(reads).toEqual([0, 2, 4])
    // No ack for 4 and 6 before the deadline (1000 ms × jitter 0.75): resend from the cursor.
    const deadline = e.nextDeadlineMs() ?? 0
    expect(deadline).toBe(750)
    e.tick(deadline)
    pump()
    expect(reads.slice(3)).toEqual([2])
  })

  it('backs off exponentially (bounded) and drops a peer that never acks', () => {
    const { e } = engine({ random: 0.999 })
    e.committed(3)
    let pending = open(e)
    let now = 0
    const deadlines: number[] = []
    let dropped = false
    for (let i = 0; i <= RETRIES_MAX + 1 && !dropped; i++) {
      const effects = [...pending, ...e.drain()]
      pending = []
      for (const x of effects) {
        if (x.kind === 'read') e.readDone(PEER, x.fromLsn, x.toLsn, [entry(x.toLsn)])
        if (x.kind === 'disconnect') dropped = true
      }
      e.drain()
      const due = e.nextDeadlineMs()
      if (due === undefined) break
      deadlines.push(due - now)
      now = due
      e.tick(now)
    }
    for (const x of e.drain()) if (x.kind === 'disconnect') dropped = true
    expect(dropped).toBe(true)
    // Jitter 0.999 keeps each timeout within 0.1 % of base × 2^retries, capped at 8 s.
    const expected = [1000, 2000, 4000, 8000, 8000]
    expected.forEach((ms, i) =>
      expect(Math.abs((deadlines[i] ?? 0) - ms)).toBeLessThanOrEqual(ms / 500),
    )
    expect(Math.max(...deadlines)).toBeLessThanOrEqual(8000)
  })

  it('survives a lost RESUME: the handshake times out, HELLO goes again and is answered again', () => {
    const { e } = engine()
    e.committed(3)
    e.tick(0)
    e.peerUp(PEER)
    e.receive(PEER, encodeFrame({ type: 'hello', protocolVersion: 1, nodeId: THEM, lastLsn: 0 }))
    e.drain()
    // Their RESUME never arrives: at the deadline we greet again.
    const due = e.nextDeadlineMs()
    expect(due).toBeDefined()
    e.tick(due ?? 0)
    expect(sent(e.drain()).map((f) => f.type)).toEqual(['hello'])
    // A repeated HELLO from them is answered with RESUME again (not a violation).
    e.receive(PEER, encodeFrame({ type: 'hello', protocolVersion: 1, nodeId: THEM, lastLsn: 0 }))
    expect(sent(e.drain())).toEqual([{ type: 'resume', cursor: 0 }])
    e.receive(PEER, encodeFrame({ type: 'resume', cursor: 0 }))
    expect(e.drain().some((x) => x.kind === 'read')).toBe(true)
    // A duplicated RESUME later is harmless.
    e.receive(PEER, encodeFrame({ type: 'resume', cursor: 0 }))
    expect(e.peers()[0]?.badFrames).toBe(0)
  })

  it('catches up by state vectors when the log below the cursor is gone', () => {
    const { e } = engine({ firstLsn: 50 })
    e.committed(80)
    e.peerUp(PEER)
    e.receive(PEER, encodeFrame({ type: 'hello', protocolVersion: 1, nodeId: THEM, lastLsn: 0 }))
    e.receive(PEER, encodeFrame({ type: 'resume', cursor: 10 }))
    const effects = e.drain()
    expect(effects.find((x) => x.kind === 'summarize')).toMatchObject({ sinceLsn: -1, round: 1 })
    expect(effects.some((x) => x.kind === 'read')).toBe(false)
    e.summaryDone(PEER, 1, 80, [])
    expect(sent(e.drain())).toEqual([
      { type: 'catchUpOffer', round: 1, upTo: 80, docs: [], last: true },
    ])
    e.receive(PEER, encodeFrame({ type: 'catchUpRequest', round: 1, docs: [], last: true }))
    const diff = e.drain().find((x) => x.kind === 'diff')
    expect(diff).toBeDefined()
    e.diffDone(PEER, 1, [], true)
    expect(sent(e.drain())).toEqual([
      { type: 'catchUpData', round: 1, upTo: 80, docs: [], last: true },
    ])
    e.receive(PEER, encodeFrame({ type: 'ack', cursor: 80 }))
    expect(e.peers()[0]).toMatchObject({ mode: 'log', acked: 80, behind: 0 })
  })

  it('counts bad frames, reports each, and drops the peer at the limit', () => {
    const { e } = engine()
    open(e)
    const garbage = new Uint8Array([0xa7, 1, 3, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0])
    e.receive(PEER, garbage)
    e.receive(PEER, encodeFrame({ type: 'ack', cursor: 99 }))
    const effects = e.drain()
    expect(effects.filter((x) => x.kind === 'event' && x.event.type === 'peer-error')).toHaveLength(
      2,
    )
    e.receive(PEER, garbage)
    const last = e.drain()
    expect(last.find((x) => x.kind === 'disconnect')).toMatchObject({
      error: { code: 'SYNC_PEER_DROPPED' },
    })
    expect(e.connectionCount).toBe(0)
  })

  it('refuses a peer with another protocol version, with an error frame, and a node connected to itself', () => {
    for (const hello of [
      { type: 'hello' as const, protocolVersion: 2, nodeId: THEM, lastLsn: 0 },
      { type: 'hello' as const, protocolVersion: 1, nodeId: toNodeId('me'), lastLsn: 0 },
    ]) {
      const { e } = engine()
      e.peerUp(PEER)
      e.drain()
      e.receive(PEER, encodeFrame(hello))
      const effects = e.drain()
      expect(effects.some((x) => x.kind === 'disconnect')).toBe(true)
      expect(sent(effects)[0]?.type).toBe('error')
    }
    // A frame in another header format: the same, at once (not counted as one bad frame).
    const { e } = engine()
    e.peerUp(PEER)
    e.drain()
    const v2 = encodeFrame({ type: 'resume', cursor: 0 })
    v2[1] = 2
    e.receive(PEER, v2)
    expect(e.drain().find((x) => x.kind === 'disconnect')).toMatchObject({
      error: { code: 'SYNC_PROTOCOL_VERSION' },
    })
  })
})

/**
 * Two engines joined by a scripted driver: every effect is answered synchronously (documents are
 * stand-ins: a summary per key, a difference of fixed bytes), and `lose` decides which frames from
 * the sender never arrive. Deterministic: no timers, no randomness beyond the fixed jitter.
 */
function catchUpPair(keys: string[], lose: (frame: Frame) => boolean) {
  const SENDER = toNodeId('sender')
  const RECEIVER = toNodeId('receiver')
  const toReceiver = 'to-receiver' as PeerId
  const toSender = 'to-sender' as PeerId
  const cursorOnSender = new Map<NodeId, number>()
  const limits = { ackTimeoutMs: 1000, catchUpTimeoutMs: 5000, batchBytesTarget: 1 }
  const sender = new SyncEngine({
    nodeId: SENDER,
    random: () => 0.5,
    host: { firstLsn: () => 50, backlogBytes: () => undefined, inboundCursor: () => 0 },
    limits,
  })
  const receiver = new SyncEngine({
    nodeId: RECEIVER,
    random: () => 0.5,
    host: {
      firstLsn: () => 1,
      backlogBytes: () => undefined,
      inboundCursor: (node) => cursorOnSender.get(node) ?? 0,
    },
    limits,
  })
  const applied: Extract<InboundBatch, { kind: 'catchUp' }>[] = []
  const acks: number[] = []
  const lost: Frame[] = []
  const drive = (): void => {
    for (let steps = 0; steps < 1000; steps++) {
      const fromSender = sender.drain()
      const fromReceiver = receiver.drain()
      if (fromSender.length === 0 && fromReceiver.length === 0) return
      for (const x of fromSender) {
        if (x.kind === 'send') {
          const frame = decodeFrame(x.bytes)
          if (lose(frame)) lost.push(frame)
          else receiver.receive(toSender, x.bytes)
        } else if (x.kind === 'summarize') {
          const docs = keys.map((key) => ({
            key,
            stateVector: new Uint8Array([0]),
            deleteSetHash: 0,
          }))
          sender.summaryDone(x.peer, x.round, 80, docs)
        } else if (x.kind === 'diff') {
          const docs = x.docs.map(({ key }) => ({ key, update: new Uint8Array([0, 0]) }))
          sender.diffDone(x.peer, x.round, docs, x.last)
        } else if (x.kind === 'read') sender.readDone(x.peer, x.fromLsn, x.toLsn, [])
      }
      for (const x of fromReceiver) {
        if (x.kind === 'send') {
          const frame = decodeFrame(x.bytes)
          if (frame.type === 'ack') acks.push(frame.cursor)
          sender.receive(toReceiver, x.bytes)
        } else if (x.kind === 'compare') {
          const wanted = x.docs.map(({ key }) => ({ key, stateVector: new Uint8Array([0]) }))
          receiver.compareDone(x.peer, x.round, wanted, x.last)
        } else if (x.kind === 'apply' && x.batch.kind === 'catchUp') {
          // The sync node's rule: the cursor becomes `upTo` only for a complete batch.
          applied.push(x.batch)
          if (x.batch.complete) cursorOnSender.set(x.batch.sender, x.batch.upTo)
          receiver.applied(x.peer, x.batch)
        }
      }
    }
    throw new Error('the two engines never went quiet')
  }
  sender.committed(80)
  sender.peerUp(toReceiver)
  receiver.peerUp(toSender)
  drive()
  return {
    sender,
    receiver,
    applied,
    acks,
    lost,
    drive,
    cursor: () => cursorOnSender.get(SENDER) ?? 0,
  }
}

describe('catch-up by state vectors with a lost CATCHUP_DATA frame (I3)', () => {
  it('I3: the cursor does not jump to upTo until every requested document arrived; the round is retried and completes', () => {
    let dropped = false
    const keys = ['notes/a', 'notes/b', 'notes/c']
    const pair = catchUpPair(keys, (frame) => {
      // Lose the first data frame of round 1 (not the `last` one, which arrives).
      if (dropped || frame.type !== 'catchUpData' || frame.round !== 1) return false
      expect(frame.last).toBe(false)
      return (dropped = true)
    })
    expect(pair.lost).toEqual([
      {
        type: 'catchUpData',
        round: 1,
        upTo: 80,
        docs: [{ key: 'notes/a', update: new Uint8Array([0, 0]) }],
        last: false,
      },
    ])
    // Round 1: the other documents arrived, the last frame too, yet nothing claims upTo.
    expect(pair.applied.map((b) => [b.docs.map((d) => d.key), b.complete])).toEqual([
      [['notes/b'], false],
      [['notes/c'], false],
    ])
    expect(pair.cursor()).toBe(0)
    expect(pair.acks).toEqual([])
    expect(pair.sender.peers()[0]).toMatchObject({ mode: 'catchUp', acked: 0 })

    // The round's deadline passes without an ack: the sender starts round 2, nothing is lost.
    const due = pair.sender.nextDeadlineMs()
    expect(due).toBe(3750) // catchUpTimeoutMs 5000 × jitter 0.75
    pair.sender.tick(due ?? 0)
    pair.receiver.tick(due ?? 0)
    pair.drive()
    expect(pair.applied.slice(2).map((b) => [b.docs.map((d) => d.key), b.complete])).toEqual([
      [['notes/a'], false],
      [['notes/b'], false],
      [['notes/c'], true],
    ])
    expect(pair.cursor()).toBe(80)
    expect(pair.acks).toEqual([80])
    expect(pair.sender.peers()[0]).toMatchObject({ mode: 'log', acked: 80, behind: 0 })
  })

  it('I3: without a loss the first round completes and is acked once', () => {
    const pair = catchUpPair(['notes/a', 'notes/b'], () => false)
    expect(pair.applied.map((b) => b.complete)).toEqual([false, true])
    expect(pair.cursor()).toBe(80)
    expect(pair.acks).toEqual([80])
    expect(pair.sender.peers()[0]).toMatchObject({ mode: 'log', acked: 80 })
  })
})
