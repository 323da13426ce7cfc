/**
 * The simulated network: the memory transport on the virtual env, a seeded fault hook (loss,
 * duplication, delay that reorders), and the link state — the topology minus partition cuts and
 * clogged links — reconciled onto the memory network. Every message passes the hook, which also
 * hands each ACK frame to the ack oracle at the moment it is sent.
 */
import {
  createMemoryNetwork,
  type LinkFault,
  type MemoryNetwork,
} from '../../../adapters/transport-memory/index.js'
import type { Env } from '../../core/env.js'
import type { Rng } from '../../core/random.js'
import { decodeFrame } from '../../sync/frames.js'
import { FRAME_MAGIC, FRAME_TYPE } from '../../sync/protocol.js'
import type { FaultRates } from './types.js'

/** Latency of every message; equal latencies keep a connection's messages in order. */
export const LATENCY_MS = 1

/** The transport id of peer `index`. */
export function peerName(index: number): string {
  return `p${index}`
}

/** An ACK frame seen on the wire: `from` acknowledges `to`'s log up to `cursor`. */
export type AckObserver = (from: number, to: number, cursor: number) => void

/** The network of a simulation (see the module comment). */
export class SimNetwork {
  readonly net: MemoryNetwork
  readonly #rng: Rng
  readonly #rates: FaultRates
  readonly #edges: ReadonlyArray<readonly [number, number]>
  readonly #onAck: AckObserver
  /** Whether faults are injected (off in the liveness phase). */
  faulty = true
  /** Pairs cut by the current partition (`i j`, i < j). */
  cut = new Set<string>()
  /** Clogged pairs and the virtual time their link comes back. */
  readonly clogs = new Map<string, number>()

  constructor(
    env: Env,
    rng: Rng,
    rates: FaultRates,
    edges: ReadonlyArray<readonly [number, number]>,
    onAck: AckObserver,
    onHandlerError: (error: unknown, where: string) => void,
  ) {
    this.#rng = rng
    this.#rates = rates
    this.#edges = edges
    this.#onAck = onAck
    this.net = createMemoryNetwork({
      env,
      autoConnect: false,
      faults: (from, to, message) => this.#fault(from, to, message),
      // A sync node's handler must never throw: one that does is a finding, not a crash.
      onHandlerError: (error, context) =>
        onHandlerError(error, `${context.peer} ${context.event} from ${context.remote}`),
    })
  }

  /** The topology's edges. */
  get edges(): ReadonlyArray<readonly [number, number]> {
    return this.#edges
  }

  /** Whether the link `i`–`j` should be up now (topology, no cut, no clog). */
  wanted(i: number, j: number): boolean {
    const key = pairKey(i, j)
    return !this.cut.has(key) && !this.clogs.has(key)
  }

  /**
   * Brings the memory network's links in line with what is wanted, between peers that are up.
   * Links the sync engine dropped (a peer that stopped answering) come back here too, as an
   * application reconnecting would bring them back.
   */
  reconcile(nowMs: number, isUp: (index: number) => boolean): void {
    for (const [key, until] of this.clogs) if (until <= nowMs) this.clogs.delete(key)
    for (const [i, j] of this.#edges) {
      if (!isUp(i) || !isUp(j)) continue
      const linked = this.net.isLinked(peerName(i), peerName(j))
      const wanted = this.wanted(i, j)
      if (wanted && !linked) this.net.link(peerName(i), peerName(j))
      else if (!wanted && linked) this.net.unlink(peerName(i), peerName(j), 'partitioned')
    }
  }

  /** Splits the peers in two random groups; links across them go down. */
  partitionHalves(peers: number): void {
    const order = shuffle(
      this.#rng,
      Array.from({ length: peers }, (_, i) => i),
    )
    const split = 1 + this.#rng.int(peers - 1)
    const side = new Map(order.map((peer, at) => [peer, at < split]))
    this.cut = new Set(
      this.#edges.filter(([i, j]) => side.get(i) !== side.get(j)).map(([i, j]) => pairKey(i, j)),
    )
  }

