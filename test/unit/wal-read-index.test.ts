/**
 * Reading from any LSN through the read index (docs/ARCHITECTURE.md, "Reading and truncation"):
 * exactly the records asked for, across rotations, truncation and reopen; a read near the tail
 * costs what it reads, not the segment; and records behind an index entry are still verified.
 */
import { describe, expect, it } from 'vitest'
import { isStarlingError } from '../../src/core/errors.js'
import { WAL_LIMITS } from '../../src/core/limits.js'
import { createSimFs, createVirtualEnv } from '../../src/testing/index.js'
import type { SimFs } from '../../src/testing/index.js'
import type { FileLayer, LayerFile } from '../../src/wal/file-layer.js'
import { RECORD_HEADER_BYTES, SEGMENT_HEADER_BYTES, recordBytes } from '../../src/wal/format.js'
import { openWal } from '../../src/wal/index.js'
import { PositionIndex } from '../../src/wal/position-index.js'
import type { Wal, WalOptions, WalRecord } from '../../src/wal/index.js'
import { payloadOf } from '../support/wal.js'

const DIR = '/data/wal'
const STRIDE = WAL_LIMITS.readIndexStrideBytes

/** A file layer that counts the bytes every `read` returns. */
interface CountingFs extends FileLayer {
  bytesRead: number
}

function counting(inner: FileLayer): CountingFs {
  const layer: CountingFs = {
    bytesRead: 0,
    mkdirp: (dir) => inner.mkdirp(dir),
    list: (dir) => inner.list(dir),
    rename: (from, to) => inner.rename(from, to),
    remove: (path) => inner.remove(path),
    syncDir: (dir) => inner.syncDir(dir),
    lock: (dir) => inner.lock(dir),
    async open(path, mode, options) {
      const file = await inner.open(path, mode, options)
      const counted: LayerFile = {
        async read(buffer, offset, length, position) {
          const n = await file.read(buffer, offset, length, position)
          layer.bytesRead += n
          return n
        },
        write: (data, position) => file.write(data, position),
        sync: () => file.sync(),
        truncate: (length) => file.truncate(length),
        size: () => file.size(),
        close: () => file.close(),
      }
      return counted
    },
  }
  return layer
}

/** Payload length of record `lsn`: varied, some records longer than half a stride. */
function lengthOf(lsn: number): number {
  return lsn % 17 === 0 ? 20_000 + (lsn % 7) * 1000 : 50 + ((lsn * 37) % 3000)
}

async function open(fs: FileLayer, options: WalOptions = {}): Promise<Wal> {
  return openWal(DIR, { fs, env: createVirtualEnv({ seed: 8 }), durability: 'none', ...options })
}

async function appendUpTo(wal: Wal, lastLsn: number): Promise<void> {
  while (wal.lastLsn < lastLsn) {
    const lsn = wal.lastLsn + 1
    await wal.append(payloadOf(lsn, lengthOf(lsn)), 1 + (lsn % 200))
  }
}

async function collect(wal: Wal, from: number, toLsn?: number): Promise<WalRecord[]> {
  const records: WalRecord[] = []
  for await (const record of wal.read(from, toLsn === undefined ? {} : { toLsn }))
    records.push({ ...record, payload: record.payload.slice() })
  return records
}

/** Checks that `read(from, { toLsn })` yields exactly records `from…toLsn` as appended. */
async function expectRange(wal: Wal, from: number, toLsn: number): Promise<void> {
  const records = await collect(wal, from, toLsn)
  expect(records.map((r) => r.lsn)).toEqual(
    Array.from({ length: toLsn - from + 1 }, (_, i) => from + i),
  )
  for (const record of records) {
    expect(record.type).toBe(1 + (record.lsn % 200))
    const expected = payloadOf(record.lsn, lengthOf(record.lsn))
    expect(Buffer.from(record.payload).equals(expected), `payload of LSN ${record.lsn}`).toBe(true)
  }
}

/** Single-record reads of every LSN, and ranges from a spread of starts to several ends. */
async function expectEveryRead(wal: Wal): Promise<void> {
  const first: number = wal.firstLsn
  const last: number = wal.writtenLsn
  for (let lsn = first; lsn <= last; lsn++) await expectRange(wal, lsn, lsn)
  for (let from = first; from <= last; from += 23) {
    for (const span of [1, 9, 70, last - from])
      await expectRange(wal, from, Math.min(last, from + span))
  }
  await expectRange(wal, first, last)
}

function segmentsOf(fs: SimFs): string[] {
  return fs.listSync(DIR).filter((name) => name.endsWith('.log'))
}

