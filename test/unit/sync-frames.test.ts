import * as decoding from 'lib0/decoding'
import * as encoding from 'lib0/encoding'
import { describe, expect, it } from 'vitest'

import { CRC32C_INIT, crc32cFinish, crc32cUpdate } from '../../src/core/crc32c.js'
import { StarlingError } from '../../src/core/errors.js'
import type { ErrorCode } from '../../src/core/errors.js'
import { toNodeId } from '../../src/core/ids.js'
import { HLC_LIMITS } from '../../src/core/limits.js'
import { KEY_LENGTH_MAX, REGISTRY_KEY } from '../../src/store/keys.js'
import {
  decodeFrame,
  encodeFrame,
  frameTypeOf,
  peekFrameLength,
  FRAME_LENGTH_PREFIX_BYTES,
} from '../../src/sync/frames.js'
import {
  FRAME_HEADER_BYTES,
  FRAME_MAGIC,
  FRAME_TYPE,
  SYNC_LIMITS,
  SYNC_PROTOCOL_VERSION,
} from '../../src/sync/protocol.js'
import type { Envelope, Frame, RecordsFrame } from '../../src/sync/protocol.js'
import { expectInvalidArgument, thrown } from '../support/errors.js'
import { compareBytesAsBytes } from '../support/bytes.js'

compareBytesAsBytes()

const MAX = Number.MAX_SAFE_INTEGER
const alice = toNodeId('alice')

function envelope(origin: string, originLsn: number, payload: Uint8Array): Envelope {
  return {
    origin: toNodeId(origin),
    originLsn,
    hlc: { wallMs: 1_700_000_000_000, counter: 3 },
    payload,
    crc: 0xdeadbeef,
  }
}

/** One or more frames of every type, including edge values. */
const SAMPLES: Frame[] = [
  { type: 'hello', protocolVersion: SYNC_PROTOCOL_VERSION, nodeId: alice, lastLsn: 0 },
  { type: 'hello', protocolVersion: 7, nodeId: toNodeId('x'.repeat(64)), lastLsn: MAX },
  { type: 'resume', cursor: 0 },
  { type: 'resume', cursor: MAX },
  { type: 'ack', cursor: 128 },
  { type: 'ack', cursor: 2 ** 32 },
  { type: 'records', fromLsn: 0, toLsn: 0, entries: [] },
  { type: 'records', fromLsn: 5, toLsn: 900, entries: [] },
  {
    type: 'records',
    fromLsn: 10,
    toLsn: 20,
    entries: [
      { lsn: 11, envelopes: [envelope('alice', 1, new Uint8Array([1, 2, 3]))] },
      { lsn: 12, envelopes: [] },
      {
        lsn: 20,
        envelopes: [
          envelope('bob-2_B', 7, new Uint8Array()),
          {
            origin: alice,
            originLsn: MAX,
            hlc: { wallMs: HLC_LIMITS.wallMsMax, counter: HLC_LIMITS.counterMax },
            payload: new Uint8Array([0]),
            crc: 0xffffffff,
          },
        ],
      },
    ],
  },
  {
    type: 'records',
    fromLsn: MAX - 2,
    toLsn: MAX,
    entries: [{ lsn: MAX, envelopes: [envelope('z', 0, new Uint8Array([9]))] }],
  },
  { type: 'catchUpOffer', round: 0, upTo: 0, docs: [], last: true },
  {
    type: 'catchUpOffer',
    round: 3,
    upTo: MAX,
    last: false,
    docs: [
      { key: 'notes/1', stateVector: new Uint8Array([1, 2]), deleteSetHash: 0 },
      { key: REGISTRY_KEY, stateVector: new Uint8Array(), deleteSetHash: 0xffffffff },
      { key: 'ключ 🗝️', stateVector: new Uint8Array([0]), deleteSetHash: 12345 },
    ],
  },
  { type: 'catchUpRequest', round: 1, docs: [], last: false },
  {
    type: 'catchUpRequest',
    round: 2,
    last: true,
    docs: [
      { key: '\uFEFFstarts with a BOM', stateVector: new Uint8Array([4]) },
      { key: 'k'.repeat(KEY_LENGTH_MAX), stateVector: new Uint8Array(300) },
    ],
  },
  { type: 'catchUpData', round: 0, upTo: 1, docs: [], last: true },
  {
    type: 'catchUpData',
    round: 9,
    upTo: 44,
    last: false,
    docs: [{ key: 'a', update: new Uint8Array([1, 0, 1]) }],
  },
  { type: 'awareness', update: new Uint8Array() },
  { type: 'awareness', update: new Uint8Array(SYNC_LIMITS.awarenessBytesMax).fill(7) },
  { type: 'error', code: 'SYNC_FRAME_CHECKSUM', message: '' },
  { type: 'error', code: 'X', message: 'élan — 💥 and a\nnewline' },
]

