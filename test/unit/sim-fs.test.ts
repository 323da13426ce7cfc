import { describe, expect, it } from 'vitest'

import { isStarlingError } from '../../src/core/errors.js'
import { createRng } from '../../src/core/random.js'
import { CRASH_MODES, SimCrashError, createSimFs } from '../../src/testing/index.js'
import type { SimFs } from '../../src/testing/index.js'

const bytes = (...values: number[]) => new Uint8Array(values)
const fill = (length: number, value: number) => new Uint8Array(length).fill(value)

/** A file created, written and synced, with its directory entry synced too. */
async function durableFile(fs: SimFs, path: string, data: Uint8Array) {
  const file = await fs.open(path, 'create')
  await file.write(data, 0)
  await file.sync()
  await fs.syncDir(path.slice(0, path.lastIndexOf('/')))
  return file
}

async function errorOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise
  } catch (error) {
    return error
  }
  throw new Error('expected a rejection')
}

const codeOf = async (promise: Promise<unknown>) =>
  ((await errorOf(promise)) as { code?: string }).code

describe('sim fs: file data durability', () => {
  it('keeps only synced bytes under drop, everything under keep', async () => {
    const fs = createSimFs()
    await fs.mkdirp('/d')
    const file = await durableFile(fs, '/d/f', bytes(1, 2, 3))
    await file.write(bytes(4, 5), 3)
    expect([...fs.readFileSync('/d/f')]).toEqual([1, 2, 3, 4, 5])
    expect([...fs.crashImage('drop', createRng(1)).readFileSync('/d/f')]).toEqual([1, 2, 3])
    expect([...fs.crashImage('keep', createRng(1)).readFileSync('/d/f')]).toEqual([1, 2, 3, 4, 5])
    await file.sync()
    expect([...fs.crashImage('drop', createRng(1)).readFileSync('/d/f')]).toEqual([1, 2, 3, 4, 5])
  })

  it('zero-extend keeps the new sizes but not the new bytes', async () => {
    const fs = createSimFs()
    await fs.mkdirp('/d')
    const file = await durableFile(fs, '/d/f', bytes(1, 2, 3, 4))
    await file.write(bytes(9, 9), 2)
    await file.write(bytes(7, 7, 7), 6)
    const image = fs.crashImage('zero-extend', createRng(1)).readFileSync('/d/f')
    expect([...image]).toEqual([1, 2, 3, 4, 0, 0, 0, 0, 0])
  })

  it('tear applies pending writes in order and cuts inside one of them', async () => {
    const fs = createSimFs()
    await fs.mkdirp('/d')
    const file = await durableFile(fs, '/d/f', fill(4, 1))
    await file.write(fill(4, 2), 4)
    await file.write(fill(4, 3), 8)
    await file.write(fill(2, 4), 2)
    const full = [...fs.readFileSync('/d/f')]
    // Every image is the durable bytes followed by a prefix of the write stream.
    const stream = [
      (b: number[], n: number) => b.splice(4, n, ...fill(n, 2)),
      (b: number[], n: number) => b.splice(8, n, ...fill(n, 3)),
      (b: number[], n: number) => b.splice(2, n, ...fill(n, 4)),
    ]
    const allowed = new Set<string>()
    for (let cut = 0; cut < stream.length; cut++) {
      for (let n = 0; n <= (cut === 2 ? 2 : 4); n++) {
        const b = [...fill(4, 1)]
        stream.slice(0, cut).forEach((apply, i) => apply(b, i === 2 ? 2 : 4))
        ;(stream[cut] as (b: number[], n: number) => void)(b, n)
        allowed.add(b.join(','))
      }
    }
    const seen = new Set<string>()
    for (let seed = 0; seed < 300; seed++) {
      const image = [...fs.crashImage('tear', createRng(seed)).readFileSync('/d/f')].join(',')
      expect(allowed.has(image)).toBe(true)
      seen.add(image)
    }
    expect(seen.has(fill(4, 1).join(','))).toBe(true)
    expect(seen.has(full.join(','))).toBe(true)
    expect(seen.size).toBeGreaterThan(6)
  })

  it('sectors mixes old and new 512-byte sectors independently', async () => {
    const fs = createSimFs()
    await fs.mkdirp('/d')
    const file = await durableFile(fs, '/d/f', fill(1024, 1))
    await file.write(fill(2048, 2), 0)
    const patterns = new Set<string>()
    for (let seed = 0; seed < 200; seed++) {
      const image = fs.crashImage('sectors', createRng(seed)).readFileSync('/d/f')
      expect([1024, 2048]).toContain(image.length)
      const sectors: number[] = []
      for (let s = 0; s < image.length; s += 512) {
        const sector = image.subarray(s, s + 512)
        const first = sector[0] as number
        expect(sector.every((b) => b === first)).toBe(true)
        expect(s < 1024 ? [1, 2] : [0, 2]).toContain(first)
        sectors.push(first)
      }
      patterns.add(sectors.join(''))
    }
    expect(patterns.size).toBeGreaterThan(8)
  })

  it('treats pending truncates like writes', async () => {
    const fs = createSimFs()
    await fs.mkdirp('/d')
    const file = await durableFile(fs, '/d/f', bytes(1, 2, 3, 4))
    await file.truncate(2)
    expect(fs.crashImage('drop', createRng(1)).readFileSync('/d/f').length).toBe(4)
    expect(fs.crashImage('keep', createRng(1)).readFileSync('/d/f').length).toBe(2)
    await file.truncate(3)
    expect([...fs.crashImage('zero-extend', createRng(1)).readFileSync('/d/f')]).toEqual([1, 2, 0])
  })

  it('replays an image exactly from its seed', async () => {
    const fs = createSimFs()
    await fs.mkdirp('/d')
    const file = await durableFile(fs, '/d/f', fill(600, 1))
    for (let i = 0; i < 6; i++) await file.write(fill(300, i + 2), 300 * i)
    for (const mode of CRASH_MODES) {
      const a = fs.crashImage(mode, createRng(77)).readFileSync('/d/f')
      expect(fs.crashImage(mode, createRng(77)).readFileSync('/d/f')).toEqual(a)
    }
  })
})

