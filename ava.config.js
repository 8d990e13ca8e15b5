export default {
  files: [
    'test/**/*.test.ts',
    'base/**/*.test.ts',
    'contract/**/*.test.ts',
    'ops/**/*.test.ts',
    'raft/**/*.test.ts',
    'server/**/*.test.ts',
    'lab/**/*.test.ts',
    'cli/**/*.test.ts',
    'tui/**/*.test.ts',
    'supervisor/**/*.test.ts',
    'vip-agent/**/*.test.ts',
  ],
  extensions: { ts: 'module' },
  nodeArguments: ['--import=tsx'],
  // The tests run the sources, and so does whatever they start, the `agenda` binary included:
  // never a dist/ built from older ones (base/entry-points.ts).
  environmentVariables: { AGENDA_FROM_SOURCES: '1' },
  workerThreads: false,
  timeout: '2m',
  concurrency: 2,
};
