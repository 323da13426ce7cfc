/**
 * The scenario of `starling demo`: alpha types the editing trace into `notes/paper` in turns
 * (awaiting durability after each, so the event loop runs sync between turns); gamma is unlinked
 * for a middle part of the trace and then reconnects and catches up; beta and gamma write the same
 * `settings/*` keys every few turns (concurrently, and while gamma is offline), so real conflicts
 * are resolved by HLC under `lww()`.
 */
import * as Y from 'yjs'
import type { NodeId } from '../../core/ids.js'
import type { DemoCluster, DemoPeer, PeerName } from './cluster.js'
import type { DemoSnapshot, DemoView } from './view.js'
import { storeInternalsOf } from '../../store/internals.js'

/** The key alpha types into. */
export const NOTE_KEY = 'notes/paper'

/** The keys beta and gamma both write, in turn. */
export const SETTING_KEYS = ['settings/theme', 'settings/font-size', 'settings/spellcheck'] as const

/** Types trace transactions `[from, to)` into a Y.Text. */
export type TypeTxns = (text: Y.Text, from: number, to: number) => void

/** How to run the scenario. */
export interface ScenarioOptions {
  /** Edits (trace transactions) to type. */
  edits: number
  /** Edits per turn. */
  batch: number
  /** gamma is offline from this fraction of the edits to the next (e.g. 0.35, 0.65). */
  offlineFrom: number
  offlineTo: number
  /** beta and gamma write a setting every this many turns. */
  settingsEvery: number
  typeTxns: TypeTxns
}

/** What the run measured of gamma's catch-up after it reconnected. */
export interface CatchUp {
  atEdit: number
  /** alpha's durable LSN at the reconnect: caught up once gamma acknowledged it. */
  targetLsn: number
  /** Size of `Y.encodeStateAsUpdate(alpha's note, gamma's state vector)` at the reconnect. */
  minimalDiffBytes: number
  startedMs: number
  bytesBefore: number
  /** Set once caught up. */
  ms?: number
  bytes?: number
}

/** Progress and figures of a run. */
export interface ScenarioState {
  readonly startedMs: number
  typed: number
  turns: number
  /** Settings written by beta and by gamma. */
  settingsWrites: number
  offlineAtEdit: number | undefined
  catchUp: CatchUp | undefined
  /** alpha's durable LSN after each turn and the edits typed by then (for acked edits). */
  readonly samples: { lsn: number; edits: number }[]
  /** alpha's log acknowledged by each other peer (cursor). */
  readonly ackedBy: Map<NodeId, number>
}

const THEMES = ['dark', 'light', 'solarized', 'sepia', 'contrast']

/** Bytes every peer sent to gamma so far. */
function bytesToGamma(cluster: DemoCluster): number {
  let bytes = 0
  for (const link of cluster.network.stats()) if (link.to === 'gamma') bytes += link.bytesSent
  return bytes
}

/** Edits acknowledged by `peer`: those typed by the newest sample its cursor covers. */
export function ackedEdits(state: ScenarioState, peer: DemoPeer): number {
  const cursor = state.ackedBy.get(peer.store.nodeId) ?? 0
  let lo = 0
  let hi = state.samples.length
  while (lo < hi) {
    const mid = (lo + hi) >> 1
    if ((state.samples[mid] as { lsn: number }).lsn <= cursor) lo = mid + 1
    else hi = mid
  }
  return lo === 0 ? 0 : (state.samples[lo - 1] as { edits: number }).edits
}

/** The snapshot the view shows. */
export function snapshotOf(
  cluster: DemoCluster,
  state: ScenarioState,
  edits: number,
): DemoSnapshot {
  const { alpha, beta, gamma } = cluster.peers
  return {
    elapsedMs: performance.now() - state.startedMs,
    edits,
    typed: state.typed,
    acked: [beta, gamma].map((peer) => ({
      name: peer.name,
      edits: ackedEdits(state, peer),
      online: cluster.network.isLinked('alpha', peer.name),
    })),
    statuses: [alpha, beta, gamma].map((peer) => ({ name: peer.name, status: peer.node.status })),
  }
}

