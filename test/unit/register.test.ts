import fc from 'fast-check'
import { describe, expect, it } from 'vitest'

import { isStarlingError } from '../../src/core/errors.js'
import { createHlcClock, formatHlc, parseHlc } from '../../src/core/hlc.js'
import type { Hlc } from '../../src/core/hlc.js'
import { toNodeId } from '../../src/core/ids.js'
import type { NodeId } from '../../src/core/ids.js'
import { createRng } from '../../src/core/random.js'
import {
  assertStorable,
  canonicalSlotMap,
  checkResolverPurity,
  crdt,
  custom,
  isSlot,
  lww,
  mergeSlot,
  POLICY_LIMITS,
  resolve,
  siblings,
  TOMBSTONE,
  writeSlot,
} from '../../src/policy/index.js'
import { stampAfter } from '../../src/policy/register.js'
import { HLC_LIMITS } from '../../src/core/limits.js'
import type {
  JsonValue,
  RegisterPolicy,
  ResolverSibling,
  Slot,
  SlotMap,
} from '../../src/policy/index.js'
import { createVirtualEnv } from '../../src/testing/index.js'
import { assertProperty } from '../support/property.js'
import { thrown, expectInvalidArgument } from '../support/errors.js'

const T = 1_700_000_000_000
const A = toNodeId('a')
const B = toNodeId('b')
const C = toNodeId('c')
const EMPTY: SlotMap = new Map()
const COUNTER_MAX = HLC_LIMITS.counterMax
const h = (wallMs: number, counter: number, nodeId: NodeId): Hlc => ({ wallMs, counter, nodeId })

/** Applies slots in order, starting from an empty key. */
function apply(...slots: Slot[]): SlotMap {
  return slots.reduce<SlotMap>((state, slot) => mergeSlot(state, slot), EMPTY)
}

/** Writes as `writer` on `state`, returning the slot and the state with it merged. */
function write(state: SlotMap, writer: NodeId, at: Hlc, value: JsonValue | typeof TOMBSTONE) {
  const slot = writeSlot(state, writer, at, value)
  return { slot, state: mergeSlot(state, slot) }
}

/** `[1, <hole>, 3]` */
function sparse(): unknown[] {
  const array: unknown[] = [1]
  array[2] = 3
  return array
}

function expectPolicyInvalid(fn: () => unknown): void {
  expect(isStarlingError(thrown(fn), 'POLICY_INVALID')).toBe(true)
}

const sumPolicy = custom(
  (sibs) => sibs.reduce((total, s) => total + (typeof s.value === 'number' ? s.value : 0), 0),
  { name: 'sum' },
)

