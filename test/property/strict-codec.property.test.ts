/**
 * The strict codec (src/core/strict-decoder.ts, src/core/byte-writer.ts) under arbitrary input:
 * what the writer writes reads back exactly; every truncation, every trailing byte, every
 * non-canonical or unsafe varuint, every declared length or count the bytes left cannot hold is
 * refused with the caller's error and never anything else. Then the formats on disk built on it
 * (store and remote records, the checkpoint LSN and ledger, encoded clocks): a damaged encoding
 * is refused with their code, or decodes to a value that re-encodes to exactly those bytes.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'

import { ByteWriter } from '../../src/core/byte-writer.js'
import { StarlingError, isStarlingError } from '../../src/core/errors.js'
import type { ErrorCode } from '../../src/core/errors.js'
import { decodeHlc, encodeHlc } from '../../src/core/hlc.js'
import type { NodeId } from '../../src/core/ids.js'
import { HLC_LIMITS } from '../../src/core/limits.js'
import { StrictDecoder } from '../../src/core/strict-decoder.js'
import { decodeLsn, encodeLsn } from '../../src/store/checkpoint.js'
import { decodeUpdates, encodeUpdates, recordClock } from '../../src/store/record-codec.js'
import { SyncLedger, decodeRemoteRecord, encodeRemoteRecord } from '../../src/store/remote.js'
import { assertProperty, FUZZ } from '../support/property.js'
import { compareBytesAsBytes } from '../support/bytes.js'

compareBytesAsBytes()

const MAX = Number.MAX_SAFE_INTEGER
const TIMEOUT = { timeout: FUZZ ? 3_600_000 : 120_000 }
const FAIL = (reason: string, offset: number) =>
  new StarlingError('CODEC_MALFORMED', `test value: ${reason}`, { offset })

// ---------------------------------------------------------------------------------------------
// Arbitraries

const nodeId = fc.stringMatching(/^[A-Za-z0-9_-]{1,64}$/).map((s) => s as NodeId)
/** Small numbers most of the time, with the varuint byte boundaries and 2^53 − 1 in the mix. */
const uint = fc.oneof(
  fc.nat(300),
  fc.constantFrom(127, 128, 16_383, 16_384, 2 ** 31 - 1, 2 ** 31, 2 ** 32, 2 ** 49, MAX),
  fc.maxSafeNat(),
)
const bytes = fc.uint8Array({ maxLength: 40 })
/** Strings UTF-8 can carry (no lone surrogates). */
const text = fc
  .string({ unit: 'binary', maxLength: 12 })
  .filter((s) => new TextDecoder().decode(new TextEncoder().encode(s)) === s)

type Op =
  | { kind: 'varuint' | 'u8' | 'u32'; value: number }
  | { kind: 'flag'; value: boolean }
  | { kind: 'bytes'; value: Uint8Array }
  | { kind: 'string' | 'nodeId'; value: string }

const op: fc.Arbitrary<Op> = fc.oneof(
  uint.map((value) => ({ kind: 'varuint' as const, value })),
  fc.nat(255).map((value) => ({ kind: 'u8' as const, value })),
  fc.integer({ min: 0, max: 0xffffffff }).map((value) => ({ kind: 'u32' as const, value })),
  fc.boolean().map((value) => ({ kind: 'flag' as const, value })),
  bytes.map((value) => ({ kind: 'bytes' as const, value })),
  text.map((value) => ({ kind: 'string' as const, value })),
  nodeId.map((value) => ({ kind: 'nodeId' as const, value })),
)
const ops = fc.array(op, { minLength: 1, maxLength: 8 })

function writeOps(w: ByteWriter, list: readonly Op[]): void {
  for (const o of list) {
    switch (o.kind) {
      case 'varuint':
        w.varuint(o.value)
        break
      case 'u8':
        w.u8(o.value)
        break
      case 'u32':
        w.u32(o.value)
        break
      case 'flag':
        w.u8(o.value ? 1 : 0)
        break
      case 'bytes':
        w.bytes(o.value)
        break
      case 'string':
        w.text(o.value, 'string')
        break
      case 'nodeId':
        w.ascii(o.value)
    }
  }
}

function encodeOps(list: readonly Op[]): Uint8Array {
  const sizer = new ByteWriter(undefined)
  writeOps(sizer, list)
  const out = new Uint8Array(sizer.pos)
  const writer = new ByteWriter(out)
  writeOps(writer, list)
  expect(writer.pos).toBe(out.length)
  return out
}

