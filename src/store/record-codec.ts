/**
 * The store's WAL record: the Yjs updates of one capture batch or one `store.transact()`, each
 * tagged with the document it belongs to. Applied all or nothing on replay.
 *
 *   v1: u8 version (1) | varuint count | count × (varstring docKey | varuint8array update)
 *   v2: u8 version (2) | varuint hlcWallMs | varuint hlcCounter | (v1 from `count` on)
 *
 * The store writes v2: the clock reading travels with the record to peers (sync envelopes).
 */
import * as decoding from 'lib0/decoding'
import * as encoding from 'lib0/encoding'
import { StarlingError } from '../core/errors.js'

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

/** The clock reading of a record (0/0 when it has none). */
export function recordClock(payload: Uint8Array): RecordClock {
  if (payload[0] !== STAMPED) return { wallMs: 0, counter: 0 }
  try {
    const decoder = decoding.createDecoder(payload)
    decoding.readUint8(decoder)
    return { wallMs: decoding.readVarUint(decoder), counter: decoding.readVarUint(decoder) }
  } catch (error) {
    throw new StarlingError('CODEC_MALFORMED', 'bad store record clock', {}, error)
  }
}

/** Decodes a WAL payload; throws `CODEC_MALFORMED` on anything else. */
export function decodeUpdates(payload: Uint8Array): DocUpdate[] {
  try {
    const decoder = decoding.createDecoder(payload)
    const version = decoding.readUint8(decoder)
    if (version === STAMPED) {
      decoding.readVarUint(decoder)
      decoding.readVarUint(decoder)
    } else if (version !== VERSION) throw new Error(`unknown store record version ${version}`)
    const count = decoding.readVarUint(decoder)
    if (count > payload.length) throw new Error(`implausible update count ${count}`)
    const updates: DocUpdate[] = []
    for (let i = 0; i < count; i++) {
      const key = decoding.readVarString(decoder)
      updates.push({ key, update: decoding.readVarUint8Array(decoder) })
    }
    if (decoding.hasContent(decoder)) throw new Error('trailing bytes')
    return updates
  } catch (error) {
    throw new StarlingError(
      'CODEC_MALFORMED',
      `bad store record: ${(error as Error).message}`,
      {},
      error,
    )
  }
}
