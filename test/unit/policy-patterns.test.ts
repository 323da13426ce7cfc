import { describe, expect, it } from 'vitest'

import { isStarlingError } from '../../src/core/errors.js'
import {
  assertPolicyMatches,
  compilePattern,
  crdt,
  createPolicyTable,
  custom,
  isCrdtPolicy,
  isCustomPolicy,
  isLwwPolicy,
  isPolicy,
  isRegisterPolicy,
  lww,
  parsePattern,
  policyId,
} from '../../src/policy/index.js'
import type { Policy } from '../../src/policy/index.js'
import { thrown, expectInvalidArgument } from '../support/errors.js'

describe('compilePattern', () => {
  const cases: [pattern: string, key: string, matches: boolean][] = [
    ['settings', 'settings', true],
    ['settings', 'settings/theme', false],
    ['settings', 'setting', false],
    ['notes/*', 'notes/today', true],
    ['notes/*', 'notes', false],
    ['notes/*', 'notes/2025/today', false],
    ['notes/*', 'note/today', false],
    ['notes/*', 'notes/', true], // `*` matches one segment, even an empty one
    ['*', 'a', true],
    ['*', 'a/b', false],
    ['*/b', 'a/b', true],
    ['*/b', 'a/c', false],
    ['settings/**', 'settings/theme', true],
    ['settings/**', 'settings/ui/theme/dark', true],
    ['settings/**', 'settings', false], // `**` matches one or more segments
    ['settings/**', 'other/theme', false],
    ['**', 'a', true],
    ['**', 'a/b/c', true],
    ['**/x', 'x', false],
    ['**/x', 'a/x', true],
    ['**/x', 'a/b/x', true],
    ['**/x', 'a/b/x/y', false],
    ['a/**/z', 'a/z', false],
    ['a/**/z', 'a/b/z', true],
    ['a/**/z', 'a/b/c/z', true],
    ['a/**/z', 'a/b/c/y', false],
    ['a/**/b/**/c', 'a/x/b/y/c', true],
    ['a/**/b/**/c', 'a/b/b/b/c', true],
    ['a/**/b/**/c', 'a/x/b/c', false],
    ['a/**/b/**/c', 'a/b/x/y/b/z/c', true],
    ['**/*', 'a', false],
    ['**/*', 'a/b', true],
    ['**/**', 'a', false],
    ['**/**', 'a/b', true],
    ['*/**/*', 'a/b', false],
    ['*/**/*', 'a/b/c', true],
    ['a.b/c-d', 'a.b/c-d', true],
    ['a.b/c-d', 'aXb/c-d', false], // no regex meaning for '.'
    ['é/日本', 'é/日本', true],
  ]

  it.each(cases)('%s against %s → %s', (pattern, key, matches) => {
    const compiled = compilePattern(pattern)
    expect(compiled.match(key)).toBe(matches)
    expect(compiled.matchSegments(key.split('/'))).toBe(matches)
  })

  it('backtracks correctly on long keys (the greedy matcher agrees with a reference)', () => {
    // Reference: recursive matcher straight from the definition.
    const reference = (tokens: readonly string[], segs: readonly string[]): boolean => {
      if (tokens.length === 0) return segs.length === 0
      const [head, ...rest] = tokens
      if (head === '**') {
        for (let n = 1; n <= segs.length; n++) if (reference(rest, segs.slice(n))) return true
        return false
      }
      if (segs.length === 0) return false
      return (head === '*' || head === segs[0]) && reference(rest, segs.slice(1))
    }
    const alphabet = ['a', 'b', '*', '**']
    const keys = ['a', 'b', 'a/b', 'b/a', 'a/a/b', 'a/b/a/b', 'b/b/b/a', 'a/b/b/a/b']
    let checked = 0
    const patterns: string[][] = [[]]
    for (let length = 1; length <= 4; length++) {
      for (const prefix of patterns.filter((p) => p.length === length - 1)) {
        for (const token of alphabet) patterns.push([...prefix, token])
      }
    }
    for (const tokens of patterns.filter((p) => p.length > 0)) {
      const compiled = compilePattern(tokens.join('/'))
      for (const key of keys) {
        expect(compiled.match(key), `${tokens.join('/')} vs ${key}`).toBe(
          reference(tokens, key.split('/')),
        )
        checked++
      }
    }
    expect(checked).toBe(340 * keys.length)
  })

  it('rejects invalid patterns with INVALID_ARGUMENT', () => {
    for (const bad of ['', '/', 'a//b', '/a', 'a/', 'a**', '**b', 'a/b**/c', '***', 'a*', '*b']) {
      expectInvalidArgument(() => compilePattern(bad))
    }
    expectInvalidArgument(() => compilePattern(42 as unknown as string))
    expectInvalidArgument(() => parsePattern(undefined as unknown as string))
  })

  it('parses segments into tokens', () => {
    expect(parsePattern('a/*/**')).toEqual([
      { kind: 'literal', text: 'a' },
      { kind: 'one' },
      { kind: 'many' },
    ])
  })
})

