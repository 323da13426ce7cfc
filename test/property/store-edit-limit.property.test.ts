/**
 * Oversized edits mixed into ordinary typing (docs/errors.md, `STORE_EDIT_TOO_LARGE`): whatever
 * the sequence of small inserts, deletes, turn boundaries and over-limit pastes (some over a
 * selection), the text always equals a model that leaves every oversized paste out, the store
 * never fails, and a reopen — from a checkpoint or by replaying the WAL — shows that same text.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { isStarlingError } from '../../src/core/errors.js'
import { createStore, crdt } from '../../src/index.js'
import { EDIT_BYTES_MAX } from '../../src/store/edit-limit.js'
import { assertAsyncProperty } from '../support/property.js'
import { tempDir } from '../support/tmp.js'

const policies = { 'notes/*': crdt('text') }
const huge = 'z'.repeat(EDIT_BYTES_MAX + 1)

type Op =
  | { kind: 'insert'; at: number; text: string }
  | { kind: 'delete'; at: number; length: number }
  | { kind: 'paste'; at: number; over: number }
  | { kind: 'turn' }

const op: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({
      kind: fc.constant('insert' as const),
      at: fc.nat(),
      text: fc.string({ minLength: 1, maxLength: 8 }),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('delete' as const),
      at: fc.nat(),
      length: fc.integer({ min: 1, max: 5 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('paste' as const),
      at: fc.nat(),
      over: fc.integer({ min: 0, max: 4 }),
    }),
  },
  { weight: 2, arbitrary: fc.constant({ kind: 'turn' as const }) },
)

describe('oversized edits among ordinary ones (property)', () => {
  it('are left out of the text, live and after a reopen, and never fail the store', async () => {
    await assertAsyncProperty(
      import.meta.url,
      fc.asyncProperty(
        fc.array(op, { minLength: 1, maxLength: 40 }),
        fc.boolean(),
        async (ops, checkpoint) => {
          const path = tempDir()
          const store = await createStore({ path, policies })
          const errors: unknown[] = []
          store.on('error', (error) => errors.push(error))
          const text = await store.loadText('notes/n')
          const doc = text.doc!
          let model = ''
          let pastes = 0
          for (const step of ops) {
            if (step.kind === 'turn') {
              await store.flush()
              continue
            }
            const at = step.at % (model.length + 1)
            if (step.kind === 'insert') {
              text.insert(at, step.text)
              model = model.slice(0, at) + step.text + model.slice(at)
            } else if (step.kind === 'delete') {
              const length = Math.min(step.length, model.length - at)
              if (length === 0) continue
              text.delete(at, length)
              model = model.slice(0, at) + model.slice(at + length)
            } else {
              const over = Math.min(step.over, model.length - at)
              doc.transact(() => {
                if (over > 0) text.delete(at, over)
                text.insert(at, huge)
              })
              pastes++
            }
            expect(text.toJSON()).toBe(model)
          }
          await store.flush()
          expect(errors.filter((e) => !isStarlingError(e, 'STORE_EDIT_TOO_LARGE'))).toEqual([])
          expect(errors).toHaveLength(pastes)
          await store.close({ checkpoint })
          const again = await createStore({ path, policies })
          expect((await again.loadText('notes/n')).toJSON()).toBe(model)
          await again.close()
        },
      ),
      { numRuns: 12, fuzzRuns: 600 },
    )
  })
})
