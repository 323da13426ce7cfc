/**
 * Reading and writing whole values of CRDT keys by kind. Each CRDT document has one root type
 * named `value`: Y.Text, Y.Map, Y.Array or Y.XmlFragment; `json` keys deep-map a JSON value onto
 * Y.Map/Y.Array under the entry `root` of a Y.Map.
 */
import * as Y from 'yjs'
import { invalidArgument } from '../core/errors.js'
import type { CrdtKind } from '../policy/policies.js'
import { assertStorable, type JsonValue } from '../policy/json.js'

/** Name of the root type of every CRDT document. */
export const ROOT_NAME = 'value'

/** The Yjs type of each kind. */
export interface KindTypes {
  text: Y.Text
  map: Y.Map<unknown>
  array: Y.Array<unknown>
  xml: Y.XmlFragment
  json: Y.Map<unknown>
}

/** The root type of a document for `kind`. */
export function rootOf<K extends CrdtKind>(doc: Y.Doc, kind: K): KindTypes[K] {
  switch (kind) {
    case 'text':
      return doc.getText(ROOT_NAME) as KindTypes[K]
    case 'array':
      return doc.getArray(ROOT_NAME) as KindTypes[K]
    case 'xml':
      return doc.getXmlFragment(ROOT_NAME) as KindTypes[K]
    default:
      return doc.getMap(ROOT_NAME) as KindTypes[K]
  }
}

/** The plain value of a CRDT document. */
export function readValue(doc: Y.Doc, kind: CrdtKind): JsonValue | undefined {
  switch (kind) {
    case 'text':
      return doc.getText(ROOT_NAME).toJSON()
    case 'xml':
      return doc.getXmlFragment(ROOT_NAME).toJSON()
    case 'array':
      return doc.getArray(ROOT_NAME).toJSON() as JsonValue
    case 'json':
      return toJson(doc.getMap(ROOT_NAME).get('root'))
    default:
      return doc.getMap(ROOT_NAME).toJSON()
  }
}

function toJson(value: unknown): JsonValue | undefined {
  if (value instanceof Y.AbstractType) return value.toJSON() as JsonValue
  return value as JsonValue | undefined
}

/** Replaces the content of a CRDT document with `value` (one Yjs transaction). */
export function writeValue(doc: Y.Doc, kind: CrdtKind, value: unknown, method: string): void {
  assertValueFor(kind, value, method)
  doc.transact(() => replace(doc, kind, value))
}

/** Throws `INVALID_ARGUMENT` unless `value` can be the whole value of a `kind` document. */
export function assertValueFor(
  kind: CrdtKind,
  value: unknown,
  method: string,
): asserts value is JsonValue {
  if (kind === 'xml') throw invalidArgument(`${method}: xml keys are edited through store.xml(key)`)
  if (kind === 'text' && typeof value !== 'string') {
    throw invalidArgument(`${method}: a text key takes a string, got ${typeof value}`)
  }
  if (kind === 'map' && (typeof value !== 'object' || value === null || Array.isArray(value))) {
    throw invalidArgument(`${method}: a map key takes a plain object`)
  }
  if (kind === 'array' && !Array.isArray(value))
    throw invalidArgument(`${method}: an array key takes an array`)
  assertStorable(value)
}

function replace(doc: Y.Doc, kind: CrdtKind, value: JsonValue): void {
  const root = rootOf(doc, kind)
  if (root instanceof Y.Text) {
    root.delete(0, root.length)
    root.insert(0, value as string)
  } else if (root instanceof Y.Array) {
    root.delete(0, root.length)
    root.push((value as JsonValue[]).map(toY))
  } else if (kind === 'json') {
    ;(root as Y.Map<unknown>).set('root', toY(value))
  } else {
    const map = root as Y.Map<unknown>
    for (const key of [...map.keys()]) map.delete(key)
    for (const [key, item] of Object.entries(value as Record<string, JsonValue>))
      map.set(key, toY(item))
  }
}

/** Deep-maps JSON onto Yjs types: objects become Y.Map, arrays Y.Array. */
function toY(value: JsonValue): unknown {
  if (Array.isArray(value)) {
    const array = new Y.Array<unknown>()
    array.push(value.map(toY))
    return array
  }
  if (typeof value === 'object' && value !== null) {
    const map = new Y.Map<unknown>()
    for (const [key, item] of Object.entries(value)) map.set(key, toY(item))
    return map
  }
  return value
}

/** Empties a CRDT document (the content of a deleted key). */
export function clearValue(doc: Y.Doc, kind: CrdtKind): void {
  doc.transact(() => {
    const root = rootOf(doc, kind)
    if (root instanceof Y.Text || root instanceof Y.Array || root instanceof Y.XmlFragment) {
      root.delete(0, root.length)
    } else {
      for (const key of [...root.keys()]) root.delete(key)
    }
  })
}
