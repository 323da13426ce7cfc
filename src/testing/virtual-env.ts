/**
 * A deterministic {@link Env} for tests and the simulator: time only moves when the test moves it,
 * timers fire in (due time, creation order), and randomness comes from a seeded generator. No real
 * timers, no `Date.now()`, no `Math.random()`: the same seed and the same calls give the same run.
 */
import type { Env, TimerHandle } from '../core/env.js'
import { invalidArgument } from '../core/errors.js'
import { createRng } from '../core/random.js'
import type { Rng } from '../core/random.js'

/** Options of {@link createVirtualEnv}. */
export interface VirtualEnvOptions {
  /** Seed of the generator behind `random()` and `randomBytes()`. */
  readonly seed: number
  /** Initial wall-clock reading in ms since the epoch (default {@link VIRTUAL_START_MS}). */
  readonly startMs?: number
}

/** An {@link Env} whose clock, timers and randomness are driven by the test. */
export interface VirtualEnv extends Env {
  /** The seed the environment was created with. */
  readonly seed: number
  /** The generator behind `random()`/`randomBytes()`; `rng.fork()` gives components own streams. */
  readonly rng: Rng
  /**
   * Moves time forward by `ms`, firing every timer that falls due on the way in (due time,
   * creation order) with the clock set to its due time; timers set by those callbacks fire too
   * when due by the end. Returns the number fired. A throwing callback stops the advance there
   * (the clock stays at its due time) and the error propagates. Throws, leaving the remaining
   * timers pending, when more than `maxSteps` would fire: a timer loop that never lets time pass.
   */
  advance(ms: number, maxSteps?: number): number
  /** Fires the next pending timer, moving the clock to its due time; false when none is pending. */
  runNext(): boolean
  /**
   * Fires timers (moving the clock) until none is pending. Returns the number fired; throws,
   * leaving the rest pending, when more than `maxSteps` would fire (a timer that always re-arms
   * itself never goes idle).
   */
  runUntilIdle(maxSteps?: number): number
  /**
   * Sets the wall clock (`nowMs()`) to `ms`, forwards or backwards, as an NTP step would. The
   * monotonic clock and the timers are not affected.
   */
  setWallMs(ms: number): void
  /** The number of timers set and neither fired nor cancelled. */
  pendingTimers(): number
  /** The `monotonicMs()` reading at which the next timer is due, or undefined when none is. */
  nextTimerDueMs(): number | undefined
}

/** Default initial wall clock of a virtual env: 2025-01-01T00:00:00Z. */
export const VIRTUAL_START_MS = 1_735_689_600_000

/** Default bound on timers fired by one `advance()` or `runUntilIdle()` call. */
export const VIRTUAL_STEPS_MAX_DEFAULT = 1_000_000

interface Timer {
  readonly dueMs: number
  readonly seq: number
  readonly callback: () => void
  state: 'pending' | 'fired' | 'cancelled'
}

/**
 * Creates a deterministic environment.
 *
 * @example
 * ```ts
 * const env = createVirtualEnv({ seed: 7 })
 * const fired: string[] = []
 * env.setTimer(20, () => fired.push('b'))
 * env.setTimer(10, () => fired.push('a'))
 * env.advance(25) // 2; fired is ['a', 'b'] and env.monotonicMs() is 25
 * ```
 */
