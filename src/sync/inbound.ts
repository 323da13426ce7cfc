/**
 * Inbound log shipping (docs/sync.md, "Log shipping" and "Acks"): what a peer's RECORDS frames
 * become. Frames already durable or queued are answered or ignored, a gap waits for the sender's
 * resend, a full apply queue drops the frame (the sender's timeout brings it back); the rest goes
 * to the host as one batch, and the ack follows only once the host says it is durable (I3).
 */
import { isStarlingError } from '../core/errors.js'
import type { NodeId } from '../core/ids.js'
import type { Connection, EngineContext } from './connection.js'
import type { InboundBatch } from './effects.js'
import type { RecordsFrame } from './protocol.js'

/** A RECORDS frame from `node`. */
export function onRecords(
  context: EngineContext,
  connection: Connection,
  node: NodeId,
  frame: RecordsFrame,
): void {
  const inbound = connection.inbound
  inbound.peerLastLsn = Math.max(inbound.peerLastLsn, frame.toLsn)
  const durable = context.host.inboundCursor(node)
  const queued = Math.max(durable, context.queued.get(node) ?? 0)
  if (frame.toLsn <= queued) {
    // A duplicate or a resend of what we hold: repeat the ack so the sender moves on.
    if (frame.toLsn <= durable) context.send(connection, { type: 'ack', cursor: durable })
    return
  }
  // A gap (an earlier frame was lost): ignore; the sender resends from our cursor.
  if (frame.fromLsn > queued) return
  // Too much queued from this connection: drop; the ack timeout brings it back (backpressure).
  if (inbound.applying >= context.limits.applyQueueMax) return
  const entries = frame.entries.filter((entry) => entry.lsn > queued)
  context.queued.set(node, frame.toLsn)
  apply(context, connection, {
    kind: 'records',
    sender: node,
    fromLsn: queued,
    toLsn: frame.toLsn,
    entries,
  })
  if (context.unsafe.ackBeforeDurable === true)
    context.send(connection, { type: 'ack', cursor: frame.toLsn })
}

/** Hands a batch to the host to make durable and apply. */
export function apply(context: EngineContext, connection: Connection, batch: InboundBatch): void {
  connection.inbound.applying++
  context.effect({ kind: 'apply', peer: connection.peer, batch })
}

/** The host made `batch` durable (and applied it): ack our cursor, now on disk. */
export function applied(
  context: EngineContext,
  connection: Connection | undefined,
  batch: InboundBatch,
): void {
  if (connection === undefined) return
  settled(connection)
  const cursor = context.host.inboundCursor(batch.sender)
  context.event({ type: 'received', node: batch.sender, cursor })
  if (batch.kind === 'catchUp' && batch.complete) {
    context.event({ type: 'catch-up', node: batch.sender, direction: 'in', phase: 'done' })
  }
  if (batch.kind === 'records' || batch.complete) context.send(connection, { type: 'ack', cursor })
}

/**
 * The host refused `batch` (invalid content, counted against the peer) or could not store it:
 * what was queued from the sender is asked for again.
 */
export function applyFailed(
  context: EngineContext,
  connection: Connection | undefined,
  batch: InboundBatch,
  error: unknown,
): void {
  if (connection !== undefined) settled(connection)
  context.queued.delete(batch.sender)
  if (connection !== undefined && isStarlingError(error, 'SYNC_UPDATE_INVALID'))
    context.bad(connection, error)
}

function settled(connection: Connection): void {
  connection.inbound.applying = Math.max(0, connection.inbound.applying - 1)
}
