import { describe, expect, it } from 'vitest'

import { isStarlingError } from '../../src/core/errors.js'
import type { StarlingError } from '../../src/core/errors.js'
import {
  compareHlc,
  createHlcClock,
  decodeHlc,
  encodeHlc,
  formatHlc,
  HLC_ENCODED_BYTES_MAX,
  isHlc,
  parseHlc,
} from '../../src/core/hlc.js'
import type { Hlc } from '../../src/core/hlc.js'
import { toNodeId } from '../../src/core/ids.js'
import { HLC_LIMITS } from '../../src/core/limits.js'
import { createVirtualEnv } from '../../src/testing/index.js'

const T = 1_700_000_000_000
const A = toNodeId('node-a')
const B = toNodeId('node-b')
const hlc = (wallMs: number, counter: number, nodeId = A): Hlc => ({ wallMs, counter, nodeId })

function setup(options: { skewMs?: number; initial?: Hlc; startMs?: number } = {}) {
  const env = createVirtualEnv({ seed: 1, startMs: options.startMs ?? T })
  const clock = createHlcClock(env, A, {
    ...(options.skewMs === undefined ? {} : { futureSkewMsMax: options.skewMs }),
    ...(options.initial === undefined ? {} : { initial: options.initial }),
  })
  return { env, clock }
}

/** Runs `fn` and returns the StarlingError it throws (fails the test if it throws anything else). */
function catchStarling(fn: () => unknown): StarlingError {
  try {
    fn()
  } catch (error) {
    if (isStarlingError(error)) return error
    throw error
  }
  throw new Error('expected a StarlingError, nothing was thrown')
}

describe('compareHlc', () => {
  it('orders by wallMs, then counter, then node id', () => {
    expect(compareHlc(hlc(1, 9), hlc(2, 0))).toBe(-1)
    expect(compareHlc(hlc(2, 0), hlc(1, 9))).toBe(1)
    expect(compareHlc(hlc(5, 1, B), hlc(5, 2, A))).toBe(-1)
    expect(compareHlc(hlc(5, 2, A), hlc(5, 2, B))).toBe(-1)
    expect(compareHlc(hlc(5, 2, B), hlc(5, 2, A))).toBe(1)
    expect(compareHlc(hlc(5, 2, A), hlc(5, 2, A))).toBe(0)
  })

  it('breaks ties by node id in code-unit order, a prefix first', () => {
    const ids = ['b', 'a', 'ab', 'B', '_', '-', '0'].map(toNodeId)
    const sorted = ids.map((id) => hlc(1, 1, id)).sort(compareHlc)
    expect(sorted.map((h) => h.nodeId)).toEqual(['-', '0', 'B', '_', 'a', 'ab', 'b'])
  })
})

describe('createHlcClock: now()', () => {
  it('follows the wall clock when it moves forward', () => {
    const { env, clock } = setup()
    expect(clock.now()).toEqual(hlc(T, 0))
    env.advance(5)
    expect(clock.now()).toEqual(hlc(T + 5, 0))
    expect(clock.last()).toEqual(hlc(T + 5, 0))
  })

  it('counts up while the wall clock stalls', () => {
    const { clock } = setup()
    expect([clock.now(), clock.now(), clock.now()]).toEqual([hlc(T, 0), hlc(T, 1), hlc(T, 2)])
  })

  it('stays monotonic when the wall clock goes backwards, then jumps forward', () => {
    const { env, clock } = setup()
    clock.now()
    env.setWallMs(T - 60_000)
    expect(clock.now()).toEqual(hlc(T, 1))
    expect(clock.now()).toEqual(hlc(T, 2))
    env.setWallMs(T + 60_000)
    expect(clock.now()).toEqual(hlc(T + 60_000, 0))
  })

  it('floors fractional readings and treats unusable ones as 0', () => {
    const env = createVirtualEnv({ seed: 1, startMs: T })
    let reading = T + 0.75
    const clock = createHlcClock({ ...env, nowMs: () => reading }, A)
    expect(clock.now()).toEqual(hlc(T, 0))
    reading = Number.NaN
    expect(clock.now()).toEqual(hlc(T, 1))
  })

  it('continues from options.initial (restart with a wall clock that went back)', () => {
    const { clock } = setup({ initial: hlc(T + 1000, 7, B) })
    expect(clock.last()).toEqual(hlc(T + 1000, 7, A))
    expect(clock.now()).toEqual(hlc(T + 1000, 8, A))
  })

  it('borrows the next millisecond when the counter would overflow', () => {
    const { clock } = setup({ initial: hlc(T, HLC_LIMITS.counterMax) })
    expect(clock.now()).toEqual(hlc(T + 1, 0))
    expect(clock.now()).toEqual(hlc(T + 1, 1))
  })

  it('throws HLC_OVERFLOW past 2^48 - 1 and keeps its state', () => {
    const top = hlc(HLC_LIMITS.wallMsMax, HLC_LIMITS.counterMax)
    const { clock } = setup({ initial: top })
    const error = catchStarling(() => clock.now())
    expect(error.code).toBe('HLC_OVERFLOW')
    expect(error.details['wallMs']).toBe(HLC_LIMITS.wallMsMax + 1)
    expect(clock.last()).toEqual(top)
  })

  it('throws HLC_OVERFLOW when the wall clock itself is beyond 48 bits', () => {
    const { clock } = setup({ startMs: HLC_LIMITS.wallMsMax + 1 })
    expect(catchStarling(() => clock.now()).code).toBe('HLC_OVERFLOW')
    expect(clock.last()).toEqual(hlc(0, 0))
  })
})

