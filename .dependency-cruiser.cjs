// Architecture rules (docs/ARCHITECTURE.md): no import cycles; layers depend downward only
// (core <- wal <- store <- sync); src never imports adapters or tests; the command line reaches
// the demos (src/demo) only through their entry point and usage lines.
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
