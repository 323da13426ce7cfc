/**
 * The CLI's standard streams. A reader that goes away before the output ends (`starling inspect
 * DIR | head`: the pipe's reader closes, writes fail with EPIPE) is not a failure of the command:
 * the process exits at once, quietly, with the exit code the command had set (0 if none), as Unix
 * tools do. The store commands write their result only after closing the store, so only the
 * output is cut short; a demo stops as a killed process would, which its stores survive
 * (docs/guarantees.md).
 */
import type { CliIo } from './args.js'

function exitCodeSoFar(): number {
  return typeof process.exitCode === 'number' ? process.exitCode : 0
}

function onStdoutError(error: NodeJS.ErrnoException): void {
  if (error.code === 'EPIPE') process.exit(exitCodeSoFar())
  process.stderr.write(`starling: cannot write to stdout: ${error.message}\n`)
  process.exit(1)
}

async function readStdin(): Promise<Uint8Array> {
  const chunks: Buffer[] = []
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks)
}

/** The process's stdout and stderr as a {@link CliIo}, with a closed stdout handled (above). */
export function processIo(): CliIo {
  process.stdout.on('error', onStdoutError)
  // A closed stderr leaves nowhere to report anything: carry on without it.
  process.stderr.on('error', () => undefined)
  return {
    out: (text) => void process.stdout.write(text),
    err: (text) => void process.stderr.write(text),
    isTTY: process.stdout.isTTY === true,
    readStdin,
  }
}
