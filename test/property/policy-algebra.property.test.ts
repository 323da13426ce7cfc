/**
 * Policy algebra (I6, I7, I9 in docs/guarantees.md). Writers with skewed clocks write, delete and sync a register
 * key; every slot they write is an update. Delivering the updates to a fresh replica in any order,
 * with duplicates, must give the same state and the same resolution under every policy — checked
 * on every order (with one duplicate) for up to 5 updates and on random orders above.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'

import type { Env } from '../../src/core/env.js'
import { createHlcClock, parseHlc } from '../../src/core/hlc.js'
import type { HlcClock } from '../../src/core/hlc.js'
import { toNodeId } from '../../src/core/ids.js'
import type { NodeId } from '../../src/core/ids.js'
import { createRng } from '../../src/core/random.js'
import type { Rng } from '../../src/core/random.js'
import {
  canonicalJson,
  canonicalSlotMap,
  checkResolverPurity,
  custom,
  lww,
  mergeSlot,
  mergeSlotMaps,
  resolve,
  slotWriter,
  TOMBSTONE,
  writeSlot,
} from '../../src/policy/index.js'
import type {
  CustomPolicy,
  RegisterPolicy,
  ResolverSibling,
  Slot,
  SlotMap,
} from '../../src/policy/index.js'
import { assertProperty } from '../support/property.js'

const FILE = import.meta.url
const T = 1_700_000_000_000
/** Clock offsets stay within ±2 min, so any two clocks differ by less than the 5 min skew limit. */
const OFFSET_MS_MAX = 120_000
/** Writer ids, including names of Object.prototype members. */
const WRITERS: readonly NodeId[] = ['a', 'b', '__proto__', 'constructor'].map(toNodeId)
const EMPTY: SlotMap = new Map()

type Op =
  | { readonly kind: 'set' | 'delete'; readonly writer: number; readonly advanceMs: number }
  | {
      readonly kind: 'sync'
      readonly writer: number
      readonly from: number
      readonly advanceMs: number
    }

interface History {
  readonly offsetsMs: readonly number[]
  readonly ops: readonly Op[]
}

const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({
    kind: fc.constantFrom('set' as const, 'set' as const, 'delete' as const),
    writer: fc.nat(WRITERS.length - 1),
    advanceMs: fc.oneof(fc.constant(0), fc.nat(5), fc.nat(60_000)),
  }),
  fc.record({
    kind: fc.constant('sync' as const),
    writer: fc.nat(WRITERS.length - 1),
    from: fc.nat(WRITERS.length - 1),
    advanceMs: fc.oneof(fc.constant(0), fc.nat(5), fc.nat(60_000)),
  }),
)

function historyArb(opsMax: number): fc.Arbitrary<History> {
  return fc.record({
    offsetsMs: fc.array(
      fc.oneof(fc.constant(0), fc.integer({ min: -OFFSET_MS_MAX, max: OFFSET_MS_MAX })),
      {
        minLength: WRITERS.length,
        maxLength: WRITERS.length,
      },
    ),
    ops: fc.array(opArb, { minLength: 1, maxLength: opsMax, size: 'max' }),
  })
}

/** A clock that only reads the wall time (the HLC needs nothing else). */
function wallEnv(nowMs: () => number): Env {
  const unused = (): never => {
    throw new Error('not used by the HLC')
  }
  return { nowMs, monotonicMs: unused, setTimer: unused, random: unused, randomBytes: unused }
}

/**
 * Runs a history: each writer has its own replica and HLC clock (offset from true time). A sync
 * delivers every slot of one replica to another, passing timestamps through `receive` first.
 * Returns the updates (every slot written, with unique values), at most `updatesMax` of them.
 */
function simulate(history: History, updatesMax: number): Slot[] {
  let nowMs = T
  const clocks: HlcClock[] = WRITERS.map((id, i) =>
    createHlcClock(
      wallEnv(() => nowMs + (history.offsetsMs[i] ?? 0)),
      id,
    ),
  )
  const replicas: SlotMap[] = WRITERS.map(() => EMPTY)
  const updates: Slot[] = []
  for (const op of history.ops) {
    if (updates.length >= updatesMax) break
    nowMs += op.advanceMs
    const clock = clocks[op.writer] as HlcClock
    let replica = replicas[op.writer] as SlotMap
    if (op.kind === 'sync') {
      for (const slot of (replicas[op.from] as SlotMap).values()) {
        clock.receive(parseHlc(slot.hlc))
        replica = mergeSlot(replica, slot)
      }
    } else {
      const value = op.kind === 'delete' ? TOMBSTONE : updates.length + 1
      const slot = writeSlot(replica, WRITERS[op.writer] as NodeId, clock.now(), value)
      updates.push(slot)
      replica = mergeSlot(replica, slot)
    }
    replicas[op.writer] = replica
  }
  return updates
}