describe('writeSlot', () => {
  it('supersedes every slot present, copying the value', () => {
    const a = write(EMPTY, A, h(T, 0, A), 1)
    const b = write(a.state, B, h(T + 1, 0, B), 2)
    const value = { list: [1, 2] }
    const c = writeSlot(b.state, C, h(T + 2, 0, C), value)
    value.list.push(3)
    expect(c).toEqual({
      value: { list: [1, 2] },
      hlc: formatHlc(h(T + 2, 0, C)),
      deleted: false,
      seen: { a: formatHlc(h(T, 0, A)), b: formatHlc(h(T + 1, 0, B)) },
    })
    expect(Object.isFrozen(c) && Object.isFrozen(c.seen)).toBe(true)
  })

  it('never lists the writer itself in seen; a tombstone has no value', () => {
    const a1 = write(EMPTY, A, h(T, 0, A), 1)
    const a2 = writeSlot(a1.state, A, h(T, 1, A), TOMBSTONE)
    expect(a2).toEqual({ value: undefined, hlc: formatHlc(h(T, 1, A)), deleted: true, seen: {} })
  })

  it('records versions seen through other slots (transitively)', () => {
    // C holds a1, and b1 which saw a2 (not yet delivered to C): C's write supersedes a2 too.
    const a1 = writeSlot(EMPTY, A, h(T, 0, A), 'a1')
    const a2 = writeSlot(apply(a1), A, h(T + 5, 0, A), 'a2')
    const b1 = writeSlot(apply(a2), B, h(T + 6, 0, B), 'b1')
    const c1 = writeSlot(apply(a1, b1), C, h(T + 7, 0, C), 'c1')
    expect(c1.seen).toEqual({ a: a2.hlc, b: b1.hlc })
  })

  it('rejects timestamps that are not the writer’s, reused, or not later than what they supersede', () => {
    const a = write(EMPTY, A, h(T + 10, 0, A), 1)
    expectInvalidArgument(() => writeSlot(EMPTY, A, h(T, 0, B), 1))
    expectInvalidArgument(() => writeSlot(a.state, A, h(T + 10, 0, A), 2))
    expectInvalidArgument(() => writeSlot(a.state, A, h(T + 9, 5, A), 2))
    // B's clock never received A's timestamp: a write that supersedes it must still be later.
    expectInvalidArgument(() => writeSlot(a.state, B, h(T + 10, 0, B), 2))
    expectInvalidArgument(() => writeSlot(a.state, B, h(T + 9, 0, B), 2))
    expect(writeSlot(a.state, B, h(T + 10, 1, B), 2).seen).toEqual({ a: a.slot.hlc })
    expectInvalidArgument(() => writeSlot(EMPTY, 'no spaces' as NodeId, h(T, 0, A), 1))
    expectInvalidArgument(() => writeSlot(EMPTY, A, { wallMs: -1, counter: 0, nodeId: A }, 1))
    expectInvalidArgument(() => writeSlot(EMPTY, A, h(T, 0, A), new Date() as unknown as JsonValue))
  })

  it('is safe for writer ids that are Object.prototype names', () => {
    const proto = toNodeId('__proto__')
    const ctor = toNodeId('constructor')
    const p = write(EMPTY, proto, h(T, 0, proto), 'p')
    const c = write(p.state, ctor, h(T + 1, 0, ctor), 'c')
    expect(Object.keys(c.slot.seen)).toEqual(['__proto__'])
    expect(isSlot('constructor', c.slot)).toBe(true)
    expect(siblings(c.state).map((s) => s.writer)).toEqual(['constructor'])
    // A slot that has seen nothing must not treat inherited names as seen.
    const fresh = writeSlot(EMPTY, toNodeId('toString'), h(T, 0, toNodeId('toString')), 1)
    expect(siblings(apply(fresh, p.slot)).length).toBe(2)
  })
})

describe('mergeSlot', () => {
  it('keeps the later slot of each writer and returns the same map when nothing changes', () => {
    const a1 = writeSlot(EMPTY, A, h(T, 0, A), 1)
    const a2 = writeSlot(apply(a1), A, h(T, 1, A), 2)
    const state = apply(a2)
    expect(mergeSlot(state, a1)).toBe(state)
    expect(mergeSlot(state, a2)).toBe(state)
    expect(apply(a1, a2).get('a')).toBe(a2)
    expect(apply(a2, a1).get('a')).toBe(a2)
  })

  it('orders equal timestamps by content, so even a reused HLC merges deterministically', () => {
    const x: Slot = { value: 'x', hlc: formatHlc(h(T, 0, A)), deleted: false, seen: {} }
    const y: Slot = { value: 'y', hlc: x.hlc, deleted: false, seen: {} }
    expect(canonicalSlotMap(apply(x, y))).toBe(canonicalSlotMap(apply(y, x)))
  })

  it('rejects a slot with a malformed hlc', () => {
    expectInvalidArgument(() => mergeSlot(EMPTY, { value: 1, hlc: 'x', deleted: false, seen: {} }))
  })
})

describe('siblings', () => {
  it('are the slots nobody has seen, by HLC then writer', () => {
    const b1 = writeSlot(EMPTY, B, h(T + 1, 0, B), 'b1')
    const a1 = writeSlot(EMPTY, A, h(T + 1, 0, A), 'a1') // same time: writer decides the order
    const c1 = writeSlot(EMPTY, C, h(T, 3, C), 'c1')
    expect(siblings(apply(b1, a1, c1)).map((s) => s.value)).toEqual(['c1', 'a1', 'b1'])
    const c2 = writeSlot(apply(a1, c1), C, h(T + 2, 0, C), 'c2') // saw a1 and c1, not b1
    expect(siblings(apply(b1, a1, c2))).toEqual([
      { writer: 'b', hlc: b1.hlc, value: 'b1', deleted: false },
      { writer: 'c', hlc: c2.hlc, value: 'c2', deleted: false },
    ])
  })

  it('a slot that saw an older version of a writer does not hide that writer’s newer one', () => {
    const a1 = writeSlot(EMPTY, A, h(T, 0, A), 'a1')
    const b1 = writeSlot(apply(a1), B, h(T + 1, 0, B), 'b1')
    const a2 = writeSlot(apply(a1), A, h(T + 2, 0, A), 'a2') // concurrent with b1
    expect(siblings(apply(a1, b1, a2)).map((s) => s.value)).toEqual(['b1', 'a2'])
  })

  it('is empty for an empty key', () => {
    expect(siblings(EMPTY)).toEqual([])
  })
})

