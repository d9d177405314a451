import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // seccomp filters stack and cannot be removed: each test file gets its own process.
    pool: 'forks',
    isolate: true,
    include: [
      'test/**/*.test.ts',
      'spec/**/*.test.ts',
      'generator/**/*.test.ts',
      'runtime/**/*.test.ts',
      'cli/**/*.test.ts',
    ],
    testTimeout: 30000,
    reporters: ['default', './test/count-reporter.ts'],
  },
});
