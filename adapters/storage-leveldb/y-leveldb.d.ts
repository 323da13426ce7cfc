/**
 * Types for the part of `y-leveldb` Starling uses. The package ships a `.d.ts`, but its `exports`
 * map hides it from NodeNext resolution (TS7016), so this one ambient declaration stands in.
 *
 * The adapter uses only `keyEncoding` (the encoding of y-leveldb's key arrays, which defines its
 * on-disk layout) and `PREFERRED_TRIM_SIZE`; `LeveldbPersistence` is used by the benchmarks'
 * baselines and by the tests that check y-leveldb and Starling read each other's directories.
 * Every `LeveldbPersistence` method catches any error, logs it with `console.warn` and resolves
 * `null`; the return types say so.
 */
declare module 'y-leveldb' {
  import type { Doc } from 'yjs'

  /** Above this many stored updates, `getYDoc` compacts the document while loading it. */
  export const PREFERRED_TRIM_SIZE: number

  /**
   * y-leveldb's key encoding (an abstract-level legacy encoding): each element a type byte then
   * a lib0 var-string or a big-endian u32.
   */
  export const keyEncoding: {
    buffer: true
    type: string
    encode(key: Array<string | number>): Uint8Array
    decode(bytes: Uint8Array): Array<string | number>
  }

  /** Constructor options of {@link LeveldbPersistence}. */
  export interface LeveldbPersistenceOptions {
    /** An abstract-level class, constructed as `new Level(location, options)`. */
    Level?: new (location: string, options: object) => object
    /** Passed to the `Level` constructor (with y-leveldb's key and value encodings added). */
    levelOptions?: object
  }

  /** Yjs documents on an abstract-level database (LevelDB by default). */
  export class LeveldbPersistence {
    constructor(location: string, options?: LeveldbPersistenceOptions)
    /** Appends an update; resolves its clock (per-document sequence number) or `null`. */
    storeUpdate(docName: string, update: Uint8Array): Promise<number | null>
    /** A Y.Doc with every stored update applied (an empty doc when none), or `null`. */
    getYDoc(docName: string): Promise<Doc | null>
    /** Merges the stored updates into one; `undefined` on success, `null` on failure. */
    flushDocument(docName: string): Promise<undefined | null>
    /** Deletes a document's updates, state vector and metadata; `null` on failure. */
    clearDocument(docName: string): Promise<undefined | null>
    /** Names of documents with a stored state vector, in key order, or `null`. */
    getAllDocNames(): Promise<string[] | null>
    /** Stores `value` (lib0 `encodeAny`) under a document's meta key; `null` on failure. */
    setMeta(docName: string, metaKey: string, value: unknown): Promise<undefined | null>
    /** The decoded meta value, `undefined` when missing, `null` on failure. */
    getMeta(docName: string, metaKey: string): Promise<unknown>
    /** Closes the database; `null` on failure. */
    destroy(): Promise<undefined | null>
  }
}
