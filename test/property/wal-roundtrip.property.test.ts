/**
 * Round trip: any sequence of group commits of records of any size — especially sizes around
 * the 8-byte alignment, the 24-byte header and 512/4096-byte sector boundaries — reads back
 * exactly, before and after reopening, across segment rotations.
 */
import fc from 'fast-check'
import { describe, it, expect } from 'vitest'
import { openWal } from '../../src/wal/index.js'
import { RECORD_HEADER_BYTES } from '../../src/wal/format.js'
import { assertAsyncProperty } from '../support/property.js'
import { tempDir } from '../support/tmp.js'
import { diffPayloads, readAll, recoverAll } from '../support/wal.js'

const BOUNDARIES = [0, 8, 16, 24, 512, 4096, 8192]

/** Payload sizes that land a record's end just around an alignment or sector boundary. */
const payloadSize = fc.oneof(
  fc.integer({ min: 0, max: 40 }),
  fc
    .constantFrom(...BOUNDARIES)
    .chain((b) => fc.integer({ min: Math.max(0, b - RECORD_HEADER_BYTES - 9), max: b + 9 })),
  fc.integer({ min: 0, max: 20_000 }),
)

const payload = payloadSize.chain((size) => fc.uint8Array({ minLength: size, maxLength: size }))

/** A log: a list of group commits, each a list of payloads appended concurrently. */
const workload = fc.record({
  batches: fc.array(fc.array(payload, { minLength: 1, maxLength: 6 }), {
    minLength: 1,
    maxLength: 8,
  }),
  segmentBytesMax: fc.constantFrom(256, 1024, 4096, 64 * 1024),
})

describe('WAL round trip (property)', () => {
  it('reads back exactly what was appended, before and after reopen', async () => {
    await assertAsyncProperty(
      import.meta.url,
      fc.asyncProperty(workload, async ({ batches, segmentBytesMax }) => {
        const dir = tempDir()
        const wal = await openWal(dir, { segmentBytesMax, durability: 'none' })
        const expected: Uint8Array[] = []
        for (const batch of batches) {
          const lsns = await Promise.all(batch.map((p) => wal.append(p)))
          expect(lsns).toEqual(batch.map((_, i) => expected.length + i + 1))
          expected.push(...batch)
        }
        expect(
          diffPayloads(
            (await readAll(wal)).map((r) => r.payload),
            expected,
          ),
        ).toBe('equal')
        await wal.close()
        const { records, wal: reopened } = await recoverAll(dir, { segmentBytesMax })
        expect(
          diffPayloads(
            records.map((r) => r.payload),
            expected,
          ),
        ).toBe('equal')
        expect(reopened.recovery.tornTail).toBeNull()
        expect(reopened.recovery.records).toBe(expected.length)
      }),
      { numRuns: 60, fuzzRuns: 3000 },
    )
  })
})
