import { describe, expect, it } from 'vitest'

import { Emitter, Listeners } from '../../src/core/listeners.js'

interface Events {
  count: number
  name: string
}

function setup() {
  const count = new Listeners<number>()
  const name = new Listeners<string>()
  return { count, name, events: new Emitter<Events>({ count, name }) }
}

describe('Emitter', () => {
  it('adds each listener to its own event set, and removes it again', () => {
    const { count, name, events } = setup()
    const counts: number[] = []
    const names: string[] = []
    const off = events.on('count', (value) => counts.push(value))
    events.on('name', (value) => names.push(value.toUpperCase()))
    count.emit(1)
    name.emit('a')
    off()
    count.emit(2)
    expect(counts).toEqual([1])
    expect(names).toEqual(['A'])
  })

  it('ties each event to its value type', () => {
    const { events } = setup()
    // @ts-expect-error a `count` listener receives a number
    events.on('count', (value: string) => value)
    // @ts-expect-error not an event of the map
    expect(() => events.on('other', () => undefined)).toThrow(TypeError)
  })

  it('refuses names outside the map, inherited ones included, with INVALID_ARGUMENT', () => {
    const { events } = setup()
    for (const event of ['other', 'toString', '__proto__']) {
      const on = () => events.on(event as keyof Events, () => undefined)
      expect(on, event).toThrow(TypeError)
      expect(on, event).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }))
      expect(on, event).toThrow(`unknown event ${event}`)
    }
  })
})
