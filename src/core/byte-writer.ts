/**
 * The writing half of the strict codec (see `strict-decoder.ts`): lib0's encoding (varuint,
 * varstring, varuint8array; u8; u32 little-endian) in two passes of the same code. A writer
 * without an output only measures; a second one writes into a buffer of exactly that size, so
 * each payload is copied once (lib0's growing encoder copies twice).
 */
import { invalidArgument } from './errors.js'
import { writeU32 } from './bytes.js'

const UTF8_ENCODER = new TextEncoder()

/**
 * Writes lib0 encodings into `out` from `start`, or only measures them when `out` is undefined
 * (`pos` is then the size the same writes need).
 *
 * @example
 * ```ts
 * const write = (w: ByteWriter) => {
 *   w.varuint(300)
 *   w.text('héllo', 'greeting')
 * }
 * const sizer = new ByteWriter(undefined)
 * write(sizer)
 * const bytes = new Uint8Array(sizer.pos)
 * write(new ByteWriter(bytes))
 * ```
 */
export class ByteWriter {
  /** Offset of the next byte written. */
  pos: number

  constructor(
    private readonly out: Uint8Array | undefined,
    start = 0,
  ) {
    this.pos = start
  }

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

  /** One byte. */
  u8(value: number): void {
    if (this.out !== undefined) this.out[this.pos] = value
    this.pos += 1
  }

  /** A little-endian u32. */
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

  /** lib0 `writeVarString`; refuses lone surrogates (`INVALID_ARGUMENT`), which UTF-8 cannot carry. */
  text(text: string, name: string): void {
    const length = utf8Length(text)
    if (length < 0) throw invalidArgument(`${name} must not contain lone surrogates`)
    this.varuint(length)
    if (this.out !== undefined) UTF8_ENCODER.encodeInto(text, this.out.subarray(this.pos))
    this.pos += length
  }
}

/** Bytes of the varuint encoding of `value`. */
export function varuintBytes(value: number): number {
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
