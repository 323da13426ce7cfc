/**
 * Sync frames on the wire: {@link encodeFrame} and {@link decodeFrame} (header and body layouts in
 * `protocol.ts`). Bodies are in lib0's encoding (varuint, varstring, varuint8array; u32 little-endian)
 * but go through a small writer and a strict reader of their own: the writer sizes the frame first
 * and copies each payload once, and lib0's decoder does not bounds-check `u8`/`u32`, accepts
 * overlong varuints and returns varuints past 2^53 − 1 inexactly. Exactly one byte string decodes
 * to a given frame, so `encodeFrame(decodeFrame(bytes))` equals `bytes`, and everything
 * `decodeFrame` refuses, `encodeFrame` refuses too.
 *
 * Bodies (all numbers varuints unless marked):
 *   hello          protocolVersion | varstring nodeId | lastLsn
 *   resume, ack    cursor
 *   records        fromLsn | toLsn | count | count × (lsn | count | count × envelope)
 *     envelope     varstring origin | originLsn | hlc.wallMs | hlc.counter | varuint8array payload
 *                  | u32 LE crc
 *   catchUpOffer   round | upTo | u8 last | count | count × (varstring key | varuint8array
 *                  stateVector | u32 LE deleteSetHash)
 *   catchUpRequest round | u8 last | count | count × (varstring key | varuint8array stateVector)
 *   catchUpData    round | upTo | u8 last | count | count × (varstring key | varuint8array update)
 *   awareness      varuint8array update
 *   error          varstring code | varstring message
 */
import { assert } from '../core/assert.js'
import { CRC32C_INIT, crc32cFinish, crc32cUpdate } from '../core/crc32c.js'
import { describeValue as describe } from '../core/describe.js'
import { invalidArgument, StarlingError } from '../core/errors.js'
import type { ErrorCode, ErrorDetails } from '../core/errors.js'
import { isNodeId } from '../core/ids.js'
import type { NodeId } from '../core/ids.js'
import { HLC_LIMITS } from '../core/limits.js'
import { KEY_LENGTH_MAX } from '../store/keys.js'
import {
  FRAME_HEADER_BYTES,
  FRAME_MAGIC,
  FRAME_TYPE,
  SYNC_LIMITS,
  SYNC_PROTOCOL_VERSION,
} from './protocol.js'
import type {
  CatchUpDataFrame,
  CatchUpRequestFrame,
  DocSummary,
  Envelope,
  Frame,
  FrameTypeName,
  LogEntry,
  RecordsFrame,
  WireHlc,
} from './protocol.js'
import { readU32, writeU32 } from '../core/bytes.js'

/** Size limits applied by {@link encodeFrame}, {@link decodeFrame} and {@link peekFrameLength}. */
export interface FrameLimits {
  /** Largest whole frame, header included (default `SYNC_LIMITS.frameBytesMax`). */
  readonly frameBytesMax?: number
  /** Largest awareness update (default `SYNC_LIMITS.awarenessBytesMax`). */
  readonly awarenessBytesMax?: number
}

/** Bytes of the header that {@link peekFrameLength} needs: everything up to the body length. */
export const FRAME_LENGTH_PREFIX_BYTES = 8

/**
 * An error frame's code: an upper-case identifier like the codes of `errors.ts`, at most 64
 * characters, so a hostile peer cannot put arbitrary text where logs expect a code.
 */
const ERROR_CODE_PATTERN = /^[A-Z][A-Z0-9_]{0,63}$/
/** A string this long cannot be a node id; the bound only keeps hostile bytes from being read. */
const NODE_ID_BYTES_BOUND = 255

const TYPE_NAMES: readonly (FrameTypeName | undefined)[] = (() => {
  const names: (FrameTypeName | undefined)[] = []
  for (const [name, type] of Object.entries(FRAME_TYPE)) names[type] = name as FrameTypeName
  return names
})()

// Fewest bytes one list item can take, so a count is checked against the bytes left before any
// loop runs: a lying count fails at once instead of after reading (or allocating) for it.
const ENTRY_BYTES_MIN = 2 // lsn, envelope count
const ENVELOPE_BYTES_MIN = 10 // origin (2), originLsn, wallMs, counter, payload length, crc (4)
const OFFER_DOC_BYTES_MIN = 7 // key (2), state vector length, hash (4)
const DOC_BYTES_MIN = 3 // key (2), state vector or update length

