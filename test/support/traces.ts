/** The editing traces of test/data/editing-traces: in src/testing/traces.ts, for the CLI. */
export {
  SEQUENTIAL_TRACES,
  applyPatches,
  loadTrace,
  tracesDir,
  type ConcurrentTrace,
  type Patch,
  type SequentialTrace,
} from '../../src/testing/traces.js'
