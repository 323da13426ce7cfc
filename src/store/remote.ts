/**
 * Remote content in this node's log. A batch received from a peer is written as one WAL record of
 * type {@link REMOTE_RECORD_TYPE} — the envelopes it brought and the sender's cursor it reaches —
 * before anything of it is applied or acknowledged (I3). So the cursor becomes durable in the same
 * write as the data, never before and never after it.
 *
 * The {@link SyncLedger} is what those records add up to: per sender, how far we hold its log
 * (`inbound`); per origin, the origin LSN up to which all of its content is here (`highWater`,
 * used to skip what is already contained); and per peer, how far it acknowledged our log
 * (`acked`, a lower bound kept for log retention). It is rebuilt at open from the checkpoint's
 * copy plus the remote records replayed after it.
 *
 *   record: u8 version (1) | varstring sender | varuint cursor | varuint count | count × envelope
 *   envelope: varstring origin | varuint originLsn | varuint hlcWallMs | varuint hlcCounter
 *             | varuint8array payload (a store record) | u32 crc32c(payload)
 */
import * as encoding from 'lib0/encoding'
import { crc32c } from '../core/crc32c.js'
import { StarlingError } from '../core/errors.js'
import type { NodeId } from '../core/ids.js'
import { HLC_LIMITS } from '../core/limits.js'
import { StrictDecoder, failWith } from '../core/strict-decoder.js'
import { REGISTRY_KEY, assertKey } from './keys.js'
import { STORE_RECORD_TYPE, decodeUpdates, recordClock, type DocUpdate } from './record-codec.js'
import type { Quarantine } from './quarantine.js'
import { checkUpdate } from './update-check.js'

/** WAL record type of a batch received from a peer. */
export const REMOTE_RECORD_TYPE = 2
const VERSION = 1

/** A hybrid logical clock reading as carried in envelopes. */
export interface WireHlc {
  wallMs: number
  counter: number
}

/**
 * One change as it travels between nodes: the store record `payload` of `origin`'s log at
 * `originLsn`, stamped with the origin's clock and checksummed end to end (relays keep the
 * origin's checksum). `originLsn` 0 marks content without a position in the origin's log (a
 * partial state-vector catch-up): it is never skipped as already contained.
 */
export interface Envelope {
  origin: NodeId
  originLsn: number
  hlc: WireHlc
  payload: Uint8Array
  crc: number
}

/** A batch from `sender` as written to our log. */
export interface RemoteRecord {
  sender: NodeId
  /** The sender's log position this record brings us to (our inbound cursor). */
  cursor: number
  envelopes: Envelope[]
}

/** Encodes a remote record. */
export function encodeRemoteRecord(record: RemoteRecord): Uint8Array {
  const encoder = encoding.createEncoder()
  encoding.writeUint8(encoder, VERSION)
  encoding.writeVarString(encoder, record.sender)
  encoding.writeVarUint(encoder, record.cursor)
  encoding.writeVarUint(encoder, record.envelopes.length)
  for (const envelope of record.envelopes) writeEnvelope(encoder, envelope)
  return encoding.toUint8Array(encoder)
}

/**
 * Decodes a remote record; throws `CODEC_MALFORMED` on anything else (strictly: see
 * `strict-decoder.ts`).
 */
export function decodeRemoteRecord(payload: Uint8Array): RemoteRecord {
  const r = new StrictDecoder(payload, REMOTE_FAILURE)
  const version = r.u8()
  if (version !== VERSION) throw r.fail(`unknown remote record version ${version}`, 0)
  const sender = r.nodeId()
  const cursor = r.varuint()
  const envelopes: Envelope[] = []
  for (let i = r.count(ENVELOPE_BYTES_MIN); i > 0; i--) envelopes.push(readEnvelope(r))
  r.end('the record')
  return { sender, cursor, envelopes }
}

const REMOTE_FAILURE = failWith('CODEC_MALFORMED', 'bad remote record')
const LEDGER_FAILURE = failWith('STORAGE_CORRUPTION', 'the stored sync ledger is malformed')
/** Fewest bytes of one envelope: origin (2), originLsn, wallMs, counter, payload length, crc (4). */
const ENVELOPE_BYTES_MIN = 10
/** Fewest bytes of one ledger entry: node id (2), LSN. */
const LEDGER_ENTRY_BYTES_MIN = 3

function writeEnvelope(encoder: encoding.Encoder, envelope: Envelope): void {
  encoding.writeVarString(encoder, envelope.origin)
  encoding.writeVarUint(encoder, envelope.originLsn)
  encoding.writeVarUint(encoder, envelope.hlc.wallMs)
  encoding.writeVarUint(encoder, envelope.hlc.counter)
  encoding.writeVarUint8Array(encoder, envelope.payload)
  encoding.writeUint32(encoder, envelope.crc)
}

function readEnvelope(r: StrictDecoder): Envelope {
  const origin = r.nodeId()
  const originLsn = r.varuint()
  const wallMs = r.varuint(HLC_LIMITS.wallMsMax)
  const counter = r.varuint(HLC_LIMITS.counterMax)
  return { origin, originLsn, hlc: { wallMs, counter }, payload: r.bytes(), crc: r.u32() }
}

