import { describe, expect, it } from 'vitest'

import { formatHlc } from '../../src/core/hlc.js'
import { toNodeId } from '../../src/core/ids.js'
import {
  conflictEntry,
  createConflictLog,
  custom,
  lww,
  mergeSlot,
  POLICY_LIMITS,
  resolve,
  TOMBSTONE,
  writeSlot,
} from '../../src/policy/index.js'
import type { ConflictEntry, Sibling, SlotMap } from '../../src/policy/index.js'
import { expectInvalidArgument } from '../support/errors.js'

const T = 1_700_000_000_000
const A = toNodeId('a')
const B = toNodeId('b')

function sibling(writer: string, wallMs: number, value: number | undefined): Sibling {
  const id = toNodeId(writer)
  return {
    writer: id,
    hlc: formatHlc({ wallMs, counter: 0, nodeId: id }),
    value,
    deleted: value === undefined,
  }
}

function entry(key: string, siblings: Sibling[], at = 0): ConflictEntry {
  const winner = siblings.at(-1)
  return {
    key,
    policy: 'lww',
    siblings,
    winner: winner && { writer: winner.writer, hlc: winner.hlc },
    value: winner?.value,
    at: formatHlc({ wallMs: T + at, counter: 0, nodeId: A }),
  }
}

const pair = (n: number) => [sibling('a', n, n), sibling('b', n + 1, n + 1)]

