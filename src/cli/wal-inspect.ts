/**
 * `starling wal inspect <dir> [--json]`: what is on disk in a log directory — segments, record
 * counts, LSN ranges, torn tails, corruption and files set aside by repair — read-only and
 * without taking the lock. Exit code 1 when a segment is corrupt (a torn tail is normal after a
 * crash and is cut on the next open).
 */
import { inspectWal, type SegmentInspection, type WalInspection } from '../wal/index.js'
import { CliError, expectPositionals, flagOption, parseArgs, type CliIo } from './args.js'
import { formatTable, jsonLine } from './format.js'

/** Usage line of the command. */
export const WAL_INSPECT_USAGE = 'starling wal inspect <dir> [--json]'

function formatRange(segment: SegmentInspection): string {
  return segment.records === 0 ? '-' : `${segment.firstLsn}-${segment.lastLsn}`
}

function formatProblem(segment: SegmentInspection): string {
  const problem = segment.problem
  if (problem === null) return 'ok'
  const kind = problem.kind === 'torn' ? 'torn tail' : 'CORRUPT'
  return `${kind} at offset ${problem.offset}: ${problem.reason}`
}

/** The human-readable form of an inspection. */
export function formatInspection(inspection: WalInspection): string {
  const segments = inspection.segments
  const first = segments.find((s) => s.records > 0)
  const last = [...segments].reverse().find((s) => s.records > 0)
  const range = first && last ? `, LSN ${first.firstLsn}-${last.lastLsn}` : ''
  const lines = [
    `WAL ${inspection.dir}: ${segments.length} segment(s), ${inspection.records} records${range}`,
  ]
  if (segments.length > 0) {
    const header = ['segment', 'bytes', 'records', 'LSNs', 'state']
    const rows = segments.map((s) => [
      s.name,
      String(s.bytes),
      String(s.records),
      formatRange(s),
      formatProblem(s),
    ])
    lines.push(formatTable([header, ...rows], new Set([1, 2])))
  }
  const broken = inspection.brokenFiles
  lines.push(`broken files: ${broken.length === 0 ? 'none' : broken.join(', ')}`)
  return `${lines.join('\n')}\n`
}

/** Runs `starling wal inspect`; resolves the exit code. */
export async function runWalInspect(argv: readonly string[], io: CliIo): Promise<number> {
  const args = parseArgs(argv, { json: 'flag' })
  const [dir] = expectPositionals(args, 1, WAL_INSPECT_USAGE)
  let inspection: WalInspection
  try {
    inspection = await inspectWal(dir as string)
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (code !== 'ENOENT' && code !== 'ENOTDIR') throw error
    throw new CliError(`${dir as string} is not a directory`, 'NO_SUCH_DIRECTORY', {
      dir: dir as string,
    })
  }
  io.out(flagOption(args, 'json') ? jsonLine(inspection) : formatInspection(inspection))
  return inspection.segments.some((s) => s.problem?.kind === 'corrupt') ? 1 : 0
}
