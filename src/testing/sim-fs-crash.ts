/**
 * The machinery behind the simulated file layer (`sim-fs.ts`): the disk model — files and
 * directories that each hold a durable state (as of their last sync) and the changes made since —
 * the functions that turn it into what a disk might hold after power loss ({@link CrashMode}),
 * and the step counter that injects crashes and device faults.
 *
 * `sim-fs.ts` re-exports the public part (crash modes, faults, `SimCrashError`); the rest is
 * internal to the simulator.
 */
import { invalidArgument } from '../core/errors.js'
import type { Rng } from '../core/random.js'

/**
 * What power loss does to changes that were not yet synced, when taking a crash image:
 * - `drop`: every unsynced byte and every unsynced directory change is lost.
 * - `keep`: everything pending survives (the crash came just after the cache was flushed).
 * - `tear`: each file's pending writes reach the disk in order up to a random byte inside a
 *   random one of them, later ones are lost; each unsynced directory change (create, rename,
 *   remove) independently survives or not, but always as a whole.
 * - `sectors`: each 512-byte sector touched by pending writes is independently old or new (the
 *   writeback reordered), the file length is the old or the new one; directory changes as `tear`.
 * - `zero-extend`: metadata survives but data does not: files take the sizes the pending writes
 *   and truncates gave them, the bytes they added are zeros and bytes they overwrote keep their
 *   old content; directory changes survive.
 */
export type CrashMode = 'drop' | 'keep' | 'tear' | 'sectors' | 'zero-extend'

/** Every crash mode, in a stable order. */
export const CRASH_MODES: readonly CrashMode[] = ['drop', 'keep', 'tear', 'sectors', 'zero-extend']

/** Sector size of the `sectors` mode. */
export const SECTOR_BYTES = 512

/** A change to a file's bytes since its last sync. */
export type PendingWrite =
  { kind: 'write'; position: number; data: Uint8Array } | { kind: 'truncate'; length: number }

/** A file's content: what survived its last sync, what the process sees, and the changes between. */
export interface SimInode {
  durable: Uint8Array
  /** Current bytes are `buffer[0…length)`; the buffer grows by doubling. */
  buffer: Uint8Array
  length: number
  pending: PendingWrite[]
}

/** A change to a directory's entries since its last sync. */
export type PendingEntryChange =
  | { kind: 'link'; name: string; inode: SimInode }
  | { kind: 'unlink'; name: string; inode: SimInode }
  | { kind: 'rename'; from: string; to: string; inode: SimInode }

/** A directory: durable entries (as of its last sync), current entries, the changes between. */
export interface SimDir {
  durable: Map<string, SimInode>
  current: Map<string, SimInode>
  pending: PendingEntryChange[]
}

/** The whole simulated disk: directories by normalized path. */
export type SimDisk = Map<string, SimDir>

/** A new inode holding `bytes`, all of it durable. */
export function createInode(bytes: Uint8Array = new Uint8Array(0)): SimInode {
  return { durable: bytes.slice(), buffer: bytes.slice(), length: bytes.length, pending: [] }
}

/** A new empty directory. */
export function createDir(): SimDir {
  return { durable: new Map(), current: new Map(), pending: [] }
}

/** The current bytes of a file (a view; copy before keeping). */
export function currentBytes(inode: SimInode): Uint8Array {
  return inode.buffer.subarray(0, inode.length)
}

function ensureCapacity(inode: SimInode, length: number): void {
  if (length <= inode.buffer.length) return
  let capacity = Math.max(64, inode.buffer.length * 2)
  while (capacity < length) capacity *= 2
  const next = new Uint8Array(capacity)
  next.set(inode.buffer.subarray(0, inode.length))
  inode.buffer = next
}

/** Sets the current length, zero-filling when it grows. */
export function setLength(inode: SimInode, length: number): void {
  ensureCapacity(inode, length)
  if (length > inode.length) inode.buffer.fill(0, inode.length, length)
  inode.length = length
}

