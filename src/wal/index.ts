/**
 * `starling/wal`: the durable, group-committed, checksummed write-ahead log Starling is built on.
 * @packageDocumentation
 */
export { openWal } from './wal.js'
export type { Durability, Wal, WalOptions, WalRecord, WalStats } from './types.js'
export type { RecoveryReport } from './recovery.js'
export { BROKEN_SUFFIX, SUPERSEDED_SUFFIX } from './recovery.js'
export type { DirectoryLock, FileLayer, LayerFile, OpenMode, OpenOptions } from './file-layer.js'
export { joinPath } from './file-layer.js'
export { createNodeFileLayer } from './node-file-layer.js'
export { LOCK_FILE_NAME, readLockHolder, storeLockedError } from './lock-file.js'
export { inspectWal, type WalInspection, type SegmentInspection } from './inspect.js'
export { newestLsnIn } from './broken-files.js'
