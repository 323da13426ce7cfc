/**
 * Driving time. Virtual time moves only here: to each instant a timer is due (message deliveries,
 * ack timeouts), firing what is due, then letting the stores' asynchronous work run before time
 * moves on. That work needs turns of the event loop as well as microtasks (the WAL's group commit
 * yields with `setImmediate` between batches), so settling awaits `setImmediate` turns until a
 * progress signature stays unchanged for a few turns. This is deterministic: no real timer or I/O
 * takes part, so the turns run the same callbacks in the same order on every run of a seed.
 */
import type { VirtualEnv } from '../virtual-env.js'

/** Quiet turns in a row after which the stores are considered settled. */
const QUIET_TURNS = 3
/** Most turns one settle takes (a relay storm never settles; time must still move). */
const SETTLE_TURNS_MAX = 400
/** Most due instants one advance visits (a timer loop that never lets time pass). */
const INSTANTS_MAX = 10_000

const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve))

/** Moves virtual time and settles the stores' work (see the module comment). */
export class SimClock {
  readonly env: VirtualEnv
  readonly #signature: () => string

  constructor(env: VirtualEnv, signature: () => string) {
    this.env = env
    this.#signature = signature
  }

  /** Virtual ms since the run began. */
  get nowMs(): number {
    return this.env.monotonicMs()
  }

  /** Runs asynchronous work until nothing visibly progresses for a few turns. */
  async settle(): Promise<void> {
    let last = this.#signature()
    let quiet = 0
    for (let turn = 0; turn < SETTLE_TURNS_MAX && quiet < QUIET_TURNS; turn++) {
      await nextTurn()
      const now = this.#signature()
      quiet = now === last ? quiet + 1 : 0
      last = now
    }
  }

  /** Fires whatever is due now, settling after each instant, until nothing is due now. */
  async runDue(): Promise<void> {
    await this.advance(0)
  }

  /** Moves time forward by `ms`, stopping at every instant a timer is due and settling there. */
  async advance(ms: number): Promise<void> {
    const target = this.nowMs + ms
    for (let instants = 0; instants < INSTANTS_MAX; instants++) {
      const due = this.env.nextTimerDueMs()
      if (due === undefined || due > target) break
      this.env.advance(Math.max(0, due - this.nowMs))
      await this.settle()
    }
    if (target > this.nowMs) this.env.advance(target - this.nowMs)
    await this.settle()
  }
}
