/**
 * `simulate`: K peers in one process — each a store on its own simulated disk and memory storage,
 * with a sync node on a shared in-memory network — driven by one virtual environment and one seed.
 *
 * Safety phase: every step performs one workload operation and draws faults (message loss,
 * duplication and reordering on the network; partitions; crashes with disk damage and restarts;
 * clock jumps), then moves virtual time a little. Bounds and acks are checked as it runs.
 * Liveness phase: faults stop, partitions heal, crashed peers restart, and the run goes on until
 * every node reports `synced` with nothing in flight, within a virtual-time budget. Then the
 * convergence and acknowledged-write oracles run. Everything random comes from the seed, so the
 * same options give the same report.
 */
import { isStarlingError } from '../../core/errors.js'
import { createRng, type Rng } from '../../core/random.js'
import { isCrdtPolicy, lww } from '../../policy/policies.js'
import { createPolicyTable } from '../../policy/table.js'
import { createVirtualEnv, type VirtualEnv } from '../virtual-env.js'
import { ClientIds } from './client-ids.js'
import { SimClock } from './clock.js'
import { injectFaults } from './faults.js'
import { SimNetwork } from './network.js'
import { checkAckedWrites, checkConvergence } from './oracles.js'
import { builtinOp } from './ops.js'
import { SKEW_MS_MAX, resolveOptions, topologyEdges, type ResolvedOptions } from './options.js'
import { SimPeer, describeError, type Incarnation } from './peer.js'
import { reproCommand } from './report.js'
import { ResolverWatch } from './resolver-purity.js'
import type {
  OpContext,
  WorkloadOp,
  SimulationOptions,
  SimulationReport,
  SimulationStats,
} from './types.js'
import { WriteLog } from './writes.js'
import { checkBounds, livenessDiagnosis } from './bounds.js'
import { storeInternalsOf } from '../../store/internals.js'

/** Longest virtual time one safety step advances. */
const STEP_MS_MAX = 40
/** A write pending this long on a live peer is a stall. */
const STALL_MS = 30_000
/** Liveness rounds in a row at one instant before the run is declared stuck. */
const FROZEN_ROUNDS_MAX = 1_000
/** Violations kept in a report (a broken run can produce thousands). */
const VIOLATIONS_MAX = 100

/**
 * Runs one simulation and checks its oracles.
 *
 * @example
 * ```ts
 * import { simulate } from 'starling/testing'
 *
 * const report = await simulate({ seed: 42, peers: 3, steps: 60 })
 * console.log(report.converged, report.violations) // true []
 * ```
 */
export async function simulate(options: SimulationOptions): Promise<SimulationReport> {
  const run = new Simulation(options)
  try {
    await run.run()
  } finally {
    await run.shutdown()
  }
  return run.report()
}

class Simulation {
  readonly options: SimulationOptions
  readonly config: ResolvedOptions
  readonly env: VirtualEnv
  readonly clock: SimClock
  readonly network: SimNetwork
  readonly peers: SimPeer[]
  readonly writes: WriteLog
  /** Every incarnation of every peer, for the bounds that sum over the whole run. */
  readonly incarnations: Incarnation[] = []
  readonly violations: string[] = []
  readonly stats: SimulationStats
  readonly #ops: Rng
  readonly #faults: Rng
  readonly #images: Rng
  readonly #time: Rng
  #aborted = false
  #synced = false
  #converged = false
  #digest = ''

