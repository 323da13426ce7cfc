/**
 * Starling: a local-first, CRDT-based collaborative document store.
 * @packageDocumentation
 */
export * from './core/index.js'
export * from './wal/index.js'
