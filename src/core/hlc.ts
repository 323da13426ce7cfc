/**
 * Hybrid logical clock (Kulkarni et al., "Logical Physical Clocks", 2014). A timestamp is a
 * 48-bit wall-clock millisecond, a 16-bit logical counter and the node id as the final tiebreak, so
 * timestamps of different nodes are never equal and the order is total. The clock stays close to
 * the wall clock, never goes backwards when the wall clock does, and refuses remote timestamps from
 * too far in the future so that one peer with a wrong clock cannot "win forever" (docs/ARCHITECTURE.md).
 */
import * as encoding from 'lib0/encoding'

import { describeValue } from './describe.js'
import type { Env } from './env.js'
import { invalidArgument, StarlingError } from './errors.js'
import type { ErrorDetails } from './errors.js'
import { isNodeId } from './ids.js'
import type { NodeId } from './ids.js'
import { HLC_LIMITS } from './limits.js'
import { StrictDecoder, failWith } from './strict-decoder.js'

/** A hybrid logical clock timestamp. */
export interface Hlc {
  /** Wall-clock milliseconds since the Unix epoch, an integer in [0, 2^48). */
  readonly wallMs: number
  /** Logical counter for events within the same millisecond, an integer in [0, 2^16). */
  readonly counter: number
  /** The node that issued the timestamp; breaks ties between nodes. */
  readonly nodeId: NodeId
}

/** Options of {@link createHlcClock}. */
export interface HlcClockOptions {
  /**
   * Largest distance in ms a remote `wallMs` may lie ahead of the local wall clock
   * (default `HLC_LIMITS.futureSkewMsMaxDefault`, five minutes).
   */
  readonly futureSkewMsMax?: number
  /**
   * The former name of {@link HlcClockOptions.futureSkewMsMax}, used when that is not given.
   * @deprecated Use `futureSkewMsMax`; this alias is removed in the next release.
   */
  readonly maxFutureSkewMs?: number
  /**
   * The timestamp to continue from, e.g. the largest one found in the log on open, so that the
   * clock stays monotonic across restarts even when the wall clock went back meanwhile.
   */
  readonly initial?: Hlc
}

/** A hybrid logical clock owned by one node. */
export interface HlcClock {
  /** The node id stamped on every timestamp this clock issues. */
  readonly nodeId: NodeId
  /**
   * A timestamp for a local event or a send: strictly greater than every timestamp this clock has
   * issued or received. Throws `HLC_OVERFLOW` when `wallMs` would pass 2^48 − 1.
   */
  now(): Hlc
  /**
   * Merges a remote timestamp and returns the new local one, strictly greater than both the
   * previous local timestamp and `remote` (already in `(wallMs, counter)`, whatever the node ids).
   * Throws `HLC_CLOCK_SKEW` when `remote.wallMs` is more than `futureSkewMsMax` ahead of
   * `env.nowMs()`; exactly `futureSkewMsMax` ahead is accepted. A rejected or failed call leaves
   * the clock unchanged.
   */
  receive(remote: Hlc): Hlc
  /** The latest timestamp the clock returned (or the starting point before the first call). */
  last(): Hlc
}

/** Version byte at the start of every encoded timestamp. */
export const HLC_ENCODING_VERSION = 1

/**
 * Longest valid encoding: version (1) + varuint of 48 bits (7) + varuint of 16 bits (3) + length
 * of the node id (1) + node id (64).
 */
export const HLC_ENCODED_BYTES_MAX = 76

/** Orders timestamps by `wallMs`, then `counter`, then `nodeId` (UTF-16 code-unit order). */
export function compareHlc(a: Hlc, b: Hlc): number {
  if (a.wallMs !== b.wallMs) return a.wallMs < b.wallMs ? -1 : 1
  if (a.counter !== b.counter) return a.counter < b.counter ? -1 : 1
  if (a.nodeId === b.nodeId) return 0
  return a.nodeId < b.nodeId ? -1 : 1
}

/** True when `value` is a well-formed timestamp (integer fields in range, valid node id). */
export function isHlc(value: unknown): value is Hlc {
  if (typeof value !== 'object' || value === null) return false
  const { wallMs, counter, nodeId } = value as Record<string, unknown>
  return (
    isIntegerIn(wallMs, HLC_LIMITS.wallMsMax) &&
    isIntegerIn(counter, HLC_LIMITS.counterMax) &&
    isNodeId(nodeId)
  )
}

