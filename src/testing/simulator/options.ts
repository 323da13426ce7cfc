/**
 * Options of a simulation with their defaults applied and checked. The defaults are chosen to
 * reach the interesting code: small sync batches and windows (several frames per exchange, back
 * pressure), short ack timeouts, frequent checkpoints with little log retained for lagging peers
 * (so catch-up by state vectors happens), and every fault kind on at a moderate rate.
 */
import { invalidArgument } from '../../core/errors.js'
import { HLC_LIMITS } from '../../core/limits.js'
import { createRng, type Rng } from '../../core/random.js'
import type { JsonValue } from '../../policy/json.js'
import { crdt, custom, lww, type Policy, type Resolver } from '../../policy/policies.js'
import { createPolicyTable, type PolicyTable, type PolicyTableInput } from '../../policy/table.js'
import type { SyncLimits } from '../../sync/protocol.js'
import type { Durability } from '../../wal/index.js'
import type {
  FaultOptions,
  FaultRates,
  OpGenerator,
  OpWeights,
  SimulationOptions,
  Topology,
} from './types.js'

/** Peers a simulation may have. */
export const PEERS_MIN = 2
export const PEERS_MAX = 8

/**
 * Largest clock skew given to a peer: half the HLC's future bound, less a margin, so that two
 * peers skewed in opposite directions still accept each other's timestamps.
 */
export const SKEW_MS_MAX = HLC_LIMITS.futureSkewMsMaxDefault / 2 - 1_000

/** Default fault rates ("all on, moderate"). */
export const DEFAULT_FAULTS: FaultRates = {
  loss: 0.05,
  duplicate: 0.03,
  reorder: 0.1,
  delayMsMax: 250,
  handshake: true,
  partitions: 0.03,
  crashes: 0.02,
  clockSkew: 0.02,
  clockSkewMsMax: SKEW_MS_MAX,
}

const NO_FAULTS: FaultRates = {
  loss: 0,
  duplicate: 0,
  reorder: 0,
  delayMsMax: 0,
  handshake: true,
  partitions: 0,
  crashes: 0,
  clockSkew: 0,
  clockSkewMsMax: SKEW_MS_MAX,
}

/** Sync limits of the simulated nodes: small, so batching, back pressure and catch-up happen. */
export const SIM_SYNC_LIMITS: Partial<SyncLimits> = {
  batchBytesTarget: 2 * 1024,
  inflightFramesMax: 4,
  inflightBytesMax: 16 * 1024,
  applyQueueMax: 8,
  ackTimeoutMs: 400,
  ackTimeoutMsMax: 4_000,
  catchUpTimeoutMs: 2_000,
  catchUpRecordsMin: 16,
  catchUpBytesMin: 64 * 1024,
}

/**
 * The default custom resolver: the largest numeric vote wins (non-numbers count as 0). Pure and
 * order-independent, as resolvers must be.
 */
export const maxVote: Resolver = (siblings) =>
  Math.max(...siblings.map((s) => (typeof s.value === 'number' ? s.value : 0)))

/** The default policy table of a simulation. */
export function defaultPolicies(): Record<string, Policy> {
  return {
    'notes/*': crdt('text'),
    'lists/*': crdt('array'),
    'settings/**': lww(),
    'votes/*': custom(maxVote, { name: 'max-vote' }),
  }
}

/** Options with defaults applied. */
export interface ResolvedOptions {
  seed: number
  peers: number
  steps: number
  topology: Topology
  faults: FaultRates
  policies: PolicyTableInput
  table: PolicyTable
  keys: readonly string[]
  values: (rng: Rng, key: string) => JsonValue
  ops: OpWeights | OpGenerator
  livenessBudgetMs: number
  checkResolverPurity: boolean
  oracle: SimulationOptions['oracle']
  limits: Partial<SyncLimits>
  unsafe: { ackBeforeDurable?: boolean; noDedupe?: boolean }
  store: {
    checkpointRecords: number
    syncRetainRecords: number
    memoryBudgetBytes: number
    durability: Durability
  }
}

