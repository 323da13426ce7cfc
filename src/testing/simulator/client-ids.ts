/**
 * Deterministic Yjs client ids. Yjs draws a document's client id from the platform's secure
 * random source, and orders concurrent inserts at one position by client id, so two runs of the
 * same seed would end with different (equally valid) texts. The simulator gives every document it
 * edits an id from the run's seeded stream instead, before the first local edit of that document
 * object — which keeps I12 (a fresh id per open, never reused) because each store incarnation's
 * documents are new objects and no id is handed out twice in a run.
 */
import * as Y from 'yjs'
import type { Rng } from '../../core/random.js'

/** Hands out client ids from a seeded stream (see the module comment). */
export class ClientIds {
  readonly #rng: Rng
  readonly #used = new Set<number>()
  readonly #assigned = new WeakSet<Y.Doc>()

  constructor(rng: Rng) {
    this.#rng = rng
  }

  /** Gives `doc` a seeded client id, once, unless its own id already wrote content. */
  assign(doc: Y.Doc): void {
    if (this.#assigned.has(doc)) return
    this.#assigned.add(doc)
    // Changing the id of a document that already wrote under it would split its history.
    if (Y.getState(doc.store, doc.clientID) > 0) return
    let id = this.#rng.uint32()
    while (id === 0 || this.#used.has(id)) id = this.#rng.uint32()
    this.#used.add(id)
    doc.clientID = id
  }
}
