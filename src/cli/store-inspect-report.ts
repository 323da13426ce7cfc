/**
 * The human-readable form of `starling inspect` (see `store-inspect.ts`).
 */
import type { OpenReport } from '../store/index.js'
import { formatTable } from './format.js'
import type { KeyPolicy, StoreInspection } from './store-inspect.js'
import { formatInspection } from './wal-inspect.js'

function formatStatus(inspection: StoreInspection): string {
  const head = `Store ${inspection.dir}: `
  switch (inspection.status) {
    case 'opened':
      return `${head}opened and closed without writing (node ${inspection.nodeId})`
    case 'in-use':
      return `${head}${inspection.note}`
    case 'not-opened':
      return `${head}not opened: ${inspection.note}`
    case 'open-failed':
      return `${head}FAILED to open: ${inspection.note}`
  }
}

function formatRecovery(report: OpenReport): string {
  const wal = report.walRecovery
  const torn = wal.tornTail === null ? 'none' : `${wal.tornTail.bytesCut} bytes cut`
  return (
    `recovery on this open: replayed ${report.replayedRecords} record(s) (${report.replayedUpdates} ` +
    `update(s)) after the checkpoint; WAL ${wal.segments} segment(s), ${wal.records} ` +
    `record(s), LSN ${wal.firstLsn}-${wal.lastLsn}; torn tail: ${torn}`
  )
}

function formatKeys(keys: KeyPolicy[]): string[] {
  const existing = keys.filter((k) => k.exists).length
  const lines = [`keys: ${keys.length} (${existing} existing)`]
  if (keys.length > 0) {
    const rows = keys.map((k) => [k.key, k.policy ?? '(none)', k.exists ? 'exists' : 'deleted'])
    lines.push(formatTable([['key', 'policy', 'state'], ...rows]))
  }
  const problems = keys.filter((k) => k.problem !== null)
  lines.push(`policy problems: ${problems.length === 0 ? 'none' : problems.length}`)
  for (const k of problems) lines.push(`  ${k.key}: ${k.problem}`)
  return lines
}

/** The human-readable form of a store inspection. */
export function formatStoreInspection(inspection: StoreInspection): string {
  const lines = [formatStatus(inspection)]
  if (inspection.checkpointLsn !== null) {
    lines.push(
      `checkpoint LSN ${inspection.checkpointLsn}, last LSN ${inspection.lastLsn}, ` +
        `${inspection.recordsSinceCheckpoint} record(s) since the checkpoint`,
    )
  }
  if (inspection.recovery !== null) lines.push(formatRecovery(inspection.recovery))
  const wal = inspection.wal
  lines.push(wal === null ? 'WAL: no wal/ directory' : formatInspection(wal).trimEnd())
  if (inspection.keys !== null) lines.push(...formatKeys(inspection.keys))
  else lines.push('keys and policies: not available (the store was not opened)')
  return `${lines.join('\n')}\n`
}
