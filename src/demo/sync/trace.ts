/**
 * The editing trace `starling demo` types: automerge-paper, shipped in `test/data/editing-traces`,
 * loaded and typed with the helpers the benchmarks use (one loader for both). A prefix of it can be
 * typed instead (`--edits`); its expected final text is then computed with plain Yjs.
 */
import { join } from 'node:path'
import type * as Y from 'yjs'
import {
  packTrace,
  plainText,
  readTrace,
  tracesDir,
  typeTxns,
  TRACE_NAME,
  TRACES_DIR_VARIABLE,
  type SequentialTrace,
  type Trace,
} from '../../testing/traces.js'
import { CliError, UsageError } from '../../cli/args.js'

/** The trace as the demo uses it. */
export interface DemoTrace {
  name: string
  /** Edits (trace transactions) to type. */
  edits: number
  /** Types edits `[from, to)` into `text`, one Yjs transaction per edit. */
  typeTxns(text: Y.Text, from: number, to: number): void
  /** The text after `edits` edits. */
  expected(): string
}

/** Loads the trace; `edits` limits the demo to a prefix of it. */
export function loadDemoTrace(edits: number | undefined): DemoTrace {
  let trace: Trace
  try {
    trace = packTrace(readTrace<SequentialTrace>(TRACE_NAME))
  } catch (error) {
    const code = (error as { code?: unknown }).code
    if (code !== 'ENOENT') throw error
    throw new CliError(
      `the demo types the editing trace shipped with Starling: ${join(tracesDir(), TRACE_NAME)} ` +
        `not found (set ${TRACES_DIR_VARIABLE} to the directory of the editing traces)`,
      'TRACE_MISSING',
    )
  }
  if (edits !== undefined && edits > trace.txnCount)
    throw new UsageError(`option --edits must be at most ${trace.txnCount}, got ${edits}`)
  const count = edits ?? trace.txnCount
  return {
    name: TRACE_NAME.replace(/\.json\.gz$/, ''),
    edits: count,
    typeTxns: (text, from, to) => typeTxns(text, trace, from, to),
    expected() {
      if (count === trace.txnCount) return trace.endContent
      const text = plainText()
      typeTxns(text, trace, 0, count)
      const content = text.toJSON()
      text.doc?.destroy()
      return content
    },
  }
}
