/** Assertions about thrown errors, shared by tests. */
import { expect } from 'vitest'

/** Runs `fn` and returns the error it throws (fails the test when nothing is thrown). */
export function thrown(fn: () => unknown): unknown {
  try {
    fn()
  } catch (error) {
    return error
  }
  throw new Error('expected a throw, nothing was thrown')
}

/** Expects `fn` to throw a `TypeError` with code `INVALID_ARGUMENT` (programmer misuse). */
export function expectInvalidArgument(fn: () => unknown): void {
  const error = thrown(fn)
  expect(error).toBeInstanceOf(TypeError)
  expect((error as { code?: unknown }).code).toBe('INVALID_ARGUMENT')
}
