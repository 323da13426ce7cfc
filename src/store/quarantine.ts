/**
 * Quarantined log content: a record of this node's WAL (or one envelope of a remote record) whose
 * Yjs update cannot be applied — written by an older version of Starling, by a bug, or let
 * through by a check that missed it. It is skipped wherever the log is read (replay at open,
 * loading a document, shipping the log to peers), reported, and the store keeps working
 * (docs/guarantees.md I10). A checkpoint removes it from the log like any other record.
 */
import { StarlingError } from '../core/errors.js'
import type { NodeId } from '../core/ids.js'
import type { DocUpdate } from './record-codec.js'
import { checkUpdate } from './update-check.js'

/** One quarantined record, or one envelope of a remote record. */
export interface QuarantinedUpdate {
  /** LSN of the WAL record. */
  lsn: number
  /** For a remote record: the envelope's index in it, its origin and its origin LSN. */
  envelope?: number
  origin?: NodeId
  originLsn?: number
  /** The document whose update cannot be applied. */
  key: string
  /** Why. */
  reason: string
}

/** The quarantined content of a store's log. */
export class Quarantine {
  readonly #entries: QuarantinedUpdate[] = []
  readonly #skipped = new Set<string>()

  /** Everything quarantined so far. */
  get entries(): readonly QuarantinedUpdate[] {
    return this.#entries
  }

  /** Adds an entry; returns the error to report for it (`STORE_RECORD_QUARANTINED`). */
  add(entry: QuarantinedUpdate): StarlingError {
    this.#entries.push(entry)
    this.#skipped.add(slot(entry.lsn, entry.envelope))
    const where = entry.envelope === undefined ? '' : ` (envelope ${entry.envelope})`
    return new StarlingError(
      'STORE_RECORD_QUARANTINED',
      `the update of ${JSON.stringify(entry.key.slice(0, 80))} logged at LSN ${entry.lsn}${where} ` +
        `cannot be applied and is skipped: ${entry.reason}`,
      {
        lsn: entry.lsn,
        key: entry.key,
        envelope: entry.envelope ?? null,
        origin: entry.origin ?? null,
        originLsn: entry.originLsn ?? null,
      },
    )
  }

  /** Whether the record at `lsn` (or its envelope `envelope`) is quarantined. */
  has(lsn: number, envelope?: number): boolean {
    if (this.#skipped.size === 0) return false
    return this.#skipped.has(slot(lsn, envelope))
  }
}

function slot(lsn: number, envelope: number | undefined): string {
  return envelope === undefined ? `${lsn}` : `${lsn}:${envelope}`
}

/** The first update of `updates` that cannot be applied, and why; undefined when all can. */
export function firstUnappliable(
  updates: readonly DocUpdate[],
): { key: string; reason: string } | undefined {
  for (const { key, update } of updates) {
    try {
      checkUpdate(update)
    } catch (error) {
      return { key, reason: (error as Error).message }
    }
  }
  return undefined
}
