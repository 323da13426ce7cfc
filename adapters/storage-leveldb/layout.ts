/**
 * The few facts about y-leveldb's on-disk key layout the adapter reads directly, because its API
 * cannot answer them without side effects (`getStateVector` of a missing document writes one):
 *
 * - `['v1_sv', doc]` → `varUint clock | varUint8Array stateVector`: written before a document's
 *   first update and at every flush, with the clock of the (merged) update it describes. Its
 *   presence is what makes a document exist (it is what `getAllDocNames` lists).
 * - `['v1', doc, 'update', clock]` → one stored update; a flush writes the merged update at the
 *   next clock and deletes every lower one.
 * - `['v1', doc, 'meta', name]` → a metadata value; everything of a document lies between
 *   `['v1', doc]` and `['v1', doc, 'zzzzzzz']` (the range `clearDocument` deletes).
 *
 * Keys are encoded by y-leveldb's own key encoding, which the database was opened with, so they
 * are passed here as arrays. The layout is y-leveldb's storage format; it cannot change without
 * breaking every existing database.
 */
import * as decoding from 'lib0/decoding'
import * as encoding from 'lib0/encoding'

/** A y-leveldb key, before its key encoding. */
export type YKey = Array<string | number>

/** The reads this module makes on the database y-leveldb opened. */
export interface LayoutReads {
  get(key: YKey): Promise<Uint8Array>
  keys(options: RangeOptions): { all(): Promise<YKey[]> }
  values(options: RangeOptions): { all(): Promise<Uint8Array[]> }
}

/** A key range read, as abstract-level takes it. */
interface RangeOptions {
  gte: YKey
  lt: YKey
  limit?: number
  reverse?: boolean
}

/** What the state-vector record says about a stored document. */
export interface DocRecord {
  /** Clock of the update the record was written with: the lowest stored update's clock. */
  clock: number
}

function isNotFound(error: unknown): boolean {
  const value = error as { code?: unknown; notFound?: unknown } | null
  return value?.code === 'LEVEL_NOT_FOUND' || value?.notFound === true
}

/**
 * The state-vector record of `doc`, or `undefined` when the document does not exist. Rejects
 * with the backend's error on a failed read, and with a `RangeError`-like decoding error when the
 * record is damaged.
 */
export async function readDocRecord(db: LayoutReads, doc: string): Promise<DocRecord | undefined> {
  let bytes: Uint8Array
  try {
    bytes = await db.get(['v1_sv', doc])
  } catch (error) {
    if (isNotFound(error)) return undefined
    throw error
  }
  const clock = decoding.readVarUint(decoding.createDecoder(bytes))
  return { clock }
}

/**
 * True when keys of `doc` are stored although its state-vector record is not: what a crash in
 * the middle of `clearDocument` (record deleted, updates not yet) leaves behind.
 */
export async function hasResidue(db: LayoutReads, doc: string): Promise<boolean> {
  const found = await db.keys({ gte: ['v1', doc], lt: ['v1', doc, 'zzzzzzz'], limit: 1 }).all()
  return found.length > 0
}

/**
 * Key range of the stored updates of `doc` (for tests and tools that count them). Clocks are
 * encoded as big-endian u32, so the bound is `2^32 - 1` (as in y-leveldb; `2^32` would wrap to 0).
 */
export function updateKeyRange(doc: string): { gte: YKey; lt: YKey } {
  return { gte: ['v1', doc, 'update', 0], lt: ['v1', doc, 'update', 0xffff_ffff] }
}

/**
 * The stored update of `doc` when it holds exactly one (the common case after a checkpoint and
 * every compaction), else `undefined`. Its bytes are what `storeDoc` validated and stored.
 */
export async function readOnlyUpdate(
  db: LayoutReads,
  doc: string,
): Promise<Uint8Array | undefined> {
  const updates = await db.values({ ...updateKeyRange(doc), limit: 2 }).all()
  return updates.length === 1 ? updates[0] : undefined
}

/** Clock of the newest stored update of `doc`, or -1 when it has none. */
export async function lastUpdateClock(db: LayoutReads, doc: string): Promise<number> {
  const [last] = await db.keys({ ...updateKeyRange(doc), reverse: true, limit: 1 }).all()
  return last === undefined ? -1 : (last[3] as number)
}

/** The state-vector record y-leveldb writes: `varUint clock | varUint8Array stateVector`. */
export function encodeDocRecord(clock: number, stateVector: Uint8Array): Uint8Array {
  const encoder = encoding.createEncoder()
  encoding.writeVarUint(encoder, clock)
  encoding.writeVarUint8Array(encoder, stateVector)
  return encoding.toUint8Array(encoder)
}

/** Key of the state-vector record of `doc`, and of its stored update at `clock`. */
export const docRecordKey = (doc: string): YKey => ['v1_sv', doc]
export const updateKey = (doc: string, clock: number): YKey => ['v1', doc, 'update', clock]
