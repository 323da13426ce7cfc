/**
 * Shared pieces of the store benchmark: the editing trace in a compact form, typing it into a
 * Y.Text (the store's or a plain one; both from `src/testing/traces.ts`, which the demo shares),
 * the plain-Yjs baseline, and a garbage-collection hook.
 *
 * The trace is held packed — typed arrays and one string — rather than as 259,778 parsed JSON
 * objects: a heap full of trace objects makes every major garbage collection during a
 * measurement cost tens of milliseconds, which would swamp the short measurements and show up as
 * noise in the long ones. An editor's heap holds no trace.
 */
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import type * as Y from 'yjs'
import { crdt } from '../src/index.js'
import {
  packTrace,
  plainText,
  readTrace,
  typeTxns,
  TRACE_NAME,
  type SequentialTrace,
  type Trace,
} from '../src/testing/traces.js'
import { say } from './report.js'
import { nowMs } from './stats.js'

export { packTrace, plainText, typeTxns, TRACE_NAME, type Trace } from '../src/testing/traces.js'

/** The key the trace is typed into, and the policy table that makes it a text document. */
export const TEXT_KEY = 'notes/paper'
export const TEXT_POLICIES = { 'notes/*': crdt('text') }

/** Name of the root type of a store's CRDT document (the plain baselines use the same). */
export const ROOT_NAME = 'value'

/** Loads and packs the trace (the parsed JSON is dropped), saying how long that took. */
export function loadPaperTrace(): Trace {
  const started = nowMs()
  const trace = packTrace(readTrace<SequentialTrace>(TRACE_NAME))
  say(`  trace ${TRACE_NAME}: ${trace.txnCount} transactions, loaded and packed in ${ms(started)}`)
  return trace
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
