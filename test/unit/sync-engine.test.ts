/**
 * The sans-IO engine on its own: frames in, effects out, time only through tick(). Handshake,
 * ack only after the host reports durability (I3), duplicates and gaps, backpressure, retry
 * with bounded exponential backoff and jitter, catch-up when the log is gone, bad frames.
 */
import { describe, expect, it } from 'vitest'
import { toNodeId, type NodeId, type PeerId } from '../../src/core/ids.js'
import { SyncEngine, RETRIES_MAX, type Effect } from '../../src/sync/engine.js'
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
