/**
 * A small seeded pseudo-random generator for deterministic tests and the simulator. It is sfc32
 * (Chris Doty-Humphrey's Small Fast Counting generator, 128 bits of state) whose state is filled
 * from the seed by splitmix32. Not cryptographic: never use it for salts or ids that must be
 * unguessable.
 */
import { invalidArgument } from './errors.js'

/** A deterministic stream of pseudo-random numbers. */
export interface Rng {
  /** The seed this stream was created from; `createRng(seed)` replays it exactly. */
  readonly seed: number
  /** A uniformly distributed float in [0, 1) with 53 bits of precision. */
  next(): number
  /** A uniformly distributed unsigned 32-bit integer. */
  uint32(): number
  /** A uniformly distributed integer in [0, maxExclusive); `maxExclusive` is a positive safe integer. */
  int(maxExclusive: number): number
  /** `length` pseudo-random bytes. */
  bytes(length: number): Uint8Array
  /**
   * Derives an independent stream. Deterministic: the same parent state always forks the same
   * child. Forking advances the parent by one draw.
   */
  fork(): Rng
}

const TWO_POW_32 = 2 ** 32
const TWO_POW_53 = 2 ** 53

/** One splitmix32 step: returns the next state and a well-mixed output. */
function splitmix32(state: number): [next: number, output: number] {
  const next = (state + 0x9e3779b9) | 0
  let z = next
  z = Math.imul(z ^ (z >>> 16), 0x21f0aaad)
  z = Math.imul(z ^ (z >>> 15), 0x735a2d97)
  return [next, (z ^ (z >>> 15)) >>> 0]
}

/** Fills the four sfc32 state words from a seed (both 32-bit halves of it are used). */
function seedState(seed: number): Uint32Array {
  const low = seed >>> 0
  const high = Math.floor(seed / TWO_POW_32) >>> 0
  const words = new Uint32Array(4)
  let state = low ^ Math.imul(high, 0x85ebca6b)
  for (let i = 0; i < 4; i++) {
    const [next, output] = splitmix32(state)
    state = next
    words[i] = output
  }
  return words
}

/** Creates the sfc32 step function starting from the four words of `state`. */
function createSfc32(state: Uint32Array): () => number {
  let a = state[0] ?? 0
  let b = state[1] ?? 0
  let c = state[2] ?? 0
  let d = state[3] ?? 0
  const step = (): number => {
    const t = (((a + b) | 0) + d) | 0
    d = (d + 1) | 0
    a = b ^ (b >>> 9)
    b = (c + (c << 3)) | 0
    c = (c << 21) | (c >>> 11)
    c = (c + t) | 0
    return t >>> 0
  }
  // Discard the first outputs so that nearby seeds diverge fully.
  for (let i = 0; i < 12; i++) step()
  return step
}

/** A uniform integer in [0, maxExclusive) by rejection sampling (no modulo bias). */
function uniformInt(uint32: () => number, maxExclusive: number): number {
  if (maxExclusive <= TWO_POW_32) {
    const limit = TWO_POW_32 - (TWO_POW_32 % maxExclusive)
    let x = uint32()
    while (x >= limit) x = uint32()
    return x % maxExclusive
  }
  const limit = TWO_POW_53 - (TWO_POW_53 % maxExclusive)
  let x = uint53(uint32)
  while (x >= limit) x = uint53(uint32)
  return x % maxExclusive
}

/** A uniform integer in [0, 2^53) from two 32-bit draws. */
function uint53(uint32: () => number): number {
  const high = uint32() >>> 5 // 27 bits
  const low = uint32() >>> 6 // 26 bits
  return high * 2 ** 26 + low
}

/**
 * Creates a deterministic generator from a seed (any safe integer).
 *
 * @example
 * ```ts
 * const a = createRng(42)
 * const b = createRng(42)
 * a.int(6) === b.int(6) // always true
 * ```
 */
export function createRng(seed: number): Rng {
  if (!Number.isSafeInteger(seed)) {
    throw invalidArgument(`an RNG seed must be a safe integer, got ${String(seed)}`)
  }
  const uint32 = createSfc32(seedState(seed))
  return {
    seed,
    uint32,
    next: () => uint53(uint32) / TWO_POW_53,
    int(maxExclusive) {
      if (!Number.isSafeInteger(maxExclusive) || maxExclusive < 1) {
        throw invalidArgument(`int() needs a positive safe integer, got ${String(maxExclusive)}`)
      }
      return uniformInt(uint32, maxExclusive)
    },
    bytes: (length) => fillBytes(uint32, length),
    fork: () => createRng(uint32()),
  }
}

/** `length` bytes from 32-bit draws, four bytes per draw. */
function fillBytes(uint32: () => number, length: number): Uint8Array {
  if (!Number.isSafeInteger(length) || length < 0) {
    throw invalidArgument(`bytes() needs a non-negative safe integer, got ${String(length)}`)
  }
  const out = new Uint8Array(length)
  for (let i = 0; i < length; i += 4) {
    let word = uint32()
    for (let j = i; j < Math.min(i + 4, length); j++) {
      out[j] = word & 0xff
      word >>>= 8
    }
  }
  return out
}

/** Parses a seed written as a decimal integer, or returns undefined for an unusable text. */
function parseSeed(text: string): number | undefined {
  const trimmed = text.trim()
  if (!/^-?\d+$/.test(trimmed)) return undefined
  const value = Number(trimmed)
  return Number.isSafeInteger(value) ? value : undefined
}

/** A fresh non-negative 31-bit seed from the platform's cryptographic random source. */
function freshSeed(): number {
  const word = new Uint32Array(1)
  globalThis.crypto.getRandomValues(word)
  return (word[0] ?? 0) >>> 1
}

/**
 * The seed for a randomized test or simulation: the environment variable `name` when it is set
 * (a decimal safe integer, so a printed seed replays the run), otherwise a fresh random 31-bit
 * seed. A set but malformed variable throws `INVALID_ARGUMENT` rather than silently running a
 * different seed.
 *
 * @example
 * ```ts
 * // STARLING_SEED=1234 npx vitest run test/property/hlc.property.test.ts
 * const rng = createRng(seedFromEnv())
 * ```
 */
export function seedFromEnv(name = 'STARLING_SEED'): number {
  const text = globalThis.process?.env[name]
  if (text === undefined || text.trim() === '') return freshSeed()
  const seed = parseSeed(text)
  if (seed === undefined) {
    throw invalidArgument(`${name} must be a decimal safe integer, got ${JSON.stringify(text)}`)
  }
  return seed
}
