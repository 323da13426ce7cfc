/**
 * Catch-up by state vectors (docs/sync.md, "Catch-up by state vectors"), both sides of a round.
 * Outbound, we run it: decide when a peer is too far behind for log shipping, offer document
 * summaries taken at `upTo`, answer each request with the differences, and return to log
 * shipping once the peer acks `upTo`. Inbound, we answer it: compare each offer, request what we
 * lack, and apply the data, letting the cursor jump to `upTo` only when the round is complete.
 * Every frame's documents are checked on receipt, before anything loads a document (I10).
 */
import { isStarlingError } from '../core/errors.js'
import type { NodeId } from '../core/ids.js'
import { checkCatchUpDocs } from './catch-up-checks.js'
import {
  armDeadline,
  createInboundRound,
  type Connection,
  type EngineContext,
} from './connection.js'
import { apply } from './inbound.js'
import type {
  CatchUpDataFrame,
  CatchUpOfferFrame,
  CatchUpRequestFrame,
  DocSummary,
} from './protocol.js'

// ---- outbound: the round we run -------------------------------------------------------------

/**
 * Whether a peer whose cursor on our log is `cursor` catches up by state vectors: the log below
 * `cursor + 1` is gone, or the gap exceeds `catchUpRecordsMin` records or `catchUpBytesMin`.
 */
export function needsCatchUp(context: EngineContext, cursor: number): boolean {
  if (cursor >= context.durableLsn) return false
  if (cursor + 1 < context.host.firstLsn()) return true
  if (context.durableLsn - cursor > context.limits.catchUpRecordsMin) return true
  const bytes = context.host.backlogBytes(cursor)
  return bytes !== undefined && bytes > context.limits.catchUpBytesMin
}

/** Starts a new outbound round: forgets what is in flight and asks for document summaries. */
export function startCatchUp(context: EngineContext, connection: Connection): void {
  const out = connection.outbound
  out.mode = 'catchUp'
  out.round++
  out.inflight = []
  out.inflightBytes = 0
  out.sent = out.acked
  if (connection.node !== undefined) {
    context.event({ type: 'catch-up', node: connection.node, direction: 'out', phase: 'start' })
  }
  context.effect({
    kind: 'summarize',
    peer: connection.peer,
    round: out.round,
    sinceLsn: out.acked + 1 < context.host.firstLsn() ? -1 : out.acked,
  })
  armDeadline(context, connection)
}

/** Summaries of round `round`, taken at `upTo`: offered in frames of `catchUpDocsPerFrame`. */
export function summaryDone(
  context: EngineContext,
  connection: Connection,
  round: number,
  upTo: number,
  docs: DocSummary[],
): void {
  const out = connection.outbound
  if (out.mode !== 'catchUp' || round !== out.round) return
  out.upTo = upTo
  const per = context.limits.catchUpDocsPerFrame
  for (let at = 0; at < docs.length || at === 0; at += per) {
    const frame: CatchUpOfferFrame = {
      type: 'catchUpOffer',
      round,
      upTo,
      docs: docs.slice(at, at + per),
      last: at + per >= docs.length,
    }
    context.send(connection, frame)
  }
  armDeadline(context, connection)
}

/** A CATCHUP_REQUEST: asks the host for the differences of the requested documents. */
export function onRequest(
  context: EngineContext,
  connection: Connection,
  frame: CatchUpRequestFrame,
): void {
  checkCatchUpDocs(frame.type, frame.docs)
  const out = connection.outbound
  if (out.mode !== 'catchUp' || frame.round !== out.round) return
  // The round makes progress: its deadline starts again from the data about to be sent.
  out.deadlineMs = undefined
  context.effect({
    kind: 'diff',
    peer: connection.peer,
    round: frame.round,
    docs: frame.docs,
    last: frame.last,
  })
}

