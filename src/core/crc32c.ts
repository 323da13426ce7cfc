/**
 * CRC32C (Castagnoli, reflected polynomial 0x82F63B78), the checksum of WAL records and sync
 * frames. Table-driven, eight bytes per step ("slicing by 8"). In Node, inputs of
 * {@link CRC32C_NATIVE_MIN_BYTES} or more go to the optional native module `@node-rs/crc32`
 * (the CPU's CRC32C instruction, about 3× faster at 1 KiB); smaller ones stay in JavaScript,
 * where a call is cheaper than crossing into native code. Both give identical results.
 */

const POLY = 0x82f63b78
const TABLES = buildTables()

function buildTables(): Int32Array {
  const tables = new Int32Array(8 * 256)
  for (let n = 0; n < 256; n++) {
    let c = n
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ POLY : c >>> 1
    tables[n] = c
  }
  for (let t = 1; t < 8; t++) {
    for (let n = 0; n < 256; n++) {
      const prev = tables[(t - 1) * 256 + n] as number
      tables[t * 256 + n] = (prev >>> 8) ^ (tables[prev & 0xff] as number)
    }
  }
  return tables
}

/** Inputs at least this long use the native implementation when it is installed. */
export const CRC32C_NATIVE_MIN_BYTES = 256

type NativeCrc32c = (input: Uint8Array, initialState?: number) => number

interface NodeModuleApi {
  createRequire(from: string): (id: string) => unknown
}

/**
 * The native CRC32C of `@node-rs/crc32`, or undefined (not installed, not Node, or a Node
 * without `process.getBuiltinModule`, before 20.16). Loaded synchronously: a top-level await
 * here would make every module importing this one asynchronous, and `require()` of the package
 * (Node ≥ 22) refuses asynchronous modules.
 */
function loadNative(): NativeCrc32c | undefined {
  if (typeof process === 'undefined' || process.env['STARLING_CRC32C_JS'] === '1') return undefined
  try {
    const getBuiltin = (process as { getBuiltinModule?: (id: string) => unknown }).getBuiltinModule
    const nodeModule = getBuiltin?.call(process, 'node:module') as NodeModuleApi | undefined
    if (nodeModule === undefined) return undefined
    const native = nodeModule.createRequire(import.meta.url)('@node-rs/crc32') as {
      crc32c?: NativeCrc32c
    }
    return typeof native.crc32c === 'function' ? native.crc32c : undefined
  } catch {
    return undefined
  }
}

const NATIVE = loadNative()

/** Whether the native CRC32C is in use (for reports; results never depend on it). */
export const crc32cIsNative = NATIVE !== undefined

/** Initial state for {@link crc32cUpdate}. */
export const CRC32C_INIT = 0xffffffff

/**
 * Folds `bytes[start, end)` into a running CRC state (start with {@link CRC32C_INIT}, finish
 * with {@link crc32cFinish}). States can be saved and resumed, e.g. after hashing a salt.
 */
export function crc32cUpdate(
  state: number,
  bytes: Uint8Array,
  start = 0,
  end = bytes.length,
): number {
  if (NATIVE !== undefined && end - start >= CRC32C_NATIVE_MIN_BYTES) {
    // The native call continues from a finished CRC, not from a raw state.
    return ~NATIVE(bytes.subarray(start, end), ~state >>> 0) >>> 0
  }
  return crc32cUpdateJs(state, bytes, start, end)
}

/** The JavaScript implementation of {@link crc32cUpdate} (exported for tests). */
export function crc32cUpdateJs(
  state: number,
  bytes: Uint8Array,
  start = 0,
  end = bytes.length,
): number {
  const t = TABLES
  // Signed 32-bit arithmetic inside the loop (no `>>> 0`): V8 keeps it in small integers.
  let crc = state | 0
  let i = start
  for (; i + 8 <= end; i += 8) {
    const lo =
      crc ^
      ((bytes[i] as number) |
        ((bytes[i + 1] as number) << 8) |
        ((bytes[i + 2] as number) << 16) |
        ((bytes[i + 3] as number) << 24))
    crc =
      (t[1792 + (lo & 0xff)] as number) ^
      (t[1536 + ((lo >>> 8) & 0xff)] as number) ^
      (t[1280 + ((lo >>> 16) & 0xff)] as number) ^
      (t[1024 + (lo >>> 24)] as number) ^
      (t[768 + (bytes[i + 4] as number)] as number) ^
      (t[512 + (bytes[i + 5] as number)] as number) ^
      (t[256 + (bytes[i + 6] as number)] as number) ^
      (t[bytes[i + 7] as number] as number)
  }
  for (; i < end; i++) crc = (crc >>> 8) ^ (t[(crc ^ (bytes[i] as number)) & 0xff] as number)
  return crc >>> 0
}

/** Turns a running state into the final checksum. */
export function crc32cFinish(state: number): number {
  return (state ^ 0xffffffff) >>> 0
}

/** CRC32C of `bytes[start, end)`. */
export function crc32c(bytes: Uint8Array, start = 0, end = bytes.length): number {
  return crc32cFinish(crc32cUpdate(CRC32C_INIT, bytes, start, end))
}