describe('createHlcClock: receive()', () => {
  it('takes the remote wall time when it is ahead (within the skew bound)', () => {
    const { clock } = setup()
    clock.now()
    expect(clock.receive(hlc(T + 100, 4, B))).toEqual(hlc(T + 100, 5))
  })

  it('increments its own counter when the remote is behind', () => {
    const { clock } = setup()
    clock.now()
    clock.now()
    expect(clock.receive(hlc(T - 10, 99, B))).toEqual(hlc(T, 2))
  })

  it('uses max(counters) + 1 when local and remote share the wall time', () => {
    const { env, clock } = setup()
    clock.now()
    env.setWallMs(T - 1)
    expect(clock.receive(hlc(T, 9, B))).toEqual(hlc(T, 10))
    expect(clock.receive(hlc(T, 3, B))).toEqual(hlc(T, 11))
  })

  it('resets the counter when the wall clock is ahead of both', () => {
    const { env, clock } = setup()
    clock.now()
    env.advance(50)
    expect(clock.receive(hlc(T + 20, 8, B))).toEqual(hlc(T + 50, 0))
  })

  it('returns a result greater than both even when the remote node id sorts higher', () => {
    const { clock } = setup()
    const remote = hlc(T, 5, toNodeId('zzz'))
    const before = clock.now()
    const merged = clock.receive(remote)
    expect(compareHlc(merged, remote)).toBe(1)
    expect(compareHlc(merged, before)).toBe(1)
    expect(merged.counter).toBeGreaterThan(remote.counter)
  })

  it('borrows the next millisecond when a remote counter is at its maximum', () => {
    const { clock } = setup()
    expect(clock.receive(hlc(T, HLC_LIMITS.counterMax, B))).toEqual(hlc(T + 1, 0))
  })

  it('accepts a remote exactly at the skew bound and rejects 1 ms beyond it', () => {
    const { clock } = setup({ skewMs: 1000 })
    clock.now()
    const before = clock.last()
    const error = catchStarling(() => clock.receive(hlc(T + 1001, 0, B)))
    expect(error.code).toBe('HLC_CLOCK_SKEW')
    expect(error.details).toEqual({
      remoteWallMs: T + 1001,
      localWallMs: T,
      skewMs: 1001,
      futureSkewMsMax: 1000,
      remoteNodeId: 'node-b',
    })
    expect(clock.last()).toEqual(before)
    expect(clock.now()).toEqual(hlc(T, 1))
    expect(clock.receive(hlc(T + 1000, 0, B))).toEqual(hlc(T + 1000, 1))
  })

  it('uses five minutes as the default skew bound', () => {
    const { clock } = setup()
    expect(HLC_LIMITS.futureSkewMsMaxDefault).toBe(300_000)
    expect(clock.receive(hlc(T + 300_000, 0, B)).wallMs).toBe(T + 300_000)
    expect(catchStarling(() => clock.receive(hlc(T + 300_001, 0, B))).code).toBe('HLC_CLOCK_SKEW')
  })

  it('throws HLC_OVERFLOW and keeps its state when the merge passes 48 bits', () => {
    const { clock } = setup({ startMs: HLC_LIMITS.wallMsMax })
    clock.now()
    const error = catchStarling(() =>
      clock.receive(hlc(HLC_LIMITS.wallMsMax, HLC_LIMITS.counterMax, B)),
    )
    expect(error.code).toBe('HLC_OVERFLOW')
    expect(clock.last()).toEqual(hlc(HLC_LIMITS.wallMsMax, 0))
  })

  it('rejects a malformed remote as a programmer error and keeps its state', () => {
    const { clock } = setup()
    clock.now()
    const bad = [
      { wallMs: -1, counter: 0, nodeId: 'b' },
      { wallMs: 1.5, counter: 0, nodeId: 'b' },
      { wallMs: 1, counter: HLC_LIMITS.counterMax + 1, nodeId: 'b' },
      { wallMs: 1, counter: 0, nodeId: 'not ok' },
      null,
    ]
    for (const remote of bad) {
      expect(() => clock.receive(remote as unknown as Hlc)).toThrow(TypeError)
    }
    expect(clock.last()).toEqual(hlc(T, 0))
  })
})

