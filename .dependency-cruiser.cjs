// Architecture rules (docs/ARCHITECTURE.md): no import cycles; layers depend downward only
// (core <- wal <- store <- sync), and sync sees a store only through its port (sync-port.ts);
// src never imports adapters or tests; the command line reaches the demos (src/demo) only through
// their entry point and usage lines.
module.exports = {
  forbidden: [
    { name: 'no-circular', severity: 'error', from: {}, to: { circular: true } },
    {
      name: 'core-is-the-bottom',
      severity: 'error',
      from: { path: '^src/core' },
      to: { path: '^src/(wal|store|policy|sync|testing|cli|demo)' },
    },
    {
      name: 'wal-below-store-and-sync',
      severity: 'error',
      from: { path: '^src/wal' },
      to: { path: '^src/(store|policy|sync|testing|cli|demo)' },
    },
    {
      name: 'policy-uses-core-only',
      severity: 'error',
      from: { path: '^src/policy' },
      to: { path: '^src/(wal|store|sync|testing|cli|demo)' },
    },
    {
      name: 'store-below-sync',
      severity: 'error',
      from: { path: '^src/store' },
      to: { path: '^src/(sync|testing|cli|demo)' },
    },
    {
      name: 'sync-sees-only-the-store-port',
      comment:
        'src/sync reaches a store through its SyncPort (src/store/sync-port.ts) only; besides it the key grammar the wire shares (keys.ts), and types',
      severity: 'error',
      from: { path: '^src/sync' },
      to: {
        path: '^src/store/',
        pathNot: '^src/store/(sync-port|keys)\\.ts$',
        dependencyTypesNot: ['type-only'],
      },
    },
    {
      name: 'sync-never-sees-store-parts',
      comment: 'not even as types: the port is the whole of what sync knows of a store',
      severity: 'error',
      from: { path: '^src/sync' },
      to: { path: '^src/store/(internals|remote-apply)\\.ts$' },
    },
    {
      name: 'store-parts-for-few',
      comment:
        "a store's parts (src/store/internals.ts) serve opening, the command line's inspection, the simulator and the demos",
      severity: 'error',
      from: { path: '^(src|adapters)', pathNot: '^src/(store|cli|testing|demo)/' },
      to: { path: '^src/store/internals\\.ts$' },
    },
    {
      name: 'src-never-imports-adapters',
      comment:
        'except the composition roots that wire adapters: the default store, the simulator and the sync demo',
      severity: 'error',
      from: {
        path: '^src',
        pathNot: [
          '^src/(create-store|index)\\.ts$',
          '^src/testing/simulator/',
          '^src/demo/sync/cluster\\.ts$',
        ],
      },
      to: { path: '^adapters' },
    },
    {
      name: 'src-never-imports-tests',
      comment: 'shipped code cannot import what is not shipped (test/, bench/, examples/)',
      severity: 'error',
      from: { path: '^(src|adapters)' },
      to: { path: '^(test|bench|examples)/' },
    },
    {
      name: 'cli-sees-only-the-demo-entry',
      comment: 'src/cli holds commands; the demos are loaded through src/demo/index.ts only',
      severity: 'error',
      from: { path: '^src/cli' },
      to: { path: '^src/demo/', pathNot: '^src/demo/(index|usage)\\.ts$' },
    },
    {
      name: 'demos-are-not-a-library',
      comment: 'only the command line and the tests load the demos',
      severity: 'error',
      from: { path: '^(src|adapters)', pathNot: '^src/(cli|demo)/' },
      to: { path: '^src/demo/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.js'] },
  },
}
