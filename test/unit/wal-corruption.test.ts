/**
 * Corruption (I4, I10 in docs/guarantees.md): every flipped bit of a small log is detected — open fails with
 * WAL_CORRUPTION or the damage is the cut torn tail — and no read ever returns a wrong payload.
 * Repair keeps the valid prefix and the damaged files as *.broken.
 */
import {
  existsSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
  mkdirSync,
  copyFileSync,
} from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { isStarlingError } from '../../src/core/errors.js'
import { openWal, type WalRecord } from '../../src/wal/index.js'
import { tempDir } from '../support/tmp.js'
import { payloadOf, readAll, recoverAll } from '../support/wal.js'

async function buildLog(
  dir: string,
  count: number,
  options: { segmentBytesMax?: number; concurrent?: boolean } = {},
): Promise<void> {
  const wal = await openWal(
    dir,
    options.segmentBytesMax ? { segmentBytesMax: options.segmentBytesMax } : {},
  )
  if (options.concurrent)
    await Promise.all(
      Array.from({ length: count }, (_, i) => wal.append(payloadOf(i, 5 + (i % 13)))),
    )
  else for (let i = 0; i < count; i++) await wal.append(payloadOf(i, 5 + (i % 13)))
  await wal.close()
}

function copyLog(from: string, to: string): void {
  rmSync(to, { recursive: true, force: true })
  mkdirSync(to, { recursive: true })
  for (const name of readdirSync(from))
    if (name.endsWith('.log')) copyFileSync(join(from, name), join(to, name))
}

function expectCorrectPrefix(records: WalRecord[]): void {
  records.forEach((r, i) => {
    expect(r.lsn).toBe(i + 1)
    expect(r.payload).toEqual(payloadOf(i, 5 + (i % 13)))
  })
}

describe('bit-flip sweep', () => {
  it('every flipped bit of a small log is detected; no read returns a wrong payload', async () => {
    const root = tempDir()
    const source = join(root, 'source')
    // Sequential appends: one record per group commit, so damage before the last record is
    // followed by a later commit and must be reported as corruption.
    await buildLog(source, 6)
    const name = readdirSync(source).find((n) => n.endsWith('.log')) as string
    const original = readFileSync(join(source, name))
    const dir = join(root, 'case')
    let corruptions = 0
    let torn = 0
    for (let byte = 0; byte < original.length; byte++) {
      for (let bit = 0; bit < 8; bit++) {
        copyLog(source, dir)
        const damaged = Buffer.from(original)
        damaged[byte] = (damaged[byte] as number) ^ (1 << bit)
        writeFileSync(join(dir, name), damaged)
        try {
          const { records, wal } = await recoverAll(dir)
          // Accepted only as a torn tail: the damage is in the last record, which is cut.
          expect(wal.recovery.tornTail, `byte ${byte} bit ${bit}`).not.toBeNull()
          expect(records.length).toBe(5)
          expectCorrectPrefix(records)
          torn++
        } catch (error) {
          expect(
            isStarlingError(error, 'WAL_CORRUPTION'),
            `byte ${byte} bit ${bit}: ${String(error)}`,
          ).toBe(true)
          corruptions++
        }
      }
    }
    expect(corruptions + torn).toBe(original.length * 8)
    expect(corruptions).toBeGreaterThan(torn)
  })
})

describe('corruption outside the tail', () => {
  it('fails open with WAL_CORRUPTION naming segment and offset, and changes nothing', async () => {
    const dir = tempDir()
    await buildLog(dir, 8)
    const name = readdirSync(dir).find((n) => n.endsWith('.log')) as string
    const bytes = readFileSync(join(dir, name))
    bytes[32 + 24 + 2] = (bytes[32 + 24 + 2] as number) ^ 0xff // inside the first record's payload
    writeFileSync(join(dir, name), bytes)
    const error: unknown = await openWal(dir).catch((e: unknown) => e)
    expect(isStarlingError(error, 'WAL_CORRUPTION')).toBe(true)
    expect((error as { details: unknown }).details).toMatchObject({ segment: name, offset: 32 })
    expect(readFileSync(join(dir, name))).toEqual(bytes)
    // The lock was released: a second attempt reports the same corruption, not STORE_LOCKED.
    const again: unknown = await openWal(dir).catch((e: unknown) => e)
    expect(isStarlingError(again, 'WAL_CORRUPTION')).toBe(true)
  })

  it('repair keeps the valid prefix, sets damaged and later segments aside, and continues', async () => {
    const dir = tempDir()
    await buildLog(dir, 30, { segmentBytesMax: 200 })
    const names = readdirSync(dir)
      .filter((n) => n.endsWith('.log'))
      .sort()
    expect(names.length).toBeGreaterThan(4)
    const victim = names[1] as string
    const firstOfVictim = Number(victim.slice(0, 16))
    const bytes = readFileSync(join(dir, victim))
    bytes[32 + 24 + 24 + 8 + 1] = (bytes[32 + 24 + 24 + 8 + 1] as number) ^ 1 // the second record of it
    writeFileSync(join(dir, victim), bytes)
    await expect(openWal(dir)).rejects.toMatchObject({ code: 'WAL_CORRUPTION' })
    const wal = await openWal(dir, { repair: true, segmentBytesMax: 200 })
    expect(wal.recovery.corruption).toMatchObject({ segment: victim })
    expect(wal.recovery.corruption?.brokenFiles).toContain(`${victim}.broken`)
    expect(wal.lastLsn).toBe(firstOfVictim) // only the first record of the victim survives
    const records = await readAll(wal)
    expectCorrectPrefix(records)
    expect(records.length).toBe(firstOfVictim)
    expect(await wal.append(payloadOf(firstOfVictim, 5 + (firstOfVictim % 13)))).toBe(
      firstOfVictim + 1,
    )
    await wal.close()
    for (const later of names.slice(2)) expect(existsSync(join(dir, `${later}.broken`))).toBe(true)
    expect(existsSync(join(dir, `${victim}.broken`))).toBe(true)
    const reopened = await recoverAll(dir)
    expect(reopened.records.length).toBe(firstOfVictim + 1)
    expect(reopened.wal.recovery.corruption).toBeNull()
  })

  it('a missing middle segment is corruption (a gap), never silently skipped', async () => {
    const dir = tempDir()
    await buildLog(dir, 30, { segmentBytesMax: 200 })
    const names = readdirSync(dir)
      .filter((n) => n.endsWith('.log'))
      .sort()
    rmSync(join(dir, names[2] as string))
    await expect(openWal(dir)).rejects.toMatchObject({ code: 'WAL_CORRUPTION' })
    const wal = await openWal(dir, { repair: true })
    expect(wal.lastLsn).toBe(Number((names[2] as string).slice(0, 16)) - 1)
    expectCorrectPrefix(await readAll(wal))
    await wal.close()
  })

  it('damage inside a committed batch followed by a later batch in the last segment is corruption', async () => {
    const dir = tempDir()
    const wal = await openWal(dir)
    await Promise.all([0, 1, 2].map((i) => wal.append(payloadOf(i, 5 + i))))
    await wal.append(payloadOf(3, 8)) // a later group commit
    await wal.close()
    const name = readdirSync(dir).find((n) => n.endsWith('.log')) as string
    const bytes = readFileSync(join(dir, name))
    bytes[32 + 24 + 1] = (bytes[32 + 24 + 1] as number) ^ 4
    writeFileSync(join(dir, name), bytes)
    await expect(openWal(dir)).rejects.toMatchObject({ code: 'WAL_CORRUPTION' })
  })
})