const UTF8_DECODER = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })
const UTF8_ENCODER = new TextEncoder()

// ---------------------------------------------------------------------------------------------
// Encoding

/**
 * Encodes a frame. Throws `INVALID_ARGUMENT` (a `TypeError`) for a frame {@link decodeFrame}
 * would refuse (unknown type, a number out of range, an invalid node id or key, a lone surrogate,
 * entries out of LSN order …) and `SYNC_FRAME_TOO_LARGE` when the frame would exceed
 * `frameBytesMax` or an awareness update exceeds `awarenessBytesMax`, before allocating anything.
 */
export function encodeFrame(frame: Frame, limits: FrameLimits = {}): Uint8Array {
  const { frameBytesMax, awarenessBytesMax } = resolveLimits(limits)
  const type = frameTypeOf(frame)
  // Two passes of the same code: the first validates and measures, the second writes into one
  // buffer of the exact size, so each payload is copied once (lib0's growing encoder copies twice
  // and was several times slower on RECORDS frames of thousands of envelopes).
  const sizer = new BodyWriter(undefined)
  writeBody(sizer, frame, awarenessBytesMax)
  if (sizer.pos > frameBytesMax) throw tooLarge(frame.type, sizer.pos, frameBytesMax)
  const bytes = new Uint8Array(sizer.pos)
  const writer = new BodyWriter(bytes)
  writeBody(writer, frame, awarenessBytesMax)
  assert(writer.pos === bytes.length, 'a frame changed while it was being encoded')
  bytes[0] = FRAME_MAGIC
  bytes[1] = SYNC_PROTOCOL_VERSION
  bytes[2] = type
  writeU32(bytes, 4, bytes.length - FRAME_HEADER_BYTES)
  writeU32(bytes, 8, frameCrc(bytes))
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

function writeBody(w: BodyWriter, frame: Frame, awarenessBytesMax: number): void {
  switch (frame.type) {
    case 'hello':
      w.varuint(uintArg(frame.protocolVersion, 'hello.protocolVersion'))
      w.ascii(nodeIdArg(frame.nodeId, 'hello.nodeId'))
      w.varuint(uintArg(frame.lastLsn, 'hello.lastLsn'))
      return
    case 'resume':
    case 'ack':
      w.varuint(uintArg(frame.cursor, `${frame.type}.cursor`))
      return
    case 'records':
      return writeRecords(w, frame)
    case 'catchUpOffer':
    case 'catchUpRequest':
    case 'catchUpData':
      w.varuint(uintArg(frame.round, 'catch-up round'))
      if (frame.type !== 'catchUpRequest') w.varuint(uintArg(frame.upTo, 'catch-up upTo'))
      w.u8(flagArg(frame.last, 'catch-up last'))
      return writeDocs(w, frame.type, listArg(frame.docs, 'catch-up docs'))
    case 'awareness': {
      const update = bytesArg(frame.update, 'awareness.update')
      if (update.length > awarenessBytesMax) {
        throw awarenessTooLarge(update.length, awarenessBytesMax)
      }
      return w.bytes(update)
    }
    case 'error':
      w.ascii(errorCodeArg(frame.code))
      w.text(stringArg(frame.message, 'error.message'), 'error.message')
      return
  }
}

function writeRecords(w: BodyWriter, frame: RecordsFrame): void {
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
}

function writeEnvelope(w: BodyWriter, value: unknown): void {
  const envelope = objectArg<Envelope>(value, 'envelope')
  const hlc = objectArg<WireHlc>(envelope.hlc, 'envelope.hlc')
  w.ascii(nodeIdArg(envelope.origin, 'envelope.origin'))
  w.varuint(uintArg(envelope.originLsn, 'envelope.originLsn'))
  w.varuint(uintArg(hlc.wallMs, 'hlc.wallMs', HLC_LIMITS.wallMsMax))
  w.varuint(uintArg(hlc.counter, 'hlc.counter', HLC_LIMITS.counterMax))
  w.bytes(bytesArg(envelope.payload, 'envelope.payload'))
  w.u32(uintArg(envelope.crc, 'envelope.crc', 0xffffffff))
}

type DocFields = { key: unknown; stateVector?: unknown; update?: unknown; deleteSetHash?: unknown }

function writeDocs(
  w: BodyWriter,
  type: 'catchUpOffer' | 'catchUpRequest' | 'catchUpData',
  docs: readonly unknown[],
): void {
  w.varuint(docs.length)
  for (const value of docs) {
    const doc = objectArg<DocFields>(value, 'catch-up doc')
    const key = stringArg(doc.key, 'doc.key')
    if (key.length === 0 || key.length > KEY_LENGTH_MAX) {
      throw invalidArgument(`doc.key must have 1–${KEY_LENGTH_MAX} characters, got ${key.length}`)
    }
    w.text(key, 'doc.key')
    if (type === 'catchUpData') w.bytes(bytesArg(doc.update, 'doc.update'))
    else w.bytes(bytesArg(doc.stateVector, 'doc.stateVector'))
    if (type === 'catchUpOffer') w.u32(uintArg(doc.deleteSetHash, 'doc.deleteSetHash', 0xffffffff))
  }
}

/** Writes lib0 encodings into `out`, or only measures them when `out` is undefined. */
class BodyWriter {
  pos = FRAME_HEADER_BYTES

  constructor(private readonly out: Uint8Array | undefined) {}

  /** lib0 `writeVarUint`: 7 bits a byte, least significant first, high bit = more follow. */
  varuint(value: number): void {
    const out = this.out
    if (out === undefined) {
      this.pos += varuintBytes(value)
      return
    }
    // Division above 31 bits (LSNs and clocks may be up to 53), cheaper bit shifts below.
    for (; value > 0x7fffffff; value = Math.floor(value / 128)) {
      out[this.pos++] = 0x80 | (value % 128)
    }
    for (; value > 0x7f; value >>>= 7) out[this.pos++] = 0x80 | (value & 0x7f)
    out[this.pos++] = value
  }

  u8(value: number): void {
    if (this.out !== undefined) this.out[this.pos] = value
    this.pos += 1
  }

  u32(value: number): void {
    if (this.out !== undefined) writeU32(this.out, this.pos, value)
    this.pos += 4
  }

  /** lib0 `writeVarUint8Array`. */
  bytes(bytes: Uint8Array): void {
    this.varuint(bytes.length)
    if (this.out !== undefined) this.out.set(bytes, this.pos)
    this.pos += bytes.length
  }

  /** lib0 `writeVarString` of a string already known to be ASCII (node ids, error codes). */
  ascii(text: string): void {
    this.varuint(text.length)
    const out = this.out
    if (out !== undefined) {
      for (let i = 0; i < text.length; i++) out[this.pos + i] = text.charCodeAt(i)
    }
    this.pos += text.length
  }

  /** lib0 `writeVarString`; refuses lone surrogates, which UTF-8 cannot carry. */
  text(text: string, name: string): void {
    const length = utf8Length(text)
    if (length < 0) throw invalidArgument(`${name} must not contain lone surrogates`)
    this.varuint(length)
    if (this.out !== undefined) UTF8_ENCODER.encodeInto(text, this.out.subarray(this.pos))
    this.pos += length
  }
}

function varuintBytes(value: number): number {
  let length = 1
  for (; value > 0x7fffffff; length++) value = Math.floor(value / 128)
  for (; value > 0x7f; length++) value >>>= 7
  return length
}

/** UTF-8 length of `text`, or -1 when it holds a lone surrogate. */
function utf8Length(text: string): number {
  let length = 0
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (c < 0x80) length += 1
    else if (c < 0x800) length += 2
    else if (c < 0xd800 || c > 0xdfff) length += 3
    else if (c < 0xdc00 && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      length += 4 // a surrogate pair: one 4-byte code point
      i++
    } else return -1
  }
  return length
}

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

