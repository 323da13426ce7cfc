/**
 * The 12-byte header of every sync frame (layout in `protocol.ts`): magic, version, type, flags,
 * body length (u32 LE) and the CRC32C of the first 8 header bytes and the body (u32 LE). Checked
 * in the order that lets a stream transport drop garbage before buffering its "length".
 */
import { readU32, writeU32 } from '../core/bytes.js'
import { CRC32C_INIT, crc32cFinish, crc32cUpdate } from '../core/crc32c.js'
import { invalidArgument, StarlingError } from '../core/errors.js'
import type { ErrorCode, ErrorDetails } from '../core/errors.js'
import {
  FRAME_HEADER_BYTES,
  FRAME_MAGIC,
  FRAME_TYPE,
  SYNC_LIMITS,
  SYNC_PROTOCOL_VERSION,
} from './protocol.js'
import type { FrameTypeName } from './protocol.js'

/** Size limits applied by `encodeFrame`, `decodeFrame` and {@link peekFrameLength}. */
export interface FrameLimits {
  /** Largest whole frame, header included (default `SYNC_LIMITS.frameBytesMax`). */
  readonly frameBytesMax?: number
  /** Largest awareness update (default `SYNC_LIMITS.awarenessBytesMax`). */
  readonly awarenessBytesMax?: number
}

/** Bytes of the header that {@link peekFrameLength} needs: everything up to the body length. */
export const FRAME_LENGTH_PREFIX_BYTES = 8

const TYPE_NAMES: readonly (FrameTypeName | undefined)[] = (() => {
  const names: (FrameTypeName | undefined)[] = []
  for (const [name, type] of Object.entries(FRAME_TYPE)) names[type] = name as FrameTypeName
  return names
})()

/** Fills in the header of `bytes`, a whole frame of wire type `type` whose body is written. */
export function writeFrameHeader(bytes: Uint8Array, type: number): void {
  bytes[0] = FRAME_MAGIC
  bytes[1] = SYNC_PROTOCOL_VERSION
  bytes[2] = type
  bytes[3] = 0
  writeU32(bytes, 4, bytes.length - FRAME_HEADER_BYTES)
  writeU32(bytes, 8, frameCrc(bytes))
}

/**
 * Checks the whole header of `bytes`, one whole frame (magic, version, flags, length, CRC, type;
 * the errors of `decodeFrame`), and returns its type.
 */
export function checkFrameHeader(bytes: Uint8Array, frameBytesMax: number): FrameTypeName {
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
  return frameType
}

/**
 * For stream transports: the total length of the frame whose first bytes are `prefix` (at least
 * {@link FRAME_LENGTH_PREFIX_BYTES} of them), or `undefined` while fewer have arrived. Fails
 * early like `decodeFrame` on a bad magic, version or flags byte and on a declared length
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

/** The limits with their defaults; throws `INVALID_ARGUMENT` for limits that cannot be honoured. */
export function resolveLimits(limits: FrameLimits): Required<FrameLimits> {
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
export function frameCrc(bytes: Uint8Array): number {
  const state = crc32cUpdate(CRC32C_INIT, bytes, 0, FRAME_LENGTH_PREFIX_BYTES)
  return crc32cFinish(crc32cUpdate(state, bytes, FRAME_HEADER_BYTES, bytes.length))
}

/** A frame error of `code`. */
export function frameError(code: ErrorCode, message: string, details: ErrorDetails): StarlingError {
  return new StarlingError(code, message, details)
}

/** `SYNC_FRAME_TOO_LARGE` for a whole frame of `length` bytes. */
export function tooLarge(type: FrameTypeName | undefined, length: number, frameBytesMax: number) {
  const details = { length, frameBytesMax, ...(type === undefined ? {} : { frameType: type }) }
  return frameError(
    'SYNC_FRAME_TOO_LARGE',
    `frame of ${length} bytes (header included) exceeds the ${frameBytesMax}-byte limit`,
    details,
  )
}

/** `SYNC_FRAME_TOO_LARGE` for an awareness update of `length` bytes. */
export function awarenessTooLarge(length: number, awarenessBytesMax: number): StarlingError {
  return frameError(
    'SYNC_FRAME_TOO_LARGE',
    `awareness update of ${length} bytes exceeds the ${awarenessBytesMax}-byte limit`,
    { frameType: 'awareness', length, awarenessBytesMax },
  )
}