describe('sim fs: directory entries', () => {
  it('needs syncDir for a new file even when its data was synced', async () => {
    const fs = createSimFs()
    await fs.mkdirp('/d')
    const file = await fs.open('/d/f', 'create')
    await file.write(bytes(1), 0)
    await file.sync()
    expect(fs.listSync('/d')).toEqual(['f'])
    expect(fs.crashImage('drop', createRng(1)).listSync('/d')).toEqual([])
    expect(fs.crashImage('keep', createRng(1)).listSync('/d')).toEqual(['f'])
    await fs.syncDir('/d')
    expect([...fs.crashImage('drop', createRng(1)).readFileSync('/d/f')]).toEqual([1])
  })

  it('keeps a rename or remove whole under tear, and lists subdirectories', async () => {
    const fs = createSimFs()
    await fs.mkdirp('/d/sub')
    await durableFile(fs, '/d/a', bytes(1))
    await durableFile(fs, '/d/b', bytes(2))
    await fs.rename('/d/a', '/d/c')
    await fs.remove('/d/b')
    expect(fs.listSync('/d')).toEqual(['c', 'sub'])
    expect(fs.crashImage('drop', createRng(1)).listSync('/d')).toEqual(['a', 'b', 'sub'])
    const outcomes = new Set<string>()
    for (let seed = 0; seed < 100; seed++) {
      const names = fs.crashImage('tear', createRng(seed)).listSync('/d')
      expect(names.filter((n) => n === 'a' || n === 'c')).toHaveLength(1)
      outcomes.add(names.join(','))
    }
    expect(outcomes).toEqual(new Set(['a,b,sub', 'c,sub', 'a,sub', 'b,c,sub']))
  })

  it('renames over an existing file, and an open handle follows its inode', async () => {
    const fs = createSimFs()
    await fs.mkdirp('/d')
    await durableFile(fs, '/d/old', bytes(1))
    const file = await durableFile(fs, '/d/new', bytes(2))
    await fs.rename('/d/new', '/d/old')
    await file.write(bytes(3), 1)
    expect(fs.listSync('/d')).toEqual(['old'])
    expect([...fs.readFileSync('/d/old')]).toEqual([2, 3])
    expect([...fs.crashImage('drop', createRng(1)).readFileSync('/d/old')]).toEqual([1])
  })

  it('raises Node-style ENOENT, EEXIST and EBADF errors', async () => {
    const fs = createSimFs()
    await fs.mkdirp('/d')
    const error = (await errorOf(fs.open('/d/x', 'read'))) as NodeJS.ErrnoException
    expect(error).toBeInstanceOf(Error)
    expect([error.code, error.errno, error.syscall, error.path]).toEqual([
      'ENOENT',
      -2,
      'open',
      '/d/x',
    ])
    expect(await codeOf(fs.list('/nope'))).toBe('ENOENT')
    expect(await codeOf(fs.remove('/d/x'))).toBe('ENOENT')
    expect(await codeOf(fs.rename('/d/x', '/d/y'))).toBe('ENOENT')
    expect(await codeOf(fs.open('/nope/x', 'create'))).toBe('ENOENT')
    const file = await fs.open('/d/x', 'create')
    expect(await codeOf(fs.open('/d/x', 'create'))).toBe('EEXIST')
    const reader = await fs.open('/d/x', 'read')
    expect(await codeOf(reader.write(bytes(1), 0))).toBe('EBADF')
    await file.close()
    expect(await codeOf(file.size())).toBe('EBADF')
  })
})