function expectCode(fn: () => unknown, code: ErrorCode): StarlingError {
  const error = thrown(fn)
  expect(error).toBeInstanceOf(StarlingError)
  expect((error as StarlingError).code).toBe(code)
  return error as StarlingError
}

/** A frame with a correct header and CRC around any body (to reach the body checks). */
function rawFrame(type: number, write: (e: encoding.Encoder) => void): Uint8Array {
  const e = encoding.createEncoder()
  write(e)
  const body = encoding.toUint8Array(e)
  const bytes = new Uint8Array(FRAME_HEADER_BYTES + body.length)
  bytes.set([FRAME_MAGIC, SYNC_PROTOCOL_VERSION, type, 0])
  new DataView(bytes.buffer).setUint32(4, body.length, true)
  bytes.set(body, FRAME_HEADER_BYTES)
  return recrc(bytes)
}

/** Rewrites the header CRC so that a deliberately damaged frame passes the checksum. */
function recrc(bytes: Uint8Array): Uint8Array {
  const state = crc32cUpdate(CRC32C_INIT, bytes, 0, 8)
  const crc = crc32cFinish(crc32cUpdate(state, bytes, FRAME_HEADER_BYTES))
  new DataView(bytes.buffer, bytes.byteOffset).setUint32(8, crc, true)
  return bytes
}

function writeUints(e: encoding.Encoder, ...values: number[]): void {
  for (const value of values) encoding.writeVarUint(e, value)
}

function malformed(type: number, write: (e: encoding.Encoder) => void): StarlingError {
  return expectCode(() => decodeFrame(rawFrame(type, write)), 'SYNC_FRAME_MALFORMED')
}

