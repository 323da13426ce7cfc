/**
 * Child process of the store SIGKILL test (`store-sigkill.test.ts`): it types the automerge-paper
 * editing trace into `store.text('notes/trace')` of a store on the real disk, as an editor would,
 * until the parent kills it with SIGKILL.
 *
 * It loads the trace, then waits for `go <from> <length> <dir>` on stdin: the parent has verified
 * that the note of the store in `<dir>` holds the trace's content after its first `from`
 * transactions (`length` characters). Being told the directory only then lets the parent start
 * the next child while the current one runs. It opens the store (taking over the lock of the killed previous writer), loads the note, checks
 * its length, reports ready, and types transaction `from` onwards in bursts of 50–200
 * transactions, each transaction one Yjs transaction, yielding to the event loop every 1–30 of
 * them (so a burst becomes several WAL records). After each burst it awaits `store.flush()` and
 * then reports how many transactions are acknowledged. With `checkpointRecords` small,
 * checkpoints run all the time.
 *
 * Protocol on stdout, one line per fact, written only after the fact:
 *
 *   R <pid> <clientID> <checkpointLsn>   the store is open, the note loaded; typing starts now
 *   A <count> <checkpointLsn>           transactions 0…count-1 are durable (`flush` resolved)
 *   D <count> <checkpointLsn>           the whole trace is typed and durable
 *
 * (`checkpointLsn`: the store's last checkpoint, so the parent sees that checkpoints ran.)
 *
 * With `--ack-early` it lies for the companion run: it reports each burst before typing it, so a
 * kill can land after the report and before the burst is durable.
 *
 * Usage: node --import tsx store-typist-child.ts --seed <u32> [--ack-early]
 *          [--checkpoint-records 40] [--max-run-ms 120000]
 */
import type * as Y from 'yjs'
import { expectPositionals, flagOption, intOption, parseArgs } from '../../src/cli/args.js'
import { createRng, type Rng } from '../../src/core/random.js'
import { createStore, crdt, type Store } from '../../src/index.js'
import { applyPatches, loadTrace, type SequentialTrace } from '../support/traces.js'

/** The note the trace is typed into (the parent uses the same), and the trace. */
const NOTE_KEY = 'notes/trace'
const TRACE_NAME = 'automerge-paper.json.gz'

interface Options {
  seed: number
  ackEarly: boolean
  checkpointRecords: number
  maxRunMs: number
}

function parseOptions(argv: string[]): Options {
  const args = parseArgs(argv, {
    seed: 'value',
    'ack-early': 'flag',
    'checkpoint-records': 'value',
    'max-run-ms': 'value',
  })
  expectPositionals(args, 0, 'store-typist-child --seed <n> [options]')
  return {
    seed: intOption(args, 'seed', 1, 0, 0xffff_ffff),
    ackEarly: flagOption(args, 'ack-early'),
    checkpointRecords: intOption(args, 'checkpoint-records', 40, 1, 1_000_000),
    maxRunMs: intOption(args, 'max-run-ms', 120_000, 1, 3_600_000),
  }
}

/**
 * Ties the process to its parent (exits when stdin ends or stdout breaks, and after `maxRunMs`)
 * and resolves with what the `go` line says.
 */
function awaitGo(maxRunMs: number): Promise<{ from: number; length: number; dir: string }> {
  process.stdout.on('error', () => process.exit(4))
  setTimeout(() => {
    process.stderr.write(`store typist: not killed within ${maxRunMs} ms, exiting\n`)
    process.exit(5)
  }, maxRunMs).unref()
  return new Promise((resolve) => {
    let text = ''
    process.stdin.setEncoding('utf8')
    process.stdin.on('data', (chunk: string) => {
      text += chunk
      const match = /^go (\d+) (\d+) ([^\n]+)\n/.exec(text)
      if (match)
        resolve({ from: Number(match[1]), length: Number(match[2]), dir: match[3] as string })
    })
    process.stdin.on('end', () => process.exit(0))
  })
}

/** A line to the parent; stdout to a pipe is synchronous on Linux, so it is out when this returns. */
function say(line: string): void {
  process.stdout.write(`${line}\n`)
}

const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve))

/** Types transactions `from…to-1`, yielding to the event loop every 1–30 of them. */
async function typeBurst(
  doc: Y.Doc,
  text: Y.Text,
  trace: SequentialTrace,
  from: number,
  to: number,
  rng: Rng,
): Promise<void> {
  let untilYield = 1 + rng.int(30)
  for (let i = from; i < to; i++) {
    const { patches } = trace.txns[i] as SequentialTrace['txns'][number]
    doc.transact(() => applyPatches(text, patches))
    if (--untilYield === 0) {
      untilYield = 1 + rng.int(30)
      await nextTurn()
    }
  }
}

/** Types the trace from transaction `from` to its end, reporting acknowledged counts. */
async function typeTrace(store: Store, trace: SequentialTrace, from: number, options: Options) {
  const rng = createRng(options.seed)
  const text = store.text(NOTE_KEY)
  const doc = text.doc as Y.Doc
  let done = from
  while (done < trace.txns.length) {
    const to = Math.min(trace.txns.length, done + 50 + rng.int(151))
    // The lie: the burst is reported before it is even typed, let alone durable. (Reported
    // between typing and flushing, the window before the fsync is a fraction of a millisecond,
    // too rare a target for a random kill to prove anything.)
    if (options.ackEarly) say(`A ${to} ${store.stats.checkpointLsn}`)
    await typeBurst(doc, text, trace, done, to, rng)
    await store.flush()
    if (!options.ackEarly) say(`A ${to} ${store.stats.checkpointLsn}`)
    done = to
  }
  say(`D ${done} ${store.stats.checkpointLsn}`)
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2))
  const trace = loadTrace<SequentialTrace>(TRACE_NAME)
  const { from, length, dir } = await awaitGo(options.maxRunMs)
  const store = await createStore({
    path: dir,
    policies: { 'notes/*': crdt('text') },
    checkpointRecords: options.checkpointRecords,
  })
  store.on('error', (error) => {
    process.stderr.write(`store typist: store error: ${String(error)}\n`)
    process.exit(1)
  })
  const doc = await store.load(NOTE_KEY)
  const text = store.text(NOTE_KEY)
  if (text.length !== length)
    throw new Error(`the note holds ${text.length} characters, the parent verified ${length}`)
  say(`R ${process.pid} ${doc.clientID} ${store.stats.checkpointLsn}`)
  await typeTrace(store, trace, from, options)
  await new Promise(() => undefined) // typed everything: wait to be killed
}

main().catch((error: unknown) => {
  process.stderr.write(`store typist: ${error instanceof Error ? error.stack : String(error)}\n`)
  process.exit(1)
})
