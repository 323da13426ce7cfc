/**
 * Crash-point enumeration of the store's checkpoints on the simulated disk (docs/testing.md, I1, §2).
 *
 * A seeded workload writes registers and types into texts across several keys (every text edit in
 * a `store.transact()`, some spanning two texts), with checkpoints — explicit ones, some issued
 * while writes are in flight, and threshold ones — and a closing checkpoint. It runs once to count
 * its I/O steps S, then again crashing at every step k in 0…S. The storage adapter is a memory
 * adapter on a shared backing (the "disk" of the checkpoints) whose writes each take one I/O step
 * of the simulated disk first, so crashes land before and after every storage write too; what it
 * holds at the crash is the durable storage state. For each crash, power-loss images of the WAL
 * (every mode) and a process crash are reopened, with a fresh adapter on a copy of the backing:
 *
 * - the store opens;
 * - every write whose promise resolved before the crash is there with its value;
 * - the state equals the state after some prefix of the attempted writes: each text is a prefix of
 *   the tokens typed into it, a transaction over two texts is in both or in neither, a text key
 *   exists exactly when it has content, and no write is present while an earlier one is missing;
 * - closing (which checkpoints) and reopening keeps exactly that state.
 *
 * The harness is checked to see loss: with `durability: 'none'` and power loss dropping unsynced
 * bytes, the checker must report acknowledged writes lost.
 */
import { describe, expect, it } from 'vitest'
import {
  createMemoryBacking,
  createMemoryStorage,
  type MemoryStorageBacking,
} from '../../adapters/storage-memory/index.js'
import { isStarlingError } from '../../src/core/errors.js'
import { createRng, seedFromEnv, type Rng } from '../../src/core/random.js'
import { crdt } from '../../src/policy/index.js'
import {
  openStore,
  type StorageAdapter,
  type Store,
  type StoreOptions,
} from '../../src/store/index.js'
import {
  SimCrashError,
  createSimFs,
  createVirtualEnv,
  type SimFs,
} from '../../src/testing/index.js'
import type { CrashMode } from '../../src/testing/index.js'
import type { Durability } from '../../src/wal/index.js'
import { FUZZ, reproCommand } from '../support/property.js'
import {
  ALL_MODES,
  PROCESS_CRASH,
  damages,
  describeError,
  mix,
  report,
} from '../support/wal-crash.js'

const SEED = seedFromEnv()
const REPRO = reproCommand(import.meta.url, SEED)
const BUDGET = FUZZ
  ? { rounds: 12, imageSeeds: 6, workloads: 8 }
  : { rounds: 6, imageSeeds: 2, workloads: 3 }
const TIMEOUT = { timeout: FUZZ ? 3_600_000 : 120_000 }

const WAL_DIR = '/data/wal'
const TEXT_KEYS = ['notes/a', 'notes/b', 'notes/c']
const REGISTER_KEYS = ['reg/x', 'reg/y', 'reg/z']
const POLICIES = { 'notes/*': crdt('text') }

/** A write of the workload; `g` is its place in issue order. */
interface Write {
  g: number
  kind: 'set' | 'type'
  /** The register written, or the texts the token is appended to (one transaction). */
  keys: string[]
}

/** A write or a checkpoint, issued `delay` turns of the event loop after its round began. */
interface Action {
  what: Write | 'checkpoint'
  delay: number
}

/** A workload: rounds of actions (each round awaited as a whole), and its writes in issue order. */
interface Workload {
  seed: number
  durability: Durability
  rounds: Action[][]
  writes: Write[]
}

/** What one run of the workload did. */
interface Outcome {
  attempted: number
  acked: Set<number>
}

/** The token write `g` appends to each of its texts. */
const token = (g: number): string => `[${g}]`

function pick<T>(rng: Rng, list: readonly T[]): T {
  return list[rng.int(list.length)] as T
}

/**
 * Writes of one round, a checkpoint among them when `checkpoint` is set. Delays (in issue order)
 * make later actions arrive while earlier ones are being written, synced or checkpointed.
 */
