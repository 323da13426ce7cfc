import { describe, expect, it } from 'vitest'

import {
  ERROR_CODES,
  invalidArgument,
  isStarlingError,
  StarlingError,
} from '../../src/core/errors.js'
import { isNodeId, LSN_MAX, toLsn, toNodeId, toPeerId } from '../../src/core/ids.js'

describe('StarlingError', () => {
  it('carries a stable code, message, details and name', () => {
    const error = new StarlingError('WAL_CORRUPTION', 'bad record', { segment: 3, offset: 128 })
    expect(error).toBeInstanceOf(Error)
    expect(error.name).toBe('StarlingError')
    expect(error.code).toBe('WAL_CORRUPTION')
    expect(error.message).toBe('bad record')
    expect(error.details).toEqual({ segment: 3, offset: 128 })
  })

  it('defaults details to {} and sets cause only when given', () => {
    const plain = new StarlingError('WAL_CLOSED', 'closed')
    expect(plain.details).toEqual({})
    expect('cause' in plain).toBe(false)
    const root = new Error('EIO')
    expect(new StarlingError('WAL_FAILED', 'fsync failed', {}, root).cause).toBe(root)
  })

  it('documents every code with a one-line meaning', () => {
    for (const code of ['HLC_CLOCK_SKEW', 'HLC_OVERFLOW', 'CODEC_MALFORMED', 'INVALID_ARGUMENT']) {
      expect(ERROR_CODES).toHaveProperty(code)
    }
    for (const meaning of Object.values(ERROR_CODES)) expect(meaning).toMatch(/^[A-Z].+\.$/)
  })
})

describe('isStarlingError', () => {
  const error = new StarlingError('STORE_LOCKED', 'locked')

  it('recognises Starling errors, optionally by code', () => {
    expect(isStarlingError(error)).toBe(true)
    expect(isStarlingError(error, 'STORE_LOCKED')).toBe(true)
    expect(isStarlingError(error, 'WAL_FAILED')).toBe(false)
  })

  it('rejects other errors and look-alikes', () => {
    expect(isStarlingError(new Error('x'))).toBe(false)
    expect(isStarlingError({ name: 'StarlingError', code: 'STORE_LOCKED' }, 'STORE_LOCKED')).toBe(
      false,
    )
    expect(isStarlingError(invalidArgument('x'))).toBe(false)
    expect(isStarlingError(null)).toBe(false)
  })
})

describe('invalidArgument', () => {
  it('is a TypeError tagged INVALID_ARGUMENT', () => {
    const error = invalidArgument('n must be positive')
    expect(error).toBeInstanceOf(TypeError)
    expect(error.code).toBe('INVALID_ARGUMENT')
    expect(error.message).toBe('n must be positive')
  })
})

describe('toLsn', () => {
  it('brands non-negative safe integers', () => {
    for (const value of [0, 1, 42, LSN_MAX]) expect(toLsn(value)).toBe(value)
  })

  it('rejects everything else with INVALID_ARGUMENT', () => {
    for (const value of [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53, '1']) {
      expect(() => toLsn(value as number)).toThrow(
        expect.objectContaining({ name: 'TypeError', code: 'INVALID_ARGUMENT' }),
      )
    }
  })
})

describe('toNodeId / toPeerId / isNodeId', () => {
  const valid = ['a', 'Z', '0', '_', '-', 'node-1_B', 'x'.repeat(64)]
  const invalid = ['', 'x'.repeat(65), 'a b', 'a.b', 'é', 'a\n', '👍', 7, null, undefined]

  it('accepts 1–64 characters of [A-Za-z0-9_-]', () => {
    for (const value of valid) {
      expect(toNodeId(value)).toBe(value)
      expect(toPeerId(value)).toBe(value)
      expect(isNodeId(value)).toBe(true)
    }
  })

  it('rejects everything else with INVALID_ARGUMENT', () => {
    for (const value of invalid) {
      for (const brand of [toNodeId, toPeerId]) {
        expect(() => brand(value as string)).toThrow(
          expect.objectContaining({ name: 'TypeError', code: 'INVALID_ARGUMENT' }),
        )
      }
      expect(isNodeId(value)).toBe(false)
    }
  })
})
