/**
 * The repository stands on its own: a user's clone (or an installed package) has nothing beside
 * it. No file of the repository may point outside the repository for data, the traces every test, benchmark
 * and demo types are found inside it, and the package ships the one the demo types. `.ci/run`
 * also runs the whole suite in a copy with nothing beside it, so a miss here cannot hide there.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join, relative, resolve } from 'node:path'
import { describe, expect, it } from 'vitest'
import {
  SEQUENTIAL_TRACES,
  TRACE_NAME,
  TRACES_SUBDIR,
  tracesDir,
} from '../../src/testing/traces.js'

const ROOT = resolve(import.meta.dirname, '../..')
/** Written in two pieces so that this file does not match its own search. */
const OUTSIDE = ['..', 'shared'].join('/')

/** What is never part of the repository (see .gitignore), and git's own directory. */
const NOT_OURS = new Set(['.git', 'node_modules', 'dist', 'coverage', 'starling-demo', '.scratch'])

/** The repository's files, by walking it (CI runs the suite in a copy without `.git`). */
function repositoryFiles(dir = ''): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap((entry) => {
    if (NOT_OURS.has(entry.name) || entry.name.startsWith('.bench-tmp')) return []
    const path = dir === '' ? entry.name : `${dir}/${entry.name}`
    if (entry.isDirectory()) return repositoryFiles(path)
    return entry.isFile() ? [path] : []
  })
}

describe('the repository stands on its own', () => {
  it(`no file of the repository refers to ${OUTSIDE}`, () => {
    const offenders = repositoryFiles().filter(
      (path) =>
        path !== 'package-lock.json' &&
        !path.endsWith('.gz') &&
        readFileSync(join(ROOT, path), 'utf8').includes(OUTSIDE),
    )
    expect(offenders).toEqual([])
  })

  it('finds the editing traces inside the repository', () => {
    const saved = process.env['STARLING_TRACES_DIR']
    delete process.env['STARLING_TRACES_DIR']
    try {
      const dir = tracesDir()
      expect(relative(ROOT, dir)).toBe(TRACES_SUBDIR)
      for (const name of [...SEQUENTIAL_TRACES, 'concurrent/friendsforever.json.gz'])
        expect(existsSync(join(dir, name)), name).toBe(true)
    } finally {
      if (saved !== undefined) process.env['STARLING_TRACES_DIR'] = saved
    }
  })

  it('ships the trace the demo types, with its attribution', () => {
    const manifest = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
      files: string[]
    }
    expect(manifest.files).toContain(`${TRACES_SUBDIR}/${TRACE_NAME}`)
    expect(manifest.files).toContain(`${TRACES_SUBDIR}/README.md`)
    expect(readFileSync(join(ROOT, TRACES_SUBDIR, 'README.md'), 'utf8')).toContain('CC BY 4.0')
  })
})
