/**
 * Branded identifiers. A brand makes a `DocKey` and a `PeerId` different types even though both
 * are strings at run time, so one cannot be passed where the other is expected.
 */
import { invalidArgument } from './errors.js'

declare const brand: unique symbol
/** Adds a compile-time brand to a primitive type. */
export type Brand<T, Name extends string> = T & { readonly [brand]: Name }

/** Log sequence number: position of a record in a write-ahead log, starting at 1. */
export type Lsn = Brand<number, 'Lsn'>
/** Identifies one node (one open store) in the hybrid logical clock and in sync. */
export type NodeId = Brand<string, 'NodeId'>
/** Identifies a remote peer as seen by a transport. */
export type PeerId = Brand<string, 'PeerId'>
/** A key in the store. */
export type DocKey = Brand<string, 'DocKey'>

/** Largest LSN Starling uses (LSNs stay exact in a JS number). */
export const LSN_MAX = Number.MAX_SAFE_INTEGER

/** Checks and brands an LSN. */
export function toLsn(value: number): Lsn {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw invalidArgument(`an LSN must be a non-negative safe integer, got ${String(value)}`)
  }
  return value as Lsn
}

/** Node ids are 1–64 characters of [A-Za-z0-9_-] so they sort and print predictably. */
const NODE_ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/

/** True when `value` is a well-formed node id (1–64 characters of [A-Za-z0-9_-]). */
export function isNodeId(value: unknown): value is NodeId {
  return typeof value === 'string' && NODE_ID_PATTERN.test(value)
}

/** Checks and brands a node id. */
export function toNodeId(value: string): NodeId {
  if (typeof value !== 'string' || !NODE_ID_PATTERN.test(value)) {
    throw invalidArgument(
      `a node id must match ${String(NODE_ID_PATTERN)}, got ${JSON.stringify(value)}`,
    )
  }
  return value as NodeId
}

/** Checks and brands a peer id (same shape as a node id). */
export function toPeerId(value: string): PeerId {
  return toNodeId(value) as string as PeerId
}
