/**
 * y-leveldb's on-disk layout, which the adapter reads and writes directly through classic-level's
 * public API (docs/ARCHITECTURE.md, "Storage adapters"). Keys are arrays encoded by y-leveldb's
 * exported `keyEncoding` (the database is opened with it), so every directory y-leveldb or an
 * earlier Starling wrote opens unchanged, and y-leveldb can still read what Starling writes:
 *
 * - `['v1_sv', doc]` → `varUint clock | varUint8Array stateVector`: written with a document's
 *   first update and at every compaction, with the clock of the (merged) update it describes. Its
 *   presence is what makes a document exist (y-leveldb's `getAllDocNames` lists these).
 * - `['v1', doc, 'update', clock]` → one stored update; clocks are big-endian u32.
 * - `['v1', doc, 'meta', name]` → a metadata value, lib0 `encodeAny` of it. Everything of a
 *   document lies between `['v1', doc]` and `['v1', doc, 'zzzzzzz']`.
 *
 * The layout is y-leveldb's storage format; it cannot change without breaking existing databases.
 */
import * as buffer from 'lib0/buffer'
import * as decoding from 'lib0/decoding'
import * as encoding from 'lib0/encoding'

/** A y-leveldb key, before its key encoding. */
export type YKey = Array<string | number>

/** A key range read, as abstract-level takes it. */
export interface RangeOptions {
  gte: YKey
  lt: YKey
  limit?: number
  reverse?: boolean
}

/** The public reads of classic-level this module makes. */
export interface LayoutReads {
  get(key: YKey): Promise<Uint8Array | undefined>
  keys(options: RangeOptions): { all(): Promise<YKey[]> }
  values(options: RangeOptions): { all(): Promise<Uint8Array[]> }
}

/** What the state-vector record says about a stored document. */
export interface DocRecord {
  /** Clock of the update the record was written with: the lowest stored update's clock. */
  clock: number
}

/** Key of the state-vector record of `doc`. */
export const docRecordKey = (doc: string): YKey => ['v1_sv', doc]
/** Key of the stored update of `doc` at `clock`. */
export const updateKey = (doc: string, clock: number): YKey => ['v1', doc, 'update', clock]
/** Key of metadata value `name` of `doc`. */
export const metaKey = (doc: string, name: string): YKey => ['v1', doc, 'meta', name]

/** Range of every state-vector record: one per stored document. */
export const DOC_RECORD_RANGE: RangeOptions = { gte: ['v1_sv'], lt: ['v1_sw'] }

/**
 * Key range of the stored updates of `doc`. Clocks are encoded as big-endian u32, so the bound is
 * `2^32 - 1` (`2^32` would wrap to 0).
 */
export function updateKeyRange(doc: string): RangeOptions {
  return { gte: updateKey(doc, 0), lt: updateKey(doc, 0xffff_ffff) }
}

/** Key range of everything of `doc` but its state-vector record (updates and metadata). */
export function docKeyRange(doc: string): RangeOptions {
  return { gte: ['v1', doc], lt: ['v1', doc, 'zzzzzzz'] }
}

function isNotFound(error: unknown): boolean {
  const value = error as { code?: unknown; notFound?: unknown } | null
  return value?.code === 'LEVEL_NOT_FOUND' || value?.notFound === true
}

/** The value at `key`, or `undefined` when none is stored; rejects on a failed read. */
export async function readValue(db: LayoutReads, key: YKey): Promise<Uint8Array | undefined> {
  try {
    return await db.get(key)
  } catch (error) {
    if (isNotFound(error)) return undefined
    throw error
  }
}

/**
 * The state-vector record of `doc`, or `undefined` when the document does not exist. Rejects
 * with the backend's error on a failed read, and with a lib0 decoding error when the record is
 * damaged.
 */
export async function readDocRecord(db: LayoutReads, doc: string): Promise<DocRecord | undefined> {
  const bytes = await readValue(db, docRecordKey(doc))
  if (bytes === undefined) return undefined
  return { clock: decoding.readVarUint(decoding.createDecoder(bytes)) }
}

/** Clock of the newest stored update of `doc`, or -1 when it has none. */
export async function lastUpdateClock(db: LayoutReads, doc: string): Promise<number> {
  const [last] = await db.keys({ ...updateKeyRange(doc), reverse: true, limit: 1 }).all()
  return last === undefined ? -1 : (last[3] as number)
}

/** The state-vector record as y-leveldb writes it: `varUint clock | varUint8Array stateVector`. */
export function encodeDocRecord(clock: number, stateVector: Uint8Array): Uint8Array {
  const encoder = encoding.createEncoder()
  encoding.writeVarUint(encoder, clock)
  encoding.writeVarUint8Array(encoder, stateVector)
  return encoding.toUint8Array(encoder)
}

/** A metadata value as y-leveldb's `setMeta` stores bytes (lib0 `encodeAny`). */
export function encodeMeta(value: Uint8Array): Uint8Array {
  return buffer.encodeAny(value)
}

/**
 * The value a metadata record holds (bytes, for every record Starling writes). Throws a lib0
 * decoding error when the record is damaged.
 */
export function decodeMeta(stored: Uint8Array): unknown {
  return buffer.decodeAny(stored)
}