describe('createPolicyTable', () => {
  const maxVote = custom((s) => s.length, { name: 'max-vote' })

  it('gives the first matching rule, else the fallback', () => {
    const table = createPolicyTable(
      {
        'settings/**': lww(),
        'notes/archive': crdt('map'),
        'notes/*': crdt('text'),
        'votes/*': maxVote,
        '**': crdt('json'),
      },
      lww(),
    )
    expect(table.policyFor('settings/ui/theme')).toBe(lww())
    expect(table.policyFor('notes/archive')).toEqual(crdt('map'))
    expect(table.policyFor('notes/today')).toEqual(crdt('text'))
    expect(table.policyFor('votes/1')).toBe(maxVote)
    expect(table.policyFor('anything/else')).toEqual(crdt('json'))
    expect(table.patternFor('notes/archive')).toBe('notes/archive')
    expect(table.patternFor('notes/x/y')).toBe('**')
    expect(table.rules.map((rule) => rule.pattern)).toEqual([
      'settings/**',
      'notes/archive',
      'notes/*',
      'votes/*',
      '**',
    ])
  })

  it('order decides: an earlier broad pattern shadows a later specific one', () => {
    const table = createPolicyTable(
      [
        ['notes/*', crdt('text')],
        ['notes/archive', crdt('map')],
      ],
      lww(),
    )
    expect(table.policyFor('notes/archive')).toEqual(crdt('text'))
    expect(table.patternFor('notes/archive')).toBe('notes/*')
  })

  it('uses the fallback for keys no rule matches; patternFor says undefined', () => {
    const table = createPolicyTable({ 'notes/*': crdt('text') }, lww())
    expect(table.policyFor('settings')).toBe(lww())
    expect(table.patternFor('settings')).toBeUndefined()
    expect(table.policyFor('notes')).toBe(lww())
    expect(createPolicyTable({}, crdt('map')).policyFor('x')).toEqual(crdt('map'))
    expect(table.fallback).toBe(lww())
  })

  it('accepts [pattern, policy] pairs in their order (integer-like patterns included)', () => {
    const pairs: [string, Policy][] = [
      ['*', crdt('text')],
      ['42', lww()],
    ]
    expect(createPolicyTable(pairs, lww()).policyFor('42')).toEqual(crdt('text'))
    // As an object, JavaScript moves the integer-like key '42' first.
    expect(createPolicyTable({ '*': crdt('text'), '42': lww() }, lww()).patternFor('42')).toBe('42')
  })

  it('rejects invalid tables', () => {
    expectInvalidArgument(() => createPolicyTable({ 'a//b': lww() }, lww()))
    expectInvalidArgument(() => createPolicyTable({ 'a/b*': lww() }, lww()))
    expectInvalidArgument(() =>
      createPolicyTable({ a: { type: 'lww2' } as unknown as Policy }, lww()),
    )
    expectInvalidArgument(() => createPolicyTable({ a: lww() }, undefined as unknown as Policy))
    expectInvalidArgument(() => createPolicyTable(null as unknown as Record<string, Policy>, lww()))
    expectInvalidArgument(() =>
      createPolicyTable(
        [
          ['a/*', lww()],
          ['a/*', crdt('text')],
        ],
        lww(),
      ),
    )
    expectInvalidArgument(() => createPolicyTable([['a'] as unknown as [string, Policy]], lww()))
    const table = createPolicyTable({ a: lww() }, lww())
    expectInvalidArgument(() => table.policyFor(7 as unknown as string))
  })

  it('rejects two different resolvers under one custom name (POLICY_INVALID)', () => {
    const other = custom((s) => s.length + 1, { name: 'max-vote' })
    const error = thrown(() => createPolicyTable({ 'a/*': maxVote, 'b/*': other }, lww()))
    expect(isStarlingError(error, 'POLICY_INVALID')).toBe(true)
    const viaFallback = thrown(() => createPolicyTable({ 'a/*': maxVote }, other))
    expect(isStarlingError(viaFallback, 'POLICY_INVALID')).toBe(true)
    // The same policy object twice is fine.
    expect(createPolicyTable({ 'a/*': maxVote, 'b/*': maxVote }, lww()).policyFor('b/1')).toBe(
      maxVote,
    )
  })
})

