import fc from 'fast-check'
import { afterEach, describe, expect, it, vi } from 'vitest'

import { assertProperty, FUZZ, reproCommand } from '../support/property.js'

const FUZZ_ENV = FUZZ ? ' STARLING_FUZZ=1' : ''

describe('assertProperty', () => {
  afterEach(() => {
    vi.unstubAllEnvs()
  })

  it('passes a property that holds', () => {
    assertProperty(
      import.meta.url,
      fc.property(fc.nat(), (n) => n >= 0),
    )
  })

  it('rethrows a failure with the seed and a one-line repro command', () => {
    vi.stubEnv('STARLING_SEED', '4242')
    const failing = fc.property(fc.nat(), (n) => n < 10)
    let message = ''
    try {
      assertProperty(import.meta.url, failing)
    } catch (error) {
      message = (error as Error).message
    }
    expect(message).toContain('seed: 4242')
    expect(message).toContain(
      `Reproduce: STARLING_SEED=4242${FUZZ_ENV} npx vitest run test/unit/property-support.test.ts`,
    )
  })

  it('generates the same values for the same seed', () => {
    vi.stubEnv('STARLING_SEED', '99')
    const seen: number[][] = []
    for (let run = 0; run < 2; run++) {
      const values: number[] = []
      assertProperty(
        import.meta.url,
        fc.property(fc.integer(), (n) => void values.push(n)),
        { numRuns: 20, fuzzRuns: 20 },
      )
      seen.push(values)
    }
    expect(seen[0]).toEqual(seen[1])
    expect(seen[0]).toHaveLength(20)
  })

  it('names the file relative to the working directory', () => {
    expect(reproCommand(import.meta.url, 7)).toBe(
      `Reproduce: STARLING_SEED=7${FUZZ_ENV} npx vitest run test/unit/property-support.test.ts`,
    )
  })
})
