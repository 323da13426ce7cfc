/**
 * Named limits of the policy layer (I8 in docs/guarantees.md). They live here rather than in `src/core/limits.ts`
 * because only this layer uses them. Units are last in the names.
 */

const KiB = 1024
const MiB = 1024 * KiB

/** Limits of register values, custom policies, resolver checks and the conflict log. */
export const POLICY_LIMITS = {
  /** Deepest nesting of arrays and objects in a stored value (a bare scalar has depth 0). */
  valueDepthMax: 64,
  /** Largest stored value, measured as the UTF-8 bytes of its JSON text. */
  valueBytesMax: 1 * MiB,
  /** Longest name of a custom policy. */
  customNameLengthMax: 64,
  /** Default number of entries a conflict log keeps (the oldest are dropped first). */
  conflictLogEntriesDefault: 1_000,
  /** Largest conflict log a caller may ask for. */
  conflictLogEntriesMax: 1_000_000,
  /** Sibling sets up to this size are checked on every permutation by the purity checker. */
  purityExhaustiveSiblingsMax: 5,
  /** Random permutations the purity checker tries on larger sibling sets. */
  purityRandomPermutations: 64,
  /** Fewest resolver calls the purity checker makes (permutations are repeated to reach it). */
  purityCallsMin: 16,
} as const
