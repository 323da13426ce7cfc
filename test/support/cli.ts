/** Runs the `starling` CLI from the sources as a real child process (through tsx). */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process'
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

/** Starts `starling <args…>` with every standard stream a pipe. */
export function spawnCli(args: readonly string[]): ChildProcessWithoutNullStreams {
  return spawn(process.execPath, ['--import', 'tsx', CLI_MAIN, ...args], { cwd: ROOT })
}

/** Runs `starling <args…>` with `input` on its stdin, and collects its exit code and output. */
export function runCliWithInput(input: string | Uint8Array, ...args: string[]): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawnCli(args)
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk))
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk))
    // A command that never reads stdin closes it at exit: that is not this test's failure.
    child.stdin.on('error', () => undefined)
    child.stdin.end(input)
    child.on('error', reject)
    child.on('close', (code) => resolve({ code, stdout, stderr }))
  })
}

/** Runs `starling <args…>` (with an empty stdin) and collects its exit code and output. */
export function runCli(...args: string[]): Promise<CliResult> {
  return runCliWithInput('', ...args)
}