  constructor(options: SimulationOptions) {
    this.options = options
    const config = resolveOptions(options)
    const watch = new ResolverWatch((text) => this.violate(text))
    if (config.checkResolverPurity) {
      const policies = watch.watch(config.policies)
      this.config = { ...config, policies, table: createPolicyTable(policies, lww()) }
    } else this.config = config
    const base = createRng(this.config.seed)
    this.env = createVirtualEnv({ seed: base.uint32() })
    this.#ops = base.fork()
    this.#faults = base.fork()
    this.#images = base.fork()
    this.#time = base.fork()
    const clientIds = new ClientIds(base.fork())
    this.stats = emptyStats()
    this.network = new SimNetwork(
      this.env,
      base.fork(),
      this.config.faults,
      topologyEdges(this.config.topology, this.config.peers),
      (from, to, cursor) => this.#checkAck(from, to, cursor),
      (error, where) => this.violate(`handler-threw: ${where}: ${String(error)}`),
    )
    const ctx = {
      options: this.config,
      env: this.env,
      network: this.network,
      clientIds,
      violation: (text: string) => this.violate(text),
      syncError: (error: unknown) => this.#syncError(error),
      storeError: (error: unknown, where: string) => this.#storeError(error, where),
    }
    this.peers = Array.from({ length: this.config.peers }, (_, i) => new SimPeer(ctx, i))
    this.writes = new WriteLog({
      clientIds,
      isDocument: (key) => isCrdtPolicy(this.config.table.policyFor(key)),
      nowMs: () => this.env.monotonicMs(),
      violation: (text) => this.violate(text),
    })
    this.clock = new SimClock(this.env, () => this.#signature())
    // Drawn last, so the streams above are those of a run without the check.
    const purity = base.fork()
    if (config.checkResolverPurity)
      watch.preflight(config.table, config.keys, config.values, purity)
  }

  violate(text: string): void {
    if (this.violations.length < VIOLATIONS_MAX && !this.violations.includes(text))
      this.violations.push(text)
  }

  async run(): Promise<void> {
    for (const peer of this.peers) await this.#start(peer)
    this.#reconcile()
    await this.clock.settle()
    for (let step = 0; step < this.config.steps && !this.#aborted; step++) {
      for (const peer of this.peers)
        if (!peer.up && peer.restartAtStep <= step) await this.#restart(peer)
      await injectFaults(this.#faultTarget(), step)
      await this.#operate(step)
      this.#reconcile()
      await this.clock.advance(1 + this.#time.int(STEP_MS_MAX))
      this.#bounds()
    }
    if (!this.#aborted) await this.#liveness()
    if (!this.#aborted && this.#synced) await this.#oracles()
  }

  async #start(peer: SimPeer): Promise<void> {
    await peer.start()
    if (peer.live !== undefined) this.incarnations.push(peer.live)
  }

  async #restart(peer: SimPeer): Promise<void> {
    await peer.restart()
    if (peer.live !== undefined) this.incarnations.push(peer.live)
  }

  #faultTarget() {
    return {
      peers: this.peers,
      network: this.network,
      rates: this.config.faults,
      rng: this.#faults,
      imageRng: this.#images,
      nowMs: () => this.env.monotonicMs(),
      crashed: () => void this.stats.crashes++,
      partitioned: () => void this.stats.partitions++,
    }
  }

  async #operate(step: number): Promise<void> {
    const { ops, values, keys, peers, table } = this.config
    const ctx: OpContext = {
      rng: this.#ops,
      step,
      peers,
      keys,
      kindOf: (key) => {
        const policy = table.policyFor(key)
        if (!isCrdtPolicy(policy)) return 'register'
        const kind = policy.kind
        return kind === 'text' || kind === 'array' || kind === 'map' ? kind : 'other'
      },
      builtin: () => builtinOp(ctx, typeof ops === 'function' ? {} : ops, values),
    }
    const op: WorkloadOp = typeof ops === 'function' ? ops(ctx) : ctx.builtin()
    if (op.kind === 'idle') return
    if (op.kind === 'partition' || op.kind === 'heal') {
      this.stats.ops++
      if (op.kind === 'heal') return this.network.heal()
      this.stats.partitions++
      return this.network.partitionGroups(op.groups)
    }
    const peer = this.peers[op.peer]
    if (peer === undefined) throw new TypeError(`simulate: an op names peer ${op.peer}`)
    const live = peer.live
    if (live === undefined || !this.writes.ready(live)) return
    this.stats.ops++
    await this.writes.perform(op, op.peer, live, step)
  }

  #reconcile(): void {
    this.network.reconcile(this.env.monotonicMs(), (i) => this.peers[i]?.up === true)
  }