function errorCodeArg(value: unknown): string {
  if (typeof value === 'string' && ERROR_CODE_PATTERN.test(value)) return value
  throw invalidArgument(`error.code must match ${String(ERROR_CODE_PATTERN)}`)
}

// ---------------------------------------------------------------------------------------------
// Decoding

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
  const { frameBytesMax, awarenessBytesMax } = resolveLimits(limits)
  checkHeaderPrefix(bytes, frameBytesMax)
  if (bytes.length < FRAME_HEADER_BYTES) {
    throw frameError('SYNC_FRAME_MALFORMED', `frame of ${bytes.length} bytes has no full header`, {
      length: bytes.length,
    })
  }
  const frameBytes = FRAME_HEADER_BYTES + readU32(bytes, 4)
  if (bytes.length > frameBytesMax) throw tooLarge(undefined, bytes.length, frameBytesMax)
  if (bytes.length !== frameBytes) {
    throw frameError(
      'SYNC_FRAME_MALFORMED',
      `frame of ${bytes.length} bytes declares ${frameBytes}`,
      { length: bytes.length, declaredLength: frameBytes },
    )
  }
  const stored = readU32(bytes, 8)
  const actual = frameCrc(bytes)
  if (stored !== actual) {
    throw frameError('SYNC_FRAME_CHECKSUM', 'frame checksum mismatch', {
      frameType: bytes[2] as number,
      length: bytes.length,
      storedCrc: stored,
      actualCrc: actual,
    })
  }
  const frameType = TYPE_NAMES[bytes[2] as number]
  if (frameType === undefined) {
    throw frameError('SYNC_FRAME_MALFORMED', `unknown frame type ${bytes[2]}`, {
      frameType: bytes[2] as number,
      offset: 2,
    })
  }
  const reader = new BodyReader(bytes, frameType)
  const frame = readBody(reader, awarenessBytesMax)
  if (reader.pos !== bytes.length) throw reader.fail('trailing bytes after the body')
  return frame
}

