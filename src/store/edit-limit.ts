/**
 * The largest edit a store takes, and how one over it is refused without harm.
 *
 * Every WAL record has a size limit (`STORE_LIMITS.recordBytesMax`), and a local edit reaches the
 * WAL as part of one record. An edit too large for it cannot be made durable, yet by the time
 * Starling sees a Yjs transaction (a paste into a Y.Text an editor is bound to) it is applied in
 * memory already. So an oversized local transaction is taken back at once, in the same document,
 * with an undo of exactly that transaction (a Yjs UndoManager step that deletes what it inserted
 * and restores what it deleted), before Yjs drops any deleted content. The undone content is
 * garbage collected, so the transaction and its undo together encode to a few bytes: that is
 * what the WAL records, and memory, WAL and peers agree again (docs/errors.md,
 * `STORE_EDIT_TOO_LARGE`).
 */
import * as Y from 'yjs'
import { StarlingError } from '../core/errors.js'

/**
 * Largest estimated content of one WAL record of local changes: one edit, one `store.transact()`,
 * or the edits of one turn of the event loop (strings counted in UTF-16 code units, so 16 Mi
 * characters of text). A quarter of the record limit, which covers UTF-8 (at most 3 bytes per
 * code unit) and encoding overhead.
 */
export const EDIT_BYTES_MAX = 16 * 1024 * 1024

/** The typed refusal of an edit over {@link EDIT_BYTES_MAX}. */
export function editTooLarge(key: string, bytes: number, undone: boolean): StarlingError {
  const outcome = undone ? 'it was undone' : 'nothing was applied'
  return new StarlingError(
    'STORE_EDIT_TOO_LARGE',
    `${key}: an edit of about ${bytes} bytes is larger than the ${EDIT_BYTES_MAX} a store takes in one record; ${outcome}`,
    { key, bytes, editBytesMax: EDIT_BYTES_MAX },
  )
}

/**
 * Takes back a local transaction of `doc` from inside its `afterTransaction` event (before Yjs
 * garbage-collects what it deleted). The undo runs as a new transaction whose origin is the
 * returned object; its cleanup follows the refused one's. Undefined when there was nothing to undo.
 */
export function undoTransaction(doc: Y.Doc, transaction: Y.Transaction): object | undefined {
  const undo = new Y.UndoManager(doc, {
    trackedOrigins: new Set([transaction.origin]),
    captureTimeout: 0,
  })
  try {
    // The manager was created after the transaction began: hand it the one step to take back.
    undo.afterTransactionHandler(transaction)
    undo.captureTransaction = () => false
    return undo.undo() === null ? undefined : undo
  } finally {
    undo.destroy()
  }
}
