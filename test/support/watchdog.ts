/**
 * A test that never yields — an endless loop of resolved promises, say — blocks its worker's event
 * loop, so no timeout of the runner can fire, and the whole suite waits forever. This setup file
 * (see `vitest.config.ts`) turns such a hang into a failure: a heartbeat counted by the event
 * loop every second, watched from a separate thread; when it stops for `STARLING_HANG_MS`
 * (default 60 s, 30 min with `STARLING_FUZZ=1`), the watcher prints the running test's name and
 * kills the worker process, which the runner reports as a failed file.
 */
import { Worker } from 'node:worker_threads'
import { beforeEach } from 'vitest'

/** 60 s; 30 min under `STARLING_FUZZ=1`, whose budgets run exhaustive checks for minutes. */
const HANG_MS =
  Number(process.env['STARLING_HANG_MS'] ?? '') ||
  (process.env['STARLING_FUZZ'] === '1' ? 30 * 60_000 : 60_000)
const NAME_BYTES = 1024

interface Watch {
  /** [0]: heartbeats so far, one a second (a count, not a time: mocked clocks cannot fool it). */
  beat: Int32Array
  /** [0]: name length; bytes from 4: the running test's name (UTF-8). */
  name: Uint8Array
}

const KEY = Symbol.for('starling.test.watchdog')
const holder = globalThis as typeof globalThis & { [KEY]?: Watch }

function arm(): Watch {
  const beat = new Int32Array(new SharedArrayBuffer(4))
  const name = new Uint8Array(new SharedArrayBuffer(4 + NAME_BYTES))
  setInterval(() => void Atomics.add(beat, 0, 1), 1_000).unref()
  const watcher = new Worker(
    `
const { workerData } = require('node:worker_threads')
const { writeSync } = require('node:fs')
const beat = new Int32Array(workerData.beat)
const name = new Uint8Array(workerData.name)
let last = Atomics.load(beat, 0)
let silentMs = 0
setInterval(() => {
  const now = Atomics.load(beat, 0)
  silentMs = now === last ? silentMs + 1000 : 0
  last = now
  if (silentMs < workerData.hangMs) return
  const length = new DataView(name.buffer).getUint32(0, true)
  const test = Buffer.from(name.subarray(4, 4 + length)).toString('utf8')
  writeSync(2, '\\nwatchdog: the event loop has been blocked for ' + silentMs + ' ms in "' + test +
    '" (a loop that never yields?); killing the test worker (STARLING_HANG_MS=' + workerData.hangMs + ')\\n')
  process.kill(process.pid, 'SIGKILL')
}, 1000)
`,
    { eval: true, workerData: { beat: beat.buffer, name: name.buffer, hangMs: HANG_MS } },
  )
  watcher.unref()
  return { beat, name }
}

const watch = (holder[KEY] ??= arm())

beforeEach((context) => {
  const full = `${context.task.file?.name ?? '?'} > ${context.task.name}`
  const bytes = new TextEncoder().encode(full).subarray(0, NAME_BYTES)
  watch.name.set(bytes, 4)
  new DataView(watch.name.buffer).setUint32(0, bytes.length, true)
  Atomics.add(watch.beat, 0, 1)
})
