/**
 * The working part of a probe-writer process (the demo's child and the crash tests' child): N
 * concurrent writer loops appending probes and reporting acknowledgements, and the plumbing that
 * ties the process's life to its parent's.
 */
import type { Wal } from '../../wal/index.js'
import type { AckWriter } from './ack-channel.js'
import { encodeProbe } from './probe-payload.js'

/**
 * Runs `writers` loops; loop `w` appends the probes `(run, w, 0)`, `(run, w, 1)`, … one at a time
 * and reports each acknowledgement after its `append` resolved. Only returns by failing: the
 * process is meant to be killed.
 */
export async function runProbeWriters(
  wal: Wal,
  run: number,
  writers: number,
  out: AckWriter,
): Promise<void> {
  const loop = async (writer: number): Promise<void> => {
    for (let seq = 0; ; seq++) {
      const lsn = await wal.append(encodeProbe(run, writer, seq))
      out.ack(lsn, writer, seq)
    }
  }
  await Promise.all(Array.from({ length: writers }, (_, w) => loop(w)))
}

/** Options of {@link superviseChild}. */
export interface SuperviseOptions {
  /** Exit with code 5 after this long: a child nobody killed must not fill the disk. */
  maxRunMs: number
  /** Resolve only when the parent writes the line `go` on stdin. */
  awaitGo: boolean
}

/**
 * Ties a child process to its parent: exits when stdin ends or stdout breaks (the parent is
 * gone) and after `maxRunMs`. Resolves at once, or on `go` when `awaitGo` is set — that lets a
 * parent start a child early (loading takes most of its start-up) and release it on cue.
 */
export function superviseChild(options: SuperviseOptions): Promise<void> {
  process.stdout.on('error', () => process.exit(4))
  setTimeout(() => {
    process.stderr.write(`probe writer: not killed within ${options.maxRunMs} ms, exiting\n`)
    process.exit(5)
  }, options.maxRunMs)
  return new Promise((resolve) => {
    let text = ''
    process.stdin.setEncoding('utf8')
    process.stdin.on('data', (chunk: string) => {
      text = (text + chunk).slice(-16)
      if (text.includes('go\n')) resolve()
    })
    process.stdin.on('end', () => process.exit(0))
    if (!options.awaitGo) resolve()
  })
}

/** Prints an error of a child process to stderr and exits with code 1. */
export function exitWithError(program: string, error: unknown): never {
  const text = error instanceof Error ? (error.stack ?? error.message) : String(error)
  process.stderr.write(`${program}: ${text}\n`)
  process.exit(1)
}