/**
 * For stream transports: the total length of the frame whose first bytes are `prefix` (at least
 * {@link FRAME_LENGTH_PREFIX_BYTES} of them), or `undefined` while fewer have arrived. Fails
 * early like {@link decodeFrame} on a bad magic, version or flags byte and on a declared length
 * over `frameBytesMax`, so a garbage stream is dropped before its "length" is buffered.
 */
export function peekFrameLength(prefix: Uint8Array, limits: FrameLimits = {}): number | undefined {
  if (!(prefix instanceof Uint8Array)) throw invalidArgument('peekFrameLength expects a Uint8Array')
  const { frameBytesMax } = resolveLimits(limits)
  checkHeaderPrefix(prefix, frameBytesMax)
  if (prefix.length < FRAME_LENGTH_PREFIX_BYTES) return undefined
  return FRAME_HEADER_BYTES + readU32(prefix, 4)
}

/** Checks the header fields that are present: magic, version, flags and the declared length. */
function checkHeaderPrefix(bytes: Uint8Array, frameBytesMax: number): void {
  if (bytes.length > 0 && bytes[0] !== FRAME_MAGIC) {
    throw frameError('SYNC_FRAME_MALFORMED', `bad frame magic ${bytes[0]}`, {
      offset: 0,
      magic: bytes[0] as number,
    })
  }
  if (bytes.length > 1 && bytes[1] !== SYNC_PROTOCOL_VERSION) {
    throw frameError('SYNC_PROTOCOL_VERSION', `unsupported sync protocol version ${bytes[1]}`, {
      version: bytes[1] as number,
      supportedVersion: SYNC_PROTOCOL_VERSION,
    })
  }
  if (bytes.length > 3 && bytes[3] !== 0) {
    throw frameError('SYNC_FRAME_MALFORMED', `unknown frame flags ${bytes[3]}`, {
      offset: 3,
      flags: bytes[3] as number,
    })
  }
  // Before anything else is read or allocated: a huge declared length is refused right here.
  if (bytes.length >= FRAME_LENGTH_PREFIX_BYTES) {
    const declared = FRAME_HEADER_BYTES + readU32(bytes, 4)
    if (declared > frameBytesMax) throw tooLarge(undefined, declared, frameBytesMax)
  }
}

function readBody(r: BodyReader, awarenessBytesMax: number): Frame {
  switch (r.frameType) {
    case 'hello':
      return {
        type: 'hello',
        protocolVersion: r.varuint(),
        nodeId: r.nodeId(),
        lastLsn: r.varuint(),
      }
    case 'resume':
    case 'ack':
      return { type: r.frameType, cursor: r.varuint() }
    case 'records':
      return readRecords(r)
    case 'catchUpOffer': {
      const round = r.varuint()
      const upTo = r.varuint()
      const last = r.flag()
      const docs: DocSummary[] = []
      for (let i = r.count(OFFER_DOC_BYTES_MIN); i > 0; i--) {
        docs.push({ key: r.docKey(), stateVector: r.bytes(), deleteSetHash: r.u32() })
      }
      return { type: 'catchUpOffer', round, upTo, last, docs }
    }
    case 'catchUpRequest': {
      const round = r.varuint()
      const last = r.flag()
      const docs: CatchUpRequestFrame['docs'] = []
      for (let i = r.count(DOC_BYTES_MIN); i > 0; i--) {
        docs.push({ key: r.docKey(), stateVector: r.bytes() })
      }
      return { type: 'catchUpRequest', round, last, docs }
    }
    case 'catchUpData': {
      const round = r.varuint()
      const upTo = r.varuint()
      const last = r.flag()
      const docs: CatchUpDataFrame['docs'] = []
      for (let i = r.count(DOC_BYTES_MIN); i > 0; i--) {
        docs.push({ key: r.docKey(), update: r.bytes() })
      }
      return { type: 'catchUpData', round, upTo, last, docs }
    }
    case 'awareness': {
      const update = r.bytes()
      if (update.length > awarenessBytesMax) {
        throw awarenessTooLarge(update.length, awarenessBytesMax)
      }
      return { type: 'awareness', update }
    }
    case 'error': {
      const start = r.pos
      const code = r.string()
      if (!ERROR_CODE_PATTERN.test(code)) throw r.fail('error code is not a code', start)
      return { type: 'error', code, message: r.string() }
    }
  }
}

