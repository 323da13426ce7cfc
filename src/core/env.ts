/**
 * The injectable environment: wall clock, timers and randomness. Everything in Starling that
 * needs time or chance takes an `Env`, so the deterministic simulator can replay any run from its
 * seed. `systemEnv` is the real one.
 */
import { randomBytes as nodeRandomBytes } from 'node:crypto'

/** A cancellable timer handle. */
export interface TimerHandle {
  cancel(): void
}

/** Clock, timers and randomness, injected everywhere instead of globals. */
export interface Env {
  /** Wall-clock milliseconds since the Unix epoch (may jump; use `monotonicMs` for intervals). */
  nowMs(): number
  /** Monotonic milliseconds for measuring intervals. */
  monotonicMs(): number
  /** Runs `callback` after `delayMs`. */
  setTimer(delayMs: number, callback: () => void): TimerHandle
  /** A uniformly distributed float in [0, 1). */
  random(): number
  /** `length` random bytes (cryptographic quality in `systemEnv`). */
  randomBytes(length: number): Uint8Array
}

/** The real environment of a Node process. */
export const systemEnv: Env = {
  nowMs: () => Date.now(),
  monotonicMs: () => performance.now(),
  setTimer(delayMs, callback) {
    const handle = setTimeout(callback, delayMs)
    // A pending Starling timer never keeps the process alive by itself.
    handle.unref()
    return { cancel: () => clearTimeout(handle) }
  },
  random: () => Math.random(),
  randomBytes: (length) => new Uint8Array(nodeRandomBytes(length)),
}
