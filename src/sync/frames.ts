/**
 * Sync frames on the wire: {@link encodeFrame} and {@link decodeFrame} (header and body layouts in
 * `protocol.ts`), and the schema of every frame body below, each type's write next to its read.
 * Bodies are in lib0's encoding (varuint, varstring, varuint8array; u32 little-endian), written by
 * the core `ByteWriter` (sizes the frame first, copies each payload once) and read by the core
 * `StrictDecoder` (bounded reads, canonical varuints, declared lengths and counts checked against
 * the bytes left; see docs/ARCHITECTURE.md). Exactly one byte string decodes to a given frame, so
 * `encodeFrame(decodeFrame(bytes))` equals `bytes`, and everything `decodeFrame` refuses,
 * `encodeFrame` refuses too.
 */
import { assert } from '../core/assert.js'
import { ByteWriter } from '../core/byte-writer.js'
import { describeValue as describe } from '../core/describe.js'
import { invalidArgument } from '../core/errors.js'
import { isNodeId } from '../core/ids.js'
import type { NodeId } from '../core/ids.js'
import { HLC_LIMITS } from '../core/limits.js'
import { StrictDecoder } from '../core/strict-decoder.js'
import { KEY_LENGTH_MAX } from '../store/keys.js'
import {
  awarenessTooLarge,
  checkFrameHeader,
  frameError,
  resolveLimits,
  tooLarge,
  writeFrameHeader,
} from './frame-header.js'
import type { FrameLimits } from './frame-header.js'
import { FRAME_HEADER_BYTES, FRAME_TYPE } from './protocol.js'
import type {
  AckFrame,
  AwarenessFrame,
  CatchUpDataFrame,
  CatchUpOfferFrame,
  CatchUpRequestFrame,
  DocSummary,
  Envelope,
  ErrorFrame,
  Frame,
  FrameTypeName,
  HelloFrame,
  LogEntry,
  RecordsFrame,
  ResumeFrame,
  WireHlc,
} from './protocol.js'

export { FRAME_LENGTH_PREFIX_BYTES, peekFrameLength } from './frame-header.js'
export type { FrameLimits } from './frame-header.js'

// ---------------------------------------------------------------------------------------------
// Whole frames

/**
 * Encodes a frame. Throws `INVALID_ARGUMENT` (a `TypeError`) for a frame {@link decodeFrame}
 * would refuse (unknown type, a number out of range, an invalid node id or key, a lone surrogate,
 * entries out of LSN order …) and `SYNC_FRAME_TOO_LARGE` when the frame would exceed
 * `frameBytesMax` or an awareness update exceeds `awarenessBytesMax`, before allocating anything.
 */
export function encodeFrame(frame: Frame, limits: FrameLimits = {}): Uint8Array {
  const resolved = resolveLimits(limits)
  const type = frameTypeOf(frame)
  const body = BODIES[frame.type] as BodyCodec<Frame>
  // Two passes of the same code: the first validates and measures, the second writes into one
  // buffer of the exact size, so each payload is copied once (lib0's growing encoder copies twice
  // and was several times slower on RECORDS frames of thousands of envelopes).
  const sizer = new ByteWriter(undefined, FRAME_HEADER_BYTES)
  body.write(sizer, frame, resolved)
  if (sizer.pos > resolved.frameBytesMax) {
    throw tooLarge(frame.type, sizer.pos, resolved.frameBytesMax)
  }
  const bytes = new Uint8Array(sizer.pos)
  const writer = new ByteWriter(bytes, FRAME_HEADER_BYTES)
  body.write(writer, frame, resolved)
  assert(writer.pos === bytes.length, 'a frame changed while it was being encoded')
  writeFrameHeader(bytes, type)
  return bytes
}

/** The wire type number of a frame; throws `INVALID_ARGUMENT` for anything but a frame. */
export function frameTypeOf(frame: Frame): number {
  const name: unknown = typeof frame === 'object' && frame !== null ? frame.type : undefined
  if (typeof name === 'string' && Object.hasOwn(FRAME_TYPE, name)) {
    return FRAME_TYPE[name as FrameTypeName]
  }
  throw invalidArgument(`not a sync frame: type ${describe(name)}`)
}

