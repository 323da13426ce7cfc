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
 * set only marks what exists and keeps the rest pending. So this check, which needs no document
 * state, is what separates updates that apply from updates that throw;
 * `test/property/update-check.property.test.ts` checks that against Yjs itself, on mutated
 * updates applied to documents in many states.
 */
import * as Y from 'yjs'

/** A struct reference as Yjs decodes it. */
interface Ref {
  client: number
  clock: number
}

/**
 * Decodes `update` completely and checks every struct's references to its own client. Throws an
 * `Error` saying what is wrong; the caller gives it its code.
 */
export function checkUpdate(update: Uint8Array): void {
  // Parses every struct, every content and the delete set: a malformed update fails here.
  const { structs } = Y.decodeUpdate(update)
  for (const struct of structs) {
    if (!(struct instanceof Y.Item)) continue
    const { client, clock } = struct.id
    checkOwnRef('origin', struct.origin, client, clock)
    checkOwnRef('right origin', struct.rightOrigin, client, clock)
    const parent: unknown = struct.parent
    if (parent instanceof Y.ID) checkOwnRef('parent', parent, client, clock)
  }
}

function checkOwnRef(name: string, ref: Ref | null, client: number, clock: number): void {
  if (ref === null || ref.client !== client || ref.clock < clock) return
  throw new Error(
    `struct ${client}:${clock} has its ${name} at ${ref.client}:${ref.clock}, not before itself`,
  )
}
