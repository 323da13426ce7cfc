/**
 * Capture of local changes into the WAL. Every Yjs update a store document emits (from
 * `store.set`, or an editor typing into a Y type the store handed out) is buffered and written as
 * one WAL record per turn of the event loop, per {@link CAPTURE_BYTES_MAX} of updates, or per
 * `store.transact()` (held until the transaction ends: one record, atomic).
 */
import type { Lsn } from '../core/ids.js'
import { encodeUpdates, type DocUpdate } from './record-codec.js'

/** Buffered updates are written once they reach this size (unless a transaction holds them). */
export const CAPTURE_BYTES_MAX = 256 * 1024

interface Waiter {
  resolve: (lsn: Lsn) => void
  reject: (error: unknown) => void
}

/** Buffers captured updates and appends them to the WAL. */
export class CaptureBuffer {
  #updates: DocUpdate[] = []
  #bytes = 0
  #holds = 0
  #scheduled = false
  #waiters: Waiter[] = []
  #last: Promise<Lsn | undefined> = Promise.resolve(undefined)

  constructor(
    private readonly append: (payload: Uint8Array) => Promise<Lsn>,
    private readonly onError: (error: unknown) => void,
  ) {}

  /** Buffers one update. */
  add(key: string, update: Uint8Array): void {
    this.#updates.push({ key, update })
    this.#bytes += update.length + key.length + 8
    if (this.#holds > 0) return
    if (this.#bytes >= CAPTURE_BYTES_MAX) void this.flush()
    else if (!this.#scheduled) {
      this.#scheduled = true
      queueMicrotask(() => {
        this.#scheduled = false
        if (this.#holds === 0) void this.flush()
      })
    }
  }

  /** Runs `fn` with writes held, then writes everything it captured as one record. */
  hold<T>(fn: () => T): T {
    this.#holds++
    try {
      return fn()
    } finally {
      if (--this.#holds === 0) void this.flush()
    }
  }

  /** Resolves with the LSN once everything captured so far is durable in the WAL. */
  whenDurable(): Promise<Lsn | undefined> {
    if (this.#updates.length === 0) return this.#last
    return new Promise<Lsn>((resolve, reject) => this.#waiters.push({ resolve, reject }))
  }

  /** Appends what is buffered now; resolves when it is durable (undefined if nothing was). */
  flush(): Promise<Lsn | undefined> {
    if (this.#updates.length === 0) return this.#last
    const payload = encodeUpdates(this.#updates)
    const waiters = this.#waiters
    this.#updates = []
    this.#bytes = 0
    this.#waiters = []
    const appended = this.append(payload)
    appended.then(
      (lsn) => {
        for (const waiter of waiters) waiter.resolve(lsn)
      },
      (error: unknown) => {
        for (const waiter of waiters) waiter.reject(error)
        this.onError(error)
      },
    )
    this.#last = appended
    return appended
  }
}