/** Writes `data` at `position` into the current bytes, zero-filling any gap. */
export function writeBytes(inode: SimInode, data: Uint8Array, position: number): void {
  if (position > inode.length) setLength(inode, position)
  ensureCapacity(inode, position + data.length)
  inode.buffer.set(data, position)
  inode.length = Math.max(inode.length, position + data.length)
}

/** Applies one pending change to a plain byte array, returning the result. */
function applyWrite(bytes: Uint8Array, change: PendingWrite, zeros: boolean): Uint8Array {
  if (change.kind === 'truncate') return resize(bytes, change.length)
  const end = change.position + change.data.length
  const out = end > bytes.length ? resize(bytes, end) : bytes
  if (!zeros) out.set(change.data, change.position)
  return out
}

function resize(bytes: Uint8Array, length: number): Uint8Array {
  if (length <= bytes.length) return bytes.slice(0, length)
  const out = new Uint8Array(length)
  out.set(bytes)
  return out
}

/** The bytes of `inode` as power loss under `mode` leaves them. */
export function imageBytes(inode: SimInode, mode: CrashMode, rng: Rng): Uint8Array {
  if (inode.pending.length === 0 || mode === 'drop') return inode.durable.slice()
  if (mode === 'keep') return currentBytes(inode).slice()
  if (mode === 'sectors') return mixSectors(inode, rng)
  let bytes: Uint8Array = inode.durable.slice()
  const zeros = mode === 'zero-extend'
  // `tear`: everything before change `cut` survives, then `keepBytes` bytes of change `cut`.
  const cut = zeros ? inode.pending.length : rng.int(inode.pending.length + 1)
  for (let i = 0; i < cut; i++) bytes = applyWrite(bytes, inode.pending[i] as PendingWrite, zeros)
  const torn = inode.pending[cut]
  if (torn !== undefined && torn.kind === 'write') {
    const keepBytes = rng.int(torn.data.length + 1)
    const partial = { ...torn, data: torn.data.subarray(0, keepBytes) }
    if (keepBytes > 0) bytes = applyWrite(bytes, partial, false)
  }
  return bytes
}

/** `sectors` mode: each differing sector comes from the old or the new content at random. */
function mixSectors(inode: SimInode, rng: Rng): Uint8Array {
  const before = inode.durable
  const after = currentBytes(inode)
  const length = before.length === after.length || rng.int(2) === 0 ? after.length : before.length
  const out = new Uint8Array(length)
  for (let start = 0; start < length; start += SECTOR_BYTES) {
    const end = Math.min(length, start + SECTOR_BYTES)
    const same = sectorEquals(before, after, start, end)
    const source = same || rng.int(2) === 1 ? after : before
    out.set(source.subarray(Math.min(start, source.length), Math.min(end, source.length)), start)
  }
  return out
}

function sectorEquals(a: Uint8Array, b: Uint8Array, start: number, end: number): boolean {
  for (let i = start; i < end; i++) if ((a[i] ?? 0) !== (b[i] ?? 0)) return false
  return true
}

/** Applies one surviving directory change to a map of entries. */
function applyEntryChange(entries: Map<string, SimInode>, change: PendingEntryChange): void {
  if (change.kind === 'link') {
    entries.set(change.name, change.inode)
  } else if (change.kind === 'unlink') {
    if (entries.get(change.name) === change.inode) entries.delete(change.name)
  } else {
    if (entries.get(change.from) === change.inode) entries.delete(change.from)
    entries.set(change.to, change.inode)
  }
}

/** The entries of `dir` as power loss under `mode` leaves them. */
function imageEntries(dir: SimDir, mode: CrashMode, rng: Rng): Map<string, SimInode> {
  if (mode === 'drop') return new Map(dir.durable)
  if (mode === 'keep' || mode === 'zero-extend') return new Map(dir.current)
  const entries = new Map(dir.durable)
  for (const change of dir.pending) if (rng.int(2) === 1) applyEntryChange(entries, change)
  return entries
}

