/**
 * Read-only inspection of a log directory, for the CLI and for tests: segments, record counts,
 * LSN ranges and any problem found — without taking the lock, cutting or repairing anything.
 */
import { WAL_LIMITS } from '../core/limits.js'
import { joinPath, type FileLayer } from './file-layer.js'
import { parseSegmentName } from './format.js'
import { createNodeFileLayer } from './node-file-layer.js'
import { listSegments, readWholeFile } from './recovery.js'
import { scanSegment, type SegmentProblem } from './scan.js'

/** One segment as found on disk. */
export interface SegmentInspection {
  name: string
  bytes: number
  records: number
  firstLsn: number
  lastLsn: number
  problem: SegmentProblem | null
}

/** A log directory as found on disk. */
export interface WalInspection {
  dir: string
  segments: SegmentInspection[]
  records: number
  /** Files set aside by an earlier repair. */
  brokenFiles: string[]
}

/** Inspects the log in `dir` without changing anything. */
export async function inspectWal(
  dir: string,
  fs: FileLayer = createNodeFileLayer(),
): Promise<WalInspection> {
  const names = await listSegments(fs, dir)
  const segments: SegmentInspection[] = []
  for (let i = 0; i < names.length; i++) {
    const name = names[i] as string
    const nameLsn = parseSegmentName(name) as number
    const bytes = await readWholeFile(fs, joinPath(dir, name))
    const scan = scanSegment(bytes, {
      nameLsn,
      isLast: i === names.length - 1,
      recordBytesMax: WAL_LIMITS.recordBytesMax,
    })
    segments.push({
      name,
      bytes: bytes.length,
      records: scan.records,
      firstLsn: nameLsn,
      lastLsn: scan.lastLsn,
      problem: scan.problem ?? null,
    })
  }
  const brokenFiles = (await fs.list(dir)).filter((name) => name.includes('.broken')).sort()
  return { dir, segments, records: segments.reduce((sum, s) => sum + s.records, 0), brokenFiles }
}
