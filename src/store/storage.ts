/**
 * The storage port of the store: where checkpoints put document state so the WAL can be
 * truncated. Adapters (`adapters/storage-leveldb`, `adapters/storage-memory`) implement it and pass
 * the shared conformance suite (`test/conformance/storage.ts`).
 *
 * Contract: every method either completes — and, for writes, is durable on stable storage when
 * its promise resolves — or rejects with a `StarlingError` (`STORAGE_FAILED` for I/O or backend
 * errors, `STORAGE_CORRUPTION` for stored bytes that cannot be decoded). An adapter never turns
 * a failure into "not found".
 */

/** Durable key → document-state storage with a small metadata table. */
export interface StorageAdapter {
  /**
   * The stored state of document `key` as one Yjs update (all stored updates merged), or
   * `undefined` when nothing was ever stored for it.
   */
  loadDoc(key: string): Promise<Uint8Array | undefined>
  /**
   * Stores `state` — a Yjs update holding the document's full state (`Y.encodeStateAsUpdate`) —
   * as the document's new state. Applying it over older stored state must be harmless (Yjs
   * updates are idempotent); adapters may compact. Rejects with `STORAGE_INVALID_UPDATE` (and
   * stores nothing) when `state` is not a decodable Yjs update. Durable when resolved.
   */
  storeDoc(key: string, state: Uint8Array): Promise<void>
  /**
   * Stores several document states, each as {@link storeDoc} would, in one durable write (a
   * checkpoint of many documents pays one sync, not one per document). All or nothing: when it
   * resolves every state is durable; after a crash or a rejection every document holds its old or
   * its new state, all of them the one or all the other. Validates every state first: rejects with
   * `STORAGE_INVALID_UPDATE` (storing nothing) when any is not a decodable Yjs update.
   */
  storeDocs(states: ReadonlyMap<string, Uint8Array>): Promise<void>
  /** Removes a document's stored state. Durable when resolved. */
  deleteDoc(key: string): Promise<void>
  /** Keys of every stored document, sorted. */
  listDocs(): Promise<string[]>
  /** A metadata value (checkpoint LSN, node id, …), or `undefined`. */
  getMeta(name: string): Promise<Uint8Array | undefined>
  /** Sets a metadata value. Durable when resolved. */
  setMeta(name: string, value: Uint8Array): Promise<void>
  /** Releases the backend; further calls reject with `STORAGE_CLOSED`. Idempotent. */
  close(): Promise<void>
}