/**
 * A new disk holding what power loss under `mode` would leave of `disk`: everything in it is
 * durable. Files no surviving directory entry names are gone. Randomness is drawn in a fixed
 * order (directories by path, then files by first appearance), so a seed replays an image.
 */
export function imageDisk(disk: SimDisk, mode: CrashMode, rng: Rng): SimDisk {
  const out: SimDisk = new Map()
  const images = new Map<SimInode, SimInode>()
  const paths = [...disk.keys()].sort()
  const entriesByPath = paths.map((path) => imageEntries(disk.get(path) as SimDir, mode, rng))
  paths.forEach((path, i) => {
    const dir = createDir()
    for (const [name, inode] of [...(entriesByPath[i] as Map<string, SimInode>)].sort(byName)) {
      let image = images.get(inode)
      if (image === undefined) {
        image = createInode(imageBytes(inode, mode, rng))
        images.set(inode, image)
      }
      dir.durable.set(name, image)
      dir.current.set(name, image)
    }
    out.set(path, dir)
  })
  return out
}

function byName(a: [string, SimInode], b: [string, SimInode]): number {
  return a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0
}

/** An exact copy of `disk`, pending changes included (a process crash: the OS cache survives). */
export function copyDisk(disk: SimDisk): SimDisk {
  const copies = new Map<SimInode, SimInode>()
  const copy = (inode: SimInode): SimInode => {
    let twin = copies.get(inode)
    if (twin === undefined) {
      twin = {
        durable: inode.durable.slice(),
        buffer: currentBytes(inode).slice(),
        length: inode.length,
        pending: inode.pending.map((change) =>
          change.kind === 'write' ? { ...change, data: change.data.slice() } : { ...change },
        ),
      }
      copies.set(inode, twin)
    }
    return twin
  }
  const copyEntries = (entries: Map<string, SimInode>): Map<string, SimInode> =>
    new Map([...entries].map(([name, inode]) => [name, copy(inode)]))
  const out: SimDisk = new Map()
  for (const [path, dir] of disk) {
    out.set(path, {
      durable: copyEntries(dir.durable),
      current: copyEntries(dir.current),
      pending: dir.pending.map((change) => ({ ...change, inode: copy(change.inode) })),
    })
  }
  return out
}

/** The calls a `SimFs` counts as I/O steps. */
export type SimOp =
  | 'mkdirp'
  | 'list'
  | 'open'
  | 'rename'
  | 'remove'
  | 'syncDir'
  | 'lock'
  | 'read'
  | 'write'
  | 'sync'
  | 'truncate'
  | 'size'
  | 'close'

/** Calls that can be made to fail with `SimFs.injectFault`. */
export type SimFaultOp = 'write' | 'sync' | 'syncDir' | 'open' | 'rename'

/** A device error to inject. */
export interface SimFault {
  op: SimFaultOp
  /**
   * Which matching call fails, counting matching calls from 1 after the fault is injected
   * (default 1: the next one).
   */
  atCall?: number
  /** Only calls on a matching path: the file for write/sync/open, the directory for syncDir,
   * the source for rename. */
  path?: RegExp
  code: 'EIO' | 'ENOSPC'
  /** `write` only: how many leading bytes reach the file before the error (a short write). */
  partialBytes?: number
  /** Keep failing every later matching call too (a dead device). Default false. */
  sticky?: boolean
}

/** An injected fault; `fired` counts the calls it failed. */
export interface SimFaultHandle {
  readonly fired: number
}

/** Thrown by every call from the crash step on. */
export class SimCrashError extends Error {
  constructor(
    /** The step that crashed (the number of steps that ran before it). */
    readonly step: number,
    /** The call that crashed. */
    readonly op: SimOp,
    /** The path it was made on. */
    readonly path: string,
  ) {
    super(`simulated crash at step ${step} (${op} ${path})`)
    this.name = 'SimCrashError'
  }
}