export function createVirtualEnv(options: VirtualEnvOptions): VirtualEnv {
  const startMs = options.startMs ?? VIRTUAL_START_MS
  requireTime(startMs, 'startMs')
  const rng = createRng(options.seed)
  const timers = createTimerQueue()
  let elapsedMs = 0
  let wallOffsetMs = startMs

  const fire = (timer: Timer): void => {
    elapsedMs = Math.max(elapsedMs, timer.dueMs)
    timer.state = 'fired'
    timer.callback()
  }
  const advance = (ms: number, maxSteps = VIRTUAL_STEPS_MAX_DEFAULT): number => {
    requireTime(ms, 'ms')
    const targetMs = elapsedMs + ms
    let fired = 0
    for (let next = timers.peek(); next && next.dueMs <= targetMs; next = timers.peek()) {
      if (fired++ === maxSteps) throw tooManySteps(maxSteps)
      fire(timers.pop() as Timer)
    }
    elapsedMs = targetMs
    return fired
  }
  const runUntilIdle = (maxSteps = VIRTUAL_STEPS_MAX_DEFAULT): number => {
    let fired = 0
    while (timers.peek()) {
      if (fired++ === maxSteps) throw tooManySteps(maxSteps)
      fire(timers.pop() as Timer)
    }
    return fired
  }

  return {
    seed: options.seed,
    rng,
    nowMs: () => wallOffsetMs + elapsedMs,
    monotonicMs: () => elapsedMs,
    setTimer: (delayMs, callback) => {
      requireTime(delayMs, 'delayMs')
      return timers.push(elapsedMs + delayMs, callback)
    },
    random: () => rng.next(),
    randomBytes: (length) => rng.bytes(length),
    advance,
    runNext() {
      const next = timers.pop()
      if (next) fire(next)
      return next !== undefined
    },
    runUntilIdle,
    setWallMs(ms) {
      requireTime(ms, 'ms')
      wallOffsetMs = ms - elapsedMs
    },
    pendingTimers: () => timers.size(),
    nextTimerDueMs: () => timers.peek()?.dueMs,
  }
}

function requireTime(value: number, name: string): void {
  if (!Number.isFinite(value) || value < 0) {
    throw invalidArgument(`${name} must be a finite non-negative number, got ${String(value)}`)
  }
}

function tooManySteps(maxSteps: number): Error {
  return new Error(
    `virtual env: more than ${maxSteps} timers fired in one call; a timer keeps re-arming itself`,
  )
}

/** A binary min-heap of timers ordered by (dueMs, seq); cancelled timers are dropped lazily. */
function createTimerQueue() {
  const heap: Timer[] = []
  let seq = 0
  let live = 0
  const before = (a: Timer, b: Timer): boolean =>
    a.dueMs < b.dueMs || (a.dueMs === b.dueMs && a.seq < b.seq)
  const swap = (i: number, j: number): void => {
    const t = heap[i] as Timer
    heap[i] = heap[j] as Timer
    heap[j] = t
  }
  const siftUp = (start: number): void => {
    let i = start
    while (i > 0) {
      const parent = (i - 1) >> 1
      if (!before(heap[i] as Timer, heap[parent] as Timer)) return
      swap(i, parent)
      i = parent
    }
  }
  const siftDown = (start: number): void => {
    let i = start
    while (true) {
      let least = i
      for (const child of [2 * i + 1, 2 * i + 2]) {
        if (child < heap.length && before(heap[child] as Timer, heap[least] as Timer)) least = child
      }
      if (least === i) return
      swap(i, least)
      i = least
    }
  }
  const removeTop = (): Timer | undefined => {
    const top = heap[0]
    const last = heap.pop()
    if (top !== undefined && last !== undefined && heap.length > 0) {
      heap[0] = last
      siftDown(0)
    }
    return top
  }
  const peek = (): Timer | undefined => {
    while (heap[0]?.state === 'cancelled') removeTop()
    return heap[0]
  }
  return {
    peek,
    size: () => live,
    pop(): Timer | undefined {
      const top = peek()
      if (top) {
        removeTop()
        live--
      }
      return top
    },
    push(dueMs: number, callback: () => void): TimerHandle {
      const timer: Timer = { dueMs, seq: seq++, callback, state: 'pending' }
      heap.push(timer)
      siftUp(heap.length - 1)
      live++
      return {
        cancel() {
          if (timer.state !== 'pending') return
          timer.state = 'cancelled'
          live--
        },
      }
    },
  }
}
