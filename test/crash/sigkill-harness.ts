/**
 * The one real-process SIGKILL harness of the crash tests (docs/testing.md), used by
 * `wal-sigkill.test.ts` (through `wal-kill-cycles.ts`) and `store-sigkill.test.ts`. A child
 * program under test/crash is started with tsx; it loads, waits for a `go` line on stdin, then
 * reports what became durable, one line per fact, each written only after the fact. The parent
 * lets it run for a seeded time, kills it with SIGKILL and checks the disk against the reports.
 *
 * What is common lives here: starting a child and reading its line protocol (an unterminated last
 * line, cut by the kill, is never used; a line that does not parse is kept as garbage), the
 * release → run → SIGKILL step and its checks (the child became ready, died by the kill and not by
 * itself, wrote no garbage), and the cycle loop that starts the next child (node + tsx loading
 * takes most of its start-up) while the current one runs and is checked. The seed fixes the
 * schedule, not the outcome: where a kill lands depends on the machine, but every report the
 * harness gets is true, so any loss it finds is real.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { reproCommand } from '../support/property.js'

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url))

/** How a child ended. */
export interface ChildExit {
  code: number | null
  signal: NodeJS.Signals | null
}

/** Options of {@link spawnCrashChild}. */
export interface CrashChildOptions<R> {
  /** The child program (a TypeScript file, run through tsx from the repository root). */
  path: string
  args: readonly string[]
  /**
   * Handles one complete line of the child's stdout; calls `ready` on the line that says the
   * child runs. Returns false for a line that does not parse.
   */
  onLine(line: string, ready: (value: R) => void): boolean
}

/** A running child and what the harness read from it. */
export interface CrashChild<R> {
  readonly process: ChildProcess
  /** Resolves with the child's ready value; undefined if it died first. */
  readonly ready: Promise<R | undefined>
  /** Resolves when the child is gone and its output is read. */
  readonly closed: Promise<ChildExit>
  /** Lines that did not parse (must stay empty). */
  readonly garbage: string[]
  /** Writes `line` and a newline to the child's stdin. */
  send(line: string): void
  /** The last 4000 characters of the child's stderr. */
  stderr(): string
}

/** Starts a child program of the crash tests. */
export function spawnCrashChild<R>(options: CrashChildOptions<R>): CrashChild<R> {
  const args = ['--import', 'tsx', options.path, ...options.args]
  const child = spawn(process.execPath, args, { cwd: REPO_ROOT, stdio: ['pipe', 'pipe', 'pipe'] })
  const garbage: string[] = []
  let stderr = ''
  let onReady: (value: R | undefined) => void = () => undefined
  const ready = new Promise<R | undefined>((resolve) => (onReady = resolve))
  let rest = ''
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    const lines = (rest + chunk).split('\n')
    rest = lines.pop() ?? '' // an unterminated line (cut by the kill) is never used
    for (const line of lines)
      if (line.length > 0 && !options.onLine(line, onReady)) garbage.push(line)
  })
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-4000)
  })
  // A killed child's stdin may be gone already; writes to it must not crash the harness.
  child.stdin.on('error', () => undefined)
  const closed = new Promise<ChildExit>((resolve) =>
    child.on('close', (code, signal) => {
      onReady(undefined)
      resolve({ code, signal })
    }),
  )
  return {
    process: child,
    ready,
    closed,
    garbage,
    send: (line) => void child.stdin.write(`${line}\n`),
    stderr: () => stderr,
  }
}

/** Kills the child with SIGKILL (if still running) and waits until it is gone. */
export async function killChild(child: CrashChild<unknown>): Promise<ChildExit> {
  if (child.process.exitCode === null && child.process.signalCode === null)
    child.process.kill('SIGKILL')
  return child.closed
}

/** Longest wait for a released child to report ready. */
const READY_TIMEOUT_MS = 120_000

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

async function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: ReturnType<typeof setTimeout> | undefined
  const timeout = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), ms)
  })
  try {
    return await Promise.race([promise, timeout])
  } finally {
    clearTimeout(timer)
  }
}

/** What {@link releaseRunKill} saw. */
export interface KillOutcome<R> {
  /** The child's ready value; undefined when it never became ready (then `violations` says so). */
  ready: R | undefined
  /** The child never became ready, exited by itself, or wrote lines that do not parse. */
  violations: string[]
}

/**
 * One kill: sends `goLine`, waits for the child to be ready (at most two minutes), lets it run for
 * `runMs()` (drawn once it is ready), kills it with SIGKILL and checks how it died. The wait is
 * long because a loaded machine can take that long to start node, tsx and the child.
 */
export async function releaseRunKill<R>(
  child: CrashChild<R>,
  goLine: string,
  runMs: () => number,
): Promise<KillOutcome<R>> {
  child.send(goLine)
  const ready = await withTimeout(child.ready, READY_TIMEOUT_MS)
  if (ready === undefined) {
    const { code, signal } = await killChild(child)
    const exit = `exit ${String(code)} ${String(signal)}`
    return { ready, violations: [`the child never became ready (${exit}): ${child.stderr()}`] }
  }
  await sleep(runMs())
  const { code, signal } = await killChild(child)
  const violations: string[] = []
  if (signal !== 'SIGKILL')
    violations.push(`the child exited by itself (code ${String(code)}): ${child.stderr()}`)
  if (child.garbage.length > 0)
    violations.push(`unparsable report lines: ${child.garbage.slice(0, 3).join(' | ')}`)
  return { ready, violations }
}

/** Options of {@link runKillLoop}. */
export interface KillLoopOptions<C extends CrashChild<unknown>> {
  cycles: number
  /** Starts the child of cycle `cycle` (from 1), one cycle ahead of its use. */
  spawn(cycle: number): C
  /** Runs cycle `cycle` on its child (usually {@link releaseRunKill}, then a check of the disk). */
  cycle(child: C, cycle: number): Promise<void>
  /** Checked after each cycle: true ends the loop early. */
  stop?: () => boolean
}

/**
 * Runs the cycles one after another; the next child is started (and loads) while the current one
 * runs and is checked. Resolves the number of cycles run; no child outlives it.
 */
export async function runKillLoop<C extends CrashChild<unknown>>(
  options: KillLoopOptions<C>,
): Promise<number> {
  let next = options.spawn(1)
  let cycle = 1
  try {
    for (; cycle <= options.cycles; cycle++) {
      const child = next
      if (cycle < options.cycles) next = options.spawn(cycle + 1)
      await options.cycle(child, cycle)
      if (options.stop?.() === true) return cycle
    }
    return options.cycles
  } finally {
    await killChild(next)
  }
}

/** `STARLING_CRASH_CYCLES`, the number of kill cycles of a soak, or `fallback`. */
export function cyclesFromEnv(fallback: number): number {
  const text = process.env['STARLING_CRASH_CYCLES']
  if (text === undefined || text === '') return fallback
  const cycles = Number(text)
  if (!Number.isSafeInteger(cycles) || cycles < 1)
    throw new Error(`STARLING_CRASH_CYCLES must be a positive integer, got ${text}`)
  return cycles
}

/** The one-line reproduction of a crash test file's run: its seed, and its cycles if not the default. */
export function crashRepro(
  fileUrl: string,
  seed: number,
  cycles: number,
  defaultCycles: number,
): string {
  const repro = reproCommand(fileUrl, seed)
  if (cycles === defaultCycles) return repro
  return repro.replace('STARLING_SEED=', `STARLING_CRASH_CYCLES=${cycles} $&`)
}
