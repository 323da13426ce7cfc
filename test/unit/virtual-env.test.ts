import { afterEach, describe, expect, it, vi } from 'vitest'

import { createVirtualEnv, VIRTUAL_START_MS } from '../../src/testing/index.js'
import type { VirtualEnv } from '../../src/testing/index.js'

/** Sets timers that record `label@monotonicMs` when they fire. */
function recorder(env: VirtualEnv) {
  const log: string[] = []
  const at = (delayMs: number, label: string) =>
    env.setTimer(delayMs, () => log.push(`${label}@${env.monotonicMs()}`))
  return { log, at }
}

describe('createVirtualEnv: randomness', () => {
  it('is deterministic for a seed and differs between seeds', () => {
    const sample = (seed: number) => {
      const env = createVirtualEnv({ seed })
      return [env.random(), env.random(), [...env.randomBytes(8)]]
    }
    expect(sample(3)).toEqual(sample(3))
    expect(sample(3)).not.toEqual(sample(4))
  })

  it('exposes its seed and generator', () => {
    const env = createVirtualEnv({ seed: 99 })
    expect(env.seed).toBe(99)
    expect(env.rng.seed).toBe(99)
    const first = env.random()
    expect(createVirtualEnv({ seed: 99 }).rng.next()).toBe(first)
  })

  it('never touches Date.now, Math.random or real timers', () => {
    const forbidden = () => {
      throw new Error('non-deterministic source used')
    }
    vi.spyOn(Date, 'now').mockImplementation(forbidden)
    vi.spyOn(Math, 'random').mockImplementation(forbidden)
    vi.spyOn(globalThis, 'setTimeout').mockImplementation(forbidden)
    const env = createVirtualEnv({ seed: 1 })
    env.setTimer(5, () => env.randomBytes(4))
    env.random()
    env.advance(10)
    expect(env.nowMs()).toBe(VIRTUAL_START_MS + 10)
  })

  afterEach(() => {
    vi.restoreAllMocks()
  })
})

describe('createVirtualEnv: clock', () => {
  it('starts at startMs (wall) and 0 (monotonic) and moves only when advanced', () => {
    const env = createVirtualEnv({ seed: 1, startMs: 5_000 })
    expect([env.nowMs(), env.monotonicMs()]).toEqual([5_000, 0])
    env.advance(250)
    expect([env.nowMs(), env.monotonicMs()]).toEqual([5_250, 250])
    expect(createVirtualEnv({ seed: 1 }).nowMs()).toBe(VIRTUAL_START_MS)
  })

  it('steps the wall clock backwards or forwards without moving monotonic time', () => {
    const env = createVirtualEnv({ seed: 1, startMs: 10_000 })
    env.advance(100)
    env.setWallMs(3_000)
    expect([env.nowMs(), env.monotonicMs()]).toEqual([3_000, 100])
    env.advance(5)
    expect(env.nowMs()).toBe(3_005)
  })

  it('rejects negative or non-finite times', () => {
    const env = createVirtualEnv({ seed: 1 })
    expect(() => env.advance(-1)).toThrow(TypeError)
    expect(() => env.setTimer(Number.NaN, () => {})).toThrow(TypeError)
    expect(() => env.setTimer(Number.POSITIVE_INFINITY, () => {})).toThrow(TypeError)
    expect(() => env.setWallMs(-5)).toThrow(TypeError)
    expect(() => createVirtualEnv({ seed: 1, startMs: -1 })).toThrow(TypeError)
    expect(() => createVirtualEnv({ seed: 0.5 })).toThrow(TypeError)
  })
})

