/**
 * Named limits (I8 in docs/guarantees.md): every queue, buffer, batch and record has one. Units are last in the
 * names. Options may lower or raise them within the hard bounds checked where they are used.
 */

const KiB = 1024
const MiB = 1024 * KiB

/** Default limits of the write-ahead log. */
export const WAL_LIMITS = {
  /** Largest payload of one record. */
  recordBytesMax: 4 * MiB,
  /** Largest amount of encoded records waiting in the open batch (the next group commit). */
  batchBytesMax: 8 * MiB,
  /** A segment is rotated once it would grow past this size. */
  segmentBytesMax: 64 * MiB,
  /** Appends allowed to wait for room in the batch buffer before new ones are refused. */
  waitingAppendsMax: 65_536,
  /** Longest interval between fsyncs in `batched` durability. */
  flushIntervalMsMax: 10_000,
  /** Default interval between fsyncs in `batched` durability. */
  flushIntervalMsDefault: 100,
  /** Bytes read from a segment at a time by `read()`. */
  readChunkBytes: 1 * MiB,
  /**
   * Spacing of the read index: one LSN → offset entry per this many bytes of a segment, so a read
   * starts at most this far before the record it wants (docs/ARCHITECTURE.md, "Reading and
   * truncation").
   */
  readIndexStrideBytes: 32 * KiB,
} as const

/** Default limits of the hybrid logical clock. */
export const HLC_LIMITS = {
  /** Remote timestamps further ahead of the local wall clock than this are rejected. */
  futureSkewMsMaxDefault: 5 * 60 * 1000,
  /**
   * The former name of `futureSkewMsMaxDefault`.
   * @deprecated Use `futureSkewMsMaxDefault`; this alias is removed in the next release.
   */
  maxFutureSkewMsDefault: 5 * 60 * 1000,
  /** The wall-clock part has 48 bits. */
  wallMsMax: 2 ** 48 - 1,
  /** The logical counter has 16 bits. */
  counterMax: 2 ** 16 - 1,
} as const
