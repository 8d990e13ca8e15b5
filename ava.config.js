export default {
  files: [
    'test/**/*.test.ts',
    'base/**/*.test.ts',
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
  workerThreads: false,
  timeout: '2m',
  concurrency: 2,
};