describe('resolve: lww', () => {
  it('takes the greatest (HLC, writer); on equal time the greater writer id wins', () => {
    const a = writeSlot(EMPTY, A, h(T, 7, A), 'from a')
    const b = writeSlot(EMPTY, B, h(T, 7, B), 'from b')
    const c = writeSlot(EMPTY, C, h(T, 6, C), 'from c')
    for (const order of [
      [a, b, c],
      [c, b, a],
      [b, a, c],
    ]) {
      const result = resolve(lww(), 'k', apply(...order))
      expect(result.value).toBe('from b')
      expect(result.winner).toEqual({ writer: 'b', hlc: b.hlc })
      expect(result.siblings.map((s) => s.writer)).toEqual(['c', 'a', 'b'])
    }
  })

  it('a causally later write wins over what it saw', () => {
    const a = write(EMPTY, A, h(T + 100, 0, A), 'first')
    const b = writeSlot(a.state, B, h(T + 100, 1, B), 'second')
    expect(resolve(lww(), 'k', apply(b, a.slot))).toMatchObject({ value: 'second', deleted: false })
  })

  it('an empty key is absent, not deleted', () => {
    expect(resolve(lww(), 'k', EMPTY)).toEqual({
      value: undefined,
      deleted: false,
      siblings: [],
      winner: undefined,
    })
  })

  it('refuses crdt policies (they are documents, not registers)', () => {
    expectInvalidArgument(() => resolve(crdt('text') as unknown as RegisterPolicy, 'k', EMPTY))
  })
})

describe('clock skew (HLC)', () => {
  const SKEW_MS = 5 * 60 * 1000

  function setup() {
    const env = createVirtualEnv({ seed: 1, startMs: T })
    const ahead = { ...env, nowMs: () => env.nowMs() + 4 * 60 * 1000 } // A runs 4 min fast
    const clockA = createHlcClock(ahead, A, { futureSkewMsMax: SKEW_MS })
    const clockB = createHlcClock(env, B, { futureSkewMsMax: SKEW_MS })
    return { env, clockA, clockB }
  }

  it('a fast clock wins only against writes that have not seen it', () => {
    const { env, clockA, clockB } = setup()
    const a = writeSlot(EMPTY, A, clockA.now(), 'from fast a')
    env.advance(60_000)
    // Concurrent: B wrote a minute later in real time, but A's timestamp is ahead — A wins. HLC
    // bounds this: A is at most futureSkewMsMax ahead of any clock that accepts its timestamps.
    const b1 = writeSlot(EMPTY, B, clockB.now(), 'from b, concurrent')
    expect(resolve(lww(), 'k', apply(a, b1)).value).toBe('from fast a')
    // Once B has received A's timestamp, B's clock is past it: B's next write wins, and it
    // supersedes A's version outright (A is no longer a sibling).
    clockB.receive(parseHlc(a.hlc))
    const state = apply(a, b1)
    const b2 = writeSlot(state, B, clockB.now(), 'from b, after seeing a')
    expect(parseHlc(b2.hlc).wallMs).toBeLessThan(T + 4 * 60 * 1000 + 1) // no real time passed
    const result = resolve(lww(), 'k', mergeSlot(state, b2))
    expect(result.value).toBe('from b, after seeing a')
    expect(result.siblings.map((s) => s.writer)).toEqual(['b'])
  })

  it('a write that skipped HLC receive cannot supersede a version from the future', () => {
    const { clockA, clockB } = setup()
    const a = writeSlot(EMPTY, A, clockA.now(), 'from fast a')
    expectInvalidArgument(() => writeSlot(apply(a), B, clockB.now(), 'b'))
  })

  it('timestamps beyond the skew limit are refused by the clock, which stays where it was', () => {
    const { env, clockB } = setup()
    const before = clockB.now()
    const tooFar = createHlcClock({ ...env, nowMs: () => env.nowMs() + SKEW_MS + 1 }, C).now()
    expect(
      isStarlingError(
        thrown(() => clockB.receive(tooFar)),
        'HLC_CLOCK_SKEW',
      ),
    ).toBe(true)
    expect(parseHlc(formatHlc(clockB.now())).wallMs).toBeLessThan(tooFar.wallMs)
    expect(clockB.now().wallMs).toBe(before.wallMs)
  })

  it('a write after a slot from beyond the bound is stamped just past it, for that key only', () => {
    const { env, clockB } = setup()
    const far = createHlcClock({ ...env, nowMs: () => env.nowMs() + 60 * 60_000 }, C)
    const c = writeSlot(EMPTY, C, far.now(), 'from an hour ahead')
    const state = apply(c)
    // B's clock would not follow C (beyond the bound), so its own stamp is earlier than C's.
    const own = clockB.now()
    expectInvalidArgument(() => writeSlot(state, B, own, 'b'))
    const stamp = stampAfter(state, B, own)
    const cHlc = parseHlc(c.hlc)
    expect(stamp).toEqual({ wallMs: cHlc.wallMs, counter: cHlc.counter + 1, nodeId: B })
    const b = writeSlot(state, B, stamp, 'b, after seeing c')
    const result = resolve(lww(), 'k', mergeSlot(state, b))
    expect(result.value).toBe('b, after seeing c')
    expect(result.siblings.map((s) => s.writer)).toEqual(['b'])
    // B's next write to the key is later than its own bumped slot; its clock is untouched.
    const again = stampAfter(mergeSlot(state, b), B, clockB.now())
    expect(formatHlc(again) > b.hlc).toBe(true)
    expect(clockB.now().wallMs).toBeLessThan(cHlc.wallMs)
    // A clock already past every superseded version is used as it is.
    const later = { wallMs: cHlc.wallMs + 1, counter: 0, nodeId: B }
    expect(stampAfter(state, B, later)).toBe(later)
  })

  it('a full counter moves the stamp to the next millisecond', () => {
    const c = writeSlot(EMPTY, C, { wallMs: T, counter: COUNTER_MAX, nodeId: C }, 1)
    expect(stampAfter(apply(c), B, { wallMs: T - 5, counter: 0, nodeId: B })).toEqual({
      wallMs: T + 1,
      counter: 0,
      nodeId: B,
    })
  })
})

