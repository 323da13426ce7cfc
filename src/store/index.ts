/**
 * The store: values on Yjs documents, per-key conflict policies, checkpoints into storage.
 * @packageDocumentation
 */
export { Store } from './store.js'
export type { ChangeEvent, OpenReport, PolicyMismatch, StoreEvents, StoreStats } from './store.js'
export { openStore } from './open.js'
export { STORE_LIMITS } from './options.js'
export type { StoreOptions, StorePorts } from './options.js'
export type { StorageAdapter } from './storage.js'
export { KEY_LENGTH_MAX } from './keys.js'
export { EDIT_BYTES_MAX } from './edit-limit.js'
