/**
 * A set of event listeners. Listeners often run inside someone else's callback (a Yjs update
 * handler, a transport event): one that throws is reported to `onError`, never propagated.
 */
export class Listeners<T> {
  readonly #set = new Set<(value: T) => void>()

  /** Adds a listener; returns the function that removes it. */
  add(listener: (value: T) => void): () => void {
    this.#set.add(listener)
    return () => this.#set.delete(listener)
  }

  /** Calls every listener with `value`; a throwing one goes to `onError` (or is dropped). */
  emit(value: T, onError?: (error: unknown) => void): void {
    for (const listener of this.#set) {
      try {
        listener(value)
      } catch (error) {
        // An error listener that throws has nowhere left to report to.
        if (onError !== undefined) onError(error)
      }
    }
  }
}
