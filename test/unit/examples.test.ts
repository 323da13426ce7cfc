/**
 * Every example runs: each program in examples/ and every `ts` code block in README.md and
 * docs/*.md is executed (imports of `starling` rewritten to the sources) and must exit 0.
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

describe('examples/ run', () => {
  for (const name of readdirSync(join(ROOT, 'examples')).filter((n) => n.endsWith('.ts'))) {
    it(name, () => {
      const output = runTs(join(ROOT, 'examples', name), tempDir())
      expect(output.length).toBeGreaterThan(0)
    })
  }
})