function makeRound(rng: Rng, writes: Write[], checkpoint: boolean): Action[] {
  const what: Array<Write | 'checkpoint'> = []
  for (let n = 1 + rng.int(3); n > 0; n--) {
    const g = writes.length
    const write: Write =
      rng.int(2) === 0
        ? { g, kind: 'set', keys: [pick(rng, REGISTER_KEYS)] }
        : { g, kind: 'type', keys: [...new Set([pick(rng, TEXT_KEYS), pick(rng, TEXT_KEYS)])] }
    writes.push(write)
    what.push(write)
  }
  if (checkpoint) what.splice(rng.int(what.length + 1), 0, 'checkpoint')
  let delay = 0
  return what.map((w) => ({ what: w, delay: (delay += rng.int(3)) }))
}

/** Writes, a checkpoint alone, writes with checkpoints in flight, a checkpoint, writes. */
function makeWorkload(seed: number, perPhase: number, durability: Durability): Workload {
  const rng = createRng(seed)
  const writes: Write[] = []
  const phase = (concurrent: boolean): Action[][] =>
    Array.from({ length: perPhase }, () => makeRound(rng, writes, concurrent))
  const checkpoint: Action[] = [{ what: 'checkpoint', delay: 0 }]
  const rounds = [...phase(false), checkpoint, ...phase(true), checkpoint, ...phase(false)]
  return { seed, durability, rounds, writes }
}

function storeOptions(seed: number, durability: Durability): StoreOptions {
  return { policies: POLICIES, durability, checkpointRecords: 7, env: createVirtualEnv({ seed }) }
}

/**
 * The memory adapter on `backing` whose writes first take one I/O step of `sim` (and do nothing
 * once it crashed): a crash can land before or after each of them, and what completed before the
 * crash is the durable storage state.
 */
function crashableStorage(sim: SimFs, backing: MemoryStorageBacking): StorageAdapter {
  const inner = createMemoryStorage(backing)
  const gate = async (): Promise<void> => {
    await sim.list('/')
    if (sim.crashed) throw new SimCrashError(sim.steps, 'list', '/')
  }
  return {
    ...inner,
    storeDoc: async (key, state) => gate().then(() => inner.storeDoc(key, state)),
    storeDocs: async (states) => gate().then(() => inner.storeDocs(states)),
    deleteDoc: async (key) => gate().then(() => inner.deleteDoc(key)),
    setMeta: async (name, value) => gate().then(() => inner.setMeta(name, value)),
  }
}

function copyBacking(backing: MemoryStorageBacking): MemoryStorageBacking {
  return { docs: new Map(backing.docs), meta: new Map(backing.meta) }
}

/** An error the crash explains (the simulated crash itself, or the store failing because of it). */
function isCrashFallout(error: unknown, sim: SimFs): boolean {
  if (error instanceof SimCrashError) return true
  return (
    sim.crashed && (isStarlingError(error, 'WAL_FAILED') || isStarlingError(error, 'STORE_FAILED'))
  )
}

const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve))

/** Issues one action after its delay; resolves when it settled (acknowledged writes recorded). */
async function issue(store: Store, action: Action, outcome: Outcome): Promise<void> {
  for (let turn = 0; turn < action.delay; turn++) await nextTurn()
  const write = action.what
  if (write === 'checkpoint') return store.checkpoint()
  outcome.attempted = Math.max(outcome.attempted, write.g + 1)
  const ack = (): void => void outcome.acked.add(write.g)
  const [key] = write.keys
  if (write.kind === 'set') return store.set(key as string, write.g).then(ack)
  return store
    .transact(() => {
      for (const text of write.keys.map((k) => store.text(k)))
        text.insert(text.length, token(write.g))
    })
    .then(ack)
}

/** Runs the workload on `sim` (which may crash) with checkpoints into `backing`. */
async function runWorkload(
  sim: SimFs,
  backing: MemoryStorageBacking,
  work: Workload,
): Promise<Outcome> {
  const outcome: Outcome = { attempted: 0, acked: new Set() }
  const storage = crashableStorage(sim, backing)
  let store: Store
  try {
    store = await openStore(storeOptions(work.seed, work.durability), {
      walDir: WAL_DIR,
      fs: sim,
      storage,
    })
    for (const key of TEXT_KEYS) await store.load(key)
  } catch (error) {
    if (isCrashFallout(error, sim)) return outcome
    throw error
  }
  const settle = (promise: () => Promise<void>): Promise<void> =>
    promise().catch((error: unknown) => {
      if (!isCrashFallout(error, sim)) throw error
    })
  for (const round of work.rounds) {
    if (sim.crashed) break
    await Promise.all(round.map((action) => settle(() => issue(store, action, outcome))))
  }
  await settle(() => store.close())
  return outcome
}

