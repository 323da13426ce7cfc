import fc from 'fast-check'
import { describe, expect, it } from 'vitest'

import { isStarlingError } from '../../src/core/errors.js'
import {
  compareHlc,
  createHlcClock,
  decodeHlc,
  encodeHlc,
  formatHlc,
  HLC_ENCODED_BYTES_MAX,
  parseHlc,
} from '../../src/core/hlc.js'
import type { Hlc } from '../../src/core/hlc.js'
import { toNodeId } from '../../src/core/ids.js'
import type { NodeId } from '../../src/core/ids.js'
import { HLC_LIMITS } from '../../src/core/limits.js'
import { createVirtualEnv } from '../../src/testing/index.js'
import { assertProperty } from '../support/property.js'

const FILE = import.meta.url
const SKEW_MS = 1000
const T = 1_700_000_000_000

const NODE_ID_CHARS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-'.split('')

/** Node ids, biased towards a few short ones so that ties and prefixes happen often. */
const nodeIdArb: fc.Arbitrary<NodeId> = fc
  .oneof(
    fc.constantFrom('a', 'b', 'ab', 'B', '_', '-', 'a-'),
    fc.string({ unit: fc.constantFrom(...NODE_ID_CHARS), minLength: 1, maxLength: 64 }),
  )
  .map(toNodeId)

/** Timestamps, biased towards shared and extreme wall times and counters. */
const hlcArb: fc.Arbitrary<Hlc> = fc.record({
  wallMs: fc.oneof(
    fc.integer({ min: 0, max: 3 }),
    fc.constant(HLC_LIMITS.wallMsMax),
    fc.integer({ min: 0, max: HLC_LIMITS.wallMsMax }),
  ),
  counter: fc.oneof(
    fc.integer({ min: 0, max: 3 }),
    fc.constant(HLC_LIMITS.counterMax),
    fc.integer({ min: 0, max: HLC_LIMITS.counterMax }),
  ),
  nodeId: nodeIdArb,
})

/** One step seen by a clock: a wall-clock change, then a local event or a received timestamp. */
type Step =
  | { kind: 'now'; wallDeltaMs: number }
  | { kind: 'receive'; wallDeltaMs: number; aheadMs: number; counter: number; nodeId: NodeId }

/** Wall clock moves: mostly small, sometimes stalls, goes back or jumps far. */
const wallDeltaArb = fc.oneof(
  fc.constant(0),
  fc.integer({ min: -5, max: 5 }),
  fc.integer({ min: -100_000, max: 100_000 }),
)

const stepArb: fc.Arbitrary<Step> = fc.oneof(
  fc.record({ kind: fc.constant('now' as const), wallDeltaMs: wallDeltaArb }),
  fc.record({
    kind: fc.constant('receive' as const),
    wallDeltaMs: wallDeltaArb,
    // Remote wall time relative to the local wall clock; beyond SKEW_MS must be rejected.
    aheadMs: fc.oneof(
      fc.integer({ min: -50_000, max: SKEW_MS + 50 }),
      fc.constantFrom(0, SKEW_MS, SKEW_MS + 1),
    ),
    counter: fc.oneof(fc.integer({ min: 0, max: 3 }), fc.constant(HLC_LIMITS.counterMax)),
    nodeId: nodeIdArb,
  }),
)

/** Strict `(wallMs, counter)` order, ignoring node ids. */
function beforeIgnoringNode(a: Hlc, b: Hlc): boolean {
  return a.wallMs < b.wallMs || (a.wallMs === b.wallMs && a.counter < b.counter)
}

/** Runs the steps against a clock and checks every HLC guarantee after each one. */
function checkClockRun(steps: readonly Step[]): void {
  const env = createVirtualEnv({ seed: 1, startMs: T })
  const clock = createHlcClock(env, toNodeId('local'), { futureSkewMsMax: SKEW_MS })
  let wallMs = T
  let maxSeen: Hlc | undefined
  for (const step of steps) {
    wallMs = Math.max(0, wallMs + step.wallDeltaMs)
    env.setWallMs(wallMs)
    const before = clock.last()
    if (step.kind === 'now') {
      const stamp = clock.now()
      expectAfter(stamp, maxSeen)
      expectNearWall(stamp, wallMs, maxSeen)
      maxSeen = stamp
      continue
    }
    const remote: Hlc = {
      wallMs: Math.max(0, wallMs + step.aheadMs),
      counter: step.counter,
      nodeId: step.nodeId,
    }
    if (remote.wallMs - wallMs > SKEW_MS) {
      expect(() => clock.receive(remote)).toThrow(
        expect.objectContaining({ code: 'HLC_CLOCK_SKEW' }),
      )
      expect(clock.last()).toEqual(before)
      continue
    }
    const stamp = clock.receive(remote)
    expect(beforeIgnoringNode(remote, stamp)).toBe(true)
    expect(beforeIgnoringNode(before, stamp)).toBe(true)
    expectAfter(stamp, maxSeen)
    const seen: Hlc = maxSeen === undefined || compareHlc(remote, maxSeen) > 0 ? remote : maxSeen
    expectNearWall(stamp, wallMs, seen)
    maxSeen = stamp
  }
}

