/**
 * The source maps of the published package resolve: the package ships `dist/` only, so a map
 * whose `sources` point at `src/*.ts` must carry those sources itself (`sourcesContent`, from
 * `inlineSources`), or the stack traces and debuggers of an installed package point at files it
 * does not have. Checked on what the compiler emits with `tsconfig.build.json` (in memory, for a
 * few modules of each compiled directory), and on `dist/` when a build is there.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import ts from 'typescript'
import { describe, expect, it } from 'vitest'

const ROOT = resolve(import.meta.dirname, '../..')
const manifest = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  files: string[]
}

interface SourceMap {
  sources: string[]
  sourceRoot?: string
  sourcesContent?: (string | null)[]
}

/** Whether the package ships `path` (absolute), by the `files` of package.json. */
function shipped(path: string): boolean {
  const inPackage = relative(ROOT, path)
  return manifest.files.some((entry) => inPackage === entry || inPackage.startsWith(`${entry}/`))
}

/**
 * What is wrong with the map at `mapPath` in an installed package: a source neither carried in
 * `sourcesContent` nor shipped, or a map that is not shipped itself.
 */
function problemsOf(mapPath: string, text: string): string[] {
  const map = JSON.parse(text) as SourceMap
  const problems: string[] = []
  if (!shipped(mapPath)) problems.push(`${relative(ROOT, mapPath)} is not shipped`)
  map.sources.forEach((source, i) => {
    if (typeof map.sourcesContent?.[i] === 'string') return
    const path = resolve(dirname(mapPath), map.sourceRoot ?? '', source)
    if (!shipped(path)) problems.push(`${relative(ROOT, mapPath)}: ${source} is not in the package`)
  })
  return problems
}

/** The files `tsconfig.build.json` makes of `roots`, by path. */
function emitWithBuildConfig(roots: string[]): Map<string, string> {
  const configPath = join(ROOT, 'tsconfig.build.json')
  const read = ts.readConfigFile(configPath, (path) => ts.sys.readFile(path))
  expect(read.error).toBeUndefined()
  const config = read.config as object
  const parsed = ts.parseJsonConfigFileContent(config, ts.sys, ROOT, undefined, configPath)
  const program = ts.createProgram({
    rootNames: roots.map((root) => join(ROOT, root)),
    options: parsed.options,
  })
  const emitted = new Map<string, string>()
  const result = program.emit(undefined, (path, text) => emitted.set(resolve(path), text))
  expect(result.emitSkipped).toBe(false)
  return emitted
}

/** Checks the `.js` files and maps among `files`; resolves how many maps there were. */
function checkMaps(files: ReadonlyMap<string, string>): number {
  const problems: string[] = []
  let maps = 0
  for (const [path, text] of files) {
    if (path.endsWith('.map')) {
      maps++
      problems.push(...problemsOf(path, text))
    }
    const url = /\/\/# sourceMappingURL=(\S+)\s*$/.exec(text)?.[1]
    if (path.endsWith('.js') && url !== undefined && !url.startsWith('data:')) {
      const mapPath = resolve(dirname(path), url)
      if (!files.has(mapPath)) problems.push(`${relative(ROOT, path)} names a missing ${url}`)
    }
  }
  expect(problems).toEqual([])
  return maps
}

describe('the source maps of the published package', () => {
  it('carry their sources, as tsconfig.build.json emits them', () => {
    const emitted = emitWithBuildConfig(['src/core/errors.ts', 'adapters/storage-memory/index.ts'])
    expect([...emitted.keys()].some((path) => path.endsWith('.js'))).toBe(true)
    checkMaps(emitted)
  })

  it.skipIf(!existsSync(join(ROOT, 'dist')))('resolve in dist/ (after npm run build)', () => {
    const files = new Map<string, string>()
    for (const entry of readdirSync(join(ROOT, 'dist'), { recursive: true, withFileTypes: true })) {
      const path = join(entry.parentPath, entry.name)
      if (entry.isFile() && /\.(js|map)$/.test(entry.name))
        files.set(path, readFileSync(path, 'utf8'))
    }
    expect(checkMaps(files)).toBeGreaterThan(0)
  })
})
