import { defineConfig } from 'vitest/config';

export default defineConfig({
  resolve: {
    // Node resolves `graphql` to its CommonJS entry (the package has no "exports" map), and so do
    // graphql-yoga and its dependencies; vite would pick the ESM build for our files, giving two
    // copies of graphql in one process. Resolve ours the way Node does.
    alias: [{ find: /^graphql$/, replacement: 'graphql/index.js' }],
  },
  test: {
    include: ['test/**/*.test.ts'],
    // Integration tests start real servers and redis-server processes; two cores run two files at once.
    maxWorkers: 2,
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // An unhandled rejection anywhere fails the run: Redis faults must never leak one.
    dangerouslyIgnoreUnhandledErrors: false,
  },
});
