/** Runs the storage conformance suite for every storage adapter. */
import { rmSync } from 'node:fs'
import { createLeveldbStorage } from '../../adapters/storage-leveldb/index.js'
import { createMemoryBacking, createMemoryStorage } from '../../adapters/storage-memory/index.js'
import { tempDir } from '../support/tmp.js'
import { describeStorageConformance } from './storage.js'

describeStorageConformance('memory', () => Promise.resolve({ adapter: createMemoryStorage() }))

describeStorageConformance('memory on a shared backing', () => {
  const backing = createMemoryBacking()
  return Promise.resolve({
    adapter: createMemoryStorage(backing),
    reopen: () => Promise.resolve(createMemoryStorage(backing)),
  })
})

describeStorageConformance('leveldb', async () => {
  const dir = tempDir('starling-leveldb-')
  return {
    adapter: await createLeveldbStorage(dir),
    reopen: () => createLeveldbStorage(dir),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  }
})
