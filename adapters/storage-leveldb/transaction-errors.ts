/**
 * y-leveldb runs every operation through its private `_transact`, which catches any error, reports
 * it with `console.warn('Error during y-leveldb transaction', error)` and resolves `null`. The
 * adapter detects failure by that `null`; this module recovers the error itself, as the `cause`
 * of the typed error, and keeps the warning off the console.
 *
 * While at least one y-leveldb call of any adapter is in flight, `console.warn` is replaced by a
 * filter, and restored when the last call settles. The filter takes only y-leveldb's transaction
 * warnings made inside a call started by {@link captureTransactionErrors} (found through
 * `AsyncLocalStorage`, so concurrent adapters each get their own errors); every other warning
 * goes to the original `console.warn` unchanged.
 */
import { AsyncLocalStorage } from 'node:async_hooks'

/** The first argument y-leveldb passes to `console.warn` when a transaction fails. */
export const TRANSACTION_WARNING = 'Error during y-leveldb transaction'

const sinks = new AsyncLocalStorage<unknown[]>()
let callsInFlight = 0
/** The filter now installed and the `console.warn` it forwards to. */
let installed: { filter: typeof console.warn; forward: typeof console.warn } | undefined

function installFilter(): void {
  if (callsInFlight++ > 0) return
  // A fresh closure per installation, bound to what it replaced: forwarding can never loop,
  // even when someone else wrapped an earlier filter.
  const forward = console.warn
  const filter = (...args: unknown[]): void => {
    const sink = sinks.getStore()
    if (sink !== undefined && args[0] === TRANSACTION_WARNING) sink.push(args[1])
    else forward.apply(console, args)
  }
  installed = { filter, forward }
  console.warn = filter
}

function removeFilter(): void {
  if (--callsInFlight > 0) return
  // Restore only if nobody replaced the filter meanwhile; otherwise it stays in their chain,
  // where it forwards everything (no call is in flight).
  if (installed !== undefined && console.warn === installed.filter) console.warn = installed.forward
  installed = undefined
}

/** The result of a y-leveldb call and the errors its transactions reported. */
export interface CapturedCall<T> {
  value: T
  errors: unknown[]
}

/**
 * Runs `call` (one or more y-leveldb calls) and returns its result with the errors y-leveldb's
 * transactions swallowed while running it, in order.
 */
export async function captureTransactionErrors<T>(
  call: () => Promise<T>,
): Promise<CapturedCall<T>> {
  const errors: unknown[] = []
  installFilter()
  try {
    const value = await sinks.run(errors, call)
    return { value, errors }
  } finally {
    removeFilter()
  }
}