  /** Cuts every link between different groups; a peer in no group is cut off from all. */
  partitionGroups(groups: ReadonlyArray<readonly number[]>): void {
    const groupOf = new Map<number, number>()
    groups.forEach((group, g) => group.forEach((peer) => groupOf.set(peer, g)))
    const together = (i: number, j: number): boolean =>
      groupOf.has(i) && groupOf.get(i) === groupOf.get(j)
    this.cut = new Set(
      this.#edges.filter(([i, j]) => !together(i, j)).map(([i, j]) => pairKey(i, j)),
    )
  }

  /** Cuts one peer off from every other. */
  isolate(peer: number): void {
    this.cut = new Set(
      this.#edges.filter(([i, j]) => i === peer || j === peer).map(([i, j]) => pairKey(i, j)),
    )
  }

  /** Takes one link down until `untilMs` (a rolling clog: links go down and up over time). */
  clog(i: number, j: number, untilMs: number): void {
    this.clogs.set(pairKey(i, j), untilMs)
  }

  /** Lifts every partition and clog. */
  heal(): void {
    this.cut = new Set()
    this.clogs.clear()
  }

  /** Traffic totals over every link. */
  totals(): { messages: number; dropped: number; duplicated: number } {
    let messages = 0
    let dropped = 0
    let duplicated = 0
    for (const link of this.net.stats()) {
      messages += link.messagesSent
      dropped += link.messagesDropped
      duplicated += link.messagesDuplicated
    }
    return { messages, dropped, duplicated }
  }

  /** The directed link carrying the most messages in flight, and how many. */
  busiestLink(): { link: string; inFlight: number } {
    let busiest = { link: '', inFlight: 0 }
    for (const s of this.net.stats()) {
      const inFlight =
        s.messagesSent +
        s.messagesDuplicated -
        s.messagesDelivered -
        s.messagesDropped -
        s.messagesDiscarded
      if (inFlight > busiest.inFlight) busiest = { link: `${s.from}>${s.to}`, inFlight }
    }
    return busiest
  }

  #fault(from: string, to: string, message: Uint8Array): LinkFault {
    if (message[0] === FRAME_MAGIC && message[2] === FRAME_TYPE.ack) {
      const frame = decodeFrame(message)
      if (frame.type === 'ack') this.#onAck(peerIndex(from), peerIndex(to), frame.cursor)
    }
    if (!this.faulty || (!this.#rates.handshake && isHandshake(message)))
      return { delayMs: LATENCY_MS }
    const rng = this.#rng
    const rates = this.#rates
    if (rates.loss > 0 && rng.next() < rates.loss) return { drop: true }
    const duplicate = rates.duplicate > 0 && rng.next() < rates.duplicate ? 1 : 0
    const delayed = rates.reorder > 0 && rng.next() < rates.reorder
    const delayMs = LATENCY_MS + (delayed ? rng.int(Math.floor(rates.delayMsMax) + 1) : 0)
    return { duplicate, delayMs }
  }
}

/** The key of an unordered pair of peers. */
export function pairKey(i: number, j: number): string {
  return i < j ? `${i} ${j}` : `${j} ${i}`
}

function isHandshake(message: Uint8Array): boolean {
  return message[2] === FRAME_TYPE.hello || message[2] === FRAME_TYPE.resume
}

function peerIndex(name: string): number {
  return Number(name.slice(1))
}

/** A seeded Fisher–Yates shuffle (a new array). */
export function shuffle<T>(rng: Rng, items: readonly T[]): T[] {
  const out = [...items]
  for (let i = out.length - 1; i > 0; i--) {
    const j = rng.int(i + 1)
    const t = out[i] as T
    out[i] = out[j] as T
    out[j] = t
  }
  return out
}
