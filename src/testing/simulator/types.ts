/**
 * Public types of the deterministic simulator (`simulate`): what a run is configured with, the
 * operations it performs, and the report it returns.
 */
import type { Rng } from '../../core/random.js'
import type { JsonValue } from '../../policy/json.js'
import type { PolicyTableInput } from '../../policy/table.js'
import type { Store } from '../../store/store.js'
import type { SyncLimits } from '../../sync/protocol.js'
import type { Durability } from '../../wal/index.js'
import type { CrashMode } from '../sim-fs.js'

/** How the peers are linked when nothing is partitioned. */
export type Topology = 'mesh' | 'chain' | 'star'

/**
 * Faults of the safety phase. Probabilities are per message (network) or per step (the rest);
 * `true` takes the default, `false` or 0 turns a kind off. Defaults: all on, moderate.
 */
export interface FaultOptions {
  /** Probability a message is lost (default 0.05). */
  loss?: number | boolean
  /** Probability a message is delivered twice (default 0.03). */
  duplicate?: number | boolean
  /** Probability a message is delayed by up to `delayMsMax` ms, reordering it (default 0.1). */
  reorder?: number | boolean
  /** Longest extra delay of a reordered message (default 250 ms). */
  delayMsMax?: number
  /**
   * Whether the handshake frames (HELLO, RESUME) suffer the network faults too (default true).
   * `false` is for triage only: it looks past a handshake stall at what else a run would find.
   */
  handshake?: boolean
  /**
   * Probability per step of a partition event: random halves, one peer isolated, a link clogged
   * for a while, or a heal (default 0.03).
   */
  partitions?: number | boolean
  /** Probability per step that a peer crashes (power loss or process crash) (default 0.02). */
  crashes?: number | boolean
  /** Probability per step that a peer's wall clock jumps within the HLC skew bound (default 0.02). */
  clockSkew?: number | boolean
  /**
   * Largest jump of a peer's wall clock, either way (default: half the HLC's 5-minute future
   * bound, less a second, so peers accept each other's timestamps). Larger values put clocks
   * beyond the bound: their register timestamps are reported (`HLC_CLOCK_SKEW`) and must still
   * converge.
   */
  clockSkewMsMax?: number
}

/** Resolved fault probabilities (see {@link FaultOptions}). */
export interface FaultRates {
  loss: number
  duplicate: number
  reorder: number
  delayMsMax: number
  handshake: boolean
  partitions: number
  crashes: number
  clockSkew: number
  clockSkewMsMax: number
}

/** The built-in operation kinds a step draws from (see {@link OpWeights}). */
export type OpKind =
  'set' | 'delete' | 'text' | 'array' | 'map' | 'transact' | 'checkpoint' | 'idle'

/** Relative weights of the built-in operations (missing kinds keep their default weight). */
export type OpWeights = Partial<Record<OpKind, number>>

/** One edit of a text: at `at` × (length + 1), delete up to `remove` characters, insert `insert`. */
export interface TextEdit {
  at: number
  remove: number
  insert: string
}

/** An operation of the workload, performed on one peer (faults are drawn separately). */
export type WorkloadOp =
  | { kind: 'set'; peer: number; key: string; value: JsonValue }
  | { kind: 'delete'; peer: number; key: string }
  | { kind: 'text'; peer: number; key: string; edits: TextEdit[]; transact: boolean }
  | { kind: 'array'; peer: number; key: string; push: JsonValue[]; removeAt?: number }
  | { kind: 'map'; peer: number; key: string; field: string; value: JsonValue }
  | { kind: 'transact'; peer: number; ops: WorkloadWriteOp[] }
  | { kind: 'checkpoint'; peer: number }
  | CustomOp
  /** Links across groups go down (a peer in no group is cut off from all) until `heal`. */
  | { kind: 'partition'; groups: ReadonlyArray<readonly number[]> }
  | { kind: 'heal' }
  | { kind: 'idle' }

/**
 * A write of your own on one peer's store. What `run` changes synchronously (before its first
 * `await`) in the registry and in the documents of `keys` (loaded first) is recorded as the
 * write; the promise it returns (e.g. `store.flush()`) is its acknowledgement, after which the
 * change must reach every peer.
 */
export interface CustomOp {
  kind: 'custom'
  peer: number
  /** Shown in violations. */
  label: string
  keys?: readonly string[]
  run(store: Store): Promise<unknown> | void
}

/** The operations that may be grouped in one `transact`. */
export type WorkloadWriteOp = Extract<WorkloadOp, { kind: 'set' | 'text' | 'array' | 'map' }>