/** The differences for a request of round `round`: sent in chunks of about `batchBytesTarget`. */
export function diffDone(
  context: EngineContext,
  connection: Connection,
  round: number,
  docs: { key: string; update: Uint8Array }[],
  last: boolean,
): void {
  const out = connection.outbound
  if (out.mode !== 'catchUp' || round !== out.round) return
  const chunks = chunkBySize(docs, context.limits.batchBytesTarget)
  try {
    chunks.forEach((chunk, i) => {
      const frame: CatchUpDataFrame = {
        type: 'catchUpData',
        round,
        upTo: out.upTo,
        docs: chunk,
        last: last && i === chunks.length - 1,
      }
      context.send(connection, frame)
    })
  } catch (error) {
    // One document's difference larger than a frame: it cannot be sent (docs/sync.md, limits).
    if (!isStarlingError(error, 'SYNC_FRAME_TOO_LARGE')) throw error
    context.drop(connection, error)
    return
  }
  armDeadline(context, connection)
}

/**
 * An ack that moved the peer's cursor to `cursor` during a round: whether it completes the
 * round (reaches `upTo`), in which case the connection is back to log shipping.
 */
export function roundAcked(
  context: EngineContext,
  connection: Connection,
  cursor: number,
): boolean {
  const out = connection.outbound
  if (cursor < out.upTo) return false
  out.mode = 'log'
  if (connection.node !== undefined) {
    context.event({ type: 'catch-up', node: connection.node, direction: 'out', phase: 'done' })
  }
  return true
}

// ---- inbound: the round we answer -----------------------------------------------------------

/** A CATCHUP_OFFER: a newer round starts over; asks the host which documents differ here. */
export function onOffer(
  context: EngineContext,
  connection: Connection,
  frame: CatchUpOfferFrame,
): void {
  checkCatchUpDocs(frame.type, frame.docs)
  const inbound = connection.inbound
  if (frame.round < inbound.catchUp.round) return
  if (frame.round > inbound.catchUp.round) {
    inbound.catchUp = createInboundRound(frame.round)
    if (connection.node !== undefined) {
      context.event({ type: 'catch-up', node: connection.node, direction: 'in', phase: 'start' })
    }
  }
  inbound.peerLastLsn = Math.max(inbound.peerLastLsn, frame.upTo)
  context.effect({
    kind: 'compare',
    peer: connection.peer,
    round: frame.round,
    docs: frame.docs,
    last: frame.last,
  })
}

/** The offered documents of round `round` we lack something of: requested with our vectors. */
export function compareDone(
  context: EngineContext,
  connection: Connection,
  round: number,
  wanted: { key: string; stateVector: Uint8Array }[],
  last: boolean,
): void {
  const current = connection.inbound.catchUp
  if (round !== current.round) return
  for (const { key } of wanted) current.requested.add(key)
  if (last) current.offersDone = true
  const frame: CatchUpRequestFrame = { type: 'catchUpRequest', round, docs: wanted, last }
  context.send(connection, frame)
}

/** A CATCHUP_DATA frame: applied as one batch, complete only when the whole round arrived. */
export function onData(
  context: EngineContext,
  connection: Connection,
  node: NodeId,
  frame: CatchUpDataFrame,
): void {
  checkCatchUpDocs(frame.type, frame.docs)
  const current = connection.inbound.catchUp
  if (frame.round !== current.round) return
  for (const { key } of frame.docs) current.received.add(key)
  apply(context, connection, {
    kind: 'catchUp',
    sender: node,
    docs: frame.docs,
    upTo: frame.upTo,
    complete: frame.last && roundComplete(connection),
  })
}

/**
 * The cursor may only jump to `upTo` when the final offer was answered and every requested
 * document arrived in this round (a lost data frame would otherwise skip its documents for good).
 */
function roundComplete(connection: Connection): boolean {
  const { offersDone, requested, received } = connection.inbound.catchUp
  if (!offersDone) return false
  for (const key of requested) if (!received.has(key)) return false
  return true
}

/** Splits documents into chunks of about `bytes` each (at least one document per chunk). */
function chunkBySize<T extends { update: Uint8Array; key: string }>(
  items: T[],
  bytes: number,
): T[][] {
  const chunks: T[][] = []
  let chunk: T[] = []
  let size = 0
  for (const item of items) {
    const itemBytes = item.update.length + item.key.length + 16
    if (chunk.length > 0 && size + itemBytes > bytes) {
      chunks.push(chunk)
      chunk = []
      size = 0
    }
    chunk.push(item)
    size += itemBytes
  }
  if (chunk.length > 0 || chunks.length === 0) chunks.push(chunk)
  return chunks
}
