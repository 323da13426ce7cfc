/** Test helpers for byte arrays. */
import { expect } from 'vitest'

/**
 * Makes `toEqual` compare Uint8Arrays as bytes: vitest's element-wise deep equality takes seconds
 * on a payload of a few MiB. Call once at the top of a test file.
 */
export function compareBytesAsBytes(): void {
  expect.addEqualityTesters([
    (a: unknown, b: unknown) =>
      a instanceof Uint8Array && b instanceof Uint8Array
        ? Buffer.from(a.buffer, a.byteOffset, a.length).equals(b)
        : undefined,
  ])
}
