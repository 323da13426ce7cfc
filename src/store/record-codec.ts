/**
 * The store's WAL record: the Yjs updates of one capture batch or one `store.transact()`, each
 * tagged with the document it belongs to. Applied all or nothing on replay.
 *
 *   v1: u8 version (1) | varuint count | count × (varstring docKey | varuint8array update)
 *   v2: u8 version (2) | varuint hlcWallMs | varuint hlcCounter | (v1 from `count` on)
 *
 * The store writes v2: the clock reading travels with the record to peers (sync envelopes).
 */
import * as encoding from 'lib0/encoding'
import { HLC_LIMITS } from '../core/limits.js'
import { StrictDecoder, failWith } from '../core/strict-decoder.js'
import type { DecodeFailure } from '../core/strict-decoder.js'

/** Record type of store updates in the WAL. */
export const STORE_RECORD_TYPE = 1
const VERSION = 1

/** One captured change: a Yjs update of document `key`. */
export interface DocUpdate {
  key: string
  update: Uint8Array
}

const STAMPED = 2

/** A clock reading carried by a record (wall ms and counter; 0/0 for unstamped v1 records). */
export interface RecordClock {
  wallMs: number
  counter: number
}

/**
 * Encodes updates as one WAL payload: v2 stamped with `clock` (what the store writes), or v1 when
 * there is no clock reading to carry.
 */
export function encodeUpdates(updates: readonly DocUpdate[], clock?: RecordClock): Uint8Array {
  const encoder = encoding.createEncoder()
  if (clock === undefined) encoding.writeUint8(encoder, VERSION)
  else {
    encoding.writeUint8(encoder, STAMPED)
    encoding.writeVarUint(encoder, clock.wallMs)
    encoding.writeVarUint(encoder, clock.counter)
  }
  encoding.writeVarUint(encoder, updates.length)
  for (const { key, update } of updates) {
    encoding.writeVarString(encoder, key)
    encoding.writeVarUint8Array(encoder, update)
  }
  return encoding.toUint8Array(encoder)
}

const RECORD_FAILURE: DecodeFailure = failWith('CODEC_MALFORMED', 'bad store record')
/** Fewest bytes of one update: the key's length and the update's length. */
const UPDATE_BYTES_MIN = 2

/**
 * The clock reading of a record (0/0 when it has none); throws `CODEC_MALFORMED` when a v2
 * record's clock does not decode (strictly, see `strict-decoder.ts`).
 */
export function recordClock(payload: Uint8Array): RecordClock {
  if (payload[0] !== STAMPED) return { wallMs: 0, counter: 0 }
  return readClock(new StrictDecoder(payload, RECORD_FAILURE, 1))
}

function readClock(r: StrictDecoder): RecordClock {
  const wallMs = r.varuint(HLC_LIMITS.wallMsMax)
  return { wallMs, counter: r.varuint(HLC_LIMITS.counterMax) }
}

/**
 * Decodes a WAL payload; throws `CODEC_MALFORMED` on anything else: an unknown version, a
 * truncated or trailing byte, a non-canonical number, a clock out of range, invalid UTF-8 in a
 * key, or a count the bytes cannot hold.
 */
export function decodeUpdates(payload: Uint8Array): DocUpdate[] {
  const r = new StrictDecoder(payload, RECORD_FAILURE)
  const version = r.u8()
  if (version === STAMPED) readClock(r)
  else if (version !== VERSION) throw r.fail(`unknown store record version ${version}`, 0)
  const updates: DocUpdate[] = []
  for (let i = r.count(UPDATE_BYTES_MIN); i > 0; i--) {
    const key = r.string()
    updates.push({ key, update: r.bytes() })
  }
  r.end('the record')
  return updates
}