  /** Oracle (4), I3: an ack leaves a node only for what it holds durably. */
  #checkAck(from: number, to: number, cursor: number): void {
    const receiver = this.peers[from]
    const sender = this.peers[to]
    const live = receiver?.live
    if (live === undefined || sender?.nodeId === undefined) return
    const durable = live.cursors.durableCursor(sender.nodeId)
    if (cursor > durable)
      this.violate(
        `ack-before-durable: ${receiver?.name}#${live.number} acked ${sender.name}'s log up to ` +
          `${cursor}, but holds it durably only up to ${durable}`,
      )
  }

  #syncError(error: unknown): void {
    const code = isStarlingError(error) ? error.code : 'UNEXPECTED'
    this.stats.syncErrors[code] = (this.stats.syncErrors[code] ?? 0) + 1
    if (code === 'UNEXPECTED')
      this.violate(`sync-error: a node reported a non-Starling error: ${String(error)}`)
  }

  /**
   * A store's error is a violation, except a timestamp beyond the HLC's future bound when this run
   * puts clocks beyond it (`faults.clockSkewMsMax`): then it is the expected report, counted.
   */
  #storeError(error: unknown, where: string): void {
    if (
      isStarlingError(error, 'HLC_CLOCK_SKEW') &&
      this.config.faults.clockSkewMsMax > SKEW_MS_MAX
    ) {
      this.stats.storeErrors[error.code] = (this.stats.storeErrors[error.code] ?? 0) + 1
      return
    }
    this.violate(`store-error: ${where}: ${describeError(error)}`)
  }

  /** Oracle (3): bounds and stalls; a run that broke a bound stops there. */
  #bounds(): void {
    const found = checkBounds({
      network: this.network,
      limits: this.config.limits,
      incarnations: this.incarnations,
      stalled: this.writes.stalled(STALL_MS),
    })
    for (const violation of found) this.violate(violation)
    if (found.length > 0) this.#aborted = true
  }

  async #liveness(): Promise<void> {
    this.network.faulty = false
    this.network.heal()
    for (const peer of this.peers) if (!peer.up) await this.#restart(peer)
    const deadline = this.clock.nowMs + this.config.livenessBudgetMs
    let quiet = 0
    let frozen = 0
    while (this.clock.nowMs <= deadline && !this.#aborted) {
      const before = this.clock.nowMs
      this.#reconcile()
      if (this.#allSynced()) {
        // Synced twice, some time apart: nothing was about to change.
        if (++quiet >= 2) return void (this.#synced = true)
        await this.clock.advance(25)
        continue
      }
      quiet = 0
      const due = this.env.nextTimerDueMs()
      if (due === undefined) {
        await this.clock.settle()
        if (this.env.nextTimerDueMs() !== undefined || this.#allSynced()) continue
        this.violate(`liveness: stuck with nothing scheduled: ${this.#diagnosis()}`)
        return
      }
      await this.clock.advance(Math.max(0, due - this.clock.nowMs))
      this.#bounds()
      // Timers that keep falling due at the same instant would hold virtual time still forever.
      frozen = this.clock.nowMs === before ? frozen + 1 : 0
      if (frozen > FROZEN_ROUNDS_MAX) {
        this.violate(`liveness: virtual time stopped moving: ${this.#diagnosis()}`)
        return
      }
    }
    if (!this.#aborted)
      this.violate(
        `liveness: not synced ${this.config.livenessBudgetMs} ms after healing: ${this.#diagnosis()}`,
      )
  }

  #allSynced(): boolean {
    if (this.network.net.inFlight() > 0 || this.writes.pending > 0) return false
    return this.peers.every((peer) => {
      if (peer.broken) return true
      const status = peer.live?.node.status
      if (status?.state !== 'synced') return false
      return status.peers.filter((p) => p.open).length === this.#degree(peer.index)
    })
  }

  #degree(index: number): number {
    return this.network.edges.filter(
      ([i, j]) => (i === index || j === index) && !this.peers[i === index ? j : i]?.broken,
    ).length
  }

  #diagnosis(): string {
    return livenessDiagnosis(this.peers, this.network)
  }

  async #oracles(): Promise<void> {
    const peers = this.peers.flatMap((peer) =>
      peer.live === undefined ? [] : [{ name: peer.name, store: peer.live.store }],
    )
    const convergence = await checkConvergence(peers, this.config.table)
    const lost = await checkAckedWrites(peers, this.writes.acked)
    for (const violation of [...convergence.violations, ...lost]) this.violate(violation)
    for (const violation of (await this.config.oracle?.(peers)) ?? [])
      this.violate(`oracle: ${violation}`)
    this.#digest = convergence.digest
    this.#converged = convergence.violations.length === 0 && !this.peers.some((p) => p.broken)
  }

  #signature(): string {
    let text = `${this.env.pendingTimers()} ${this.network.net.inFlight()} ${this.writes.acked.length}`
    for (const peer of this.peers) {
      const store = peer.live?.store
      const wal = store === undefined ? undefined : storeInternalsOf(store).wal
      text += wal === undefined ? ' -' : ` ${wal.lastLsn}/${wal.durableLsn}`
    }
    return text
  }

  async shutdown(): Promise<void> {
    for (const peer of this.peers) await peer.close()
  }

  report(): SimulationReport {
    const totals = this.network.totals()
    const records = { localRecords: 0, relayedRecords: 0, catchUpBatches: 0 }
    for (const { cursors } of this.incarnations) {
      records.localRecords += cursors.localRecords
      records.relayedRecords += cursors.relayedRecords
      records.catchUpBatches += cursors.catchUpBatches
    }
    return {
      seed: this.config.seed,
      peers: this.config.peers,
      steps: this.config.steps,
      topology: this.config.topology,
      converged: this.#converged && this.#synced,
      violations: [...this.violations],
      stats: {
        ...this.stats,
        ackedWrites: this.writes.acked.length,
        ...records,
        ...totals,
        virtualMs: this.env.monotonicMs(),
      },
      digest: this.#digest,
      repro: reproCommand(this.options),
    }
  }
}

function emptyStats(): SimulationStats {
  return {
    ops: 0,
    ackedWrites: 0,
    crashes: 0,
    partitions: 0,
    localRecords: 0,
    relayedRecords: 0,
    catchUpBatches: 0,
    messages: 0,
    dropped: 0,
    duplicated: 0,
    virtualMs: 0,
    syncErrors: {},
    storeErrors: {},
  }
}
