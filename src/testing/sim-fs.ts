/**
 * A simulated file layer for crash tests: implements the WAL's {@link FileLayer} in memory and
 * models what power loss can do to data that was not synced.
 *
 * Every file keeps its durable bytes (as of its last `sync()`) and its current bytes; every
 * directory keeps its durable entries (as of its last `syncDir()`) and its current entries. As in
 * POSIX, `sync()` of a file does not make its directory entry durable. Directories themselves are
 * created durably by `mkdirp` (the model covers files and their entries, not directory inodes).
 *
 * Every call — including the methods of open files — is one I/O step. A crash can be armed at any
 * step: that step and every later one throw a {@link SimCrashError} without any effect, and all
 * locks are released. `crashImage` then gives a new file layer holding what the disk might contain
 * after power loss at that instant, and `clone` what it holds after a process crash (the
 * operating system's cache survives). Everything resolves through promises only — no timers — so
 * a run is deterministic.
 */
import type {
  DirectoryLock,
  FileLayer,
  LayerFile,
  OpenMode,
  OpenOptions,
} from '../wal/file-layer.js'
import { StarlingError, invalidArgument } from '../core/errors.js'
import type { Rng } from '../core/random.js'
import {
  CRASH_MODES,
  Machine,
  copyDisk,
  createDir,
  createInode,
  currentBytes,
  imageDisk,
  ioError,
  requireOffset,
  setLength,
  writeBytes,
  type CrashMode,
  type SimFault,
  type SimFaultHandle,
  type SimDir,
  type SimDisk,
  type SimInode,
  type SimOp,
} from './sim-fs-crash.js'

export {
  CRASH_MODES,
  SimCrashError,
  type CrashMode,
  type SimFault,
  type SimFaultHandle,
  type SimFaultOp,
  type SimOp,
} from './sim-fs-crash.js'

/** Options of {@link createSimFs}. */
export interface SimFsOptions {
  /** Crash at this step (0-based: after this many steps ran); see {@link SimFs.armCrash}. */
  crashAtStep?: number
}

/** A simulated, crashable file layer. Create one with {@link createSimFs}. */
export interface SimFs extends FileLayer {
  /** How many I/O steps ran (a call that failed with an injected fault counts, a crash not). */
  readonly steps: number
  /** Whether the armed crash happened. */
  readonly crashed: boolean
  /** Steps that ran, by call. */
  readonly calls: Readonly<Record<SimOp, number>>
  /** Crashes at step `step` (0-based), or disarms with `undefined`. A crash is permanent. */
  armCrash(step: number | undefined): void
  /** Makes a future call fail with a Node-style device error, without applying it. */
  injectFault(fault: SimFault): SimFaultHandle
  /** A new, fully durable file layer holding what power loss now might leave on the disk. */
  crashImage(mode: CrashMode, rng: Rng): SimFs
  /** An exact copy of the current state, unsynced changes included; no locks, steps or faults. */
  clone(): SimFs
  /** A copy of a file's current bytes. Throws ENOENT when it does not exist. */
  readFileSync(path: string): Uint8Array
  /** Current names in a directory (files and subdirectories), sorted. */
  listSync(dir: string): string[]
  /** Overwrites bytes of a file in place, durably (bit rot); must lie within the file. */
  corrupt(path: string, offset: number, bytes: Uint8Array): void
}

/**
 * Creates an empty simulated file layer.
 *
 * @example
 * ```ts
 * const fs = createSimFs()
 * await fs.mkdirp('/db')
 * const file = await fs.open('/db/a', 'create')
 * await file.write(new Uint8Array([1, 2, 3]), 0)
 * await file.sync() // data durable, but the entry of the new file is not: needs syncDir
 * fs.crashImage('drop', createRng(1)).listSync('/db') // []
 * ```
 */
export function createSimFs(options: SimFsOptions = {}): SimFs {
  const fs = new SimFileLayer(
    new Map([
      ['/', createDir()],
      ['', createDir()],
    ]),
  )
  if (options.crashAtStep !== undefined) fs.armCrash(options.crashAtStep)
  return fs
}

/** Normalizes a `/`-separated path: no empty or `.` segments, `..` resolved. */
function normalizePath(path: string): string {
  if (typeof path !== 'string' || path.length === 0)
    throw invalidArgument(`sim fs: a path must be a non-empty string, got ${String(path)}`)
  const parts: string[] = []
  for (const part of path.split('/')) {
    if (part === '..') parts.pop()
    else if (part !== '' && part !== '.') parts.push(part)
  }
  return (path.startsWith('/') ? '/' : '') + parts.join('/')
}

function splitPath(path: string): { dir: string; name: string } {
  const at = path.lastIndexOf('/')
  if (at < 0) return { dir: '', name: path }
  return { dir: at === 0 ? '/' : path.slice(0, at), name: path.slice(at + 1) }
}

/**
 * Runs `work` now (so steps are counted in call order) and settles a promise with its result or
 * its error: failures are rejections, never synchronous throws.
 */