function isIntegerIn(value: unknown, max: number): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= max
}

function requireHlc(value: unknown, name: string): asserts value is Hlc {
  if (!isHlc(value)) {
    throw invalidArgument(
      `${name} must be a well-formed HLC timestamp, got ${describeValue(value)}`,
    )
  }
}

/**
 * Creates a hybrid logical clock for `nodeId` that reads the wall clock from `env`.
 *
 * Rules, in order:
 * - Wall time is `Math.floor(env.nowMs())`; a non-finite or negative reading counts as 0.
 * - Skew: `receive(remote)` rejects `remote` with `HLC_CLOCK_SKEW` (details: `remoteWallMs`,
 *   `localWallMs`, `skewMs`, `futureSkewMsMax`, `remoteNodeId`) when
 *   `remote.wallMs - wallTime > futureSkewMsMax`. The clock state is unchanged.
 * - Counter overflow: when the counter would pass `HLC_LIMITS.counterMax` (65535), the clock
 *   borrows the next millisecond instead: `wallMs + 1`, counter 0. Order is preserved; the clock
 *   runs at most a few ms ahead of the wall clock while more than 65536 events per ms happen.
 * - Wall overflow: a timestamp whose `wallMs` would pass `HLC_LIMITS.wallMsMax` throws
 *   `HLC_OVERFLOW`; the clock state is unchanged.
 *
 * @example
 * ```ts
 * const clock = createHlcClock(systemEnv, toNodeId('laptop'))
 * const stamp = clock.now()
 * const merged = clock.receive(decodeHlc(bytesFromPeer))
 * compareHlc(stamp, merged) < 0 // true
 * ```
 */
export function createHlcClock(env: Env, nodeId: NodeId, options: HlcClockOptions = {}): HlcClock {
  if (!isNodeId(nodeId)) throw invalidArgument(`invalid node id ${describeValue(nodeId)}`)
  const futureSkewMsMax =
    options.futureSkewMsMax ?? options.maxFutureSkewMs ?? HLC_LIMITS.futureSkewMsMaxDefault
  if (!Number.isSafeInteger(futureSkewMsMax) || futureSkewMsMax < 0) {
    throw invalidArgument(`futureSkewMsMax must be a non-negative safe integer`)
  }
  if (options.initial !== undefined) requireHlc(options.initial, 'options.initial')
  let state: Hlc = {
    wallMs: options.initial?.wallMs ?? 0,
    counter: options.initial?.counter ?? 0,
    nodeId,
  }
  const commit = (next: Hlc): Hlc => {
    state = next
    return { ...next }
  }
  return {
    nodeId,
    now: () => commit(tickLocal(state, readWallMs(env))),
    receive(remote) {
      requireHlc(remote, 'remote')
      const wallMs = readWallMs(env)
      checkSkew(remote, wallMs, futureSkewMsMax)
      return commit(tickReceive(state, remote, wallMs))
    },
    last: () => ({ ...state }),
  }
}

function readWallMs(env: Env): number {
  const ms = env.nowMs()
  return Number.isFinite(ms) && ms > 0 ? Math.floor(ms) : 0
}

/** The HLC send/local-event rule. */
function tickLocal(local: Hlc, wallMs: number): Hlc {
  if (wallMs > local.wallMs) return settle(wallMs, 0, local.nodeId)
  return settle(local.wallMs, local.counter + 1, local.nodeId)
}

/** The HLC receive rule. */
function tickReceive(local: Hlc, remote: Hlc, wallMs: number): Hlc {
  const next = Math.max(local.wallMs, remote.wallMs, wallMs)
  const fromLocal = next === local.wallMs
  const fromRemote = next === remote.wallMs
  let counter = 0
  if (fromLocal && fromRemote) counter = Math.max(local.counter, remote.counter) + 1
  else if (fromLocal) counter = local.counter + 1
  else if (fromRemote) counter = remote.counter + 1
  return settle(next, counter, local.nodeId)
}

/** Applies the counter-overflow and wall-overflow rules. */
function settle(wallMs: number, counter: number, nodeId: NodeId): Hlc {
  let wall = wallMs
  let count = counter
  if (count > HLC_LIMITS.counterMax) {
    wall += 1
    count = 0
  }
  if (wall > HLC_LIMITS.wallMsMax) {
    throw new StarlingError('HLC_OVERFLOW', `HLC wall time ${wall} exceeds 2^48 - 1`, {
      wallMs: wall,
      wallMsMax: HLC_LIMITS.wallMsMax,
    })
  }
  return { wallMs: wall, counter: count, nodeId }
}