/** Error codes the simulator raises. */
export type ErrnoCode = 'ENOENT' | 'EEXIST' | 'EIO' | 'ENOSPC' | 'EBADF' | 'EISDIR' | 'ENOTDIR'

const ERRNO: Record<ErrnoCode, [errno: number, text: string]> = {
  ENOENT: [-2, 'no such file or directory'],
  EEXIST: [-17, 'file already exists'],
  EIO: [-5, 'i/o error'],
  ENOSPC: [-28, 'no space left on device'],
  EBADF: [-9, 'bad file descriptor'],
  EISDIR: [-21, 'illegal operation on a directory'],
  ENOTDIR: [-20, 'not a directory'],
}

/** An error shaped like Node's `fs` errors (`code`, `errno`, `syscall`, `path`). */
export function ioError(code: ErrnoCode, syscall: string, path: string): Error {
  const [errno, text] = ERRNO[code]
  return Object.assign(new Error(`${code}: ${text}, ${syscall} '${path}'`), {
    code,
    errno,
    syscall,
    path,
  })
}

/** Throws `INVALID_ARGUMENT` unless `value` is a non-negative safe integer. */
export function requireOffset(value: number, name: string): void {
  if (!Number.isSafeInteger(value) || value < 0)
    throw invalidArgument(`sim fs: ${name} must be a non-negative integer, got ${String(value)}`)
}

/** A fault as armed inside the simulator. */
export interface ArmedFault extends Required<Omit<SimFault, 'path'>> {
  path: RegExp | undefined
  seen: number
  fired: number
}

/** Step counting, crash and fault state shared by a file layer and its open files. */
export class Machine {
  steps = 0
  crashAt: number | undefined
  crashed = false
  readonly calls = Object.fromEntries(
    (
      [
        ...['mkdirp', 'list', 'open', 'rename', 'remove', 'syncDir', 'lock'],
        ...['read', 'write', 'sync', 'truncate', 'size', 'close'],
      ] as SimOp[]
    ).map((op) => [op, 0]),
  ) as Record<SimOp, number>
  readonly faults: ArmedFault[] = []
  readonly locks = new Map<string, object>()

  /** Counts one step, or throws the crash. */
  step(op: SimOp, path: string): void {
    if (this.crashed || (this.crashAt !== undefined && this.steps >= this.crashAt)) {
      this.crashed = true
      this.locks.clear()
      throw new SimCrashError(this.steps, op, path)
    }
    this.steps++
    this.calls[op]++
  }

  /** The injected fault this call hits, if any. */
  fault(op: SimFaultOp, path: string): ArmedFault | undefined {
    let hit: ArmedFault | undefined
    for (const fault of this.faults) {
      if (fault.op !== op || (fault.path !== undefined && path.search(fault.path) < 0)) continue
      fault.seen++
      const fires = fault.seen === fault.atCall || (fault.sticky && fault.seen > fault.atCall)
      if (fires && hit === undefined) hit = fault
    }
    if (hit !== undefined) hit.fired++
    return hit
  }

  /** Throws the fault's error when this call hits one. */
  check(op: SimFaultOp, syscall: string, path: string): void {
    const hit = this.fault(op, path)
    if (hit !== undefined) throw ioError(hit.code, syscall, path)
  }

  /** Arms an injected fault. */
  arm(fault: SimFault): SimFaultHandle {
    const atCall = fault.atCall ?? 1
    if (!Number.isSafeInteger(atCall) || atCall < 1)
      throw invalidArgument(`sim fs: atCall must be a positive integer, got ${String(atCall)}`)
    const partialBytes = fault.partialBytes ?? 0
    requireOffset(partialBytes, 'partialBytes')
    const armed: ArmedFault = {
      op: fault.op,
      atCall,
      path: fault.path,
      code: fault.code,
      partialBytes,
      sticky: fault.sticky === true,
      seen: 0,
      fired: 0,
    }
    this.faults.push(armed)
    return {
      get fired() {
        return armed.fired
      },
    }
  }
}