/**
 * Decodes one whole frame. Every refusal is a `StarlingError` (never another exception):
 * - `SYNC_FRAME_MALFORMED`: shorter than a header, bad magic, nonzero flags, a length that does
 *   not match the header, an unknown type, or a body that does not decode exactly (truncated,
 *   trailing bytes, overlong or unsafe varuints, invalid UTF-8, a bad node id or key, entry LSNs
 *   not strictly increasing inside `(fromLsn, toLsn]`, counts the remaining bytes cannot hold, a
 *   `last` byte other than 0/1, HLC fields out of range). Details: `frameType`, `offset`.
 * - `SYNC_PROTOCOL_VERSION`: header version other than `SYNC_PROTOCOL_VERSION` (checked before
 *   the CRC: another version may lay out everything after its version byte differently).
 * - `SYNC_FRAME_TOO_LARGE`: the declared or actual frame size exceeds `frameBytesMax` (checked
 *   before anything past the header is read), or an awareness update exceeds `awarenessBytesMax`
 *   (a size limit, hence this code rather than MALFORMED).
 * - `SYNC_FRAME_CHECKSUM`: the CRC32C does not match.
 *
 * Byte arrays in the result (payloads, state vectors, updates) are views into `bytes`, not
 * copies: keep `bytes` unmodified for as long as the frame is in use.
 */
export function decodeFrame(bytes: Uint8Array, limits: FrameLimits = {}): Frame {
  if (!(bytes instanceof Uint8Array)) throw invalidArgument('decodeFrame expects a Uint8Array')
  const resolved = resolveLimits(limits)
  const frameType = checkFrameHeader(bytes, resolved.frameBytesMax)
  // Offsets in body errors are offsets in the whole frame.
  const fail = (reason: string, offset: number) =>
    frameError('SYNC_FRAME_MALFORMED', `malformed ${frameType} frame: ${reason}`, {
      frameType,
      offset,
    })
  const reader = new StrictDecoder(bytes, fail, FRAME_HEADER_BYTES)
  const frame = BODIES[frameType].read(reader, resolved)
  reader.end()
  return frame
}

// ---------------------------------------------------------------------------------------------
// The schema: each body's write and read side by side (all numbers varuints unless marked)

/** One frame type's body; `write` refuses (`INVALID_ARGUMENT`) whatever `read` would refuse. */
interface BodyCodec<F extends Frame> {
  write(w: ByteWriter, frame: F, limits: Required<FrameLimits>): void
  read(r: StrictDecoder, limits: Required<FrameLimits>): F
}

type FrameOf<K extends FrameTypeName> = Extract<Frame, { type: K }>

// Fewest bytes one list item can take, so a count is checked against the bytes left before any
// loop runs: a lying count fails at once instead of after reading (or allocating) for it.
const ENTRY_BYTES_MIN = 2 // lsn, envelope count
const ENVELOPE_BYTES_MIN = 10 // origin (2), originLsn, wallMs, counter, payload length, crc (4)
const OFFER_DOC_BYTES_MIN = 7 // key (2), state vector length, hash (4)
const DOC_BYTES_MIN = 3 // key (2), state vector or update length

/** hello: protocolVersion | varstring nodeId | lastLsn */
const hello: BodyCodec<HelloFrame> = {
  write(w, frame) {
    w.varuint(uintArg(frame.protocolVersion, 'hello.protocolVersion'))
    w.ascii(nodeIdArg(frame.nodeId, 'hello.nodeId'))
    w.varuint(uintArg(frame.lastLsn, 'hello.lastLsn'))
  },
  read: (r) => ({
    type: 'hello',
    protocolVersion: r.varuint(),
    nodeId: r.nodeId(),
    lastLsn: r.varuint(),
  }),
}

/** resume, ack: cursor */
function cursorBody<K extends 'resume' | 'ack'>(type: K): BodyCodec<FrameOf<K>> {
  const codec: BodyCodec<ResumeFrame | AckFrame> = {
    write: (w, frame) => w.varuint(uintArg(frame.cursor, `${type}.cursor`)),
    read: (r) => ({ type, cursor: r.varuint() }),
  }
  return codec as BodyCodec<FrameOf<K>>
}

/** records: fromLsn | toLsn | count | count × (lsn | count | count × envelope) */
const records: BodyCodec<RecordsFrame> = {
  write(w, frame) {
    const fromLsn = uintArg(frame.fromLsn, 'records.fromLsn')
    const toLsn = uintArg(frame.toLsn, 'records.toLsn')
    if (toLsn < fromLsn) throw invalidArgument(`records.toLsn ${toLsn} is below fromLsn ${fromLsn}`)
    const entries = listArg(frame.entries, 'records.entries')
    w.varuint(fromLsn)
    w.varuint(toLsn)
    w.varuint(entries.length)
    let previous = fromLsn
    for (const value of entries) {
      const entry = objectArg<LogEntry>(value, 'records entry')
      const lsn = uintArg(entry.lsn, 'entry.lsn')
      if (lsn <= previous || lsn > toLsn) {
        throw invalidArgument(`entry LSN ${lsn} is not in (${previous}, ${toLsn}]`)
      }
      previous = lsn
      const envelopes = listArg(entry.envelopes, 'entry.envelopes')
      w.varuint(lsn)
      w.varuint(envelopes.length)
      for (const envelope of envelopes) writeEnvelope(w, envelope)
    }
  },
  read(r) {
    const fromLsn = r.varuint()
    const toLsn = r.varuint()
    if (toLsn < fromLsn) throw r.fail(`toLsn ${toLsn} is below fromLsn ${fromLsn}`)
    const entries: LogEntry[] = []
    let previous = fromLsn
    for (let i = r.count(ENTRY_BYTES_MIN); i > 0; i--) {
      const start = r.pos
      const lsn = r.varuint()
      if (lsn <= previous || lsn > toLsn) {
        throw r.fail(`entry LSN ${lsn} is not in (${previous}, ${toLsn}]`, start)
      }
      previous = lsn
      const envelopes: Envelope[] = []
      for (let j = r.count(ENVELOPE_BYTES_MIN); j > 0; j--) envelopes.push(readEnvelope(r))
      entries.push({ lsn, envelopes })
    }
    return { type: 'records', fromLsn, toLsn, entries }
  },
}