const numbersOf = (siblings: readonly ResolverSibling[]): number[] =>
  siblings.map((s) => (typeof s.value === 'number' ? s.value : 0))

/** Pure custom resolvers of different shapes. */
const CUSTOM_POLICIES: readonly CustomPolicy[] = [
  custom((s) => Math.max(...numbersOf(s)), { name: 'max' }),
  custom((s) => numbersOf(s).reduce((a, b) => a + b, 0), { name: 'sum' }),
  custom((s) => numbersOf(s).sort((a, b) => a - b), { name: 'sorted-set' }),
  custom((s) => [...s].sort((p, q) => (p.hlc < q.hlc ? -1 : 1))[0]?.value, {
    name: 'first-writer',
  }),
  custom((s) => (s.length > 2 ? undefined : { count: s.length }), { name: 'delete-on-3' }),
]

/** Register policies under test. */
const POLICIES: readonly RegisterPolicy[] = [lww(), ...CUSTOM_POLICIES]

function applyAll(updates: readonly Slot[], order: readonly number[]): SlotMap {
  return order.reduce((state, i) => mergeSlot(state, updates[i] as Slot), EMPTY)
}

/** What readers see of a key: its resolution under every policy. */
function resolutions(state: SlotMap): string {
  const lines = POLICIES.map((policy) => {
    const { value, deleted, siblings, winner } = resolve(policy, 'k', state)
    const live = siblings.map((s) => `${s.hlc}${s.deleted ? '†' : ''}`).join(',')
    return `${canonicalJson(value)} ${String(deleted)} [${live}] ${winner?.hlc ?? '-'}`
  })
  return lines.join('\n')
}

/** Everything observable about a key: its state and its resolutions. */
function observe(state: SlotMap): string {
  return `${canonicalSlotMap(state)}\n${resolutions(state)}`
}

/** True when `state` already has `update` or a version that supersedes it. */
function supersedes(state: SlotMap, update: Slot): boolean {
  const writer = slotWriter(update)
  if ((state.get(writer)?.hlc ?? '') >= update.hlc) return true
  for (const slot of state.values()) {
    const seen = Object.hasOwn(slot.seen, writer) ? slot.seen[writer] : undefined
    if (seen !== undefined && seen >= update.hlc) return true
  }
  return false
}

/**
 * Applies `order`, checking I9 on the way: delivering an update the replica already supersedes
 * (a late or duplicated old write) changes no resolution — a deleted key stays deleted. Returns
 * the final observation.
 */
function deliver(updates: readonly Slot[], order: readonly number[]): string {
  let state = EMPTY
  for (const i of order) {
    const update = updates[i] as Slot
    if (!supersedes(state, update)) {
      state = mergeSlot(state, update)
      continue
    }
    const before = resolutions(state)
    state = mergeSlot(state, update)
    expect(resolutions(state), `late update ${update.hlc} changed the value`).toBe(before)
  }
  return observe(state)
}

/** Every distinct order of the multiset `items`. */
function multisetPermutations(items: readonly number[]): number[][] {
  const counts = new Map<number, number>()
  for (const item of items) counts.set(item, (counts.get(item) ?? 0) + 1)
  const out: number[][] = []
  const prefix: number[] = []
  const step = (): void => {
    if (prefix.length === items.length) return void out.push([...prefix])
    for (const [item, count] of counts) {
      if (count === 0) continue
      counts.set(item, count - 1)
      prefix.push(item)
      step()
      prefix.pop()
      counts.set(item, count)
    }
  }
  step()
  return out
}

/** All orders of the updates, alone and with each one duplicated once. */
function exhaustiveOrders(n: number): number[][] {
  const indices = Array.from({ length: n }, (_, i) => i)
  const orders = multisetPermutations(indices)
  for (const duplicate of indices) orders.push(...multisetPermutations([...indices, duplicate]))
  return orders
}

/** A random order of all updates with random duplicates inserted. */
function randomOrder(n: number, rng: Rng): number[] {
  const order = Array.from({ length: n }, (_, i) => i)
  const extra = rng.int(n + 1)
  for (let i = 0; i < extra; i++) order.push(rng.int(n))
  for (let i = order.length - 1; i > 0; i--) {
    const j = rng.int(i + 1)
    ;[order[i], order[j]] = [order[j] as number, order[i] as number]
  }
  return order
}

