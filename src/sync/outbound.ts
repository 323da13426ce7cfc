/**
 * Outbound log shipping (docs/sync.md, "Handshake", "Log shipping", "Acks" and "Retry"): our log
 * to one peer. After its RESUME(cursor), records after the cursor go out in LSN order in RECORDS
 * frames under the batch size, at most `inflightFramesMax` / `inflightBytesMax` unacknowledged
 * (backpressure). An ack timeout resends from the acked cursor with exponential backoff and
 * jitter, and drops the peer after `RETRIES_MAX`. A peer too far behind, or whose part of the log
 * is gone, catches up by state vectors instead (./catch-up.ts). Records only ever leave up to the
 * durable LSN (I2).
 */
import { StarlingError, isStarlingError } from '../core/errors.js'
import type { NodeId } from '../core/ids.js'
import { needsCatchUp, roundAcked, startCatchUp } from './catch-up.js'
import { armDeadline, violation, type Connection, type EngineContext } from './connection.js'
import { SYNC_PROTOCOL_VERSION, type LogEntry, type RecordsFrame } from './protocol.js'

/** Resends before a peer that never acks is disconnected. */
export const RETRIES_MAX = 8

/** Greets the peer: our node id and durable log end (HELLO is idempotent). */
export function sendHello(context: EngineContext, connection: Connection): void {
  context.send(connection, {
    type: 'hello',
    protocolVersion: SYNC_PROTOCOL_VERSION,
    nodeId: context.nodeId,
    lastLsn: context.durableLsn,
  })
}

/** Asks for the next records to ship, unless a read is out, the window is full or none are due. */
export function pump(context: EngineContext, connection: Connection): void {
  const out = connection.outbound
  if (!out.resumed || out.mode !== 'log' || out.reading) return
  if (connection.node === undefined || out.sent >= context.durableLsn) return
  if (out.inflight.length >= context.limits.inflightFramesMax) return
  if (out.inflightBytes >= context.limits.inflightBytesMax) return
  out.reading = true
  context.effect({
    kind: 'read',
    peer: connection.peer,
    fromLsn: out.sent,
    toLsn: context.durableLsn,
    bytesMax: context.limits.batchBytesTarget,
    exclude: connection.node,
  })
}

/** The records read after `fromLsn` up to `readTo` (entries may be empty: all excluded). */
export function readDone(
  context: EngineContext,
  connection: Connection,
  fromLsn: number,
  readTo: number,
  entries: LogEntry[],
): void {
  const out = connection.outbound
  out.reading = false
  // A read issued before a resend or a catch-up is stale.
  if (out.mode !== 'log' || fromLsn !== out.sent || readTo <= fromLsn) {
    pump(context, connection)
    return
  }
  const sent = sendRecords(context, connection, fromLsn, readTo, entries)
  if (sent === undefined) return
  const { toLsn, bytes } = sent
  out.sent = toLsn
  out.inflight.push({ toLsn, bytes })
  out.inflightBytes += bytes
  armDeadline(context, connection)
  if (connection.node !== undefined) context.event({ type: 'sent', node: connection.node, toLsn })
  pump(context, connection)
}

/**
 * Sends a RECORDS frame; when it would exceed the frame limit, sends the records before the last
 * one (the rest follows in the next frame). A single record too large for any frame cannot be
 * shipped: the peer catches up by state vectors instead. Returns what was sent.
 */
function sendRecords(
  context: EngineContext,
  connection: Connection,
  fromLsn: number,
  toLsn: number,
  entries: LogEntry[],
): { toLsn: number; bytes: number } | undefined {
  for (;;) {
    try {
      const frame: RecordsFrame = { type: 'records', fromLsn, toLsn, entries }
      return { toLsn, bytes: context.send(connection, frame) }
    } catch (error) {
      if (!isStarlingError(error, 'SYNC_FRAME_TOO_LARGE')) throw error
      const last = entries.at(-1)
      if (entries.length <= 1 || last === undefined) {
        context.event({ type: 'peer-error', peer: connection.peer, node: connection.node, error })
        startCatchUp(context, connection)
        return undefined
      }
      entries = entries.slice(0, -1)
      toLsn = last.lsn - 1
    }
  }
}

