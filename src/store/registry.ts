/**
 * The registry: one Y.Doc holding every register key (lww, custom) as per-writer slots, plus the
 * existence marker of every CRDT key and the policy recorded for each key (docs/ARCHITECTURE.md).
 *
 * Layout: root map `slots` with entries `<key>\u0000<writer>` → {@link Slot} (flat, so two writers
 * never create the same nested map concurrently — Yjs would keep only one), and root map
 * `policies` with entries key → policy id. Each writer only ever sets its own slot entries, so
 * Yjs never has to choose between writers.
 */
import * as Y from 'yjs'
import type { Hlc } from '../core/hlc.js'
import type { NodeId } from '../core/ids.js'
import {
  isSlot,
  mergeSlot,
  stampAfter,
  writeSlot,
  type Slot,
  type SlotMap,
  type Tombstone,
} from '../policy/register.js'
import type { JsonValue } from '../policy/json.js'
import { REGISTRY_KEY } from './keys.js'

const SEPARATOR = '\u0000'

/** Keys whose slots changed, and whether the change came from this store. */
export type RegistryListener = (keys: ReadonlySet<string>, local: boolean) => void

/** The registry document and an index of its slots by key. */
export class Registry {
  readonly doc = new Y.Doc({ guid: REGISTRY_KEY })
  readonly #slots = this.doc.getMap<unknown>('slots')
  readonly #policies = this.doc.getMap<string>('policies')
  #index = new Map<string, SlotMap>()
  /** Slot entries that failed validation (from a damaged or hostile peer); ignored. */
  invalidSlots = 0

  constructor(
    private readonly localOrigin: unknown,
    private readonly listener: RegistryListener,
    /**
     * Admits a slot from a peer or the disk before it is indexed (the store passes its timestamp
     * through the clock, refusing one too far in the future); false drops it.
     */
    private readonly admit: (slot: Slot) => boolean,
  ) {
    this.#slots.observe((event) => {
      const keys = new Set<string>()
      for (const entry of event.keysChanged as Set<string>) {
        const key = this.#indexEntry(entry)
        if (key !== undefined) keys.add(key)
      }
      if (keys.size > 0) this.listener(keys, event.transaction.origin === this.localOrigin)
    })
  }

  /** Keys that have at least one slot. */
  keys(): IterableIterator<string> {
    return this.#index.keys()
  }

  /** The slots of `key` (empty when it was never written). */
  slotsOf(key: string): SlotMap {
    return this.#index.get(key) ?? new Map()
  }

  /**
   * Writes this node's slot of `key` at `hlc`, or just after the versions it supersedes when one of
   * them is not earlier (a timestamp beyond the clock's skew bound; see `stampAfter`).
   */
  write(key: string, writer: NodeId, hlc: Hlc, value: JsonValue | Tombstone): void {
    const current = this.slotsOf(key)
    const slot = writeSlot(current, writer, stampAfter(current, writer, hlc), value)
    const stored = slot.deleted ? { hlc: slot.hlc, deleted: true, seen: slot.seen } : slot
    this.doc.transact(() => this.#slots.set(key + SEPARATOR + writer, stored), this.localOrigin)
  }

  /** The policy id recorded for `key`, if any. */
  recordedPolicy(key: string): string | undefined {
    return this.#policies.get(key)
  }

  /** Records the policy id of `key` (first writer wins; peers compare, never overwrite). */
  recordPolicy(key: string, id: string): void {
    this.doc.transact(() => this.#policies.set(key, id), this.localOrigin)
  }

  /** Every recorded (key, policy id). */
  recordedPolicies(): IterableIterator<[string, string]> {
    return this.#policies.entries()
  }

  /** Rebuilds the index from the document (after loading it). */
  reindex(): void {
    this.#index = new Map()
    for (const entry of this.#slots.keys()) this.#indexEntry(entry)
  }

  /** Updates the index for one map entry; returns its key, or undefined if it is not a slot. */
  #indexEntry(entry: string): string | undefined {
    const at = entry.lastIndexOf(SEPARATOR)
    if (at <= 0) return undefined
    const key = entry.slice(0, at)
    const writer = entry.slice(at + 1)
    const raw = this.#slots.get(entry)
    const slot = raw === undefined ? undefined : normalise(raw)
    if (slot === undefined || !isSlot(writer, slot) || !this.admit(slot)) {
      this.invalidSlots++
      return undefined
    }
    this.#index.set(key, mergeSlot(this.slotsOf(key), slot))
    return key
  }
}

function normalise(raw: unknown): Slot | undefined {
  if (typeof raw !== 'object' || raw === null) return undefined
  const slot = raw as Partial<Slot>
  return slot.deleted === true ? ({ ...slot, value: undefined } as Slot) : (slot as Slot)
}
