/**
 * The editing traces of `test/data/editing-traces` (see its README), for the tests, the
 * benchmarks and `starling demo`: loading them, typing them into anything with `insert`/`delete`,
 * and the packed form of a sequential trace that the benchmarks and the demo type into a Y.Text.
 *
 * The traces are part of the repository; the npm package ships the one `starling demo` types. They
 * are found through `STARLING_TRACES_DIR` when set, otherwise in `test/data/editing-traces` under
 * the nearest directory above this module whose `package.json` is Starling's (the checkout or the
 * installed package, whether this runs from `src` or from `dist/src`).
 * Internal: not exported from `starling/testing`.
 */
import { existsSync, readFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { gunzipSync } from 'node:zlib'
import * as Y from 'yjs'
import { ROOT_NAME } from '../store/values.js'

/** The environment variable that points at the directory of the traces. */
export const TRACES_DIR_VARIABLE = 'STARLING_TRACES_DIR'

/** Where the traces are, relative to the package root. */
export const TRACES_SUBDIR = 'test/data/editing-traces'

/** The trace the benchmarks and the demo type (259,778 transactions). */
export const TRACE_NAME = 'automerge-paper.json.gz'

/** The sequential traces. */
export const SEQUENTIAL_TRACES = ['automerge-paper.json.gz', 'seph-blog1.json.gz'] as const

/** `[position, deleteCount, insertText]`; positions count code points (all BMP here). */
export type Patch = [number, number, string]

/** A single-user trace. */
export interface SequentialTrace {
  startContent: string
  endContent: string
  txns: Array<{ patches: Patch[] }>
}

/** A multi-user trace: each transaction is relative to the merge of its parents. */
export interface ConcurrentTrace {
  endContent: string
  numAgents: number
  txns: Array<{ parents: number[]; agent: number; patches: Patch[] }>
}

/** The package root, once looked up (`null`: none above this module). */
let packageRoot: string | null | undefined

/** The nearest directory above this module holding a `package.json` named `starling`. */
function findPackageRoot(): string | null {
  if (packageRoot !== undefined) return packageRoot
  for (let dir = import.meta.dirname; ; dir = dirname(dir)) {
    const manifest = join(dir, 'package.json')
    if (existsSync(manifest) && isStarling(manifest)) return (packageRoot = dir)
    if (dirname(dir) === dir) return (packageRoot = null)
  }
}

/** Whether the `package.json` at `path` names Starling (an unreadable one does not). */
function isStarling(path: string): boolean {
  try {
    return (JSON.parse(readFileSync(path, 'utf8')) as { name?: unknown }).name === 'starling'
  } catch {
    return false
  }
}

/**
 * Directory of the traces: `STARLING_TRACES_DIR` when set, else
 * `<package root>/test/data/editing-traces`.
 */
export function tracesDir(): string {
  const fromEnv = process.env[TRACES_DIR_VARIABLE]
  if (fromEnv !== undefined && fromEnv !== '') return resolve(fromEnv)
  const root = findPackageRoot()
  if (root === null) {
    throw new Error(
      `no package.json named starling above ${import.meta.dirname}: ` +
        `set ${TRACES_DIR_VARIABLE} to the directory of the editing traces`,
    )
  }
  return resolve(root, TRACES_SUBDIR)
}

/** Reads and parses a trace by file name (relative to {@link tracesDir}), uncached. */
export function readTrace<T extends SequentialTrace | ConcurrentTrace>(name: string): T {
  return JSON.parse(gunzipSync(readFileSync(resolve(tracesDir(), name))).toString('utf8')) as T
}

const cache = new Map<string, unknown>()

/** Like {@link readTrace}, but parsed once per process. */
export function loadTrace<T extends SequentialTrace | ConcurrentTrace>(name: string): T {
  const path = resolve(tracesDir(), name)
  let trace = cache.get(path)
  if (trace === undefined) {
    trace = readTrace(name)
    cache.set(path, trace)
  }
  return trace as T
}

/** Applies one transaction's patches to anything with `insert`/`delete` (e.g. a Y.Text). */
export function applyPatches(
  text: { insert(i: number, s: string): void; delete(i: number, n: number): void },
  patches: Patch[],
): void {
  for (const [position, deleteCount, insert] of patches) {
    if (deleteCount > 0) text.delete(position, deleteCount)
    if (insert.length > 0) text.insert(position, insert)
  }
}

/**
 * A sequential trace, packed: patch `p` of transaction `t` is at
 * `txnStart[t] <= p < txnStart[t + 1]`. Typed arrays and one string rather than hundreds of
 * thousands of parsed JSON objects, which would make every major garbage collection slow.
 */
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

/** A fresh plain Y.Doc's text root (named like a store value's). */
export function plainText(): Y.Text {
  return new Y.Doc().getText(ROOT_NAME)
}
