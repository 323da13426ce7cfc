/**
 * Child process of the WAL kill cycles (`wal-kill-cycles.ts`). It opens the log, reports ready,
 * then runs N concurrent writer loops that append self-verifying probes of `(run, writer, seq)`
 * and report each acknowledgement on stdout (protocol: src/demo/wal/ack-channel.ts). It never
 * stops by itself before `--max-run-ms`: the parent kills it with SIGKILL.
 *
 * Usage: node --import tsx wal-writer-child.ts <dir> --run <u32> [--writers 256]
 *          [--durability sync|batched|none] [--segment-bytes <n>] [--lying-disk | --split-writes]
 *          [--max-run-ms <n>]
 *          [--await-go]   (load, then open the log only after reading `go` on stdin)
 */
import { createAckWriter } from '../../src/demo/wal/ack-channel.js'
import {
  expectPositionals,
  flagOption,
  intOption,
  parseArgs,
  valueOption,
} from '../../src/cli/args.js'
import { exitWithError, runProbeWriters, superviseChild } from '../../src/demo/wal/probe-writer.js'
import { createRng } from '../../src/core/random.js'
import { createNodeFileLayer, openWal } from '../../src/wal/index.js'
import type { Durability, FileLayer, LayerFile } from '../../src/wal/index.js'

/** How long the lying disk holds written bytes before handing them to the OS. */
const LYING_DELAY_MS = 30

/**
 * A disk that lies: `write` only keeps the bytes in memory and hands them to the real file
 * `LYING_DELAY_MS` later; `sync` returns at once. The log therefore acknowledges records whose
 * bytes have not even reached the operating system, and a SIGKILL loses them.
 *
 * Why not simply skip fsync? With a real SIGKILL that loses nothing: bytes handed to the kernel
 * with write() live in the page cache, which survives the death of the process (only a kernel
 * crash or power loss drops them). To make a process kill lose acknowledged data, the lie has to
 * sit above the kernel, as here. The harness must see that loss, or it cannot see any.
 */
function createLyingFileLayer(real: FileLayer): FileLayer {
  // One chain for every delayed operation keeps them in issue order across files.
  let chain = Promise.resolve()
  const later = (operation: () => Promise<void>): void => {
    setTimeout(() => {
      chain = chain.then(operation).catch((error: unknown) => {
        process.stderr.write(`lying disk: delayed operation failed: ${String(error)}\n`)
        process.exit(3)
      })
    }, LYING_DELAY_MS)
  }
  // "At once" still means on a later turn of the event loop, as real I/O does: a layer that
  // settles in a microtask lets the log's flush loop and the writers spin without ever yielding.
  const soon = (): Promise<void> => new Promise((resolve) => setImmediate(resolve))
  const wrap = (file: LayerFile): LayerFile => ({
    read: (buffer, offset, length, position) => file.read(buffer, offset, length, position),
    write(data, position) {
      const copy = data.slice()
      later(() => file.write(copy, position))
      return soon()
    },
    sync: soon,
    truncate: (length) => file.truncate(length),
    size: () => file.size(),
    close() {
      later(() => file.close())
      return Promise.resolve()
    },
  })
  return {
    ...real,
    open: async (path, mode, options) => wrap(await real.open(path, mode, options)),
  }
}

/**
 * An honest disk with small writes: each `write` is handed to the real file in pieces of 1–4096
 * bytes, one system call after another, and resolves only when all of them are done; `sync` is
 * the real fdatasync. A SIGKILL then often lands in the middle of a batch, leaving a torn tail
 * for recovery to cut — which whole-batch writes almost never show, since the kernel finishes a
 * write() it has started. Nothing acknowledged may be lost.
 */
function createSplittingFileLayer(real: FileLayer, run: number): FileLayer {
  const rng = createRng(run)
  const wrap = (file: LayerFile): LayerFile => ({
    read: (buffer, offset, length, position) => file.read(buffer, offset, length, position),
    async write(data, position) {
      for (let done = 0; done < data.length;) {
        const piece = Math.min(data.length - done, 1 + rng.int(4096))
        await file.write(data.subarray(done, done + piece), position + done)
        done += piece
      }
    },
    sync: () => file.sync(),
    truncate: (length) => file.truncate(length),
    size: () => file.size(),
    close: () => file.close(),
  })
  return {
    ...real,
    open: async (path, mode, options) => wrap(await real.open(path, mode, options)),
  }
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2), {
    run: 'value',
    writers: 'value',
    durability: 'value',
    'segment-bytes': 'value',
    'lying-disk': 'flag',
    'split-writes': 'flag',
    'max-run-ms': 'value',
    'await-go': 'flag',
  })
  const [dir] = expectPositionals(args, 1, 'wal-writer-child <dir> --run <n> [options]')
  const run = intOption(args, 'run', -1, 0, 0xffff_ffff)
  if (run < 0) throw new Error('--run is required')
  const writers = intOption(args, 'writers', 256, 1, 65_536)
  const durability = valueOption(args, 'durability', 'sync') as Durability
  const segmentBytesMax = intOption(args, 'segment-bytes', 64 * 1024 * 1024, 4096, 2 ** 40)
  await superviseChild({
    maxRunMs: intOption(args, 'max-run-ms', 60_000, 1, 3_600_000),
    awaitGo: flagOption(args, 'await-go'),
  })
  const real = createNodeFileLayer()
  let fs = real
  if (flagOption(args, 'lying-disk')) fs = createLyingFileLayer(real)
  else if (flagOption(args, 'split-writes')) fs = createSplittingFileLayer(real, run)
  const wal = await openWal(dir as string, { durability, segmentBytesMax, fs })
  const out = createAckWriter(process.stdout)
  out.ready(wal.lastLsn)
  await runProbeWriters(wal, run, writers, out)
}

main().catch((error: unknown) => exitWithError('wal-writer-child', error))