describe('resolve: tombstones (I9)', () => {
  const policies: [string, RegisterPolicy][] = [
    ['lww', lww()],
    ['custom', sumPolicy],
  ]

  it.each(policies)(
    '%s: a late or duplicated write the delete has seen never resurrects',
    (_, p) => {
      const a = write(EMPTY, A, h(T, 0, A), 5)
      const del = writeSlot(a.state, B, h(T + 1, 0, B), TOMBSTONE)
      for (const order of [
        [del, a.slot],
        [a.slot, del, a.slot],
        [del, a.slot, a.slot, del],
      ]) {
        const result = resolve(p, 'k', apply(...order))
        expect(result).toMatchObject({ value: undefined, deleted: true })
        expect(result.winner).toEqual({ writer: 'b', hlc: del.hlc })
      }
    },
  )

  it.each(policies)(
    '%s: a writer’s older write arriving after its own delete is ignored',
    (_, p) => {
      const a1 = write(EMPTY, A, h(T, 0, A), 5)
      const a2 = writeSlot(a1.state, A, h(T, 1, A), TOMBSTONE)
      expect(resolve(p, 'k', apply(a2, a1.slot)).deleted).toBe(true)
    },
  )

  it.each(policies)('%s: a concurrent write older than the delete stays deleted', (_, p) => {
    const old = writeSlot(EMPTY, A, h(T, 0, A), 5) // the deleter never saw it
    const del = writeSlot(EMPTY, B, h(T + 1, 0, B), TOMBSTONE)
    const result = resolve(p, 'k', apply(del, old))
    expect(result).toMatchObject({ value: undefined, deleted: true })
    expect(result.siblings).toHaveLength(2)
  })

  it.each(policies)('%s: a concurrent write newer than the delete brings the key back', (_, p) => {
    const del = writeSlot(EMPTY, B, h(T, 0, B), TOMBSTONE)
    const newer = writeSlot(EMPTY, A, h(T + 1, 0, A), 5)
    expect(resolve(p, 'k', apply(newer, del))).toMatchObject({ value: 5, deleted: false })
  })

  it('custom: the resolver sees only live siblings newer than the newest tombstone', () => {
    const calls: ResolverSibling[][] = []
    const spy = custom(
      (sibs) => {
        calls.push([...sibs])
        return sibs.map((s) => s.value)
      },
      { name: 'spy' },
    )
    const older = writeSlot(EMPTY, A, h(T, 0, A), 'older than delete')
    const del = writeSlot(EMPTY, B, h(T + 1, 0, B), TOMBSTONE)
    const n1 = writeSlot(EMPTY, C, h(T + 2, 0, C), 'n1')
    const d = toNodeId('d')
    const n2 = writeSlot(EMPTY, d, h(T + 3, 0, d), 'n2')
    const result = resolve(spy, 'k', apply(older, del, n1, n2))
    expect(result.value).toEqual(['n1', 'n2'])
    expect(calls).toEqual([
      [
        { writer: 'c', hlc: n1.hlc, value: 'n1' },
        { writer: 'd', hlc: n2.hlc, value: 'n2' },
      ],
    ])
    expect(result.siblings.map((s) => s.deleted)).toEqual([false, true, false, false])
  })
})

