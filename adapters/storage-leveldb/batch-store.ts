/**
 * The writes of `storeDocs`: for every document, the same keys y-leveldb's `storeUpdate` (and,
 * past `storedUpdatesMax`, its `flushDocument`) would write, collected into ONE batch, so a
 * checkpoint of many documents costs one synced LevelDB write and one directory fsync instead of
 * several of each per document. The batch is atomic: after a crash every document holds its old
 * or its new state (all of them the one or the other).
 */
import * as Y from 'yjs'
import {
  docRecordKey,
  encodeDocRecord,
  hasResidue,
  lastUpdateClock,
  readDocRecord,
  updateKey,
  updateKeyRange,
  type LayoutReads,
  type YKey,
} from './layout.js'

/** One write of a batch. */
export type BatchOp = { type: 'put'; key: YKey; value: Uint8Array } | { type: 'del'; key: YKey }

/** A state to store: validated bytes and the state vector they describe. */
export interface CheckedState {
  state: Uint8Array
  stateVector: Uint8Array
}

/** What planning needs besides the reads: clearing a delete a crash cut short. */
export interface PlanContext {
  reads: LayoutReads
  storedUpdatesMax: number
  clearResidue(key: string): Promise<void>
}

/**
 * The writes that store `checked` as a new update of document `key`. A document that would then
 * hold more than `storedUpdatesMax` updates is compacted in the same batch: its stored updates
 * and the new state merged (in a scratch Y.Doc, as y-leveldb does) at the new clock, the state
 * vector record rewritten with that clock, the older updates deleted.
 */
export async function planStore(
  context: PlanContext,
  key: string,
  checked: CheckedState,
): Promise<BatchOp[]> {
  const { reads } = context
  const record = await readDocRecord(reads, key)
  if (record === undefined) {
    // Leftovers of a delete cut short by a crash would merge into the new document: clear them.
    if (await hasResidue(reads, key)) await context.clearResidue(key)
    return [
      { type: 'put', key: docRecordKey(key), value: encodeDocRecord(0, checked.stateVector) },
      { type: 'put', key: updateKey(key, 0), value: checked.state },
    ]
  }
  const clock = (await lastUpdateClock(reads, key)) + 1
  if (clock - record.clock + 1 <= context.storedUpdatesMax)
    return [{ type: 'put', key: updateKey(key, clock), value: checked.state }]
  const range = updateKeyRange(key)
  const keys = await reads.keys(range).all()
  const stored = await reads.values(range).all()
  const merged = mergeStates([...stored, checked.state])
  return [
    ...keys.map((old): BatchOp => ({ type: 'del', key: old })),
    { type: 'put', key: updateKey(key, clock), value: merged.state },
    { type: 'put', key: docRecordKey(key), value: encodeDocRecord(clock, merged.stateVector) },
  ]
}

/** Merges states in a scratch document (linear, unlike `Y.mergeUpdates` on many inputs). */
function mergeStates(states: readonly Uint8Array[]): CheckedState {
  const doc = new Y.Doc()
  try {
    doc.transact(() => {
      for (const state of states) Y.applyUpdate(doc, state)
    })
    return { state: Y.encodeStateAsUpdate(doc), stateVector: Y.encodeStateVector(doc) }
  } finally {
    doc.destroy()
  }
}
