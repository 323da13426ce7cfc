/**
 * The built-in workload: each step draws one operation by weight — set or delete a register or a
 * document, type into a text, push to or delete from an array, set a map field, a transaction over
 * several keys, a checkpoint, or nothing — on a random peer, from the run's operation stream.
 */
import type { Rng } from '../../core/random.js'
import type { JsonValue } from '../../policy/json.js'
import type {
  OpContext,
  OpKind,
  OpWeights,
  WorkloadOp,
  WorkloadWriteOp,
  TextEdit,
} from './types.js'

/** Default weights of the built-in operations. */
export const DEFAULT_WEIGHTS: Readonly<Record<OpKind, number>> = {
  set: 4,
  delete: 1,
  text: 5,
  array: 3,
  map: 1,
  transact: 2,
  checkpoint: 1,
  idle: 2,
}

const WORDS = ['a', 'lo', 'sim', 'yjs', 'wal', 'ack', 'peer', ' ', '\n', 'crdt']

/** The built-in generator with `weights` (see {@link DEFAULT_WEIGHTS}). */
export function builtinOp(
  ctx: OpContext,
  weights: OpWeights,
  value: (rng: Rng, key: string) => JsonValue,
): WorkloadOp {
  const { rng } = ctx
  const kind = pickWeighted(rng, { ...DEFAULT_WEIGHTS, ...weights })
  const peer = rng.int(ctx.peers)
  switch (kind) {
    case 'idle':
      return { kind: 'idle' }
    case 'checkpoint':
      return { kind: 'checkpoint', peer }
    case 'delete':
      return { kind: 'delete', peer, key: pick(rng, ctx.keys) }
    case 'transact': {
      const ops: WorkloadWriteOp[] = []
      for (let n = 2 + rng.int(2); n > 0; n--) {
        const op = writeOp(
          ctx,
          pickWeighted(rng, { set: 1, text: 2, array: 1, map: 1 }),
          peer,
          value,
        )
        if (op !== undefined) ops.push(op)
      }
      return ops.length === 0 ? { kind: 'idle' } : { kind: 'transact', peer, ops }
    }
    default:
      return writeOp(ctx, kind, peer, value) ?? { kind: 'idle' }
  }
}

/** A write of `kind` on a key of a fitting kind, or undefined when no key fits. */
function writeOp(
  ctx: OpContext,
  kind: 'set' | 'text' | 'array' | 'map',
  peer: number,
  value: (rng: Rng, key: string) => JsonValue,
): WorkloadWriteOp | undefined {
  const { rng } = ctx
  const fitting = ctx.keys.filter((key) => ctx.kindOf(key) === (kind === 'set' ? 'register' : kind))
  if (fitting.length === 0) return undefined
  const key = pick(rng, fitting)
  switch (kind) {
    case 'set':
      return { kind, peer, key, value: value(rng, key) }
    case 'text':
      return { kind, peer, key, edits: textEdits(rng), transact: rng.int(2) === 0 }
    case 'array': {
      const push = Array.from({ length: rng.int(3) }, () => rng.int(100))
      return rng.int(3) === 0
        ? { kind, peer, key, push, removeAt: rng.next() }
        : { kind, peer, key, push }
    }
    case 'map':
      return { kind, peer, key, field: pick(rng, ['x', 'y', 'z']), value: value(rng, key) }
  }
}

function textEdits(rng: Rng): TextEdit[] {
  return Array.from({ length: 1 + rng.int(3) }, () => ({
    at: rng.next(),
    remove: rng.int(3) === 0 ? 1 + rng.int(4) : 0,
    insert: rng.int(5) === 0 ? '' : pick(rng, WORDS),
  }))
}

/** A uniformly chosen item of a non-empty list. */
export function pick<T>(rng: Rng, items: readonly T[]): T {
  return items[rng.int(items.length)] as T
}

/** A key of `weights` chosen with probability proportional to its weight. */
export function pickWeighted<K extends string>(rng: Rng, weights: Readonly<Record<K, number>>): K {
  const entries = (Object.entries(weights) as [K, number][]).filter(([, w]) => w > 0)
  const total = entries.reduce((sum, [, w]) => sum + w, 0)
  if (entries.length === 0) throw new TypeError('simulate: every operation weight is 0')
  let at = rng.next() * total
  for (const [key, weight] of entries) {
    if (at < weight) return key
    at -= weight
  }
  return (entries[entries.length - 1] as [K, number])[0]
}

/** A short description of an operation for violation lines. */
export function describeOp(op: WorkloadOp): string {
  switch (op.kind) {
    case 'idle':
      return 'idle'
    case 'checkpoint':
      return `checkpoint@p${op.peer}`
    case 'transact':
      return `transact@p${op.peer}[${op.ops.map(describeOp).join(', ')}]`
    case 'custom':
      return `${op.label}@p${op.peer}`
    case 'partition':
      return `partition ${JSON.stringify(op.groups)}`
    case 'heal':
      return 'heal'
    case 'set':
    case 'map':
      return `${op.kind} ${op.key}=${JSON.stringify(op.value)}@p${op.peer}`
    default:
      return `${op.kind} ${op.key}@p${op.peer}`
  }
}