describe('createHlcClock: options', () => {
  it('rejects invalid options and node ids', () => {
    const env = createVirtualEnv({ seed: 1 })
    expect(() => createHlcClock(env, A, { futureSkewMsMax: -1 })).toThrow(TypeError)
    expect(() => createHlcClock(env, A, { futureSkewMsMax: 0.5 })).toThrow(TypeError)
    expect(() => createHlcClock(env, A, { initial: hlc(-1, 0) })).toThrow(TypeError)
    expect(() => createHlcClock(env, 'x y' as typeof A)).toThrow(TypeError)
  })

  it('still honours the deprecated maxFutureSkewMs when futureSkewMsMax is not given', () => {
    const env = createVirtualEnv({ seed: 1, startMs: T })
    const old = createHlcClock(env, A, { maxFutureSkewMs: 1000 })
    const both = createHlcClock(env, A, { futureSkewMsMax: 2000, maxFutureSkewMs: 1000 })
    expect(HLC_LIMITS.maxFutureSkewMsDefault).toBe(HLC_LIMITS.futureSkewMsMaxDefault)
    expect(old.receive(hlc(T + 1000, 0, B)).wallMs).toBe(T + 1000)
    expect(catchStarling(() => old.receive(hlc(T + 1001, 0, B))).details).toMatchObject({
      futureSkewMsMax: 1000,
    })
    expect(both.receive(hlc(T + 2000, 0, B)).wallMs).toBe(T + 2000)
    expect(() => createHlcClock(env, A, { maxFutureSkewMs: -1 })).toThrow(TypeError)
  })

  it('accepts a zero skew bound (no future timestamps at all)', () => {
    const { clock } = setup({ skewMs: 0 })
    expect(clock.receive(hlc(T, 0, B))).toEqual(hlc(T, 1))
    expect(catchStarling(() => clock.receive(hlc(T + 1, 0, B))).code).toBe('HLC_CLOCK_SKEW')
  })
})

describe('isHlc', () => {
  it('accepts well-formed timestamps only', () => {
    expect(isHlc(hlc(0, 0))).toBe(true)
    expect(isHlc(hlc(HLC_LIMITS.wallMsMax, HLC_LIMITS.counterMax))).toBe(true)
    expect(isHlc(hlc(HLC_LIMITS.wallMsMax + 1, 0))).toBe(false)
    expect(isHlc({ wallMs: 1, counter: 1 })).toBe(false)
    expect(isHlc({ wallMs: '1', counter: 1, nodeId: 'a' })).toBe(false)
    expect(isHlc(undefined)).toBe(false)
  })
})