function settle<T>(work: () => T): Promise<T> {
  return new Promise<T>((resolve) => resolve(work()))
}

/** An open file of the simulated layer. */
class SimFile implements LayerFile {
  #closed = false

  constructor(
    private readonly machine: Machine,
    private readonly inode: SimInode,
    private readonly path: string,
    private readonly writable: boolean,
    private readonly syncWrites: boolean,
  ) {}

  read(buffer: Uint8Array, offset: number, length: number, position: number): Promise<number> {
    return settle(() => {
      this.#enter('read', false)
      requireOffset(offset, 'offset')
      requireOffset(length, 'length')
      requireOffset(position, 'position')
      const bytes = currentBytes(this.inode)
      const count = Math.max(0, Math.min(length, bytes.length - position, buffer.length - offset))
      buffer.set(bytes.subarray(position, position + count), offset)
      return count
    })
  }

  write(data: Uint8Array, position: number): Promise<void> {
    return settle(() => {
      this.#enter('write', true)
      requireOffset(position, 'position')
      const hit = this.machine.fault('write', this.path)
      if (hit !== undefined) {
        const partial = Math.min(hit.partialBytes, data.length)
        if (partial > 0) this.#write(data.subarray(0, partial), position)
        throw ioError(hit.code, 'write', this.path)
      }
      this.#write(data, position)
      // A synced write (O_DSYNC) is a write and then a sync: a crash between the two steps
      // leaves the bytes written but not durable, so they can still be torn.
      if (this.syncWrites) {
        this.machine.step('sync', this.path)
        this.#makeDurable()
      }
    })
  }

  #write(data: Uint8Array, position: number): void {
    writeBytes(this.inode, data, position)
    this.inode.pending.push({ kind: 'write', position, data: data.slice() })
  }

  sync(): Promise<void> {
    return settle(() => {
      this.#enter('sync', false)
      this.#makeDurable()
    })
  }

  #makeDurable(): void {
    this.machine.check('sync', 'fdatasync', this.path)
    this.inode.durable = currentBytes(this.inode).slice()
    this.inode.pending = []
  }

  truncate(length: number): Promise<void> {
    return settle(() => {
      this.#enter('truncate', true)
      requireOffset(length, 'length')
      setLength(this.inode, length)
      this.inode.pending.push({ kind: 'truncate', length })
    })
  }

  size(): Promise<number> {
    return settle(() => {
      this.#enter('size', false)
      return this.inode.length
    })
  }

  close(): Promise<void> {
    return settle(() => {
      this.#enter('close', false)
      this.#closed = true
    })
  }

  #enter(op: SimOp, writes: boolean): void {
    this.machine.step(op, this.path)
    if (this.#closed || (writes && !this.writable)) throw ioError('EBADF', op, this.path)
  }
}

/** The simulated file layer. */
class SimFileLayer implements SimFs {
  readonly #machine = new Machine()

  constructor(private readonly disk: SimDisk) {}