describe('sync frames: round trip', () => {
  it.each(SAMPLES.map((frame, i) => [`${i} ${frame.type}`, frame] as const))(
    '%s decodes to the same frame and re-encodes to the same bytes',
    (_, frame) => {
      const bytes = encodeFrame(frame)
      const decoded = decodeFrame(bytes)
      expect(decoded).toEqual(frame)
      expect(encodeFrame(decoded)).toEqual(bytes)
    },
  )

  it('covers every frame type', () => {
    expect(new Set(SAMPLES.map((f) => f.type))).toEqual(new Set(Object.keys(FRAME_TYPE)))
  })

  it('writes the header of protocol.ts and a lib0 body', () => {
    const bytes = encodeFrame({ type: 'hello', protocolVersion: 1, nodeId: alice, lastLsn: 300 })
    const view = new DataView(bytes.buffer, bytes.byteOffset)
    expect([...bytes.subarray(0, 4)]).toEqual([0xa7, 1, FRAME_TYPE.hello, 0])
    expect(view.getUint32(4, true)).toBe(bytes.length - FRAME_HEADER_BYTES)
    const crc = crc32cFinish(
      crc32cUpdate(crc32cUpdate(CRC32C_INIT, bytes, 0, 8), bytes, FRAME_HEADER_BYTES),
    )
    expect(view.getUint32(8, true)).toBe(crc)
    const d = decoding.createDecoder(bytes.subarray(FRAME_HEADER_BYTES))
    expect(decoding.readVarUint(d)).toBe(1)
    expect(decoding.readVarString(d)).toBe('alice')
    expect(decoding.readVarUint(d)).toBe(300)
    expect(decoding.hasContent(d)).toBe(false)
  })

  it('reads bodies written with lib0 (u32 fields little-endian)', () => {
    const bytes = rawFrame(FRAME_TYPE.catchUpOffer, (e) => {
      encoding.writeVarUint(e, 4)
      encoding.writeVarUint(e, MAX)
      encoding.writeUint8(e, 1)
      encoding.writeVarUint(e, 1)
      encoding.writeVarString(e, 'doc')
      encoding.writeVarUint8Array(e, new Uint8Array([5, 6]))
      encoding.writeUint32(e, 0x01020304)
    })
    expect(bytes.at(-4)).toBe(0x04)
    expect(decodeFrame(bytes)).toEqual({
      type: 'catchUpOffer',
      round: 4,
      upTo: MAX,
      last: true,
      docs: [{ key: 'doc', stateVector: new Uint8Array([5, 6]), deleteSetHash: 0x01020304 }],
    })
  })

  it('carries a payload of more than 1 MiB; decoded payloads are views into the input', () => {
    const payload = new Uint8Array(1024 * 1024 + 17)
    for (let i = 0; i < payload.length; i++) payload[i] = (i * 31) & 0xff
    const frame: RecordsFrame = {
      type: 'records',
      fromLsn: 1,
      toLsn: 2,
      entries: [{ lsn: 2, envelopes: [envelope('alice', 2, payload)] }],
    }
    const bytes = encodeFrame(frame)
    const decoded = decodeFrame(bytes) as RecordsFrame
    expect(decoded).toEqual(frame)
    const got = decoded.entries[0]?.envelopes[0]?.payload
    expect(got?.buffer).toBe(bytes.buffer)
  })

  it('decodes a frame lying inside a larger buffer', () => {
    const bytes = encodeFrame(SAMPLES[8] as Frame)
    const buffer = new Uint8Array(bytes.length + 10).fill(0xee)
    buffer.set(bytes, 5)
    expect(decodeFrame(buffer.subarray(5, 5 + bytes.length))).toEqual(SAMPLES[8])
  })

  it('frameTypeOf gives the wire number; peekFrameLength the total length', () => {
    for (const frame of SAMPLES) {
      const bytes = encodeFrame(frame)
      expect(frameTypeOf(frame)).toBe(FRAME_TYPE[frame.type])
      expect(bytes[2]).toBe(FRAME_TYPE[frame.type])
      for (let n = 0; n < FRAME_LENGTH_PREFIX_BYTES; n++) {
        expect(peekFrameLength(bytes.subarray(0, n))).toBeUndefined()
      }
      expect(peekFrameLength(bytes.subarray(0, FRAME_LENGTH_PREFIX_BYTES))).toBe(bytes.length)
      expect(peekFrameLength(bytes)).toBe(bytes.length)
    }
  })
})

