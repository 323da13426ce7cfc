/** What opening a store found (see `Store.openReport`). */
import type { RecoveryReport } from '../wal/index.js'
import type { QuarantinedUpdate } from './quarantine.js'

/** What opening the store found (docs/guarantees.md, "Damage and repair"). */
export interface OpenReport {
  checkpointLsn: number
  replayedRecords: number
  replayedUpdates: number
  walRecovery: RecoveryReport
  /** Logged updates that cannot be applied: skipped, not replayed (docs/guarantees.md I10). */
  quarantined: QuarantinedUpdate[]
  /**
   * The WAL ended before the checkpoint LSN (deleted, cut, or repaired): nothing the checkpoint
   * holds was lost, and the log continues at `startLsn`, after every LSN this store handed out,
   * so peers' cursors on it stay valid. Its old segments are kept as `supersededFiles`.
   */
  walRestarted: { walEndedAtLsn: number; startLsn: number; supersededFiles: string[] } | null
  /**
   * Records after the checkpoint that are gone (only a repair opens with any): LSNs `fromLsn`
   * through `toLsn`, the newest LSN found in the damaged files (records the damage destroyed
   * whole cannot be counted). Records before the checkpoint are never lost: it holds them.
   */
  lost: { fromLsn: number; toLsn: number } | null
  /**
   * The storage was damaged and repaired at open (`repair: true`), keeping what was readable;
   * the whole WAL, from `walReplayedFromLsn`, was replayed over it. `complete`: the WAL held
   * every record since the store was created, so nothing checkpointed is missing.
   */
  storageRepaired: {
    files: string[]
    messages: string[]
    walReplayedFromLsn: number
    complete: boolean
  } | null
}
