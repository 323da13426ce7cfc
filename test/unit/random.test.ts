import { afterEach, describe, expect, it, vi } from 'vitest'

import { createRng, seedFromEnv } from '../../src/core/random.js'
import type { Rng } from '../../src/core/random.js'

const draw = (rng: Rng, count: number): number[] =>
  Array.from({ length: count }, () => rng.uint32())

describe('createRng', () => {
  it('replays the same stream for the same seed', () => {
    const [a, b] = [createRng(1234), createRng(1234)]
    expect(draw(a, 50)).toEqual(draw(b, 50))
    expect([a.next(), a.int(1000), [...a.bytes(9)]]).toEqual([
      b.next(),
      b.int(1000),
      [...b.bytes(9)],
    ])
    expect(a.seed).toBe(1234)
  })

  it('keeps the stream of a seed stable across versions (printed seeds must replay)', () => {
    expect(draw(createRng(42), 4)).toEqual([0xe40a2ba3, 0x6e5a68e7, 0x5272dc7e, 0x3511402b])
  })

  it('gives different streams for different seeds, including seeds differing above bit 32', () => {
    const seeds = [0, 1, 2, -1, 2 ** 32, 2 ** 32 - 1, Number.MAX_SAFE_INTEGER]
    const firsts = seeds.map((seed) => draw(createRng(seed), 2).join(','))
    expect(new Set(firsts).size).toBe(seeds.length)
  })

  it('draws floats in [0, 1)', () => {
    const rng = createRng(7)
    const values = Array.from({ length: 10_000 }, () => rng.next())
    expect(Math.min(...values)).toBeGreaterThanOrEqual(0)
    expect(Math.max(...values)).toBeLessThan(1)
    expect(Math.max(...values)).toBeGreaterThan(0.99)
    expect(Math.min(...values)).toBeLessThan(0.01)
  })

  it('draws integers within bounds, reaching both ends', () => {
    const rng = createRng(8)
    for (const max of [1, 2, 3, 10, 2 ** 32, 2 ** 32 + 5, Number.MAX_SAFE_INTEGER]) {
      for (let i = 0; i < 200; i++) {
        const x = rng.int(max)
        expect(Number.isInteger(x) && x >= 0 && x < max).toBe(true)
      }
    }
    const seen = new Set(Array.from({ length: 200 }, () => rng.int(3)))
    expect([...seen].sort()).toEqual([0, 1, 2])
    expect(rng.int(1)).toBe(0)
  })

  it('spreads small integers evenly (fixed seed, so not flaky)', () => {
    const rng = createRng(9)
    const counts = new Array<number>(10).fill(0)
    for (let i = 0; i < 20_000; i++) {
      const k = rng.int(10)
      counts[k] = (counts[k] ?? 0) + 1
    }
    for (const count of counts) expect(count).toBeGreaterThan(1800)
    for (const count of counts) expect(count).toBeLessThan(2200)
  })

  it('uses the high range of large bounds', () => {
    const rng = createRng(10)
    const max = 2 ** 40
    const values = Array.from({ length: 100 }, () => rng.int(max))
    expect(values.some((v) => v > 2 ** 39)).toBe(true)
  })

  it('produces bytes of the requested length, all byte values reachable', () => {
    const rng = createRng(11)
    expect(rng.bytes(0)).toEqual(new Uint8Array(0))
    expect(rng.bytes(5)).toHaveLength(5)
    const big = rng.bytes(4099)
    expect(big).toHaveLength(4099)
    expect(new Set(big).size).toBe(256)
  })

  it('forks deterministically into a stream independent of the parent', () => {
    const [a, b] = [createRng(5), createRng(5)]
    const [childA, childB] = [a.fork(), b.fork()]
    expect(draw(childA, 10)).toEqual(draw(childB, 10))
    expect(draw(a, 10)).toEqual(draw(b, 10))
    const parent = createRng(5)
    const child = parent.fork()
    expect(draw(child, 10)).not.toEqual(draw(parent, 10))
    const unforked = createRng(5)
    unforked.uint32() // a fork advances the parent by one draw
    expect(draw(unforked, 5)).toEqual(draw(createForkedParent(5), 5))
  })

  it('rejects invalid seeds and arguments with INVALID_ARGUMENT TypeErrors', () => {
    const rng = createRng(1)
    const misuse = [
      () => createRng(1.5),
      () => createRng(Number.NaN),
      () => createRng(2 ** 53),
      () => rng.int(0),
      () => rng.int(-3),
      () => rng.int(2.5),
      () => rng.int(Number.POSITIVE_INFINITY),
      () => rng.bytes(-1),
      () => rng.bytes(1.5),
    ]
    for (const call of misuse) {
      expect(call).toThrow(expect.objectContaining({ name: 'TypeError', code: 'INVALID_ARGUMENT' }))
    }
  })
})

function createForkedParent(seed: number): Rng {
  const rng = createRng(seed)
  rng.fork()
  return rng
}

describe('seedFromEnv', () => {
  afterEach(() => {
    vi.unstubAllEnvs()
  })

  it('reads a decimal seed from the named variable', () => {
    vi.stubEnv('TEST_SEED_A', '123456')
    expect(seedFromEnv('TEST_SEED_A')).toBe(123456)
    vi.stubEnv('TEST_SEED_A', ' -42 ')
    expect(seedFromEnv('TEST_SEED_A')).toBe(-42)
  })

  it('reads STARLING_SEED by default', () => {
    vi.stubEnv('STARLING_SEED', '777')
    expect(seedFromEnv()).toBe(777)
  })

  it('returns fresh 31-bit seeds when the variable is unset or empty', () => {
    vi.stubEnv('TEST_SEED_B', undefined)
    const seeds = Array.from({ length: 8 }, () => seedFromEnv('TEST_SEED_B'))
    for (const seed of seeds)
      expect(Number.isInteger(seed) && seed >= 0 && seed < 2 ** 31).toBe(true)
    expect(new Set(seeds).size).toBeGreaterThan(1)
    vi.stubEnv('TEST_SEED_B', '')
    expect(Number.isInteger(seedFromEnv('TEST_SEED_B'))).toBe(true)
  })

  it('refuses a malformed seed instead of silently running another one', () => {
    for (const text of ['abc', '1.5', '0x10', '1e3', '99999999999999999999']) {
      vi.stubEnv('TEST_SEED_C', text)
      expect(() => seedFromEnv('TEST_SEED_C')).toThrow(TypeError)
    }
  })
})
