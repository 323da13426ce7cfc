/** Runs the `starling` CLI from the sources as a real child process (through tsx). */
import { spawn } from 'node:child_process'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

/** The repository root. */
export const ROOT = fileURLToPath(new URL('../../', import.meta.url))
/** The CLI entry point. */
export const CLI_MAIN = join(ROOT, 'src/cli/main.ts')

/** Exit code and output of one CLI run. */
export interface CliResult {
  code: number | null
  stdout: string
  stderr: string
}

/** Runs `starling <args…>` and collects its exit code and output. */
export function runCli(...args: string[]): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CLI_MAIN, ...args], { cwd: ROOT })
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk))
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk))
    child.on('error', reject)
    child.on('close', (code) => resolve({ code, stdout, stderr }))
  })
}
