/**
 * The sync protocol's messages and limits (docs/sync.md is the specification). Frames are
 * encoded and decoded by `frames.ts`; the engine (`engine.ts`) speaks in these types only.
 *
 * Every frame on the wire:
 *
 *   u8 magic 0xA7 | u8 version (1) | u8 type | u8 flags (0) | u32 LE body length
 *   | u32 LE crc32c(first 8 header bytes ‖ body) | body
 *
 * Bodies use lib0 encoding (varuint, varstring, varuint8array); LSNs and clocks are varuints.
 */
import type { NodeId } from '../core/ids.js'
import type { Envelope } from '../store/remote.js'

const KiB = 1024
const MiB = 1024 * KiB

/** Protocol version spoken in the header of every frame and in the handshake. */
export const SYNC_PROTOCOL_VERSION = 1
/** First byte of every frame. */
export const FRAME_MAGIC = 0xa7
/** Bytes of the frame header. */
export const FRAME_HEADER_BYTES = 12

/** Default limits of the sync engine (I8 in docs/guarantees.md). */
export const SYNC_LIMITS = {
  /**
   * Largest frame a node sends or accepts (never more than the transport's message limit). The
   * receiver writes a batch as one WAL record, so this stays below the store's 64 MiB record
   * limit; a single record larger than a frame is not shipped, the peer catches up by state
   * vectors instead.
   */
  frameBytesMax: 48 * MiB,
  /** Records are batched into one RECORDS frame up to this many bytes (one larger record goes alone). */
  batchBytesTarget: 1 * MiB,
  /** Unacknowledged bytes in flight to one peer before sending pauses (backpressure). */
  inflightBytesMax: 8 * MiB,
  /** RECORDS frames in flight to one peer before sending pauses. */
  inflightFramesMax: 16,
  /** Received batches waiting to be made durable and applied, per peer. */
  applyQueueMax: 32,
  /** Ack timeout before the first resend; doubles per retry (with jitter) up to the maximum. */
  ackTimeoutMs: 2_000,
  ackTimeoutMsMax: 60_000,
  /**
   * Deadline of a catch-up round (summaries, comparisons and differences of whole documents take
   * far longer than one batch of records); doubles per retry like the ack timeout.
   */
  catchUpTimeoutMs: 15_000,
  /** Bad frames from one peer before it is disconnected. */
  badFramesMax: 8,
  /** A peer more records behind than this catches up by state vectors instead of the log. */
  catchUpRecordsMin: 2_048,
  /**
   * ... or more bytes behind than this: past it, the difference of the touched documents is
   * nearly always smaller than their log (a log carries every intermediate update).
   */
  catchUpBytesMin: 256 * KiB,
  /** Documents per CATCHUP_OFFER / CATCHUP_REQUEST frame. */
  catchUpDocsPerFrame: 512,
  /** Awareness update bytes accepted in one frame. */
  awarenessBytesMax: 64 * KiB,
} as const

export type SyncLimits = { -readonly [K in keyof typeof SYNC_LIMITS]: number }

/** Frame type numbers (stable: part of the wire format). */
export const FRAME_TYPE = {
  hello: 1,
  resume: 2,
  records: 3,
  ack: 4,
  catchUpOffer: 5,
  catchUpRequest: 6,
  catchUpData: 7,
  awareness: 8,
  error: 9,
} as const

export type FrameTypeName = keyof typeof FRAME_TYPE

/** Envelopes and clock readings are defined with the log record that stores them. */
export type { Envelope, WireHlc } from '../store/remote.js'

/** One record of the sender's log: its LSN there and the envelopes it carries. */
export interface LogEntry {
  lsn: number
  envelopes: Envelope[]
}

/** Opens a connection: who I am. Sent first, by both sides. */
export interface HelloFrame {
  type: 'hello'
  protocolVersion: number
  nodeId: NodeId
  /** The sender's newest LSN (for status: how far behind the receiver is). */
  lastLsn: number
}

/** "I hold your log up to `cursor`, on disk: send what follows." Sent after HELLO. */
export interface ResumeFrame {
  type: 'resume'
  cursor: number
}

/**
 * Log records after `fromLsn` up to and including `toLsn`, in LSN order. Entries may skip LSNs
 * (records with nothing for this peer); the receiver's cursor becomes `toLsn` once it has made
 * the frame durable.
 */
export interface RecordsFrame {
  type: 'records'
  fromLsn: number
  toLsn: number
  entries: LogEntry[]
}

/** "Everything of your log up to `cursor` is durable here." Cumulative. */
export interface AckFrame {
  type: 'ack'
  cursor: number
}

/** A document's summary for catch-up: its state vector and a hash of its delete set. */
export interface DocSummary {
  key: string
  stateVector: Uint8Array
  deleteSetHash: number
}

/**
 * Catch-up by state vectors (when the log below the peer's cursor is gone, or the gap is larger
 * than sending the difference): the sender's documents as of its log position `upTo`. `last`
 * marks the final offer frame of this round.
 */
export interface CatchUpOfferFrame {
  type: 'catchUpOffer'
  round: number
  upTo: number
  docs: DocSummary[]
  last: boolean
}

/** The documents that differ, with the requester's state vectors. `last` ends the request. */
export interface CatchUpRequestFrame {
  type: 'catchUpRequest'
  round: number
  docs: { key: string; stateVector: Uint8Array }[]
  last: boolean
}

/** Differences `encodeStateAsUpdate(doc, requesterStateVector)`; `last` ends the round. */
export interface CatchUpDataFrame {
  type: 'catchUpData'
  round: number
  upTo: number
  docs: { key: string; update: Uint8Array }[]
  last: boolean
}

/** Ephemeral presence (a y-protocols awareness update); never written to the WAL. */
export interface AwarenessFrame {
  type: 'awareness'
  update: Uint8Array
}

/** A typed error the sender is about to disconnect for (or reports). */
export interface ErrorFrame {
  type: 'error'
  code: string
  message: string
}

export type Frame =
  | HelloFrame
  | ResumeFrame
  | RecordsFrame
  | AckFrame
  | CatchUpOfferFrame
  | CatchUpRequestFrame
  | CatchUpDataFrame
  | AwarenessFrame
  | ErrorFrame
