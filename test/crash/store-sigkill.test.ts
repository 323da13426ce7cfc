/**
 * I1, I4, I11 and I12 in docs/guarantees.md for the whole store against real processes: a child
 * (`store-typist-child.ts`) types the automerge-paper editing trace into a `crdt('text')` note of
 * a store on the real disk (WAL + LevelDB), checkpointing all the time, and is killed with SIGKILL
 * at a seeded moment, over and over on the same directory. After each kill this process reopens
 * the store (taking over the dead writer's locks) and checks:
 *
 * - the note equals the trace's content after some prefix j of its transactions, with j at least
 *   the last count the child reported acknowledged (every acknowledged character is there, and no
 *   transaction is half-applied) and at least the j of the previous check (nothing durable lost);
 * - the note's Yjs state has no missing dependencies, the note exists in the registry when it has
 *   content, and each child typed with a Yjs client id the document had never seen (I12).
 *
 * The next child continues from j. Children are started, released and killed by the SIGKILL
 * harness the WAL's test uses too (`sigkill-harness.ts`). The companion run must see loss: a child
 * that reports bursts acknowledged before typing them (`--ack-early`) must be caught.
 *
 * Budget: 10 cycles by default; `STARLING_CRASH_CYCLES=<n>` runs n (a soak).
 */
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { createRng, seedFromEnv, type Rng } from '../../src/core/random.js'
import { createStore, crdt, type Store } from '../../src/index.js'
import { tempDir } from '../support/tmp.js'
import { applyPatches, loadTrace, type SequentialTrace } from '../support/traces.js'
import { mix } from '../support/wal-crash.js'
import {
  crashRepro,
  cyclesFromEnv,
  releaseRunKill,
  runKillLoop,
  spawnCrashChild,
  type CrashChild,
} from './sigkill-harness.js'

const SEED = seedFromEnv()
const DEFAULT_CYCLES = 10
const CYCLES = cyclesFromEnv(DEFAULT_CYCLES)
const EARLY_CYCLES_MAX = 20
const CHILD_PATH = fileURLToPath(new URL('./store-typist-child.ts', import.meta.url))
const NOTE_KEY = 'notes/trace'
const POLICIES = { 'notes/*': crdt('text') }
/** The child runs this long (after it started typing) before SIGKILL. */
const RUN_MS = { min: 30, max: 600 }

/** A running typist child (ready: its Yjs client id) and what it reported. */
interface Typist extends CrashChild<number> {
  /** Highest acknowledged transaction count reported (0: none). */
  acked: number
  /** The store's checkpoint LSN when typing started, and the newest one reported. */
  checkpointAtReady: number
  checkpointLast: number
}

function spawnTypist(seed: number, ackEarly: boolean): Typist {
  const args = [`--seed=${seed}`, '--checkpoint-records=20']
  if (ackEarly) args.push('--ack-early')
  // Lines arrive only on later turns of the event loop, once the typist below exists.
  const child = spawnCrashChild<number>({
    path: CHILD_PATH,
    args,
    onLine: (line, ready) => onLine(typist, line, ready),
  })
  const typist: Typist = { ...child, acked: 0, checkpointAtReady: -1, checkpointLast: -1 }
  return typist
}

/** One line of the typist's protocol (store-typist-child.ts); false when it does not parse. */
function onLine(typist: Typist, line: string, ready: (clientId: number) => void): boolean {
  const [kind, ...rest] = line.split(' ')
  const [a = 0, b = 0, c = 0] = rest.map(Number)
  if (!rest.every((part) => /^\d{1,16}$/.test(part))) return false
  if (kind === 'R' && rest.length === 3) {
    typist.checkpointAtReady = typist.checkpointLast = c
    ready(b)
    return true
  }
  if ((kind === 'A' || kind === 'D') && rest.length === 2) {
    typist.acked = Math.max(typist.acked, a)
    typist.checkpointLast = Math.max(typist.checkpointLast, b)
    return true
  }
  return false
}

