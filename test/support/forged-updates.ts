/**
 * Hostile Yjs updates for tests: forged structs in Yjs's v1 update layout (origins, right origins
 * and parents pointing anywhere, collected and skipped structs, deletion ranges, the client's own
 * clocks included), and byte mutations of real updates.
 */
import fc from 'fast-check'
import * as encoding from 'lib0/encoding'

/** A struct reference. */
export interface ForgedRef {
  client: number
  clock: number
}

/** Kinds of item content forged (every content type Yjs knows, and several shared types). */
export type ContentKind = (typeof CONTENT_KINDS)[number]
const CONTENT_KINDS = [
  'string',
  'deleted',
  'text',
  'map',
  'array',
  'xml-element',
  'xml-fragment',
  'xml-text',
  'any',
  'json',
  'binary',
  'embed',
  'format',
  'doc',
] as const

/** A forged struct: an item (with its references and content), a collected or a skipped range. */
export interface ForgedStruct {
  kind: 'item' | 'gc' | 'skip'
  origin: ForgedRef | null
  rightOrigin: ForgedRef | null
  /** Root name, or an item id, used when neither origin is set. */
  parent: string | ForgedRef
  parentSub: string | null
  content: ContentKind
  length: number
}

/** A forged update: one client section starting at `clock`, and deletion ranges. */
export interface Forged {
  client: number
  clock: number
  structs: ForgedStruct[]
  deletes: { client: number; clock: number; length: number }[]
}

/** Forged updates of clients among `clients` (and one more), with clocks up to `clockMax`. */
export function forgedUpdate(clients: readonly number[], clockMax = 30): fc.Arbitrary<Forged> {
  const client = fc.constantFrom(...clients, Math.max(...clients) + 1)
  const ref: fc.Arbitrary<ForgedRef> = fc.record({ client, clock: fc.nat(clockMax) })
  const struct: fc.Arbitrary<ForgedStruct> = fc.record({
    kind: fc.constantFrom('item', 'item', 'item', 'gc', 'skip'),
    origin: fc.option(ref),
    rightOrigin: fc.option(ref),
    parent: fc.oneof(fc.constantFrom('value', 'm', 'a', 'x', 'other'), ref),
    parentSub: fc.option(fc.constantFrom('k', 'x')),
    content: fc.constantFrom(...CONTENT_KINDS),
    length: fc.integer({ min: 0, max: 3 }),
  })
  return fc.record({
    client,
    clock: fc.nat(clockMax),
    structs: fc.array(struct, { minLength: 1, maxLength: 4 }),
    deletes: fc.array(fc.record({ client, clock: fc.nat(clockMax), length: fc.nat(5) }), {
      maxLength: 2,
    }),
  })
}

/** Encodes a forged update (Yjs v1: client sections, then the delete set). */
export function encodeForged(update: Forged): Uint8Array {
  const e = encoding.createEncoder()
  encoding.writeVarUint(e, 1)
  encoding.writeVarUint(e, update.structs.length)
  encoding.writeVarUint(e, update.client)
  encoding.writeVarUint(e, update.clock)
  for (const s of update.structs) writeStruct(e, s)
  const byClient = new Map<number, { clock: number; length: number }[]>()
  for (const d of update.deletes) byClient.set(d.client, [...(byClient.get(d.client) ?? []), d])
  encoding.writeVarUint(e, byClient.size)
  for (const [client, ranges] of byClient) {
    encoding.writeVarUint(e, client)
    encoding.writeVarUint(e, ranges.length)
    for (const r of ranges) {
      encoding.writeVarUint(e, r.clock)
      encoding.writeVarUint(e, r.length)
    }
  }
  return encoding.toUint8Array(e)
}

