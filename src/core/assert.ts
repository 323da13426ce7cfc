/**
 * Invariant assertions. They stay on in production: a broken invariant in a durable store must
 * stop the operation, never continue silently.
 */

/** Thrown when an internal invariant does not hold. This is always a bug in Starling. */
export class AssertionFailure extends Error {
  constructor(message: string) {
    super(`Starling invariant violated: ${message}`)
    this.name = 'AssertionFailure'
  }
}

/** Asserts an internal invariant. */
export function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new AssertionFailure(message)
}

/** Marks a branch that cannot be reached when the types are right. */
export function unreachable(value: never): never {
  throw new AssertionFailure(`unreachable: ${String(value)}`)
}
