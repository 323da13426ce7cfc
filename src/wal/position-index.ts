/**
 * The read index of a segment: a sparse map from LSN to the file offset of its record, so that
 * `wal.read(from)` starts near `from` instead of at the start of the segment (docs/ARCHITECTURE.md,
 * "Reading and truncation"). Built while recovery validates a segment and while the writer
 * assigns records to the tail; never read from disk, so it cannot be damaged there.
 *
 * Memory is bounded (I8 in docs/guarantees.md): an entry is kept only for a record that starts at
 * least `strideBytes` after the previous entry, so a segment of `size` bytes holds at most
 * `size / strideBytes + 1` entries.
 */

/** A position in a segment: the record with LSN `lsn` starts at byte `offset`. */
export interface IndexEntry {
  lsn: number
  offset: number
}

/** Sparse LSN → offset index of one segment, entries in increasing LSN and offset. */
export class PositionIndex {
  #lsns: number[] = []
  #offsets: number[] = []

  constructor(readonly strideBytes: number) {}

  /** Entries kept. */
  get size(): number {
    return this.#lsns.length
  }

  /**
   * Notes that record `lsn` starts at `offset`. Records must be noted in LSN order; an entry is
   * kept for the first record and then for each record at least `strideBytes` past the last one.
   */
  note(lsn: number, offset: number): void {
    const last = this.#offsets.length - 1
    if (last >= 0 && offset - (this.#offsets[last] as number) < this.strideBytes) return
    this.#lsns.push(lsn)
    this.#offsets.push(offset)
  }

  /** The entry with the greatest LSN ≤ `lsn`, or undefined when every entry is after it. */
  floor(lsn: number): IndexEntry | undefined {
    const at = this.#lastAtOrBelow(lsn)
    if (at < 0) return undefined
    return { lsn: this.#lsns[at] as number, offset: this.#offsets[at] as number }
  }

  /** The first entry with an LSN > `lsn`, or undefined when there is none. */
  after(lsn: number): IndexEntry | undefined {
    const at = this.#lastAtOrBelow(lsn) + 1
    if (at >= this.#lsns.length) return undefined
    return { lsn: this.#lsns[at] as number, offset: this.#offsets[at] as number }
  }

  /** Index of the last entry with an LSN ≤ `lsn`, −1 when none (binary search). */
  #lastAtOrBelow(lsn: number): number {
    let low = 0
    let high = this.#lsns.length - 1
    while (low <= high) {
      const mid = (low + high) >>> 1
      if ((this.#lsns[mid] as number) <= lsn) low = mid + 1
      else high = mid - 1
    }
    return high
  }
}