/** The directory being typed into and the trace prefix it was last verified to hold. */
interface Model {
  dir: string
  /** The trace replayed into a plain Y.Text, `j` transactions in. */
  ref: Y.Text
  j: number
  /** Yjs client ids in the note's state at the last check. */
  clients: Set<number>
}

function freshModel(): Model {
  return {
    dir: tempDir('starling-store-sigkill-'),
    ref: new Y.Doc().getText(),
    j: 0,
    clients: new Set(),
  }
}

/** What the cycles saw. */
interface Report {
  cycles: number
  /** Transactions typed and acknowledged, over all cycles. */
  acked: number
  /** Cycles whose recovered note held fewer transactions than acknowledged, and how many fewer. */
  lost: string[]
  violations: string[]
  tornTails: number
  /** Cycles in which the child's store checkpointed; reopens by this process that did. */
  childCheckpoints: number
  checkpointedReopens: number
  elapsedMs: number
}

/**
 * Moves the reference on from `model.j` to the first prefix the text equals at or above `floor`
 * and returns it; when there is none, returns the first prefix at or above `model.j` that it
 * equals (a loss), or -1 (no prefix at all), and the reference is left past the end.
 */
function findPrefix(trace: SequentialTrace, model: Model, text: string, floor: number): number {
  let below = -1
  for (;;) {
    if (model.ref.length === text.length && model.ref.toJSON() === text) {
      if (model.j >= floor) return model.j
      if (below < 0) below = model.j
    }
    const txn = trace.txns[model.j]
    if (txn === undefined) return below
    ;(model.ref.doc as Y.Doc).transact(() => applyPatches(model.ref, txn.patches))
    model.j++
  }
}

/**
 * Reopens the store after a kill and checks the note against the trace and the acknowledgements.
 * Returns whether the model may go on (it holds the recovered prefix).
 */
async function verify(
  trace: SequentialTrace,
  model: Model,
  acked: number,
  rng: Rng,
  report: Report,
): Promise<boolean> {
  let store: Store
  try {
    store = await createStore({ path: model.dir, policies: POLICIES })
  } catch (error) {
    report.violations.push(`reopening ${model.dir} failed: ${String(error)}`)
    return false
  }
  try {
    if (store.openReport?.walRecovery.tornTail) report.tornTails++
    const doc = await store.load(NOTE_KEY)
    const text = store.text(NOTE_KEY).toJSON()
    if (doc.store.pendingStructs !== null || doc.store.pendingDs !== null)
      report.violations.push('the note has updates with missing dependencies')
    if (store.has(NOTE_KEY) !== text.length > 0)
      report.violations.push(`has(${NOTE_KEY}) is ${store.has(NOTE_KEY)}, ${text.length} chars`)
    model.clients = new Set(Y.decodeStateVector(Y.encodeStateVector(doc)).keys())
    const floor = Math.max(acked, model.j)
    const start = model.j
    const j = findPrefix(trace, model, text, floor)
    if (j >= floor) return true
    if (j < 0) report.violations.push(`the note (${text.length} chars) is no prefix ≥ ${start}`)
    else report.lost.push(`acknowledged ${floor} transactions, recovered ${j}`)
    return false
  } finally {
    const checkpoint = rng.int(2) === 0
    if (checkpoint) report.checkpointedReopens++
    await store.close({ checkpoint })
  }
}

/** One cycle: go, type for a seeded time, SIGKILL, verify. Returns the model to go on with. */
async function runCycle(
  typist: Typist,
  trace: SequentialTrace,
  model: Model,
  rng: Rng,
  report: Report,
): Promise<Model> {
  const go = `go ${model.j} ${model.ref.length} ${model.dir}`
  const runMs = (): number => RUN_MS.min + rng.int(RUN_MS.max - RUN_MS.min + 1)
  const { ready: clientId, violations } = await releaseRunKill(typist, go, runMs)
  report.violations.push(...violations)
  if (clientId === undefined) return freshModel()
  if (model.clients.has(clientId)) report.violations.push(`client id ${clientId} reused (I12)`)
  report.acked += Math.max(0, typist.acked - model.j)
  if (typist.checkpointLast > typist.checkpointAtReady) report.childCheckpoints++
  const ok = await verify(trace, model, typist.acked, rng, report)
  return ok && model.j < trace.txns.length ? model : freshModel() // lost, broken or done
}

