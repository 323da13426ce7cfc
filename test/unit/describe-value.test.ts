import { describe, expect, it } from 'vitest'

import { DESCRIBE_CHARS_MAX, describeValue } from '../../src/core/describe.js'

describe('describeValue', () => {
  it('prints JSON, byte arrays by length, and what JSON cannot print', () => {
    expect(describeValue({ a: 1 })).toBe('{"a":1}')
    expect(describeValue('x')).toBe('"x"')
    expect(describeValue(undefined)).toBe('undefined')
    expect(describeValue(new Uint8Array(7))).toBe('Uint8Array(7)')
    expect(describeValue(10n)).toBe('10')
    const cyclic: Record<string, unknown> = {}
    cyclic['self'] = cyclic
    expect(describeValue(cyclic)).toBe('[object Object]')
  })

  it('cuts long values to DESCRIBE_CHARS_MAX characters and marks the cut', () => {
    const exact = 'y'.repeat(DESCRIBE_CHARS_MAX - 2)
    expect(describeValue(exact)).toBe(`"${exact}"`)
    const text = describeValue('x'.repeat(DESCRIBE_CHARS_MAX * 2))
    expect(text).toBe(`"${'x'.repeat(DESCRIBE_CHARS_MAX - 1)}…`)
  })
})