describe('sync frames: header errors', () => {
  const good = (): Uint8Array => encodeFrame({ type: 'ack', cursor: 42 })

  it('refuses input shorter than a header', () => {
    for (let n = 0; n < FRAME_HEADER_BYTES; n++) {
      expectCode(() => decodeFrame(good().subarray(0, n)), 'SYNC_FRAME_MALFORMED')
    }
  })

  it('refuses a bad magic byte, also in peekFrameLength before the length arrives', () => {
    const bytes = good()
    bytes[0] = 0xa8
    expect(expectCode(() => decodeFrame(bytes), 'SYNC_FRAME_MALFORMED').details).toMatchObject({
      offset: 0,
    })
    expectCode(() => peekFrameLength(bytes.subarray(0, 1)), 'SYNC_FRAME_MALFORMED')
  })

  it('refuses protocol version 2 with SYNC_PROTOCOL_VERSION', () => {
    const bytes = good()
    bytes[1] = 2
    const error = expectCode(() => decodeFrame(recrc(bytes)), 'SYNC_PROTOCOL_VERSION')
    expect(error.details).toMatchObject({ version: 2, supportedVersion: 1 })
    expectCode(() => peekFrameLength(bytes.subarray(0, 2)), 'SYNC_PROTOCOL_VERSION')
  })

  it('refuses nonzero flags', () => {
    const bytes = good()
    bytes[3] = 0x80
    expectCode(() => decodeFrame(recrc(bytes)), 'SYNC_FRAME_MALFORMED')
  })

  it('refuses a declared length of 0xFFFFFFFF from the header alone', () => {
    const header = good().subarray(0, FRAME_HEADER_BYTES)
    new DataView(header.buffer, header.byteOffset).setUint32(4, 0xffffffff, true)
    const error = expectCode(() => decodeFrame(header), 'SYNC_FRAME_TOO_LARGE')
    expect(error.details).toMatchObject({
      length: FRAME_HEADER_BYTES + 0xffffffff,
      frameBytesMax: SYNC_LIMITS.frameBytesMax,
    })
    expectCode(() => peekFrameLength(header.subarray(0, 8)), 'SYNC_FRAME_TOO_LARGE')
  })

  it('applies frameBytesMax to the declared and the actual length, both ways', () => {
    const frame: Frame = { type: 'awareness', update: new Uint8Array(100) }
    const bytes = encodeFrame(frame)
    expect(decodeFrame(bytes, { frameBytesMax: bytes.length })).toEqual(frame)
    expectCode(
      () => decodeFrame(bytes, { frameBytesMax: bytes.length - 1 }),
      'SYNC_FRAME_TOO_LARGE',
    )
    expectCode(
      () => encodeFrame(frame, { frameBytesMax: bytes.length - 1 }),
      'SYNC_FRAME_TOO_LARGE',
    )
    // A short declared length but too many actual bytes.
    const long = new Uint8Array(bytes.length + 50)
    long.set(bytes)
    expectCode(() => decodeFrame(long, { frameBytesMax: bytes.length }), 'SYNC_FRAME_TOO_LARGE')
  })

  it('refuses a length that does not match the header', () => {
    const bytes = good()
    expectCode(() => decodeFrame(bytes.subarray(0, bytes.length - 1)), 'SYNC_FRAME_MALFORMED')
    const longer = new Uint8Array(bytes.length + 1)
    longer.set(bytes)
    const error = expectCode(() => decodeFrame(longer), 'SYNC_FRAME_MALFORMED')
    expect(error.details).toMatchObject({ length: bytes.length + 1, declaredLength: bytes.length })
  })

  it('refuses a flipped bit anywhere the CRC covers, and a flipped stored CRC', () => {
    const bytes = encodeFrame(SAMPLES[8] as Frame)
    for (const at of [2, 8, 11, FRAME_HEADER_BYTES, bytes.length - 1]) {
      const copy = bytes.slice()
      copy[at] = (copy[at] as number) ^ 0x10
      expectCode(() => decodeFrame(copy), 'SYNC_FRAME_CHECKSUM')
    }
  })

  it('refuses unknown frame types even with a valid CRC', () => {
    for (const type of [0, 10, 255]) {
      const error = malformed(type, (e) => encoding.writeVarUint(e, 1))
      expect(error.details).toMatchObject({ frameType: type, offset: 2 })
    }
  })

  it('treats a non-Uint8Array input or bad limits as misuse', () => {
    expectInvalidArgument(() => decodeFrame([0xa7] as unknown as Uint8Array))
    expectInvalidArgument(() => decodeFrame(good(), { frameBytesMax: 11 }))
    expectInvalidArgument(() => encodeFrame({ type: 'ack', cursor: 1 }, { frameBytesMax: 2 ** 40 }))
    expectInvalidArgument(() => peekFrameLength(good(), { awarenessBytesMax: -1 }))
  })
})

