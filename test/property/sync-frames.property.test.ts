/**
 * Sync frames under arbitrary input: every frame round-trips byte for byte; truncated, bit-flipped,
 * random and hostile bytes (huge lengths and counts, re-checksummed so they reach the body
 * decoder) fail with a typed SYNC_* error and never anything else; nothing is ever accepted that
 * does not re-encode to exactly the bytes received.
 */
import fc from 'fast-check'
import * as encoding from 'lib0/encoding'
import { describe, expect, it } from 'vitest'

import { CRC32C_INIT, crc32cFinish, crc32cUpdate } from '../../src/core/crc32c.js'
import { isStarlingError } from '../../src/core/errors.js'
import type { NodeId } from '../../src/core/ids.js'
import { HLC_LIMITS } from '../../src/core/limits.js'
import { REGISTRY_KEY } from '../../src/store/keys.js'
import { decodeFrame, encodeFrame } from '../../src/sync/frames.js'
import {
  FRAME_HEADER_BYTES,
  FRAME_MAGIC,
  FRAME_TYPE,
  SYNC_LIMITS,
  SYNC_PROTOCOL_VERSION,
} from '../../src/sync/protocol.js'
import type { Envelope, Frame, LogEntry } from '../../src/sync/protocol.js'
import { assertProperty, FUZZ } from '../support/property.js'
import { compareBytesAsBytes } from '../support/bytes.js'

compareBytesAsBytes()

const MAX = Number.MAX_SAFE_INTEGER
/** The fuzz budget (`STARLING_FUZZ=1`, 100× the runs) takes minutes, past the default timeout. */
const TIMEOUT = { timeout: FUZZ ? 3_600_000 : 120_000 }

// ---------------------------------------------------------------------------------------------
// Arbitraries

const nodeId = fc.stringMatching(/^[A-Za-z0-9_-]{1,64}$/).map((s) => s as NodeId)
/** Small numbers most of the time, with the varuint byte boundaries and 2^53 − 1 in the mix. */
const uint = fc.oneof(
  fc.nat(300),
  fc.constantFrom(127, 128, 16_383, 16_384, 2 ** 31 - 1, 2 ** 31, 2 ** 32, 2 ** 49, MAX),
  fc.maxSafeNat(),
)
const u32 = fc.integer({ min: 0, max: 0xffffffff })
const bytes = fc.uint8Array({ maxLength: 48 })
const docKey = fc.oneof(
  fc.string({ unit: 'binary', minLength: 1, maxLength: 12 }),
  fc.constant(REGISTRY_KEY),
)

const envelope: fc.Arbitrary<Envelope> = fc.record({
  origin: nodeId,
  originLsn: uint,
  hlc: fc.record({
    wallMs: fc.oneof(
      fc.nat(1000),
      fc.constant(HLC_LIMITS.wallMsMax),
      fc.integer({ min: 0, max: HLC_LIMITS.wallMsMax }),
    ),
    counter: fc.integer({ min: 0, max: HLC_LIMITS.counterMax }),
  }),
  payload: bytes,
  crc: u32,
})

/** fromLsn, then entries at strictly increasing LSNs, then toLsn, all safe integers. */
const records = fc
  .record({
    from: uint,
    gaps: fc.array(fc.oneof(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 2 ** 40 })), {
      maxLength: 6,
    }),
    tail: fc.oneof(fc.constant(0), fc.nat(1000)),
    envelopes: fc.array(fc.array(envelope, { maxLength: 3 }), { maxLength: 6 }),
  })
  .map(({ from, gaps, tail, envelopes }): Frame => {
    const span = gaps.reduce((sum, gap) => sum + gap, 0) + tail
    const fromLsn = Math.min(from, MAX - span)
    const entries: LogEntry[] = []
    let lsn = fromLsn
    gaps.forEach((gap, i) => {
      lsn += gap
      entries.push({ lsn, envelopes: envelopes[i] ?? [] })
    })
    return { type: 'records', fromLsn, toLsn: lsn + tail, entries }
  })

const frameArb: fc.Arbitrary<Frame> = fc.oneof(
  fc.record({ type: fc.constant('hello' as const), protocolVersion: uint, nodeId, lastLsn: uint }),
  fc.record({ type: fc.constant('resume' as const), cursor: uint }),
  fc.record({ type: fc.constant('ack' as const), cursor: uint }),
  records,
  fc.record({
    type: fc.constant('catchUpOffer' as const),
    round: uint,
    upTo: uint,
    docs: fc.array(fc.record({ key: docKey, stateVector: bytes, deleteSetHash: u32 }), {
      maxLength: 4,
    }),
    last: fc.boolean(),
  }),
  fc.record({
    type: fc.constant('catchUpRequest' as const),
    round: uint,
    docs: fc.array(fc.record({ key: docKey, stateVector: bytes }), { maxLength: 4 }),
    last: fc.boolean(),
  }),
  fc.record({
    type: fc.constant('catchUpData' as const),
    round: uint,
    upTo: uint,
    docs: fc.array(fc.record({ key: docKey, update: bytes }), { maxLength: 4 }),
    last: fc.boolean(),
  }),
  fc.record({ type: fc.constant('awareness' as const), update: fc.uint8Array({ maxLength: 200 }) }),
  fc.record({
    type: fc.constant('error' as const),
    code: fc.stringMatching(/^[A-Z][A-Z0-9_]{0,63}$/),
    message: fc.string({ unit: 'binary', maxLength: 40 }),
  }),
)

