/**
 * Shared pieces of the store benchmark: the editing trace in a compact form, typing it into a
 * Y.Text (the store's or a plain one), the plain-Yjs baseline, and a garbage-collection hook.
 *
 * The trace is held packed — typed arrays and one string — rather than as 259,778 parsed JSON
 * objects: a heap full of trace objects makes every major garbage collection during a
 * measurement cost tens of milliseconds, which would swamp the short measurements and show up as
 * noise in the long ones. An editor's heap holds no trace.
 */
import { readFileSync } from 'node:fs'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { gunzipSync } from 'node:zlib'
import * as Y from 'yjs'
import { crdt } from '../src/index.js'
import { TRACES_DIR, type SequentialTrace } from '../test/support/traces.js'
import { say } from './report.js'
import { nowMs } from './stats.js'

/** The trace typed in (259,778 transactions; see `../shared/data/editing-traces/README.md`). */
export const TRACE_NAME = 'automerge-paper.json.gz'

/** The key the trace is typed into, and the policy table that makes it a text document. */
export const TEXT_KEY = 'notes/paper'
export const TEXT_POLICIES = { 'notes/*': crdt('text') }

/** Name of the root type of a store's CRDT document (the plain baselines use the same). */
export const ROOT_NAME = 'value'

/** A sequential trace, packed: patch `p` of transaction `t` is at `txnStart[t] <= p < txnStart[t + 1]`. */
export interface Trace {
  readonly txnCount: number
  readonly txnStart: Int32Array
  /** Per patch: position (code points, all BMP here), characters deleted, insert text bounds. */
  readonly position: Int32Array
  readonly deleteCount: Int32Array
  readonly insertStart: Int32Array
  /** Every inserted text, concatenated. */
  readonly inserts: string
  readonly endContent: string
}

/** Packs a parsed sequential trace. */
export function packTrace(parsed: SequentialTrace): Trace {
  const patches = parsed.txns.flatMap((txn) => txn.patches)
  const txnStart = new Int32Array(parsed.txns.length + 1)
  parsed.txns.forEach((txn, t) => (txnStart[t + 1] = (txnStart[t] as number) + txn.patches.length))
  const insertStart = new Int32Array(patches.length + 1)
  patches.forEach(
    ([, , text], p) => (insertStart[p + 1] = (insertStart[p] as number) + text.length),
  )
  return {
    txnCount: parsed.txns.length,
    txnStart,
    position: Int32Array.from(patches, ([position]) => position),
    deleteCount: Int32Array.from(patches, ([, deleteCount]) => deleteCount),
    insertStart,
    inserts: patches.map(([, , text]) => text).join(''),
    endContent: parsed.endContent,
  }
}

/** Loads and packs the trace (the parsed JSON is dropped), saying how long that took. */
export function loadPaperTrace(): Trace {
  const started = nowMs()
  const file = readFileSync(`${TRACES_DIR}/${TRACE_NAME}`)
  const trace = packTrace(JSON.parse(gunzipSync(file).toString('utf8')) as SequentialTrace)
  say(`  trace ${TRACE_NAME}: ${trace.txnCount} transactions, loaded and packed in ${ms(started)}`)
  return trace
}

/** Applies patch `p` of the trace to `text`. */
function applyPatch(text: Y.Text, trace: Trace, p: number): void {
  const position = trace.position[p] as number
  const deleteCount = trace.deleteCount[p] as number
  const from = trace.insertStart[p] as number
  const to = trace.insertStart[p + 1] as number
  if (deleteCount > 0) text.delete(position, deleteCount)
  if (to > from) text.insert(position, trace.inserts.slice(from, to))
}

/** Applies transactions `[from, to)` to `text`, one Yjs transaction per trace transaction. */
export function typeTxns(text: Y.Text, trace: Trace, from = 0, to = trace.txnCount): void {
  const doc = text.doc as Y.Doc
  for (let t = from; t < to; t++) {
    const first = trace.txnStart[t] as number
    const end = trace.txnStart[t + 1] as number
    doc.transact(() => {
      for (let p = first; p < end; p++) applyPatch(text, trace, p)
    })
  }
}

/**
 * Applies transactions `[0, count)` like {@link typeTxns}, awaiting `flush()` after every `every`
 * transactions (an editor that waits for durability between bursts); resolves the flush count.
 */
export async function typeTxnsFlushing(
  text: Y.Text,
  trace: Trace,
  count: number,
  every: number,
  flush: () => Promise<void>,
): Promise<number> {
  let flushes = 0
  for (let from = 0; from < count; from += every) {
    typeTxns(text, trace, from, Math.min(from + every, count))
    await flush()
    flushes++
  }
  return flushes
}

/** A fresh plain Y.Doc's text root. */
export function plainText(): Y.Text {
  return new Y.Doc().getText(ROOT_NAME)
}

/** Milliseconds for plain in-memory Yjs to apply `count` transactions to a fresh Y.Doc (checked). */
export function plainYjsIngestMs(trace: Trace, count = trace.txnCount): number {
  const text = plainText()
  const started = nowMs()
  typeTxns(text, trace, 0, count)
  const elapsed = nowMs() - started
  if (count === trace.txnCount) expectText(text.toJSON(), trace, 'plain Yjs')
  text.doc?.destroy()
  return elapsed
}

/** Throws unless `actual` is the trace's final content. */
export function expectText(actual: string, trace: Pick<Trace, 'endContent'>, who: string): void {
  if (actual !== trace.endContent) {
    throw new Error(`${who}: text differs from the trace's endContent (${actual.length} chars)`)
  }
}

/** How garbage can be collected on demand in this process. */
export interface GcHook {
  collect: () => void
  /** `global.gc` (node --expose-gc) or `v8 flag` (enabled at run time). */
  source: string
}

let gcHook: GcHook | undefined

/**
 * A full garbage collection on demand: `global.gc` when node runs with `--expose-gc` (e.g.
 * `NODE_OPTIONS=--expose-gc`), otherwise the same function obtained by setting the V8 flag at run
 * time (a fresh context then exposes `gc`).
 */
export function gcHookOf(): GcHook {
  if (gcHook !== undefined) return gcHook
  const exposed = (globalThis as { gc?: () => void }).gc
  if (typeof exposed === 'function') return (gcHook = { collect: exposed, source: 'global.gc' })
  setFlagsFromString('--expose-gc')
  const collect = runInNewContext('gc') as () => void
  return (gcHook = { collect, source: 'v8 flag --expose-gc set at run time' })
}

/** Collects garbage twice (weak references and finalizers get a second pass). */
export function collectGarbage(): void {
  const { collect } = gcHookOf()
  collect()
  collect()
}

/** `started` (from `nowMs`) to now, for a progress line. */
export function ms(started: number): string {
  return `${(nowMs() - started).toFixed(0)} ms`
}
