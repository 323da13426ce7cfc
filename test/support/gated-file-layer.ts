/**
 * A file layer (over the simulated one) whose durability points wait behind a gate: `sync()` of a
 * file, `syncDir()`, and writes to files opened with `syncWrites` (O_DSYNC: each such write is
 * its own durability point). While the gate is closed nothing written becomes durable, so
 * anything a node does "once durable" cannot happen; opening the gate lets the waiting calls
 * finish in the order they came. `durabilityPoints` counts the ones that completed.
 */
import { createSimFs } from '../../src/testing/sim-fs.js'
import type { FileLayer, LayerFile } from '../../src/wal/index.js'

/** A gated file layer; see the module comment. */
export interface GatedFileLayer {
  readonly fs: FileLayer
  /** Whether durability points currently pass. */
  readonly isOpen: boolean
  /** Durability points (file syncs, directory syncs, O_DSYNC writes) that completed so far. */
  readonly durabilityPoints: number
  /** Holds every later durability point back until `open()`. */
  close(): void
  /** Lets the waiting durability points and every later one through. */
  open(): void
}

/** Creates an open gated file layer over a fresh simulated disk. */
export function createGatedFileLayer(): GatedFileLayer {
  const inner = createSimFs()
  let isOpen = true
  let durabilityPoints = 0
  let waiting: (() => void)[] = []
  const gate = (): Promise<void> =>
    isOpen ? Promise.resolve() : new Promise<void>((resolve) => waiting.push(resolve))
  const durably = async (work: () => Promise<void>): Promise<void> => {
    await gate()
    await work()
    durabilityPoints++
  }
  const wrap = (file: LayerFile, syncWrites: boolean): LayerFile => ({
    read: (...args) => file.read(...args),
    write: (data, position) =>
      syncWrites ? durably(() => file.write(data, position)) : file.write(data, position),
    sync: () => durably(() => file.sync()),
    truncate: (length) => file.truncate(length),
    size: () => file.size(),
    close: () => file.close(),
  })
  const fs: FileLayer = {
    mkdirp: (dir) => inner.mkdirp(dir),
    list: (dir) => inner.list(dir),
    open: async (path, mode, options) =>
      wrap(await inner.open(path, mode, options), options?.syncWrites === true),
    rename: (from, to) => inner.rename(from, to),
    remove: (path) => inner.remove(path),
    syncDir: (dir) => durably(() => inner.syncDir(dir)),
    lock: (dir) => inner.lock(dir),
  }
  return {
    fs,
    get isOpen() {
      return isOpen
    },
    get durabilityPoints() {
      return durabilityPoints
    },
    close: () => {
      isOpen = false
    },
    open: () => {
      isOpen = true
      for (const resolve of waiting) resolve()
      waiting = []
    },
  }
}