describe('encodeHlc / decodeHlc', () => {
  it('writes the documented layout', () => {
    const bytes = encodeHlc(hlc(300, 2, toNodeId('ab')))
    // version 1 | varuint 300 = ac 02 | varuint 2 | length 2 | 'a' 'b'
    expect([...bytes]).toEqual([1, 0xac, 0x02, 2, 2, 0x61, 0x62])
  })

  it('round-trips extremes', () => {
    const longId = toNodeId('x'.repeat(64))
    for (const h of [hlc(0, 0), hlc(HLC_LIMITS.wallMsMax, HLC_LIMITS.counterMax, longId)]) {
      const bytes = encodeHlc(h)
      expect(bytes.length).toBeLessThanOrEqual(HLC_ENCODED_BYTES_MAX)
      expect(decodeHlc(bytes)).toEqual(h)
    }
    expect(encodeHlc(hlc(HLC_LIMITS.wallMsMax, HLC_LIMITS.counterMax, longId)).length).toBe(
      HLC_ENCODED_BYTES_MAX,
    )
  })

  it('rejects every truncation of a valid encoding with CODEC_MALFORMED', () => {
    const bytes = encodeHlc(hlc(T, 513, B))
    for (let length = 0; length < bytes.length; length++) {
      expect(catchStarling(() => decodeHlc(bytes.slice(0, length))).code).toBe('CODEC_MALFORMED')
    }
  })

  it('rejects malformed inputs with CODEC_MALFORMED', () => {
    const cases: Record<string, number[]> = {
      trailing: [1, 1, 2, 1, 0x61, 0],
      version: [2, 1, 2, 1, 0x61],
      wallTooBig: [1, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01, 0, 1, 0x61],
      counterTooBig: [1, 1, 0x80, 0x80, 0x04, 1, 0x61],
      emptyNodeId: [1, 1, 2, 0],
      badNodeId: [1, 1, 2, 1, 0x20],
      invalidUtf8: [1, 1, 2, 2, 0xc3, 0x28],
      nonCanonicalVarint: [1, 0x81, 0x00, 2, 1, 0x61],
      hugeLength: [1, 1, 2, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x61],
      tooLong: [1, ...new Array<number>(HLC_ENCODED_BYTES_MAX).fill(0)],
    }
    for (const [name, bytes] of Object.entries(cases)) {
      const error = catchStarling(() => decodeHlc(new Uint8Array(bytes)))
      expect([name, error.code]).toEqual([name, 'CODEC_MALFORMED'])
    }
  })

  it('does not read past the end of a view on a larger buffer', () => {
    const whole = encodeHlc(hlc(T, 1, B))
    const view = whole.subarray(0, whole.length - 1)
    expect(catchStarling(() => decodeHlc(view)).code).toBe('CODEC_MALFORMED')
    expect(decodeHlc(whole.subarray(0))).toEqual(hlc(T, 1, B))
  })

  it('treats misuse as a TypeError', () => {
    expect(() => decodeHlc([1, 2] as unknown as Uint8Array)).toThrow(TypeError)
    expect(() => encodeHlc(hlc(-1, 0))).toThrow(TypeError)
  })
})

describe('formatHlc / parseHlc', () => {
  it('writes fixed-width hex wall time and counter, then the node id', () => {
    expect(formatHlc(hlc(1, 2, toNodeId('a')))).toBe('000000000001-0002-a')
    expect(formatHlc(hlc(HLC_LIMITS.wallMsMax, HLC_LIMITS.counterMax, toNodeId('z-1')))).toBe(
      'ffffffffffff-ffff-z-1',
    )
  })

  it('sorts like compareHlc where decimal or unpadded text would not', () => {
    const stamps = [hlc(10, 0), hlc(9, 0), hlc(9, 16), hlc(9, 2), hlc(9, 2, B)]
    const byText = [...stamps].sort((a, b) => (formatHlc(a) < formatHlc(b) ? -1 : 1))
    expect(byText).toEqual([...stamps].sort(compareHlc))
  })

  it('parses what it formats and rejects anything else with CODEC_MALFORMED', () => {
    expect(parseHlc('000000000001-0002-a-b')).toEqual(hlc(1, 2, toNodeId('a-b')))
    for (const text of ['', '1-2-a', '000000000001-0002-', '00000000000G-0002-a', 'x']) {
      expect(catchStarling(() => parseHlc(text)).code).toBe('CODEC_MALFORMED')
    }
  })
})
