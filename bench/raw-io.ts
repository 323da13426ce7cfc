/**
 * Baselines on a plain file: the same bytes the WAL writes, written and `fdatasync`ed by loops
 * as tight as Node allows, in four flavours: blocking calls (`sync`), a blocking write with an
 * async `fdatasync` (`hybrid`), callbacks, and promises (`FileHandle`).
 */
import * as fs from 'node:fs'
import { open, type FileHandle } from 'node:fs/promises'
import { nowMs } from './stats.js'

/** How a raw loop calls the file system. */
export type RawApi = 'sync' | 'hybrid' | 'callback' | 'promise'

/** Every raw flavour, in the order they are tried. */
export const RAW_APIS: readonly RawApi[] = ['sync', 'hybrid', 'callback', 'promise']

/** What a timed raw loop did. */
export interface RawLoopResult {
  batches: number
  elapsedMs: number
}

/** A plain file that raw loops append to. */
export interface RawFile {
  readonly handle: FileHandle
  /** Where the next append goes. */
  position: number
}

/** Creates a new file at `path` for raw appends; close it with {@link closeRawFile}. */
export async function createRawFile(path: string): Promise<RawFile> {
  return { handle: await open(path, 'wx+'), position: 0 }
}

/** Closes a file made by {@link createRawFile}. */
export async function closeRawFile(file: RawFile): Promise<void> {
  await file.handle.close()
}

/** Random bytes standing in for encoded records. */
export function randomBytesOf(length: number): Uint8Array {
  const bytes = new Uint8Array(length)
  for (let i = 0; i < length; i++) bytes[i] = (Math.random() * 256) | 0
  return bytes
}

type Done = (error: Error | null) => void

/** One `write` of all of `bytes` at `position` and one `fdatasync`, with callbacks. */
function writeThenSync(fd: number, bytes: Uint8Array, position: number, done: Done): void {
  fs.write(fd, bytes, 0, bytes.length, position, (error, written) => {
    if (error) return done(error)
    if (written !== bytes.length) return done(new Error(`short write: ${written}`))
    fs.fdatasync(fd, done)
  })
}

/** A blocking `write` of all of `bytes`, then an async `fdatasync`. */
function blockingWriteThenSync(fd: number, bytes: Uint8Array, position: number, done: Done): void {
  try {
    const written = fs.writeSync(fd, bytes, 0, bytes.length, position)
    if (written !== bytes.length) return done(new Error(`short write: ${written}`))
  } catch (error) {
    return done(error as Error)
  }
  fs.fdatasync(fd, done)
}

function syncLoop(file: RawFile, batch: Uint8Array, durationMs: number): RawLoopResult {
  const started = nowMs()
  const fd = file.handle.fd
  let batches = 0
  while (nowMs() - started < durationMs) {
    const written = fs.writeSync(fd, batch, 0, batch.length, file.position)
    if (written !== batch.length) throw new Error(`short write: ${written}`)
    fs.fdatasyncSync(fd)
    file.position += batch.length
    batches++
  }
  return { batches, elapsedMs: nowMs() - started }
}

function callbackLoop(
  file: RawFile,
  batch: Uint8Array,
  durationMs: number,
  step: typeof writeThenSync,
): Promise<RawLoopResult> {
  return new Promise((resolve, reject) => {
    const started = nowMs()
    let batches = 0
    const next = (error: Error | null): void => {
      if (error) return reject(error)
      if (batches > 0) file.position += batch.length
      if (nowMs() - started >= durationMs) return resolve({ batches, elapsedMs: nowMs() - started })
      batches++
      step(file.handle.fd, batch, file.position, next)
    }
    next(null)
  })
}

async function promiseLoop(
  file: RawFile,
  batch: Uint8Array,
  durationMs: number,
): Promise<RawLoopResult> {
  const started = nowMs()
  let batches = 0
  while (nowMs() - started < durationMs) {
    const { bytesWritten } = await file.handle.write(batch, 0, batch.length, file.position)
    if (bytesWritten !== batch.length) throw new Error(`short write: ${bytesWritten}`)
    await file.handle.datasync()
    file.position += batch.length
    batches++
  }
  return { batches, elapsedMs: nowMs() - started }
}

/**
 * Appends `batch` to `file` and `fdatasync`s after each write, over and over for `durationMs`,
 * through the given API.
 */
export async function rawBatchLoop(
  api: RawApi,
  file: RawFile,
  batch: Uint8Array,
  durationMs: number,
): Promise<RawLoopResult> {
  switch (api) {
    case 'sync':
      return syncLoop(file, batch, durationMs)
    case 'hybrid':
      return callbackLoop(file, batch, durationMs, blockingWriteThenSync)
    case 'callback':
      return callbackLoop(file, batch, durationMs, writeThenSync)
    case 'promise':
      return promiseLoop(file, batch, durationMs)
  }
}

/**
 * Appends `record` to `file` `count` times, each time awaiting one `write` and one `fdatasync`
 * (callback API); resolves each operation's latency in milliseconds.
 */
export async function rawSequentialSyncs(
  file: RawFile,
  record: Uint8Array,
  count: number,
): Promise<number[]> {
  const latencies: number[] = []
  for (let i = 0; i < count; i++) {
    const started = nowMs()
    await new Promise<void>((resolve, reject) =>
      writeThenSync(file.handle.fd, record, file.position, (error) =>
        error ? reject(error) : resolve(),
      ),
    )
    file.position += record.length
    latencies.push(nowMs() - started)
  }
  return latencies
}
