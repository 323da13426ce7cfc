/**
 * A reference point between the WAL and the raw loops: the least work a group commit in Node can
 * do. An append costs one promise; a flush writes pre-encoded (zero) record bytes with a
 * blocking `write` and one async `fdatasync`, then settles the batch. No encoding, no checksums,
 * no limits — what is left is the price of promises and the thread-pool hop, which the WAL pays
 * too and the raw loops do not.
 */
import * as fs from 'node:fs'
import type { RawFile } from './raw-io.js'

/** A minimal group committer appending to a raw file. */
export class IdealGroupCommit {
  #resolvers: Array<() => void> = []
  #rejecters: Array<(error: unknown) => void> = []
  #flushing = false
  #buffer: Uint8Array

  /** `recordBytes` is the encoded size of one record, as the WAL would write it. */
  constructor(
    private readonly file: RawFile,
    private readonly recordBytes: number,
  ) {
    this.#buffer = new Uint8Array(recordBytes * 1024)
  }

  /** Resolves once the record's batch is written and `fdatasync`ed. */
  append(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.#resolvers.push(resolve)
      this.#rejecters.push(reject)
      if (this.#flushing) return
      this.#flushing = true
      setImmediate(() => this.#flush())
    })
  }

  #flush(): void {
    const resolvers = this.#resolvers
    const rejecters = this.#rejecters
    if (resolvers.length === 0) {
      this.#flushing = false
      return
    }
    this.#resolvers = []
    this.#rejecters = []
    const fail = (error: unknown): void => rejecters.forEach((reject) => reject(error))
    try {
      this.#write(resolvers.length)
    } catch (error) {
      return fail(error)
    }
    fs.fdatasync(this.file.handle.fd, (error) => {
      if (error) fail(error)
      else for (const resolve of resolvers) resolve()
      queueMicrotask(() => this.#flush())
    })
  }

  #write(records: number): void {
    const bytes = records * this.recordBytes
    if (bytes > this.#buffer.length) this.#buffer = new Uint8Array(bytes * 2)
    const written = fs.writeSync(this.file.handle.fd, this.#buffer, 0, bytes, this.file.position)
    if (written !== bytes) throw new Error(`short write: ${written} of ${bytes}`)
    this.file.position += bytes
  }
}