/** Strictly after everything the clock issued or received so far. */
function expectAfter(stamp: Hlc, maxSeen: Hlc | undefined): void {
  if (maxSeen !== undefined) expect(compareHlc(stamp, maxSeen)).toBe(1)
  expect(stamp.nodeId).toBe('local')
}

/** Never behind the wall clock; ahead only by what it has seen, plus one borrowed millisecond. */
function expectNearWall(stamp: Hlc, wallMs: number, maxSeen: Hlc | undefined): void {
  expect(stamp.wallMs).toBeGreaterThanOrEqual(wallMs)
  expect(stamp.wallMs).toBeLessThanOrEqual(Math.max(wallMs, maxSeen?.wallMs ?? 0) + 1)
}

function sign(n: number): number {
  return n < 0 ? -1 : n > 0 ? 1 : 0
}

/** decodeHlc must either return a timestamp that re-encodes to the same bytes or throw CODEC_MALFORMED. */
function checkDecodeIsTotal(bytes: Uint8Array): void {
  let decoded: Hlc
  try {
    decoded = decodeHlc(bytes)
  } catch (error) {
    expect(isStarlingError(error, 'CODEC_MALFORMED')).toBe(true)
    return
  }
  expect(encodeHlc(decoded)).toEqual(bytes)
}

describe('HLC clock properties', () => {
  it('is monotonic, merges above both sides and bounds skew under any wall clock', () => {
    assertProperty(FILE, fc.property(fc.array(stepArb, { maxLength: 60 }), checkClockRun))
  })

  it('orders two clocks exchanging messages consistently with causality', () => {
    const property = fc.property(
      fc.array(fc.tuple(fc.boolean(), wallDeltaArb), { maxLength: 40 }),
      (moves) => {
        const envA = createVirtualEnv({ seed: 1, startMs: T })
        const envB = createVirtualEnv({ seed: 2, startMs: T })
        const a = createHlcClock(envA, toNodeId('a'), { futureSkewMsMax: 10 ** 9 })
        const b = createHlcClock(envB, toNodeId('b'), { futureSkewMsMax: 10 ** 9 })
        for (const [fromA, delta] of moves) {
          const [sender, receiver, env] = fromA ? [a, b, envB] : [b, a, envA]
          env.setWallMs(Math.max(0, env.nowMs() + delta))
          const sent = sender.now()
          expect(compareHlc(receiver.receive(sent), sent)).toBe(1)
        }
      },
    )
    assertProperty(FILE, property)
  })
})

describe('HLC codec properties', () => {
  it('round-trips every timestamp within the size bound', () => {
    const property = fc.property(hlcArb, (hlc) => {
      const bytes = encodeHlc(hlc)
      expect(bytes.length).toBeLessThanOrEqual(HLC_ENCODED_BYTES_MAX)
      expect(decodeHlc(bytes)).toEqual(hlc)
    })
    assertProperty(FILE, property, { numRuns: 500 })
  })

  it('rejects random bytes with CODEC_MALFORMED and nothing else', () => {
    const property = fc.property(fc.uint8Array({ maxLength: HLC_ENCODED_BYTES_MAX + 8 }), (b) =>
      checkDecodeIsTotal(b),
    )
    assertProperty(FILE, property, { numRuns: 1000 })
  })

  it('rejects truncated or bit-flipped encodings with CODEC_MALFORMED and nothing else', () => {
    const property = fc.property(
      hlcArb,
      fc.nat(),
      fc.integer({ min: 0, max: 7 }),
      fc.boolean(),
      (hlc, at, bit, truncate) => {
        const bytes = encodeHlc(hlc)
        const index = at % bytes.length
        if (truncate) {
          const error = (() => {
            try {
              decodeHlc(bytes.slice(0, index))
            } catch (e) {
              return e
            }
            return undefined
          })()
          expect(isStarlingError(error, 'CODEC_MALFORMED')).toBe(true)
          return
        }
        bytes[index] = (bytes[index] ?? 0) ^ (1 << bit)
        checkDecodeIsTotal(bytes)
      },
    )
    assertProperty(FILE, property, { numRuns: 1000 })
  })
})

describe('HLC text form properties', () => {
  it('sorts formatted strings exactly like compareHlc', () => {
    const property = fc.property(hlcArb, hlcArb, (a, b) => {
      const [fa, fb] = [formatHlc(a), formatHlc(b)]
      const textOrder = fa < fb ? -1 : fa > fb ? 1 : 0
      expect(textOrder).toBe(sign(compareHlc(a, b)))
    })
    assertProperty(FILE, property, { numRuns: 1000 })
  })

  it('parses what it formats', () => {
    const property = fc.property(hlcArb, (hlc) => {
      expect(parseHlc(formatHlc(hlc))).toEqual(hlc)
    })
    assertProperty(FILE, property)
  })

  it('is a total order: antisymmetric and transitive', () => {
    const property = fc.property(hlcArb, hlcArb, hlcArb, (a, b, c) => {
      expect(sign(compareHlc(a, b)) + sign(compareHlc(b, a))).toBe(0)
      expect(compareHlc(a, a)).toBe(0)
      if (compareHlc(a, b) <= 0 && compareHlc(b, c) <= 0) expect(compareHlc(a, c)).toBeLessThan(1)
    })
    assertProperty(FILE, property)
  })
})