/** Options of {@link runKillCycles}. */
interface KillCycles {
  cycles: number
  seed: number
  /** Children acknowledge bursts before typing them (the companion run). */
  ackEarly: boolean
  /** End after the first cycle that lost acknowledged transactions. */
  stopAtLoss: boolean
}

/** Runs kill cycles; the next child is started (and loads) while the current one runs. */
async function runKillCycles({ cycles, seed, ackEarly, stopAtLoss }: KillCycles): Promise<Report> {
  const started = performance.now()
  const trace = loadTrace<SequentialTrace>('automerge-paper.json.gz')
  const rng = createRng(seed)
  const report: Report = {
    cycles: 0,
    acked: 0,
    lost: [],
    violations: [],
    tornTails: 0,
    childCheckpoints: 0,
    checkpointedReopens: 0,
    elapsedMs: 0,
  }
  let model = freshModel()
  report.cycles = await runKillLoop({
    cycles,
    spawn: (cycle) => spawnTypist(mix(seed, cycle - 1), ackEarly),
    async cycle(typist) {
      model = await runCycle(typist, trace, model, rng, report)
    },
    stop: () => stopAtLoss && report.lost.length > 0,
  })
  report.elapsedMs = performance.now() - started
  return report
}

function summarize(report: Report): string {
  return (
    `seed ${SEED}: ${report.cycles} cycles, ${report.acked} transactions acknowledged, ` +
    `${report.lost.length} cycles lost some, ${report.violations.length} violations, ` +
    `${report.tornTails} torn tails, ${report.childCheckpoints} cycles with checkpoints, ` +
    `${report.checkpointedReopens} checkpointed reopens, ` +
    `${Math.round(report.elapsedMs / Math.max(1, report.cycles))} ms/cycle`
  )
}

function failWith(report: Report, problem: string): never {
  const repro = crashRepro(import.meta.url, SEED, CYCLES, DEFAULT_CYCLES)
  const details = [...report.violations, ...report.lost.map((l) => `lost: ${l}`)].slice(0, 10)
  throw new Error(`${problem}\n${summarize(report)}\n${details.join('\n')}\n${repro}`)
}

describe('the store under real SIGKILL while typing a trace', () => {
  it(
    `keeps every acknowledged keystroke over ${CYCLES} kill cycles`,
    async () => {
      const report = await runKillCycles({
        cycles: CYCLES,
        seed: SEED,
        ackEarly: false,
        stopAtLoss: false,
      })
      if (report.lost.length > 0) failWith(report, 'acknowledged transactions were lost')
      if (report.violations.length > 0) failWith(report, 'the store broke an invariant')
      if (report.acked === 0) failWith(report, 'nothing was ever acknowledged')
      if (CYCLES >= 5 && report.childCheckpoints === 0)
        failWith(report, 'no child ever checkpointed: kills during checkpoints went untested')
      console.log(`store-sigkill: ${summarize(report)}`)
    },
    Math.max(120_000, CYCLES * 10_000),
  )

  it('companion: a child that reports bursts before they are durable is caught', async () => {
    // Kill cycles until one loses (about every other one does), at most EARLY_CYCLES_MAX.
    const report = await runKillCycles({
      cycles: EARLY_CYCLES_MAX,
      seed: SEED,
      ackEarly: true,
      stopAtLoss: true,
    })
    if (report.lost.length === 0) failWith(report, 'the early acknowledgements lost nothing')
    console.log(`store-sigkill ack-early: ${summarize(report)}`)
    expect(report.lost.length).toBeGreaterThan(0)
  }, 240_000)
})
