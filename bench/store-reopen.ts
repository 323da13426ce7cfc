/**
 * Reopen: the time from `createStore` to the text of a store holding the whole automerge-paper
 * trace, (a) from a checkpoint (`close()` checkpoints) against plain Yjs loading the same state
 * from one encoded update, and (b) by replaying the WAL (`close({ checkpoint: false })`) against
 * plain Yjs applying the updates the store logged in one transaction.
 *
 * Every measurement runs in a fresh Node process (`store-reopen-child.ts`), as an app reopens its
 * store at startup: in a long-lived bench process the result hinges on the garbage collector's
 * state (a forced collection just before a 20 ms decode made it 5-10x slower here). Store and
 * baseline alternate over rounds; medians are reported.
 */
import { execFile } from 'node:child_process'
import { cp, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'
import * as encoding from 'lib0/encoding'
import * as Y from 'yjs'
import { createStore, type Store } from '../src/index.js'
import { decodeUpdates } from '../src/store/record-codec.js'
import type { BenchContext } from './context.js'
import { report, say } from './report.js'
import { median, nowMs } from './stats.js'
import type { ChildResult } from './store-reopen-child.js'
import { TEXT_KEY, TEXT_POLICIES, ms, typeTxns, type Trace } from './store-support.js'
import { storeInternalsOf } from '../src/store/internals.js'

const CHILD = join(import.meta.dirname, 'store-reopen-child.ts')

/** How to measure reopening. */
export interface ReopenOptions {
  /** Rounds of the checkpoint reopen (fast) and of the WAL replay (slow). */
  checkpointRounds: number
  replayRounds: number
}

/** The two store directories and the files the baselines and checks read. */
interface Fixture {
  replayDir: string
  checkpointDir: string
  /** `Y.encodeStateAsUpdate` of the final document. */
  stateFile: string
  /** Every Yjs update of the text document the store logged in its WAL, in order (lib0 varUint8Arrays). */
  updatesFile: string
  updateCount: number
  stateBytes: number
  /** The trace's final content, which every child checks. */
  expectedFile: string
}

/** Every update of the text document the store logged in its WAL, packed, and their count. */
async function loggedUpdates(store: Store): Promise<{ packed: Uint8Array; count: number }> {
  const packer = encoding.createEncoder()
  let count = 0
  for await (const record of storeInternalsOf(store).wal.read(
    storeInternalsOf(store).wal.firstLsn,
  )) {
    for (const { key, update } of decodeUpdates(record.payload)) {
      if (key !== TEXT_KEY) continue
      encoding.writeVarUint8Array(packer, update)
      count++
    }
  }
  return { packed: encoding.toUint8Array(packer), count }
}

/** Types the trace into a store and closes it without a checkpoint, keeping what it logged. */
async function buildReplayDir(dir: string, files: string, trace: Trace) {
  const store = await createStore({ path: dir, policies: TEXT_POLICIES, durability: 'sync' })
  try {
    const text = store.text(TEXT_KEY)
    const doc = await store.load(TEXT_KEY)
    typeTxns(text, trace)
    await store.flush()
    if (store.stats.checkpointLsn !== 0) throw new Error('a checkpoint ran during the build')
    const state = Y.encodeStateAsUpdate(doc)
    const logged = await loggedUpdates(store)
    const fixture = {
      replayDir: dir,
      stateFile: join(files, 'state.bin'),
      updatesFile: join(files, 'updates.bin'),
      expectedFile: join(files, 'expected.txt'),
    }
    await writeFile(fixture.stateFile, state)
    await writeFile(fixture.updatesFile, logged.packed)
    await writeFile(fixture.expectedFile, trace.endContent)
    return { ...fixture, updateCount: logged.count, stateBytes: state.length }
  } finally {
    await store.close({ checkpoint: false })
  }
}

/** Builds the replay directory, then a copy of it that is opened once and closed (checkpointed). */
async function buildFixture(ctx: BenchContext, trace: Trace): Promise<Fixture> {
  const started = nowMs()
  const files = await ctx.freshDir('reopen-files')
  const built = await buildReplayDir(await ctx.freshDir('reopen-replay'), files, trace)
  const checkpointDir = await ctx.freshDir('reopen-checkpoint')
  await cp(built.replayDir, checkpointDir, { recursive: true })
  const store = await createStore({ path: checkpointDir, policies: TEXT_POLICIES })
  await store.close()
  say(`  built both stores in ${ms(started)} (${built.updateCount} updates logged)`)
  return { ...built, checkpointDir }
}

/** Runs one measurement in a fresh Node process (same loader flags as this one). */
async function runChild(mode: string, input: string, fixture: Fixture): Promise<ChildResult> {
  const args = [...process.execArgv, CHILD, mode, input, fixture.expectedFile]
  const { stdout } = await promisify(execFile)(process.execPath, args, { encoding: 'utf8' })
  return JSON.parse(stdout.trim()) as ChildResult
}

/** Alternates a store open and its baseline `rounds` times, each in a fresh process. */
async function alternate(
  rounds: number,
  open: () => Promise<ChildResult>,
  baseline: () => Promise<ChildResult>,
): Promise<{ store: ChildResult[]; yjsMs: number[] }> {
  const store: ChildResult[] = []
  const yjsMs: number[] = []
  for (let i = 0; i < rounds; i++) {
    store.push(await open())
    yjsMs.push((await baseline()).ms)
    say(`    round ${i + 1}: store ${store[i]?.ms.toFixed(0)} ms; Yjs ${yjsMs[i]?.toFixed(0)} ms`)
  }
  return { store, yjsMs }
}

const COLD = 'each run in a fresh Node process (modules loaded and inputs read before the clock)'

async function benchFromCheckpoint(fixture: Fixture, options: ReopenOptions): Promise<void> {
  say('  reopen from a checkpoint')
  const runs = await alternate(
    options.checkpointRounds,
    () => runChild('store', fixture.checkpointDir, fixture),
    () => runChild('yjs-state', fixture.stateFile, fixture),
  )
  report({
    bench: 'store',
    metric: 'reopen after a checkpoint: createStore + load + read text (automerge-paper)',
    value: median(runs.store.map((r) => r.ms)),
    unit: 'ms',
    baseline: 'plain Yjs: Y.applyUpdate(new Y.Doc(), encoded state) + toJSON',
    baselineValue: median(runs.yjsMs),
    extra: {
      note:
        `store on disk (LevelDB snapshot, WAL, lock, registry), warm page cache; baseline state ` +
        `pre-encoded with Y.encodeStateAsUpdate; ${COLD}; medians of ${runs.yjsMs.length} ` +
        `alternating rounds`,
      stateBytes: fixture.stateBytes,
      replayedRecords: median(runs.store.map((r) => r.replayedRecords ?? 0)),
    },
  })
}

async function benchFromWal(fixture: Fixture, options: ReopenOptions): Promise<void> {
  say('  reopen replaying the WAL')
  const runs = await alternate(
    options.replayRounds,
    () => runChild('store', fixture.replayDir, fixture),
    () => runChild('yjs-updates', fixture.updatesFile, fixture),
  )
  report({
    bench: 'store',
    metric:
      'reopen without a checkpoint (WAL replay): createStore + load + read text (automerge-paper)',
    value: median(runs.store.map((r) => r.ms)),
    unit: 'ms',
    baseline: `plain Yjs: the ${fixture.updateCount} updates the store logged, applied in one transaction + toJSON`,
    baselineValue: median(runs.yjsMs),
    extra: {
      note:
        `the store was closed with close({ checkpoint: false }) after the ingest, so opening ` +
        `replays the whole WAL; warm page cache; ${COLD}; medians of ${runs.yjsMs.length} ` +
        `alternating rounds`,
      replayedRecords: median(runs.store.map((r) => r.replayedRecords ?? 0)),
      replayedUpdates: median(runs.store.map((r) => r.replayedUpdates ?? 0)),
    },
  })
}

/** Builds the two stores, then measures and reports both reopen paths. */
export async function benchReopen(
  ctx: BenchContext,
  trace: Trace,
  options: ReopenOptions,
): Promise<void> {
  say('reopen: building a store with the whole trace')
  const fixture = await buildFixture(ctx, trace)
  await benchFromCheckpoint(fixture, options)
  await benchFromWal(fixture, options)
}
