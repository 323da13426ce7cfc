/**
 * JSON values as registers store them. A value is storable when writing it and reading it back
 * on any peer gives a deep-equal value: plain JSON only, no cycles, no lone surrogates (which
 * UTF-8 encoding would silently replace), within {@link POLICY_LIMITS} depth and size.
 */
import { invalidArgument } from '../core/errors.js'
import { POLICY_LIMITS } from './limits.js'

/** A JSON scalar. */
export type JsonPrimitive = string | number | boolean | null

/** A JSON object: a plain object whose own enumerable properties are JSON values. */
export interface JsonObject {
  readonly [key: string]: JsonValue
}

/** A value a register can hold: JSON, with finite numbers only. */
export type JsonValue = JsonPrimitive | readonly JsonValue[] | JsonObject

interface Walk {
  bytes: number
  readonly path: string[]
  readonly ancestors: Set<object>
}

/**
 * Throws `INVALID_ARGUMENT` (a `TypeError`) unless `value` can be stored in a register: `null`,
 * booleans, finite numbers, strings without lone surrogates, arrays without holes or `undefined`,
 * and plain objects (prototype `Object.prototype` or `null`) without symbol keys or accessors,
 * nested at most `POLICY_LIMITS.valueDepthMax` deep, with no cycles, and at most
 * `POLICY_LIMITS.valueBytesMax` bytes of JSON text in UTF-8. A shared (non-cyclic) sub-value is
 * allowed; it is stored as a copy. The error message names the offending path (`$.a[2]`).
 *
 * @example
 * ```ts
 * assertStorable({ tags: ['a', 'b'], count: 2 }) // ok
 * assertStorable({ at: new Date() }) // throws INVALID_ARGUMENT: $.at is not a plain object
 * ```
 */
export function assertStorable(value: unknown): asserts value is JsonValue {
  const walk: Walk = { bytes: 0, path: ['$'], ancestors: new Set() }
  checkValue(value, 0, walk)
}

/** True when {@link assertStorable} would accept `value`. */
export function isStorable(value: unknown): value is JsonValue {
  try {
    assertStorable(value)
    return true
  } catch {
    return false
  }
}

function fail(walk: Walk, problem: string): never {
  throw invalidArgument(`value is not storable: ${walk.path.join('')} ${problem}`)
}

function addBytes(walk: Walk, bytes: number): void {
  walk.bytes += bytes
  if (walk.bytes > POLICY_LIMITS.valueBytesMax) {
    fail(walk, `makes the value larger than ${POLICY_LIMITS.valueBytesMax} bytes of JSON`)
  }
}

function checkValue(value: unknown, depth: number, walk: Walk): void {
  switch (typeof value) {
    case 'string':
      return addBytes(walk, jsonStringBytes(value, walk))
    case 'number':
      if (!Number.isFinite(value)) fail(walk, `is ${String(value)} (only finite numbers)`)
      return addBytes(walk, String(value).length)
    case 'boolean':
      return addBytes(walk, value ? 4 : 5)
    case 'object':
      if (value === null) return addBytes(walk, 4)
      return checkContainer(value, depth + 1, walk)
    default:
      return fail(walk, `is a ${typeof value} (only JSON values)`)
  }
}

function checkContainer(value: object, depth: number, walk: Walk): void {
  if (depth > POLICY_LIMITS.valueDepthMax) {
    fail(walk, `is nested deeper than ${POLICY_LIMITS.valueDepthMax} levels`)
  }
  if (walk.ancestors.has(value)) fail(walk, 'is a cycle (it contains itself)')
  walk.ancestors.add(value)
  if (Array.isArray(value)) checkArray(value, depth, walk)
  else checkObject(value, depth, walk)
  walk.ancestors.delete(value)
}

function checkArray(value: unknown[], depth: number, walk: Walk): void {
  if (Object.getPrototypeOf(value) !== Array.prototype) fail(walk, 'is not a plain array')
  addBytes(walk, 2 + Math.max(0, value.length - 1))
  for (let i = 0; i < value.length; i++) {
    walk.path.push(`[${i}]`)
    if (!(i in value)) fail(walk, 'is a hole in a sparse array')
    checkValue(value[i], depth, walk)
    walk.path.pop()
  }
}