describe('sync frames: body errors', () => {
  const hello = (nodeId: string) =>
    malformed(FRAME_TYPE.hello, (e) => {
      encoding.writeVarUint(e, 1)
      encoding.writeVarString(e, nodeId)
      encoding.writeVarUint(e, 0)
    })

  it('refuses trailing bytes', () => {
    const error = malformed(FRAME_TYPE.ack, (e) => {
      encoding.writeVarUint(e, 5)
      encoding.writeUint8(e, 0)
    })
    expect(error.details).toMatchObject({ frameType: 'ack', offset: FRAME_HEADER_BYTES + 1 })
  })

  it('refuses an empty body and a body ending inside a field', () => {
    malformed(FRAME_TYPE.resume, () => {})
    malformed(FRAME_TYPE.resume, (e) => encoding.writeUint8(e, 0x80))
    malformed(FRAME_TYPE.catchUpOffer, (e) => {
      writeUints(e, 1, 1, 0, 1)
      encoding.writeVarString(e, 'key')
      encoding.writeVarUint8Array(e, new Uint8Array(1))
      encoding.writeUint8(e, 0) // 1 of 4 hash bytes
    })
  })

  it('refuses node ids that are not node ids', () => {
    for (const id of ['', 'has space', 'ü', 'x'.repeat(65), 'x'.repeat(300)]) hello(id)
  })

  it('refuses varuints that are overlong, longer than 8 bytes or past 2^53 − 1', () => {
    const body = (bytes: number[]) =>
      malformed(FRAME_TYPE.ack, (e) => encoding.writeUint8Array(e, new Uint8Array(bytes)))
    expect(body([0x80, 0x00]).message).toContain('overlong')
    expect(body([0x81, 0x80, 0x00]).message).toContain('overlong')
    expect(body([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]).message).toContain(
      '8 bytes',
    )
    expect(body([0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x10]).message).toContain('exceeds') // 2^53
    const max = rawFrame(FRAME_TYPE.ack, (e) => encoding.writeVarUint(e, MAX))
    expect(decodeFrame(max)).toEqual({ type: 'ack', cursor: MAX })
  })

  it('refuses a last byte other than 0 or 1', () => {
    malformed(FRAME_TYPE.catchUpRequest, (e) => {
      encoding.writeVarUint(e, 0)
      encoding.writeUint8(e, 2)
      encoding.writeVarUint(e, 0)
    })
  })

  const records = (fromLsn: number, toLsn: number, lsns: number[], origin = 'alice') =>
    rawFrame(FRAME_TYPE.records, (e) => {
      encoding.writeVarUint(e, fromLsn)
      encoding.writeVarUint(e, toLsn)
      encoding.writeVarUint(e, lsns.length)
      for (const lsn of lsns) {
        encoding.writeVarUint(e, lsn)
        encoding.writeVarUint(e, 1)
        encoding.writeVarString(e, origin)
        writeUints(e, 1, 2, 3)
        encoding.writeVarUint8Array(e, new Uint8Array([1]))
        encoding.writeUint32(e, 0)
      }
    })

  it('accepts entry LSNs strictly increasing inside (fromLsn, toLsn] and nothing else', () => {
    expect(decodeFrame(records(3, 9, [4, 5, 9]))).toMatchObject({ fromLsn: 3, toLsn: 9 })
    for (const [from, to, lsns] of [
      [3, 9, [5, 4]], // decreasing
      [3, 9, [5, 5]], // repeated
      [3, 9, [3]], // not after fromLsn
      [3, 9, [10]], // past toLsn
      [9, 3, []], // toLsn below fromLsn
    ] as const) {
      expectCode(() => decodeFrame(records(from, to, [...lsns])), 'SYNC_FRAME_MALFORMED')
    }
    expectCode(() => decodeFrame(records(0, 1, [1], 'bad/origin')), 'SYNC_FRAME_MALFORMED')
  })

  it('refuses HLC fields out of range', () => {
    const frame = (wallMs: number, counter: number) =>
      encodeFrame({
        type: 'records',
        fromLsn: 0,
        toLsn: 1,
        entries: [
          {
            lsn: 1,
            envelopes: [{ ...envelope('a', 1, new Uint8Array()), hlc: { wallMs, counter } }],
          },
        ],
      })
    // Encode at the maxima, then bump the varuints by hand past them.
    const counter = frame(5, HLC_LIMITS.counterMax)
    const at = counter.indexOf(0xff, FRAME_HEADER_BYTES + 7) // counter varuint ff ff 03
    counter[at + 2] = 0x04
    expectCode(() => decodeFrame(recrc(counter)), 'SYNC_FRAME_MALFORMED')
    const wall = frame(HLC_LIMITS.wallMsMax, 0)
    const last = wall.indexOf(0x3f, FRAME_HEADER_BYTES) // last byte of the 48-bit varuint
    wall[last] = 0x40
    expectCode(() => decodeFrame(recrc(wall)), 'SYNC_FRAME_MALFORMED')
  })

  it('refuses counts the remaining bytes cannot hold, before looping', () => {
    const huge = [2 ** 32, MAX]
    for (const count of huge) {
      const lying = [
        malformed(FRAME_TYPE.records, (e) => writeUints(e, 0, 5, count)), // entries
        malformed(FRAME_TYPE.records, (e) => writeUints(e, 0, 5, 1, 2, count)), // envelopes
        malformed(FRAME_TYPE.catchUpOffer, (e) => writeUints(e, 0, 0, 1, count)),
        malformed(FRAME_TYPE.catchUpRequest, (e) => {
          encoding.writeVarUint(e, 0)
          encoding.writeUint8(e, 0)
          encoding.writeVarUint(e, count)
          encoding.writeUint8Array(e, new Uint8Array(64))
        }),
      ]
      for (const error of lying) expect(error.message).toContain('cannot fit')
      // Lengths of byte arrays and strings likewise.
      const awareness = malformed(FRAME_TYPE.awareness, (e) => encoding.writeVarUint(e, count))
      expect(awareness.message).toContain('runs past')
      malformed(FRAME_TYPE.error, (e) => encoding.writeVarUint(e, count))
    }
    // Just enough bytes for the claimed count (7 per offered document) still fails on content.
    malformed(FRAME_TYPE.catchUpOffer, (e) => {
      writeUints(e, 0, 0, 1, 2)
      encoding.writeUint8Array(e, new Uint8Array(14))
    })
  })

  it('refuses invalid UTF-8, empty and overlong keys, and error codes that are not codes', () => {
    const request = (write: (e: encoding.Encoder) => void) =>
      malformed(FRAME_TYPE.catchUpRequest, (e) => {
        encoding.writeVarUint(e, 0)
        encoding.writeUint8(e, 1)
        encoding.writeVarUint(e, 1)
        write(e)
        encoding.writeVarUint8Array(e, new Uint8Array())
      })
    request((e) => encoding.writeVarUint8Array(e, new Uint8Array([0xc3, 0x28])))
    request((e) => encoding.writeVarUint8Array(e, new Uint8Array([0xed, 0xa0, 0x80]))) // surrogate
    request((e) => encoding.writeVarString(e, ''))
    request((e) => encoding.writeVarString(e, 'k'.repeat(KEY_LENGTH_MAX + 1)))
    for (const code of ['lower', '', 'SPACE CODE', 'A'.repeat(65)]) {
      malformed(FRAME_TYPE.error, (e) => {
        encoding.writeVarString(e, code)
        encoding.writeVarString(e, 'message')
      })
    }
  })

  it('refuses an awareness update over awarenessBytesMax with SYNC_FRAME_TOO_LARGE', () => {
    const update = new Uint8Array(SYNC_LIMITS.awarenessBytesMax + 1)
    const bytes = rawFrame(FRAME_TYPE.awareness, (e) => encoding.writeVarUint8Array(e, update))
    expectCode(() => decodeFrame(bytes), 'SYNC_FRAME_TOO_LARGE')
    expectCode(() => encodeFrame({ type: 'awareness', update }), 'SYNC_FRAME_TOO_LARGE')
    const small = { awarenessBytesMax: 10 }
    expectCode(
      () => encodeFrame({ type: 'awareness', update: new Uint8Array(11) }, small),
      'SYNC_FRAME_TOO_LARGE',
    )
    expect(decodeFrame(bytes, { awarenessBytesMax: update.length })).toMatchObject({
      type: 'awareness',
    })
  })
})

