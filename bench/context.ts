/**
 * What the runner hands every benchmark module: a scratch directory that is deleted afterwards.
 */
import { mkdir, rm } from 'node:fs/promises'
import { join } from 'node:path'

/** The scratch space of one benchmark run. */
export interface BenchContext {
  /** Root scratch directory; the runner deletes it when the run ends. */
  readonly root: string
  /** Creates a new empty directory under the root, named after `label`. */
  freshDir(label: string): Promise<string>
  /** Deletes a directory made by {@link BenchContext.freshDir} (frees disk between rounds). */
  removeDir(dir: string): Promise<void>
}

/** A benchmark module as the runner loads it. */
export interface BenchModule {
  /** Runs every measurement of the module, reporting one JSON line per result. */
  run(ctx: BenchContext): Promise<void>
}

/** Creates the context for a run whose scratch directories go under `root`. */
export function createBenchContext(root: string): BenchContext {
  let made = 0
  return {
    root,
    async freshDir(label: string): Promise<string> {
      const dir = join(root, `${label}-${++made}`)
      await mkdir(dir, { recursive: true })
      return dir
    },
    async removeDir(dir: string): Promise<void> {
      await rm(dir, { recursive: true, force: true })
    },
  }
}
