/**
 * `starling repair <dir> [--json]`: opens a damaged store with `repair: true` and says what was
 * kept and what was lost (docs/guarantees.md, "Damage and repair"). The WAL keeps its records
 * before the damage (the damaged files are kept as `*.broken`), the store opens from its
 * checkpoint plus those records and is closed with a checkpoint. An undamaged store is opened
 * and closed the same way: repairing it changes nothing it holds.
 */
import { createStore } from '../create-store.js'
import { lww } from '../policy/index.js'
import type { OpenReport } from '../store/index.js'
import { expectPositionals, flagOption, parseArgs, type CliIo } from './args.js'
import { jsonLine } from './format.js'
import { checkStoreDir, explainOpenError } from './store-open.js'

/** Usage line of the command. */
export const REPAIR_USAGE = 'starling repair <dir> [--json]'

/** What `repair` did, as `--json` prints it. */
export interface RepairResult {
  dir: string
  checkpointLsn: number
  /** WAL records after the checkpoint that were kept and replayed. */
  replayedRecords: number
  /** Newest LSN of the log after the repair. */
  lastLsn: number
  tornTail: OpenReport['walRecovery']['tornTail']
  corruption: OpenReport['walRecovery']['corruption']
  walRestarted: OpenReport['walRestarted']
  lost: OpenReport['lost']
}

/** Runs `starling repair`; resolves the exit code (0: the store opens now). */
export async function runRepair(argv: readonly string[], io: CliIo): Promise<number> {
  const args = parseArgs(argv, { json: 'flag' })
  const [dir] = expectPositionals(args, 1, REPAIR_USAGE) as [string]
  await checkStoreDir(dir, false)
  let result: RepairResult
  try {
    const store = await createStore({ path: dir, repair: true, defaultPolicy: lww() })
    const report = store.openReport as OpenReport
    result = {
      dir,
      checkpointLsn: report.checkpointLsn,
      replayedRecords: report.replayedRecords,
      lastLsn: store.stats.lastLsn,
      tornTail: report.walRecovery.tornTail,
      corruption: report.walRecovery.corruption,
      walRestarted: report.walRestarted,
      lost: report.lost,
    }
    await store.close()
  } catch (error) {
    throw await explainOpenError(dir, error)
  }
  io.out(flagOption(args, 'json') ? jsonLine(result) : formatRepair(result))
  return 0
}

/** The human-readable form of a repair. */
export function formatRepair(result: RepairResult): string {
  const lines = [
    `${result.dir}: opens; checkpoint at LSN ${result.checkpointLsn} plus ` +
      `${result.replayedRecords} WAL record(s) after it kept; the log ends at LSN ${result.lastLsn}`,
  ]
  const { corruption, tornTail, walRestarted, lost } = result
  if (corruption !== null) {
    lines.push(
      `  WAL damaged: ${corruption.segment} at offset ${corruption.offset} (${corruption.reason}); ` +
        'every record before it kept',
      `  damaged files kept as: ${corruption.brokenFiles.join(', ')}`,
    )
  }
  if (tornTail !== null) {
    lines.push(
      `  torn tail cut: ${tornTail.bytesCut} bytes of ${tornTail.segment} at offset ${tornTail.offset}`,
    )
  }
  if (walRestarted !== null) {
    const kept = walRestarted.supersededFiles
    lines.push(
      `  the WAL ended at LSN ${walRestarted.walEndedAtLsn}, before the checkpoint; it continues ` +
        `at LSN ${walRestarted.startLsn}` +
        (kept.length === 0 ? '' : ` (old segments kept as: ${kept.join(', ')})`),
    )
  }
  lines.push(
    lost === null
      ? '  nothing lost: every checkpointed write and every intact record is in the store'
      : `  LOST: the records at LSNs ${lost.fromLsn}–${lost.toLsn}, written after the checkpoint`,
  )
  return `${lines.join('\n')}\n`
}
