/**
 * A hostile peer for sync tests: a raw endpoint on a memory network that sends whatever frames a
 * test builds (after its own HELLO) and records what it receives, plus helpers to build envelopes
 * and to read a store's WAL for before/after comparisons.
 */
import * as Y from 'yjs'
import type { MemoryNetwork } from '../../adapters/transport-memory/index.js'
import { crc32c } from '../../src/core/crc32c.js'
import type { NodeId, PeerId } from '../../src/core/ids.js'
import type { Store } from '../../src/index.js'
import { encodeUpdates, type DocUpdate } from '../../src/store/record-codec.js'
import type { Envelope } from '../../src/store/remote.js'
import { decodeFrame, encodeFrame } from '../../src/sync/frames.js'
import type { Frame } from '../../src/sync/protocol.js'
import { turns } from './turns.js'
import { storeInternalsOf } from '../../src/store/internals.js'

/** The update of issue 8: one item whose right origin is itself (decodes, cannot be applied). */
export const SELF_RIGHT_ORIGIN_UPDATE = Uint8Array.from(
  '0101e583a6ab090044e583a6ab0900015800'.match(/../g) ?? [],
  (hex) => parseInt(hex, 16),
)

/** An envelope carrying `updates` as a v1 store record, with a correct checksum. */
export function envelopeOf(origin: string, originLsn: number, updates: DocUpdate[]): Envelope {
  const payload = encodeUpdates(updates)
  return {
    origin: origin as NodeId,
    originLsn,
    hlc: { wallMs: 0, counter: 0 },
    payload,
    crc: crc32c(payload),
  }
}

/** A valid Yjs update of a text document holding `content` (root type `value`, as the store's). */
export function textUpdate(content: string, clientID = 7): Uint8Array {
  const doc = new Y.Doc()
  doc.clientID = clientID
  doc.getText('value').insert(0, content)
  const update = Y.encodeStateAsUpdate(doc)
  doc.destroy()
  return update
}

/** A raw endpoint speaking frames to one store's node. */
export interface HostilePeer {
  readonly nodeId: NodeId
  /** Frames received from the node, decoded. */
  readonly received: Frame[]
  readonly down: () => boolean
  /** Sends a frame (or raw bytes) to the node. */
  send(frame: Frame | Uint8Array): void
  /** Sends HELLO and lets the node answer. */
  hello(lastLsn?: number): Promise<void>
}

/** Starts a hostile endpoint `id` on `net`, talking to the node at transport id `target`. */
export async function hostilePeer(
  net: MemoryNetwork,
  id: string,
  target: string,
): Promise<HostilePeer> {
  const transport = net.transport(id)
  const received: Frame[] = []
  let down = false
  transport.start({
    onPeerUp: () => undefined,
    onPeerDown: (peer) => {
      if (peer === target) down = true
    },
    onMessage: (peer, message) => {
      if (peer === target) received.push(decodeFrame(message))
    },
  })
  await turns(3)
  const send = (frame: Frame | Uint8Array): void => {
    const bytes = frame instanceof Uint8Array ? frame : encodeFrame(frame)
    try {
      transport.send(target as PeerId, bytes)
    } catch {
      down = true
    }
  }
  return {
    nodeId: id as NodeId,
    received,
    down: () => down,
    send,
    async hello(lastLsn = 0) {
      await turns(5)
      send({ type: 'hello', protocolVersion: 1, nodeId: id as NodeId, lastLsn })
      await turns(5)
    },
  }
}

/** Every record of a store's WAL (LSN, type, payload bytes), for before/after comparisons. */
export async function walRecords(
  store: Store,
): Promise<{ lsn: number; type: number; payload: number[] }[]> {
  const records: { lsn: number; type: number; payload: number[] }[] = []
  for await (const record of storeInternalsOf(store).wal.read(storeInternalsOf(store).wal.firstLsn))
    records.push({ lsn: record.lsn, type: record.type, payload: [...record.payload] })
  return records
}

/**
 * Waits until `check` holds (polling between turns of the event loop, for on-disk stores whose
 * fsyncs finish on other threads); throws naming `what` if it never does. A ceiling, not a sleep:
 * the test goes on as soon as the condition holds.
 */
export async function eventually(
  check: () => boolean | Promise<boolean>,
  what: string,
  waitsMax = 4000,
): Promise<void> {
  for (let i = 0; i < waitsMax; i++) {
    if (await check()) return
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
  throw new Error(`never happened: ${what}`)
}