  get steps(): number {
    return this.#machine.steps
  }
  get crashed(): boolean {
    return this.#machine.crashed
  }
  get calls(): Readonly<Record<SimOp, number>> {
    return { ...this.#machine.calls }
  }

  mkdirp(dir: string): Promise<void> {
    return settle(() => {
      const path = normalizePath(dir)
      this.#machine.step('mkdirp', path)
      const prefix = path.startsWith('/') ? '/' : ''
      const parts = path.split('/').filter((part) => part !== '')
      for (let i = 1; i <= parts.length; i++) {
        const sub = prefix + parts.slice(0, i).join('/')
        if (this.disk.has(sub)) continue
        const { dir: parent, name } = splitPath(sub)
        if (this.disk.get(parent)?.current.has(name)) throw ioError('EEXIST', 'mkdir', sub)
        this.disk.set(sub, createDir())
      }
    })
  }

  list(dir: string): Promise<string[]> {
    return settle(() => {
      const path = normalizePath(dir)
      this.#machine.step('list', path)
      return this.#names(path, 'scandir')
    })
  }

  open(path: string, mode: OpenMode, options: OpenOptions = {}): Promise<LayerFile> {
    return settle(() => {
      const file = normalizePath(path)
      this.#machine.step('open', file)
      if (mode !== 'read' && mode !== 'readwrite' && mode !== 'create')
        throw invalidArgument(`sim fs: unknown open mode ${String(mode)}`)
      this.#machine.check('open', 'open', file)
      const { dir, entry } = this.#entry(file, 'open')
      let inode = entry
      if (mode === 'create') {
        if (inode !== undefined) throw ioError('EEXIST', 'open', file)
        inode = createInode()
        const name = splitPath(file).name
        dir.current.set(name, inode)
        dir.pending.push({ kind: 'link', name, inode })
      }
      if (inode === undefined) throw ioError('ENOENT', 'open', file)
      return new SimFile(this.#machine, inode, file, mode !== 'read', options.syncWrites === true)
    })
  }

  rename(from: string, to: string): Promise<void> {
    return settle(() => {
      const source = normalizePath(from)
      const target = normalizePath(to)
      this.#machine.step('rename', source)
      this.#machine.check('rename', 'rename', source)
      const { dir: fromDir, entry: inode } = this.#entry(source, 'rename')
      const { dir: toDir } = this.#entry(target, 'rename')
      if (inode === undefined) throw ioError('ENOENT', 'rename', source)
      if (source === target) return
      const fromName = splitPath(source).name
      const toName = splitPath(target).name
      fromDir.current.delete(fromName)
      toDir.current.set(toName, inode)
      if (fromDir === toDir) {
        fromDir.pending.push({ kind: 'rename', from: fromName, to: toName, inode })
      } else {
        fromDir.pending.push({ kind: 'unlink', name: fromName, inode })
        toDir.pending.push({ kind: 'link', name: toName, inode })
      }
    })
  }

  remove(path: string): Promise<void> {
    return settle(() => {
      const file = normalizePath(path)
      this.#machine.step('remove', file)
      const { dir, entry: inode } = this.#entry(file, 'unlink')
      if (inode === undefined) throw ioError('ENOENT', 'unlink', file)
      const name = splitPath(file).name
      dir.current.delete(name)
      dir.pending.push({ kind: 'unlink', name, inode })
    })
  }

  syncDir(dir: string): Promise<void> {
    return settle(() => {
      const path = normalizePath(dir)
      this.#machine.step('syncDir', path)
      this.#machine.check('syncDir', 'fsync', path)
      const node = this.disk.get(path)
      if (node === undefined) throw ioError('ENOENT', 'open', path)
      node.durable = new Map(node.current)
      node.pending = []
    })
  }

  lock(dir: string): Promise<DirectoryLock> {
    return settle(() => {
      const path = normalizePath(dir)
      this.#machine.step('lock', path)
      if (!this.disk.has(path)) throw ioError('ENOENT', 'open', path)
      const locks = this.#machine.locks
      if (locks.has(path)) {
        throw new StarlingError('STORE_LOCKED', `${path} is locked by another writer (sim fs)`, {
          dir: path,
        })
      }
      const token = {}
      locks.set(path, token)
      const release = (): Promise<void> => {
        if (locks.get(path) === token) locks.delete(path)
        return Promise.resolve()
      }
      return { release }
    })
  }

  armCrash(step: number | undefined): void {
    if (step !== undefined) requireOffset(step, 'crash step')
    this.#machine.crashAt = step
  }

  injectFault(fault: SimFault): SimFaultHandle {
    return this.#machine.arm(fault)
  }

  crashImage(mode: CrashMode, rng: Rng): SimFs {
    if (!CRASH_MODES.includes(mode))
      throw invalidArgument(`sim fs: unknown crash mode ${String(mode)}`)
    return new SimFileLayer(imageDisk(this.disk, mode, rng))
  }

  clone(): SimFs {
    return new SimFileLayer(copyDisk(this.disk))
  }

  readFileSync(path: string): Uint8Array {
    const file = normalizePath(path)
    const inode = this.#entry(file, 'open').entry
    if (inode === undefined) throw ioError('ENOENT', 'open', file)
    return currentBytes(inode).slice()
  }

  listSync(dir: string): string[] {
    return this.#names(normalizePath(dir), 'scandir')
  }

  corrupt(path: string, offset: number, bytes: Uint8Array): void {
    const file = normalizePath(path)
    const inode = this.#entry(file, 'open').entry
    if (inode === undefined) throw ioError('ENOENT', 'open', file)
    requireOffset(offset, 'offset')
    if (offset + bytes.length > inode.length)
      throw new RangeError(`sim fs: corrupt past the end of ${file} (${inode.length} bytes)`)
    inode.buffer.set(bytes, offset)
    const durable = bytes.subarray(0, Math.max(0, inode.durable.length - offset))
    if (durable.length > 0) inode.durable.set(durable, offset)
  }

  /** The directory of `path` (which must exist) and the file it names there, if any. */
  #entry(path: string, syscall: string): { dir: SimDir; entry: SimInode | undefined } {
    const { dir: parent, name } = splitPath(path)
    const dir = this.disk.get(parent)
    if (dir === undefined) throw ioError('ENOENT', syscall, path)
    if (name === '' || this.disk.has(path)) throw ioError('EISDIR', syscall, path)
    return { dir, entry: dir.current.get(name) }
  }

  #names(path: string, syscall: string): string[] {
    const dir = this.disk.get(path)
    if (dir === undefined) throw ioError('ENOENT', syscall, path)
    const names = [...dir.current.keys()]
    for (const sub of this.disk.keys()) {
      const { dir: parent, name } = splitPath(sub)
      if (parent === path && name !== '' && sub !== path) names.push(name)
    }
    return names.sort()
  }
}
