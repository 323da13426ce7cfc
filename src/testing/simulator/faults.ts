/**
 * Faults of the safety phase other than the network's per-message ones, drawn once per step from
 * the run's fault stream: crash a peer (power loss in one of the simulated disk's damage modes, or
 * a process crash) and restart it some steps later; partition the network (random halves, one
 * peer isolated, a clogged link that comes back after a while) or heal it; jump a peer's wall
 * clock within the HLC skew bound.
 */
import type { Rng } from '../../core/random.js'
import type { SimNetwork } from './network.js'
import { pick, pickWeighted } from './ops.js'
import type { SimPeer } from './peer.js'
import type { CrashDamage, FaultRates } from './types.js'

/** Every damage a crash may leave: the power-loss images, and a process crash. */
export const CRASH_DAMAGES: readonly CrashDamage[] = [
  'drop',
  'keep',
  'tear',
  'sectors',
  'zero-extend',
  'process',
]

/** Most steps a crashed peer stays down. */
const DOWN_STEPS_MAX = 20
/** Longest a clogged link stays down (virtual ms). */
const CLOG_MS_MAX = 3_000

/** What the faults act on. */
export interface FaultTarget {
  readonly peers: readonly SimPeer[]
  readonly network: SimNetwork
  readonly rates: FaultRates
  /** Draws the decisions. */
  readonly rng: Rng
  /** Draws the damage of crash images. */
  readonly imageRng: Rng
  nowMs(): number
  crashed(peer: SimPeer): void
  partitioned(): void
}

/** Injects this step's faults. */
export async function injectFaults(target: FaultTarget, step: number): Promise<void> {
  const { rng, rates } = target
  if (rates.crashes > 0 && rng.next() < rates.crashes) await crashOne(target, step)
  if (rates.partitions > 0 && rng.next() < rates.partitions) partition(target)
  if (rates.clockSkew > 0 && rng.next() < rates.clockSkew) {
    const peer = pick(rng, target.peers)
    peer.skewMs = rng.int(2 * rates.clockSkewMsMax + 1) - rates.clockSkewMsMax
  }
}

async function crashOne(target: FaultTarget, step: number): Promise<void> {
  const { rng } = target
  const up = target.peers.filter((peer) => peer.up)
  if (up.length === 0) return
  const peer = pick(rng, up)
  const damage = pick(rng, CRASH_DAMAGES)
  peer.restartAtStep = step + 1 + rng.int(DOWN_STEPS_MAX)
  await peer.crash(damage, target.imageRng)
  target.crashed(peer)
}

function partition(target: FaultTarget): void {
  const { rng, network, peers } = target
  const kind = pickWeighted(rng, { halves: 3, isolate: 2, clog: 3, heal: 2 })
  if (kind === 'heal') return network.heal()
  if (kind === 'halves') network.partitionHalves(peers.length)
  else if (kind === 'isolate') network.isolate(rng.int(peers.length))
  else {
    const [i, j] = pick(rng, network.edges)
    network.clog(i, j, target.nowMs() + 1 + rng.int(CLOG_MS_MAX))
  }
  target.partitioned()
}