function checkObject(value: object, depth: number, walk: Walk): void {
  const proto: unknown = Object.getPrototypeOf(value)
  if (proto !== Object.prototype && proto !== null) {
    const name = (value.constructor as { name?: unknown } | undefined)?.name
    fail(walk, `is not a plain object (${typeof name === 'string' ? name : 'unknown class'})`)
  }
  if (Object.getOwnPropertySymbols(value).length > 0) fail(walk, 'has symbol keys')
  const keys = Object.keys(value)
  addBytes(walk, 2 + Math.max(0, keys.length - 1))
  for (const key of keys) {
    walk.path.push(`.${key}`)
    addBytes(walk, jsonStringBytes(key, walk) + 1)
    const descriptor = Object.getOwnPropertyDescriptor(value, key)
    if (descriptor === undefined || !('value' in descriptor)) fail(walk, 'is an accessor')
    checkValue(descriptor.value, depth, walk)
    walk.path.pop()
  }
}

/** UTF-8 bytes of `text` as a JSON string literal (quotes and escapes included). */
function jsonStringBytes(text: string, walk: Walk): number {
  let bytes = 2
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i)
    if (unit === 0x22 || unit === 0x5c) bytes += 2
    else if (unit < 0x20) bytes += ESCAPE_SHORT.has(unit) ? 2 : 6
    else if (unit < 0x80) bytes += 1
    else if (unit < 0x800) bytes += 2
    else if (unit >= 0xd800 && unit <= 0xdbff && isLowSurrogate(text.charCodeAt(i + 1))) {
      bytes += 4
      i++
    } else if (unit >= 0xd800 && unit <= 0xdfff) fail(walk, 'contains a lone surrogate')
    else bytes += 3
  }
  return bytes
}

/** Control characters JSON escapes in two bytes: \b \t \n \f \r. */
const ESCAPE_SHORT = new Set([0x08, 0x09, 0x0a, 0x0c, 0x0d])

function isLowSurrogate(unit: number): boolean {
  return unit >= 0xdc00 && unit <= 0xdfff
}

/**
 * A canonical text of a JSON value: object keys sorted by code unit, no whitespace, so that two
 * values are deep-equal exactly when their canonical texts are equal. `undefined` (an absent
 * value) has the text `~`, which no JSON text equals. The value must be storable.
 */
export function canonicalJson(value: JsonValue | undefined): string {
  if (value === undefined) return '~'
  if (typeof value !== 'object' || value === null) return JSON.stringify(value)
  if (isJsonArray(value)) return `[${value.map((item) => canonicalJson(item)).join(',')}]`
  const keys = Object.keys(value).sort(compareText)
  return `{${keys.map((key) => `${JSON.stringify(key)}:${canonicalJson(value[key])}`).join(',')}}`
}

/** True when `a` and `b` are deep-equal JSON values (or both `undefined`). */
export function jsonEqual(a: JsonValue | undefined, b: JsonValue | undefined): boolean {
  return a === b || canonicalJson(a) === canonicalJson(b)
}

/** A deep copy of a JSON value (plain objects and arrays only, so cheaper than structuredClone). */
export function cloneJson<T extends JsonValue | undefined>(value: T): T {
  if (typeof value !== 'object' || value === null) return value
  if (isJsonArray(value)) return value.map((item) => cloneJson(item)) as JsonValue as T
  const copy: Record<string, JsonValue> = {}
  for (const key of Object.keys(value)) {
    Object.defineProperty(copy, key, {
      value: cloneJson(value[key]),
      enumerable: true,
      writable: true,
      configurable: true,
    })
  }
  return copy as JsonValue as T
}

/** Freezes a JSON value and everything in it, in place; returns it. */
export function deepFreezeJson<T extends JsonValue | undefined>(value: T): T {
  if (typeof value !== 'object' || value === null || Object.isFrozen(value)) return value
  for (const item of Object.values(value)) deepFreezeJson(item)
  return Object.freeze(value)
}

/** Orders strings by UTF-16 code units (the order of `<`), independent of locale. */
export function compareText(a: string, b: string): number {
  if (a === b) return 0
  return a < b ? -1 : 1
}

function isJsonArray(value: JsonValue): value is readonly JsonValue[] {
  return Array.isArray(value)
}
