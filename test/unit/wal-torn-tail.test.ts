/**
 * Torn tails and garbage tails (I4 in docs/guarantees.md): a log whose last segment ends mid-record, or in
 * bytes that are not records of this log, recovers exactly the complete-record prefix, reports
 * the cut, and keeps working.
 */
import { readFileSync, writeFileSync, rmSync, mkdirSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { openWal } from '../../src/wal/index.js'
import {
  RECORD_HEADER_BYTES,
  SEGMENT_HEADER_BYTES,
  recordBytes,
  segmentName,
} from '../../src/wal/format.js'
import { tempDir } from '../support/tmp.js'
import { payloadOf, readAll, recoverAll } from '../support/wal.js'

const SEGMENT = segmentName(1)

/** Writes a log of records with the given payload sizes; returns its segment bytes. */
async function buildLog(dir: string, sizes: number[]): Promise<Uint8Array> {
  const wal = await openWal(dir)
  await Promise.all(sizes.map((size, i) => wal.append(payloadOf(i, size))))
  await wal.close()
  return new Uint8Array(readFileSync(join(dir, SEGMENT)))
}

/** Record boundaries: the file offset where each record ends. */
function recordEnds(sizes: number[]): number[] {
  const ends: number[] = []
  let at = SEGMENT_HEADER_BYTES
  for (const size of sizes) ends.push((at += recordBytes(size)))
  return ends
}

function freshLogDir(root: string, name: string, segmentBytes: Uint8Array): string {
  const dir = join(root, name)
  rmSync(dir, { recursive: true, force: true })
  mkdirSync(dir, { recursive: true })
  writeFileSync(join(dir, SEGMENT), segmentBytes)
  return dir
}

describe('torn tail at every byte offset of the last two records', () => {
  for (const recordSize of [0, 1, 7, 8, 9, 100, 1000]) {
    it(`record size ${recordSize}`, async () => {
      const root = tempDir()
      const sizes = [3, 64, recordSize, recordSize]
      const full = await buildLog(join(root, 'source'), sizes)
      const ends = recordEnds(sizes)
      expect(full.length).toBe(ends[ends.length - 1])
      const cutFrom = ends[ends.length - 3] as number
      for (let cut = cutFrom; cut <= full.length; cut++) {
        const complete = ends.filter((end) => end <= cut).length
        const dir = freshLogDir(root, 'case', full.subarray(0, cut))
        const wal = await openWal(dir)
        const records = await readAll(wal)
        expect(
          records.map((r) => r.lsn),
          `cut at ${cut}`,
        ).toEqual(sizes.slice(0, complete).map((_, i) => i + 1))
        records.forEach((r, i) => expect(r.payload).toEqual(payloadOf(i, sizes[i] as number)))
        const atBoundary = ends.includes(cut)
        expect(wal.recovery.tornTail === null, `cut at ${cut}`).toBe(atBoundary)
        if (!atBoundary) {
          expect(wal.recovery.tornTail).toMatchObject({
            segment: SEGMENT,
            offset: ends[complete - 1],
            bytesCut: cut - (ends[complete - 1] as number),
          })
        }
        // The log keeps working after the cut: append, reopen, everything is there. (Checked at
        // every boundary and a stride of offsets: each check costs several fsyncs.)
        if (!atBoundary && cut % 8 !== 1) {
          await wal.close()
          continue
        }
        expect(await wal.append(payloadOf(99, 5))).toBe(complete + 1)
        await wal.close()
        const again = await recoverAll(dir)
        expect(again.records.length).toBe(complete + 1)
        expect(again.records[complete]?.payload).toEqual(payloadOf(99, 5))
        expect(again.wal.recovery.tornTail).toBeNull()
      }
    })
  }

  it('a torn segment header (crash while creating a segment) keeps the LSN sequence', async () => {
    const root = tempDir()
    const source = join(root, 'source')
    const wal = await openWal(source, { segmentBytesMax: 256 })
    for (let i = 0; i < 12; i++) await wal.append(payloadOf(i, 40))
    await wal.close()
    const names = readdirSync(source)
      .filter((n) => n.endsWith('.log'))
      .sort()
    expect(names.length).toBeGreaterThan(2)
    const last = names[names.length - 1] as string
    const lastBytes = readFileSync(join(source, last))
    const firstOfLast = Number(last.slice(0, 16))
    for (let cut = 0; cut < SEGMENT_HEADER_BYTES + RECORD_HEADER_BYTES; cut++) {
      writeFileSync(join(source, last), lastBytes.subarray(0, cut))
      const { records, wal: reopened } = await recoverAll(source, { segmentBytesMax: 256 })
      expect(records.length, `cut ${cut}`).toBe(firstOfLast - 1)
      expect(reopened.recovery.tornTail === null, `cut ${cut}`).toBe(cut === SEGMENT_HEADER_BYTES)
      const next = await openWal(source, { segmentBytesMax: 256 })
      expect(await next.append(payloadOf(1, 1))).toBe(firstOfLast)
      await next.close()
      rmSync(join(source, last))
      writeFileSync(join(source, last), lastBytes)
    }
  })
})

describe('garbage tails are never accepted', () => {
  const sizes = [10, 20, 30]
  async function withTail(tail: Uint8Array): Promise<{ lsns: number[]; torn: unknown }> {
    const root = tempDir()
    const full = await buildLog(join(root, 'source'), sizes)
    const dir = freshLogDir(root, 'case', concat(full, tail))
    const { records, wal } = await recoverAll(dir)
    records.forEach((r, i) => expect(r.payload).toEqual(payloadOf(i, sizes[i] as number)))
    return { lsns: records.map((r) => r.lsn), torn: wal.recovery.tornTail }
  }

  it('zeros', async () => {
    for (const length of [1, 8, 24, 4096]) {
      const { lsns, torn } = await withTail(new Uint8Array(length))
      expect(lsns).toEqual([1, 2, 3])
      expect(torn).toMatchObject({ bytesCut: length })
    }
  })

  it('random bytes', async () => {
    for (let seed = 1; seed <= 20; seed++) {
      const { lsns } = await withTail(payloadOf(seed, 8 + seed * 37))
      expect(lsns).toEqual([1, 2, 3])
    }
  })

  it('a valid record from another log with the next LSN', async () => {
    const root = tempDir()
    // Another log with four records: its fourth record has LSN 4, the LSN ours would take next.
    const foreign = await buildLog(join(root, 'foreign'), [10, 20, 30, 40])
    const ends = recordEnds([10, 20, 30, 40])
    const foreignRecord = foreign.subarray(ends[2], ends[3])
    const { lsns, torn } = await withTail(foreignRecord)
    expect(lsns).toEqual([1, 2, 3])
    expect(torn).not.toBeNull()
  })
})

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length)
  out.set(a)
  out.set(b, a.length)
  return out
}
