/**
 * A child process that holds a store open: `node --import tsx hold-store.ts <dir>` opens the store
 * in `<dir>`, prints `ready` and keeps it open until its stdin ends, then closes it and exits.
 */
import { createStore } from '../../src/create-store.js'

const dir = process.argv[2]
if (dir === undefined) throw new Error('usage: hold-store.ts <dir>')
const store = await createStore({ path: dir })
process.stdout.write('ready\n')
process.stdin.resume()
process.stdin.on('end', () => {
  void store.close().then(() => process.exit(0))
})
