import { invalidArgument } from './errors.js'

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

/**
 * Typed events over one {@link Listeners} set per event: `Events` maps each event name to the
 * value its listeners receive, so `on(name, listener)` checks the listener against that name's
 * value type without overloads or casts.
 */
export class Emitter<Events> {
  readonly #byEvent: { readonly [K in keyof Events]: Listeners<Events[K]> }

  /** Takes the listener set of every event (the owner keeps them to emit on). */
  constructor(byEvent: { readonly [K in keyof Events]: Listeners<Events[K]> }) {
    this.#byEvent = byEvent
  }

  /**
   * Adds a listener for `event`; returns the function that removes it. An event name outside the
   * map (a caller without types) is an `INVALID_ARGUMENT` error.
   */
  on<K extends keyof Events>(event: K, listener: (value: Events[K]) => void): () => void {
    if (!Object.hasOwn(this.#byEvent, event)) {
      throw invalidArgument(`on: unknown event ${String(event)}`)
    }
    return this.#byEvent[event].add(listener)
  }
}