const CONTENT_REF: Record<ContentKind, number> = {
  deleted: 1,
  json: 2,
  binary: 3,
  string: 4,
  embed: 5,
  format: 6,
  text: 7,
  map: 7,
  array: 7,
  'xml-element': 7,
  'xml-fragment': 7,
  'xml-text': 7,
  any: 8,
  doc: 9,
}
/** Yjs's type reference numbers of the shared types. */
const TYPE_REF: Partial<Record<ContentKind, number>> = {
  array: 0,
  map: 1,
  text: 2,
  'xml-element': 3,
  'xml-fragment': 4,
  'xml-text': 6,
}

function writeStruct(e: encoding.Encoder, s: ForgedStruct): void {
  if (s.kind !== 'item') {
    encoding.writeUint8(e, s.kind === 'gc' ? 0 : 10)
    encoding.writeVarUint(e, s.length)
    return
  }
  const orphan = s.origin === null && s.rightOrigin === null
  const info =
    CONTENT_REF[s.content] |
    (s.origin === null ? 0 : 0x80) |
    (s.rightOrigin === null ? 0 : 0x40) |
    (orphan && s.parentSub !== null ? 0x20 : 0)
  encoding.writeUint8(e, info)
  if (s.origin !== null) writeRef(e, s.origin)
  if (s.rightOrigin !== null) writeRef(e, s.rightOrigin)
  if (orphan) {
    if (typeof s.parent === 'string') {
      encoding.writeVarUint(e, 1)
      encoding.writeVarString(e, s.parent)
    } else {
      encoding.writeVarUint(e, 0)
      writeRef(e, s.parent)
    }
    if (s.parentSub !== null) encoding.writeVarString(e, s.parentSub)
  }
  writeContent(e, s)
}

function writeRef(e: encoding.Encoder, r: ForgedRef): void {
  encoding.writeVarUint(e, r.client)
  encoding.writeVarUint(e, r.clock)
}

function writeContent(e: encoding.Encoder, s: ForgedStruct): void {
  const typeRef = TYPE_REF[s.content]
  if (typeRef !== undefined) {
    encoding.writeVarUint(e, typeRef)
    if (s.content === 'xml-element') encoding.writeVarString(e, 'p')
    return
  }
  switch (s.content) {
    case 'deleted':
      encoding.writeVarUint(e, s.length)
      return
    case 'string':
      encoding.writeVarString(e, 'xyz'.slice(0, s.length))
      return
    case 'any':
      encoding.writeVarUint(e, s.length)
      for (let i = 0; i < s.length; i++) encoding.writeAny(e, i)
      return
    case 'json':
      encoding.writeVarUint(e, s.length)
      for (let i = 0; i < s.length; i++) encoding.writeVarString(e, JSON.stringify({ i }))
      return
    case 'binary':
      encoding.writeVarUint8Array(e, new Uint8Array(s.length))
      return
    case 'embed':
      encoding.writeVarString(e, JSON.stringify({ image: 'x' }))
      return
    case 'format':
      encoding.writeVarString(e, 'bold')
      encoding.writeVarString(e, s.length === 0 ? 'null' : 'true')
      return
    case 'doc':
      encoding.writeVarString(e, `sub-${s.length}`)
      encoding.writeAny(e, {})
      return
  }
}

/** One byte mutation: flip a bit, set, insert or delete a byte. */
export const mutation = fc.record({
  at: fc.nat(10_000),
  kind: fc.constantFrom('flip', 'set', 'insert', 'delete'),
  value: fc.nat(255),
})

/** Applies byte mutations to `update`. */
export function mutate(
  update: Uint8Array,
  mutations: readonly { at: number; kind: string; value: number }[],
): Uint8Array {
  let bytes = [...update]
  for (const m of mutations) {
    if (bytes.length === 0) break
    const at = m.at % bytes.length
    if (m.kind === 'flip') bytes[at] = (bytes[at] as number) ^ (1 << (m.value % 8))
    else if (m.kind === 'set') bytes[at] = m.value
    else if (m.kind === 'insert') bytes.splice(at, 0, m.value)
    else bytes = [...bytes.slice(0, at), ...bytes.slice(at + 1)]
  }
  return Uint8Array.from(bytes)
}