/** A read found the log truncated below the peer's cursor: catch up by state vectors. */
export function readTruncated(context: EngineContext, connection: Connection): void {
  connection.outbound.reading = false
  if (connection.outbound.mode === 'log') startCatchUp(context, connection)
}

/** The peer's RESUME: its durable cursor on our log, where shipping starts. */
export function onResume(context: EngineContext, connection: Connection, cursor: number): void {
  const out = connection.outbound
  if (out.resumed) {
    // An answer to a repeated HELLO, or a duplicate: it can only confirm more of our log.
    if (cursor > out.acked && cursor <= context.durableLsn) onAck(context, connection, cursor)
    return
  }
  if (cursor > context.durableLsn) {
    // The peer holds our log further than it goes. Records only leave once durable (I2), so
    // this log lost synced records: its directory was restored from an older copy (or its
    // disk lies). The LSNs we write next are ones the peer holds already, with other content:
    // it would take them for duplicates and drop them for good. Refuse, and say so.
    context.drop(connection, rewound(connection.node, cursor, context.durableLsn))
    return
  }
  out.deadlineMs = undefined
  out.retries = 0
  out.resumed = true
  out.acked = cursor
  out.sent = cursor
  if (needsCatchUp(context, cursor)) startCatchUp(context, connection)
  else pump(context, connection)
}

/** ACK(cursor): everything of our log up to `cursor` is durable at the peer. */
export function onAck(context: EngineContext, connection: Connection, cursor: number): void {
  const out = connection.outbound
  if (!out.resumed) throw violation('ack before resume')
  if (cursor > context.durableLsn) throw violation(`ack of ${cursor} past our log end`)
  if (cursor <= out.acked) return
  out.acked = cursor
  if (out.mode === 'catchUp' && !roundAcked(context, connection, cursor)) return
  if (out.sent < cursor) out.sent = cursor
  const kept = out.inflight.filter((f) => f.toLsn > cursor)
  out.inflight = kept
  out.inflightBytes = kept.reduce((sum, f) => sum + f.bytes, 0)
  out.retries = 0
  out.deadlineMs = undefined
  if (kept.length > 0) armDeadline(context, connection)
  if (connection.node !== undefined) context.event({ type: 'acked', node: connection.node, cursor })
  pump(context, connection)
}

/**
 * The outbound deadline passed: greet again while the handshake is open, otherwise forget what is
 * in flight and resend from the acked cursor (or start a new catch-up round); past `RETRIES_MAX`
 * timeouts without progress the peer is dropped.
 */
export function timeout(context: EngineContext, connection: Connection): void {
  const out = connection.outbound
  out.deadlineMs = undefined
  out.retries++
  if (out.retries > RETRIES_MAX) {
    context.drop(
      connection,
      new StarlingError('SYNC_PEER_DROPPED', `no ack after ${RETRIES_MAX} resends`, {
        retries: RETRIES_MAX,
      }),
    )
    return
  }
  if (!out.resumed) {
    // No RESUME yet: our HELLO or their answer was lost. Greet again (HELLO is idempotent).
    sendHello(context, connection)
    armDeadline(context, connection)
    return
  }
  if (connection.node !== undefined) {
    context.event({
      type: 'retry',
      node: connection.node,
      retries: out.retries,
      fromLsn: out.acked,
    })
  }
  out.inflight = []
  out.inflightBytes = 0
  out.sent = out.acked
  if (out.mode === 'catchUp' || needsCatchUp(context, out.acked)) startCatchUp(context, connection)
  else pump(context, connection)
  armDeadline(context, connection)
}

function rewound(peer: NodeId | undefined, cursor: number, logEnd: number): StarlingError {
  return new StarlingError(
    'SYNC_LOG_REWOUND',
    `peer ${String(peer)} holds this node's log up to LSN ${cursor}, but the log ends at ` +
      `${logEnd}: this store was restored from an older copy of its directory. Writes made ` +
      'here would reuse log positions the peer already holds and never reach it; open a fresh ' +
      'store (a new node id) and copy what was written here since the restore into it',
    { peer: String(peer), peerCursor: cursor, logEnd },
  )
}