/** Applies defaults and validates (misuse is `INVALID_ARGUMENT`). */
export function resolveOptions(options: SimulationOptions): ResolvedOptions {
  if (typeof options !== 'object' || options === null)
    throw invalidArgument('simulate: options must be an object')
  const { seed, peers, steps } = options
  if (!Number.isSafeInteger(seed)) throw invalidArgument('simulate: seed must be a safe integer')
  if (!Number.isSafeInteger(peers) || peers < PEERS_MIN || peers > PEERS_MAX)
    throw invalidArgument(`simulate: peers must be ${PEERS_MIN}–${PEERS_MAX}, got ${peers}`)
  if (!Number.isSafeInteger(steps) || steps < 0)
    throw invalidArgument('simulate: steps must be a non-negative integer')
  const topology = options.topology ?? 'mesh'
  if (!['mesh', 'chain', 'star'].includes(topology))
    throw invalidArgument(`simulate: unknown topology ${String(topology)}`)
  const policies = options.policies ?? defaultPolicies()
  const table = createPolicyTable(policies, lww())
  return {
    seed,
    peers,
    steps,
    topology,
    faults: resolveFaults(options.faults),
    policies,
    table,
    keys: options.keys ?? keysFor(table),
    values: options.values ?? defaultValue,
    ops: options.ops ?? {},
    livenessBudgetMs: options.livenessBudgetMs ?? 10 * 60_000,
    checkResolverPurity: options.checkResolverPurity ?? true,
    oracle: options.oracle,
    limits: { ...SIM_SYNC_LIMITS, ...options.limits },
    unsafe: options.unsafe ?? {},
    store: resolveStore(seed, options.store),
  }
}

/**
 * Store thresholds: given, or drawn from the seed among settings that checkpoint and truncate the
 * log often (peers that fall behind then catch up by state vectors) or rarely (log shipping).
 */
function resolveStore(seed: number, store: SimulationOptions['store']): ResolvedOptions['store'] {
  const rng = createRng(seed).fork()
  const checkpointRecords = pickOne(rng, [8, 12, 32, 1_000])
  const syncRetainRecords = pickOne(rng, [2, 4, 16])
  return {
    checkpointRecords: store?.checkpointRecords ?? checkpointRecords,
    syncRetainRecords: store?.syncRetainRecords ?? syncRetainRecords,
    memoryBudgetBytes: store?.memoryBudgetBytes ?? 64 * 1024,
    durability: store?.durability ?? 'sync',
  }
}

function pickOne(rng: Rng, items: readonly number[]): number {
  return items[rng.int(items.length)] as number
}

function resolveFaults(faults: FaultOptions | false | undefined): FaultRates {
  if (faults === false) return { ...NO_FAULTS }
  const rate = (value: number | boolean | undefined, fallback: number, name: string): number => {
    if (value === undefined || value === true) return fallback
    if (value === false) return 0
    if (!Number.isFinite(value) || value < 0 || value > 1)
      throw invalidArgument(`simulate: faults.${name} must be a probability in [0, 1]`)
    return value
  }
  const delayMsMax = faults?.delayMsMax ?? DEFAULT_FAULTS.delayMsMax
  if (!Number.isFinite(delayMsMax) || delayMsMax < 0)
    throw invalidArgument('simulate: faults.delayMsMax must be a non-negative number')
  const clockSkewMsMax = faults?.clockSkewMsMax ?? DEFAULT_FAULTS.clockSkewMsMax
  if (!Number.isSafeInteger(clockSkewMsMax) || clockSkewMsMax < 0)
    throw invalidArgument('simulate: faults.clockSkewMsMax must be a non-negative integer')
  return {
    loss: rate(faults?.loss, DEFAULT_FAULTS.loss, 'loss'),
    duplicate: rate(faults?.duplicate, DEFAULT_FAULTS.duplicate, 'duplicate'),
    reorder: rate(faults?.reorder, DEFAULT_FAULTS.reorder, 'reorder'),
    delayMsMax,
    handshake: faults?.handshake ?? true,
    partitions: rate(faults?.partitions, DEFAULT_FAULTS.partitions, 'partitions'),
    crashes: rate(faults?.crashes, DEFAULT_FAULTS.crashes, 'crashes'),
    clockSkew: rate(faults?.clockSkew, DEFAULT_FAULTS.clockSkew, 'clockSkew'),
    clockSkewMsMax,
  }
}

/** A few concrete keys per rule of the table: `*` becomes a name, `**` a name or two. */
export function keysFor(table: PolicyTable): string[] {
  const keys: string[] = []
  for (const { pattern } of table.rules) {
    for (const [one, many] of [
      ['a', 'a'],
      ['b', 'x/b'],
    ] as const) {
      const key = pattern.replaceAll('**', many).replaceAll('*', one)
      if (!keys.includes(key) && table.patternFor(key) === pattern) keys.push(key)
    }
  }
  if (keys.length === 0) keys.push('key/a', 'key/b')
  return keys
}

function defaultValue(rng: Rng): JsonValue {
  return rng.int(3) === 0 ? `v${rng.int(100)}` : rng.int(10)
}

/** The linked pairs `[i, j]` (i < j) of a topology over `peers` peers. */
export function topologyEdges(topology: Topology, peers: number): Array<[number, number]> {
  const edges: Array<[number, number]> = []
  for (let i = 0; i < peers; i++) {
    for (let j = i + 1; j < peers; j++) {
      const linked =
        topology === 'mesh' || (topology === 'chain' ? j === i + 1 : topology === 'star' && i === 0)
      if (linked) edges.push([i, j])
    }
  }
  return edges
}
