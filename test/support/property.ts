/**
 * Seeded property runs (docs/testing.md): every run takes its seed from `STARLING_SEED` (or a fresh
 * one), runs a small budget by default and a large one with `STARLING_FUZZ=1`, and on failure
 * rethrows with a one-line command that replays the run.
 */
import { relative } from 'node:path'
import { fileURLToPath } from 'node:url'

import fc from 'fast-check'
import { seedFromEnv } from '../../src/core/random.js'

/** True when the large randomized budget was asked for (`STARLING_FUZZ=1`). */
export const FUZZ = process.env['STARLING_FUZZ'] === '1'

/** Budget of one property run. */
export interface PropertyBudget {
  /** Runs in a normal `npm test` (default 200). */
  readonly numRuns?: number
  /** Runs under `STARLING_FUZZ=1` (default 100 × `numRuns`). */
  readonly fuzzRuns?: number
}

/** The command that replays a failed run of the calling test file with `seed` (and budget). */
export function reproCommand(fileUrl: string, seed: number): string {
  const file = relative(process.cwd(), fileURLToPath(fileUrl))
  const fuzz = FUZZ ? ' STARLING_FUZZ=1' : ''
  return `Reproduce: STARLING_SEED=${seed}${fuzz} npx vitest run ${file}`
}

function budgetRuns(budget: PropertyBudget): number {
  const numRuns = budget.numRuns ?? 200
  return FUZZ ? (budget.fuzzRuns ?? numRuns * 100) : numRuns
}

function withRepro(fileUrl: string, seed: number, error: unknown): Error {
  const message = error instanceof Error ? error.message : String(error)
  return new Error(`${message}\n${reproCommand(fileUrl, seed)}`, { cause: error })
}

/**
 * Runs a fast-check property with a printed seed. `fileUrl` is the caller's `import.meta.url`.
 */
export function assertProperty<Ts>(
  fileUrl: string,
  property: fc.IProperty<Ts>,
  budget: PropertyBudget = {},
): void {
  const seed = seedFromEnv()
  try {
    fc.assert(property, { seed, numRuns: budgetRuns(budget) })
  } catch (error) {
    throw withRepro(fileUrl, seed, error)
  }
}

/** {@link assertProperty} for async properties (`fc.asyncProperty`). */
export async function assertAsyncProperty<Ts>(
  fileUrl: string,
  property: fc.IAsyncProperty<Ts>,
  budget: PropertyBudget = {},
): Promise<void> {
  const seed = seedFromEnv()
  try {
    await fc.assert(property, { seed, numRuns: budgetRuns(budget) })
  } catch (error) {
    throw withRepro(fileUrl, seed, error)
  }
}
