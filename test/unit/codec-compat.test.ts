/**
 * Formats on disk stay byte-for-byte: these hex fixtures were written by the lib0-based encoders
 * and decoders that stores have used so far (WAL store and remote records, checkpoint LSNs and
 * ledger, encoded clocks). Each must still be written the same way and decode, with the strict
 * decoder, to the same value, so existing WALs and checkpoints still open.
 */
import { describe, expect, it } from 'vitest'

import { decodeHlc, encodeHlc } from '../../src/core/hlc.js'
import { toNodeId } from '../../src/core/ids.js'
import { decodeLsn, encodeLsn } from '../../src/store/checkpoint.js'
import { decodeUpdates, encodeUpdates, recordClock } from '../../src/store/record-codec.js'
import type { DocUpdate, RecordClock } from '../../src/store/record-codec.js'
import {
  SyncLedger,
  decodeRemoteRecord,
  encodeRemoteRecord,
  localEnvelope,
} from '../../src/store/remote.js'
import type { RemoteRecord } from '../../src/store/remote.js'

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex')
const unhex = (text: string) => new Uint8Array(Buffer.from(text, 'hex'))

const A = toNodeId('laptop-1')
const B = toNodeId('Phone_2')
const U1 = new Uint8Array([1, 2, 3, 250])
const U2 = new Uint8Array(200).map((_, i) => i)
const CLOCK = { wallMs: 1764790000123, counter: 300 }

const BYTES_0_TO_199 = hex(U2)
const FIXTURES = {
  twoDocs: `0102076e6f7465732f3104010203fa0c6e6f7465732fc3bcf09f9982c801${BYTES_0_TO_199}`,
  stamped: '02fbb3b9adae33ac020104746f646f04010203fa',
  empty: '0100',
  stampedMax: '02ffffffffffff3fffff0301017800',
  remote:
    '010750686f6e655f32f0a204020750686f6e655f32efa204fbb3b9adae33ac021402fbb3b9adae33ac020104746f' +
    '646f04010203fa9f096558086c6170746f702d31000500e601' +
    `0102076e6f7465732f3104010203fa0c6e6f7465732fc3bcf09f9982c801${BYTES_0_TO_199}35246a9c`,
  remoteEmpty: '01086c6170746f702d310000',
  ledger:
    '01010750686f6e655f322a020750686f6e655f322a0163808080808020010750686f6e655f32ffffffffffffff0f',
  ledgerEmpty: '01000000',
  hlcZero: '010000086c6170746f702d31',
  hlcMax: `01ffffffffffff3fffff0340${'7a'.repeat(64)}`,
}

const store = {
  twoDocs: {
    updates: [
      { key: 'notes/1', update: U1 },
      { key: 'notes/ü🙂', update: U2 },
    ],
  },
  stamped: { updates: [{ key: 'todo', update: U1 }], clock: CLOCK },
  empty: { updates: [] },
  stampedMax: {
    updates: [{ key: 'x', update: new Uint8Array(0) }],
    clock: { wallMs: 2 ** 48 - 1, counter: 65535 },
  },
} satisfies Record<string, { updates: DocUpdate[]; clock?: RecordClock }>

const remotes: Record<'remote' | 'remoteEmpty', RemoteRecord> = {
  remote: {
    sender: B,
    cursor: 70000,
    envelopes: [
      localEnvelope(B, 69999, unhex(FIXTURES.stamped), CLOCK),
      localEnvelope(A, 0, unhex(FIXTURES.twoDocs), { wallMs: 5, counter: 0 }),
    ],
  },
  remoteEmpty: { sender: A, cursor: 0, envelopes: [] },
}

describe('formats on disk', () => {
  it('store records (v1 and v2) are written and read as before', () => {
    for (const [name, { updates, ...rest }] of Object.entries(store)) {
      const clock = 'clock' in rest ? rest.clock : undefined
      const bytes = unhex(FIXTURES[name as keyof typeof store])
      expect([name, hex(encodeUpdates(updates, clock))]).toEqual([name, hex(bytes)])
      expect(decodeUpdates(bytes)).toEqual(updates)
      expect(recordClock(bytes)).toEqual(clock ?? { wallMs: 0, counter: 0 })
    }
  })

  it('remote records are written and read as before', () => {
    for (const [name, record] of Object.entries(remotes)) {
      const bytes = unhex(FIXTURES[name as keyof typeof remotes])
      expect([name, hex(encodeRemoteRecord(record))]).toEqual([name, hex(bytes)])
      expect(decodeRemoteRecord(bytes)).toEqual(record)
    }
  })

  it('the checkpoint ledger is written and read as before', () => {
    const ledger = new SyncLedger(A)
    ledger.note({
      sender: B,
      cursor: 42,
      envelopes: [
        localEnvelope(B, 42, U1, CLOCK),
        localEnvelope(toNodeId('c'), 2 ** 40, U1, { wallMs: 1, counter: 1 }),
      ],
    })
    ledger.noteAck(B, Number.MAX_SAFE_INTEGER)
    expect(hex(ledger.encode())).toBe(FIXTURES.ledger)
    expect(hex(new SyncLedger(A).encode())).toBe(FIXTURES.ledgerEmpty)

    const loaded = new SyncLedger(A)
    loaded.load(unhex(FIXTURES.ledger))
    expect([loaded.inbound, loaded.highWater, loaded.acked]).toEqual([
      ledger.inbound,
      ledger.highWater,
      ledger.acked,
    ])
    const empty = new SyncLedger(A)
    empty.load(unhex(FIXTURES.ledgerEmpty))
    expect(empty.inbound.size + empty.highWater.size + empty.acked.size).toBe(0)
  })

  it('checkpoint LSNs are written and read as before', () => {
    const lsns: [number, string][] = [
      [0, '00'],
      [127, '7f'],
      [128, '8001'],
      [Number.MAX_SAFE_INTEGER, 'ffffffffffffff0f'],
    ]
    for (const [lsn, bytes] of lsns) {
      expect(hex(encodeLsn(lsn))).toBe(bytes)
      expect(decodeLsn(unhex(bytes))).toBe(lsn)
    }
    expect(decodeLsn(undefined)).toBe(0)
  })

  it('encoded clocks are written and read as before', () => {
    const clocks = {
      hlcZero: { wallMs: 0, counter: 0, nodeId: A },
      hlcMax: { wallMs: 2 ** 48 - 1, counter: 65535, nodeId: toNodeId('z'.repeat(64)) },
    }
    for (const [name, hlc] of Object.entries(clocks)) {
      const bytes = FIXTURES[name as keyof typeof clocks]
      expect(hex(encodeHlc(hlc))).toBe(bytes)
      expect(decodeHlc(unhex(bytes))).toEqual(hlc)
    }
  })
})