// ---------------------------------------------------------------------------------------------
// Helpers

/** Rewrites the header's body length and CRC, so that damaged bodies reach the body decoder. */
function reframe(bytes: Uint8Array): Uint8Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length)
  view.setUint32(4, bytes.length - FRAME_HEADER_BYTES, true)
  const state = crc32cUpdate(CRC32C_INIT, bytes, 0, 8)
  view.setUint32(8, crc32cFinish(crc32cUpdate(state, bytes, FRAME_HEADER_BYTES)), true)
  return bytes
}

function withBody(type: number, body: Uint8Array): Uint8Array {
  const bytes = new Uint8Array(FRAME_HEADER_BYTES + body.length)
  bytes.set([FRAME_MAGIC, SYNC_PROTOCOL_VERSION, type, 0])
  bytes.set(body, FRAME_HEADER_BYTES)
  return reframe(bytes)
}

type Outcome = { accepted: Frame } | { code: string }

/**
 * Decodes bytes that may be anything. Any throw but a StarlingError with a SYNC_* code fails the
 * property; an accepted frame must re-encode to exactly these bytes (the decoder accepts only
 * canonical encodings, so nothing "similar" slips through).
 */
function decodeAnything(input: Uint8Array): Outcome {
  let frame: Frame
  try {
    frame = decodeFrame(input)
  } catch (error) {
    if (!isStarlingError(error) || !error.code.startsWith('SYNC_')) throw error
    return { code: error.code }
  }
  expect(encodeFrame(frame)).toEqual(input)
  return { accepted: frame }
}

function expectRejected(input: Uint8Array): string {
  const outcome = decodeAnything(input)
  if ('accepted' in outcome) throw new Error(`accepted ${JSON.stringify(outcome.accepted)}`)
  return outcome.code
}

// ---------------------------------------------------------------------------------------------
// Properties

