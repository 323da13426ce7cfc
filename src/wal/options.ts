/**
 * Validation of `openWal` options: wrong types and impossible limits are programmer errors
 * (`TypeError`/`RangeError` with code `INVALID_ARGUMENT`), reported at open, never later.
 */
import { invalidArgument } from '../core/errors.js'
import { WAL_LIMITS } from '../core/limits.js'
import { RECORD_HEADER_BYTES, SEGMENT_HEADER_BYTES, recordBytes } from './format.js'
import type { Durability, WalOptions } from './types.js'

/** Options with every default filled in and checked. */
export interface ResolvedWalOptions {
  durability: Durability
  flushIntervalMs: number
  recordBytesMax: number
  batchBytesMax: number
  segmentBytesMax: number
  waitingAppendsMax: number
  repair: boolean
  startLsn: number
}

const DURABILITIES: readonly Durability[] = ['sync', 'batched', 'none']

function positiveInt(
  name: string,
  value: number | undefined,
  fallback: number,
  min: number,
  max: number,
): number {
  if (value === undefined) return fallback
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw invalidArgument(
      `openWal: ${name} must be an integer in [${min}, ${max}], got ${String(value)}`,
    )
  }
  return value
}

/** Fills in defaults and validates `options`. */
export function resolveWalOptions(options: WalOptions): ResolvedWalOptions {
  if (typeof options !== 'object' || options === null)
    throw invalidArgument('openWal: options must be an object')
  const durability = options.durability ?? 'sync'
  if (!DURABILITIES.includes(durability)) {
    throw invalidArgument(
      `openWal: durability must be one of ${DURABILITIES.join(', ')}, got ${String(durability)}`,
    )
  }
  const recordBytesMax = positiveInt(
    'recordBytesMax',
    options.recordBytesMax,
    WAL_LIMITS.recordBytesMax,
    0,
    2 ** 30,
  )
  const smallestBatch = recordBytes(recordBytesMax) + SEGMENT_HEADER_BYTES
  const batchBytesMax = positiveInt(
    'batchBytesMax',
    options.batchBytesMax,
    Math.max(WAL_LIMITS.batchBytesMax, smallestBatch),
    smallestBatch,
    2 ** 31,
  )
  return {
    durability,
    flushIntervalMs: positiveInt(
      'flushIntervalMs',
      options.flushIntervalMs,
      WAL_LIMITS.flushIntervalMsDefault,
      1,
      WAL_LIMITS.flushIntervalMsMax,
    ),
    recordBytesMax,
    batchBytesMax,
    segmentBytesMax: positiveInt(
      'segmentBytesMax',
      options.segmentBytesMax,
      WAL_LIMITS.segmentBytesMax,
      SEGMENT_HEADER_BYTES + RECORD_HEADER_BYTES,
      2 ** 40,
    ),
    waitingAppendsMax: positiveInt(
      'waitingAppendsMax',
      options.waitingAppendsMax,
      WAL_LIMITS.waitingAppendsMax,
      0,
      2 ** 24,
    ),
    repair: options.repair === true,
    startLsn: positiveInt('startLsn', options.startLsn, 1, 1, Number.MAX_SAFE_INTEGER),
  }
}
