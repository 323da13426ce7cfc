/**
 * `starling/testing`: deterministic tools for testing code built on Starling (and Starling
 * itself) — a virtual environment with a manual clock, timers and seeded randomness, a simulated
 * crashable disk, and the deterministic multi-peer simulator (`simulate`, `fuzz`).
 */
export { createVirtualEnv, VIRTUAL_START_MS, VIRTUAL_STEPS_MAX_DEFAULT } from './virtual-env.js'
export type { VirtualEnv, VirtualEnvOptions } from './virtual-env.js'
export * from './sim-fs.js'
export * from './simulator/index.js'
/** The seeded generator a simulation hands to `values` and `ops` (`rng.int(n)`, `rng.next()`, …). */
export type { Rng } from '../core/random.js'