/** envelope: varstring origin | originLsn | wallMs | counter | varuint8array payload | u32 LE crc */
function writeEnvelope(w: ByteWriter, value: unknown): void {
  const envelope = objectArg<Envelope>(value, 'envelope')
  const hlc = objectArg<WireHlc>(envelope.hlc, 'envelope.hlc')
  w.ascii(nodeIdArg(envelope.origin, 'envelope.origin'))
  w.varuint(uintArg(envelope.originLsn, 'envelope.originLsn'))
  w.varuint(uintArg(hlc.wallMs, 'hlc.wallMs', HLC_LIMITS.wallMsMax))
  w.varuint(uintArg(hlc.counter, 'hlc.counter', HLC_LIMITS.counterMax))
  w.bytes(bytesArg(envelope.payload, 'envelope.payload'))
  w.u32(uintArg(envelope.crc, 'envelope.crc', 0xffffffff))
}

function readEnvelope(r: StrictDecoder): Envelope {
  const origin = r.nodeId()
  const originLsn = r.varuint()
  const wallMs = r.varuint(HLC_LIMITS.wallMsMax)
  const counter = r.varuint(HLC_LIMITS.counterMax)
  return { origin, originLsn, hlc: { wallMs, counter }, payload: r.bytes(), crc: r.u32() }
}

/**
 * catchUpOffer: round | upTo | u8 last | count
 *               | count × (varstring key | varuint8array stateVector | u32 LE deleteSetHash)
 */
const catchUpOffer: BodyCodec<CatchUpOfferFrame> = {
  write(w, frame) {
    for (const value of writeRound(w, frame)) {
      const doc = docArg(value)
      writeDocKey(w, doc.key)
      w.bytes(bytesArg(doc.stateVector, 'doc.stateVector'))
      w.u32(uintArg(doc.deleteSetHash, 'doc.deleteSetHash', 0xffffffff))
    }
  },
  read(r) {
    const round = r.varuint()
    const upTo = r.varuint()
    const last = r.flag()
    const docs: DocSummary[] = []
    for (let i = r.count(OFFER_DOC_BYTES_MIN); i > 0; i--) {
      docs.push({ key: readDocKey(r), stateVector: r.bytes(), deleteSetHash: r.u32() })
    }
    return { type: 'catchUpOffer', round, upTo, last, docs }
  },
}

/** catchUpRequest: round | u8 last | count | count × (varstring key | varuint8array stateVector) */
const catchUpRequest: BodyCodec<CatchUpRequestFrame> = {
  write(w, frame) {
    for (const value of writeRound(w, frame)) {
      const doc = docArg(value)
      writeDocKey(w, doc.key)
      w.bytes(bytesArg(doc.stateVector, 'doc.stateVector'))
    }
  },
  read(r) {
    const round = r.varuint()
    const last = r.flag()
    const docs: CatchUpRequestFrame['docs'] = []
    for (let i = r.count(DOC_BYTES_MIN); i > 0; i--) {
      docs.push({ key: readDocKey(r), stateVector: r.bytes() })
    }
    return { type: 'catchUpRequest', round, last, docs }
  },
}

/** catchUpData: round | upTo | u8 last | count | count × (varstring key | varuint8array update) */
const catchUpData: BodyCodec<CatchUpDataFrame> = {
  write(w, frame) {
    for (const value of writeRound(w, frame)) {
      const doc = docArg(value)
      writeDocKey(w, doc.key)
      w.bytes(bytesArg(doc.update, 'doc.update'))
    }
  },
  read(r) {
    const round = r.varuint()
    const upTo = r.varuint()
    const last = r.flag()
    const docs: CatchUpDataFrame['docs'] = []
    for (let i = r.count(DOC_BYTES_MIN); i > 0; i--) {
      docs.push({ key: readDocKey(r), update: r.bytes() })
    }
    return { type: 'catchUpData', round, upTo, last, docs }
  },
}

