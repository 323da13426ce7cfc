/**
 * Sync: the sans-IO engine, the node that binds it to a store and a transport, the wire protocol
 * and the transport port. See docs/sync.md.
 */
export { startSync, SyncNode } from './node.js'
export type { SyncNodeEvents, SyncOptions, SyncState, SyncStatus, WriteStatus } from './node.js'
export { SyncEngine, RETRIES_MAX } from './engine.js'
export type {
  Effect,
  EngineHost,
  EngineOptions,
  InboundBatch,
  PeerStatus,
  SyncEvent,
} from './engine.js'
export { decodeFrame, encodeFrame } from './frames.js'
export * from './protocol.js'
export type { Transport, TransportHandlers } from './transport.js'