describe('sync frames: encode refuses what decode would refuse', () => {
  const entry = (lsn: number) => ({ lsn, envelopes: [envelope('alice', 1, new Uint8Array())] })
  const bad: [string, unknown][] = [
    ['unknown type', { type: 'nope' }],
    ['prototype key as type', { type: 'toString' }],
    ['not an object', null],
    ['negative cursor', { type: 'ack', cursor: -1 }],
    ['fractional cursor', { type: 'resume', cursor: 1.5 }],
    ['NaN cursor', { type: 'ack', cursor: NaN }],
    ['unsafe cursor', { type: 'ack', cursor: 2 ** 53 }],
    ['bad node id', { type: 'hello', protocolVersion: 1, nodeId: 'a b', lastLsn: 0 }],
    ['toLsn < fromLsn', { type: 'records', fromLsn: 5, toLsn: 4, entries: [] }],
    ['decreasing LSNs', { type: 'records', fromLsn: 0, toLsn: 9, entries: [entry(3), entry(2)] }],
    ['LSN past toLsn', { type: 'records', fromLsn: 0, toLsn: 2, entries: [entry(3)] }],
    ['LSN at fromLsn', { type: 'records', fromLsn: 2, toLsn: 5, entries: [entry(2)] }],
    ['entries not an array', { type: 'records', fromLsn: 0, toLsn: 2, entries: {} }],
    [
      'bad origin',
      {
        type: 'records',
        fromLsn: 0,
        toLsn: 1,
        entries: [{ lsn: 1, envelopes: [{ ...envelope('a', 1, new Uint8Array()), origin: '' }] }],
      },
    ],
    [
      'counter over 16 bits',
      {
        type: 'records',
        fromLsn: 0,
        toLsn: 1,
        entries: [
          {
            lsn: 1,
            envelopes: [
              { ...envelope('a', 1, new Uint8Array()), hlc: { wallMs: 0, counter: 65536 } },
            ],
          },
        ],
      },
    ],
    [
      'crc over 32 bits',
      {
        type: 'records',
        fromLsn: 0,
        toLsn: 1,
        entries: [{ lsn: 1, envelopes: [{ ...envelope('a', 1, new Uint8Array()), crc: 2 ** 32 }] }],
      },
    ],
    [
      'payload not bytes',
      {
        type: 'records',
        fromLsn: 0,
        toLsn: 1,
        entries: [{ lsn: 1, envelopes: [{ ...envelope('a', 1, new Uint8Array()), payload: [1] }] }],
      },
    ],
    ['last not boolean', { type: 'catchUpRequest', round: 0, last: 1, docs: [] }],
    [
      'empty key',
      {
        type: 'catchUpData',
        round: 0,
        upTo: 0,
        last: true,
        docs: [{ key: '', update: new Uint8Array() }],
      },
    ],
    [
      'key too long',
      {
        type: 'catchUpData',
        round: 0,
        upTo: 0,
        last: true,
        docs: [{ key: 'k'.repeat(KEY_LENGTH_MAX + 1), update: new Uint8Array() }],
      },
    ],
    [
      'lone surrogate in key',
      {
        type: 'catchUpRequest',
        round: 0,
        last: true,
        docs: [{ key: 'a\uD800b', stateVector: new Uint8Array() }],
      },
    ],
    [
      'hash over 32 bits',
      {
        type: 'catchUpOffer',
        round: 0,
        upTo: 0,
        last: true,
        docs: [{ key: 'k', stateVector: new Uint8Array(), deleteSetHash: -1 }],
      },
    ],
    ['lone surrogate in message', { type: 'error', code: 'X', message: '\uDC00' }],
    ['error code not a code', { type: 'error', code: 'not a code', message: '' }],
    ['awareness not bytes', { type: 'awareness', update: 'hi' }],
  ]
  it.each(bad)('%s → INVALID_ARGUMENT', (_, frame) => {
    expectInvalidArgument(() => encodeFrame(frame as Frame))
  })

  it('accepts well-formed surrogate pairs', () => {
    const frame: Frame = { type: 'error', code: 'X', message: '\uD83D\uDCA5' }
    expect(decodeFrame(encodeFrame(frame))).toEqual(frame)
  })

  it('refuses an oversized payload before copying it', () => {
    const frame: RecordsFrame = {
      type: 'records',
      fromLsn: 0,
      toLsn: 1,
      entries: [{ lsn: 1, envelopes: [envelope('a', 1, new Uint8Array(2000))] }],
    }
    const error = expectCode(
      () => encodeFrame(frame, { frameBytesMax: 1000 }),
      'SYNC_FRAME_TOO_LARGE',
    )
    expect(error.details).toMatchObject({ frameType: 'records', frameBytesMax: 1000 })
  })
})
