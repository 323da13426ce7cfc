/**
 * The end of `starling demo`: waiting until the three peers have exchanged everything, checking
 * that they converged (the same note — the trace's final text —, the same settings, the same
 * state vectors) and the figures of the run.
 */
import * as Y from 'yjs'
import { canonicalJson } from '../../policy/index.js'
import type { Store } from '../../store/index.js'
import { PEER_NAMES, type DemoCluster, type DemoPeer } from './cluster.js'
import { NOTE_KEY, type ScenarioState } from './run.js'
import { storeInternalsOf } from '../../store/internals.js'

/** One convergence check. */
export interface Check {
  name: string
  ok: boolean
  detail: string
}

/** What converging took: `settledMs` after typing ended, or the reason it did not happen. */
export interface Settled {
  ok: boolean
  ms: number
  reason?: string
}

const sleep = (ms: number): Promise<void> => new Promise((done) => setTimeout(done, ms))

/** Rejects after `ms` with `what` (the timer never keeps the process alive). */
function deadline(ms: number, what: string): { promise: Promise<never>; cancel: () => void } {
  let timer: NodeJS.Timeout | undefined
  const promise = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(what)), ms)
    timer.unref()
  })
  return { promise, cancel: () => clearTimeout(timer) }
}

/**
 * Waits until every peer's log is acknowledged by both others and every node reports `synced`
 * with the same state vectors everywhere, at most `timeoutMs`.
 */
export async function settle(cluster: DemoCluster, timeoutMs: number): Promise<Settled> {
  const started = performance.now()
  const peers = PEER_NAMES.map((name) => cluster.peers[name])
  const limit = deadline(timeoutMs, `not converged after ${timeoutMs / 1000} s`)
  try {
    const work = async (): Promise<void> => {
      for (;;) {
        await Promise.all(peers.map((peer) => peer.node.whenAcked(undefined, { peers: 2 })))
        await Promise.all(peers.map((peer) => peer.node.whenSynced()))
        if ((await stateVectorsDiffer(peers)) === undefined) return
        await sleep(20)
      }
    }
    await Promise.race([work(), limit.promise])
    return { ok: true, ms: performance.now() - started }
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error)
    return { ok: false, ms: performance.now() - started, reason }
  } finally {
    limit.cancel()
  }
}

/** State vectors of the documents compared: the note and the register document. */
async function stateVectors(store: Store): Promise<Map<string, Map<number, number>>> {
  const note = await store.load(NOTE_KEY)
  return new Map([
    [NOTE_KEY, Y.decodeStateVector(Y.encodeStateVector(note))],
    ['registry', Y.decodeStateVector(Y.encodeStateVector(storeInternalsOf(store).registry.doc))],
  ])
}

function sameVector(a: Map<number, number>, b: Map<number, number>): boolean {
  if (a.size !== b.size) return false
  for (const [client, clock] of a) if (b.get(client) !== clock) return false
  return true
}

/** The first document whose state vector differs between peers, if any. */
async function stateVectorsDiffer(peers: readonly DemoPeer[]): Promise<string | undefined> {
  const vectors = await Promise.all(peers.map((peer) => stateVectors(peer.store)))
  const [first, ...rest] = vectors
  for (const [doc, vector] of first ?? []) {
    for (const other of rest) {
      const theirs = other.get(doc)
      if (theirs === undefined || !sameVector(vector, theirs)) return doc
    }
  }
  return undefined
}

/** The register values under `settings/` of a store: `theme "dark", font-size 12`. */
function settingsOf(store: Store): string {
  return store
    .keys('settings/')
    .map((key) => `${key.slice('settings/'.length)} ${canonicalJson(store.get(key))}`)
    .join(', ')
}

