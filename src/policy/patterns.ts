/**
 * Key patterns of the policy table. Keys and patterns are `/`-separated segments. In a pattern a
 * segment is either a literal, which matches the same segment exactly, `*`, which matches exactly
 * one segment (any text without `/`, even an empty one), or `**`, which matches one or more
 * segments. Wildcards are whole segments only: `a*`, `*b`, `a**` and `***` are invalid, and so
 * are empty patterns and empty segments (`a//b`, `/a`, `a/`).
 */
import { invalidArgument } from '../core/errors.js'

/** The segment separator of keys and patterns. */
export const KEY_SEPARATOR = '/'

/** One compiled segment: a literal, `*` (exactly one segment) or `**` (one or more). */
export type PatternToken =
  | { readonly kind: 'literal'; readonly text: string }
  | { readonly kind: 'one' }
  | { readonly kind: 'many' }

/** A validated, compiled key pattern. */
export interface KeyPattern {
  /** The pattern as written. */
  readonly source: string
  /** Its segments. */
  readonly tokens: readonly PatternToken[]
  /** True when `key` matches the pattern. */
  match(key: string): boolean
  /** True when a key already split into `segments` matches the pattern. */
  matchSegments(segments: readonly string[]): boolean
}

/** A token of the matching program: `**` becomes `one` followed by `rest` (zero or more). */
type Step = { readonly kind: 'literal'; readonly text: string } | { readonly kind: 'one' | 'rest' }

/**
 * Validates and compiles `pattern`; an invalid one throws `INVALID_ARGUMENT`.
 *
 * @example
 * ```ts
 * const notes = compilePattern('notes/*')
 * notes.match('notes/today') // true
 * notes.match('notes/2025/today') // false
 * compilePattern('settings/**').match('settings/ui/theme') // true
 * ```
 */
export function compilePattern(pattern: string): KeyPattern {
  const tokens = parsePattern(pattern)
  const steps = toSteps(tokens)
  const hasMany = tokens.some((token) => token.kind === 'many')
  const matchSegments = hasMany
    ? (segments: readonly string[]) => matchWithRest(steps, segments)
    : (segments: readonly string[]) => matchFixed(steps, segments)
  const literalOnly = tokens.every((token) => token.kind === 'literal')
  return Object.freeze({
    source: pattern,
    tokens,
    matchSegments,
    match: literalOnly
      ? (key: string) => key === pattern
      : (key: string) => matchSegments(key.split(KEY_SEPARATOR)),
  })
}

/** Splits and validates `pattern` (see the module comment for the rules). */
export function parsePattern(pattern: string): readonly PatternToken[] {
  if (typeof pattern !== 'string' || pattern.length === 0) {
    throw invalidArgument(`a key pattern must be a non-empty string, got ${describe(pattern)}`)
  }
  return Object.freeze(
    pattern.split(KEY_SEPARATOR).map((segment, index): PatternToken => {
      if (segment.length === 0) {
        throw invalidArgument(`key pattern ${describe(pattern)} has an empty segment at ${index}`)
      }
      if (segment === '*') return ONE
      if (segment === '**') return MANY
      if (segment.includes('*')) {
        throw invalidArgument(
          `key pattern ${describe(pattern)}: segment ${describe(segment)} mixes a wildcard ` +
            'with other characters; * and ** must be whole segments',
        )
      }
      return Object.freeze({ kind: 'literal', text: segment })
    }),
  )
}

const ONE: PatternToken = Object.freeze({ kind: 'one' })
const MANY: PatternToken = Object.freeze({ kind: 'many' })

function toSteps(tokens: readonly PatternToken[]): readonly Step[] {
  const steps: Step[] = []
  for (const token of tokens) {
    if (token.kind === 'many') steps.push({ kind: 'one' }, { kind: 'rest' })
    else steps.push(token)
  }
  return steps
}

function stepMatches(step: Step, segment: string): boolean {
  return step.kind === 'one' || (step.kind === 'literal' && step.text === segment)
}

/** Patterns without `**` match keys with exactly as many segments. */
function matchFixed(steps: readonly Step[], segments: readonly string[]): boolean {
  if (steps.length !== segments.length) return false
  for (let i = 0; i < steps.length; i++) {
    if (!stepMatches(steps[i] as Step, segments[i] as string)) return false
  }
  return true
}

/**
 * Wildcard matching where `rest` matches zero or more segments: greedy, backtracking only to the
 * last `rest` seen, so at worst O(steps × segments) and linear in the common cases.
 */
function matchWithRest(steps: readonly Step[], segments: readonly string[]): boolean {
  let s = 0
  let t = 0
  let restStep = -1
  let restSegment = 0
  while (s < segments.length) {
    const step = steps[t]
    if (step?.kind === 'rest') {
      restStep = t++
      restSegment = s
    } else if (step !== undefined && stepMatches(step, segments[s] as string)) {
      t++
      s++
    } else if (restStep >= 0) {
      t = restStep + 1
      s = ++restSegment
    } else {
      return false
    }
  }
  while (steps[t]?.kind === 'rest') t++
  return t === steps.length
}

function describe(value: unknown): string {
  return typeof value === 'string' ? JSON.stringify(value) : String(value)
}
