/**
 * Whether a Yjs update can be applied without throwing, checked before it is logged (I10,
 * docs/sync.md "Remote apply"). An update can decode completely and still make `Y.applyUpdate`
 * throw half-way, leaving part of it applied: Yjs resolves a struct's references to structs of
 * *other* clients only once they are present (until then the struct waits as pending), but takes
 * references to its *own* client as present without looking, because a client's clocks only grow
 * and it can only refer to what it wrote before. A struct whose origin, right origin or parent
 * lies at or after its own clock therefore makes Yjs look up a struct that is not there — at
 * once, or only against a document that already holds the client's earlier clocks (on a fresh
 * document the struct waits as pending, so applying to a fresh document proves nothing).
 *
 * Every other reference resolves or waits: a struct of another client either exists (the
 * client's clocks are contiguous from 0 in a document) or is missing and makes the struct wait;
 * a reference that resolves to a collected struct turns the item into a collected one; a delete
 * set only marks what exists and keeps the rest pending. Empty structs and empty deletion
 * ranges, which no Yjs client writes, break its struct search and its encoder. So this check,
 * which needs no document state, is what separates updates that apply from updates that throw;
 * `test/property/update-check.property.test.ts` checks that against Yjs itself, with forged and
 * mutated updates applied to documents in many states.
 */
import * as Y from 'yjs'

/** A struct reference as Yjs decodes it. */
interface Ref {
  client: number
  clock: number
}

/**
 * Decodes `update` completely and checks every struct's length and references to its own client,
 * and the delete set's ranges. Throws an `Error` saying what is wrong; the caller gives it its
 * code.
 */
export function checkUpdate(update: Uint8Array): void {
  // Parses every struct, every content and the delete set: a malformed update fails here.
  const { structs, ds } = Y.decodeUpdate(update)
  for (const struct of structs) {
    const { client, clock } = struct.id
    // An empty struct (an empty string, say) breaks Yjs's struct search once it is stored.
    if (struct.length < 1) throw new Error(`struct ${client}:${clock} is empty`)
    if (!(struct instanceof Y.Item)) continue
    checkOwnRef('origin', struct.origin, client, clock)
    checkOwnRef('right origin', struct.rightOrigin, client, clock)
    const parent: unknown = struct.parent
    if (parent instanceof Y.ID) checkOwnRef('parent', parent, client, clock)
  }
  // An empty deletion range cannot be kept pending (Yjs refuses to encode it, mid-apply).
  for (const [client, ranges] of ds.clients) {
    for (const range of ranges)
      if (range.len === 0) throw new Error(`empty deletion range at ${client}:${range.clock}`)
  }
}

function checkOwnRef(name: string, ref: Ref | null, client: number, clock: number): void {
  if (ref === null || ref.client !== client || ref.clock < clock) return
  throw new Error(
    `struct ${client}:${clock} has its ${name} at ${ref.client}:${ref.clock}, not before itself`,
  )
}