describe('policy descriptors', () => {
  it('have stable ids', () => {
    expect(policyId(crdt('text'))).toBe('crdt:text')
    expect(policyId(crdt('xml'))).toBe('crdt:xml')
    expect(policyId(lww())).toBe('lww')
    expect(policyId(custom(() => null, { name: 'max-vote' }))).toBe('custom:max-vote')
    expectInvalidArgument(() => policyId({ type: 'nope' } as unknown as Policy))
  })

  it('are told apart by guards', () => {
    const all: Policy[] = [crdt('json'), lww(), custom(() => null, { name: 'x' })]
    expect(all.map(isCrdtPolicy)).toEqual([true, false, false])
    expect(all.map(isLwwPolicy)).toEqual([false, true, false])
    expect(all.map(isCustomPolicy)).toEqual([false, false, true])
    expect(all.map(isRegisterPolicy)).toEqual([false, true, true])
    expect(all.every(isPolicy)).toBe(true)
    for (const notPolicy of [null, 'lww', {}, { type: 'crdt', kind: 'tree' }, { type: 'custom' }]) {
      expect(isPolicy(notPolicy)).toBe(false)
    }
  })

  it('validate their arguments', () => {
    expectInvalidArgument(() => crdt('tree' as 'text'))
    expectInvalidArgument(() => custom('nope' as unknown as () => null, { name: 'x' }))
    expectInvalidArgument(() => custom(() => null, undefined as unknown as { name: string }))
    for (const name of ['', 'has space', 'x'.repeat(65), 'ü']) {
      expectInvalidArgument(() => custom(() => null, { name }))
    }
    expect(custom(() => null, { name: 'x'.repeat(64) }).name).toHaveLength(64)
    expect(custom(() => null, { name: 'max-vote@2:v.1_b' }).name).toBe('max-vote@2:v.1_b')
  })

  it('assertPolicyMatches reports a recorded id that differs (POLICY_MISMATCH)', () => {
    expect(() => assertPolicyMatches('notes/a', 'crdt:text', crdt('text'))).not.toThrow()
    const error = thrown(() => assertPolicyMatches('notes/a', 'custom:v1', lww()))
    expect(isStarlingError(error, 'POLICY_MISMATCH')).toBe(true)
    expect((error as { details: unknown }).details).toEqual({
      key: 'notes/a',
      recorded: 'custom:v1',
      expected: 'lww',
    })
  })
})
