/**
 * What `starling demo` shows while it runs: progress bars (edits typed on alpha, acknowledged by
 * beta and by gamma) and each node's sync status (state, pending records, age of the oldest
 * unacknowledged record, per-peer lag). On a terminal the block is redrawn in place; elsewhere
 * (CI, a pipe) a plain line is printed every few seconds. Events (gamma going offline, catching
 * up) are printed as lines of their own in both modes.
 */
import type { SyncStatus } from '../../sync/node.js'
import type { CliIo } from '../../cli/args.js'

/** A moment of the demo, as shown. */
export interface DemoSnapshot {
  elapsedMs: number
  edits: number
  typed: number
  /** Edits acknowledged (durable) per peer other than alpha, with whether it is linked. */
  acked: { name: string; edits: number; online: boolean }[]
  statuses: { name: string; status: SyncStatus }[]
}

/** How the progress is drawn. */
export type ViewMode = 'live' | 'lines' | 'quiet'

/** Redraws (live) or prints (lines) snapshots and events. */
export interface DemoView {
  /** Shows a snapshot (throttled: live at most every 100 ms, lines every few seconds). */
  update(snapshot: DemoSnapshot, force?: boolean): void
  /** Prints an event line (above the live block). */
  event(text: string): void
  /** Removes the live block (the final snapshot stays printed as lines). */
  stop(snapshot: DemoSnapshot): void
}

const BAR_WIDTH = 30
const LIVE_INTERVAL_MS = 100
const LINES_INTERVAL_MS = 2_000

const count = (n: number): string => n.toLocaleString('en-US')
const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)} s`

/** A bar of `done / total` in {@link BAR_WIDTH} cells. */
export function formatBar(done: number, total: number): string {
  const filled = total <= 0 ? BAR_WIDTH : Math.round((Math.min(done, total) / total) * BAR_WIDTH)
  return `[${'█'.repeat(filled)}${'░'.repeat(BAR_WIDTH - filled)}]`
}

function percent(done: number, total: number): string {
  return `${total <= 0 ? 100 : Math.floor((Math.min(done, total) / total) * 100)}%`.padStart(4)
}

/** The per-peer lag of a status: `beta 3, gamma —` (— when not connected). */
export function formatLag(status: SyncStatus, others: readonly string[]): string {
  return others
    .map((name) => {
      const peer = status.peers.find((p) => p.peer === name && p.open)
      return `${name} ${peer === undefined ? '—' : count(peer.behind)}`
    })
    .join(', ')
}

/** One node's status line (at most about 76 columns). */
export function formatStatus(name: string, status: SyncStatus, others: readonly string[]): string {
  return (
    `${name.padEnd(6)} ${status.state.padEnd(10)} pending ${count(status.pending).padStart(6)}` +
    `  oldest ${count(Math.round(status.oldestUnackedMs)).padStart(6)} ms` +
    `  lag ${formatLag(status, others)}`
  )
}

/** The live block: three bars and a status line per node. */
export function formatBlock(s: DemoSnapshot): string[] {
  const total = `${count(s.typed).padStart(9)} / ${count(s.edits)}`
  const lines = [
    `  typed on alpha  ${formatBar(s.typed, s.edits)} ${total} ${percent(s.typed, s.edits)}`,
  ]
  for (const peer of s.acked) {
    const label = `acked by ${peer.name}`.padEnd(15)
    const state = peer.online ? '' : '  (offline)'
    lines.push(
      `  ${label} ${formatBar(peer.edits, s.edits)} ${count(peer.edits).padStart(9)}` +
        `${' '.repeat(count(s.edits).length + 3)} ${percent(peer.edits, s.edits)}${state}`,
    )
  }
  const names = s.statuses.map((x) => x.name)
  for (const { name, status } of s.statuses)
    lines.push(
      `  ${formatStatus(
        name,
        status,
        names.filter((other) => other !== name),
      )}`,
    )
  lines.push(`  elapsed ${seconds(s.elapsedMs)}`)
  return lines
}

/** The plain periodic line. */
export function formatLine(s: DemoSnapshot): string {
  const acked = s.acked
    .map((p) => `${p.name} ${count(p.edits)}${p.online ? '' : ' (offline)'}`)
    .join(', ')
  const states = s.statuses
    .map(({ name, status }) => {
      const others = s.statuses.map((x) => x.name).filter((other) => other !== name)
      return (
        `${name} ${status.state} pending ${count(status.pending)} oldest ` +
        `${Math.round(status.oldestUnackedMs)} ms lag ${formatLag(status, others)}`
      )
    })
    .join(' | ')
  return (
    `  ${seconds(s.elapsedMs).padStart(7)}  typed ${count(s.typed)}/${count(s.edits)} ` +
    `(${percent(s.typed, s.edits).trim()})  acked: ${acked}\n           ${states}\n`
  )
}

/**
 * Creates the view for `mode`, writing to `io`; live lines are cut at `columns` (a wrapped line
 * would break redrawing in place).
 */
export function createDemoView(io: CliIo, mode: ViewMode, columns = 100): DemoView {
  let drawn = 0
  let lastMs = Number.NEGATIVE_INFINITY
  const clear = (): void => {
    if (drawn > 0) io.out(`\x1b[${drawn}A\r\x1b[J`)
    drawn = 0
  }
  const draw = (snapshot: DemoSnapshot): void => {
    const lines = formatBlock(snapshot).map((line) => line.slice(0, Math.max(20, columns - 1)))
    clear()
    io.out(lines.map((line) => `${line}\x1b[K\n`).join(''))
    drawn = lines.length
  }
  return {
    update(snapshot, force = false) {
      if (mode === 'quiet') return
      const interval = mode === 'live' ? LIVE_INTERVAL_MS : LINES_INTERVAL_MS
      if (!force && snapshot.elapsedMs - lastMs < interval) return
      lastMs = snapshot.elapsedMs
      if (mode === 'live') draw(snapshot)
      else io.out(formatLine(snapshot))
    },
    event(text) {
      if (mode === 'quiet') return
      const redraw = drawn > 0
      clear()
      io.out(`  ${text}\n`)
      if (redraw) lastMs = Number.NEGATIVE_INFINITY
    },
    stop(snapshot) {
      if (mode === 'quiet') return
      if (mode === 'live') {
        clear()
        io.out(formatBlock(snapshot).join('\n') + '\n')
      } else io.out(formatLine(snapshot))
    },
  }
}
