/**
 * Self-verifying probe payloads for crash demonstrations and crash tests. A probe is a pure
 * function of `(run, writer, seq)`, so whoever reads a log back can regenerate the exact bytes a
 * writer appended and compare them byte for byte — no copy of the data has to survive the crash.
 *
 * Layout (little-endian):
 *   u32 magic "PRB1" | u32 run | u32 writer | u32 seq | u32 filler length | filler | u32 crc32c
 * The filler length and bytes are derived from a hash of `(run, writer, seq)`; one probe in 256
 * is large (up to ~6 KiB) so records of many sizes and page-crossing records occur.
 */
import { crc32c } from '../../core/crc32c.js'

/** Who wrote a probe: the run (one writer process), the writer loop in it, and its sequence. */
export interface ProbeId {
  run: number
  writer: number
  seq: number
}

const MAGIC = 0x31425250 // "PRB1"
const FIXED_BYTES = 24
const SMALL_FILLER_MAX = 240
const LARGE_FILLER_MAX = 6000

/** A well-mixed 32-bit hash of the probe id (murmur3-style finalizer over the three words). */
function hashProbe(run: number, writer: number, seq: number): number {
  let h = Math.imul(run ^ 0x9e3779b9, 0x85ebca6b)
  h = Math.imul(h ^ (h >>> 13) ^ writer, 0xc2b2ae35)
  h = Math.imul(h ^ (h >>> 16) ^ seq, 0x27d4eb2f)
  h ^= h >>> 15
  h = Math.imul(h, 0x85ebca6b)
  return (h ^ (h >>> 13)) >>> 0
}

function fillerLength(hash: number): number {
  return hash >>> 24 === 0 ? hash % (LARGE_FILLER_MAX + 1) : hash % (SMALL_FILLER_MAX + 1)
}

function checkU32(name: string, value: number): void {
  if (!Number.isInteger(value) || value < 0 || value > 0xffff_ffff)
    throw new RangeError(`probe ${name} must be a u32, got ${String(value)}`)
}

/** Encodes the probe payload of `(run, writer, seq)`; the same id always gives the same bytes. */
export function encodeProbe(run: number, writer: number, seq: number): Uint8Array {
  checkU32('run', run)
  checkU32('writer', writer)
  checkU32('seq', seq)
  const hash = hashProbe(run, writer, seq)
  const filler = fillerLength(hash)
  const bytes = new Uint8Array(FIXED_BYTES + filler)
  const dv = new DataView(bytes.buffer)
  dv.setUint32(0, MAGIC, true)
  dv.setUint32(4, run, true)
  dv.setUint32(8, writer, true)
  dv.setUint32(12, seq, true)
  dv.setUint32(16, filler, true)
  let x = hash | 1
  for (let i = 0; i < filler; i++) {
    // xorshift32: cheap, deterministic filler that differs for every probe.
    x ^= x << 13
    x ^= x >>> 17
    x ^= x << 5
    bytes[20 + i] = x & 0xff
  }
  dv.setUint32(20 + filler, crc32c(bytes, 0, 20 + filler), true)
  return bytes
}

/**
 * Decodes and fully verifies a probe: returns its id when `bytes` are exactly what
 * `encodeProbe` gives for that id, otherwise a reason string.
 */
export function decodeProbe(bytes: Uint8Array): ProbeId | string {
  if (bytes.length < FIXED_BYTES) return `too short (${bytes.length} bytes)`
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  if (dv.getUint32(0, true) !== MAGIC) return 'bad magic'
  const filler = dv.getUint32(16, true)
  if (FIXED_BYTES + filler !== bytes.length) return `filler length ${filler} != ${bytes.length}`
  if (dv.getUint32(20 + filler, true) !== crc32c(bytes, 0, 20 + filler)) return 'bad checksum'
  const id = {
    run: dv.getUint32(4, true),
    writer: dv.getUint32(8, true),
    seq: dv.getUint32(12, true),
  }
  if (!probeEquals(bytes, id)) return 'bytes differ from the regenerated probe'
  return id
}

/** Whether `bytes` are byte for byte the probe of `id`. */
export function probeEquals(bytes: Uint8Array, id: ProbeId): boolean {
  const expected = encodeProbe(id.run, id.writer, id.seq)
  if (expected.length !== bytes.length) return false
  for (let i = 0; i < expected.length; i++) if (expected[i] !== bytes[i]) return false
  return true
}
