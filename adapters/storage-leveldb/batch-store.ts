/**
 * The writes that store a document state in y-leveldb's layout (`layout.ts`): the keys
 * y-leveldb's `storeUpdate` (and, past `storedUpdatesMax`, its `flushDocument`) would write, as
 * one list of operations. `storeDoc` writes one document's list, `storeDocs` every document's,
 * each as ONE synced LevelDB batch: atomic, so after a crash every document holds its old or its
 * new state (all of them the one or the other), never a state-vector record without its update.
 */
import * as Y from 'yjs'
import {
  docKeyRange,
  docRecordKey,
  encodeDocRecord,
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

/**
 * The writes that store `checked` as a new update of document `key`. A document that would then
 * hold more than `storedUpdatesMax` updates is compacted in the same batch: its stored updates
 * and the new state merged (in a scratch Y.Doc, as y-leveldb does) at the new clock, the state
 * vector record rewritten with that clock, the older updates deleted.
 */
export async function planStore(
  reads: LayoutReads,
  storedUpdatesMax: number,
  key: string,
  checked: CheckedState,
): Promise<BatchOp[]> {
  const record = await readDocRecord(reads, key)
  if (record === undefined) {
    // Leftovers of a delete cut short by a crash (y-leveldb deletes the record first, then the
    // rest) would merge into the new document: the same batch deletes them.
    const residue = await reads.keys(docKeyRange(key)).all()
    return [
      ...residue.map((old): BatchOp => ({ type: 'del', key: old })),
      { type: 'put', key: docRecordKey(key), value: encodeDocRecord(0, checked.stateVector) },
      { type: 'put', key: updateKey(key, 0), value: checked.state },
    ]
  }
  const clock = (await lastUpdateClock(reads, key)) + 1
  // Updates stored after this write: from the record's clock (the oldest one) to `clock`.
  if (clock - record.clock + 1 <= storedUpdatesMax)
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

/**
 * The deletes that remove document `key`: its state-vector record and every key in its range
 * (updates and metadata), as y-leveldb's `clearDocument` — but in one batch, so no crash can
 * leave part of it.
 */
export async function planDelete(reads: LayoutReads, key: string): Promise<BatchOp[]> {
  const keys = await reads.keys(docKeyRange(key)).all()
  return [docRecordKey(key), ...keys].map((old): BatchOp => ({ type: 'del', key: old }))
}

/** Merges states in a scratch document (linear, unlike `Y.mergeUpdates` on many inputs). */
export function mergeStates(states: readonly Uint8Array[]): CheckedState {
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
