/**
 * Oracle (3), I8: nothing grows without bound, and nothing waits forever.
 *
 * - Messages in flight on one directed link stay within what the engine's send window allows:
 *   `inflightFramesMax` RECORDS frames, resent a few times within a delay window, their acks,
 *   doubled by duplication, plus the handshake and catch-up frames.
 * - The log (every node's outbox) grows only with new content. Each remote record a store writes
 *   for a log batch must bring an envelope it did not hold, and an envelope is one origin's local
 *   record or one completed catch-up, so one incarnation never writes more relayed records than
 *   there were local records and catch-ups in the whole run. A relay loop (content bouncing
 *   between peers forever) breaks this bound quickly.
 * - Per connection (`engine.peers()`): no peer stays connected past `badFramesMax` bad frames,
 *   and no peer has acknowledged more of our log than exists.
 * - A write resolves promptly on a live peer (it needs the local disk only).
 */
import type { SyncLimits } from '../../sync/protocol.js'
import { SYNC_LIMITS } from '../../sync/protocol.js'
import type { SimNetwork } from './network.js'
import type { Incarnation, SimPeer } from './peer.js'

/** Slack of the relayed-records bound (records that raise a cursor only, rounding). */
const RELAYED_SLACK = 32

/** What the bounds are checked on. */
export interface BoundsInput {
  network: SimNetwork
  limits: Partial<SyncLimits>
  incarnations: readonly Incarnation[]
  stalled: readonly string[]
}

/** Violations of the bounds right now. */
export function checkBounds(input: BoundsInput): string[] {
  const violations: string[] = []
  const framesMax = input.limits.inflightFramesMax ?? SYNC_LIMITS.inflightFramesMax
  const linkMax = 8 * framesMax + 64
  const busiest = input.network.busiestLink()
  if (busiest.inFlight > linkMax)
    violations.push(
      `bounds: ${busiest.inFlight} messages in flight on ${busiest.link} (bound ${linkMax})`,
    )
  let local = 0
  let catchUps = 0
  for (const { cursors } of input.incarnations) {
    local += cursors.localRecords
    catchUps += cursors.catchUpBatches
  }
  const relayedMax = local + catchUps + RELAYED_SLACK
  for (const incarnation of input.incarnations) {
    if (incarnation.dead || incarnation.cursors.relayedRecords <= relayedMax) continue
    violations.push(
      `bounds: ${incarnation.peer}#${incarnation.number} wrote ` +
        `${incarnation.cursors.relayedRecords} relayed records, more than the ${local} local ` +
        `records and ${catchUps} catch-ups of the whole run (a relay loop?)`,
    )
  }
  violations.push(...checkConnections(input))
  for (const stall of input.stalled) violations.push(`stall: ${stall}`)
  return violations
}

function checkConnections(input: BoundsInput): string[] {
  const violations: string[] = []
  const badFramesMax = input.limits.badFramesMax ?? SYNC_LIMITS.badFramesMax
  for (const incarnation of input.incarnations) {
    if (incarnation.dead) continue
    const engine = incarnation.node.engine
    for (const peer of engine.peers()) {
      const where = `${incarnation.peer}#${incarnation.number} → ${peer.peer}`
      if (peer.badFrames >= badFramesMax)
        violations.push(`bounds: ${where} kept after ${peer.badFrames} bad frames`)
      if (peer.acked > engine.durableLsn)
        violations.push(
          `bounds: ${where} acked ${peer.acked}, past the log end ${engine.durableLsn}`,
        )
    }
  }
  return violations
}

/** Each peer's sync status in a line, for liveness violations. */
export function livenessDiagnosis(peers: readonly SimPeer[], network: SimNetwork): string {
  const parts = peers.map((peer) => {
    if (peer.broken) return `${peer.name}: broken`
    const live = peer.live
    if (live === undefined) return `${peer.name}: down`
    const status = live.node.status
    const links = status.peers
      .map(
        (p) =>
          `${p.peer}${p.open ? '' : '(closed)'} acked ${p.acked} behind ${p.behind} ahead ${p.ahead} ${p.mode}`,
      )
      .join('; ')
    return `${peer.name}: ${status.state} at ${status.durableLsn} [${links}]`
  })
  return `${parts.join(' | ')} | in flight ${network.net.inFlight()}`
}
