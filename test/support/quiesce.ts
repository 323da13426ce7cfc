/**
 * Runs stores, sync nodes and a memory network that share one virtual env until nothing is left
 * to do: no timer pending (message deliveries are timers on that env) and the stores' work
 * settled. Between timers it lets the event loop turn until `signature` (what the caller can see
 * progress in: log positions, network counters) stays the same for a few turns, as the
 * simulator's clock does. No real timer takes part, so a run is
 * deterministic; a system that keeps sending forever (an echo) never gets quiet and fails here.
 */
import type { VirtualEnv } from '../../src/testing/virtual-env.js'

/** Turns in a row without progress after which the asynchronous work counts as settled. */
const QUIET_TURNS = 5
/** Most turns one settle may take. */
const SETTLE_TURNS_MAX = 2_000

const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve))

async function settle(signature: () => string): Promise<void> {
  let last = signature()
  for (let turn = 0, quiet = 0; quiet < QUIET_TURNS; turn++) {
    if (turn === SETTLE_TURNS_MAX) throw new Error(`still busy after ${turn} turns`)
    await nextTurn()
    const now = signature()
    quiet = now === last ? quiet + 1 : 0
    last = now
  }
}

/**
 * Fires `env`'s timers one at a time, settling after each, until none is pending. Returns the
 * number fired; throws when more than `timersMax` would fire.
 */
export async function runUntilQuiet(
  env: VirtualEnv,
  signature: () => string,
  timersMax = 10_000,
): Promise<number> {
  const seen = (): string => `${env.pendingTimers()}|${signature()}`
  await settle(seen)
  let fired = 0
  while (env.pendingTimers() > 0) {
    if (fired === timersMax)
      throw new Error(`not quiet after ${timersMax} timers: something keeps sending`)
    env.runNext()
    fired++
    await settle(seen)
  }
  return fired
}
