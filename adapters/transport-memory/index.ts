/**
 * In-memory transport: many `Transport` endpoints in one process, joined by a `MemoryNetwork`
 * that links, unlinks and partitions them. It is for tests (it passes the transport conformance
 * suite), for the deterministic simulator (with a virtual `env`, every delivery is a timer the
 * simulator fires, and a `faults` hook injects loss, duplication, delay and reordering on
 * purpose), for demos, and for several stores in one process.
 *
 * Delivery is asynchronous and ordered per connection; messages are copied on send; nothing of a
 * closed connection is delivered after `onPeerDown` or on a later connection (connections carry
 * an epoch). A throwing handler never stops the network for the others: its error goes to
 * `onHandlerError`, or is rethrown from a microtask.
 */
export { createMemoryNetwork, MEMORY_MESSAGE_BYTES_MAX_DEFAULT } from './network.js'
export type {
  HandlerErrorContext,
  LinkFault,
  LinkFaults,
  LinkStats,
  MemoryNetwork,
  MemoryNetworkOptions,
} from './types.js'