function readOps(r: StrictDecoder, list: readonly Op[]): unknown[] {
  return list.map((o) => {
    if (o.kind === 'varuint') return r.varuint()
    if (o.kind === 'u8') return r.u8()
    if (o.kind === 'u32') return r.u32()
    if (o.kind === 'flag') return r.flag()
    if (o.kind === 'bytes') return r.bytes()
    if (o.kind === 'string') return r.string()
    return r.nodeId()
  })
}

/** The refusal `run` throws: it must be the caller's error, never another exception. */
function refusal(run: () => unknown, code: ErrorCode = 'CODEC_MALFORMED'): StarlingError {
  try {
    run()
  } catch (error) {
    if (isStarlingError(error) && error.code === code) return error
    throw error
  }
  throw new Error('accepted what it should have refused')
}

/** The canonical varuint of `value` (lib0's layout), written independently of ByteWriter. */
function varuint(value: bigint): number[] {
  const out: number[] = []
  for (; value > 0x7fn; value >>= 7n) out.push(Number(value & 0x7fn) | 0x80)
  out.push(Number(value))
  return out
}

// ---------------------------------------------------------------------------------------------
// The decoder

describe('StrictDecoder', () => {
  it('reads back exactly what the writer wrote, and nothing is left', () => {
    assertProperty(
      import.meta.url,
      fc.property(ops, (list) => {
        const encoded = encodeOps(list)
        const r = new StrictDecoder(encoded, FAIL)
        expect(readOps(r, list)).toEqual(list.map((o) => o.value))
        r.end()
      }),
    )
  })

  it('refuses every truncation with the caller error', TIMEOUT, () => {
    assertProperty(
      import.meta.url,
      fc.property(ops, fc.nat(), (list, cut) => {
        const encoded = encodeOps(list)
        fc.pre(encoded.length > 0)
        const prefix = encoded.subarray(0, cut % encoded.length)
        // Every item delimits itself, so the same reads over fewer bytes must run out.
        refusal(() => readOps(new StrictDecoder(prefix, FAIL), list))
      }),
    )
  })

  it('refuses trailing bytes', () => {
    assertProperty(
      import.meta.url,
      fc.property(ops, fc.uint8Array({ minLength: 1, maxLength: 8 }), (list, extra) => {
        const encoded = encodeOps(list)
        const input = new Uint8Array([...encoded, ...extra])
        const r = new StrictDecoder(input, FAIL)
        readOps(r, list)
        const error = refusal(() => r.end())
        expect(error.message).toContain('trailing bytes')
        expect(error.details['offset']).toBe(encoded.length)
      }),
    )
  })

  it('refuses non-canonical varuints: padded, longer than 8 bytes, past 2^53 − 1 or a bound', () => {
    const padded = fc
      .tuple(fc.bigInt({ min: 0n, max: BigInt(MAX) }), fc.integer({ min: 1, max: 9 }))
      .map(([value, pad]) => {
        const bytes = varuint(value)
        bytes[bytes.length - 1] = (bytes[bytes.length - 1] as number) | 0x80
        return [...bytes, ...new Array<number>(pad - 1).fill(0x80), 0]
      })
    const unsafe = fc.bigInt({ min: BigInt(MAX) + 1n, max: 2n ** 70n }).map(varuint)
    assertProperty(
      import.meta.url,
      fc.property(fc.oneof(padded, unsafe), (bytes) => {
        const error = refusal(() => new StrictDecoder(new Uint8Array(bytes), FAIL).varuint())
        expect(error.message).toMatch(/overlong|longer than 8 bytes|exceeds/)
      }),
    )
    assertProperty(
      import.meta.url,
      fc.property(uint, uint, (value, max) => {
        const r = new StrictDecoder(new Uint8Array(varuint(BigInt(value))), FAIL)
        if (value <= max) expect(r.varuint(max)).toBe(value)
        else expect(refusal(() => r.varuint(max)).message).toContain('exceeds')
      }),
    )
  })

  it('refuses counts and lengths the bytes left cannot hold, before reading on', () => {
    assertProperty(
      import.meta.url,
      fc.property(uint, fc.integer({ min: 1, max: 16 }), bytes, (count, itemBytesMin, rest) => {
        const input = new Uint8Array([...varuint(BigInt(count)), ...rest])
        const r = new StrictDecoder(input, FAIL)
        if (count * itemBytesMin <= rest.length) expect(r.count(itemBytesMin)).toBe(count)
        else {
          const error = refusal(() => r.count(itemBytesMin))
          expect(error.message).toContain('cannot fit')
          expect(error.details['offset']).toBe(0)
        }
        const length = new StrictDecoder(input, FAIL)
        if (count <= rest.length) expect(length.bytes()).toEqual(rest.subarray(0, count))
        else expect(refusal(() => length.bytes()).message).toContain('runs past')
      }),
    )
  })
})