describe('resolve: custom', () => {
  const x = writeSlot(EMPTY, A, h(T, 0, A), 3)
  const y = writeSlot(EMPTY, B, h(T + 1, 0, B), 8)
  const z = writeSlot(EMPTY, C, h(T + 2, 0, C), 5)

  it('passes the candidates in canonical order with the key, and reports the matching winner', () => {
    let context: unknown
    const max = custom(
      (sibs, ctx) => {
        context = ctx
        return Math.max(...sibs.map((s) => s.value as number))
      },
      { name: 'max' },
    )
    const result = resolve(max, 'votes/1', apply(z, x, y))
    expect(result).toMatchObject({ value: 8, deleted: false, winner: { writer: 'b', hlc: y.hlc } })
    expect(context).toEqual({ key: 'votes/1' })
    expect(resolve(sumPolicy, 'k', apply(x, y, z))).toMatchObject({ value: 16, winner: undefined })
  })

  it('does not call the resolver for a single candidate', () => {
    let calls = 0
    const counting = custom(() => ++calls, { name: 'counting' })
    expect(resolve(counting, 'k', apply(x)).value).toBe(3)
    expect(calls).toBe(0)
    expect(resolve(counting, 'k', apply(x, y)).value).toBe(1)
    expect(calls).toBe(1)
  })

  it('gives the resolver copies: mutating them does not change the state', () => {
    const obj = writeSlot(EMPTY, A, h(T, 0, A), { n: 1 })
    const other = writeSlot(EMPTY, B, h(T, 1, B), { n: 2 })
    const mutating = custom(
      (sibs) => {
        for (const s of sibs) (s.value as { n: number }).n = 99
        return null
      },
      { name: 'mutating' },
    )
    const state = apply(obj, other)
    expect(resolve(mutating, 'k', state).value).toBe(null)
    expect(state.get('a')?.value).toEqual({ n: 1 })
    expect(state.get('b')?.value).toEqual({ n: 2 })
  })

  it('undefined from the resolver means deleted', () => {
    const deleting = custom(() => undefined, { name: 'deleting' })
    expect(resolve(deleting, 'k', apply(x, y))).toMatchObject({
      value: undefined,
      deleted: true,
      winner: undefined,
    })
  })

  it('a throwing resolver, or one returning an unstorable value, is POLICY_INVALID', () => {
    const throwing = custom(
      () => {
        throw new Error('boom')
      },
      { name: 'throwing' },
    )
    expectPolicyInvalid(() => resolve(throwing, 'k', apply(x, y)))
    const dates = custom(() => new Date() as unknown as JsonValue, { name: 'dates' })
    expectPolicyInvalid(() => resolve(dates, 'k', apply(x, y)))
  })

  it('checkPurity catches an order-dependent resolver', () => {
    const first = custom((sibs) => sibs[0]?.value, { name: 'first' })
    expect(resolve(first, 'k', apply(x, y)).value).toBe(3) // canonical order hides it…
    expectPolicyInvalid(() => resolve(first, 'k', apply(x, y), { checkPurity: true })) // …not this
    expect(resolve(sumPolicy, 'k', apply(x, y), { checkPurity: true }).value).toBe(11)
  })
})

