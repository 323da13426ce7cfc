/**
 * Runs async sections one at a time, in call order (a promise-chain mutex). A failing section
 * rejects its own caller only; the next one still runs.
 */
export class Serial {
  #tail: Promise<unknown> = Promise.resolve()

  /** Runs `fn` after every section started before it has settled. */
  run<T>(fn: () => Promise<T> | T): Promise<T> {
    const result = this.#tail.then(fn, fn)
    this.#tail = result.catch(() => undefined)
    return result
  }
}
