/** Helpers shared by WAL tests. */
import type { Wal, WalOptions, WalRecord } from '../../src/wal/index.js'
import { openWal } from '../../src/wal/index.js'

/** Every record of a log, payloads copied. */
export async function readAll(wal: Wal, fromLsn?: number): Promise<WalRecord[]> {
  const records: WalRecord[] = []
  for await (const record of wal.read(fromLsn))
    records.push({ ...record, payload: record.payload.slice() })
  return records
}

/** Opens `dir`, reads every record, closes. */
export async function recoverAll(
  dir: string,
  options: WalOptions = {},
): Promise<{ records: WalRecord[]; wal: Wal }> {
  const wal = await openWal(dir, options)
  try {
    return { records: await readAll(wal), wal }
  } finally {
    await wal.close()
  }
}

/** A payload whose bytes depend on `seed` and `length`. */
export function payloadOf(seed: number, length: number): Uint8Array {
  const bytes = new Uint8Array(length)
  let x = (seed * 2654435761) >>> 0
  for (let i = 0; i < length; i++) {
    x = (x ^ (x << 13)) >>> 0
    x = (x ^ (x >>> 17)) >>> 0
    x = (x ^ (x << 5)) >>> 0
    bytes[i] = x & 0xff
  }
  return bytes
}

/**
 * Describes the first difference between two payload lists, or returns `'equal'`. Faster than a
 * deep `toEqual` on large byte arrays, and says where they differ.
 */
export function diffPayloads(
  actual: readonly Uint8Array[],
  expected: readonly Uint8Array[],
): string {
  if (actual.length !== expected.length)
    return `${actual.length} records where ${expected.length} were expected`
  for (let i = 0; i < actual.length; i++) {
    if (!Buffer.from(actual[i] as Uint8Array).equals(expected[i] as Uint8Array))
      return `record ${i + 1} differs`
  }
  return 'equal'
}
