/**
 * The deterministic simulator of `starling/testing`: `simulate` runs several peers with faults and
 * checks the system's invariants; `fuzz` runs it over many seeds and shrinks a failure.
 */
export { simulate } from './simulate.js'
export { fuzz, type FuzzOptions, type FuzzResult } from './fuzz.js'
export { defaultPolicies, maxVote, DEFAULT_FAULTS, SIM_SYNC_LIMITS } from './options.js'
export { builtinOp, DEFAULT_WEIGHTS } from './ops.js'
export { summarize, reproCommand } from './report.js'
export { replayOptions, replaySpec, type ReplayModule } from './replay.js'
export type {
  CrashDamage,
  FaultOptions,
  FaultRates,
  OpContext,
  OpGenerator,
  OpKind,
  OpWeights,
  WorkloadOp,
  WorkloadWriteOp,
  SimulationOptions,
  SimulationReport,
  SimulationStats,
  TextEdit,
  Topology,
} from './types.js'