/** The I/O steps of an uninterrupted run (crash points are 0…S). */
async function workloadSteps(work: Workload): Promise<number> {
  const sim = createSimFs()
  await runWorkload(sim, createMemoryBacking(), work)
  return sim.steps
}

/** What a reopened store holds. */
interface State {
  registers: Map<string, unknown>
  texts: Map<string, string>
  exists: Map<string, boolean>
}

async function readState(store: Store): Promise<State> {
  const state: State = { registers: new Map(), texts: new Map(), exists: new Map() }
  for (const key of REGISTER_KEYS) state.registers.set(key, store.get(key))
  for (const key of TEXT_KEYS) {
    await store.load(key)
    state.texts.set(key, store.text(key).toJSON())
    state.exists.set(key, store.has(key))
  }
  return state
}

const describeState = (state: State): string =>
  JSON.stringify([[...state.registers], [...state.texts], [...state.exists]])

/** How many of the tokens written into `key` its text holds, or a problem. */
function tokensHeld(work: Workload, key: string, text: string): number | string {
  const writes = work.writes.filter((w) => w.kind === 'type' && w.keys.includes(key))
  let prefix = ''
  for (let m = 0; m <= writes.length; m++) {
    if (prefix === text) return m
    if (prefix.length >= text.length) break
    prefix += token((writes[m] as Write).g)
  }
  return `${key} holds ${JSON.stringify(text.slice(0, 80))}, not a prefix of its tokens`
}

/** Which writes `state` holds (by index), and problems where it cannot say or is inconsistent. */
function writesHeld(work: Workload, state: State, problems: string[]): boolean[] {
  const held = work.writes.map(() => false)
  const counts = new Map<string, number>()
  for (const [key, text] of state.texts) {
    const m = tokensHeld(work, key, text)
    if (typeof m === 'string') problems.push(m)
    else counts.set(key, m)
    if (state.exists.get(key) !== text.length > 0)
      problems.push(`has(${key}) is ${state.exists.get(key)} with text ${JSON.stringify(text)}`)
  }
  const seen = new Map<string, number>()
  for (const write of work.writes) {
    const parts = write.keys.map((key) => {
      if (write.kind === 'set') {
        const value = state.registers.get(key)
        return typeof value === 'number' && value >= write.g
      }
      const index = seen.get(key) ?? 0
      seen.set(key, index + 1)
      return index < (counts.get(key) ?? 0)
    })
    held[write.g] = parts.every(Boolean)
    if (parts.some(Boolean) && !held[write.g]) problems.push(`transaction ${write.g} half-applied`)
  }
  for (const [key, value] of state.registers) {
    const ok = value === undefined || work.writes.some((w) => w.g === value && w.keys[0] === key)
    if (!ok) problems.push(`${key} = ${JSON.stringify(value)}, never written`)
  }
  return held
}

/** Problems with `state` as the recovery of `outcome`. */
function checkState(work: Workload, state: State, outcome: Outcome): string[] {
  const problems: string[] = []
  const held = writesHeld(work, state, problems)
  const lost = [...outcome.acked].filter((g) => !held[g]).sort((a, b) => a - b)
  if (lost.length > 0) problems.push(`acknowledged writes lost: ${lost.join(',')}`)
  const firstMissing = held.indexOf(false)
  const lastHeld = held.lastIndexOf(true)
  if (firstMissing !== -1 && lastHeld > firstMissing)
    problems.push(`not a prefix: write ${lastHeld} is there, ${firstMissing} is missing`)
  if (lastHeld >= outcome.attempted) problems.push(`write ${lastHeld} was never attempted`)
  return problems
}

/** Reopens a crashed disk: checks the state, then that a checkpointed close and reopen keep it. */
async function checkRecovery(
  work: Workload,
  image: SimFs,
  backing: MemoryStorageBacking,
  outcome: Outcome,
  seed: number,
): Promise<string[]> {
  const options = storeOptions(seed, 'sync')
  const ports = { walDir: WAL_DIR, fs: image }
  let first: string
  try {
    const store = await openStore(options, { ...ports, storage: createMemoryStorage(backing) })
    const state = await readState(store)
    await store.close()
    const problems = checkState(work, state, outcome)
    if (problems.length > 0) return problems
    first = describeState(state)
  } catch (error) {
    return [`open failed: ${describeError(error)}`]
  }
  try {
    const again = await openStore(options, { ...ports, storage: createMemoryStorage(backing) })
    const second = describeState(await readState(again))
    await again.close()
    return second === first ? [] : [`after a checkpointed reopen: ${second}, was ${first}`]
  } catch (error) {
    return [`reopen after close failed: ${describeError(error)}`]
  }
}

