/**
 * What one incarnation of a peer holds durably of each other node's log, tracked from outside the
 * sync engine, for the ack oracle (I3: an ack means "durable here"). An ack of cursor c from P to
 * N is legitimate only if, when it is sent, P's log holds durably a remote record from N whose
 * cursor is ≥ c, or P's cursor reached c by skipping batches whose content it already held, or
 * P opened with that cursor (everything recovered at open came from its disk).
 *
 * Remote records are tracked as they are appended (the WAL's `append` is observed, the payload
 * decoded) and count once their LSN is within the WAL's durable LSN. Skips are observed on
 * `applyRemote`'s result. Observation only: neither changes what the store does.
 */
import type { NodeId } from '../../core/ids.js'
import { REMOTE_RECORD_TYPE, decodeRemoteRecord } from '../../store/remote.js'
import { storeInternalsOf } from '../../store/internals.js'
import type { Store } from '../../store/store.js'
import { syncPortOf, type RemoteApplyResult } from '../../store/sync-port.js'

interface Appended {
  sender: NodeId
  cursor: number
  lsn: number
}

/** Durable cursors of one store incarnation on other nodes' logs (see the module comment). */
export class DurableCursors {
  readonly #baseline: ReadonlyMap<NodeId, number>
  readonly #appended = new Map<NodeId, Appended[]>()
  readonly #skipped = new Map<NodeId, number>()
  readonly #store: Store
  /** Local (store) records appended, and remote records appended for log batches. */
  localRecords = 0
  relayedRecords = 0
  /** Catch-up batches applied (their records are bounded by the catch-up rounds). */
  catchUpBatches = 0

  constructor(store: Store) {
    this.#store = store
    this.#baseline = new Map(storeInternalsOf(store).ledger.inbound)
    this.#observeAppends(store)
    this.#observeApplies(store)
  }

  /** How far this incarnation durably holds `sender`'s log right now. */
  durableCursor(sender: NodeId): number {
    let cursor = Math.max(this.#baseline.get(sender) ?? 0, this.#skipped.get(sender) ?? 0)
    const durableLsn = storeInternalsOf(this.#store).wal.durableLsn
    for (const record of this.#appended.get(sender) ?? []) {
      if (record.lsn <= durableLsn) cursor = Math.max(cursor, record.cursor)
    }
    return cursor
  }

  #observeAppends(store: Store): void {
    const wal = storeInternalsOf(store).wal
    const append = wal.append.bind(wal)
    wal.append = (...args) => {
      const [payload, type] = args
      const result = append(...args)
      if (type === REMOTE_RECORD_TYPE) {
        const { sender, cursor } = decodeRemoteRecord(payload)
        // Registered before the store awaits the append, so it runs before the store goes on.
        result.then(
          (lsn) => this.#noteAppended({ sender, cursor, lsn }),
          () => undefined,
        )
      } else {
        result.then(
          () => void this.localRecords++,
          () => undefined,
        )
      }
      return result
    }
  }

  #noteAppended(record: Appended): void {
    let list = this.#appended.get(record.sender)
    if (list === undefined) this.#appended.set(record.sender, (list = []))
    list.push(record)
  }

  #observeApplies(store: Store): void {
    const port = syncPortOf(store)
    const applyRemote = port.applyRemote.bind(port)
    port.applyRemote = (...args) => {
      const [batch] = args
      const result = applyRemote(...args)
      result.then(
        (outcome: RemoteApplyResult) => {
          if (outcome.lsn !== undefined) {
            if (batch.fromLsn === undefined) this.catchUpBatches++
            else this.relayedRecords++
          } else if (!outcome.gap) {
            // Nothing was new: the store moved its cursor in memory over content it holds.
            const before = this.#skipped.get(batch.sender) ?? 0
            this.#skipped.set(batch.sender, Math.max(before, batch.cursor))
          }
        },
        () => undefined,
      )
      return result
    }
  }
}
