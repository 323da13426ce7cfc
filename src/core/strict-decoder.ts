/**
 * The one strict decoder for every byte string that comes from a peer or from the disk (sync
 * frames, WAL records, checkpoint metadata, encoded clocks). It reads lib0's encoding (varuint,
 * varstring, varuint8array; u8; u32 little-endian) but, unlike lib0's decoder, it never reads past
 * the end, accepts only the shortest varuint for a number and none past 2^53 − 1, checks every
 * declared length against the bytes left, refuses a list count that the bytes left cannot hold
 * before any loop runs, and refuses trailing bytes ({@link StrictDecoder.end}). So exactly one byte
 * string decodes to a given value, and the encoders that write lib0's format write exactly it.
 *
 * Every refusal is the `StarlingError` built by the caller's {@link DecodeFailure}: the caller
 * chooses the code (`SYNC_FRAME_MALFORMED` for frames, `CODEC_MALFORMED` or `STORAGE_CORRUPTION`
 * for what the disk holds) and the decoder supplies the reason and the offset.
 */
import { StarlingError } from './errors.js'
import type { ErrorCode } from './errors.js'
import { isNodeId } from './ids.js'
import type { NodeId } from './ids.js'
import { readU32 } from './bytes.js'

/** Builds the error for a refused input: `reason` in words, `offset` where it was found. */
export type DecodeFailure = (reason: string, offset: number) => StarlingError

/**
 * The usual {@link DecodeFailure}: a `code` error with the message `what: reason` and the
 * `offset` in its details.
 */
export function failWith(code: ErrorCode, what: string): DecodeFailure {
  return (reason, offset) => new StarlingError(code, `${what}: ${reason}`, { offset })
}

/** A string this long cannot be a node id; the bound only keeps hostile bytes from being read. */
const NODE_ID_BYTES_BOUND = 255

const UTF8_DECODER = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })

/**
 * A strict cursor over `input[start, input.length)`. Offsets (`pos`, and those passed to the
 * failure) are offsets in `input`, so a frame body's errors name offsets in the whole frame.
 * Byte arrays it returns are views into `input`, not copies.
 *
 * @example
 * ```ts
 * const fail = (reason: string, offset: number) =>
 *   new StarlingError('CODEC_MALFORMED', `bad value: ${reason}`, { offset })
 * const decoder = createStrictDecoder(new Uint8Array([1, 0x80, 0x01]), fail)
 * decoder.u8() // 1
 * decoder.varuint() // 128
 * decoder.end()
 * ```
 */
export class StrictDecoder {
  /** Offset of the next byte to read. */
  pos: number
  private lastNodeIdBytes: Uint8Array | undefined
  private lastNodeId: NodeId | undefined

  constructor(
    /** The bytes read. */
    readonly input: Uint8Array,
    private readonly failure: DecodeFailure,
    start = 0,
  ) {
    this.pos = start
  }

  /** Bytes not read yet. */
  get left(): number {
    return this.input.length - this.pos
  }

  /** The caller's error for `reason` at `offset` (default: the current position), to throw. */
  fail(reason: string, offset = this.pos): StarlingError {
    return this.failure(reason, offset)
  }

  /** Refuses trailing bytes: everything must have been read. `what` names the whole value. */
  end(what = 'the body'): void {
    if (this.pos !== this.input.length) throw this.fail(`trailing bytes after ${what}`)
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
      if (pos >= input.length) throw this.fail('input ends inside a varuint')
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

  /** One byte. */
  u8(): number {
    if (this.pos >= this.input.length) throw this.fail('input ends inside a u8')
    return this.input[this.pos++] as number
  }

  /** A byte that is 0 (false) or 1 (true). */
  flag(): boolean {
    const byte = this.u8()
    if (byte > 1) throw this.fail(`flag byte ${byte} is neither 0 nor 1`, this.pos - 1)
    return byte === 1
  }

  /** A little-endian u32. */
  u32(): number {
    if (this.pos + 4 > this.input.length) throw this.fail('input ends inside a u32')
    const value = readU32(this.input, this.pos)
    this.pos += 4
    return value
  }

  /** A varuint8array, as a view into the input; its declared length must fit in what is left. */
  bytes(): Uint8Array {
    const start = this.pos
    const length = this.varuint()
    if (length > this.input.length - this.pos) {
      throw this.fail(`byte array of ${length} bytes runs past the end`, start)
    }
    this.pos += length
    return this.input.subarray(this.pos - length, this.pos)
  }

  /** A varstring of valid UTF-8 (lone surrogates and overlong forms are refused). */
  string(): string {
    const start = this.pos
    const bytes = this.bytes()
    try {
      return UTF8_DECODER.decode(bytes)
    } catch {
      throw this.fail('string is not valid UTF-8', start)
    }
  }

  /** A varstring that is a node id (see `ids.ts`). */
  nodeId(): NodeId {
    const start = this.pos
    const bytes = this.bytes()
    // Lists mostly repeat a few node ids: reuse the last one instead of rebuilding it.
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

  /**
   * A list length, refused when that many items of at least `itemBytesMin` bytes each cannot fit
   * in what is left, so a lying count fails at once instead of after reading (or allocating) for it.
   */
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

/** Creates a {@link StrictDecoder} over `input` from `start` (default 0). */
export function createStrictDecoder(
  input: Uint8Array,
  failure: DecodeFailure,
  start = 0,
): StrictDecoder {
  return new StrictDecoder(input, failure, start)
}

/** Whether two byte arrays hold the same bytes. */
export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}
