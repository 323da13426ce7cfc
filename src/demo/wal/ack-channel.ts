/**
 * The line protocol a writer process uses to tell its parent what the log acknowledged:
 *
 *   R <pid> <lastLsn>                          ready: the log is open, writers start now
 *   A <lsn> <writer> <seq>                     `append` of probe (writer, seq) resolved with <lsn>
 *   S <appends> <batches> <largestBatch> <syncs>   the log's counters (wal.stats)
 *
 * A line is written only after the fact it states happened, so every line the parent receives is
 * true. Lines are buffered for a moment and written in one piece; a SIGKILL may lose the buffered
 * ones or cut the last one short — the parent ignores an unterminated line and only ever needs a
 * subset of the acknowledgements.
 */

/** One message of the protocol. */
export type AckMessage =
  | { kind: 'ready'; pid: number; lastLsn: number }
  | { kind: 'ack'; lsn: number; writer: number; seq: number }
  | { kind: 'stats'; appends: number; batches: number; largestBatch: number; syncs: number }

/** Where a writer process sends its lines (`process.stdout`). */
export interface LineSink {
  write(text: string): unknown
}

/** Buffers protocol lines and writes them once per event-loop turn. */
export interface AckWriter {
  ready(lastLsn: number): void
  ack(lsn: number, writer: number, seq: number): void
  stats(stats: { appends: number; batches: number; largestBatch: number; syncs: number }): void
}

/** Creates an {@link AckWriter} over `sink`. */
export function createAckWriter(sink: LineSink): AckWriter {
  let pending = ''
  let scheduled = false
  const flush = (): void => {
    scheduled = false
    const text = pending
    pending = ''
    sink.write(text)
  }
  const push = (line: string): void => {
    pending += line
    if (!scheduled) {
      scheduled = true
      setImmediate(flush)
    }
  }
  return {
    ready(lastLsn) {
      // Written at once: the parent starts its kill timer on this line.
      sink.write(`R ${process.pid} ${lastLsn}\n`)
    },
    ack: (lsn, writer, seq) => push(`A ${lsn} ${writer} ${seq}\n`),
    stats: (s) => push(`S ${s.appends} ${s.batches} ${s.largestBatch} ${s.syncs}\n`),
  }
}

/** Parses one complete line of the protocol; undefined when it is not a message. */
export function parseAckLine(line: string): AckMessage | undefined {
  const parts = line.split(' ')
  if (!parts.slice(1).every((part) => /^\d{1,15}$/.test(part))) return undefined
  const n = parts.slice(1).map(Number)
  const [a = 0, b = 0, c = 0, d = 0] = n
  if (parts[0] === 'A' && n.length === 3) return { kind: 'ack', lsn: a, writer: b, seq: c }
  if (parts[0] === 'R' && n.length === 2) return { kind: 'ready', pid: a, lastLsn: b }
  if (parts[0] === 'S' && n.length === 4)
    return { kind: 'stats', appends: a, batches: b, largestBatch: c, syncs: d }
  return undefined
}

/**
 * Returns a function to feed with the chunks read from a writer process; it calls `onMessage`
 * for each complete line and `onGarbage` for a complete line it cannot parse. An unterminated
 * last line (the writer was killed mid-write) stays buffered and is never reported.
 */
export function createAckParser(
  onMessage: (message: AckMessage) => void,
  onGarbage: (line: string) => void,
): (chunk: string) => void {
  let rest = ''
  return (chunk) => {
    const text = rest + chunk
    let start = 0
    for (let end = text.indexOf('\n'); end !== -1; end = text.indexOf('\n', start)) {
      const line = text.slice(start, end)
      start = end + 1
      const message = parseAckLine(line)
      if (message) onMessage(message)
      else if (line.length > 0) onGarbage(line)
    }
    rest = text.slice(start)
  }
}
