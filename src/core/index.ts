/**
 * The core of Starling: ids, errors, limits, assertions, checksums, the injectable environment.
 * @packageDocumentation
 */
export * from './errors.js'
export * from './ids.js'
export * from './limits.js'
export * from './assert.js'
export * from './env.js'
export * from './crc32c.js'
export * from './hlc.js'
export * from './random.js'