/** What an operation generator is given for each step. */
export interface OpContext {
  /** The simulation's operation stream (seeded). */
  readonly rng: Rng
  readonly step: number
  readonly peers: number
  /** The keys the workload writes (see {@link SimulationOptions.keys}). */
  readonly keys: readonly string[]
  /** The kind of a key: a CRDT document kind, or `register` for lww/custom keys. */
  kindOf(key: string): 'text' | 'array' | 'map' | 'other' | 'register'
  /** The built-in generator, to fall back on or to wrap. */
  builtin(): WorkloadOp
}

/** Draws the next operation. Must use only `ctx.rng` for chance, so runs replay. */
export type OpGenerator = (ctx: OpContext) => WorkloadOp

/** Options of {@link simulate}. */
export interface SimulationOptions {
  /** Seed of every random decision of the run; the same options replay the same run. */
  seed: number
  /** Number of peers, 2–8. */
  peers: number
  /** Steps of the safety phase (one operation and possibly one fault each). */
  steps: number
  /** Operation weights for the built-in generator, or a generator of your own. */
  ops?: OpWeights | OpGenerator
  /** Faults of the safety phase (default: all on, moderate); `false` turns them all off. */
  faults?: FaultOptions | false
  /**
   * Conflict policies of every peer. Default: `'notes/*': crdt('text')`, `'lists/*':
   * crdt('array')`, `'settings/**': lww()`, `'votes/*'`: a custom max-vote resolver.
   */
  policies?: PolicyTableInput
  /** Keys the workload writes (default: a few per pattern of `policies`). */
  keys?: readonly string[]
  /** Values written to register keys (default: small numbers and short strings). */
  values?: (rng: Rng, key: string) => JsonValue
  topology?: Topology
  /** Virtual time the healed liveness phase may take before it is a violation (default 10 min). */
  livenessBudgetMs?: number
  /** Sync limits of every node (the simulator's defaults are small, to exercise batching). */
  limits?: Partial<SyncLimits>
  /**
   * Checks of your own on the final state, run after the built-in oracles once every peer is
   * synced; each string returned is reported as a violation.
   */
  oracle?: (
    peers: ReadonlyArray<{ name: string; store: Store }>,
  ) => Promise<readonly string[]> | readonly string[]
  /**
   * Run every custom resolver through `checkResolverPurity` (default true): before the run on
   * sibling sets drawn from `values`, and on every sibling set a store resolves during it. An
   * order-dependent or otherwise impure resolver is a `resolver-impure` violation, although peers
   * that all hand it the same canonical order would still converge. `false` turns it off.
   */
  checkResolverPurity?: boolean
  /** Deliberately broken sync behaviours, to check that the oracles catch them. */
  unsafe?: { ackBeforeDurable?: boolean; noDedupe?: boolean }
  /**
   * Store settings. Thresholds default to small values drawn from the seed (checkpoints and log
   * truncation happen). `durability: 'none'` is for harness sanity only: acknowledged writes then
   * die with power loss, and the lost-write oracle must see it.
   */
  store?: {
    checkpointRecords?: number
    syncRetainRecords?: number
    memoryBudgetBytes?: number
    durability?: Durability
  }
}

/** Counters of a run. */
export interface SimulationStats {
  /** Workload operations performed. */
  ops: number
  /** Writes whose promise resolved (each is checked on every peer at the end). */
  ackedWrites: number
  crashes: number
  partitions: number
  /** Messages sent, dropped and duplicated by the network. */
  messages: number
  dropped: number
  duplicated: number
  /** Log records written over the run: local writes, batches relayed from peers, catch-ups. */
  localRecords: number
  relayedRecords: number
  catchUpBatches: number
  /** Virtual time the run took. */
  virtualMs: number
  /** Errors reported by sync nodes, by code (peers dropped for bad frames, etc.). */
  syncErrors: Record<string, number>
  /** Expected errors reported by stores, by code (`HLC_CLOCK_SKEW` when clocks go beyond it). */
  storeErrors: Record<string, number>
}

/** What {@link simulate} found. */
export interface SimulationReport {
  seed: number
  peers: number
  steps: number
  topology: Topology
  /** Whether every peer ended synced with identical keys, values and documents. */
  converged: boolean
  /** Oracle violations, each naming the peer, key and detail; empty when all held. */
  violations: string[]
  stats: SimulationStats
  /** A hash of the final state (keys, values, state vectors): equal for equal runs. */
  digest: string
  /** A one-line command that replays this run. */
  repro: string
}

/** Crash damage applied to a crashed peer's disk: a power-loss image or a process crash. */
export type CrashDamage = CrashMode | 'process'
