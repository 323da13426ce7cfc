/**
 * The concurrent editing trace `friendsforever` (two people typing into one document at once),
 * replayed by two simulated peers — one agent each — through a faulty network: message loss,
 * duplication, delays that reorder, and a partition in the middle of the session that heals later.
 * Both peers must end with the trace's `endContent`, besides every built-in oracle.
 *
 * Each transaction of the trace is relative to the merge of its parents, which a peer may not
 * have received yet through the network. So each agent types into a scratch replica (the way
 * `test/unit/store-traces.test.ts` replays the trace), and each burst of an agent's consecutive
 * transactions reaches its peer's store as one local change: everything the scratch replica holds
 * that the store's document lacks. Yjs orders concurrent inserts at one position by client id and
 * `endContent` was made with agent 0 first, so the scratch replicas use client ids 1 and 2.
 */
import * as Y from 'yjs'
import { describe, expect, it } from 'vitest'
import { crdt, type Store } from '../../src/index.js'
import {
  simulate,
  summarize,
  type OpContext,
  type OpGenerator,
  type WorkloadOp,
} from '../../src/testing/index.js'
import { applyPatches, loadTrace, type ConcurrentTrace } from '../support/traces.js'
import { TIMEOUT, seedsOf } from './support.js'

const FILE = seedsOf(import.meta.url)
const KEY = 'notes/trace'
const ORDER = [1, 2]

type Txn = ConcurrentTrace['txns'][number]

/** Runs of consecutive transactions by one agent: [first, end, agent]. */
function burstsOf(trace: ConcurrentTrace): Array<[number, number, number]> {
  const bursts: Array<[number, number, number]> = []
  trace.txns.forEach((txn, t) => {
    const last = bursts[bursts.length - 1]
    if (last !== undefined && last[2] === txn.agent) last[1] = t + 1
    else bursts.push([t, t + 1, txn.agent])
  })
  return bursts
}

/** The two agents' scratch replicas, typed into in trace order. */
class Replicas {
  readonly docs = ORDER.map((clientID) => {
    const doc = new Y.Doc()
    doc.clientID = clientID
    return doc
  })
  readonly #updates: Uint8Array[] = []
  readonly #known: Uint8Array[]

  constructor(readonly trace: ConcurrentTrace) {
    this.#known = this.docs.map(() => new Uint8Array(trace.txns.length))
  }

  /** Types transaction `t` into its agent's replica, after every ancestor it lacks. */
  type(t: number): void {
    const txn = this.trace.txns[t] as Txn
    const doc = this.docs[txn.agent] as Y.Doc
    const known = this.#known[txn.agent] as Uint8Array
    for (const p of this.#missingAncestors(txn.parents, known)) {
      Y.applyUpdate(doc, this.#updates[p] as Uint8Array)
      known[p] = 1
    }
    let update: Uint8Array | undefined
    const grab = (u: Uint8Array): void => void (update = u)
    doc.on('update', grab)
    doc.transact(() => applyPatches(doc.getText('value'), txn.patches))
    doc.off('update', grab)
    this.#updates[t] = update ?? new Uint8Array([0, 0])
    known[t] = 1
  }

  #missingAncestors(parents: number[], known: Uint8Array): number[] {
    const missing: number[] = []
    const stack = parents.filter((p) => known[p] === 0)
    const seen = new Set(stack)
    while (stack.length > 0) {
      const t = stack.pop() as number
      missing.push(t)
      for (const p of (this.trace.txns[t] as Txn).parents) {
        if (known[p] === 0 && !seen.has(p)) {
          seen.add(p)
          stack.push(p)
        }
      }
    }
    return missing.sort((a, b) => a - b)
  }
}

/** The workload: one burst per step, a partition at `partitionAt`, healed at `healAt`. */
function traceWorkload(trace: ConcurrentTrace, partitionAt: number, healAt: number): OpGenerator {
  const bursts = burstsOf(trace)
  const replicas = new Replicas(trace)
  let next = 0
  return (ctx: OpContext): WorkloadOp => {
    if (ctx.step === partitionAt) return { kind: 'partition', groups: [[0], [1]] }
    if (ctx.step === healAt) return { kind: 'heal' }
    const burst = bursts[next++]
    if (burst === undefined) return { kind: 'idle' }
    const [first, end, agent] = burst
    for (let t = first; t < end; t++) replicas.type(t)
    const scratch = replicas.docs[agent] as Y.Doc
    return {
      kind: 'custom',
      peer: agent,
      label: `trace txns ${first}-${end - 1}`,
      keys: [KEY],
      run: (store) => {
        const doc = store.text(KEY).doc as Y.Doc
        const missing = Y.encodeStateAsUpdate(scratch, Y.encodeStateVector(doc))
        Y.applyUpdate(doc, missing, 'trace')
        return store.flush()
      },
    }
  }
}

describe('concurrent trace through the simulator', () => {
  it(
    'friendsforever, two peers, faulty network, a partition mid-way: endContent on both',
    TIMEOUT,
    async () => {
      const trace = loadTrace<ConcurrentTrace>('concurrent/friendsforever.json.gz')
      const bursts = burstsOf(trace).length
      const partitionAt = Math.floor(bursts / 2)
      const options = {
        seed: FILE.run(1, 0, 0).seed,
        peers: 2,
        steps: bursts + 2,
        policies: { 'notes/*': crdt('text') },
        keys: [KEY],
        ops: traceWorkload(trace, partitionAt, partitionAt + 150),
        faults: {
          loss: 0.03,
          duplicate: 0.03,
          reorder: 0.05,
          partitions: 0,
          crashes: 0,
          clockSkew: 0,
        },
        oracle: async (peers: ReadonlyArray<{ name: string; store: Store }>) => {
          const wrong: string[] = []
          for (const { name, store } of peers) {
            await store.load(KEY)
            const text = store.text(KEY).toJSON()
            if (text !== trace.endContent)
              wrong.push(
                `${name} ends with ${text.length} chars, not the trace's ${trace.endContent.length}`,
              )
          }
          return wrong
        },
      }
      const report = await simulate(options)
      console.info(summarize(report))
      expect(report.stats.partitions).toBe(1)
      expect(report.violations, `${summarize(report, 10)}\n${FILE.repro}`).toEqual([])
      expect(report.converged).toBe(true)
    },
  )
})
