/**
 * The sync engine's boundary (docs/sync.md, "Overview"): the effects it asks its driver to
 * perform, the events it reports, the batches it hands over to be made durable, and the pure
 * queries it may put to its host. Nothing here does I/O.
 */
import type { StarlingError } from '../core/errors.js'
import type { NodeId, PeerId } from '../core/ids.js'
import type { DocSummary, Frame, LogEntry, SyncLimits } from './protocol.js'

/** A batch received from a peer, to be made durable and applied by the host. */
export type InboundBatch =
  | {
      kind: 'records'
      sender: NodeId
      /** The sender's log records after `fromLsn` up to `toLsn` (the new cursor). */
      fromLsn: number
      toLsn: number
      entries: LogEntry[]
    }
  | {
      kind: 'catchUp'
      sender: NodeId
      /** Differences to apply; when `complete`, the cursor becomes `upTo`. */
      docs: { key: string; update: Uint8Array }[]
      upTo: number
      complete: boolean
    }

/** What the engine asks its driver to do. */
export type Effect =
  | { kind: 'send'; peer: PeerId; bytes: Uint8Array; frame: Frame['type'] }
  | {
      kind: 'read'
      peer: PeerId
      /** Records after `fromLsn` up to `toLsn`, at most about `bytesMax` (at least one record). */
      fromLsn: number
      toLsn: number
      bytesMax: number
      /** Envelopes whose origin is this node are left out (the peer has them). */
      exclude: NodeId
    }
  | { kind: 'apply'; peer: PeerId; batch: InboundBatch }
  | { kind: 'summarize'; peer: PeerId; round: number; sinceLsn: number }
  | { kind: 'compare'; peer: PeerId; round: number; docs: DocSummary[]; last: boolean }
  | {
      kind: 'diff'
      peer: PeerId
      round: number
      docs: { key: string; stateVector: Uint8Array }[]
      last: boolean
    }
  | { kind: 'awareness'; peer: PeerId; update: Uint8Array }
  | { kind: 'disconnect'; peer: PeerId; error: StarlingError }
  | { kind: 'event'; event: SyncEvent }

/** Something observable happened. */
export type SyncEvent =
  | { type: 'peer-open'; peer: PeerId; node: NodeId }
  | { type: 'peer-closed'; peer: PeerId; node: NodeId | undefined }
  | { type: 'sent'; node: NodeId; toLsn: number }
  | { type: 'acked'; node: NodeId; cursor: number }
  | { type: 'received'; node: NodeId; cursor: number }
  | { type: 'catch-up'; node: NodeId; direction: 'out' | 'in'; phase: 'start' | 'done' }
  | { type: 'peer-error'; peer: PeerId; node: NodeId | undefined; error: StarlingError }
  | { type: 'retry'; node: NodeId; retries: number; fromLsn: number }

/** What the engine may ask of its host synchronously (pure queries, no I/O). */
export interface EngineHost {
  /** Oldest LSN still readable from the local log. */
  firstLsn(): number
  /** Bytes of log records after `lsn`, if known. */
  backlogBytes(afterLsn: number): number | undefined
  /** Our durable cursor on `node`'s log (what we hold of it, on disk). */
  inboundCursor(node: NodeId): number
}

/** Options of the engine. */
export interface EngineOptions {
  nodeId: NodeId
  host: EngineHost
  /** A uniformly distributed float in [0, 1) (from the env: seeded in the simulator). */
  random: () => number
  limits?: Partial<SyncLimits>
  /**
   * Deliberately broken behaviours, for proving that the simulator's oracles catch them. Never
   * set outside such tests.
   */
  unsafe?: { ackBeforeDurable?: boolean }
}

/** Per-peer figures for status. */
export interface PeerStatus {
  peer: PeerId
  node: NodeId | undefined
  open: boolean
  /** Their durable cursor on our log. */
  acked: number
  /** Records of ours they do not have yet. */
  behind: number
  /** Records of theirs we do not have yet (as far as we know). */
  ahead: number
  mode: 'log' | 'catchUp'
  lastSeenMs: number
  badFrames: number
}
