/**
 * Damage to a LevelDB database (docs/guarantees.md, "Damage and repair"). LevelDB opens a
 * database whose log has damaged records by dropping them — and deletes that log once it has
 * compacted what it kept — saying so only in its info log (`LOG`: "(ignoring error) … dropping
 * N bytes; Corruption: …"). A store opened on it would silently miss checkpointed state. So the
 * adapter reads `LOG` after every open: what LevelDB dropped is recorded in a marker file, the
 * open fails with `STORAGE_CORRUPTION`, and every later open fails the same way until a repair
 * (`repair: true`: LevelDB's repairer, which keeps every readable table and log record, then the
 * marker is removed and the store replays its whole WAL over what was kept).
 */
import { readFile, rm, writeFile } from 'node:fs/promises'
import { basename, join } from 'node:path'
import { ClassicLevel } from 'classic-level'
import { StarlingError } from '../../src/core/errors.js'
import { syncDirectory } from './leveldb-storage.js'

/** The marker file of a database LevelDB opened by dropping damaged data. */
export const DAMAGE_MARKER = 'STARLING-DAMAGED'

/** How to get out of a `STORAGE_CORRUPTION` at open; every such error names it. */
export const STORAGE_REPAIR_HINT =
  'To open what is readable, open with createStore({ path, repair: true }) or run ' +
  '`starling repair <dir>`: LevelDB keeps every readable table and log record and the store ' +
  'replays its whole WAL over them (complete when the WAL still holds every record since the ' +
  'store was created; otherwise restore from a backup or let a peer fill in the rest)'

async function readText(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw error
  }
}

/** The lines of LevelDB's info log saying the open just done dropped damaged data. */
export async function droppedAtOpen(location: string): Promise<string[]> {
  const log = (await readText(join(location, 'LOG'))) ?? ''
  return log
    .split('\n')
    .filter((line) => /\(ignoring error\)|Corruption/.test(line))
    .map((line) => line.replace(/^\d{4}\/\d\d\/\d\d-[\d:.]+ [0-9a-f]+ /, ''))
}

/** What the marker of `location` records, or undefined when there is none. */
export async function readDamageMarker(location: string): Promise<string[] | undefined> {
  const text = await readText(join(location, DAMAGE_MARKER))
  return text === undefined ? undefined : text.split('\n').filter((line) => line.length > 0)
}

/** Records `lines` in the marker of `location`, durably. */
export async function writeDamageMarker(location: string, lines: string[]): Promise<void> {
  await writeFile(join(location, DAMAGE_MARKER), `${lines.join('\n')}\n`, { flush: true })
  await syncDirectory(location, 'createLeveldbStorage')
}

/** Runs LevelDB's repairer on the (closed) database and removes the marker. */
export async function repairDatabase(location: string): Promise<void> {
  await ClassicLevel.repair(location)
  await rm(join(location, DAMAGE_MARKER), { force: true })
  await syncDirectory(location, 'createLeveldbStorage')
}

/** The innermost message of an error's chain of causes (LevelDB's own reason for a failure). */
export function innermostMessage(error: unknown): string {
  let message = error instanceof Error ? error.message : String(error)
  let current: unknown = error
  for (let depth = 0; depth < 8 && current instanceof Error; depth++) {
    message = current.message
    current = current.cause
  }
  return message
}

/** The files LevelDB's messages name (`…/000003.log: dropping …` → `000003.log`). */
export function damagedFiles(lines: readonly string[]): string[] {
  const files = new Set<string>()
  for (const line of lines) {
    for (const match of line.matchAll(/(\/[^\s:]+)/g)) files.add(basename(match[1] as string))
  }
  return [...files]
}

/** `STORAGE_CORRUPTION` for a database LevelDB reported damaged (`lines`: its messages). */
export function damagedError(location: string, lines: string[], cause?: unknown): StarlingError {
  const files = damagedFiles(lines)
  const what = files.length === 0 ? '' : ` (${files.join(', ')})`
  return new StarlingError(
    'STORAGE_CORRUPTION',
    `the LevelDB storage in ${location} is damaged${what}: ${lines[0] ?? 'unreadable'}. ` +
      `Nothing was changed. ${STORAGE_REPAIR_HINT}.`,
    { location, files: files.join(', '), backendMessages: lines.join('\n') },
    cause,
  )
}