describe('checkResolverPurity', () => {
  const sibs = (values: JsonValue[]): ResolverSibling[] =>
    values.map((value, i) => {
      const writer = toNodeId(`w${i}`)
      return { writer, hlc: formatHlc(h(T + i, 0, writer)), value }
    })

  it('passes pure resolvers, whatever order it is given', () => {
    const max = custom((s) => Math.max(...s.map((v) => v.value as number)), { name: 'max' })
    checkResolverPurity(max, sibs([4, 1, 9, 2]).reverse())
    const byHlc = (s: readonly ResolverSibling[]) =>
      [...s].sort((p, q) => (p.hlc < q.hlc ? -1 : 1)).map((v) => v.value)
    checkResolverPurity(byHlc, sibs([1, 2, 3, 4, 5, 6, 7, 8]))
  })

  it('catches Math.random', () => {
    const random = (s: readonly ResolverSibling[]) =>
      s[Math.floor(Math.random() * s.length)]?.value ?? null
    expectPolicyInvalid(() => checkResolverPurity(random, sibs([1, 2, 3, 4])))
  })

  it('catches hidden state even when the order does not matter', () => {
    let calls = 0
    const stateful = (s: readonly ResolverSibling[]) => s.length + (calls++ > 3 ? 1 : 0)
    expectPolicyInvalid(() => checkResolverPurity(stateful, sibs([1, 2])))
  })

  it('catches order dependence exhaustively on small sets and randomly on large ones', () => {
    // Depends on the order only when the last two swap: one permutation in 2 of 3.
    const lastTwo = (s: readonly ResolverSibling[]) => s.slice(-2).map((v) => v.value)
    expectPolicyInvalid(() => checkResolverPurity(lastTwo, sibs([1, 2, 3])))
    const last = (s: readonly ResolverSibling[]) => s.at(-1)?.value ?? null
    const error = thrown(() =>
      checkResolverPurity(last, sibs([1, 2, 3, 4, 5, 6, 7, 8, 9]), {
        rng: createRng(7),
        key: 'votes/9',
      }),
    )
    expect(isStarlingError(error, 'POLICY_INVALID')).toBe(true)
    expect((error as { details: Record<string, unknown> }).details).toMatchObject({
      key: 'votes/9',
      policy: 'last',
      expected: '9',
    })
  })

  it('reports throws and unstorable results as POLICY_INVALID', () => {
    expectPolicyInvalid(() => checkResolverPurity(() => NaN, sibs([1, 2])))
    const throws = (): JsonValue => {
      throw new Error('nope')
    }
    expectPolicyInvalid(() => checkResolverPurity(throws, sibs([1, 2])))
  })
})

describe('isSlot', () => {
  const a = writeSlot(EMPTY, A, h(T, 0, A), { v: 1 })
  const b = writeSlot(apply(a), B, h(T + 1, 0, B), TOMBSTONE)

  it('accepts slots written by writeSlot (also after a JSON round trip)', () => {
    expect(isSlot('a', a)).toBe(true)
    expect(isSlot('b', b)).toBe(true)
    expect(isSlot('b', JSON.parse(JSON.stringify(b)))).toBe(true) // value key dropped
  })

  it('rejects malformed slots', () => {
    const bad: [string, unknown][] = [
      ['b', a], // wrong writer
      ['a', null],
      ['a', { ...a, hlc: a.hlc.toUpperCase() }],
      ['a', { ...a, hlc: `${a.hlc} ` }],
      ['a', { ...a, deleted: 'no' }],
      ['a', { ...a, deleted: true }], // a tombstone with a value
      ['a', { ...a, value: undefined }], // live without a value
      ['a', { ...a, value: sparse() }],
      ['a', { ...a, seen: [] }],
      ['a', { ...a, seen: new Map() }],
      ['a', { ...a, seen: { a: a.hlc } }], // itself
      ['a', { ...a, seen: { b: formatHlc(h(T, 0, B)) } }], // not earlier
      ['a', { ...a, seen: { b: formatHlc(h(T - 1, 0, A)) } }], // another writer's hlc
      ['b', { ...b, seen: { a: 'soon' } }],
      ['bad id', a],
    ]
    for (const [writer, slot] of bad) expect(isSlot(writer, slot), JSON.stringify(slot)).toBe(false)
  })
})

