import { execFileSync } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import ts from 'typescript'
import { describe, expect, it } from 'vitest'
import {
  CRC32C_INIT,
  crc32c,
  crc32cFinish,
  crc32cIsNative,
  crc32cUpdate,
  crc32cUpdateJs,
} from '../../src/core/crc32c.js'
import { tempDir } from '../support/tmp.js'

/** Bit-at-a-time reference implementation to check the sliced tables against. */
function reference(bytes: Uint8Array): number {
  let crc = 0xffffffff
  for (const byte of bytes) {
    crc ^= byte
    for (let k = 0; k < 8; k++) crc = crc & 1 ? (crc >>> 1) ^ 0x82f63b78 : crc >>> 1
  }
  return (crc ^ 0xffffffff) >>> 0
}

describe('crc32c', () => {
  it('matches the standard check values (RFC 3720 B.4)', () => {
    expect(crc32c(new TextEncoder().encode('123456789'))).toBe(0xe3069283)
    expect(crc32c(new Uint8Array(32))).toBe(0x8a9136aa)
    expect(crc32c(new Uint8Array(32).fill(0xff))).toBe(0x62a8ab43)
    expect(crc32c(Uint8Array.from({ length: 32 }, (_, i) => i))).toBe(0x46dd794e)
  })

  it('agrees with a bit-at-a-time reference for every length 0..100 and any split', () => {
    const bytes = Uint8Array.from({ length: 100 }, (_, i) => (i * 73 + 11) & 0xff)
    for (let length = 0; length <= 100; length++) {
      const slice = bytes.subarray(0, length)
      expect(crc32c(slice)).toBe(reference(slice))
      const split = Math.floor(length / 3)
      const resumed = crc32cFinish(
        crc32cUpdate(crc32cUpdate(CRC32C_INIT, slice, 0, split), slice, split, length),
      )
      expect(resumed).toBe(reference(slice))
    }
  })
})

describe('crc32c native and JavaScript paths', () => {
  it('agree on every length around the native threshold and any split', () => {
    const bytes = Uint8Array.from({ length: 5000 }, (_, i) => (i * 131 + 7) & 0xff)
    for (const length of [0, 1, 255, 256, 257, 1000, 1048, 4096, 5000]) {
      const slice = bytes.subarray(0, length)
      const js = crc32cFinish(crc32cUpdateJs(CRC32C_INIT, slice))
      expect(crc32c(slice), `length ${length}`).toBe(js)
      expect(js).toBe(reference(slice))
      const split = Math.floor(length / 2)
      const mixed = crc32cFinish(
        crc32cUpdate(crc32cUpdateJs(CRC32C_INIT, slice, 0, split), slice, split, length),
      )
      expect(mixed).toBe(js)
    }
  })

  it('uses the native module in Node when it is installed', () => {
    // The optional dependency is installed by `npm ci` on Linux x64; elsewhere the JS path runs.
    if (process.platform === 'linux' && process.arch === 'x64') expect(crc32cIsNative).toBe(true)
  })
})

describe('crc32c module loading', () => {
  it('loads synchronously: require() of it works, native or JavaScript as in this process', () => {
    // A top-level await would make the module (and the package importing it) asynchronous,
    // which require() of an ES module refuses (ERR_REQUIRE_ASYNC_MODULE).
    const root = join(import.meta.dirname, '..', '..')
    const source = readFileSync(join(root, 'src/core/crc32c.ts'), 'utf8')
    const compiled = ts.transpileModule(source, {
      compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
    }).outputText
    const file = join(tempDir(), 'crc32c.mjs')
    writeFileSync(file, compiled)
    const [major = 0, minor = 0] = process.versions.node.split('.').map(Number)
    const flags =
      major < 22 || (major === 22 && minor < 12) ? ['--experimental-require-module'] : []
    const script =
      `const m = require(${JSON.stringify(file)});` +
      `console.log(JSON.stringify([m.crc32c(new TextEncoder().encode('123456789')), m.crc32cIsNative]))`
    const run = (env: NodeJS.ProcessEnv): [number, boolean] =>
      JSON.parse(
        execFileSync(process.execPath, [...flags, '--no-warnings', '-e', script], {
          // The copy lives outside the package: let it find the optional native module.
          env: { ...env, NODE_PATH: join(root, 'node_modules') },
          encoding: 'utf8',
        }),
      ) as [number, boolean]
    const env = { ...process.env }
    delete env['STARLING_CRC32C_JS']
    expect(run(env)).toEqual([0xe3069283, crc32cIsNative])
    expect(run({ ...env, STARLING_CRC32C_JS: '1' })).toEqual([0xe3069283, false])
  })
})
