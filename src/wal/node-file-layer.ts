/**
 * The production file layer over Node's `fs`. Writes and reads use positional I/O on raw file
 * descriptors; `sync` is `fdatasync`; directory sync opens the directory and `fsync`s it.
 */
import * as fs from 'node:fs'
import { promisify } from 'node:util'
import { acquireLockFile } from './lock-file.js'
import type { DirectoryLock, FileLayer, LayerFile, OpenMode, OpenOptions } from './file-layer.js'

const fsRead = promisify(fs.read)
const fsWrite = promisify(fs.write)
const fsFdatasync = promisify(fs.fdatasync)
const fsFsync = promisify(fs.fsync)
const fsFtruncate = promisify(fs.ftruncate)
const fsFstat = promisify(fs.fstat)
const fsClose = promisify(fs.close)
const fsOpen = promisify(fs.open)

const { O_RDONLY, O_RDWR, O_CREAT, O_EXCL, O_DSYNC } = fs.constants
const OPEN_FLAGS: Record<OpenMode, number> = {
  read: O_RDONLY,
  readwrite: O_RDWR,
  create: O_RDWR | O_CREAT | O_EXCL,
}

class NodeFile implements LayerFile {
  #fd: number
  constructor(fd: number) {
    this.#fd = fd
  }
  async read(
    buffer: Uint8Array,
    offset: number,
    length: number,
    position: number,
  ): Promise<number> {
    return (await fsRead(this.#fd, buffer, offset, length, position)).bytesRead
  }
  async write(data: Uint8Array, position: number): Promise<void> {
    let done = 0
    while (done < data.length) {
      const { bytesWritten } = await fsWrite(
        this.#fd,
        data,
        done,
        data.length - done,
        position + done,
      )
      done += bytesWritten
    }
  }
  sync(): Promise<void> {
    return fsFdatasync(this.#fd)
  }
  truncate(length: number): Promise<void> {
    return fsFtruncate(this.#fd, length)
  }
  async size(): Promise<number> {
    return (await fsFstat(this.#fd)).size
  }
  close(): Promise<void> {
    return fsClose(this.#fd)
  }
}

/** Creates the file layer that uses the real disk through Node's `fs`. */
export function createNodeFileLayer(): FileLayer {
  return {
    async mkdirp(dir: string): Promise<void> {
      await fs.promises.mkdir(dir, { recursive: true })
    },
    list(dir: string): Promise<string[]> {
      return fs.promises.readdir(dir)
    },
    async open(path: string, mode: OpenMode, options: OpenOptions = {}): Promise<LayerFile> {
      const flags = OPEN_FLAGS[mode] | (options.syncWrites === true ? O_DSYNC : 0)
      return new NodeFile(await fsOpen(path, flags, 0o644))
    },
    rename(from: string, to: string): Promise<void> {
      return fs.promises.rename(from, to)
    },
    remove(path: string): Promise<void> {
      return fs.promises.unlink(path)
    },
    async syncDir(dir: string): Promise<void> {
      const fd = await fsOpen(dir, 'r')
      try {
        await fsFsync(fd)
      } finally {
        await fsClose(fd)
      }
    },
    lock(dir: string): Promise<DirectoryLock> {
      return acquireLockFile(dir)
    },
  }
}