/**
 * Checks an envelope from a peer completely before anything of it is stored or applied (I10):
 * the checksum, the store record, every key, and every Yjs update — that it decodes and that it
 * can be applied without throwing (see `update-check.ts`). Returns the updates.
 */
export function validateEnvelope(envelope: Envelope): DocUpdate[] {
  const where = { origin: envelope.origin, originLsn: envelope.originLsn }
  if (crc32c(envelope.payload) !== envelope.crc) {
    throw new StarlingError('SYNC_UPDATE_INVALID', 'envelope checksum mismatch', where)
  }
  let updates: DocUpdate[]
  try {
    updates = decodeUpdates(envelope.payload)
  } catch (error) {
    throw new StarlingError('SYNC_UPDATE_INVALID', 'envelope holds no store record', where, error)
  }
  for (const { key, update } of updates) {
    try {
      if (key !== REGISTRY_KEY) assertKey(key, 'sync')
      // A malformed or unappliable update fails here, not half-way through applying it (Yjs
      // leaves partial state behind a failed applyUpdate).
      checkUpdate(update)
    } catch (error) {
      throw new StarlingError(
        'SYNC_UPDATE_INVALID',
        `invalid update for ${JSON.stringify(key.slice(0, 80))}: ${(error as Error).message}`,
        where,
        error,
      )
    }
  }
  return updates
}

/** Envelope for one of this node's own log records. */
export function localEnvelope(
  origin: NodeId,
  lsn: number,
  payload: Uint8Array,
  hlc: WireHlc,
): Envelope {
  return { origin, originLsn: lsn, hlc, payload, crc: crc32c(payload) }
}

/**
 * The envelopes a record of `self`'s log ships as: a local store record is one envelope of
 * `self`, a remote record the envelopes it stored; other record types none. Quarantined content
 * (see `quarantine.ts`) never ships. Payload bytes are copied (a WAL read reuses its buffer).
 */
export function envelopesOf(
  self: NodeId,
  record: { lsn: number; type: number; payload: Uint8Array },
  quarantine?: Quarantine,
): Envelope[] {
  const skip = (index?: number) => quarantine?.has(record.lsn, index) === true
  if (record.type === STORE_RECORD_TYPE) {
    if (skip()) return []
    const payload = record.payload.slice()
    return [localEnvelope(self, record.lsn, payload, recordClock(payload))]
  }
  if (record.type === REMOTE_RECORD_TYPE) {
    const { envelopes } = decodeRemoteRecord(record.payload.slice())
    return envelopes.filter((_, index) => !skip(index))
  }
  return []
}

/** Cursors and high-water marks of remote content (see the module comment). */
export class SyncLedger {
  readonly inbound = new Map<NodeId, number>()
  readonly highWater = new Map<NodeId, number>()
  readonly acked = new Map<NodeId, number>()

  constructor(readonly self: NodeId) {}

  /** Our durable cursor on `sender`'s log. */
  cursorOf(sender: NodeId): number {
    return this.inbound.get(sender) ?? 0
  }

  /** Whether everything `envelope` carries is already here (by origin position). */
  contains(envelope: Envelope): boolean {
    if (envelope.origin === this.self) return true
    if (envelope.originLsn === 0) return false
    return envelope.originLsn <= (this.highWater.get(envelope.origin) ?? 0)
  }

  /** Advances the maps by a record now durable in our log. */
  note(record: RemoteRecord): void {
    raise(this.inbound, record.sender, record.cursor)
    for (const { origin, originLsn } of record.envelopes) raise(this.highWater, origin, originLsn)
  }

  /** Moves our cursor on `sender`'s log past records whose content is all here already. */
  raiseInbound(sender: NodeId, cursor: number): void {
    raise(this.inbound, sender, cursor)
  }

  /** A peer acknowledged our log up to `cursor`. */
  noteAck(peer: NodeId, cursor: number): void {
    raise(this.acked, peer, cursor)
  }

  /** Encodes the ledger for the checkpoint. */
  encode(): Uint8Array {
    const encoder = encoding.createEncoder()
    encoding.writeUint8(encoder, VERSION)
    for (const map of [this.inbound, this.highWater, this.acked]) {
      encoding.writeVarUint(encoder, map.size)
      for (const [node, lsn] of map) {
        encoding.writeVarString(encoder, node)
        encoding.writeVarUint(encoder, lsn)
      }
    }
    return encoding.toUint8Array(encoder)
  }

  /** Loads a ledger stored by a checkpoint (before replaying the WAL after it). */
  load(bytes: Uint8Array | undefined): void {
    if (bytes === undefined) return
    const r = new StrictDecoder(bytes, LEDGER_FAILURE)
    const version = r.u8()
    if (version !== VERSION) throw r.fail(`unknown ledger version ${version}`, 0)
    for (const map of [this.inbound, this.highWater, this.acked]) {
      for (let i = r.count(LEDGER_ENTRY_BYTES_MIN); i > 0; i--) raise(map, r.nodeId(), r.varuint())
    }
    r.end('the ledger')
  }
}

function raise(map: Map<NodeId, number>, node: NodeId, lsn: number): void {
  if (lsn > (map.get(node) ?? 0)) map.set(node, lsn)
}
