/**
 * Loading fast-check, the optional peer dependency `fuzz` needs. It is imported on first use, so
 * `starling/testing` works without it for everything else; when it is missing, `fuzz` fails with
 * a `DEPENDENCY_MISSING` error that says what to install instead of a raw module-not-found error.
 */
import type * as FastCheckModule from 'fast-check'
import { StarlingError } from '../../core/errors.js'

/** The fast-check module. */
export type FastCheck = typeof FastCheckModule

/** The package `fuzz` needs. */
export const FAST_CHECK_PACKAGE = 'fast-check'

/** Codes module loaders give an import that found no such package (Node ESM, CommonJS, Vite). */
const NOT_FOUND_CODES = new Set(['ERR_MODULE_NOT_FOUND', 'MODULE_NOT_FOUND', 'ERR_LOAD_URL'])

/**
 * Imports fast-check with `importer` (the real dynamic import by default). A failure to find the
 * package is `DEPENDENCY_MISSING` (details: `package`; the import error as `cause`); any other
 * failure — fast-check found but broken — is rethrown as it is.
 */
export async function loadFastCheck(
  importer: () => Promise<FastCheck> = () => import('fast-check'),
): Promise<FastCheck> {
  try {
    return await importer()
  } catch (error) {
    if (!isPackageMissing(error)) throw error
    throw new StarlingError(
      'DEPENDENCY_MISSING',
      `fuzz() needs the ${FAST_CHECK_PACKAGE} package, which is not installed: ` +
        `npm install --save-dev ${FAST_CHECK_PACKAGE}`,
      { package: FAST_CHECK_PACKAGE },
      error,
    )
  }
}

/** Whether `error` says that fast-check itself (not a module it imports) was not found. */
function isPackageMissing(error: unknown): boolean {
  if (!(error instanceof Error)) return false
  const code = (error as { code?: unknown }).code
  if (typeof code !== 'string' || !NOT_FOUND_CODES.has(code)) return false
  // Node: "Cannot find package 'fast-check' imported from …", CommonJS: "Cannot find module
  // 'fast-check'", Vite: "Failed to load url fast-check …". A module missing inside an installed
  // fast-check is named by its path instead.
  return /(?:['"]|url )fast-check(?:['"]|\s|$)/.test(error.message)
}
