/**
 * The only way the WAL reaches a disk. Node's `fs` implements it in production
 * (`createNodeFileLayer`); the crash simulator (`starling/testing`) implements it with a model
 * that drops or tears unsynced bytes; a browser origin-private file system can implement it later.
 *
 * Paths are `/`-separated strings. Every method either completes fully or rejects.
 */

/** An open file. */
export interface LayerFile {
  /** Reads up to `length` bytes at `position` into `buffer[offset…]`; resolves the count read. */
  read(buffer: Uint8Array, offset: number, length: number, position: number): Promise<number>
  /** Writes all of `data` at `position`. */
  write(data: Uint8Array, position: number): Promise<void>
  /** Makes every write so far durable (`fdatasync`). */
  sync(): Promise<void>
  /** Sets the file length. */
  truncate(length: number): Promise<void>
  /** The current file length. */
  size(): Promise<number>
  /** Closes the handle. */
  close(): Promise<void>
}

/** How to open a file: read only, read-write of an existing file, or exclusive create. */
export type OpenMode = 'read' | 'readwrite' | 'create'

/** Options of {@link FileLayer.open}. */
export interface OpenOptions {
  /**
   * Every `write` is durable when it resolves, as if followed by `sync()` (`O_DSYNC`): one
   * system call instead of two per group commit.
   */
  syncWrites?: boolean
}

/** A held directory lock. */
export interface DirectoryLock {
  /** Releases the lock; idempotent. */
  release(): Promise<void>
}

/** File-system operations the WAL needs, and nothing more. */
export interface FileLayer {
  /** Creates a directory and its parents if missing. */
  mkdirp(dir: string): Promise<void>
  /** File names (not paths) in `dir`. */
  list(dir: string): Promise<string[]>
  /** Opens a file; `create` fails if it exists. */
  open(path: string, mode: OpenMode, options?: OpenOptions): Promise<LayerFile>
  /** Atomically renames, replacing `to` if it exists. */
  rename(from: string, to: string): Promise<void>
  /** Deletes a file. */
  remove(path: string): Promise<void>
  /** Makes creations, renames and deletions in `dir` durable. */
  syncDir(dir: string): Promise<void>
  /**
   * Takes the single-writer lock of `dir`, or rejects with `STORE_LOCKED` when another live
   * writer holds it.
   */
  lock(dir: string): Promise<DirectoryLock>
}

/** Joins path segments with `/`. */
export function joinPath(...parts: string[]): string {
  return parts.join('/').replace(/\/{2,}/g, '/')
}
