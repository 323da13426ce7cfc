import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // A test that blocks its event loop for good fails its file instead of hanging the suite.
    setupFiles: ['test/support/watchdog.ts'],
    // STARLING_FUZZ=1 multiplies every budget (docs/testing.md): minutes per test are expected.
    testTimeout: process.env['STARLING_FUZZ'] === '1' ? 6 * 3_600_000 : 120_000,
    hookTimeout: 60_000,
    coverage: {
      provider: 'v8',
      include: ['src/**/*.ts', 'adapters/**/*.ts'],
      reporter: ['text-summary', 'json-summary'],
    },
  },
})
