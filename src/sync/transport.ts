/**
 * The transport port: how sync frames move between nodes. The engine never sees sockets; a
 * transport adapter (in-memory, WebSocket, WebRTC, BroadcastChannel, LAN) moves opaque messages
 * between this node and the peers it can reach, and reports peers coming and going. Every adapter
 * passes the shared conformance suite in `test/conformance/transport.ts`.
 *
 * Contract:
 * - Messages are delivered whole, at most once, in the order sent, per (sender, receiver)
 *   connection. A message may be lost only together with its connection (the peer goes down).
 * - `send` to a peer that is not up throws `TRANSPORT_CLOSED`; a message over `messageBytesMax`
 *   throws `TRANSPORT_MESSAGE_TOO_LARGE`. Nothing is delivered after `onPeerDown` for that
 *   connection, and nothing sent after a disconnect is ever delivered.
 * - After `onPeerDown`, a later `onPeerUp` for the same peer is a new connection.
 * - The transport delivers bytes the receiver may keep (never a buffer it will reuse).
 * - Handlers are never called synchronously from inside a `Transport` method (events arrive in
 *   order with the messages, on a later turn), so the node using it is never re-entered.
 * - A peer is "up" from this end's view: between this end's `onPeerUp` and `onPeerDown` for it.
 *   `send` outside that window throws `TRANSPORT_CLOSED` (that error wins over a size error).
 *   `disconnect` of a peer that is not up does nothing. Peers of an end that calls `close()`
 *   see `onPeerDown`.
 * - A handler that throws does not stop delivery to anyone; the transport reports the error.
 * - `messageBytesMax` should be at least 1 MiB (the conformance suite sends 1.5 MiB); the sync
 *   engine never sends a frame larger than it.
 */
import type { PeerId } from '../core/ids.js'

/** What a transport reports to the node using it. */
export interface TransportHandlers {
  /** A connection to `peer` is open; messages can be sent to it. */
  onPeerUp(peer: PeerId): void
  /** The connection to `peer` is gone (closed by either side, or lost). */
  onPeerDown(peer: PeerId, reason: string): void
  /** A whole message from `peer`. */
  onMessage(peer: PeerId, message: Uint8Array): void
}

/** A way to reach peers. */
export interface Transport {
  /** This end's id as other ends see it. */
  readonly localPeer: PeerId
  /** Largest message `send` accepts. */
  readonly messageBytesMax: number
  /** Starts delivering events to `handlers` (called once). Peers already reachable come up. */
  start(handlers: TransportHandlers): void
  /** Sends one message to a connected peer (see the contract above for errors). */
  send(peer: PeerId, message: Uint8Array): void
  /** Closes the connection to `peer` (both ends see `onPeerDown`). */
  disconnect(peer: PeerId, reason?: string): void
  /** Closes every connection and stops; no event is delivered afterwards. Idempotent. */
  close(): Promise<void>
}