describe('createConflictLog', () => {
  it('records entries and lists them newest first, by key, up to a limit', () => {
    const log = createConflictLog()
    expect(log.entriesMax).toBe(POLICY_LIMITS.conflictLogEntriesDefault)
    expect(log.record(entry('x', pair(1)))).toBe(true)
    expect(log.record(entry('y', pair(2)))).toBe(true)
    expect(log.record(entry('x', pair(3)))).toBe(true)
    expect(log.size()).toBe(3)
    expect(log.list().map((e) => [e.key, e.value])).toEqual([
      ['x', 4],
      ['y', 3],
      ['x', 2],
    ])
    expect(log.list({ key: 'x' }).map((e) => e.value)).toEqual([4, 2])
    expect(log.list({ key: 'x', limit: 1 }).map((e) => e.value)).toEqual([4])
    expect(log.list({ limit: 0 })).toEqual([])
    expect(log.list({ key: 'none' })).toEqual([])
  })

  it('keeps only the newest entriesMax entries (ring buffer)', () => {
    const log = createConflictLog({ entriesMax: 3 })
    for (let i = 0; i < 10; i++) log.record(entry(`k${i}`, pair(i)))
    expect(log.size()).toBe(3)
    expect(log.list().map((e) => e.key)).toEqual(['k9', 'k8', 'k7'])
    log.record(entry('k10', pair(10)))
    expect(log.list().map((e) => e.key)).toEqual(['k10', 'k9', 'k8'])
  })

  it('drops a repeat of the same key and sibling set', () => {
    const log = createConflictLog()
    expect(log.record(entry('x', pair(1), 1))).toBe(true)
    expect(log.record(entry('x', pair(1), 2))).toBe(false) // same conflict, resolved again
    expect(log.record(entry('x', [...pair(1)].reverse(), 3))).toBe(false) // order is irrelevant
    expect(log.record(entry('y', pair(1), 4))).toBe(true) // another key
    expect(log.record(entry('x', pair(1), 5))).toBe(false) // x's newest entry is still the same
    expect(log.record(entry('x', [...pair(1), sibling('c', 9, 9)], 6))).toBe(true)
    expect(log.record(entry('x', pair(1), 7))).toBe(true) // differs from x's newest entry
    expect(log.record({ ...entry('x', pair(1), 8), policy: 'custom:max' })).toBe(true)
    expect(log.size()).toBe(5)
  })

  it('records a repeat again once the previous entry was evicted', () => {
    const log = createConflictLog({ entriesMax: 2 })
    log.record(entry('x', pair(1)))
    log.record(entry('y', pair(1)))
    log.record(entry('z', pair(1))) // evicts x
    expect(log.record(entry('x', pair(1)))).toBe(true)
    expect(log.list().map((e) => e.key)).toEqual(['x', 'z'])
  })

  it('stores frozen copies', () => {
    const log = createConflictLog()
    const objectValue: Sibling = { ...sibling('a', 1, 0), value: { n: 1 } }
    const original = entry('x', [objectValue, sibling('b', 2, 2)])
    log.record(original)
    ;(objectValue.value as { n: number }).n = 2
    const [stored] = log.list()
    expect(stored?.siblings[0]?.value).toEqual({ n: 1 })
    expect(Object.isFrozen(stored)).toBe(true)
    expect(Object.isFrozen(stored?.siblings)).toBe(true)
    expect(Object.isFrozen(stored?.siblings[0]?.value)).toBe(true)
  })

  it('notifies subscribers of recorded entries only, until they unsubscribe', () => {
    const log = createConflictLog()
    const seen: string[] = []
    const other: string[] = []
    const stop = log.subscribe((e) => seen.push(e.key))
    const listener = (e: ConflictEntry) => void other.push(e.key)
    log.subscribe(listener)
    log.record(entry('x', pair(1)))
    log.record(entry('x', pair(1))) // a duplicate: nobody is told
    stop()
    log.record(entry('y', pair(1)))
    expect(log.unsubscribe(listener)).toBe(true)
    expect(log.unsubscribe(listener)).toBe(false)
    log.record(entry('z', pair(1)))
    expect(seen).toEqual(['x'])
    expect(other).toEqual(['x', 'y'])
  })

  it('calls every listener when one throws, keeps the entry, then rethrows', () => {
    const log = createConflictLog()
    const calls: string[] = []
    log.subscribe(() => {
      throw new Error('first')
    })
    log.subscribe(() => void calls.push('second'))
    expect(() => log.record(entry('x', pair(1)))).toThrow('first')
    expect(calls).toEqual(['second'])
    expect(log.size()).toBe(1)
    log.subscribe(() => {
      throw new Error('third')
    })
    expect(() => log.record(entry('y', pair(1)))).toThrow(AggregateError)
  })

  it('clear() empties the log and forgets what it deduplicated against', () => {
    const log = createConflictLog()
    log.record(entry('x', pair(1)))
    log.clear()
    expect(log.size()).toBe(0)
    expect(log.list()).toEqual([])
    expect(log.record(entry('x', pair(1)))).toBe(true)
  })

  it('validates its arguments', () => {
    for (const entriesMax of [0, -1, 1.5, POLICY_LIMITS.conflictLogEntriesMax + 1, NaN]) {
      expectInvalidArgument(() => createConflictLog({ entriesMax }))
    }
    const log = createConflictLog()
    expectInvalidArgument(() => log.list({ limit: -1 }))
    expectInvalidArgument(() => log.record(null as unknown as ConflictEntry))
    expectInvalidArgument(() => log.record({ ...entry('x', pair(1)), key: 1 as unknown as string }))
    expectInvalidArgument(() =>
      log.record({ ...entry('x', pair(1)), siblings: 'no' as unknown as Sibling[] }),
    )
    expectInvalidArgument(() => log.subscribe('no' as unknown as () => void))
  })
})

describe('conflictEntry', () => {
  it('builds an entry from a resolution with two or more siblings', () => {
    let slots: SlotMap = new Map()
    const a = writeSlot(slots, A, { wallMs: T, counter: 0, nodeId: A }, 1)
    const b = writeSlot(slots, B, { wallMs: T, counter: 1, nodeId: B }, TOMBSTONE)
    slots = mergeSlot(mergeSlot(slots, a), b)
    const at = formatHlc({ wallMs: T + 5, counter: 0, nodeId: A })
    const result = resolve(lww(), 'k', slots)
    expect(conflictEntry(lww(), 'k', result, at)).toEqual({
      key: 'k',
      policy: 'lww',
      siblings: [
        { writer: 'a', hlc: a.hlc, value: 1, deleted: false },
        { writer: 'b', hlc: b.hlc, value: undefined, deleted: true },
      ],
      winner: { writer: 'b', hlc: b.hlc },
      value: undefined,
      at,
    })
    const single = resolve(lww(), 'k', mergeSlot(new Map(), a))
    expect(conflictEntry(lww(), 'k', single, at)).toBeUndefined()
    const named = custom(() => 0, { name: 'zero' })
    expect(conflictEntry(named, 'k', result, at)?.policy).toBe('custom:zero')
  })
})