describe('policy algebra', () => {
  it('mergeSlot is commutative, associative and idempotent', () => {
    const subset = fc.array(fc.nat(40), { maxLength: 12 })
    assertProperty(
      FILE,
      fc.property(historyArb(24), subset, subset, subset, (history, xs, ys, zs) => {
        const updates = simulate(history, 40)
        const pick = (indices: number[]) =>
          applyAll(
            updates,
            indices.filter((i) => i < updates.length),
          )
        const [a, b, c] = [pick(xs), pick(ys), pick(zs)]
        const text = canonicalSlotMap
        expect(text(mergeSlotMaps(a, b))).toBe(text(mergeSlotMaps(b, a)))
        expect(text(mergeSlotMaps(mergeSlotMaps(a, b), c))).toBe(
          text(mergeSlotMaps(a, mergeSlotMaps(b, c))),
        )
        expect(text(mergeSlotMaps(a, a))).toBe(text(a))
        for (const update of updates) {
          const once = mergeSlot(a, update)
          expect(mergeSlot(once, update)).toBe(once)
        }
      }),
    )
  })

  it('every order (with a duplicate) of up to 5 updates gives the same state and values', () => {
    const ordersByCount = [0, 1, 2, 3, 4, 5].map(exhaustiveOrders)
    expect(ordersByCount[5]).toHaveLength(120 + 5 * 360)
    assertProperty(
      FILE,
      fc.property(historyArb(10), (history) => {
        const updates = simulate(history, 5)
        const orders = ordersByCount[updates.length] as number[][]
        const expected = deliver(updates, orders[0] as number[])
        for (const order of orders) expect(deliver(updates, order), order.join(',')).toBe(expected)
      }),
      { numRuns: 40, fuzzRuns: 2_000 },
    )
  })

  it('random orders with duplicates of 6 to 30 updates give the same state and values', () => {
    assertProperty(
      FILE,
      fc.property(historyArb(60), fc.integer(), (history, seed) => {
        const updates = simulate(history, 30)
        fc.pre(updates.length >= 6)
        const rng = createRng(seed)
        const expected = deliver(updates, randomOrder(updates.length, rng))
        for (let run = 0; run < 16; run++) {
          expect(deliver(updates, randomOrder(updates.length, rng))).toBe(expected)
        }
      }),
      { numRuns: 60 },
    )
  })

  it('lww with skewed clocks: the latest timestamp wins, and causality beats clocks', () => {
    assertProperty(
      FILE,
      fc.property(historyArb(30), (history) => {
        const updates = simulate(history, 30)
        const state = applyAll(
          updates,
          updates.map((_, i) => i),
        )
        const latest = [...updates].sort((p, q) => (p.hlc < q.hlc ? -1 : 1)).at(-1)
        if (latest === undefined) return
        const result = resolve(lww(), 'k', state)
        expect(result.winner?.hlc).toBe(latest.hlc)
        expect(result.deleted).toBe(latest.deleted)
        // Whatever the clock offsets, a write is later than every version it supersedes, so a
        // fast clock wins only against writes that have not seen it.
        for (const update of updates) {
          for (const seenHlc of Object.values(update.seen)) {
            expect(seenHlc.slice(0, 17) < update.hlc.slice(0, 17)).toBe(true)
          }
        }
      }),
    )
  })

  it('tombstones: no write a delete has seen, nor one older than a live delete, is the value', () => {
    assertProperty(
      FILE,
      fc.property(historyArb(30), fc.integer(), (history, seed) => {
        const updates = simulate(history, 30)
        const order = randomOrder(updates.length, createRng(seed))
        const state = applyAll(updates, order)
        const tombstones = updates.filter((u) => u.deleted)
        for (const policy of [POLICIES[0], POLICIES[1]] as RegisterPolicy[]) {
          const { winner, siblings, deleted } = resolve(policy, 'k', state)
          if (deleted || winner === undefined) continue
          for (const tombstone of tombstones) {
            const seen = Object.hasOwn(tombstone.seen, winner.writer)
              ? tombstone.seen[winner.writer]
              : undefined
            expect(seen === undefined || seen < winner.hlc).toBe(true)
          }
          for (const sibling of siblings) {
            if (sibling.deleted) expect(sibling.hlc < winner.hlc).toBe(true)
          }
        }
      }),
    )
  })

  it('custom resolvers: pure ones pass the purity check, order-dependent ones fail it', () => {
    const first = custom((s) => s[0]?.value, { name: 'first' })
    assertProperty(
      FILE,
      fc.property(historyArb(30), fc.integer(), (history, seed) => {
        const updates = simulate(history, 30)
        const state = applyAll(
          updates,
          updates.map((_, i) => i),
        )
        const live = resolve(lww(), 'k', state).siblings.filter((s) => !s.deleted)
        const inputs = live.map(({ writer, hlc, value }) => ({ writer, hlc, value: value ?? null }))
        for (const policy of inputs.length >= 2 ? CUSTOM_POLICIES : []) {
          checkResolverPurity(policy, inputs, { rng: createRng(seed) })
          resolve(policy, 'k', state, { checkPurity: true })
        }
        if (inputs.length >= 2) {
          expect(() => checkResolverPurity(first, inputs, { rng: createRng(seed) })).toThrow(
            /not deterministic/,
          )
        }
      }),
    )
  })
})
