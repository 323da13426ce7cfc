/**
 * A storage adapter that dies with its process. The memory adapter's backing plays the disk of the
 * checkpoints (what a write stored is durable at once); when the simulator crashes a peer, the
 * old store object lives on in memory, so its adapter is cut off: every later call rejects and
 * stores nothing, as if the process were gone. The reopened store gets a fresh adapter on the
 * same backing.
 */
import type { StorageAdapter } from '../../store/storage.js'
import { SimCrashError } from '../sim-fs.js'

/** A storage adapter that can be killed (see the module comment). */
export interface CrashableStorage {
  readonly adapter: StorageAdapter
  /** From now on every call rejects and nothing reaches the backing. */
  kill(): void
}

/** Wraps every method of `inner` with the kill switch. */
export function crashableStorage(inner: StorageAdapter): CrashableStorage {
  let dead = false
  const gate =
    <A extends unknown[], R>(name: string, method: (...args: A) => Promise<R>) =>
    (...args: A): Promise<R> =>
      dead ? Promise.reject(new SimCrashError(0, 'list', `storage.${name}`)) : method(...args)
  const adapter: StorageAdapter = {
    loadDoc: gate('loadDoc', (key) => inner.loadDoc(key)),
    storeDoc: gate('storeDoc', (key, state) => inner.storeDoc(key, state)),
    storeDocs: gate('storeDocs', (states) => inner.storeDocs(states)),
    deleteDoc: gate('deleteDoc', (key) => inner.deleteDoc(key)),
    listDocs: gate('listDocs', () => inner.listDocs()),
    getMeta: gate('getMeta', (name) => inner.getMeta(name)),
    setMeta: gate('setMeta', (name, value) => inner.setMeta(name, value)),
    close: gate('close', () => inner.close()),
  }
  return {
    adapter,
    kill: () => {
      dead = true
    },
  }
}