type DocFields = { key: unknown; stateVector?: unknown; update?: unknown; deleteSetHash?: unknown }
type RoundFrame = CatchUpOfferFrame | CatchUpRequestFrame | CatchUpDataFrame

/** Writes a catch-up frame's head (round, upTo except in requests, last, doc count): its docs. */

function writeRound(w: ByteWriter, frame: RoundFrame): readonly unknown[] {
  w.varuint(uintArg(frame.round, 'catch-up round'))
  if (frame.type !== 'catchUpRequest') w.varuint(uintArg(frame.upTo, 'catch-up upTo'))
  w.u8(flagArg(frame.last, 'catch-up last'))
  const docs = listArg(frame.docs, 'catch-up docs')
  w.varuint(docs.length)
  return docs
}

function docArg(value: unknown): DocFields {
  return objectArg<DocFields>(value, 'catch-up doc')
}

function writeDocKey(w: ByteWriter, value: unknown): void {
  const key = stringArg(value, 'doc.key')
  if (key.length === 0 || key.length > KEY_LENGTH_MAX) {
    throw invalidArgument(`doc.key must have 1–${KEY_LENGTH_MAX} characters, got ${key.length}`)
  }
  w.text(key, 'doc.key')
}

function readDocKey(r: StrictDecoder): string {
  const start = r.pos
  const key = r.string()
  if (key.length === 0 || key.length > KEY_LENGTH_MAX) {
    throw r.fail(`document key of ${key.length} characters`, start)
  }
  return key
}

/** awareness: varuint8array update (at most `awarenessBytesMax`) */
const awareness: BodyCodec<AwarenessFrame> = {
  write(w, frame, { awarenessBytesMax }) {
    const update = bytesArg(frame.update, 'awareness.update')
    if (update.length > awarenessBytesMax) throw awarenessTooLarge(update.length, awarenessBytesMax)
    w.bytes(update)
  },
  read(r, { awarenessBytesMax }) {
    const update = r.bytes()
    if (update.length > awarenessBytesMax) throw awarenessTooLarge(update.length, awarenessBytesMax)
    return { type: 'awareness', update }
  },
}

/**
 * An error frame's code: an upper-case identifier like the codes of `errors.ts`, at most 64
 * characters, so a hostile peer cannot put arbitrary text where logs expect a code.
 */
const ERROR_CODE_PATTERN = /^[A-Z][A-Z0-9_]{0,63}$/

/** error: varstring code | varstring message */
const error: BodyCodec<ErrorFrame> = {
  write(w, frame) {
    if (typeof frame.code !== 'string' || !ERROR_CODE_PATTERN.test(frame.code)) {
      throw invalidArgument(`error.code must match ${String(ERROR_CODE_PATTERN)}`)
    }
    w.ascii(frame.code)
    w.text(stringArg(frame.message, 'error.message'), 'error.message')
  },
  read(r) {
    const start = r.pos
    const code = r.string()
    if (!ERROR_CODE_PATTERN.test(code)) throw r.fail('error code is not a code', start)
    return { type: 'error', code, message: r.string() }
  },
}

const BODIES: { readonly [K in FrameTypeName]: BodyCodec<FrameOf<K>> } = {
  hello,
  resume: cursorBody('resume'),
  records,
  ack: cursorBody('ack'),
  catchUpOffer,
  catchUpRequest,
  catchUpData,
  awareness,
  error,
}

// ---------------------------------------------------------------------------------------------
// Checks of frames handed to encodeFrame (they may come from untyped code)

function uintArg(value: unknown, name: string, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= max) {
    return value
  }
  throw invalidArgument(`${name} must be an integer in [0, ${max}], got ${describe(value)}`)
}

function flagArg(value: unknown, name: string): number {
  if (typeof value !== 'boolean') throw invalidArgument(`${name} must be a boolean`)
  return value ? 1 : 0
}

function bytesArg(value: unknown, name: string): Uint8Array {
  if (value instanceof Uint8Array) return value
  throw invalidArgument(`${name} must be a Uint8Array, got ${describe(value)}`)
}

function listArg(value: unknown, name: string): readonly unknown[] {
  if (Array.isArray(value)) return value
  throw invalidArgument(`${name} must be an array, got ${describe(value)}`)
}

function objectArg<T>(value: unknown, name: string): T {
  if (typeof value === 'object' && value !== null) return value as T
  throw invalidArgument(`${name} must be an object, got ${describe(value)}`)
}

function stringArg(value: unknown, name: string): string {
  if (typeof value === 'string') return value
  throw invalidArgument(`${name} must be a string, got ${describe(value)}`)
}

function nodeIdArg(value: unknown, name: string): NodeId {
  if (isNodeId(value)) return value
  throw invalidArgument(`${name} must be a node id, got ${describe(value)}`)
}