/** What to crash and check: damage modes, a process crash too, only some steps (default all). */
interface Enumeration {
  modes: readonly CrashMode[]
  processCrash: boolean
  steps?: readonly number[]
}

/** Crashes the workload at every step (or the given ones) and checks every damage of each. */
async function enumerate(
  work: Workload,
  plan: Enumeration,
): Promise<{ steps: number; images: number; problems: string[] }> {
  const steps = await workloadSteps(work)
  const problems: string[] = []
  let images = 0
  for (const k of plan.steps ?? Array.from({ length: steps + 1 }, (_, k) => k)) {
    const sim = createSimFs({ crashAtStep: k })
    const backing = createMemoryBacking()
    const outcome = await runWorkload(sim, backing, work)
    if (sim.crashed !== k < steps) problems.push(`step ${k}: crashed=${sim.crashed}, S=${steps}`)
    const list = damages(work.seed, k, plan.modes, BUDGET.imageSeeds)
    if (plan.processCrash) list.push(PROCESS_CRASH)
    for (const damage of list) {
      images++
      const seed = mix(work.seed, k)
      const found = await checkRecovery(
        work,
        damage.apply(sim),
        copyBacking(backing),
        outcome,
        seed,
      )
      for (const problem of found)
        problems.push(
          `workload ${work.seed} crash at step ${k}/${steps}, ${damage.label}: ${problem}`,
        )
    }
  }
  return { steps, images, problems }
}

/**
 * Crash points that broke the store before its checkpoints took one consistent cut and waited
 * for it to be durable in the WAL: (workload seed, with 6 rounds per phase; crash step; what the
 * crash left). Each replays with a crash one step before, at and after it.
 */
const REGRESSIONS: Array<[seed: number, step: number, what: string]> = [
  [1852474005, 65, 'checkpoint LSN past the durable end of the WAL: the store refused to open'],
  [1852474005, 62, 'a crash between two storeDoc calls kept half an unacknowledged transaction'],
  [3195696384, 45, 'a document stored with an unacknowledged first edit, the registry not'],
  [2893788501, 32, 'registry taken later than the documents: a write kept, an earlier one lost'],
  [1634372382, 32, 'registry taken later than the documents: a key exists without its content'],
]

describe('store checkpoints: crash at every I/O step (simulated disk, memory storage)', () => {
  it(
    'keeps every acknowledged write and recovers a prefix of the attempted ones',
    TIMEOUT,
    async () => {
      for (let w = 0; w < BUDGET.workloads; w++) {
        const work = makeWorkload(mix(SEED, w), BUDGET.rounds, 'sync')
        const result = await enumerate(work, { modes: ALL_MODES, processCrash: true })
        console.info(
          `store-checkpoint-crash: seed=${SEED} workload=${work.seed} writes=${work.writes.length} ` +
            `S=${result.steps} images=${result.images}`,
        )
        expect(result.steps).toBeGreaterThan(40)
        expect(result.problems, report(result.problems, SEED, REPRO)).toEqual([])
      }
    },
  )

  for (const [seed, step, what] of REGRESSIONS) {
    it(`regression: workload ${seed}, crash at step ${step} (${what})`, async () => {
      const work = makeWorkload(seed, 6, 'sync')
      const plan = { modes: ALL_MODES, processCrash: true, steps: [step - 1, step, step + 1] }
      const result = await enumerate(work, plan)
      expect(result.problems, report(result.problems, seed, REPRO)).toEqual([])
    })
  }

  it('sees loss when the WAL does not sync (harness sanity)', TIMEOUT, async () => {
    const work = makeWorkload(SEED, BUDGET.rounds, 'none')
    const result = await enumerate(work, { modes: ['drop'], processCrash: false })
    const losses = result.problems.filter((p) => p.includes('acknowledged writes lost'))
    expect(losses.length, `the checker saw no loss without fsync\n${REPRO}`).toBeGreaterThan(0)
  })
})
