// Architecture rules (docs/ARCHITECTURE.md): no import cycles; layers depend downward only
// (core <- wal <- store <- sync); src never imports adapters.
module.exports = {
  forbidden: [
    { name: 'no-circular', severity: 'error', from: {}, to: { circular: true } },
    {
      name: 'core-is-the-bottom',
      severity: 'error',
      from: { path: '^src/core' },
      to: { path: '^src/(wal|store|policy|sync|testing|cli)' },
    },
    {
      name: 'wal-below-store-and-sync',
      severity: 'error',
      from: { path: '^src/wal' },
      to: { path: '^src/(store|policy|sync|testing|cli)' },
    },
    {
      name: 'policy-uses-core-only',
      severity: 'error',
      from: { path: '^src/policy' },
      to: { path: '^src/(wal|store|sync|testing|cli)' },
    },
    {
      name: 'store-below-sync',
      severity: 'error',
      from: { path: '^src/store' },
      to: { path: '^src/(sync|testing|cli)' },
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
          '^src/cli/sync-demo-cluster\\.ts$',
        ],
      },
      to: { path: '^adapters' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.js'] },
  },
}