function readRecords(r: BodyReader): RecordsFrame {
  const fromLsn = r.varuint()
  const toLsn = r.varuint()
  if (toLsn < fromLsn) throw r.fail(`toLsn ${toLsn} is below fromLsn ${fromLsn}`)
  const entryCount = r.count(ENTRY_BYTES_MIN)
  const entries: LogEntry[] = []
  let previous = fromLsn
  for (let i = 0; i < entryCount; i++) {
    const start = r.pos
    const lsn = r.varuint()
    if (lsn <= previous || lsn > toLsn) {
      throw r.fail(`entry LSN ${lsn} is not in (${previous}, ${toLsn}]`, start)
    }
    previous = lsn
    const envelopeCount = r.count(ENVELOPE_BYTES_MIN)
    const envelopes: Envelope[] = []
    for (let j = 0; j < envelopeCount; j++) {
      const origin = r.nodeId()
      const originLsn = r.varuint()
      const wallMs = r.varuint(HLC_LIMITS.wallMsMax)
      const counter = r.varuint(HLC_LIMITS.counterMax)
      envelopes.push({
        origin,
        originLsn,
        hlc: { wallMs, counter },
        payload: r.bytes(),
        crc: r.u32(),
      })
    }
    entries.push({ lsn, envelopes })
  }
  return { type: 'records', fromLsn, toLsn, entries }
}

/** A strict cursor over a frame body; offsets in its errors are offsets in the whole frame. */
class BodyReader {
  pos = FRAME_HEADER_BYTES
  private lastNodeIdBytes: Uint8Array | undefined
  private lastNodeId: NodeId | undefined

  constructor(
    readonly input: Uint8Array,
    readonly frameType: FrameTypeName,
  ) {}

  fail(reason: string, offset = this.pos): StarlingError {
    return frameError('SYNC_FRAME_MALFORMED', `malformed ${this.frameType} frame: ${reason}`, {
      frameType: this.frameType,
      offset,
    })
  }

  /** A canonical (shortest) varuint of at most 8 bytes, at most `max`. */
  varuint(max = Number.MAX_SAFE_INTEGER): number {
    const first = this.input[this.pos]
    if (first !== undefined && first < 0x80 && first <= max) {
      this.pos++ // the common case: one byte
      return first
    }
    return this.varuintLong(max)
  }

  private varuintLong(max: number): number {
    const input = this.input
    let pos = this.pos
    let value = 0
    let scale = 1
    while (true) {
      if (pos >= input.length) throw this.fail('body ends inside a varuint')
      const byte = input[pos++] as number
      value += (byte & 0x7f) * scale
      if (byte < 0x80) {
        if (byte === 0 && scale > 1) throw this.fail('overlong varuint')
        if (value > max) throw this.fail(`varuint ${value} exceeds ${max}`)
        this.pos = pos
        return value
      }
      scale *= 128
      // 8 varuint bytes hold 56 bits, enough for 2^53 − 1; a 9th byte is never valid.
      if (scale > 2 ** 49) throw this.fail('varuint longer than 8 bytes')
    }
  }

  u8(): number {
    if (this.pos >= this.input.length) throw this.fail('body ends inside a u8')
    return this.input[this.pos++] as number
  }

  flag(): boolean {
    const byte = this.u8()
    if (byte > 1) throw this.fail(`flag byte ${byte} is neither 0 nor 1`, this.pos - 1)
    return byte === 1
  }

