/**
 * The write-ahead log in a few lines: open (recovering whatever a crash left), append with group
 * commit, read back, reopen. Run with `npx tsx examples/wal-quickstart.ts [dir]`.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { openWal } from 'starling/wal'

const dir = process.argv[2] ?? mkdtempSync(join(tmpdir(), 'starling-example-'))
const encoder = new TextEncoder()

const wal = await openWal(dir)
// Concurrent appends share one write and one fdatasync (group commit); each promise resolves
// with the record's LSN once it is on stable storage.
const lsns = await Promise.all(
  ['alpha', 'beta', 'gamma'].map((word) => wal.append(encoder.encode(word))),
)
console.log(
  `appended LSNs ${lsns.join(', ')} in ${wal.stats.batches} batch(es), ${wal.stats.syncs} fdatasync(s)`,
)
await wal.close()

// Reopening runs recovery; every acknowledged record is there.
const reopened = await openWal(dir)
const words: string[] = []
for await (const record of reopened.read()) words.push(new TextDecoder().decode(record.payload))
console.log(`recovered ${reopened.recovery.records} records: ${words.join(' ')}`)
await reopened.close()
if (process.argv[2] === undefined) rmSync(dir, { recursive: true, force: true })
