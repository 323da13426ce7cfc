/**
 * One cold reopen measurement, run by `store-reopen.ts` in a fresh Node process (an app reopens
 * its store at startup: small heap, cold code). Modules load and input files are read before the
 * clock starts; the result is one JSON line on stdout.
 *
 *   store-reopen-child.ts store <store dir> <expected text file>
 *   store-reopen-child.ts yjs-state <encoded state file> <expected text file>
 *   store-reopen-child.ts yjs-updates <packed updates file> <expected text file>
 */
import { readFileSync } from 'node:fs'
import * as decoding from 'lib0/decoding'
import * as Y from 'yjs'
import { createStore } from '../src/index.js'
import { nowMs } from './stats.js'
import { ROOT_NAME, TEXT_KEY, TEXT_POLICIES } from './store-support.js'

/** What the child prints. */
export interface ChildResult {
  ms: number
  /** What the store's open replayed (store runs only). */
  replayedRecords?: number | undefined
  replayedUpdates?: number | undefined
}

/** Times `createStore` + `load` + reading the text; closes without changing the directory. */
async function timeStore(dir: string): Promise<{ result: ChildResult; text: string }> {
  const started = nowMs()
  const store = await createStore({ path: dir, policies: TEXT_POLICIES })
  await store.load(TEXT_KEY)
  const text = store.text(TEXT_KEY).toJSON()
  const ms = nowMs() - started
  const report = store.openReport
  await store.close({ checkpoint: false })
  const replayed = {
    replayedRecords: report?.replayedRecords,
    replayedUpdates: report?.replayedUpdates,
  }
  return { result: { ms, ...replayed }, text }
}

/** Times applying one encoded state to a fresh doc and reading the text. */
function timeYjsState(state: Uint8Array): { result: ChildResult; text: string } {
  const started = nowMs()
  const doc = new Y.Doc()
  Y.applyUpdate(doc, state)
  const text = doc.getText(ROOT_NAME).toJSON()
  return { result: { ms: nowMs() - started }, text }
}

/** Times applying the packed updates in one transaction to a fresh doc and reading the text. */
function timeYjsUpdates(packed: Uint8Array): { result: ChildResult; text: string } {
  const decoder = decoding.createDecoder(packed)
  const updates: Uint8Array[] = []
  while (decoding.hasContent(decoder)) updates.push(decoding.readVarUint8Array(decoder))
  const started = nowMs()
  const doc = new Y.Doc()
  doc.transact(() => {
    for (const update of updates) Y.applyUpdate(doc, update)
  })
  const text = doc.getText(ROOT_NAME).toJSON()
  return { result: { ms: nowMs() - started }, text }
}

async function measure(
  mode: string,
  input: string,
): Promise<{ result: ChildResult; text: string }> {
  if (mode === 'store') return timeStore(input)
  if (mode === 'yjs-state') return timeYjsState(readFileSync(input))
  if (mode === 'yjs-updates') return timeYjsUpdates(readFileSync(input))
  throw new Error(`unknown mode ${mode}`)
}

async function main(argv: readonly string[]): Promise<void> {
  const [mode = '', input = '', expectedFile = ''] = argv
  const expected = readFileSync(expectedFile, 'utf8')
  const { result, text } = await measure(mode, input)
  if (text !== expected) throw new Error(`${mode}: text differs from the expected content`)
  process.stdout.write(JSON.stringify(result) + '\n')
}

await main(process.argv.slice(2))