describe('sim fs: locks', () => {
  it('allows one holder per directory and releases idempotently', async () => {
    const fs = createSimFs()
    await fs.mkdirp('/d')
    const lock = await fs.lock('/d')
    const error = await errorOf(fs.lock('/d'))
    expect(isStarlingError(error, 'STORE_LOCKED')).toBe(true)
    await lock.release()
    await lock.release()
    const again = await fs.lock('/d')
    await lock.release() // a stale handle does not release the new holder
    expect(isStarlingError(await errorOf(fs.lock('/d')), 'STORE_LOCKED')).toBe(true)
    await again.release()
  })
})

describe('sim fs: crash steps', () => {
  it('counts every call, file methods included', async () => {
    const fs = createSimFs()
    await fs.mkdirp('/d')
    const file = await fs.open('/d/f', 'create')
    await file.write(bytes(1), 0)
    await file.read(new Uint8Array(1), 0, 1, 0)
    await file.size()
    await file.truncate(0)
    await file.sync()
    await file.close()
    await fs.syncDir('/d')
    await fs.list('/d')
    expect(fs.steps).toBe(10)
    expect(fs.calls.write).toBe(1)
    expect(fs.calls.syncDir).toBe(1)
  })

  it('fails the crash step and every later one without effect, and releases locks', async () => {
    const fs = createSimFs({ crashAtStep: 4 })
    await fs.mkdirp('/d')
    await fs.lock('/d')
    const file = await fs.open('/d/f', 'create')
    await file.write(bytes(1), 0)
    const crash = await errorOf(file.write(bytes(2), 1))
    expect(crash).toBeInstanceOf(SimCrashError)
    expect((crash as SimCrashError).step).toBe(4)
    expect(fs.crashed).toBe(true)
    expect(await errorOf(file.sync())).toBeInstanceOf(SimCrashError)
    expect(await errorOf(fs.list('/d'))).toBeInstanceOf(SimCrashError)
    expect(fs.steps).toBe(4)
    expect([...fs.readFileSync('/d/f')]).toEqual([1])
    const image = fs.crashImage('keep', createRng(1))
    await (await image.lock('/d')).release()
    await image.open('/d/g', 'create')
    expect(image.steps).toBe(2)
  })

  it('arms and disarms crashes later', async () => {
    const fs = createSimFs()
    await fs.mkdirp('/d')
    fs.armCrash(2)
    fs.armCrash(undefined)
    await fs.list('/d')
    await fs.list('/d')
    fs.armCrash(3)
    expect(await errorOf(fs.list('/d'))).toBeInstanceOf(SimCrashError)
  })

  it('settles through microtasks only: no timers or macrotasks', async () => {
    let macrotaskRan = false
    setImmediate(() => (macrotaskRan = true))
    const fs = createSimFs()
    await fs.mkdirp('/d')
    const file = await durableFile(fs, '/d/f', fill(100, 1))
    for (let i = 0; i < 50; i++) await file.write(bytes(i), i)
    await file.sync()
    expect(macrotaskRan).toBe(false)
  })
})