describe('reads through the read index', () => {
  it('returns exactly the records asked for across rotations, truncation and reopen', async () => {
    const fs = createSimFs()
    const segmentBytesMax = 6 * STRIDE
    let wal = await open(fs, { segmentBytesMax })
    await appendUpTo(wal, 400)
    expect(segmentsOf(fs).length).toBeGreaterThan(4)
    await expectEveryRead(wal)

    // Truncation drops whole segments; reads from what is left are unchanged.
    const removed = await wal.truncateBefore(150)
    expect(removed).toBeGreaterThan(0)
    expect(wal.firstLsn).toBeGreaterThan(1)
    await expectEveryRead(wal)

    // Reopened, the index comes from recovery; appends after it extend the recovered tail's index.
    await wal.close()
    wal = await open(fs, { segmentBytesMax })
    await expectEveryRead(wal)
    await appendUpTo(wal, 520)
    await expectEveryRead(wal)
    await wal.close()
  })

  it('reads a record near the tail of a large segment without scanning the segment', async () => {
    const fs = counting(createSimFs())
    let wal = await open(fs)
    const payload = new Uint8Array(100)
    for (let i = 0; i < 20_000; i++) await wal.append(payload)
    const segmentBytes = SEGMENT_HEADER_BYTES + 20_000 * recordBytes(100)
    expect(segmentBytes).toBeGreaterThan(60 * STRIDE)
    // At most the header, one stride before the record, and the record itself.
    const bound = SEGMENT_HEADER_BYTES + STRIDE + recordBytes(100)

    const readCost = async (from: number, toLsn?: number): Promise<number> => {
      const before = fs.bytesRead
      const records = await collect(wal, from, toLsn)
      expect(records[0]?.lsn).toBe(from)
      expect(records.at(-1)?.lsn).toBe(toLsn ?? wal.writtenLsn)
      return fs.bytesRead - before
    }
    expect(await readCost(20_000)).toBeLessThanOrEqual(bound)
    expect(await readCost(19_990)).toBeLessThanOrEqual(bound + 10 * recordBytes(100))
    // A range in the middle stops at most one stride after its end.
    expect(await readCost(10_000, 10_010)).toBeLessThanOrEqual(
      bound + STRIDE + 10 * recordBytes(100),
    )

    // The same after a reopen, where the index was built by recovery.
    await wal.close()
    wal = await open(fs)
    expect(await readCost(20_000)).toBeLessThanOrEqual(bound)
    // And for records appended after the reopen.
    await wal.append(payload)
    expect(await readCost(20_001)).toBeLessThanOrEqual(bound)
    await wal.close()
  })

  it('verifies every record it reads from disk, including those between index entry and start', async () => {
    for (const target of ['the record read', 'a record skipped before it'] as const) {
      const fs = createSimFs()
      const wal = await open(fs)
      const payload = new Uint8Array(100)
      for (let i = 0; i < 2000; i++) await wal.append(payload)
      const from = 2000
      // Record `from − 1` lies between the index entry at or before `from` and `from` itself
      // (entries are at least a stride apart and a stride holds many 100-byte records).
      const lsn = target === 'the record read' ? from : from - 1
      const offset = SEGMENT_HEADER_BYTES + (lsn - 1) * recordBytes(100) + RECORD_HEADER_BYTES
      fs.corrupt(`${DIR}/${segmentsOf(fs)[0] as string}`, offset + 10, new Uint8Array([0xff]))
      const error = await collect(wal, from).then(
        () => undefined,
        (e: unknown) => e,
      )
      expect(isStarlingError(error, 'WAL_CORRUPTION'), `${target}: ${String(error)}`).toBe(true)
      await wal.close()
    }
  })
})

describe('PositionIndex', () => {
  it('keeps one entry per stride (bounded memory) and finds the entries around an LSN', () => {
    const index = new PositionIndex(1000)
    const offsetOf = (lsn: number) => SEGMENT_HEADER_BYTES + (lsn - 1) * 96
    for (let lsn = 1; lsn <= 10_000; lsn++) index.note(lsn, offsetOf(lsn))
    const segmentBytes = offsetOf(10_001)
    expect(index.size).toBeLessThanOrEqual(Math.floor(segmentBytes / 1000) + 1)
    expect(index.size).toBeGreaterThan(segmentBytes / 2000)
    expect(index.floor(0)).toBeUndefined()
    expect(index.floor(1)).toEqual({ lsn: 1, offset: offsetOf(1) })
    expect(index.floor(20_000)).toEqual(index.floor(10_000))
    for (const lsn of [1, 2, 11, 12, 5000, 9999, 10_000]) {
      const floor = index.floor(lsn)
      const after = index.after(lsn)
      expect(floor && floor.lsn <= lsn && offsetOf(lsn) - floor.offset < 1000 + 96).toBe(true)
      if (after !== undefined) {
        expect(after.lsn).toBeGreaterThan(lsn)
        expect(after.offset - offsetOf(lsn)).toBeLessThan(1000 + 96)
        expect(index.floor(after.lsn - 1)).toEqual(floor)
      }
    }
    expect(index.after(10_000)).toBeUndefined()
  })
})