/** Checks the three peers against each other and the note against `expected`. */
export async function verifyConvergence(cluster: DemoCluster, expected: string): Promise<Check[]> {
  const peers = PEER_NAMES.map((name) => cluster.peers[name])
  const texts = await Promise.all(
    peers.map(async (peer) => {
      await peer.store.load(NOTE_KEY)
      return peer.store.text(NOTE_KEY).toJSON()
    }),
  )
  const wrong = peers.filter((_, i) => texts[i] !== expected).map((peer) => peer.name)
  const settings = peers.map((peer) => settingsOf(peer.store))
  const keys = peers[0]?.store.keys('settings/').length ?? 0
  const settingsOk = settings.every((s) => s === settings[0]) && keys > 0
  const differs = await stateVectorsDiffer(peers)
  const chars = expected.length.toLocaleString('en-US')
  return [
    {
      name: NOTE_KEY,
      ok: wrong.length === 0,
      detail:
        wrong.length === 0
          ? `equal on alpha, beta and gamma, and to the trace's final text (${chars} chars)`
          : `differs from the trace's final text on ${wrong.join(', ')}`,
    },
    {
      name: 'settings/*',
      ok: settingsOk,
      detail: settingsOk
        ? `${keys} keys, equal on all three (${settings[0] ?? ''})`
        : `differ: ${peers.map((peer, i) => `${peer.name} ${settings[i] ?? ''}`).join('; ')}`,
    },
    {
      name: 'state vectors',
      ok: differs === undefined,
      detail:
        differs === undefined
          ? `equal on all three (${NOTE_KEY} and the register document)`
          : `differ for ${differs}`,
    },
  ]
}

/** Conflicts resolved on each peer (entries of its conflict log). */
export function conflictCounts(cluster: DemoCluster): string {
  return PEER_NAMES.map((name) => `${name} ${cluster.peers[name].store.conflicts().length}`).join(
    ', ',
  )
}

/** Bytes sent on each directed link of the network (relays included), as table rows. */
function linkRows(cluster: DemoCluster): string[][] {
  const links = cluster.network.stats().filter((link) => link.bytesSent > 0)
  const total = links.reduce((sum, link) => sum + link.bytesSent, 0)
  const kib = (bytes: number): string => `${Math.round(bytes / 1024).toLocaleString('en-US')} KiB`
  const each = links.map((link) => `${link.from}→${link.to} ${kib(link.bytesSent)}`)
  const rows = [['network', `${kib(total)} sent in all (relays included)`]]
  for (let i = 0; i < each.length; i += 3) rows.push(['', each.slice(i, i + 3).join(', ')])
  return rows
}

/** The figures printed at the end, as [label, value] rows. */
export function figureRows(
  cluster: DemoCluster,
  state: ScenarioState,
  batch: number,
  totalMs: number,
): string[][] {
  const n = (value: number): string => value.toLocaleString('en-US')
  const kib = (bytes: number): string => `${n(Math.round(bytes / 1024))} KiB`
  const peers = PEER_NAMES.map((name) => cluster.peers[name])
  const { alpha } = cluster.peers
  const sent = peers.reduce(
    (sum, p) => ({
      frames: sum.frames + p.sent.recordFrames,
      bytes: sum.bytes + p.sent.recordBytes,
    }),
    { frames: 0, bytes: 0 },
  )
  const catchUp = state.catchUp
  const gamma = cluster.peers.gamma
  const catchUpRows: string[][] =
    catchUp === undefined
      ? [['catch-up (gamma)', 'gamma never went offline (too few edits)']]
      : catchUp.ms === undefined || catchUp.bytes === undefined
        ? [['catch-up (gamma)', 'not finished']]
        : [
            [
              'catch-up (gamma)',
              `${kib(catchUp.bytes)} received in ${n(Math.round(catchUp.ms))} ms, ` +
                `${gamma.catchUpsIn > 0 ? 'by state vectors' : 'from the logs'} ` +
                `(minimal Yjs diff ${kib(catchUp.minimalDiffBytes)})`,
            ],
            ['', `offline from edit ${n(state.offlineAtEdit ?? 0)} to ${n(catchUp.atEdit)}`],
          ]
  return [
    ['edits', `${n(state.typed)} typed on alpha in ${n(state.turns)} turns of ${n(batch)}`],
    [
      'durable logs',
      peers
        .map((p) => `${p.name} ${n(storeInternalsOf(p.store).wal.durableLsn)} records`)
        .join(', '),
    ],
    [
      'durable acks',
      `${n(peers.reduce((sum, p) => sum + p.acks, 0))} acknowledgements; alpha's ` +
        `${n(storeInternalsOf(alpha.store).wal.durableLsn)} records acknowledged by beta and gamma`,
    ],
    [
      'records shipped',
      `${n(peers.reduce((sum, p) => sum + p.receivedRecords, 0))} log records made durable by ` +
        `peers, in ${n(sent.frames)} RECORDS frames (${kib(sent.bytes)})`,
    ],
    ...linkRows(cluster),
    ...catchUpRows,
    [
      'settings',
      `${n(state.settingsWrites)} writes by beta and gamma; conflicts resolved by HLC: ${conflictCounts(cluster)}`,
    ],
    ['total time', `${(totalMs / 1000).toFixed(1)} s`],
  ]
}
