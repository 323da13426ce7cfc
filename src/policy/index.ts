/**
 * Conflict policies: the key-pattern → policy table, the `crdt`, `lww` and `custom` policies, the
 * register model that resolves `lww` and `custom` keys on plain data, and the conflict log.
 * @packageDocumentation
 */
export {
  assertPolicyMatches,
  CRDT_KINDS,
  crdt,
  custom,
  isCrdtPolicy,
  isCustomPolicy,
  isLwwPolicy,
  isPolicy,
  isRegisterPolicy,
  lww,
  policyId,
} from './policies.js'
export type {
  CrdtKind,
  CrdtPolicy,
  CustomPolicy,
  CustomPolicyOptions,
  LwwPolicy,
  Policy,
  RegisterPolicy,
  Resolver,
  ResolverContext,
  ResolverSibling,
} from './policies.js'
export { compilePattern, KEY_SEPARATOR, parsePattern } from './patterns.js'
export type { KeyPattern, PatternToken } from './patterns.js'
export { createPolicyTable } from './table.js'
export type { PolicyRule, PolicyTable, PolicyTableInput } from './table.js'
export {
  canonicalSlotMap,
  isSlot,
  mergeSlot,
  mergeSlotMaps,
  siblings,
  slotWriter,
  TOMBSTONE,
  writeSlot,
} from './register.js'
export type { Sibling, SiblingRef, Slot, SlotMap, Tombstone } from './register.js'
export { resolve } from './resolve.js'
export type { Resolution, ResolveOptions } from './resolve.js'
export { checkResolverPurity, PURITY_SEED_DEFAULT } from './purity.js'
export type { PurityCheckOptions } from './purity.js'
export { assertStorable, canonicalJson, cloneJson, isStorable, jsonEqual } from './json.js'
export type { JsonObject, JsonPrimitive, JsonValue } from './json.js'
export { conflictEntry, createConflictLog } from './conflict-log.js'
export type {
  ConflictEntry,
  ConflictListener,
  ConflictLog,
  ConflictLogOptions,
  ConflictQuery,
} from './conflict-log.js'
export { POLICY_LIMITS } from './limits.js'