  u32(): number {
    if (this.pos + 4 > this.input.length) throw this.fail('body ends inside a u32')
    const value = readU32(this.input, this.pos)
    this.pos += 4
    return value
  }

  /** A varuint8array, as a view into the input. */
  bytes(): Uint8Array {
    const start = this.pos
    const length = this.varuint()
    if (length > this.input.length - this.pos) {
      throw this.fail(`byte array of ${length} bytes runs past the body`, start)
    }
    this.pos += length
    return this.input.subarray(this.pos - length, this.pos)
  }

  string(): string {
    const start = this.pos
    const bytes = this.bytes()
    try {
      return UTF8_DECODER.decode(bytes)
    } catch {
      throw this.fail('string is not valid UTF-8', start)
    }
  }

  nodeId(): NodeId {
    const start = this.pos
    const bytes = this.bytes()
    // Envelopes of one frame mostly share a few origins: reuse the last one instead of rebuilding.
    if (this.lastNodeIdBytes !== undefined && equalBytes(bytes, this.lastNodeIdBytes)) {
      return this.lastNodeId as NodeId
    }
    // Bytes map to code points one to one, so non-ASCII bytes become characters isNodeId refuses.
    let text = ''
    if (bytes.length <= NODE_ID_BYTES_BOUND) {
      for (let i = 0; i < bytes.length; i++) text += String.fromCharCode(bytes[i] as number)
    }
    if (!isNodeId(text)) throw this.fail('not a node id', start)
    this.lastNodeIdBytes = bytes
    this.lastNodeId = text
    return text
  }

  docKey(): string {
    const start = this.pos
    const key = this.string()
    if (key.length === 0 || key.length > KEY_LENGTH_MAX) {
      throw this.fail(`document key of ${key.length} characters`, start)
    }
    return key
  }

  /** A list length, refused when that many items of `itemBytesMin` cannot fit in what is left. */
  count(itemBytesMin: number): number {
    const start = this.pos
    const count = this.varuint()
    const left = this.input.length - this.pos
    if (count * itemBytesMin > left) {
      throw this.fail(`count ${count} cannot fit in the ${left} bytes left`, start)
    }
    return count
  }
}

// ---------------------------------------------------------------------------------------------
// Shared

function resolveLimits(limits: FrameLimits): Required<FrameLimits> {
  const frameBytesMax = limits.frameBytesMax ?? SYNC_LIMITS.frameBytesMax
  const awarenessBytesMax = limits.awarenessBytesMax ?? SYNC_LIMITS.awarenessBytesMax
  // The header's body length is a u32, so no larger limit can be honoured.
  const largest = FRAME_HEADER_BYTES + 0xffffffff
  if (
    !Number.isInteger(frameBytesMax) ||
    frameBytesMax < FRAME_HEADER_BYTES ||
    frameBytesMax > largest
  ) {
    throw invalidArgument(`frameBytesMax must be an integer in [${FRAME_HEADER_BYTES}, ${largest}]`)
  }
  if (!Number.isSafeInteger(awarenessBytesMax) || awarenessBytesMax < 0) {
    throw invalidArgument('awarenessBytesMax must be a non-negative integer')
  }
  return { frameBytesMax, awarenessBytesMax }
}

/** CRC32C of the first 8 header bytes followed by the body, without copying either. */
function frameCrc(bytes: Uint8Array): number {
  const state = crc32cUpdate(CRC32C_INIT, bytes, 0, FRAME_LENGTH_PREFIX_BYTES)
  return crc32cFinish(crc32cUpdate(state, bytes, FRAME_HEADER_BYTES, bytes.length))
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}

function frameError(code: ErrorCode, message: string, details: ErrorDetails): StarlingError {
  return new StarlingError(code, message, details)
}

function tooLarge(type: FrameTypeName | undefined, length: number, frameBytesMax: number) {
  const details = { length, frameBytesMax, ...(type === undefined ? {} : { frameType: type }) }
  return frameError(
    'SYNC_FRAME_TOO_LARGE',
    `frame of ${length} bytes (header included) exceeds the ${frameBytesMax}-byte limit`,
    details,
  )
}

function awarenessTooLarge(length: number, awarenessBytesMax: number): StarlingError {
  return frameError(
    'SYNC_FRAME_TOO_LARGE',
    `awareness update of ${length} bytes exceeds the ${awarenessBytesMax}-byte limit`,
    { frameType: 'awareness', length, awarenessBytesMax },
  )
}
