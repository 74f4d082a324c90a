import { defineConfig } from 'vitest/config';

export default defineConfig({
  resolve: { conditions: ['@coexist/source'] },
  ssr: { resolve: { conditions: ['@coexist/source'], externalConditions: ['@coexist/source'] } },
  test: {
    include: [
      'test/**/*.test.ts',
      'packages/*/src/**/*.test.ts',
      'packages/*/test/**/*.test.ts',
      'examples/**/*.test.ts',
      // The HubSpot app card (a UI extension project, TSX), outside `src/` because HubSpot uploads it as is.
      'packages/hubspot/card/**/*.test.tsx',
    ],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // The default report, then one plain `Tests: N passed, N failed, N skipped` line for CI logs.
    reporters: ['default', './scripts/vitest-summary-reporter.ts'],
  },
});
