/** The editing traces of ../shared/data/editing-traces (see its README). */
import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { gunzipSync } from 'node:zlib'

/** Directory of the traces. */
export const TRACES_DIR = resolve(import.meta.dirname, '../../../shared/data/editing-traces')

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

const cache = new Map<string, unknown>()

/** Loads a trace by file name (relative to {@link TRACES_DIR}). */
export function loadTrace<T extends SequentialTrace | ConcurrentTrace>(name: string): T {
  let trace = cache.get(name)
  if (trace === undefined) {
    trace = JSON.parse(gunzipSync(readFileSync(resolve(TRACES_DIR, name))).toString('utf8'))
    cache.set(name, trace)
  }
  return trace as T
}

/** The sequential traces. */
export const SEQUENTIAL_TRACES = ['automerge-paper.json.gz', 'seph-blog1.json.gz'] as const

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