function checkSkew(remote: Hlc, wallMs: number, futureSkewMsMax: number): void {
  const skewMs = remote.wallMs - wallMs
  if (skewMs <= futureSkewMsMax) return
  throw new StarlingError(
    'HLC_CLOCK_SKEW',
    `remote timestamp from ${remote.nodeId} is ${skewMs} ms ahead of the local clock ` +
      `(limit ${futureSkewMsMax} ms)`,
    {
      remoteWallMs: remote.wallMs,
      localWallMs: wallMs,
      skewMs,
      futureSkewMsMax,
      remoteNodeId: remote.nodeId,
    },
  )
}

/**
 * Encodes a timestamp with lib0: `u8 version | varuint wallMs | varuint counter | varstring
 * nodeId`. At most {@link HLC_ENCODED_BYTES_MAX} bytes.
 */
export function encodeHlc(hlc: Hlc): Uint8Array {
  requireHlc(hlc, 'hlc')
  const encoder = encoding.createEncoder()
  encoding.writeUint8(encoder, HLC_ENCODING_VERSION)
  encoding.writeVarUint(encoder, hlc.wallMs)
  encoding.writeVarUint(encoder, hlc.counter)
  encoding.writeVarString(encoder, hlc.nodeId)
  return encoding.toUint8Array(encoder)
}

const HLC_FAILURE = failWith('CODEC_MALFORMED', 'malformed HLC')

/**
 * Decodes a timestamp written by {@link encodeHlc}. Anything else — empty, truncated, too long,
 * trailing bytes, an unknown version, out-of-range fields, an invalid node id or a non-canonical
 * encoding — throws `CODEC_MALFORMED`, never another error.
 */
export function decodeHlc(bytes: Uint8Array): Hlc {
  if (!(bytes instanceof Uint8Array)) throw invalidArgument('decodeHlc expects a Uint8Array')
  if (bytes.length === 0 || bytes.length > HLC_ENCODED_BYTES_MAX) {
    throw malformed(`an encoded HLC has 1–${HLC_ENCODED_BYTES_MAX} bytes`, { length: bytes.length })
  }
  const r = new StrictDecoder(bytes, HLC_FAILURE)
  const version = r.u8()
  if (version !== HLC_ENCODING_VERSION) throw r.fail(`unknown HLC encoding version ${version}`, 0)
  const wallMs = r.varuint(HLC_LIMITS.wallMsMax)
  const counter = r.varuint(HLC_LIMITS.counterMax)
  const nodeId = r.nodeId()
  r.end('the HLC')
  return { wallMs, counter, nodeId }
}

function malformed(message: string, details: ErrorDetails): StarlingError {
  return new StarlingError('CODEC_MALFORMED', message, details)
}

const WALL_HEX_DIGITS = 12
const COUNTER_HEX_DIGITS = 4
const FORMAT_PATTERN = /^([0-9a-f]{12})-([0-9a-f]{4})-(.*)$/s

/**
 * Formats a timestamp as `<12 hex digits wallMs>-<4 hex digits counter>-<nodeId>`. Sorting these
 * strings by code units gives exactly the {@link compareHlc} order.
 *
 * @example
 * ```ts
 * formatHlc({ wallMs: 1, counter: 2, nodeId: toNodeId('a') }) // '000000000001-0002-a'
 * ```
 */
export function formatHlc(hlc: Hlc): string {
  requireHlc(hlc, 'hlc')
  const wall = hlc.wallMs.toString(16).padStart(WALL_HEX_DIGITS, '0')
  const counter = hlc.counter.toString(16).padStart(COUNTER_HEX_DIGITS, '0')
  return `${wall}-${counter}-${hlc.nodeId}`
}

/** Parses the output of {@link formatHlc}; anything else throws `CODEC_MALFORMED`. */
export function parseHlc(text: string): Hlc {
  const match = typeof text === 'string' ? FORMAT_PATTERN.exec(text) : null
  const hlc: unknown = match && {
    wallMs: Number.parseInt(match[1] ?? '', 16),
    counter: Number.parseInt(match[2] ?? '', 16),
    nodeId: match[3],
  }
  if (!isHlc(hlc)) throw malformed(`not a formatted HLC: ${describeValue(text)}`, {})
  return hlc
}
