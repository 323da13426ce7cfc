/**
 * `fuzz` without fast-check installed (an optional peer dependency): a `DEPENDENCY_MISSING`
 * error naming the package and the command that installs it, not a raw module-not-found error.
 * Checked for real in a child process whose project has every dependency except fast-check (a
 * copy of the sources, next to a node_modules of links to everything else), and on the loader's
 * decision of which import failures mean "not installed".
 */
import { execFileSync } from 'node:child_process'
import { cpSync, mkdirSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { describe, expect, it } from 'vitest'
import { isStarlingError } from '../../src/index.js'
import { loadFastCheck, type FastCheck } from '../../src/testing/simulator/fast-check.js'
import { tempDir } from '../support/tmp.js'

const ROOT = resolve(import.meta.dirname, '../..')
const TSX = pathToFileURL(join(ROOT, 'node_modules/tsx/dist/loader.mjs')).href

/** A project holding the sources and every installed package but fast-check. */
function projectWithoutFastCheck(): string {
  const dir = tempDir('starling-no-fast-check-')
  for (const part of ['src', 'adapters'])
    cpSync(join(ROOT, part), join(dir, part), { recursive: true })
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ type: 'module' }))
  mkdirSync(join(dir, 'node_modules'))
  for (const name of readdirSync(join(ROOT, 'node_modules'))) {
    if (name === 'fast-check' || name.startsWith('.')) continue
    symlinkSync(join(ROOT, 'node_modules', name), join(dir, 'node_modules', name))
  }
  return dir
}

const SCRIPT = `
import { fuzz } from './src/testing/index.ts'
const found = await import('fast-check').then(() => 'installed', (error) => error.code)
const outcome = await fuzz({ numRuns: 1, peers: 2, steps: 1 }).then(
  () => ({ resolved: true }),
  (error) => ({ name: error.name, code: error.code, message: error.message, details: error.details }),
)
console.log(JSON.stringify({ found, outcome }))
`

function notFound(message: string, code = 'ERR_MODULE_NOT_FOUND'): Error {
  return Object.assign(new Error(message), { code })
}

describe('fuzz without fast-check', () => {
  it('rejects with DEPENDENCY_MISSING, naming the package and how to install it', () => {
    const dir = projectWithoutFastCheck()
    writeFileSync(join(dir, 'run.mts'), SCRIPT)
    const output = execFileSync(process.execPath, ['--import', TSX, 'run.mts'], {
      cwd: dir,
      encoding: 'utf8',
      timeout: 60_000,
    })
    const { found, outcome } = JSON.parse(output.trim().split('\n').at(-1) ?? '') as {
      found: string
      outcome: Record<string, unknown>
    }
    // The project really lacks it: a plain import fails the way Node fails it.
    expect(found).toBe('ERR_MODULE_NOT_FOUND')
    expect(outcome).toMatchObject({
      name: 'StarlingError',
      code: 'DEPENDENCY_MISSING',
      details: { package: 'fast-check' },
    })
    expect(outcome['message']).toContain('npm install --save-dev fast-check')
  })

  it('tells "not installed" from other import failures', async () => {
    const missing = [
      notFound("Cannot find package 'fast-check' imported from /app/dist/fuzz.js"),
      notFound("Cannot find module 'fast-check'", 'MODULE_NOT_FOUND'),
      notFound('Failed to load url fast-check (resolved id: fast-check)', 'ERR_LOAD_URL'),
    ]
    for (const error of missing) {
      const thrown = await loadFastCheck(() => Promise.reject(error)).catch((e: unknown) => e)
      expect(isStarlingError(thrown, 'DEPENDENCY_MISSING'), String(error)).toBe(true)
      expect((thrown as Error).cause).toBe(error)
    }
    // fast-check installed but broken, or an unrelated failure: rethrown as it is.
    const other = [
      notFound("Cannot find module '/app/node_modules/fast-check/lib/esm/x.js' imported from …"),
      notFound("Cannot find package 'fast-check-extra' imported from /app/x.js"),
      new SyntaxError('Unexpected token'),
    ]
    for (const error of other) {
      const thrown = await loadFastCheck(() => Promise.reject(error)).catch((e: unknown) => e)
      expect(thrown).toBe(error)
    }
    const fc = { marker: true } as unknown as FastCheck
    await expect(loadFastCheck(() => Promise.resolve(fc))).resolves.toBe(fc)
  })
})