// ---------------------------------------------------------------------------------------------
// Formats on disk built on it

const clock = fc.record({
  wallMs: fc.integer({ min: 0, max: HLC_LIMITS.wallMsMax }),
  counter: fc.integer({ min: 0, max: HLC_LIMITS.counterMax }),
})
const storeRecord = fc
  .tuple(fc.array(fc.record({ key: text, update: bytes }), { maxLength: 4 }), fc.option(clock))
  .map(([updates, stamp]) => encodeUpdates(updates, stamp ?? undefined))
const envelope = fc.record({
  origin: nodeId,
  originLsn: uint,
  hlc: clock,
  payload: bytes,
  crc: fc.integer({ min: 0, max: 0xffffffff }),
})
const remoteRecord = fc
  .record({ sender: nodeId, cursor: uint, envelopes: fc.array(envelope, { maxLength: 3 }) })
  .map(encodeRemoteRecord)
const ledger = fc.array(fc.tuple(nodeId, nodeId, uint, uint), { maxLength: 4 }).map((entries) => {
  const l = new SyncLedger('self' as NodeId)
  for (const [sender, peer, cursor, acked] of entries) {
    l.raiseInbound(sender, cursor)
    l.noteAck(peer, acked)
  }
  return l.encode()
})
const hlc = fc
  .tuple(clock, nodeId)
  .map(([{ wallMs, counter }, id]) => encodeHlc({ wallMs, counter, nodeId: id }))

/** A valid encoding damaged: cut, a byte changed, a byte inserted, bytes appended. */
function damaged(valid: fc.Arbitrary<Uint8Array>): fc.Arbitrary<Uint8Array> {
  return fc
    .tuple(valid, fc.nat(), fc.nat(255), fc.uint8Array({ minLength: 1, maxLength: 4 }))
    .chain(([value, at, byte, extra]) => {
      const i = value.length === 0 ? 0 : at % value.length
      const changed = value.slice()
      changed[i] = byte
      return fc.constantFrom(
        value.subarray(0, i),
        changed,
        new Uint8Array([...value.subarray(0, i), byte, ...value.subarray(i)]),
        new Uint8Array([...value, ...extra]),
      )
    })
}

/** Refused with `code`, or decoded to a value whose encoding is exactly `input`. */
function exactOrRefused(input: Uint8Array, code: ErrorCode, roundTrip: (b: Uint8Array) => unknown) {
  try {
    expect(roundTrip(input)).toEqual(input)
  } catch (error) {
    if (!isStarlingError(error) || error.code !== code) throw error
  }
}

describe('formats on disk', () => {
  it(
    'a damaged store or remote record, LSN or clock is refused or re-encodes exactly',
    TIMEOUT,
    () => {
      assertProperty(
        import.meta.url,
        fc.property(
          damaged(storeRecord),
          damaged(remoteRecord),
          damaged(fc.maxSafeNat().map(encodeLsn)),
          damaged(hlc),
          (store, remote, lsn, clock) => {
            exactOrRefused(store, 'CODEC_MALFORMED', (b) =>
              encodeUpdates(decodeUpdates(b), b[0] === 2 ? recordClock(b) : undefined),
            )
            exactOrRefused(remote, 'CODEC_MALFORMED', (b) =>
              encodeRemoteRecord(decodeRemoteRecord(b)),
            )
            exactOrRefused(lsn, 'STORAGE_CORRUPTION', (b) => encodeLsn(decodeLsn(b)))
            exactOrRefused(clock, 'CODEC_MALFORMED', (b) => encodeHlc(decodeHlc(b)))
          },
        ),
        { numRuns: 300 },
      )
    },
  )

  it('a damaged ledger is refused with STORAGE_CORRUPTION or loads', () => {
    assertProperty(
      import.meta.url,
      fc.property(damaged(ledger), (bytes) => {
        try {
          new SyncLedger('self' as NodeId).load(bytes)
        } catch (error) {
          if (!isStarlingError(error) || error.code !== 'STORAGE_CORRUPTION') throw error
        }
      }),
    )
  })
})