/** Starts the bookkeeping of a run (listening to alpha's acknowledgements). */
export function createScenarioState(cluster: DemoCluster, view: DemoView): ScenarioState {
  const state: ScenarioState = {
    startedMs: performance.now(),
    typed: 0,
    turns: 0,
    settingsWrites: 0,
    offlineAtEdit: undefined,
    catchUp: undefined,
    samples: [],
    ackedBy: new Map(),
  }
  const gammaId = cluster.peers.gamma.store.nodeId
  cluster.peers.alpha.node.on('event', (event) => {
    if (event.type !== 'acked') return
    state.ackedBy.set(event.node, Math.max(state.ackedBy.get(event.node) ?? 0, event.cursor))
    const catchUp = state.catchUp
    if (event.node !== gammaId || catchUp === undefined || catchUp.ms !== undefined) return
    if (event.cursor < catchUp.targetLsn) return
    catchUp.ms = performance.now() - catchUp.startedMs
    catchUp.bytes = bytesToGamma(cluster) - catchUp.bytesBefore
    view.event(
      `gamma caught up: ${(catchUp.bytes / 1024).toFixed(0)} KiB received in ` +
        `${catchUp.ms.toFixed(0)} ms (alpha kept typing)`,
    )
  })
  return state
}

/** beta and gamma write the same setting (concurrently: neither has seen the other's write). */
async function writeSettings(cluster: DemoCluster, state: ScenarioState): Promise<void> {
  const round = state.settingsWrites / 2
  const key = SETTING_KEYS[round % SETTING_KEYS.length] as string
  const value = (name: PeerName, salt: number): string | number | boolean => {
    if (key === 'settings/theme') return `${THEMES[(round + salt) % THEMES.length]} (${name})`
    if (key === 'settings/font-size') return 12 + ((round + salt) % 9)
    return (round + salt) % 2 === 0
  }
  state.settingsWrites += 2
  await Promise.all([
    cluster.peers.beta.store.set(key, value('beta', 0)),
    cluster.peers.gamma.store.set(key, value('gamma', 3)),
  ])
}

function goOffline(cluster: DemoCluster, state: ScenarioState, view: DemoView): void {
  cluster.network.unlink('alpha', 'gamma', 'demo: gamma goes offline')
  cluster.network.unlink('beta', 'gamma', 'demo: gamma goes offline')
  state.offlineAtEdit = state.typed
  view.event(`gamma goes offline at edit ${state.typed.toLocaleString('en-US')}`)
}

async function reconnect(
  cluster: DemoCluster,
  state: ScenarioState,
  view: DemoView,
): Promise<void> {
  const { alpha, gamma } = cluster.peers
  const alphaDoc = await alpha.store.load(NOTE_KEY)
  const gammaDoc = await gamma.store.load(NOTE_KEY)
  const diff = Y.encodeStateAsUpdate(alphaDoc, Y.encodeStateVector(gammaDoc))
  state.catchUp = {
    atEdit: state.typed,
    targetLsn: storeInternalsOf(alpha.store).wal.durableLsn,
    minimalDiffBytes: diff.length,
    startedMs: performance.now(),
    bytesBefore: bytesToGamma(cluster),
  }
  view.event(
    `gamma reconnects at edit ${state.typed.toLocaleString('en-US')}: ` +
      `${(diff.length / 1024).toFixed(0)} KiB of the note to catch up (minimal Yjs diff)`,
  )
  cluster.network.link('alpha', 'gamma')
  cluster.network.link('beta', 'gamma')
}

/** Types the trace on alpha, turn by turn, with gamma's absence and the settings writes. */
export async function runScenario(
  cluster: DemoCluster,
  state: ScenarioState,
  view: DemoView,
  options: ScenarioOptions,
): Promise<void> {
  const { alpha, beta, gamma } = cluster.peers
  const text = alpha.store.text(NOTE_KEY)
  // Everyone has the note open (as an editor would): what arrives is applied as it comes.
  await Promise.all([alpha, beta, gamma].map((peer) => peer.store.load(NOTE_KEY)))
  const offlineFrom = Math.floor(options.edits * options.offlineFrom)
  const offlineTo = Math.floor(options.edits * options.offlineTo)
  while (state.typed < options.edits) {
    const to = Math.min(state.typed + options.batch, options.edits)
    options.typeTxns(text, state.typed, to)
    state.typed = to
    const writes = state.turns % options.settingsEvery === 0 ? writeSettings(cluster, state) : null
    await Promise.all([alpha.store.flush(), writes])
    state.turns++
    state.samples.push({ lsn: storeInternalsOf(alpha.store).wal.durableLsn, edits: to })
    if (state.offlineAtEdit === undefined && to >= offlineFrom && to < offlineTo)
      goOffline(cluster, state, view)
    else if (state.offlineAtEdit !== undefined && state.catchUp === undefined && to >= offlineTo)
      await reconnect(cluster, state, view)
    view.update(snapshotOf(cluster, state, options.edits))
  }
  // A last pair of concurrent writes at the end, so the final values are contested too.
  await writeSettings(cluster, state)
}
