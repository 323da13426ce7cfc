/**
 * The published package is `dist/` of what `tsconfig.build.json` compiles, limited to the
 * `files` of package.json. Two ways to ship a broken package, both caught here without building
 * or installing anything: a compiled directory missing from `files` (every import of it fails
 * with ERR_MODULE_NOT_FOUND once installed), and shipped code importing from a directory that is
 * never compiled into the package (tests, benchmarks, examples).
 */
import { readdirSync, readFileSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { describe, expect, it } from 'vitest'

const ROOT = resolve(import.meta.dirname, '../..')

function json<T>(path: string): T {
  return JSON.parse(readFileSync(join(ROOT, path), 'utf8')) as T
}

const manifest = json<{ files: string[]; exports: Record<string, unknown>; bin: unknown }>(
  'package.json',
)
const build = json<{ include: string[] }>('tsconfig.build.json')

function sourcesUnder(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith('.ts'))
    .map((entry) => relative(ROOT, join(entry.parentPath, entry.name)))
}

/** Relative module specifiers of a source file (static imports, re-exports, dynamic imports). */
function relativeImports(file: string): string[] {
  const text = readFileSync(join(ROOT, file), 'utf8')
  const found: string[] = []
  for (const match of text.matchAll(/(?:from\s+|import\s*\(\s*)['"](\.{1,2}\/[^'"]+)['"]/g))
    found.push(match[1] as string)
  return found
}

describe('the published package', () => {
  it('ships every directory it compiles', () => {
    for (const dir of build.include) expect(manifest.files).toContain(`dist/${dir}`)
  })

  it('compiles nothing that imports from outside what it compiles', () => {
    const outside: string[] = []
    let checked = 0
    for (const dir of build.include) {
      for (const file of sourcesUnder(dir)) {
        for (const specifier of relativeImports(file)) {
          checked++
          const target = relative(ROOT, resolve(ROOT, dirname(file), specifier))
          if (!build.include.some((included) => target.startsWith(`${included}/`)))
            outside.push(`${file} imports ${specifier}`)
        }
      }
    }
    expect(checked).toBeGreaterThan(100)
    expect(outside).toEqual([])
  })

  it('points its entry points and CLI into what it ships', () => {
    const targets = JSON.stringify([manifest.exports, manifest.bin]).match(/\.\/dist\/[^"]+/g)
    expect(targets?.length).toBeGreaterThan(3)
    for (const target of targets ?? []) {
      const shipped = manifest.files.some((dir) => target.slice(2).startsWith(`${dir}/`))
      expect(shipped, target).toBe(true)
    }
  })
})