describe('sim fs: faults', () => {
  it('fails the chosen write with a partial write, and only that one', async () => {
    const fs = createSimFs()
    await fs.mkdirp('/d')
    const file = await durableFile(fs, '/d/f', bytes())
    const fault = fs.injectFault({ op: 'write', atCall: 2, code: 'EIO', partialBytes: 2 })
    await file.write(bytes(1, 1), 0)
    const error = (await errorOf(file.write(bytes(2, 2, 2, 2), 2))) as NodeJS.ErrnoException
    expect([error.code, error.errno, error.syscall]).toEqual(['EIO', -5, 'write'])
    expect(fault.fired).toBe(1)
    expect([...fs.readFileSync('/d/f')]).toEqual([1, 1, 2, 2])
    await file.write(bytes(3), 4)
    expect(fault.fired).toBe(1)
    expect(fs.calls.write).toBe(4)
  })

  it('leaves the data of a failed sync pending', async () => {
    const fs = createSimFs()
    await fs.mkdirp('/d')
    const file = await durableFile(fs, '/d/f', bytes(1))
    fs.injectFault({ op: 'sync', code: 'ENOSPC' })
    await file.write(bytes(2), 1)
    expect(await codeOf(file.sync())).toBe('ENOSPC')
    expect([...fs.crashImage('drop', createRng(1)).readFileSync('/d/f')]).toEqual([1])
    await file.sync()
    expect([...fs.crashImage('drop', createRng(1)).readFileSync('/d/f')]).toEqual([1, 2])
  })

  it('matches paths, keeps failing when sticky, and covers open, rename and syncDir', async () => {
    const fs = createSimFs()
    await fs.mkdirp('/d')
    fs.injectFault({ op: 'open', path: /\.log$/, code: 'EIO', sticky: true })
    await (await fs.open('/d/a.txt', 'create')).close()
    expect(await codeOf(fs.open('/d/b.log', 'create'))).toBe('EIO')
    expect(await codeOf(fs.open('/d/c.log', 'create'))).toBe('EIO')
    expect(fs.listSync('/d')).toEqual(['a.txt'])
    fs.injectFault({ op: 'rename', code: 'EIO' })
    expect(await codeOf(fs.rename('/d/a.txt', '/d/z.txt'))).toBe('EIO')
    expect(fs.listSync('/d')).toEqual(['a.txt'])
    fs.injectFault({ op: 'syncDir', code: 'EIO' })
    expect(await codeOf(fs.syncDir('/d'))).toBe('EIO')
    expect(fs.crashImage('drop', createRng(1)).listSync('/d')).toEqual([])
  })
})

describe('sim fs: clone and corrupt', () => {
  it('clones the state with its pending changes, independently', async () => {
    const fs = createSimFs()
    await fs.mkdirp('/d')
    const file = await durableFile(fs, '/d/f', bytes(1))
    await file.write(bytes(2), 1)
    await fs.open('/d/g', 'create')
    const twin = fs.clone()
    expect(twin.listSync('/d')).toEqual(['f', 'g'])
    expect(twin.crashImage('drop', createRng(1)).listSync('/d')).toEqual(['f'])
    expect([...twin.crashImage('drop', createRng(1)).readFileSync('/d/f')]).toEqual([1])
    await file.write(bytes(3), 2)
    expect([...twin.readFileSync('/d/f')]).toEqual([1, 2])
  })

  it('corrupts durable and current bytes in place', async () => {
    const fs = createSimFs()
    await fs.mkdirp('/d')
    await durableFile(fs, '/d/f', bytes(1, 2, 3))
    fs.corrupt('/d/f', 1, bytes(9))
    expect([...fs.readFileSync('/d/f')]).toEqual([1, 9, 3])
    expect([...fs.crashImage('drop', createRng(1)).readFileSync('/d/f')]).toEqual([1, 9, 3])
    expect(() => fs.corrupt('/d/f', 3, bytes(1))).toThrow(RangeError)
  })
})
