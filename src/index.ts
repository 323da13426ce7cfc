/**
 * Starling: a local-first, CRDT-based collaborative document store.
 * @packageDocumentation
 */
export * from './core/index.js'
export * from './wal/index.js'
export * from './policy/index.js'
export * from './store/index.js'
export { createStore, type CreateStoreOptions } from './create-store.js'
export * from './sync/index.js'
export { createMemoryNetwork } from '../adapters/transport-memory/index.js'
export type { MemoryNetwork, MemoryNetworkOptions } from '../adapters/transport-memory/index.js'
