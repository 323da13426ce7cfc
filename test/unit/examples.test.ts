/**
 * Every example runs: each program in examples/ and every `ts` code block in README.md and
 * docs/*.md is executed (imports of `starling`, `starling/wal` and `starling/testing` rewritten to
 * the sources, so no build is needed) and must exit 0. Examples import the package by name only,
 * as a user's code does, and must print their result lines.
 */
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { describe, expect, it } from 'vitest'
import { tempDir } from '../support/tmp.js'

const ROOT = resolve(import.meta.dirname, '../..')
const ENTRY_POINTS: Record<string, string> = {
  starling: 'src/index.ts',
  'starling/wal': 'src/wal/index.ts',
  'starling/testing': 'src/testing/index.ts',
}

/** tsx's loader, by path, so examples can run in any working directory. */
const TSX = pathToFileURL(join(ROOT, 'node_modules/tsx/dist/loader.mjs')).href

function runTs(file: string, cwd: string): string {
  return execFileSync(process.execPath, ['--import', TSX, file], {
    cwd,
    encoding: 'utf8',
    timeout: 60_000,
  })
}

/** The `ts` code blocks of a markdown file. */
function codeBlocks(markdown: string): string[] {
  return [...markdown.matchAll(/```ts\n([\s\S]*?)```/g)].map((match) => match[1] as string)
}

function rewriteImports(code: string): string {
  return code.replace(/from '(starling(?:\/[a-z]+)?)'/g, (whole, name: string) => {
    const target = ENTRY_POINTS[name]
    return target === undefined ? whole : `from '${join(ROOT, target)}'`
  })
}

const docs = ['README.md', ...readdirSync(join(ROOT, 'docs')).map((name) => `docs/${name}`)].filter(
  (f) => f.endsWith('.md'),
)

describe('documentation examples run', () => {
  for (const doc of docs) {
    const blocks = codeBlocks(readFileSync(join(ROOT, doc), 'utf8'))
    blocks.forEach((code, i) => {
      it(`${doc} block ${i + 1}`, () => {
        const cwd = tempDir()
        const file = join(mkdtempSync(join(cwd, 'x-')), `block-${i + 1}.mts`)
        writeFileSync(file, rewriteImports(code))
        expect(() => runTs(file, cwd)).not.toThrow()
      })
    })
  }
})

/**
 * The result lines each program in examples/ must print (a broken example fails). The fuzz
 * example's seeds are fixed, so its verdicts are too.
 */
const EXAMPLE_OUTPUT: Record<string, RegExp[]> = {
  'wal-quickstart.ts': [
    /^appended LSNs 1, 2, 3 in \d+ batch\(es\), \d+ fdatasync\(s\)$/m,
    /^recovered 3 records: alpha beta gamma$/m,
  ],
  'fuzz-custom-resolver.ts': [
    /^fuzzing the tag-union resolver over 6 seeds$/m,
    ...[1, 2, 3, 4, 5, 6].map(
      (seed) =>
        new RegExp(
          `^seed ${seed}: \\d peers \\(\\w+\\), 60 steps, converged, 0 violation\\(s\\)`,
          'm',
        ),
    ),
    /^ {2}- resolver-impure: .*resolver custom:concat-tags is not deterministic/m,
    /^ {2}- oracle: p\d: tags\/\w+ = .*, not a sorted set$/m,
    /^ {2}repro: npx starling simulate --replay '\{"seed":3,.*' --policies <module>/m,
    /^caught by: resolver-impure, oracle$/m,
    /^all runs held$/m,
  ],
}

const EXAMPLES = readdirSync(join(ROOT, 'examples')).filter((n) => n.endsWith('.ts'))

describe('examples/ run', () => {
  it('each states what it prints', () => {
    expect(Object.keys(EXAMPLE_OUTPUT).sort()).toEqual([...EXAMPLES].sort())
  })

  for (const name of EXAMPLES) {
    it(name, () => {
      const source = readFileSync(join(ROOT, 'examples', name), 'utf8')
      // Written as a user writes them: against the package, never the repository's files.
      expect(source).not.toMatch(/from '\.\.?\//)
      const file = join(tempDir(), name.replace(/\.ts$/, '.mts'))
      writeFileSync(file, rewriteImports(source))
      const output = runTs(file, tempDir())
      for (const line of EXAMPLE_OUTPUT[name] ?? []) expect(output).toMatch(line)
    })
  }
})