describe('sync frames (property)', () => {
  it('(a) every frame round-trips exactly, bytes and value', TIMEOUT, () => {
    assertProperty(
      import.meta.url,
      fc.property(frameArb, (frame) => {
        const bytes = encodeFrame(frame)
        const decoded = decodeFrame(bytes)
        expect(decoded).toEqual(frame)
        expect(encodeFrame(decoded)).toEqual(bytes)
      }),
      { numRuns: 500 },
    )
  })

  it('(b) every truncation is refused, as it arrives and with a re-made header', TIMEOUT, () => {
    assertProperty(
      import.meta.url,
      fc.property(frameArb, (frame) => {
        const bytes = encodeFrame(frame)
        for (let length = 0; length < bytes.length; length++) {
          expectRejected(bytes.slice(0, length))
          // The body cut short but the header made to match: the body decoder must notice.
          if (length >= FRAME_HEADER_BYTES) {
            expect(expectRejected(reframe(bytes.slice(0, length)))).toBe('SYNC_FRAME_MALFORMED')
          }
        }
      }),
      { numRuns: 150 },
    )
  })

  it('(c) a single flipped bit is always refused', TIMEOUT, () => {
    assertProperty(
      import.meta.url,
      fc.property(frameArb, fc.nat(), fc.nat(7), (frame, at, bit) => {
        const bytes = encodeFrame(frame)
        bytes[at % bytes.length] = (bytes[at % bytes.length] as number) ^ (1 << bit)
        expectRejected(bytes)
      }),
      { numRuns: 1000 },
    )
  })

  it('(c) two or three flipped bits are always refused', TIMEOUT, () => {
    // CRC32C has Hamming distance ≥ 4 at these lengths: every 1–3 bit error is detected.
    const bits = fc.uniqueArray(fc.nat(), { minLength: 2, maxLength: 3 })
    assertProperty(
      import.meta.url,
      fc.property(frameArb, bits, (frame, positions) => {
        const bytes = encodeFrame(frame)
        const flipped = new Set(positions.map((p) => p % (bytes.length * 8)))
        for (const bit of flipped) bytes[bit >> 3] = (bytes[bit >> 3] as number) ^ (1 << (bit & 7))
        expectRejected(bytes)
      }),
      { numRuns: 1000 },
    )
  })

  it(
    '(c) up to 8 flipped body bits with a repaired CRC pass only as a canonical frame',
    TIMEOUT,
    () => {
      const flips = fc.array(fc.tuple(fc.nat(), fc.nat(7)), { minLength: 1, maxLength: 8 })
      assertProperty(
        import.meta.url,
        fc.property(frameArb, flips, fc.boolean(), (frame, positions, repair) => {
          const bytes = encodeFrame(frame)
          for (const [at, bit] of positions) {
            const i = FRAME_HEADER_BYTES + (at % Math.max(1, bytes.length - FRAME_HEADER_BYTES))
            if (i < bytes.length) bytes[i] = (bytes[i] as number) ^ (1 << bit)
          }
          // Repaired: a different but well-checksummed body; accepted only if canonical.
          decodeAnything(repair ? reframe(bytes) : bytes)
        }),
        { numRuns: 1000 },
      )
    },
  )

  it('(d) random bytes, raw or behind a valid header of a random type', TIMEOUT, () => {
    assertProperty(
      import.meta.url,
      fc.property(
        fc.uint8Array({ maxLength: 64 }),
        fc.integer({ min: 0, max: 11 }),
        fc.boolean(),
        (body, type, framed) => {
          decodeAnything(framed ? withBody(type, body) : body)
        },
      ),
      { numRuns: 2000 },
    )
  })

  it('(d) random bytes after the first fields of a valid body', TIMEOUT, () => {
    // Random tails after a valid prefix reach deep into each body decoder.
    assertProperty(
      import.meta.url,
      fc.property(frameArb, fc.nat(), fc.uint8Array({ maxLength: 32 }), (frame, cut, tail) => {
        const bytes = encodeFrame(frame)
        const keep = FRAME_HEADER_BYTES + (cut % (bytes.length - FRAME_HEADER_BYTES + 1))
        const mutated = new Uint8Array(keep + tail.length)
        mutated.set(bytes.subarray(0, keep))
        mutated.set(tail, keep)
        decodeAnything(reframe(mutated))
      }),
      { numRuns: 1000 },
    )
  })

  it('(e) huge declared lengths are refused from the header alone', TIMEOUT, () => {
    assertProperty(
      import.meta.url,
      fc.property(
        fc.integer({ min: SYNC_LIMITS.frameBytesMax - FRAME_HEADER_BYTES + 1, max: 0xffffffff }),
        fc.integer({ min: 1, max: 9 }),
        fc.integer({ min: 0, max: 64 }),
        (declared, type, extra) => {
          const bytes = new Uint8Array(FRAME_HEADER_BYTES + extra)
          bytes.set([FRAME_MAGIC, SYNC_PROTOCOL_VERSION, type, 0])
          new DataView(bytes.buffer).setUint32(4, declared, true)
          expect(expectRejected(bytes)).toBe('SYNC_FRAME_TOO_LARGE')
        },
      ),
    )
  })

  it('(e) huge counts and lengths inside checksummed bodies fail fast and typed', TIMEOUT, () => {
    const huge = fc.oneof(
      fc.integer({ min: 2 ** 20, max: 2 ** 32 }),
      fc.maxSafeNat().filter((n) => n >= 2 ** 20),
      fc.constant(MAX),
    )
    assertProperty(
      import.meta.url,
      fc.property(
        fc.constantFrom(...HUGE_FIELD_LAYOUTS),
        huge,
        fc.uint8Array({ maxLength: 24 }),
        ([type, prefix], n, tail) => {
          const e = encoding.createEncoder()
          for (const field of prefix) {
            if (typeof field === 'number') encoding.writeVarUint(e, field)
            else encoding.writeVarString(e, field)
          }
          encoding.writeVarUint(e, n)
          encoding.writeUint8Array(e, tail)
          // A few bytes cannot hold n items or n bytes: refused before any loop or allocation.
          const body = encoding.toUint8Array(e)
          expect(expectRejected(withBody(type, body))).toBe('SYNC_FRAME_MALFORMED')
        },
      ),
      { numRuns: 1000 },
    )
  })
})

/**
 * Body prefixes (varuints and varstrings) that end just before a count or a length, where the
 * huge number goes.
 */
const HUGE_FIELD_LAYOUTS: [type: number, prefix: (number | string)[]][] = [
  [FRAME_TYPE.hello, [1]], // node id length
  [FRAME_TYPE.records, [0, 9]], // entry count
  [FRAME_TYPE.records, [0, 9, 1, 1]], // envelope count
  [FRAME_TYPE.records, [0, 9, 1, 1, 1]], // origin length
  [FRAME_TYPE.records, [0, 9, 1, 1, 1, 'a', 1, 1, 1]], // payload length
  [FRAME_TYPE.catchUpOffer, [0, 0, 1]], // doc count
  [FRAME_TYPE.catchUpOffer, [0, 0, 1, 1]], // key length
  [FRAME_TYPE.catchUpOffer, [0, 0, 1, 1, 'k']], // state vector length
  [FRAME_TYPE.catchUpRequest, [0, 0]], // doc count
  [FRAME_TYPE.catchUpData, [0, 0, 0]], // doc count
  [FRAME_TYPE.catchUpData, [0, 0, 0, 1, 'k']], // update length
  [FRAME_TYPE.awareness, []], // update length
  [FRAME_TYPE.error, []], // code length
  [FRAME_TYPE.error, ['CODE']], // message length
]
