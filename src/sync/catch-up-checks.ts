/**
 * Checks of catch-up frame fields that the frame decoder takes as opaque (docs/sync.md,
 * "Decoding and validation"): every document key is a store key or the registry, checked exactly
 * like a key given to the API, and every state vector decodes exactly. A frame that fails is
 * refused on receipt with `SYNC_FRAME_MALFORMED` and counted against the peer, before anything
 * loads a document or reads the vector (I10).
 */
import * as decoding from 'lib0/decoding'
import { StarlingError } from '../core/errors.js'
import { REGISTRY_KEY, assertKey } from '../store/keys.js'
import { FRAME_TYPE } from './protocol.js'

/** The document fields of a catch-up frame. */
interface CatchUpDoc {
  key: string
  stateVector?: Uint8Array
}

/** Throws `SYNC_FRAME_MALFORMED` unless every document of a catch-up frame is well-formed. */
export function checkCatchUpDocs(
  frameType: 'catchUpOffer' | 'catchUpRequest' | 'catchUpData',
  docs: readonly CatchUpDoc[],
): void {
  docs.forEach((doc, index) => {
    try {
      if (doc.key !== REGISTRY_KEY) assertKey(doc.key, 'sync')
      if (doc.stateVector !== undefined) checkStateVector(doc.stateVector)
    } catch (error) {
      throw new StarlingError(
        'SYNC_FRAME_MALFORMED',
        `${frameType} document ${index}: ${(error as Error).message}`,
        { frameType: FRAME_TYPE[frameType], document: index },
        error,
      )
    }
  })
}

/** A Yjs state vector: varuint count, then count × (varuint client, varuint clock), nothing else. */
function checkStateVector(bytes: Uint8Array): void {
  const decoder = decoding.createDecoder(bytes)
  const count = decoding.readVarUint(decoder)
  if (count * 2 > bytes.length) throw new Error(`state vector claims ${count} clients`)
  for (let i = 0; i < count; i++) {
    decoding.readVarUint(decoder)
    decoding.readVarUint(decoder)
  }
  if (decoding.hasContent(decoder)) throw new Error('trailing bytes after the state vector')
}