describe('assertStorable', () => {
  it('accepts JSON values', () => {
    const shared = { s: 1 }
    const nullProto = Object.assign(Object.create(null) as object, { a: 1 })
    const ok: unknown[] = [
      null,
      true,
      0,
      -0,
      1.5e300,
      '',
      'emoji 🎉 and 日本',
      [],
      {},
      { a: [1, { b: null }], c: 'x' },
      [shared, shared],
      nullProto,
      JSON.parse('{"__proto__": 1}'),
    ]
    for (const value of ok) expect(() => assertStorable(value)).not.toThrow()
  })

  it('rejects everything else with INVALID_ARGUMENT', () => {
    const cyclic: Record<string, unknown> = {}
    cyclic['self'] = cyclic
    const cyclicArray: unknown[] = []
    cyclicArray.push([cyclicArray])
    const withSymbolKey = { [Symbol('k')]: 1 }
    const withGetter = Object.defineProperty({}, 'g', { get: () => 1, enumerable: true })
    class Point {
      x = 1
    }
    const bad: unknown[] = [
      undefined,
      () => 1,
      Symbol('s'),
      10n,
      NaN,
      Infinity,
      -Infinity,
      cyclic,
      cyclicArray,
      new Date(),
      new Map(),
      new Set(),
      new Uint8Array(2),
      new Point(),
      /re/,
      [1, undefined],
      { a: undefined },
      sparse(),
      withSymbolKey,
      withGetter,
      'lone \ud800 surrogate',
      'lone \udc00 low surrogate',
      '\udc00\ud800',
      { ['\ud800']: 1 },
      { nested: [{ fn: () => 1 }] },
    ]
    for (const value of bad) expectInvalidArgument(() => assertStorable(value))
  })

  it('names the offending path and problem', () => {
    expect(() => assertStorable({ a: [1, { b: NaN }] })).toThrow('$.a[1].b is NaN')
    const cyclic: unknown[] = [1]
    cyclic.push({ back: cyclic })
    expect(() => assertStorable(cyclic)).toThrow('$[1].back is a cycle')
    expect(() => assertStorable({ when: new Date(0) })).toThrow(
      '$.when is not a plain object (Date)',
    )
  })

  it('limits depth to POLICY_LIMITS.valueDepthMax containers', () => {
    const nest = (depth: number): JsonValue => {
      let value: JsonValue = 1
      for (let i = 0; i < depth; i++) value = i % 2 === 0 ? [value] : { k: value }
      return value
    }
    expect(() => assertStorable(nest(POLICY_LIMITS.valueDepthMax))).not.toThrow()
    expectInvalidArgument(() => assertStorable(nest(POLICY_LIMITS.valueDepthMax + 1)))
  })

  it('limits size to POLICY_LIMITS.valueBytesMax bytes of JSON text', () => {
    const max = POLICY_LIMITS.valueBytesMax
    expect(() => assertStorable('x'.repeat(max - 2))).not.toThrow()
    expectInvalidArgument(() => assertStorable('x'.repeat(max - 1)))
    expect(() => assertStorable(['é'.repeat((max - 4) / 2)])).not.toThrow() // 2 bytes each
    expectInvalidArgument(() => assertStorable(['é'.repeat((max - 4) / 2), 1]))
    expectInvalidArgument(() => assertStorable(Array.from({ length: max / 2 }, () => 0)))
  })

  it('measures exactly the UTF-8 bytes of JSON.stringify', () => {
    // Drive the size check to its boundary: a value is accepted iff its JSON text fits.
    const loneSurrogate = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/
    const text = fc.string({ unit: 'binary', maxLength: 8 }).filter((s) => !loneSurrogate.test(s))
    const json = fc.letrec<{ value: unknown }>((tie) => ({
      value: fc.oneof(
        { depthSize: 'small' },
        fc.constant(null),
        fc.boolean(),
        fc.double({ noNaN: true, noDefaultInfinity: true }),
        text,
        fc.array(tie('value'), { maxLength: 4 }),
        fc.dictionary(text, tie('value'), { maxKeys: 4 }),
      ),
    })).value
    assertProperty(
      import.meta.url,
      fc.property(json, (value) => {
        const bytes = Buffer.byteLength(JSON.stringify(value))
        const pad = POLICY_LIMITS.valueBytesMax - bytes - 5 // [value,"<pad>"] adds 5 + pad
        if (pad < 0) return
        expect(() => assertStorable([value, 'p'.repeat(pad)])).not.toThrow()
        expectInvalidArgument(() => assertStorable([value, 'p'.repeat(pad + 1)]))
      }),
      { numRuns: 25 },
    )
  })
})
