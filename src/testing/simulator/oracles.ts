/**
 * The end-of-run oracles, checked once every peer reported `synced` with nothing in flight:
 *
 * - convergence (I6, I7): every peer has the same keys, resolves every key to the same value, and
 *   holds every document (the registry included) with the same state vector and delete set;
 * - no acknowledged write lost (I1): every update of every acknowledged write is contained in the
 *   same document on every peer (`Y.snapshotContainsUpdate`: its structs within the state vector,
 *   its deletions within the delete set).
 *
 * Also returns a digest of the final state, so two runs of one seed can be compared whole.
 */
import * as Y from 'yjs'
import { crc32c } from '../../core/crc32c.js'
import { canonicalJson } from '../../policy/json.js'
import { isCrdtPolicy } from '../../policy/policies.js'
import type { PolicyTable } from '../../policy/table.js'
import type { Store } from '../../store/store.js'
import { REGISTRY_KEY } from '../../store/keys.js'
import type { AckedWrite } from './writes.js'
import { syncPortOf } from '../../store/sync-port.js'

/** A running peer as the oracles see it. */
export interface OraclePeer {
  name: string
  store: Store
}

/** What one peer holds, normalized for comparison. */
interface PeerState {
  keys: string[]
  values: Map<string, string>
  docs: Map<string, { stateVector: string; deleteSet: string; pending: boolean }>
}

const hex = (bytes: Uint8Array): string =>
  Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')

async function readState(store: Store, table: PolicyTable, docKeys: string[]): Promise<PeerState> {
  const keys = store.keys()
  const values = new Map<string, string>()
  for (const key of keys) {
    if (isCrdtPolicy(table.policyFor(key))) await store.load(key)
    values.set(key, canonicalJson(store.get(key) ?? null))
  }
  const docs: PeerState['docs'] = new Map()
  for (const key of docKeys) {
    const doc = await syncPortOf(store).docFor(key)
    const stateVector = Y.encodeStateVector(doc)
    // An update holding no struct past the state vector is exactly the delete set.
    const deleteSet = Y.encodeStateAsUpdate(doc, stateVector)
    const pending = doc.store.pendingStructs !== null || doc.store.pendingDs !== null
    docs.set(key, { stateVector: hex(stateVector), deleteSet: hex(deleteSet), pending })
  }
  return { keys, values, docs }
}

/** Violations of convergence between `peers` (the first is the reference), and the digest. */
export async function checkConvergence(
  peers: readonly OraclePeer[],
  table: PolicyTable,
): Promise<{ violations: string[]; digest: string }> {
  const keySet = new Set<string>()
  for (const { store } of peers)
    for (const key of await syncPortOf(store).docKeys()) keySet.add(key)
  const docKeys = [...keySet].sort()
  const states: PeerState[] = []
  for (const { store } of peers) states.push(await readState(store, table, docKeys))
  const violations: string[] = []
  const [reference, ...others] = states
  if (reference === undefined) return { violations, digest: '' }
  const first = (peers[0] as OraclePeer).name
  for (const [name, state] of peers.map((p, i) => [p.name, states[i] as PeerState] as const)) {
    for (const [key, doc] of state.docs) {
      if (doc.pending)
        violations.push(`convergence: ${name} ${label(key)}: updates it cannot integrate`)
    }
  }
  others.forEach((state, i) => {
    const name = (peers[i + 1] as OraclePeer).name
    const where = `${name} vs ${first}`
    if (state.keys.join('\n') !== reference.keys.join('\n')) {
      violations.push(
        `convergence: ${where}: keys ${JSON.stringify(state.keys)} vs ${JSON.stringify(reference.keys)}`,
      )
    }
    for (const [key, value] of reference.values) {
      const other = state.values.get(key)
      if (other !== undefined && other !== value)
        violations.push(`convergence: ${where}: ${key} = ${clip(other)} vs ${clip(value)}`)
    }
    for (const [key, doc] of reference.docs) {
      const other = state.docs.get(key)
      if (other?.stateVector !== doc.stateVector)
        violations.push(`convergence: ${where}: ${label(key)} state vectors differ`)
      else if (other.deleteSet !== doc.deleteSet)
        violations.push(`convergence: ${where}: ${label(key)} delete sets differ`)
    }
  })
  return { violations, digest: digestOf(reference) }
}

/** Violations of I1: acknowledged writes some peer does not hold. */
export async function checkAckedWrites(
  peers: readonly OraclePeer[],
  writes: readonly AckedWrite[],
): Promise<string[]> {
  const violations: string[] = []
  for (const { name, store } of peers) {
    const snapshots = new Map<string, Y.Snapshot>()
    const snapshotOf = async (key: string): Promise<Y.Snapshot> => {
      let snapshot = snapshots.get(key)
      if (snapshot === undefined)
        snapshots.set(key, (snapshot = Y.snapshot(await syncPortOf(store).docFor(key))))
      return snapshot
    }
    for (const write of writes) {
      for (const { key, update } of write.updates) {
        if (!Y.snapshotContainsUpdate(await snapshotOf(key), update)) {
          violations.push(`lost-write: ${name} lacks ${label(key)} of acknowledged ${write.what}`)
          break
        }
      }
    }
  }
  return violations
}

function label(key: string): string {
  return key === REGISTRY_KEY ? 'the registry' : key
}

function clip(text: string): string {
  return text.length > 80 ? `${text.slice(0, 77)}...` : text
}

function digestOf(state: PeerState): string {
  const text = JSON.stringify([state.keys, [...state.values], [...state.docs]])
  return crc32c(new TextEncoder().encode(text)).toString(16).padStart(8, '0')
}
