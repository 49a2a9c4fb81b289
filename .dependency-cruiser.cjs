/** Layer rules: the domain never reaches into its adapters; no cycles anywhere. */
module.exports = {
  forbidden: [
    {
      name: 'core-is-independent',
      comment: 'core/ imports nothing from bots/, api/, workers/ (adapters call core, never the reverse)',
      severity: 'error',
      from: { path: '^core/' },
      to: { path: '^(bots|api|workers|main\\.ts)' },
    },
    {
      name: 'core-not-infra-runtime',
      comment: 'core/ gets its connections as arguments, it does not start servers',
      severity: 'error',
      from: { path: '^core/' },
      to: { path: '^infra/(runtime|servers|child)' },
    },
    {
      name: 'channels-not-api',
      comment: 'bots/ and workers/ do not import the HTTP layer',
      severity: 'error',
      from: { path: '^(bots|workers)/' },
      to: { path: '^api/(routes|plugins|app)' },
    },
    {
      name: 'no-circular',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    exclude: { path: '^(node_modules|dist|data|\\.tools)' },
  },
};
