/**
 * Where the memory network's deliveries wait. With an `Env`, every task is an `env.setTimer`
 * timer, so a virtual env decides when it runs and the run replays from its seed. Without one,
 * tasks go through one FIFO queue drained by `setImmediate`: asynchronous like a socket, in send
 * order, and never starving I/O (each drain runs only the tasks queued before it began).
 */
import type { Env, TimerHandle } from '../../src/core/env.js'

/** Runs tasks later, in (due time, scheduling order). */
export interface Scheduler {
  /** Runs `task` after `delayMs`; tasks due at the same time run in the order scheduled. */
  schedule(delayMs: number, task: () => void): TimerHandle
  /** Tasks scheduled and neither run nor cancelled. */
  pending(): number
}

/** A scheduler on `env`'s timers, or on a `setImmediate`-drained queue when `env` is undefined. */
export function createScheduler(env: Env | undefined): Scheduler {
  const base = env === undefined ? createImmediateQueue() : env.setTimer.bind(env)
  let pending = 0

  return {
    pending: () => pending,
    schedule(delayMs, task) {
      let live = true
      pending++
      // The wrapper makes cancel() final even when the base cannot unschedule (the queue).
      const handle = base(delayMs, () => {
        if (!live) return
        live = false
        pending--
        task()
      })
      return {
        cancel() {
          if (!live) return
          live = false
          pending--
          handle.cancel()
        },
      }
    },
  }
}

type Schedule = (delayMs: number, task: () => void) => TimerHandle

/** Delay 0 joins the FIFO queue; a positive delay (a fault) waits on a real timer first. */
function createImmediateQueue(): Schedule {
  let queue: Array<() => void> = []
  let draining = false

  const drain = (): void => {
    const batch = queue
    queue = []
    // Tasks are the network's own closures, which catch every handler error themselves.
    for (const task of batch) task()
    if (queue.length > 0) setImmediate(drain)
    else draining = false
  }
  const enqueue = (task: () => void): void => {
    queue.push(task)
    if (draining) return
    draining = true
    setImmediate(drain)
  }

  return (delayMs, task) => {
    if (delayMs <= 0) {
      enqueue(task)
      return { cancel: () => undefined }
    }
    const timer = setTimeout(() => enqueue(task), delayMs)
    return { cancel: () => clearTimeout(timer) }
  }
}