describe('createVirtualEnv: timers', () => {
  it('fires due timers in (due time, creation) order with the clock at each due time', () => {
    const env = createVirtualEnv({ seed: 1 })
    const { log, at } = recorder(env)
    at(30, 'd')
    at(10, 'a')
    at(20, 'c')
    at(10, 'b')
    at(31, 'late')
    expect(env.advance(30)).toBe(4)
    expect(log).toEqual(['a@10', 'b@10', 'c@20', 'd@30'])
    expect(env.monotonicMs()).toBe(30)
    expect(env.pendingTimers()).toBe(1)
    expect(env.nextTimerDueMs()).toBe(31)
  })

  it('keeps creation order among many timers due at the same time', () => {
    const env = createVirtualEnv({ seed: 1 })
    const { log, at } = recorder(env)
    const labels = Array.from({ length: 50 }, (_, i) => `t${i}`)
    for (const label of labels) at(7, label)
    env.advance(7)
    expect(log).toEqual(labels.map((label) => `${label}@7`))
  })

  it('fires timers set by callbacks when they fall due within the same advance', () => {
    const env = createVirtualEnv({ seed: 1 })
    const { log, at } = recorder(env)
    env.setTimer(10, () => {
      at(0, 'now')
      at(5, 'soon')
      at(50, 'later')
    })
    at(12, 'other')
    env.advance(20)
    expect(log).toEqual(['now@10', 'other@12', 'soon@15'])
    expect(env.pendingTimers()).toBe(1)
  })

  it('does not fire cancelled timers; cancel is idempotent and harmless after firing', () => {
    const env = createVirtualEnv({ seed: 1 })
    const { log, at } = recorder(env)
    const a = at(5, 'a')
    const b = at(5, 'b')
    at(8, 'c')
    b.cancel()
    b.cancel()
    expect(env.pendingTimers()).toBe(2)
    env.advance(5)
    a.cancel()
    expect(env.pendingTimers()).toBe(1)
    env.runUntilIdle()
    expect(log).toEqual(['a@5', 'c@8'])
    expect(env.pendingTimers()).toBe(0)
  })

  it('skips cancelled timers when reporting the next due time', () => {
    const env = createVirtualEnv({ seed: 1 })
    env.setTimer(3, () => {}).cancel()
    env.setTimer(9, () => {})
    expect(env.nextTimerDueMs()).toBe(9)
    expect(env.pendingTimers()).toBe(1)
  })

  it('runNext fires one timer at a time and reports when none is left', () => {
    const env = createVirtualEnv({ seed: 1 })
    const { log, at } = recorder(env)
    at(40, 'b')
    at(15, 'a')
    expect(env.runNext()).toBe(true)
    expect(log).toEqual(['a@15'])
    expect(env.runNext()).toBe(true)
    expect(env.runNext()).toBe(false)
    expect(env.monotonicMs()).toBe(40)
  })

  it('runUntilIdle drains chains of timers and stops runaway loops', () => {
    const env = createVirtualEnv({ seed: 1 })
    let count = 0
    const tick = (): void => {
      if (++count < 5) env.setTimer(100, tick)
    }
    env.setTimer(100, tick)
    expect(env.runUntilIdle()).toBe(5)
    expect(env.monotonicMs()).toBe(500)
    const forever = (): void => void env.setTimer(0, forever)
    env.setTimer(0, forever)
    expect(() => env.runUntilIdle(1_000)).toThrow(/timers fired/)
    expect(env.pendingTimers()).toBe(1) // the loop is stopped, not lost
    expect(() => env.advance(1, 1_000)).toThrow(/timers fired/)
    expect(env.pendingTimers()).toBe(1)
  })

  it('propagates a throwing callback and keeps later timers pending', () => {
    const env = createVirtualEnv({ seed: 1 })
    const { log, at } = recorder(env)
    env.setTimer(10, () => {
      throw new Error('boom')
    })
    at(20, 'after')
    expect(() => env.advance(30)).toThrow('boom')
    expect(env.monotonicMs()).toBe(10)
    expect(env.pendingTimers()).toBe(1)
    env.advance(20)
    expect(log).toEqual(['after@20'])
  })

  it('gives the same run for the same seed and schedule', () => {
    const run = (seed: number): string[] => {
      const env = createVirtualEnv({ seed })
      const log: string[] = []
      for (let i = 0; i < 20; i++) {
        const delay = Math.floor(env.random() * 100)
        env.setTimer(delay, () => log.push(`${i}@${env.monotonicMs()}`))
      }
      env.runUntilIdle()
      return log
    }
    expect(run(17)).toEqual(run(17))
    expect(run(17)).not.toEqual(run(18))
  })
})
