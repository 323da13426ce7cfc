/**
 * Memory: heap bytes per key with many keys resident — CRDT keys (one Y.Doc each, plus the
 * store's bookkeeping) against plain Y.Docs with the same content, and register keys (slots in
 * the registry document) against a plain Map of the same values. Heap figures are
 * `process.memoryUsage().heapUsed` deltas between full garbage collections.
 */
import * as Y from 'yjs'
import { createStore, crdt, lww, type Store } from '../src/index.js'
import type { BenchContext } from './context.js'
import { report, say } from './report.js'
import { median } from './stats.js'
import { ROOT_NAME, collectGarbage, gcHookOf } from './store-support.js'

/** How to measure memory. */
export interface MemoryOptions {
  keys: number
  rounds: number
  /** Writes issued together (awaited as one group) while filling a store. */
  burst: number
}

/** Heap figures after a full garbage collection. */
interface Heap {
  heapUsed: number
  arrayBuffers: number
}

/** Growth of one store measurement, right after every write is durable. */
interface StoreGrowth extends Heap {
  /** CRDT documents resident at the end (0 for registers). */
  residentDocs: number
}

interface Samples {
  store: StoreGrowth[]
  plain: Heap[]
}

const POLICIES = { 'docs/*': crdt('text'), 'settings/*': lww() }
/** Large enough that no document is evicted: every CRDT key stays resident. */
const MEMORY_BUDGET_BYTES = 2 ** 30

/** The text of CRDT key `i` (about 60 characters). */
function textOf(i: number): string {
  return `note ${i}: the quick brown fox jumps over the lazy dog, again.`
}

/** The value of register key `i`: a small settings object. */
function valueOf(i: number): { title: string; pinned: boolean; order: number } {
  return { title: `note ${i}`, pinned: i % 2 === 0, order: i }
}

/** The heap after a full garbage collection. */
function heapNow(): Heap {
  collectGarbage()
  const { heapUsed, arrayBuffers } = process.memoryUsage()
  return { heapUsed, arrayBuffers }
}

function minus(after: Heap, before: Heap): Heap {
  return {
    heapUsed: after.heapUsed - before.heapUsed,
    arrayBuffers: after.arrayBuffers - before.arrayBuffers,
  }
}

/** Runs `write(i)` for every key, `burst` at a time. */
async function writeAll(options: MemoryOptions, write: (i: number) => Promise<void>) {
  for (let from = 0; from < options.keys; from += options.burst) {
    const to = Math.min(from + options.burst, options.keys)
    const batch: Array<Promise<void>> = []
    for (let i = from; i < to; i++) batch.push(write(i))
    await Promise.all(batch)
  }
}

/**
 * Heap growth of an open store while every key is written (durably). No checkpoint: storing
 * 10,000 documents takes about 10 s here (one directory fsync per document).
 */
async function storeGrowth(
  ctx: BenchContext,
  options: MemoryOptions,
  write: (store: Store, i: number) => Promise<void>,
): Promise<StoreGrowth> {
  const dir = await ctx.freshDir('memory')
  const store = await createStore({
    path: dir,
    policies: POLICIES,
    memoryBudgetBytes: MEMORY_BUDGET_BYTES,
  })
  try {
    const before = heapNow()
    await writeAll(options, (i) => write(store, i))
    await store.flush()
    return { ...minus(heapNow(), before), residentDocs: store.stats.residentDocs }
  } finally {
    await store.close({ checkpoint: false })
    await ctx.removeDir(dir)
  }
}

/** Heap growth while `build` runs; what it returns is held until measured. */
function plainGrowth(build: () => object): Heap {
  const before = heapNow()
  const held = build()
  const grown = minus(heapNow(), before)
  if (typeof held !== 'object') throw new Error('nothing held')
  return grown
}

/** `keys` plain Y.Docs, each with its text, by key. */
function plainDocs(options: MemoryOptions): Map<string, Y.Doc> {
  const docs = new Map<string, Y.Doc>()
  for (let i = 0; i < options.keys; i++) {
    const doc = new Y.Doc()
    doc.getText(ROOT_NAME).insert(0, textOf(i))
    docs.set(`docs/${i}`, doc)
  }
  return docs
}

/** A plain Map holding the register values. */
function plainMap(options: MemoryOptions): Map<string, unknown> {
  const map = new Map<string, unknown>()
  for (let i = 0; i < options.keys; i++) map.set(`settings/${i}`, valueOf(i))
  return map
}

async function sample(
  rounds: number,
  store: () => Promise<StoreGrowth>,
  plain: () => Heap,
): Promise<Samples> {
  const samples: Samples = { store: [], plain: [] }
  for (let i = 0; i < rounds; i++) {
    samples.store.push(await store())
    samples.plain.push(plain())
  }
  return samples
}

/** Median over `heaps` of `pick`, per key. */
function perKey(heaps: readonly Heap[], keys: number, pick: keyof Heap): number {
  return median(heaps.map((heap) => heap[pick])) / keys
}

function reportMemory(kind: string, baseline: string, samples: Samples, options: MemoryOptions) {
  const { keys } = options
  const written = samples.store
  report({
    bench: 'store',
    metric: `memory per resident ${kind} at ${keys} keys (heapUsed)`,
    value: perKey(written, keys, 'heapUsed'),
    unit: 'bytes/key',
    baseline,
    baselineValue: perKey(samples.plain, keys, 'heapUsed'),
    extra: {
      note:
        `process.memoryUsage().heapUsed delta between full GCs (${gcHookOf().source}); store ` +
        `on disk, every write durable, before any checkpoint; memoryBudgetBytes ` +
        `${MEMORY_BUDGET_BYTES} (nothing evicted); LevelDB's native memory not included; ` +
        `medians of ${options.rounds} alternating rounds`,
      arrayBuffersPerKey: Math.round(perKey(written, keys, 'arrayBuffers')),
      baselineArrayBuffersPerKey: Math.round(perKey(samples.plain, keys, 'arrayBuffers')),
      residentDocs: median(samples.store.map((s) => s.residentDocs)),
    },
  })
}

/** Measures and reports memory per CRDT key and per register key. */
export async function benchMemory(ctx: BenchContext, options: MemoryOptions): Promise<void> {
  say(`memory: ${options.keys} keys, gc via ${gcHookOf().source}`)
  const crdtKeys = await sample(
    options.rounds,
    () => storeGrowth(ctx, options, (store, i) => store.set(`docs/${i}`, textOf(i))),
    () => plainGrowth(() => plainDocs(options)),
  )
  reportMemory('CRDT key (crdt text)', `${options.keys} plain Y.Docs, same text`, crdtKeys, options)
  const registers = await sample(
    options.rounds,
    () => storeGrowth(ctx, options, (store, i) => store.set(`settings/${i}`, valueOf(i))),
    () => plainGrowth(() => plainMap(options)),
  )
  reportMemory('register key (lww)', 'a plain Map of the same keys and values', registers, options)
}
